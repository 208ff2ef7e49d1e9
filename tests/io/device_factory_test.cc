// IoEnv::Default(): engine names, engine choice and fallback (forced with the
// documented TANDEM_IO_DISABLE_* knobs), caching defaults, and errors for
// paths that are not disks.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <vector>

#include "common/log.h"
#include "engine_test_util.h"
#include "io/aligned_buffer.h"
#include "io/device_factory.h"
#include "io/sync_io.h"
#include "testing/test_util.h"

namespace tandem::io {
namespace {

using ::tandem::testing::ScratchDir;

class EngineFactoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("TANDEM_IO_DISABLE_URING");
    unsetenv("TANDEM_IO_DISABLE_AIO");
    path_ = scratch_.Write("disk.img", std::string(1 << 20, '\0'));
    SetLogSink([this](LogLevel level, const std::string& line) {
      logged_.push_back(std::string(LogLevelName(level)) + ": " + line);
    });
  }
  void TearDown() override {
    SetLogSink(nullptr);
    unsetenv("TANDEM_IO_DISABLE_URING");
    unsetenv("TANDEM_IO_DISABLE_AIO");
  }

  Result<std::unique_ptr<BlockDevice>> Open(OpenOptions o) {
    return IoEnv::Default()->Open(loop_, path_, o);
  }

  // The device really works: a write reads back.
  void ExpectWorks(BlockDevice& dev) {
    SyncIo io(loop_, dev, std::chrono::seconds(20));
    AlignedBuffer data(4096);
    testing::FillPattern(data.data(), data.size(), 5);
    ASSERT_TRUE(io.Write(8192, data.data(), data.size()).ok());
    AlignedBuffer back(4096);
    ASSERT_TRUE(io.Read(8192, back.data(), back.size()).ok());
    EXPECT_EQ(std::vector<uint8_t>(back.data(), back.data() + 4096),
              std::vector<uint8_t>(data.data(), data.data() + 4096));
  }

  std::string Logged() const {
    std::string all;
    for (const auto& l : logged_) all += l + "\n";
    return all;
  }

  ScratchDir scratch_;
  std::string path_;
  boost::asio::io_context loop_;
  std::vector<std::string> logged_;
};

TEST_F(EngineFactoryTest, ParsesAndNamesEngines) {
  for (Engine e : {Engine::kUring, Engine::kAio, Engine::kSync}) {
    auto parsed = ParseEngine(EngineName(e));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, e);
  }
  auto bad = ParseEngine("posix");
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("uring, aio or sync"), std::string::npos);
}

TEST_F(EngineFactoryTest, OpensTheRequestedEngineWithoutComplaint) {
  for (Engine e : {Engine::kUring, Engine::kAio, Engine::kSync}) {
    auto dev = Open({.engine = e, .allow_fallback = false});
    ASSERT_TRUE(dev.ok()) << EngineName(e) << ": " << dev.status().ToString();
    EXPECT_EQ((*dev)->info().engine, EngineName(e));
    ExpectWorks(**dev);
  }
  EXPECT_EQ(Logged(), "");
}

TEST_F(EngineFactoryTest, FallsBackFromUringToAioWithALogLine) {
  setenv("TANDEM_IO_DISABLE_URING", "1", 1);
  auto dev = Open({.engine = Engine::kUring});
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ((*dev)->info().engine, "aio");
  ExpectWorks(**dev);
  ASSERT_EQ(logged_.size(), 1u) << Logged();
  EXPECT_NE(logged_[0].find("warning: " + path_ + ": io-engine uring unavailable"),
            std::string::npos)
      << logged_[0];
  EXPECT_NE(logged_[0].find("TANDEM_IO_DISABLE_URING"), std::string::npos) << logged_[0];
  EXPECT_NE(logged_[0].find("falling back to aio"), std::string::npos) << logged_[0];
}

TEST_F(EngineFactoryTest, FallsBackAllTheWayToSync) {
  setenv("TANDEM_IO_DISABLE_URING", "1", 1);
  setenv("TANDEM_IO_DISABLE_AIO", "yes", 1);
  auto dev = Open({.engine = Engine::kUring});
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ((*dev)->info().engine, "sync");
  ExpectWorks(**dev);
  EXPECT_EQ(logged_.size(), 2u) << Logged();
  EXPECT_NE(Logged().find("falling back to sync"), std::string::npos) << Logged();
}

TEST_F(EngineFactoryTest, NoFallbackWhenForbidden) {
  setenv("TANDEM_IO_DISABLE_URING", "1", 1);
  auto dev = Open({.engine = Engine::kUring, .allow_fallback = false});
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(dev.status().message().find("io-engine uring"), std::string::npos)
      << dev.status().message();
  EXPECT_EQ(Logged(), "");
}

TEST_F(EngineFactoryTest, DisableKnobZeroMeansEnabled) {
  setenv("TANDEM_IO_DISABLE_URING", "0", 1);
  auto dev = Open({.engine = Engine::kUring, .allow_fallback = false});
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ((*dev)->info().engine, "uring");
}

TEST_F(EngineFactoryTest, AioRequestFallsBackToSyncNotUpToUring) {
  setenv("TANDEM_IO_DISABLE_AIO", "1", 1);
  auto dev = Open({.engine = Engine::kAio});
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ((*dev)->info().engine, "sync");
}

TEST_F(EngineFactoryTest, CachingModes) {
  auto direct = Open({.cache = CacheMode::kDirect});
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_TRUE((*direct)->info().direct);
  auto buffered = Open({.cache = CacheMode::kBuffered});
  ASSERT_TRUE(buffered.ok());
  EXPECT_FALSE((*buffered)->info().direct);
  auto automatic = Open({.cache = CacheMode::kAuto});
  ASSERT_TRUE(automatic.ok());
  EXPECT_TRUE((*automatic)->info().direct) << "docs/io.md: files default to direct I/O";
}

TEST_F(EngineFactoryTest, PathsThatAreNotDisks) {
  boost::asio::io_context loop;
  auto missing = IoEnv::Default()->Open(loop, scratch_.path() + "/nope", OpenOptions{});
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  auto dir = IoEnv::Default()->Open(loop, scratch_.path(), OpenOptions{});
  EXPECT_EQ(dir.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(dir.status().message().find("neither a regular file nor a block device"),
            std::string::npos);
  std::string fifo = scratch_.path() + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto pipe = IoEnv::Default()->Open(loop, fifo, OpenOptions{});
  EXPECT_EQ(pipe.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace tandem::io
