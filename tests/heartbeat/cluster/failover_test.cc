// Two real tandem-heartbeat daemons (alpha 127.0.0.2, bravo 127.0.0.3) with a
// ucast link and a serial link (socat pty pair), resources that record what
// they are asked to do: the failover behaviours users test by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "heartbeat/cluster/hb_cluster.h"
#include "heartbeat/heartbeat_info.h"
#include "heartbeat/message_auth.h"

namespace tandem::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kAlpha = 0;
constexpr int kBravo = 1;
// On a loaded CI machine a process may wait its turn for a while: generous.
constexpr int64_t kSlackMs = 1500;

TEST(HeartbeatFailover, BothUpOnlyThePreferredNodeHoldsItsGroup) {
  HbCluster c;
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  // A few keepalives later nothing else has happened.
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha start b")) << c.Logs();
  auto s = c.Status(kBravo);
  EXPECT_EQ(s["peer"]["status"], "active");
  EXPECT_EQ(s["groups"][0]["here"], "stopped");
  EXPECT_EQ(s["groups"][0]["holder"], "alpha");
  for (const auto& l : s["links"]) EXPECT_EQ(l["status"], "up") << s.dump();
  const std::string log = c.Log(kAlpha);
  EXPECT_THAT(log, HasSubstr("info: Configuration validated. Starting heartbeat (Tandem)"));
  EXPECT_THAT(log, HasSubstr("info: Link bravo:lo up."));
  EXPECT_THAT(log, HasSubstr("info: Link bravo:" + c.tty(kAlpha) + " up."));
  EXPECT_THAT(log, HasSubstr("info: Status update for node bravo: status active"));
  EXPECT_THAT(log, HasSubstr("info: Acquiring resource group: alpha rec::a rec::b"));
  EXPECT_THAT(log, HasSubstr("info: Running " + c.ha_dir(kAlpha) + "/resource.d/rec a start"));
  EXPECT_THAT(c.Log(kBravo), Not(HasSubstr("Acquiring resource group")));
  // The text view says the same.
  auto text = c.Cli(kBravo, {"status"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out, HasSubstr("rec::a  preferred alpha, held by alpha (here: stopped)"));
}

TEST(HeartbeatFailover, TheHolderKeepsTheGroupWithAutoFailbackOff) {
  HbCluster c;
  c.Start(kBravo);  // alone: after initdead it takes alpha's group
  ASSERT_TRUE(c.WaitForRecord("bravo start b", seconds(20))) << c.Logs();
  EXPECT_THAT(c.Log(kBravo), HasSubstr("WARN: node alpha: is dead"));
  c.Start(kAlpha);
  ASSERT_TRUE(WaitUntil([&] { return c.Holder(kAlpha) == "bravo"; }, seconds(20))) << c.Logs();
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_THAT(c.RecordLines(), ElementsAre("bravo start a", "bravo start b")) << c.Logs();
  EXPECT_THAT(c.Log(kAlpha), HasSubstr("Status update for node bravo: status active"));
}

TEST(HeartbeatFailover, KillNineTheHolderThePeerTakesOverWithinDeadtime) {
  HbCluster c;
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  const int64_t killed_at = WallMs();
  c.Kill(kAlpha);
  ASSERT_TRUE(c.WaitForRecord("bravo start a", seconds(20))) << c.Logs();
  const int64_t took_ms = c.FindRecord("bravo start a")->ms - killed_at;
  EXPECT_LE(took_ms, 2000 + 200 + kSlackMs) << "deadtime 2000 ms, keepalive 200 ms";
  EXPECT_GE(took_ms, 0);
  ASSERT_TRUE(c.WaitForRecord("bravo start b", seconds(10)));
  const std::string log = c.Log(kBravo);
  EXPECT_THAT(log, HasSubstr("WARN: node alpha: is dead"));
  EXPECT_THAT(log, HasSubstr("info: Link alpha:lo dead."));
  EXPECT_THAT(log, HasSubstr("info: Resources being acquired from alpha."));
  EXPECT_TRUE(c.WaitForLog(kBravo, "info: mach_down takeover complete.", seconds(5)));
  EXPECT_EQ(c.Status(kBravo)["peer"]["status"], "dead");
}

TEST(HeartbeatFailover, GracefulStopThePeerTakesOverAtOnce) {
  HbClusterOptions o;
  o.deadtime_ms = 6000;  // so "at once" cannot be deadtime passing
  o.initdead_ms = 6000;
  HbCluster c(o);
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  const int64_t asked_at = WallMs();
  auto r = c.Stop(kAlpha);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Heartbeat shutdown in progress."));
  ASSERT_TRUE(c.WaitForRecord("bravo start b", seconds(10))) << c.Logs();
  EXPECT_LT(c.FindRecord("bravo start a")->ms - asked_at, 3000) << "well under deadtime (6 s)";
  // Stops strictly before the starts, right to left.
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha start b", "alpha stop b",
                                           "alpha stop a", "bravo start a", "bravo start b"));
  EXPECT_THAT(c.Log(kAlpha), HasSubstr("info: Heartbeat shutdown in progress."));
  EXPECT_THAT(c.Log(kAlpha), HasSubstr("info: All HA resources relinquished."));
  EXPECT_THAT(c.Log(kBravo), HasSubstr("info: Received shutdown notice from 'alpha'."));
  EXPECT_THAT(c.Log(kBravo), Not(HasSubstr("is dead")));
  EXPECT_EQ(c.Status(kBravo)["peer"]["status"], "stopped");
}

TEST(HeartbeatFailover, TakeoverForeignOnTheStandbyNodeStopsBeforeItStarts) {
  HbCluster c;
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  // hb_takeover, the wrapper users know, with the run directory in the environment.
  const std::string wrapper = SourcePath("userspace/heartbeat/tools/hb_takeover");
  std::vector<std::string> argv = {"/usr/bin/env", "TANDEM_HEARTBEAT=" + kHeartbeatBin,
                                   "TANDEM_RUN_DIR=" + c.run_dir(kBravo), wrapper, "foreign"};
  auto r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("acquire foreign HA resources (standby)."));
  ASSERT_TRUE(c.WaitForRecord("bravo start b", seconds(15))) << c.Logs();
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha start b", "alpha stop b",
                                           "alpha stop a", "bravo start a", "bravo start b"));
  EXPECT_LE(c.FindRecord("alpha stop a")->ms, c.FindRecord("bravo start a")->ms);
  EXPECT_THAT(c.Log(kAlpha), HasSubstr("Node bravo requests resource group rec::a: handing it over"));
  EXPECT_TRUE(WaitUntil([&] { return c.Holder(kAlpha) == "bravo"; }, seconds(5)));
  // And back with standby on bravo.
  auto back = c.Cli(kBravo, {"standby", "all"});
  EXPECT_EQ(back.exit_code, 0) << back.err;
  EXPECT_TRUE(WaitUntil([&] { return c.Records().size() >= 10; }, seconds(15)));
  EXPECT_THAT(c.RecordLines(),
              ElementsAre("alpha start a", "alpha start b", "alpha stop b", "alpha stop a",
                          "bravo start a", "bravo start b", "bravo stop b", "bravo stop a",
                          "alpha start a", "alpha start b"))
      << c.Logs();
}

TEST(HeartbeatFailover, AutoFailbackOnTheGroupReturnsToItsPreferredNode) {
  HbClusterOptions o;
  o.auto_failback = "on";
  HbCluster c(o);
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  c.Kill(kAlpha);
  ASSERT_TRUE(c.WaitForRecord("bravo start b", seconds(20))) << c.Logs();
  c.ForgetState(kAlpha);  // as after a reboot
  c.Start(kAlpha);
  ASSERT_TRUE(WaitUntil([&] { return c.Records().size() >= 8; }, seconds(20))) << c.Logs();
  EXPECT_THAT(c.RecordLines(),
              ElementsAre("alpha start a", "alpha start b", "bravo start a", "bravo start b",
                          "bravo stop b", "bravo stop a", "alpha start a", "alpha start b"));
  EXPECT_THAT(c.Log(kBravo), HasSubstr("auto_failback: handing resources back to alpha"));
  EXPECT_THAT(c.Log(kBravo), HasSubstr("Heartbeat restart on node alpha"));
}

TEST(HeartbeatFailover, OneOfTwoLinksCutIsALinkDeathNotAFailover) {
  HbCluster c;
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  c.StopSocat();  // the serial cable is pulled
  ASSERT_TRUE(c.WaitForLog(kBravo, "info: Link alpha:" + c.tty(kBravo) + " dead.", seconds(10)))
      << c.Logs();
  ASSERT_TRUE(c.WaitForLog(kAlpha, "info: Link bravo:" + c.tty(kAlpha) + " dead.", seconds(10)));
  std::this_thread::sleep_for(milliseconds(2500));  // more than deadtime
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha start b"));
  EXPECT_THAT(c.Log(kBravo), Not(HasSubstr("is dead")));
  auto s = c.Status(kBravo);
  EXPECT_EQ(s["peer"]["status"], "active");
  EXPECT_EQ(s["links"][0]["status"], "up");
  EXPECT_EQ(s["links"][1]["status"], "dead");
  // Cable back: the link comes back by itself.
  c.StartSocat();
  EXPECT_TRUE(WaitUntil(
      [&] { return c.Status(kBravo)["links"][1].value("status", "") == "up"; }, seconds(10)))
      << c.Logs();
}

// Sends one datagram to alpha's heartbeat port from 127.0.0.3:`from_port`.
void SendTo(int port, const std::string& bytes, int from_port = 0) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_port = htons(static_cast<uint16_t>(from_port));
  inet_pton(AF_INET, "127.0.0.3", &src.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.2", &dst.sin_addr);
  ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
  ::close(fd);
}

std::string Signed(heartbeat::HeartbeatInfo info, const std::string& authkeys) {
  config::Diagnostics d;
  auto keys = config::ParseAuthKeys(authkeys, "authkeys", &d);
  heartbeat::MessageSigner signer(*keys);
  heartbeat::Message m = heartbeat::ToMessage(info);
  signer.Sign(&m);
  return heartbeat::EncodeMessage(m);
}

TEST(HeartbeatFailover, ForgedPacketsAreDroppedLoggedAndChangeNothing) {
  HbClusterOptions o;
  HbCluster c(o);
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  auto before = c.Status(kAlpha);
  const uint64_t bravo_gen = before["peer"]["generation"];
  ASSERT_GT(bravo_gen, 0u);
  // Each forgery, if believed, would make alpha give its groups away: a
  // shutdown notice from bravo (alpha would think bravo gone: harmless), or a
  // request for every group.
  heartbeat::HeartbeatInfo evil;
  evil.src = "bravo";
  evil.seq = 1;  // bravo sent 1 long ago: a replay
  evil.generation = bravo_gen;
  evil.timestamp = 1;
  evil.deadtime_ms = 2000;
  evil.link = "ucast:lo";
  evil.status = heartbeat::NodeStatus::kActive;
  evil.groups_digest = "00000000";
  evil.requested = {0};
  // 1. the right format, the wrong key
  SendTo(c.port(), Signed(evil, "auth 1\n1 sha1 not-the-cluster-key\n"), 40001);
  // 2. the right key, a sequence number already seen. Sent twice: bravo's own
  // seq 1 may have gone out before alpha listened, and an unseen number inside
  // the replay window is only a duplicate (not acted upon); the second copy
  // is a replay whatever happened at start-up.
  SendTo(c.port(), Signed(evil, o.authkeys), 40002);
  SendTo(c.port(), Signed(evil, o.authkeys), 40002);
  // 3. the right key, an older generation
  heartbeat::HeartbeatInfo old = evil;
  old.generation = bravo_gen - 1;
  old.seq = 1u << 30;
  SendTo(c.port(), Signed(old, o.authkeys), 40003);
  // 4. the right key, a node that is not in the cluster
  heartbeat::HeartbeatInfo stranger = evil;
  stranger.src = "mallory";
  stranger.seq = 1u << 30;
  SendTo(c.port(), Signed(stranger, o.authkeys), 40004);
  // 5. garbage
  static const char kGarbage[] = "\x00\x01\xff>>>\nnot a message";
  SendTo(c.port(), std::string(kGarbage, sizeof kGarbage - 1), 40005);
  // 6. a copy signed for the serial link arriving on the UDP one
  heartbeat::HeartbeatInfo moved = evil;
  moved.link = "serial:0";
  moved.seq = 1u << 30;
  SendTo(c.port(), Signed(moved, o.authkeys), 40006);

  ASSERT_TRUE(WaitUntil(
      [&] {
        auto s = c.Status(kAlpha);
        auto d = s["dropped"];
        return d.is_object() && d.value("auth", 0) >= 1 && d.value("replay", 0) >= 2 &&
               d.value("unknown_node", 0) >= 1 && d.value("malformed", 0) >= 1 &&
               d.value("wrong_link", 0) >= 1;
      },
      seconds(5)))
      << c.Status(kAlpha).dump(2) << c.Logs();
  std::this_thread::sleep_for(milliseconds(500));
  const std::string log = c.Log(kAlpha);
  EXPECT_THAT(log, HasSubstr("ERROR: Dropped a heartbeat message from 127.0.0.3:40001 (claiming "
                             "to be node bravo): authentication failed: bad signature for key 1"));
  EXPECT_THAT(log, HasSubstr("127.0.0.3:40002 (claiming to be node bravo): attempted replay: "
                             "sequence number 1 already seen on ucast:lo"));
  EXPECT_THAT(log, HasSubstr("127.0.0.3:40003 (claiming to be node bravo): attempted replay: "
                             "generation"));
  EXPECT_THAT(log, HasSubstr("127.0.0.3:40004 (claiming to be node mallory): node [mallory] is "
                             "not a node of this cluster"));
  EXPECT_THAT(log, HasSubstr("127.0.0.3:40005: malformed message"));
  EXPECT_THAT(log, HasSubstr("127.0.0.3:40006 (claiming to be node bravo): signed for link "
                             "'serial:0' but received on 'ucast:lo'"));
  // Nothing moved, nobody died.
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha start b"));
  EXPECT_THAT(log, Not(HasSubstr("requests resource group")));
  EXPECT_THAT(log, Not(HasSubstr("is dead")));
  EXPECT_EQ(c.Status(kAlpha)["peer"]["status"], "active");
  EXPECT_EQ(c.Holder(kBravo), "alpha");
  // The same forgery again is counted, not logged again.
  SendTo(c.port(), Signed(evil, "auth 1\n1 sha1 not-the-cluster-key\n"), 40001);
  ASSERT_TRUE(WaitUntil([&] { return c.Status(kAlpha)["dropped"].value("auth", 0) >= 2; },
                        seconds(5)));
  EXPECT_THAT(c.Log(kAlpha).substr(log.size()), Not(HasSubstr("40001")));
}

TEST(HeartbeatFailover, AFailingStartReleasesTheGroupAndThePeerTakesIt) {
  HbCluster c;
  c.FailStart(kAlpha, "b");
  c.Start(kAlpha);
  c.Start(kBravo);
  ASSERT_TRUE(c.WaitForRecord("bravo start b", seconds(20))) << c.Logs();
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha stop b", "alpha stop a",
                                           "bravo start a", "bravo start b"));
  const std::string log = c.Log(kAlpha);
  EXPECT_THAT(log, HasSubstr("rec: rec: b refuses to start"));
  EXPECT_THAT(log, HasSubstr("ERROR: Return code 1 from " + c.ha_dir(kAlpha) +
                             "/resource.d/rec b start"));
  EXPECT_THAT(log, HasSubstr("CRIT: Resource group rec::a failed to start here: released it"));
  EXPECT_THAT(log, HasSubstr("Handing resource group rec::a over to bravo"));
  EXPECT_TRUE(WaitUntil([&] { return c.Holder(kAlpha) == "bravo"; }, seconds(5)));
  EXPECT_EQ(c.Status(kAlpha)["groups"][0]["failed_here"], true);
}

TEST(HeartbeatFailover, AStartThatFailsEverywhereLeavesTheGroupDown) {
  HbCluster c;
  c.FailStart(kAlpha, "a");
  c.FailStart(kBravo, "a");
  c.Start(kAlpha);
  c.Start(kBravo);
  ASSERT_TRUE(c.WaitForLog(kAlpha, "Not starting resource group rec::a: it failed to start here",
                           seconds(15)))
      << c.Logs();
  EXPECT_THAT(c.Log(kBravo), HasSubstr("CRIT: Resource group rec::a failed to start here"));
  EXPECT_EQ(c.Holder(kAlpha), "none");
  EXPECT_EQ(c.Holder(kBravo), "none");
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha stop a", "bravo stop a"));
}

// A node that hangs (SIGSTOP) past deadtime looks dead to the other, which
// takes over; when it wakes up both hold the group: the rule keeps it on its
// preferred node and the other stops it.
TEST(HeartbeatFailover, AHungNodeThatWakesUpAfterATakeoverKeepsItsOwnGroup) {
  HbCluster c;
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  ::kill(c.pid(kAlpha), SIGSTOP);
  const bool took = c.WaitForRecord("bravo start b", seconds(15));
  ::kill(c.pid(kAlpha), SIGCONT);
  ASSERT_TRUE(took) << c.Logs();
  ASSERT_TRUE(c.WaitForRecord("bravo stop a", seconds(15))) << c.Logs();
  EXPECT_THAT(c.Log(kBravo), HasSubstr("WARN: node alpha: is dead"));
  EXPECT_THAT(c.Log(kBravo), HasSubstr("CRIT: Both nodes hold resource group rec::a"));
  EXPECT_THAT(c.Log(kBravo), HasSubstr("releasing it here, alpha is its preferred node"));
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha start b", "bravo start a",
                                           "bravo start b", "bravo stop b", "bravo stop a"));
  EXPECT_TRUE(WaitUntil([&] { return c.Holder(kBravo) == "alpha"; }, seconds(5)));
  EXPECT_EQ(c.Status(kAlpha)["groups"][0]["here"], "running");
}

TEST(HeartbeatFailover, ALateHeartbeatIsAWarningNotADeath) {
  HbCluster c;
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  ::kill(c.pid(kBravo), SIGSTOP);  // more than warntime (1 s), less than deadtime (2 s)
  std::this_thread::sleep_for(milliseconds(1400));
  ::kill(c.pid(kBravo), SIGCONT);
  ASSERT_TRUE(c.WaitForLog(kAlpha, "WARN: Late heartbeat: Node bravo: interval ", seconds(5)))
      << c.Logs();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_THAT(c.Log(kAlpha), Not(HasSubstr("is dead")));
  EXPECT_THAT(c.Log(kAlpha), Not(HasSubstr("Link bravo:lo dead.")));
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha start b"));
}

TEST(HeartbeatFailover, LsbInitScriptsGetOnlyTheAction) {
  HbClusterOptions o;
  o.serial = false;
  o.haresources = "alpha rec::a svc\n";
  HbCluster c(o);
  const std::string init = c.dir().path() + "/init.d";
  c.dir().Write("init.d/svc",
                "#!/bin/sh\necho \"$TANDEM_NODE lsb-$# $1 $(date +%s%3N)\" >> " + c.record_file() +
                    "\n[ \"$1\" = status ] && exit 3\nexit 0\n",
                0755);
  c.Start(kAlpha, {"--init-dir", init});
  c.Start(kBravo, {"--init-dir", init});
  ASSERT_TRUE(c.WaitForRecord("alpha lsb-1 start", seconds(20))) << c.Logs();
  EXPECT_THAT(c.Log(kAlpha), HasSubstr("Running " + init + "/svc start"));
  auto lines = c.RecordLines();
  EXPECT_EQ(lines.back(), "alpha lsb-1 start");
  EXPECT_NE(std::find(lines.begin(), lines.end(), "alpha lsb-1 status"), lines.end());
}

TEST(HeartbeatFailover, DaemonModeStartsInTheBackgroundOncePerRunDirectory) {
  HbClusterOptions o;
  o.serial = false;
  HbCluster c(o);
  std::vector<std::string> argv = {kHeartbeatBin, "--node", "alpha", "--config-dir", c.ha_dir(kAlpha),
                                   "--run-dir", c.run_dir(kAlpha), "--state-dir",
                                   c.node_dir(kAlpha) + "/state", "--bind", "127.0.0.2"};
  const std::string pid_file = c.run_dir(kAlpha) + "/heartbeat.pid";
  struct Guard {  // the daemon is not our child: make sure it goes
    std::string pid_file;
    ~Guard() {
      const std::string pid = ReadFileOrEmpty(pid_file);
      if (!pid.empty()) ::kill(std::stoi(pid), SIGKILL);
    }
  } guard{pid_file};
  auto r = RunCommand(argv, 30);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(ReadFileOrEmpty(pid_file).empty());
  auto again = RunCommand(argv, 30);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("heartbeat is already running (pid "));
  auto status = c.Cli(kAlpha, {"status", "--json"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.out, HasSubstr("\"node\": \"alpha\""));
  auto stop = c.Cli(kAlpha, {"stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_TRUE(ReadFileOrEmpty(pid_file).empty());
  auto gone = c.Cli(kAlpha, {"status"});
  EXPECT_EQ(gone.exit_code, 3);
  EXPECT_THAT(gone.out, HasSubstr("Heartbeat is stopped on this node"));
}

}  // namespace
}  // namespace tandem::testing
