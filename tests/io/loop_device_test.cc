// The engine suite on block devices (loop devices over a scratch file), plus
// what only block devices have: geometry from the block layer and the
// exclusive claim. Needs root and the loop driver; skips, saying which is
// missing, otherwise. Every loop device is detached in teardown, and by the
// kernel should the test die (autoclear).
#include <boost/asio/io_context.hpp>

#include "engine_fixture.h"
#include "io/posix_file.h"

namespace tandem::io::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Loop, EngineTest, ::testing::ValuesIn(AllEngines(Backing::kLoop)),
                         [](const auto& p) { return ParamName(p.param); });

class LoopDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backing_ = scratch_.path() + "/disk.img";
    ASSERT_TRUE(WriteZeroFile(backing_, kSize));
    auto loop = LoopDevice::Attach(backing_, 4096);
    if (!loop.ok() && loop.status().code() == Status::Code::kNotSupported) {
      GTEST_SKIP() << "loop device unavailable: " << loop.status().message();
    }
    ASSERT_TRUE(loop.ok()) << loop.status().ToString();
    loop_dev_ = std::move(*loop);
  }

  static constexpr uint64_t kSize = 4 << 20;
  ::tandem::testing::ScratchDir scratch_;
  std::string backing_;
  std::unique_ptr<LoopDevice> loop_dev_;
};

TEST_F(LoopDeviceTest, GeometryComesFromTheBlockLayer) {
  auto file = PosixFile::Open(loop_dev_->path(), true, false);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_TRUE(file->geometry().is_block_device);
  EXPECT_EQ(file->geometry().size_bytes, kSize);
  EXPECT_EQ(file->geometry().logical_block_size, 4096u);  // what LOOP_CONFIGURE set
  EXPECT_GE(file->geometry().physical_block_size, 4096u);
}

TEST_F(LoopDeviceTest, WritableOpenIsRefusedWhileTheDeviceIsClaimed) {
  // An O_EXCL holder stands in for a mounted file system or a device mapper.
  int claim = open(loop_dev_->path().c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  ASSERT_GE(claim, 0) << strerror(errno);
  auto refused = PosixFile::Open(loop_dev_->path(), false, false);
  EXPECT_EQ(refused.status().code(), Status::Code::kBusy) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("in use"), std::string::npos);
  EXPECT_TRUE(PosixFile::Open(loop_dev_->path(), false, true).ok()) << "readers are welcome";
  close(claim);
  // Without a claim, Tandem may open it writable more than once (indexed meta-data).
  auto first = PosixFile::Open(loop_dev_->path(), false, false);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = PosixFile::Open(loop_dev_->path(), false, false);
  EXPECT_TRUE(second.ok()) << second.status().ToString();
}

TEST_F(LoopDeviceTest, AutoCachingIsDirectAndAlignsToTheSectorSize) {
  boost::asio::io_context loop;
  auto dev = IoEnv::Default()->Open(loop, loop_dev_->path(), OpenOptions{});
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_TRUE((*dev)->info().direct);
  EXPECT_TRUE((*dev)->info().is_block_device);
  SyncIo io(loop, **dev, std::chrono::seconds(20));
  AlignedBuffer buf(8192);
  // 512-byte alignment is not enough on a 4096-byte-sector device.
  EXPECT_EQ(io.Write(512, buf.data(), 4096).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(io.Write(0, buf.data() + 512, 4096).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(io.Write(4096, buf.data(), 4096).ok());
}

}  // namespace
}  // namespace tandem::io::testing
