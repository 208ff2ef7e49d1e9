#include "io/fault_injecting_device.h"

#include <gtest/gtest.h>

#include "io/mem_block_device.h"
#include "io/sync_io.h"

namespace tandem::io {
namespace {

class FaultDeviceTest : public ::testing::Test {
 protected:
  FaultDeviceTest() {
    auto mem = std::make_unique<MemBlockDevice>(loop_, 64 * 1024);
    mem_ = mem.get();
    dev_ = std::make_unique<FaultInjectingDevice>(loop_, std::move(mem));
    io_ = std::make_unique<SyncIo>(loop_, *dev_);
  }
  std::vector<uint8_t> Block(uint8_t fill, size_t n = 4096) {
    return std::vector<uint8_t>(n, fill);
  }

  boost::asio::io_context loop_;
  MemBlockDevice* mem_;
  std::unique_ptr<FaultInjectingDevice> dev_;
  std::unique_ptr<SyncIo> io_;
};

TEST_F(FaultDeviceTest, PassesThroughWithoutFaults) {
  auto b = Block(7);
  ASSERT_TRUE(io_->Write(4096, b.data(), b.size()).ok());
  std::vector<uint8_t> r(4096);
  ASSERT_TRUE(io_->Read(4096, r.data(), r.size()).ok());
  EXPECT_EQ(r, b);
  EXPECT_EQ(mem_->contents()[4096], 7);
}

TEST_F(FaultDeviceTest, CompletionsAreNeverInline) {
  bool done = false;
  auto b = Block(1);
  dev_->Write(0, b.data(), b.size(), kWriteNone, [&](Status) { done = true; });
  EXPECT_FALSE(done);
  ASSERT_TRUE(RunLoopUntil(loop_, &done, std::chrono::seconds(5)));
}

TEST_F(FaultDeviceTest, FailNthOperation) {
  dev_->FailNth(2, FaultInjectingDevice::kOpWrite);
  auto b = Block(1);
  EXPECT_TRUE(io_->Write(0, b.data(), b.size()).ok());
  Status st = io_->Write(4096, b.data(), b.size());
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_NE(st.message().find("injected"), std::string::npos);
  EXPECT_EQ(mem_->contents()[4096], 0);  // the failed write changed nothing
  EXPECT_TRUE(io_->Write(8192, b.data(), b.size()).ok());
}

TEST_F(FaultDeviceTest, FailRangeHitsOnlyOverlappingOperations) {
  dev_->FailRange(8192, 4096, FaultInjectingDevice::kOpRead | FaultInjectingDevice::kOpWrite);
  std::vector<uint8_t> r(4096);
  EXPECT_TRUE(io_->Read(0, r.data(), r.size()).ok());
  EXPECT_FALSE(io_->Read(8192 - 512, r.data(), 1024).ok());
  EXPECT_FALSE(io_->Write(8192, r.data(), 4096).ok());
  EXPECT_TRUE(io_->Flush().ok());
  dev_->ClearFaults();
  EXPECT_TRUE(io_->Read(8192, r.data(), r.size()).ok());
}

TEST_F(FaultDeviceTest, PowerLossKeepsUnflushedWritesVisibleButNotDurable) {
  dev_->EnablePowerLoss();
  auto a = Block(0xAA);
  ASSERT_TRUE(io_->Write(0, a.data(), a.size()).ok());
  std::vector<uint8_t> r(4096);
  ASSERT_TRUE(io_->Read(0, r.data(), r.size()).ok());
  EXPECT_EQ(r, a);                    // readers see it
  EXPECT_EQ(mem_->contents()[0], 0);  // the platter does not
  ASSERT_EQ(dev_->unflushed().size(), 1u);
  ASSERT_TRUE(io_->Flush().ok());
  EXPECT_EQ(mem_->contents()[0], 0xAA);
  EXPECT_TRUE(dev_->unflushed().empty());
}

TEST_F(FaultDeviceTest, CrashDropsOrTearsUnflushedWrites) {
  dev_->EnablePowerLoss();
  auto a = Block(0xAA), b = Block(0xBB);
  ASSERT_TRUE(io_->Write(0, a.data(), a.size()).ok());
  ASSERT_TRUE(io_->Write(8192, b.data(), b.size()).ok());
  bool done = false;
  Status st;
  // First write lost, second torn after 3 sectors.
  dev_->Crash(
      [](size_t i, const FaultInjectingDevice::UnflushedWrite&) -> uint64_t {
        return i == 0 ? 0 : 3;
      },
      [&](Status s) {
        st = s;
        done = true;
      });
  ASSERT_TRUE(RunLoopUntil(loop_, &done, std::chrono::seconds(5)));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(mem_->contents()[0], 0);
  EXPECT_EQ(mem_->contents()[8192 + 3 * 512 - 1], 0xBB);
  EXPECT_EQ(mem_->contents()[8192 + 3 * 512], 0);
  // After the crash the device is dead.
  std::vector<uint8_t> r(512);
  EXPECT_FALSE(io_->Read(0, r.data(), r.size()).ok());
}

TEST_F(FaultDeviceTest, FuaWritesAreDurableAndSupersedeOlderPendingData) {
  dev_->EnablePowerLoss();
  auto a = Block(0xAA, 8192), b = Block(0xBB, 4096);
  ASSERT_TRUE(io_->Write(0, a.data(), a.size()).ok());
  ASSERT_TRUE(io_->Write(4096, b.data(), b.size(), kWriteFua).ok());
  EXPECT_EQ(mem_->contents()[4096], 0xBB);
  EXPECT_EQ(mem_->contents()[0], 0);
  ASSERT_TRUE(io_->Flush().ok());
  EXPECT_EQ(mem_->contents()[0], 0xAA);
  EXPECT_EQ(mem_->contents()[4096], 0xBB);  // not overwritten by the older pending write
}

TEST_F(FaultDeviceTest, CutPowerAfterCountsOperations) {
  dev_->EnablePowerLoss();
  dev_->CutPowerAfter(2);
  auto a = Block(1);
  EXPECT_TRUE(io_->Write(0, a.data(), a.size()).ok());
  EXPECT_TRUE(io_->Write(4096, a.data(), a.size()).ok());
  EXPECT_FALSE(io_->Write(8192, a.data(), a.size()).ok());
  EXPECT_TRUE(dev_->power_cut());
  // The write the power died during is kept: it may have partly reached the disk.
  ASSERT_EQ(dev_->unflushed().size(), 3u);
  EXPECT_EQ(dev_->unflushed()[2].offset, 8192u);
  EXPECT_FALSE(io_->Write(12288, a.data(), a.size()).ok());
  EXPECT_EQ(dev_->unflushed().size(), 3u);  // later ones never started
}

TEST(MemBlockDevice, DirectModeChecksAlignmentAndRange) {
  boost::asio::io_context loop;
  MemBlockDevice dev(loop, 1 << 20, /*direct=*/true, 4096);
  SyncIo io(loop, dev);
  alignas(4096) static uint8_t buf[8192];
  EXPECT_TRUE(io.Write(4096, buf, 4096).ok());
  EXPECT_EQ(io.Write(100, buf, 4096).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(io.Write(4096, buf + 1, 4096).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(io.Read(0, buf, 1000).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(io.Read((1 << 20) - 4096, buf, 8192).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace tandem::io
