// DeviceBackend (nbd/device_backend.h) over real devices: memory, files on
// ext4 (/tmp or $TMPDIR) and on tmpfs (/dev/shm, which cannot zero ranges,
// so the zero-writing fallback runs for real), and a fault-injecting wrapper.
#include "nbd/device_backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/device_factory.h"
#include "io/fault_injecting_device.h"
#include "io/mem_block_device.h"
#include "io/sync_io.h"
#include "nbd_test_util.h"
#include "testing/test_util.h"

namespace tandem::nbd {
namespace {

using testing::Bytes;
using testing::Pattern;

class DeviceBackendTest : public ::testing::Test {
 protected:
  // Runs the loop until `done` was called.
  Status Wait(const std::function<void(Backend::Completion)>& start) {
    bool finished = false;
    Status result;
    start([&](Status st) {
      result = std::move(st);
      finished = true;
    });
    EXPECT_TRUE(io::RunLoopUntil(loop_, &finished, std::chrono::seconds(30)));
    return result;
  }

  Status Write(Backend& b, uint64_t offset, const Bytes& data, bool fua = false,
               io::AlignedBuffer* returned = nullptr) {
    io::AlignedBuffer buf(data.size());
    std::copy(data.begin(), data.end(), buf.data());
    bool finished = false;
    Status result;
    b.Write(offset, std::move(buf), fua, [&](Status st, io::AlignedBuffer back) {
      result = std::move(st);
      if (returned) *returned = std::move(back);
      finished = true;
    });
    EXPECT_TRUE(io::RunLoopUntil(loop_, &finished, std::chrono::seconds(30)));
    return result;
  }

  Bytes Read(Backend& b, uint64_t offset, uint32_t len) {
    io::AlignedBuffer buf(len);
    Status st = Wait([&](Backend::Completion done) { b.Read(offset, len, buf.data(), done); });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return Bytes(buf.data(), buf.data() + len);
  }

  std::unique_ptr<io::BlockDevice> OpenFile(const std::string& path, io::CacheMode cache,
                                            bool read_only = false) {
    io::OpenOptions o;
    o.cache = cache;
    o.read_only = read_only;
    auto dev = io::IoEnv::Default()->Open(loop_, path, o);
    EXPECT_TRUE(dev.ok()) << dev.status().ToString();
    return dev.ok() ? std::move(*dev) : nullptr;
  }

  boost::asio::io_context loop_;
  tandem::testing::ScratchDir dir_;
};

TEST_F(DeviceBackendTest, WriteHandsTheBufferBackAndReadsSeeTheData) {
  auto mem = std::make_unique<io::MemBlockDevice>(loop_, 1 << 20);
  io::MemBlockDevice* raw = mem.get();
  DeviceBackend b(std::move(mem));
  const Bytes data = Pattern(8192, 1);
  io::AlignedBuffer back;
  ASSERT_TRUE(Write(b, 4096, data, false, &back).ok());
  EXPECT_EQ(back.size(), 8192u) << "the server gets its buffer back for reuse";
  EXPECT_EQ(Bytes(back.data(), back.data() + back.size()), data);
  EXPECT_EQ(Read(b, 4096, 8192), data);
  EXPECT_EQ(Bytes(raw->contents().begin() + 4096, raw->contents().begin() + 4096 + 8192), data);
}

TEST_F(DeviceBackendTest, FuaOnTrimAndZeroesAddsAFlush) {
  auto mem = std::make_unique<io::MemBlockDevice>(loop_, 1 << 20);
  io::MemBlockDevice* raw = mem.get();
  DeviceBackend b(std::move(mem));
  ASSERT_TRUE(Wait([&](auto done) { b.Trim(0, 4096, false, done); }).ok());
  ASSERT_TRUE(Wait([&](auto done) { b.WriteZeroes(0, 4096, false, false, done); }).ok());
  EXPECT_EQ(raw->flush_count(), 0u);
  ASSERT_TRUE(Wait([&](auto done) { b.Trim(0, 4096, true, done); }).ok());
  EXPECT_EQ(raw->flush_count(), 1u);
  ASSERT_TRUE(Wait([&](auto done) { b.WriteZeroes(0, 4096, true, true, done); }).ok());
  EXPECT_EQ(raw->flush_count(), 2u);
  ASSERT_TRUE(Wait([&](auto done) { b.Flush(done); }).ok());
  EXPECT_EQ(raw->flush_count(), 3u);
}

TEST_F(DeviceBackendTest, WriteZeroesFallsBackToZeroBlocksWhereTheFileSystemCannot) {
  // tmpfs has no FALLOC_FL_ZERO_RANGE: the device answers NotSupported.
  const std::string path = "/dev/shm/tandem-nbd-zero-" + std::to_string(getpid());
  testing::MakeFile(path, 4 << 20);
  {
    auto dev = OpenFile(path, io::CacheMode::kBuffered);
    ASSERT_TRUE(dev);
    DeviceBackend b(std::move(dev));
    const Bytes data = Pattern(4 << 20, 2);
    ASSERT_TRUE(Write(b, 0, data).ok());
    // 2.5 MiB: more than two fallback chunks, ending mid-chunk.
    const uint64_t off = 4096, len = (5 << 20) / 2;
    ASSERT_TRUE(Wait([&](auto done) { b.WriteZeroes(off, len, false, true, done); }).ok());
    const Bytes back = testing::ReadFileRange(path, 0, 4 << 20);
    ASSERT_EQ(back.size(), data.size());
    EXPECT_TRUE(std::equal(back.begin(), back.begin() + off, data.begin()));
    EXPECT_TRUE(std::all_of(back.begin() + off, back.begin() + off + len,
                            [](uint8_t c) { return c == 0; }));
    EXPECT_TRUE(std::equal(back.begin() + off + len, back.end(), data.begin() + off + len));
  }
  ::unlink(path.c_str());
}

TEST_F(DeviceBackendTest, TrimPunchesAHoleInAFile) {
  const std::string path = dir_.path() + "/disk";
  testing::MakeFile(path, 4 << 20);
  auto dev = OpenFile(path, io::CacheMode::kDirect);
  ASSERT_TRUE(dev);
  DeviceBackend b(std::move(dev));
  ASSERT_TRUE(Write(b, 0, Pattern(4 << 20, 3), true).ok());
  struct stat before{}, after{};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_TRUE(Wait([&](auto done) { b.Trim(1 << 20, 2 << 20, true, done); }).ok());
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_LE(after.st_blocks * 512, before.st_blocks * 512 - (2 << 20) + 65536)
      << "2 MiB should have been deallocated";
  EXPECT_EQ(Read(b, 1 << 20, 4096), Bytes(4096, 0));
}

TEST_F(DeviceBackendTest, GeometryFollowsTheDevice) {
  const std::string path = dir_.path() + "/disk";
  testing::MakeFile(path, 3 << 20);
  {
    DeviceBackend b(OpenFile(path, io::CacheMode::kBuffered));
    EXPECT_EQ(b.size(), 3u << 20);
    EXPECT_EQ(b.logical_block_size(), 512u);
    EXPECT_FALSE(b.read_only());
    EXPECT_TRUE(b.can_multi_conn());
  }
  {
    auto dev = OpenFile(path, io::CacheMode::kDirect, /*read_only=*/true);
    const uint32_t lbs = dev->info().logical_block_size;
    DeviceBackend b(std::move(dev), {"described", 0});
    EXPECT_EQ(b.logical_block_size(), lbs);
    EXPECT_TRUE(b.read_only());
    EXPECT_EQ(b.description(), "described");
  }
}

TEST_F(DeviceBackendTest, OpenersAreCountedAndLimited) {
  DeviceBackend b(std::make_unique<io::MemBlockDevice>(loop_, 4096), {"", 2});
  ASSERT_TRUE(b.Open().ok());
  ASSERT_TRUE(b.Open().ok());
  EXPECT_EQ(b.openers(), 2u);
  Status third = b.Open();
  EXPECT_EQ(third.code(), Status::Code::kBusy);
  EXPECT_NE(third.message().find("in use by 2 clients (limit 2)"), std::string::npos);
  b.Close();
  EXPECT_TRUE(b.Open().ok());
  b.Close();
  b.Close();
  EXPECT_EQ(b.openers(), 0u);
}

TEST_F(DeviceBackendTest, DeviceErrorsReachTheCallerAndTheBufferComesBack) {
  auto faulty = std::make_unique<io::FaultInjectingDevice>(
      loop_, std::make_unique<io::MemBlockDevice>(loop_, 1 << 20));
  faulty->FailRange(8192, 4096);
  DeviceBackend b(std::move(faulty));
  io::AlignedBuffer back;
  Status st = Write(b, 8192, Pattern(4096, 4), false, &back);
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_EQ(back.size(), 4096u);
  io::AlignedBuffer buf(4096);
  st = Wait([&](auto done) { b.Read(8192, 4096, buf.data(), done); });
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_TRUE(Write(b, 0, Pattern(4096, 5)).ok()) << "outside the faulty range";
}

}  // namespace
}  // namespace tandem::nbd
