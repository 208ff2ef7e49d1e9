// initscripts/tandemd run as init runs /etc/init.d/drbd: start on both nodes
// (tandemd daemonized, resources up, waiting for the peer), status, reload,
// stop; become-primary-on; a lone node continuing degraded after wfc-timeout;
// stop refused while an NBD client holds the Primary's device.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <future>

#include "cluster_nbd.h"

namespace tandem::testing {
namespace {

using namespace std::chrono_literals;

ClusterOptions WithWfcTimeout(int seconds) {
  ClusterOptions o;
  o.startup = "    wfc-timeout " + std::to_string(seconds) + ";\n";
  return o;
}

// The script for one node of `c`, with the environment an admin would put in
// /etc/default/tandemd; the daemon logs to the node's usual log file.
class InitScriptTest : public ::testing::Test {
 protected:
  CommandResult Init(const Cluster& c, int n, const std::string& action, int timeout_s = 60) {
    return RunCommand(
        {"/usr/bin/env", "TANDEMD=" + kTandemd, "TANDEMADM=" + kTandemadm,
         std::string("TANDEM_NODE=") + Cluster::kNames[n], "TANDEM_CONFIG=" + c.conf(n),
         "TANDEM_RUN_DIR=" + c.run_dir(n), "TANDEMD_OPTS=--log-file " + c.log(n), "/bin/sh",
         SourcePath("initscripts/tandemd"), action},
        timeout_s);
  }
};

// The daemonized tandemd of node n, or -1.
pid_t DaemonPid(const Cluster& c, int n) {
  const std::string text = ReadFileOrEmpty(c.run_dir(n) + "/tandemd.pid");
  const pid_t pid = static_cast<pid_t>(std::atol(text.c_str()));
  if (pid <= 0 || ::kill(pid, 0) != 0) return -1;
  // Exited but not reaped yet (its parent is init): not running.
  const std::string status = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/status");
  return status.find("\nState:\tZ") == std::string::npos ? pid : -1;
}

// Whether node n's status file shows `text` within a few seconds (it is
// rewritten right after each state change).
bool StatusShows(const Cluster& c, int n, const std::string& text) {
  return WaitFor([&] { return c.StatusFile(n).find(text) != std::string::npos; }, 5s);
}

// Daemons the script started are not this process's children (the Cluster
// does not know them): whatever a test leaves running, even when it fails
// half-way, is killed when this goes out of scope, before the Cluster's
// directory goes.
struct DaemonReaper {
  const Cluster& c;
  ~DaemonReaper() {
    for (int n = 0; n < 2; ++n) {
      const pid_t pid = DaemonPid(c, n);
      if (pid <= 0) continue;
      ::kill(pid, SIGKILL);
      WaitFor([&] { return DaemonPid(c, n) != pid; }, 5s);
    }
  }
};

TEST_F(InitScriptTest, StartsBothNodesConnectedThenStopsThem) {
  Cluster c(WithWfcTimeout(30));
  DaemonReaper reaper{c};
  for (int n = 0; n < 2; ++n) ASSERT_EQ(c.Adm(n, {"create-md", "--force", "r0"}).exit_code, 0);

  // Alpha's start waits for bravo, as DRBD's init script waits for the peer.
  auto alpha = std::async(std::launch::async, [&] { return Init(c, 0, "start"); });
  ASSERT_EQ(alpha.wait_for(2s), std::future_status::timeout)
      << "start returned before the peer came up: " << alpha.get().out;
  CommandResult bravo = Init(c, 1, "start");
  CommandResult a = alpha.get();
  EXPECT_EQ(a.exit_code, 0) << a.out << a.err << c.Log(0);
  EXPECT_EQ(bravo.exit_code, 0) << bravo.out << bravo.err << c.Log(1);
  EXPECT_NE(a.out.find("Starting Tandem resources (tandemd):"), std::string::npos) << a.out;

  for (int n = 0; n < 2; ++n) {
    EXPECT_GT(DaemonPid(c, n), 0) << "no tandemd behind " << c.run_dir(n) << "/tandemd.pid";
    CommandResult st = Init(c, n, "status");
    EXPECT_EQ(st.exit_code, 0) << st.out << st.err;
    EXPECT_NE(st.out.find("cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent"),
              std::string::npos)
        << st.out;
  }

  // A second start finds the daemon and only waits (already connected).
  CommandResult again = Init(c, 0, "start", 30);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("tandemd is already running (pid " + std::to_string(DaemonPid(c, 0))),
            std::string::npos)
      << again.out;
  CommandResult reload = Init(c, 0, "reload");
  EXPECT_EQ(reload.exit_code, 0) << reload.out << reload.err;

  for (int n = 0; n < 2; ++n) {
    const pid_t pid = DaemonPid(c, n);
    CommandResult stop = Init(c, n, "stop");
    EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err << c.Log(n);
    EXPECT_GT(pid, 0);
    EXPECT_EQ(DaemonPid(c, n), -1) << "tandemd " << pid << " still runs";
    CommandResult st = Init(c, n, "status");
    EXPECT_EQ(st.exit_code, 3) << st.out;  // LSB: not running
    EXPECT_NE(st.out.find("tandemd is not running"), std::string::npos) << st.out;
    CommandResult twice = Init(c, n, "stop");
    EXPECT_EQ(twice.exit_code, 0) << twice.out << twice.err;
  }
}

TEST_F(InitScriptTest, BecomePrimaryOnPromotesTheNamedNodeAtStart) {
  ClusterOptions o = WithWfcTimeout(30);
  o.startup += "    become-primary-on alpha;\n";
  Cluster c(o);
  DaemonReaper reaper{c};
  for (int n = 0; n < 2; ++n) ASSERT_EQ(c.Adm(n, {"create-md", "--force", "r0"}).exit_code, 0);
  auto start_both = [&] {
    auto alpha = std::async(std::launch::async, [&] { return Init(c, 0, "start"); });
    CommandResult b = Init(c, 1, "start");
    CommandResult a = alpha.get();
    EXPECT_EQ(a.exit_code, 0) << a.out << a.err << c.Log(0);
    EXPECT_EQ(b.exit_code, 0) << b.out << b.err << c.Log(1);
    return a;
  };

  // Fresh disks are Inconsistent: the promotion is refused, the start is not.
  CommandResult first = start_both();
  EXPECT_NE(first.out.find("a promotion was refused"), std::string::npos) << first.out;
  EXPECT_NE(first.err.find("State change failed"), std::string::npos) << first.err;
  EXPECT_TRUE(StatusShows(c, 0, "ro:Secondary/Secondary"));

  ASSERT_EQ(c.Adm(0, {"new-current-uuid", "--clear-bitmap", "r0"}).exit_code, 0);
  ASSERT_TRUE(c.WaitForState(0, "Connected", "UpToDate/UpToDate", 20s)) << c.StatusFile(0);
  for (int n = 0; n < 2; ++n) ASSERT_EQ(Init(c, n, "stop").exit_code, 0) << c.Log(n);

  // The next boot: alpha comes up Primary by itself, bravo stays Secondary.
  CommandResult second = start_both();
  EXPECT_EQ(second.out.find("refused"), std::string::npos) << second.out << second.err;
  EXPECT_TRUE(StatusShows(c, 0, "ro:Primary/Secondary")) << c.StatusFile(0);
  EXPECT_TRUE(StatusShows(c, 1, "ro:Secondary/Primary")) << c.StatusFile(1);
  // On bravo the helper has nothing to do.
  CommandResult none = c.Adm(1, {"sh-b-pri", "all"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(StatusShows(c, 1, "ro:Secondary/Primary")) << c.StatusFile(1);
}

TEST_F(InitScriptTest, ALoneNodeContinuesDegradedAfterWfcTimeout) {
  Cluster c(WithWfcTimeout(2));
  DaemonReaper reaper{c};
  ASSERT_EQ(c.Adm(0, {"create-md", "--force", "r0"}).exit_code, 0);
  const auto t0 = std::chrono::steady_clock::now();
  CommandResult start = Init(c, 0, "start");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(start.exit_code, 0) << start.out << start.err << c.Log(0);
  EXPECT_NE(start.out.find("not every peer connected in time; continuing degraded"),
            std::string::npos)
      << start.out << start.err;
  EXPECT_GE(took, 2s);
  EXPECT_LT(took, 20s);
  EXPECT_TRUE(StatusShows(c, 0, "cs:WFConnection")) << c.StatusFile(0);

  // Without the wait, and on a node already up, start returns at once.
  CommandResult no_wait = RunCommand(
      {"/usr/bin/env", "TANDEM_WAIT_CONNECT=no", "TANDEMD=" + kTandemd, "TANDEMADM=" + kTandemadm,
       "TANDEM_NODE=alpha", "TANDEM_CONFIG=" + c.conf(0), "TANDEM_RUN_DIR=" + c.run_dir(0),
       "/bin/sh", SourcePath("initscripts/tandemd"), "start"},
      10);
  EXPECT_EQ(no_wait.exit_code, 0) << no_wait.out << no_wait.err;
  EXPECT_EQ(no_wait.out.find("continuing degraded"), std::string::npos) << no_wait.out;

  CommandResult stop = Init(c, 0, "stop");
  EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_EQ(DaemonPid(c, 0), -1);
}

TEST_F(InitScriptTest, StopIsRefusedWhileTheDeviceIsInUse) {
  Cluster c(WithWfcTimeout(2));
  DaemonReaper reaper{c};
  ASSERT_EQ(c.Adm(0, {"create-md", "--force", "r0"}).exit_code, 0);
  ASSERT_EQ(Init(c, 0, "start").exit_code, 0) << c.Log(0);
  ASSERT_EQ(c.Adm(0, {"primary", "--force", "r0"}).exit_code, 0) << c.Log(0);
  {
    nbd::BlockingClient client;
    Status connected = ConnectNbd(client, c, 0);
    ASSERT_TRUE(connected.ok()) << connected.ToString();
    const pid_t pid = DaemonPid(c, 0);
    CommandResult stop = Init(c, 0, "stop");
    EXPECT_NE(stop.exit_code, 0) << stop.out;
    EXPECT_NE(stop.err.find("Device is held open by someone"), std::string::npos) << stop.err;
    EXPECT_EQ(DaemonPid(c, 0), pid) << "tandemd stopped under an open device";
    EXPECT_TRUE(StatusShows(c, 0, "ro:Primary")) << c.StatusFile(0);
  }
  // The client gone, the same stop succeeds.
  ASSERT_TRUE(WaitFor([&] { return Init(c, 0, "stop", 30).exit_code == 0; }, 20s)) << c.Log(0);
  EXPECT_EQ(DaemonPid(c, 0), -1);
}

// What the script relies on: tandemd in the background returns once it serves
// its control socket, holding none of the caller's pipes (with --log-file it
// used to keep stderr, and a caller reading it never saw the end).
TEST(TandemdInBackground, ReturnsOnceTheControlSocketServes) {
  Cluster c;
  DaemonReaper reaper{c};
  ASSERT_EQ(c.Adm(0, {"create-md", "--force", "r0"}).exit_code, 0);
  CommandResult r = RunCommand({kTandemd, "-c", c.conf(0), "--node", "alpha", "--run-dir",
                                c.run_dir(0), "--log-file", c.log(0)},
                               20);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GT(DaemonPid(c, 0), 0);
  CommandResult cstate = c.Adm(0, {"cstate", "r0"});
  EXPECT_EQ(cstate.exit_code, 0) << cstate.err;
  EXPECT_EQ(cstate.out, "StandAlone\n");
}

// With --up it returns once every resource is up: `tandemd --up && tandemadm
// primary r0` must not find the disk still Diskless. The disk is slowed
// (200 ms an operation) so that the attach takes longer than starting
// tandemadm; the old tandemd returned before it.
TEST(TandemdInBackground, WithUpReturnsOnceEveryResourceIsAttached) {
  Cluster c;
  DaemonReaper reaper{c};
  ASSERT_EQ(c.Adm(0, {"create-md", "--force", "r0"}).exit_code, 0);
  CommandResult r =
      RunCommand({kTandemd, "-c", c.conf(0), "--node", "alpha", "--run-dir", c.run_dir(0),
                  "--log-file", c.log(0), "--up", "--test-disk-delay-ms", "200"},
                 30);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  CommandResult dstate = c.Adm(0, {"dstate", "r0"});
  EXPECT_EQ(dstate.out, "Inconsistent/DUnknown\n") << dstate.err << c.Log(0);
  CommandResult cstate = c.Adm(0, {"cstate", "r0"});
  EXPECT_EQ(cstate.out, "WFConnection\n") << cstate.err;
  CommandResult pri = c.Adm(0, {"primary", "--force", "r0"});
  EXPECT_EQ(pri.exit_code, 0) << pri.out << pri.err << c.Log(0);
}

// An up that fails (here: no meta-data) leaves tandemd running, and its
// message reaches the caller.
TEST(TandemdInBackground, WithUpAFailedAttachIsReportedToTheCaller) {
  Cluster c;
  DaemonReaper reaper{c};
  CommandResult r = RunCommand({kTandemd, "-c", c.conf(0), "--node", "alpha", "--run-dir",
                                c.run_dir(0), "--log-file", c.log(0), "--up"},
                               30);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("tandemd: r0: up: "), std::string::npos) << r.err;
  EXPECT_GT(DaemonPid(c, 0), 0);
  EXPECT_EQ(c.Adm(0, {"dstate", "r0"}).out, "Diskless/DUnknown\n");
}

TEST(TandemdInBackground, AStartFailureIsTheCommandsExitCodeAndMessage) {
  Cluster c;
  DaemonReaper reaper{c};
  const std::string bad =
      c.dir().Write("bad.conf", "resource r0 {\n  on alpha {\n    device /dev/drbd0;\n");
  CommandResult r =
      RunCommand({kTandemd, "-c", bad, "--node", "alpha", "--run-dir", c.run_dir(0)}, 20);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "did not return";
  EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
  EXPECT_EQ(DaemonPid(c, 0), -1);
}

}  // namespace
}  // namespace tandem::testing
