// HeartbeatDaemon in this process, on its own event loop thread, with an HbEnv
// that breaks on demand: what the daemon does when the operating system
// refuses something (a generation that cannot be recorded, a serial device
// that will not open, a script that cannot be spawned).
#include "heartbeat/hb_daemon.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "heartbeat/generation.h"
#include "heartbeat/hb_log.h"
#include "testing/test_util.h"

namespace tandem::heartbeat {
namespace {

using ::testing::HasSubstr;
using testing::ReadFileOrEmpty;
using testing::ScratchDir;

class FaultEnv : public HbEnvWrapper {
 public:
  FaultEnv() : HbEnvWrapper(HbEnv::Default()) {}
  Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) override {
    if (fail_writes) return Status::IoError("injected: disk full");
    return HbEnvWrapper::WriteFileAtomic(path, data, mode);
  }
  Result<int> OpenSerial(const std::string& device, int baud) override {
    ++serial_opens;
    if (fail_serial) return Status::NotFound("injected: no such device " + device);
    return HbEnvWrapper::OpenSerial(device, baud);
  }
  Result<Spawned> Spawn(const SpawnOptions& options) override {
    if (fail_spawn_start && !options.argv.empty() && options.argv.back() == "start") {
      return Status::IoError("injected: fork: Resource temporarily unavailable");
    }
    return HbEnvWrapper::Spawn(options);
  }
  std::atomic<bool> fail_writes{false};
  std::atomic<bool> fail_serial{false};
  std::atomic<bool> fail_spawn_start{false};
  std::atomic<int> serial_opens{0};
};

int FreeUdpPort() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A one-node cluster ("alpha") in a scratch directory, the daemon on a thread.
class InProcess {
 public:
  InProcess(const std::string& extra_ha_cf, const std::string& haresources) {
    dir_.Write("ha.d/ha.cf", "keepalive 100ms\ndeadtime 1\ninitdead 1\nudpport " +
                                 std::to_string(FreeUdpPort()) +
                                 "\nucast lo 127.0.0.3\nnode alpha\nlogfile " + log() + "\n" +
                                 extra_ha_cf);
    dir_.Write("ha.d/haresources", haresources);
    dir_.Write("ha.d/authkeys", "auth 1\n1 sha1 k\n", 0600);
    dir_.Write("ha.d/resource.d/rec",
               "#!/bin/sh\ncase $2 in start) touch " + dir_.path() + "/$1.on;; stop) rm -f " +
                   dir_.path() + "/$1.on;; status) [ -e " + dir_.path() +
                   "/$1.on ] && echo running || echo stopped;; esac\n",
               0755);
    HbLogOptions lo;
    lo.logfile = log();
    Logger().Configure(lo);
  }
  ~InProcess() {
    if (thread_.joinable()) {
      boost::asio::post(loop_, [this] { daemon_->Shutdown(); });
      // Bounded: the loop is stopped by force if the shutdown hangs.
      auto done = std::async(std::launch::async, [this] { thread_.join(); });
      if (done.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
        loop_.stop();
        done.wait();
      }
    }
    Logger().Configure(HbLogOptions{});
  }

  // Declared first, destroyed last: the daemon uses it until its loop is gone.
  FaultEnv env;

  Status Start() {
    config::Diagnostics d;
    auto cfg = LoadHeartbeatConfig(env.files(), dir_.path() + "/ha.d", "alpha", &d);
    if (!cfg.ok()) return cfg.status();
    DaemonOptions o;
    o.node = "alpha";
    o.config_dir = dir_.path() + "/ha.d";
    o.run_dir = dir_.path() + "/run";
    o.state_dir = dir_.path() + "/state";
    o.bind_address = "127.0.0.2";
    daemon_ = std::make_unique<HeartbeatDaemon>(loop_, &env, o, std::move(cfg).value());
    Status st = daemon_->Start();
    if (st.ok()) thread_ = std::thread([this] { loop_.run(); });
    return st;
  }

  StatusSnapshot Snapshot() {
    std::promise<StatusSnapshot> p;
    boost::asio::post(loop_, [&] { p.set_value(daemon_->Snapshot()); });
    return p.get_future().get();
  }
  bool WaitFor(const std::function<bool(const StatusSnapshot&)>& cond, std::chrono::milliseconds t) {
    const auto deadline = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond(Snapshot())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond(Snapshot());
  }
  std::string Log() const { return ReadFileOrEmpty(log()); }
  std::string log() const { return dir_.path() + "/ha.log"; }
  const ScratchDir& dir() const { return dir_; }

 private:
  ScratchDir dir_;
  boost::asio::io_context loop_;
  std::unique_ptr<HeartbeatDaemon> daemon_;
  std::thread thread_;
};

TEST(HeartbeatDaemon, NoStartWhenTheGenerationCannotBeRecorded) {
  InProcess d("", "alpha rec::a\n");
  d.env.fail_writes = true;
  Status st = d.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("cannot record the new generation: injected: disk full"));
}

TEST(HeartbeatDaemon, AGenerationGrowsAcrossRestarts) {
  uint64_t first = 0;
  {
    InProcess d("", "");
    ASSERT_TRUE(d.Start().ok());
    first = d.Snapshot().generation;
    ASSERT_GT(first, 0u);
    // Same state directory, a second run.
    auto again = NextGeneration(&d.env, d.dir().path() + "/state/hb_generation");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->generation, first + 1);
  }
}

TEST(HeartbeatDaemon, ASerialDeviceThatWillNotOpenIsRetriedTheOtherLinksWork) {
  // A pty stands in for the serial port once the "cable" is plugged in.
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const std::string slave = ::ptsname(master);
  InProcess d("serial " + slave + "\n", "alpha rec::a\n");
  d.env.fail_serial = true;
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(d.WaitFor([](const StatusSnapshot& s) { return !s.groups.empty() && s.groups[0].here == "running"; },
                        std::chrono::seconds(10)))
      << d.Log();
  auto s = d.Snapshot();
  ASSERT_EQ(s.links.size(), 2u);
  EXPECT_TRUE(s.links[0].open);
  EXPECT_FALSE(s.links[1].open);
  EXPECT_THAT(d.Log(), HasSubstr("ERROR: cannot open link serial:0 (" + slave +
                                 "): injected: no such device " + slave +
                                 " (retrying every second)"));
  const int opens = d.env.serial_opens;
  d.env.fail_serial = false;
  EXPECT_TRUE(d.WaitFor([](const StatusSnapshot& x) { return x.links[1].open; }, std::chrono::seconds(5)))
      << d.Log();
  EXPECT_GT(d.env.serial_opens.load(), opens);
  EXPECT_THAT(d.Log(), HasSubstr("info: link serial:0 (" + slave + ") opened"));
  // Heartbeats now go out on it too.
  char buf[512];
  std::string got;
  for (int i = 0; i < 50 && got.find("<<<\n") == std::string::npos; ++i) {
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_THAT(got, HasSubstr("lnk=serial:0\n"));
  ::close(master);
}

TEST(HeartbeatDaemon, AScriptThatCannotBeSpawnedIsAFailedStart) {
  InProcess d("", "alpha rec::a\n");
  d.env.fail_spawn_start = true;
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(d.WaitFor([](const StatusSnapshot& s) { return !s.groups.empty() && s.groups[0].failed_here; },
                        std::chrono::seconds(10)))
      << d.Log();
  const std::string log = d.Log();
  EXPECT_THAT(log, HasSubstr("rec: injected: fork: Resource temporarily unavailable"));
  EXPECT_THAT(log, HasSubstr("ERROR: Return code 127 from "));
  EXPECT_THAT(log, HasSubstr("CRIT: Resource group rec::a failed to start here: released it"));
  auto s = d.Snapshot();
  EXPECT_EQ(s.groups[0].here, "stopped");
  EXPECT_EQ(s.status, "active");  // the daemon goes on
}

}  // namespace
}  // namespace tandem::heartbeat
