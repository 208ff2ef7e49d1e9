// PosixFile on regular files: size, direct-I/O alignment that the kernel
// actually accepts, rounding of the usable size, and refusals.
#include "io/posix_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "testing/test_util.h"

namespace tandem::io {
namespace {

using ::tandem::testing::ScratchDir;

TEST(EnginePosixFileTest, RegularFileGeometry) {
  ScratchDir dir;
  std::string path = dir.Write("f", std::string(64 * 1024 + 100, 'x'));
  auto f = PosixFile::Open(path, false, false);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_FALSE(f->geometry().is_block_device);
  EXPECT_EQ(f->geometry().size_bytes, 64u * 1024 + 100) << "buffered: every byte usable";
  EXPECT_FALSE(f->direct());
  EXPECT_GE(f->fd(), 0);
  EXPECT_EQ(f->path(), path);
}

TEST(EnginePosixFileTest, DirectAlignmentIsOneTheKernelAccepts) {
  ScratchDir dir;
  std::string path = dir.Write("f", std::string(64 * 1024 + 100, 'x'));
  auto f = PosixFile::Open(path, true, true);
  if (!f.ok() && f.status().code() == Status::Code::kInvalidArgument) {
    GTEST_SKIP() << "no O_DIRECT here: " << f.status().message();
  }
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const uint32_t a = f->geometry().logical_block_size;
  EXPECT_GE(a, 512u);
  EXPECT_LE(a, 4096u);
  EXPECT_EQ(a & (a - 1), 0u);
  EXPECT_EQ(f->geometry().size_bytes % a, 0u) << "direct: usable size rounded down";
  EXPECT_EQ(f->geometry().size_bytes, (64u * 1024 + 100) / a * a);
  // An O_DIRECT read aligned to exactly `a` (offset, length, address) succeeds.
  void* mem = nullptr;
  ASSERT_EQ(posix_memalign(&mem, 8192, 8192), 0);
  char* buf = static_cast<char*>(mem) + (a < 4096 ? a : 0);
  EXPECT_EQ(pread(f->fd(), buf, a, a), static_cast<ssize_t>(a));
  std::free(mem);
}

TEST(EnginePosixFileTest, MovedFromFileClosesNothing) {
  ScratchDir dir;
  std::string path = dir.Write("f", std::string(4096, 'x'));
  auto f = PosixFile::Open(path, false, true);
  ASSERT_TRUE(f.ok());
  const int fd = f->fd();
  PosixFile g = std::move(*f);
  EXPECT_EQ(g.fd(), fd);
  EXPECT_EQ(f->fd(), -1);
  char c;
  EXPECT_EQ(pread(g.fd(), &c, 1, 0), 1);
}

TEST(EnginePosixFileTest, Refusals) {
  ScratchDir dir;
  EXPECT_EQ(PosixFile::Open(dir.path() + "/missing", false, false).status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(PosixFile::Open(dir.path(), false, false).status().code(),
            Status::Code::kInvalidArgument);
  std::string ro = dir.Write("ro", "data", 0444);
  if (geteuid() != 0) {
    EXPECT_EQ(PosixFile::Open(ro, false, false).status().code(), Status::Code::kPermissionDenied);
  }
  EXPECT_TRUE(PosixFile::Open(ro, false, true).ok());
}

}  // namespace
}  // namespace tandem::io
