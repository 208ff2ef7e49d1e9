// The resource agents Tandem ships in initscripts/resource.d/, run as tandem-heartbeat
// runs them (`AGENT ARGS... start|stop|status`), against the real thing:
// IPaddr on a veth pair between two network namespaces the test creates (the
// gratuitous ARP is captured with a raw socket on the far end), Filesystem on
// a loop device, drbddisk against two tandemd nodes, MailTo and Delay.
// Every namespace, mount, loop device and process is removed by a destructor.
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"
#include "daemon/cluster.h"
#include "heartbeat/arp_packet.h"
#include "heartbeat/cluster/hb_cluster.h"

namespace tandem::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Agent(const std::string& name) { return SourcePath("initscripts/resource.d/" + name); }

// Runs argv with extra environment variables (through env(1)).
CommandResult RunWithEnv(const std::vector<std::string>& env, const std::vector<std::string>& argv,
                         int timeout_s = 60) {
  std::vector<std::string> full = {"/usr/bin/env"};
  full.insert(full.end(), env.begin(), env.end());
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCommand(full, timeout_s);
}

CommandResult Sh(const std::string& command) { return RunCommand({"/bin/sh", "-c", command}); }

// Two namespaces joined by a veth pair: "near" (where the agent runs, vethA
// 10.77.0.1/24) and "far" (vethB 10.77.0.2/24).
class VethPair {
 public:
  VethPair() {
    const std::string id = std::to_string(::getpid());
    near_ = "tandem-ipa-" + id;
    far_ = "tandem-ipb-" + id;
    ok_ = Sh("ip netns add " + near_ + " && ip netns add " + far_ +
             " && ip link add vethA netns " + near_ + " type veth peer name vethB netns " + far_ +
             " && ip -n " + near_ + " link set lo up && ip -n " + far_ + " link set lo up" +
             " && ip -n " + near_ + " addr add 10.77.0.1/24 dev vethA && ip -n " + near_ +
             " link set vethA up && ip -n " + far_ + " addr add 10.77.0.2/24 dev vethB && ip -n " +
             far_ + " link set vethB up")
              .exit_code == 0;
  }
  ~VethPair() {
    Sh("ip netns del " + near_ + " 2>/dev/null");
    Sh("ip netns del " + far_ + " 2>/dev/null");
  }
  bool ok() const { return ok_; }
  const std::string& near() const { return near_; }
  const std::string& far() const { return far_; }

  CommandResult InNear(const std::vector<std::string>& env, std::vector<std::string> argv) {
    std::vector<std::string> full = {"/usr/sbin/ip", "netns", "exec", near_, "/usr/bin/env"};
    full.insert(full.end(), env.begin(), env.end());
    full.insert(full.end(), argv.begin(), argv.end());
    return RunCommand(full);
  }

 private:
  std::string near_, far_;
  bool ok_ = false;
};

// Captures ARP frames on vethB inside the far namespace, in a child process
// (setns applies to a whole thread; a child keeps the test's own untouched).
// Each gratuitous announcement arrives as "IP MAC MS" on a pipe.
class ArpCapture {
 public:
  ArpCapture(const std::string& netns, int seconds_to_listen) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      int ns = ::open(("/run/netns/" + netns).c_str(), O_RDONLY);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) ::_exit(2);
      int s = ::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP));
      sockaddr_ll a{};
      a.sll_family = AF_PACKET;
      a.sll_protocol = htons(ETH_P_ARP);
      a.sll_ifindex = static_cast<int>(if_nametoindex("vethB"));
      if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ::_exit(3);
      ssize_t ready = ::write(fds[1], "R\n", 2);
      (void)ready;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds_to_listen);
      while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{s, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buf[1600];
        ssize_t n = ::recv(s, buf, sizeof buf, 0);
        if (n <= 0) continue;
        auto arp = heartbeat::ParseGratuitousArp(std::string_view(buf, static_cast<size_t>(n)));
        if (!arp) continue;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &arp->ipv4, ip, sizeof ip);
        char line[128];
        const auto& m = arp->sender_mac;
        int len = std::snprintf(line, sizeof line, "%s %02x:%02x:%02x:%02x:%02x:%02x %lld\n", ip,
                                m[0], m[1], m[2], m[3], m[4], m[5],
                                static_cast<long long>(WallMs()));
        if (::write(fds[1], line, static_cast<size_t>(len)) < 0) break;
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    char r[2];
    ready_ = ::read(fd_, r, 2) == 2;  // bounded by the child's own deadline
  }
  ~ArpCapture() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Reap(pid_, seconds(5));
    }
    if (fd_ >= 0) ::close(fd_);
  }
  bool ready() const { return ready_; }
  // Everything captured until the child's listening time is over.
  std::string Collect() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd_, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    Reap(pid_, seconds(5));
    pid_ = -1;
    return out;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool ready_ = false;
};

TEST(AgentIPaddr, AddsTheAddressAnnouncesItAndRemovesIt) {
  VethPair net;
  ASSERT_TRUE(net.ok());
  ArpCapture capture(net.far(), 3);
  ASSERT_TRUE(capture.ready());
  const std::vector<std::string> env = {"TANDEM_SEND_ARP=" + std::string(TANDEM_SEND_ARP_PATH)};

  auto stopped = net.InNear(env, {Agent("IPaddr"), "10.77.0.100/24/vethA", "status"});
  EXPECT_EQ(stopped.exit_code, 3);
  EXPECT_EQ(stopped.out, "stopped\n");
  auto start = net.InNear(env, {Agent("IPaddr"), "10.77.0.100/24/vethA", "start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  EXPECT_THAT(start.out, HasSubstr("Sending Gratuitous Arp for 10.77.0.100 on vethA [vethA]"));
  auto addr = net.InNear({}, {"ip", "-o", "-4", "addr", "show", "dev", "vethA"});
  EXPECT_THAT(addr.out, HasSubstr("inet 10.77.0.100/24"));
  auto running = net.InNear(env, {Agent("IPaddr"), "10.77.0.100/24/vethA", "status"});
  EXPECT_EQ(running.exit_code, 0);
  EXPECT_EQ(running.out, "running\n");
  // Started again: nothing to do.
  EXPECT_EQ(net.InNear(env, {Agent("IPaddr"), "10.77.0.100/24/vethA", "start"}).exit_code, 0);

  // The far end saw the announcement: 5 frames, about 200 ms apart, from vethA's MAC.
  const std::string mac_out = net.InNear({}, {"cat", "/sys/class/net/vethA/address"}).out;
  const std::string mac(TrimWhitespace(mac_out));
  std::istringstream frames(capture.Collect());
  std::string ip, from;
  long long ms = 0, first = 0, last = 0;
  int count = 0;
  while (frames >> ip >> from >> ms) {
    if (ip != "10.77.0.100") continue;
    EXPECT_EQ(from, mac);
    if (count == 0) first = ms;
    last = ms;
    ++count;
  }
  EXPECT_GE(count, 5);
  EXPECT_GE(last - first, 4 * 150) << "frames spread over about 800 ms";

  auto stop = net.InNear(env, {Agent("IPaddr"), "10.77.0.100/24/vethA", "stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.out;
  EXPECT_THAT(net.InNear({}, {"ip", "-o", "-4", "addr", "show", "dev", "vethA"}).out,
              Not(HasSubstr("10.77.0.100")));
  EXPECT_EQ(net.InNear(env, {Agent("IPaddr"), "10.77.0.100/24/vethA", "status"}).exit_code, 3);
  EXPECT_EQ(net.InNear(env, {Agent("IPaddr"), "10.77.0.100/24/vethA", "stop"}).exit_code, 0);
}

TEST(AgentIPaddr, FindsTheInterfaceAndPrefixFromTheSubnetAndIPaddr2IsTheSame) {
  VethPair net;
  ASSERT_TRUE(net.ok());
  const std::vector<std::string> env = {"TANDEM_SEND_ARP=" + std::string(TANDEM_SEND_ARP_PATH)};
  auto start = net.InNear(env, {Agent("IPaddr2"), "10.77.0.101", "start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  EXPECT_THAT(net.InNear({}, {"ip", "-o", "-4", "addr", "show", "dev", "vethA"}).out,
              HasSubstr("inet 10.77.0.101/24"));
  EXPECT_EQ(net.InNear(env, {Agent("IPaddr"), "10.77.0.101", "status"}).exit_code, 0);
  EXPECT_EQ(net.InNear(env, {Agent("IPaddr2"), "10.77.0.101", "stop"}).exit_code, 0);
  auto nowhere = net.InNear(env, {Agent("IPaddr"), "10.99.0.1", "start"});
  EXPECT_EQ(nowhere.exit_code, 1);
  EXPECT_THAT(nowhere.out, HasSubstr("no interface has a subnet holding 10.99.0.1"));
}

// A file-backed loop device with an ext4 file system; detached, unmounted
// and its users killed on destruction whatever happened.
class LoopFs {
 public:
  LoopFs() {
    image_ = dir_.path() + "/fs.img";
    mnt_ = dir_.path() + "/mnt";
    Sh("truncate -s 64M " + image_);
    auto r = RunCommand({"/usr/sbin/losetup", "--find", "--show", image_});
    device_ = std::string(TrimWhitespace(r.out));
    ok_ = r.exit_code == 0 && !device_.empty() &&
          RunCommand({"/usr/sbin/mkfs.ext4", "-q", "-F", device_}).exit_code == 0;
  }
  ~LoopFs() {
    for (pid_t p : holders_) {
      ::kill(-p, SIGKILL);
      Reap(p, seconds(5));
    }
    Sh("umount -l " + mnt_ + " 2>/dev/null; umount -l " + dir_.path() + "/other 2>/dev/null");
    if (!device_.empty()) RunCommand({"/usr/sbin/losetup", "-d", device_});
  }
  bool ok() const { return ok_; }
  const std::string& device() const { return device_; }
  const std::string& mnt() const { return mnt_; }
  const ScratchDir& dir() const { return dir_; }
  // A process whose working directory is inside the file system.
  pid_t Hold() {
    pid_t p = Spawn({"/bin/sh", "-c", "cd " + mnt_ + " && exec sleep 600"}, "/dev/null");
    holders_.push_back(p);
    return p;
  }

 private:
  ScratchDir dir_;
  std::string image_, mnt_, device_;
  std::vector<pid_t> holders_;
  bool ok_ = false;
};

bool Mounted(const std::string& device, const std::string& dir) {
  auto r = RunCommand({"/usr/bin/findmnt", "-rn", "-o", "TARGET", "--source", device});
  return r.out.find(dir + "\n") != std::string::npos;
}

TEST(AgentFilesystem, MountsRefusesASecondPlaceAndUnmountsABusyFileSystem) {
  LoopFs fs;
  ASSERT_TRUE(fs.ok());
  const std::string dev = fs.device(), mnt = fs.mnt();
  auto st = RunCommand({Agent("Filesystem"), dev, mnt, "ext4", "status"});
  EXPECT_EQ(st.exit_code, 3);
  auto start = RunCommand({Agent("Filesystem"), dev, mnt, "ext4", "noatime", "start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  EXPECT_THAT(start.out + start.err, HasSubstr("clean"));  // fsck -p looked at it
  EXPECT_TRUE(Mounted(dev, mnt));
  EXPECT_THAT(RunCommand({"/usr/bin/findmnt", "-rn", "-o", "OPTIONS", mnt}).out, HasSubstr("noatime"));
  auto running = RunCommand({Agent("Filesystem"), dev, mnt, "ext4", "status"});
  EXPECT_EQ(running.exit_code, 0);
  EXPECT_EQ(running.out, "running\n");
  EXPECT_EQ(RunCommand({Agent("Filesystem"), dev, mnt, "ext4", "start"}).exit_code, 0);

  auto elsewhere =
      RunCommand({Agent("Filesystem"), dev, fs.dir().path() + "/other", "ext4", "start"});
  EXPECT_EQ(elsewhere.exit_code, 1);
  EXPECT_THAT(elsewhere.out, HasSubstr("is already mounted on " + mnt + "; refusing"));

  const pid_t holder = fs.Hold();
  ASSERT_TRUE(WaitUntil(
      [&] {
        return ReadFileOrEmpty("/proc/" + std::to_string(holder) + "/cmdline").find("sleep") == 0;
      },
      seconds(5)));
  auto stop = RunWithEnv({"TANDEM_FS_STOP_TRIES=4"}, {Agent("Filesystem"), dev, mnt, "ext4", "stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_THAT(stop.out, HasSubstr("is busy; sending SIGTERM"));
  EXPECT_FALSE(Mounted(dev, mnt));
  EXPECT_EQ(Reap(holder, seconds(5)) & 0x7f, SIGTERM) << "the holder was terminated";
  EXPECT_EQ(RunCommand({Agent("Filesystem"), dev, mnt, "ext4", "status"}).exit_code, 3);
  EXPECT_EQ(RunCommand({Agent("Filesystem"), dev, mnt, "ext4", "stop"}).exit_code, 0);
}

TEST(AgentFilesystem, RefusesADirectoryThatHoldsAnotherMount) {
  LoopFs fs;
  ASSERT_TRUE(fs.ok());
  ::mkdir(fs.mnt().c_str(), 0755);
  ASSERT_EQ(RunCommand({"/usr/bin/mount", "-t", "tmpfs", "tmpfs", fs.mnt()}).exit_code, 0);
  auto r = RunCommand({Agent("Filesystem"), fs.device(), fs.mnt(), "ext4", "start"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("already holds tmpfs"));
  EXPECT_FALSE(Mounted(fs.device(), fs.mnt()));
}

TEST(AgentDrbddisk, PromotesDemotesAndReadsTheRoleThroughTandemadm) {
  Cluster cluster;
  cluster.BringUp();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  auto env = [&](int n) {
    return std::vector<std::string>{"TANDEMADM=" + kTandemadm, "TANDEM_CONFIG=" + cluster.conf(n),
                                    std::string("TANDEM_NODE=") + Cluster::kNames[n],
                                    "TANDEM_RUN_DIR=" + cluster.run_dir(n),
                                    "TANDEM_DRBDDISK_TRIES=2"};
  };
  auto alpha = RunWithEnv(env(0), {Agent("drbddisk"), "r0", "status"});
  EXPECT_EQ(alpha.exit_code, 0) << alpha.out;
  EXPECT_EQ(alpha.out, "running (Primary)\n");
  auto bravo = RunWithEnv(env(1), {Agent("drbddisk"), "r0", "status"});
  EXPECT_EQ(bravo.exit_code, 3);
  EXPECT_EQ(bravo.out, "stopped (Secondary)\n");
  // Two Primaries are refused: the start gives up after its tries.
  auto refused = RunWithEnv(env(1), {Agent("drbddisk"), "r0", "start"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_THAT(refused.out, HasSubstr("cannot make r0 Primary after 2 attempts"));
  // Hand over: alpha demotes, bravo promotes (tandemdisk is the same agent).
  auto stop = RunWithEnv(env(0), {Agent("drbddisk"), "r0", "stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.out;
  auto start = RunWithEnv(env(1), {Agent("tandemdisk"), "r0", "start"});
  EXPECT_EQ(start.exit_code, 0) << start.out;
  EXPECT_EQ(RunWithEnv(env(1), {Agent("tandemdisk"), "r0", "status"}).out, "running (Primary)\n");
  EXPECT_EQ(RunWithEnv(env(0), {Agent("drbddisk"), "status"}).out, "stopped (Secondary)\n");
  // Without tandemd the status is "stopped", with the reason.
  cluster.Kill(1);
  auto gone = RunWithEnv(env(1), {Agent("drbddisk"), "r0", "status"});
  EXPECT_EQ(gone.exit_code, 3);
  EXPECT_THAT(gone.out, HasSubstr("stopped (tandemadm role failed"));
}

TEST(AgentMailTo, SendsWithSendmailOrSaysWhatItWouldSend) {
  ScratchDir d;
  const std::string rsctmp = d.path() + "/rsctmp";
  const std::vector<std::string> base = {"HA_RSCTMP=" + rsctmp, "HA_CURHOST=alpha",
                                         "PATH=/usr/bin:/bin"};
  auto r = RunWithEnv(base, {Agent("MailTo"), "root@example.com", "Cluster", "start"});
  if (::access("/usr/sbin/sendmail", X_OK) != 0) {
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_THAT(r.out, HasSubstr("no sendmail on this machine; would send to root@example.com: "
                                 "Cluster: takeover in progress on alpha"));
  }
  EXPECT_EQ(RunWithEnv(base, {Agent("MailTo"), "root@example.com", "Cluster", "status"}).out,
            "running\n");
  // With a sendmail in PATH, the message goes to it.
  d.Write("bin/sendmail", "#!/bin/sh\ncat > " + d.path() + "/mail\n", 0755);
  std::vector<std::string> with = base;
  with[2] = "PATH=" + d.path() + "/bin:/usr/bin:/bin";
  auto stop = RunWithEnv(with, {Agent("MailTo"), "root@example.com", "Cluster", "stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.out;
  const std::string mail = ReadFileOrEmpty(d.path() + "/mail");
  EXPECT_THAT(mail, HasSubstr("To: root@example.com\n"));
  EXPECT_THAT(mail, HasSubstr("Subject: Cluster: migrating resource away\n"));
  EXPECT_EQ(RunWithEnv(base, {Agent("MailTo"), "root@example.com", "Cluster", "status"}).exit_code, 3);
}

TEST(AgentDelay, WaitsOnStartAndStop) {
  ScratchDir d;
  const std::vector<std::string> env = {"HA_RSCTMP=" + d.path()};
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(RunWithEnv(env, {Agent("Delay"), "0.3", "0", "start"}).exit_code, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(300));
  EXPECT_EQ(RunWithEnv(env, {Agent("Delay"), "0.3", "0", "status"}).out, "running\n");
  EXPECT_EQ(RunWithEnv(env, {Agent("Delay"), "0.3", "0", "stop"}).exit_code, 0);
  EXPECT_EQ(RunWithEnv(env, {Agent("Delay"), "0.3", "0", "status"}).exit_code, 3);
  EXPECT_EQ(RunWithEnv(env, {Agent("Delay"), "soon", "start"}).exit_code, 2);
}

}  // namespace
}  // namespace tandem::testing
