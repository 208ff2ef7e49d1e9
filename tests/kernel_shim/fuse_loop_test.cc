// tandem-attach's FUSE + loop path against a real two-node cluster: fio with
// crc32c verification through the loop device at 4k..1m (io_uring QD8 and
// psync), discard punching holes on the Primary's backing file, detach
// refused while mounted, stale state after a dead FUSE server, requests
// failing (not hanging) when the export dies under them.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "shim_fixture.h"

namespace tandem::testing {
namespace {

using namespace std::chrono_literals;

bool WaitForPeerIdle(Cluster& c) {
  return WaitFor([&] { return c.StatusJson(0)["counters"].value("pe", 1) == 0; }, 20s);
}

// Every test: a synced two-node cluster, alpha Primary, r0 attached on alpha
// through FUSE + loop.
class FuseLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = FuseLoopMissing();
    if (!missing.empty()) GTEST_SKIP() << "FUSE + loop test needs " << missing;
    sc_.emplace();
    sc_->c.BringUp();
    if (HasFatalFailure()) return;
    attach_ = sc_->Attach(0, {"--mode", "fuse"});
    ASSERT_EQ(attach_.exit_code, 0) << attach_.out << attach_.err;
  }
  std::optional<ShimCluster> sc_;
  CommandResult attach_;
};

TEST_F(FuseLoop, AttachServesThePrimaryAndFioVerifiesEveryBlockSize) {
  ShimCluster& sc = *sc_;
  EXPECT_NE(attach_.err.find("using FUSE + loop"), std::string::npos) << attach_.err;
  auto st = sc.State(0);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const std::string dev = st->block_device;
  EXPECT_EQ(dev.rfind("/dev/loop", 0), 0u) << dev;
  char target[256] = {};
  ASSERT_GT(::readlink(sc.link().c_str(), target, sizeof target - 1), 0);
  EXPECT_EQ(std::string(target), dev);
  EXPECT_EQ(shim::ReadSmallFile("/sys/block/" + shim::BaseName(dev) + "/loop/dio"), "1")
      << "the loop device should run with direct I/O";
  const uint64_t size = sc.c.DataSize(0);
  EXPECT_EQ(st->size, size);

  auto status = sc.Shim(0, {"status", "r0", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto j = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << status.out;
  EXPECT_EQ(j[0].value("attached", false), true) << status.out;
  EXPECT_EQ(j[0].value("mode", ""), "fuse");

  struct Run {
    const char* bs;
    const char* engine;
    int depth;
  };
  const Run runs[] = {{"4k", "io_uring", 8}, {"64k", "io_uring", 8}, {"512k", "io_uring", 8},
                      {"1m", "io_uring", 8}, {"4k", "psync", 1},     {"64k", "psync", 1},
                      {"512k", "psync", 1},  {"1m", "psync", 1}};
  int i = 0;
  for (const Run& r : runs) {
    const auto t0 = std::chrono::steady_clock::now();
    // Each run on its own 24 MiB region, random order, every block written
    // once and verified (crc32c header with the block's offset).
    const std::string offset = std::to_string((i % 2) * 24) + "M";
    auto fio = RunCommand(
        {"/usr/bin/fio", "--name=shimcheck", "--filename=" + dev, "--direct=1", "--rw=randwrite",
         std::string("--bs=") + r.bs, std::string("--ioengine=") + r.engine,
         "--iodepth=" + std::to_string(r.depth), "--offset=" + offset, "--size=24M",
         "--verify=crc32c", "--do_verify=1", "--verify_fatal=1", "--randrepeat=0",
         "--group_reporting", "--verify_state_save=0"},
        240);
    EXPECT_EQ(fio.exit_code, 0) << r.bs << " " << r.engine << ":\n" << fio.out << fio.err;
    EXPECT_NE(fio.out.find("err= 0"), std::string::npos) << fio.out;
    EXPECT_EQ((fio.out + fio.err).find("verify failed"), std::string::npos) << fio.out << fio.err;
    EXPECT_EQ((fio.out + fio.err).find("bad magic"), std::string::npos) << fio.out << fio.err;
    std::cout << "[ fio ] bs=" << r.bs << " " << r.engine << " QD" << r.depth << ": "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - t0)
                     .count()
              << " ms\n";
    ++i;
  }
  // What the loop device shows is what both backing files hold.
  ASSERT_TRUE(WaitForPeerIdle(sc.c));
  const std::string via_loop = ReadDevice(dev, 0, 48 << 20);
  ASSERT_EQ(via_loop.size(), size_t{48} << 20);
  const std::string d0 = sc.c.DataOf(0, size), d1 = sc.c.DataOf(1, size);
  EXPECT_TRUE(SameBytes(d0.substr(0, 48 << 20), via_loop));
  EXPECT_TRUE(SameBytes(d0, d1));

  auto d = sc.Shim(0, {"detach", "r0"});
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  struct stat lst {};
  EXPECT_NE(::lstat(sc.link().c_str(), &lst), 0) << "the device symlink outlived detach";
  EXPECT_TRUE(shim::LoopBackingFile(dev).empty()) << dev << " still bound";
  EXPECT_FALSE(shim::ProcessAlive(st->pid, st->pid_start)) << "FUSE server still running";
  EXPECT_TRUE(WaitFor([&] { return sc.c.StatusJson(0).value("open_count", 1) == 0; }, 10s))
      << "the NBD client did not disconnect";
}

TEST_F(FuseLoop, DiscardPunchesHolesOnThePrimaryAndReadsZeroes) {
  ShimCluster& sc = *sc_;
  const std::string dev = sc.State(0)->block_device;
  const uint64_t off = 8 << 20, len = 16 << 20;
  const auto data = Pattern(7, len);
  ASSERT_TRUE(WriteDevice(dev, off, data));
  ASSERT_TRUE(WaitForPeerIdle(sc.c));
  struct stat before {};
  ASSERT_EQ(::stat(sc.c.disk(0).c_str(), &before), 0);
  EXPECT_EQ(ReadDevice(dev, off, len), std::string(data.begin(), data.end()));

  auto r = RunCommand(
      {"/usr/sbin/blkdiscard", "-o", std::to_string(off), "-l", std::to_string(len), dev}, 60);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadDevice(dev, off, len), std::string(len, '\0'))
      << "discarded blocks must read zeroes";
  ASSERT_TRUE(WaitForPeerIdle(sc.c));
  struct stat after {};
  ASSERT_EQ(::stat(sc.c.disk(0).c_str(), &after), 0);
  EXPECT_LE((after.st_blocks + (len / 2) / 512), static_cast<uint64_t>(before.st_blocks))
      << "st_blocks " << before.st_blocks << " -> " << after.st_blocks
      << ": the discard did not punch holes in the Primary's backing file";
  const int fd = ::open(sc.c.disk(0).c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const off_t hole = ::lseek(fd, static_cast<off_t>(off), SEEK_HOLE);
  ::close(fd);
  EXPECT_LT(hole, static_cast<off_t>(off + len)) << "no hole in the discarded range";
  EXPECT_EQ(sc.c.DataOf(1, off + len).substr(off, len), std::string(len, '\0'))
      << "the Secondary must read zeroes too";
}

TEST_F(FuseLoop, DetachIsRefusedWhileMountedAndNamesTheMountPoint) {
  ShimCluster& sc = *sc_;
  auto mk = RunCommand({"/usr/sbin/mkfs.ext4", "-q", "-F", sc.link()}, 120);
  ASSERT_EQ(mk.exit_code, 0) << mk.out << mk.err;
  const std::string mp = sc.Mount(sc.link(), "mnt");
  auto refused = sc.Shim(0, {"detach", "r0"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("is mounted on " + mp), std::string::npos) << refused.err;
  auto again = sc.Attach(0, {"--mode", "fuse"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already attached"), std::string::npos) << again.err;
  ASSERT_TRUE(sc.Umount(mp));
  auto d = sc.Shim(0, {"detach", "r0"});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  auto d2 = sc.Shim(0, {"detach", "r0"});
  EXPECT_EQ(d2.exit_code, 0) << d2.err;
  EXPECT_NE(d2.out.find("not attached"), std::string::npos) << d2.out;
}

// Requests in flight when the export dies: the FUSE server fails them and
// every later one (EIO, not a hang), and detach still takes it all apart.
// Small reads and writes are answered from the NBD client's loop thread; the
// server must not exit (and destroy the FUSE session) before they are.
TEST_F(FuseLoop, WhenTheExportDiesRequestsFailAndDetachCleansUp) {
  ShimCluster& sc = *sc_;
  auto st = sc.State(0);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const std::string dev = st->block_device;
  std::optional<CommandResult> fio;
  std::thread writer([&] {
    // Mixed 4k..1m reads and writes at QD16: both the loop-thread and the
    // blocking paths have requests in flight at the kill.
    fio = RunCommand({"/usr/bin/fio", "--name=dying", "--filename=" + dev, "--direct=1",
                      "--rw=randrw", "--bsrange=4k-1m", "--ioengine=io_uring", "--iodepth=16",
                      "--size=32M", "--time_based=1", "--runtime=60", "--randrepeat=0"},
                     120);
  });
  std::this_thread::sleep_for(1s);
  const auto killed = std::chrono::steady_clock::now();
  sc.c.Kill(0);
  writer.join();
  ASSERT_TRUE(fio.has_value());
  EXPECT_NE(fio->exit_code, 0) << "fio kept running against a dead export:\n" << fio->out;
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 30s)
      << "the device hung after the export died instead of failing requests";
  EXPECT_NE((fio->out + fio->err).find("Input/output error"), std::string::npos)
      << fio->out << fio->err;
  auto d = sc.Shim(0, {"detach", "r0"});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  EXPECT_TRUE(WaitFor([&] { return !shim::ProcessAlive(st->pid, st->pid_start); }, 20s))
      << "FUSE server still running";
  EXPECT_TRUE(shim::LoopBackingFile(dev).empty()) << dev << " still bound";
}

TEST_F(FuseLoop, AStaleAttachmentIsReportedAndCleanedUp) {
  ShimCluster& sc = *sc_;
  auto st = sc.State(0);
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(::kill(st->pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !shim::ProcessAlive(st->pid, st->pid_start); }, 10s));
  auto s = sc.Shim(0, {"status", "r0"});
  EXPECT_NE(s.out.find("r0: stale"), std::string::npos) << s.out;
  // A new attach cleans up and works (this one with a client loop that never polls).
  auto a = sc.Attach(0, {"--mode", "fuse", "--fuse-busy-poll-us", "0"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.err.find("stale"), std::string::npos) << a.err;
  const auto data = Pattern(9, 1 << 20);
  ASSERT_TRUE(WriteDevice(sc.State(0)->block_device, 0, data));
  EXPECT_EQ(ReadDevice(sc.State(0)->block_device, 0, data.size()),
            std::string(data.begin(), data.end()));
  // The old loop device was freed.
  EXPECT_TRUE(st->block_device == sc.State(0)->block_device ||
              shim::LoopBackingFile(st->block_device).empty());
}

}  // namespace
}  // namespace tandem::testing
