#pragma once
// The fixture of the engine suite (the TEST_Ps live in engine_test.cc; each
// backing instantiates them: files in engine_test.cc, loop devices in
// loop_device_test.cc). SetUp makes an 8 MiB fully allocated backing file,
// attaches it to a loop device when the parameter asks (skipping, with the
// reason, where loop devices are unavailable) and opens it through
// IoEnv::Default() with the parameter's engine and no fallback, so a run
// really exercises the engine it names. TearDown waits for idle, closes the
// device, then detaches the loop device; the scratch directory goes last.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "io/aligned_buffer.h"
#include "io/device_factory.h"
#include "io/sync_io.h"
#include "testing/test_util.h"

namespace tandem::io::testing {

class EngineTest : public ::testing::TestWithParam<EngineParam> {
 protected:
  static constexpr uint64_t kSize = 8 << 20;
  static constexpr std::chrono::seconds kTimeout{20};

  void SetUp() override {
    backing_ = scratch_.path() + "/backing.img";
    ASSERT_TRUE(WriteZeroFile(backing_, kSize));
    path_ = backing_;
    if (GetParam().backing == Backing::kLoop) {
      auto loop = LoopDevice::Attach(backing_, 512);
      if (!loop.ok() && loop.status().code() == Status::Code::kNotSupported) {
        GTEST_SKIP() << "loop device unavailable: " << loop.status().message();
      }
      ASSERT_TRUE(loop.ok()) << loop.status().ToString();
      loop_dev_ = std::move(*loop);
      path_ = loop_dev_->path();
    }
    Status st = Reopen(OpenOptions{});
    if (st.code() == Status::Code::kInvalidArgument && GetParam().cache == CacheMode::kDirect) {
      GTEST_SKIP() << "no O_DIRECT on this file system: " << st.message();
    }
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  void TearDown() override {
    if (dev_) {
      EXPECT_TRUE(WaitUntilIdle(loop_, *dev_, kTimeout)) << "device did not drain";
      io_.reset();
      dev_.reset();
    }
  }

  // (Re)opens path_ with the parameter's engine and caching plus `o`'s other fields.
  Status Reopen(OpenOptions o) {
    io_.reset();
    dev_.reset();
    o.engine = GetParam().engine;
    o.cache = GetParam().cache;
    o.allow_fallback = false;
    auto dev = IoEnv::Default()->Open(loop_, path_, o);
    if (!dev.ok()) return dev.status();
    dev_ = std::move(*dev);
    io_ = std::make_unique<SyncIo>(loop_, *dev_, kTimeout);
    return Status::Ok();
  }

  // Reads `block` bytes at each offset into consecutive blocks of `into`, all
  // submitted at once; expects every callback exactly once, with success.
  void ReadBlocksAtOnce(const std::vector<uint64_t>& offsets, size_t block, uint8_t* into) {
    std::vector<int> calls(offsets.size(), 0);
    for (size_t i = 0; i < offsets.size(); ++i) {
      dev_->Read(offsets[i], into + i * block, block, [&calls, i](Status st) {
        EXPECT_TRUE(st.ok()) << st.ToString();
        ++calls[i];
      });
    }
    ASSERT_TRUE(WaitUntilIdle(loop_, *dev_, kTimeout));
    EXPECT_EQ(std::count(calls.begin(), calls.end(), 1), static_cast<long>(offsets.size()))
        << "every callback exactly once";
  }

  AlignedBuffer Pattern(size_t len, uint64_t seed) {
    AlignedBuffer b(len);
    FillPattern(b.data(), len, seed);
    return b;
  }

  std::vector<uint8_t> Bytes(const AlignedBuffer& b) {
    return std::vector<uint8_t>(b.data(), b.data() + b.size());
  }

  uint32_t lbs() const { return dev_->info().logical_block_size; }
  bool direct() const { return dev_->info().direct; }
  bool on_loop() const { return GetParam().backing == Backing::kLoop; }

  ::tandem::testing::ScratchDir scratch_;
  boost::asio::io_context loop_;
  std::string backing_;  // the regular file (behind the loop device, if any)
  std::string path_;     // what the engine opened
  std::unique_ptr<LoopDevice> loop_dev_;
  std::unique_ptr<BlockDevice> dev_;
  std::unique_ptr<SyncIo> io_;
};

}  // namespace tandem::io::testing
