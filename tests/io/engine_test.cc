// The BlockDevice contract, run over every engine (uring, aio, sync) and both
// caching modes. This file instantiates it on regular files; loop_device_test.cc
// on loop devices. Everything is checked against the kernel's own view: data
// through a fresh descriptor, holes with SEEK_HOLE and st_blocks, durability
// with the page cache's dirty bits.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "engine_fixture.h"
#include "io/engine_device.h"
#include "io/event_loop.h"
#include "io/page_cache.h"

namespace tandem::io::testing {
namespace {

using Code = Status::Code;

TEST_P(EngineTest, ReportsItsEngineAndGeometry) {
  const DeviceInfo& info = dev_->info();
  EXPECT_EQ(info.engine, EngineName(GetParam().engine));
  EXPECT_EQ(info.path, path_);
  EXPECT_EQ(info.size_bytes, kSize);
  EXPECT_EQ(info.direct, GetParam().cache == CacheMode::kDirect);
  EXPECT_EQ(info.is_block_device, on_loop());
  EXPECT_FALSE(info.read_only);
  EXPECT_GE(info.logical_block_size, 512u);
  EXPECT_EQ(info.logical_block_size & (info.logical_block_size - 1), 0u) << "not a power of two";
  EXPECT_GE(info.physical_block_size, info.logical_block_size);
  EXPECT_EQ(dev_->in_flight(), 0u);
}

TEST_P(EngineTest, ReadAfterWriteManySizesAndOffsets) {
  const uint64_t b = lbs();
  const uint64_t sizes[] = {b, 2 * b, 4096, 4096 + b, 65536, (1 << 20) + b};
  uint64_t seed = 1;
  for (uint64_t len : sizes) {
    for (uint64_t off : {uint64_t{0}, b, 5 * 4096 + b, kSize - len}) {
      SCOPED_TRACE("offset " + std::to_string(off) + " length " + std::to_string(len));
      AlignedBuffer data = Pattern(len, ++seed);
      ASSERT_TRUE(io_->Write(off, data.data(), len).ok());
      AlignedBuffer back(len);
      ASSERT_TRUE(io_->Read(off, back.data(), len).ok());
      EXPECT_EQ(Bytes(back), Bytes(data));
      EXPECT_EQ(ReadThroughFreshFd(path_, off, len), Bytes(data)) << "another reader disagrees";
    }
  }
}

TEST_P(EngineTest, UnalignedRequestsWorkWithoutDirectIo) {
  if (direct()) GTEST_SKIP() << "direct I/O refuses these (MisalignedDirectRequestsAreRefused)";
  struct Case {
    uint64_t off;
    size_t len;
  };
  for (Case c : {Case{3, 1}, Case{4095, 777}, Case{12345, 10000}}) {
    std::vector<uint8_t> data(c.len);
    FillPattern(data.data(), c.len, c.off);
    ASSERT_TRUE(io_->Write(c.off, data.data(), c.len).ok());
    std::vector<uint8_t> back(c.len + 1);
    ASSERT_TRUE(io_->Read(c.off, back.data() + 1, c.len).ok());  // odd address too
    EXPECT_TRUE(std::equal(data.begin(), data.end(), back.begin() + 1));
    EXPECT_EQ(ReadThroughFreshFd(path_, c.off, c.len), data);
  }
}

TEST_P(EngineTest, ManyRequestsInFlightAtOnce) {
  constexpr size_t kOps = 256;
  constexpr size_t kBlock = 4096;
  std::vector<uint64_t> slots(kSize / kBlock);
  std::iota(slots.begin(), slots.end(), 0);
  std::shuffle(slots.begin(), slots.end(), std::mt19937(42));
  slots.resize(kOps);
  AlignedBuffer data(kOps * kBlock);
  for (size_t i = 0; i < kOps; ++i) FillPattern(data.data() + i * kBlock, kBlock, 1000 + i);

  // More than the default queue depth (128), so some wait in the engine's queue.
  std::vector<int> calls(kOps, 0);
  for (size_t i = 0; i < kOps; ++i) {
    dev_->Write(slots[i] * kBlock, data.data() + i * kBlock, kBlock, kWriteNone,
                [&calls, i](Status st) {
                  EXPECT_TRUE(st.ok()) << st.ToString();
                  ++calls[i];
                });
  }
  EXPECT_EQ(dev_->in_flight(), kOps);
  ASSERT_TRUE(WaitUntilIdle(loop_, *dev_, kTimeout));
  EXPECT_EQ(std::count(calls.begin(), calls.end(), 1), static_cast<long>(kOps))
      << "every callback exactly once";

  AlignedBuffer back(kOps * kBlock);
  std::vector<uint64_t> offsets;
  for (uint64_t slot : slots) offsets.push_back(slot * kBlock);
  ReadBlocksAtOnce(offsets, kBlock, back.data());
  for (size_t i = 0; i < kOps; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    std::vector<uint8_t> want(data.data() + i * kBlock, data.data() + (i + 1) * kBlock);
    ASSERT_TRUE(std::equal(want.begin(), want.end(), back.data() + i * kBlock));
    ASSERT_EQ(ReadThroughFreshFd(path_, slots[i] * kBlock, kBlock), want);
  }
}

// Reads that miss the page cache (buffered files: the aio engine sends them
// with RWF_NOWAIT and re-runs the misses on worker threads) return the bytes
// on disk, many at once, each callback once.
TEST_P(EngineTest, ReadsThatMissThePageCacheReturnTheBytesOnDisk) {
  constexpr size_t kOps = 64;
  constexpr size_t kBlock = 4096;
  AlignedBuffer data(kSize);
  FillPattern(data.data(), kSize, 77);
  {
    int fd = ::open(path_.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, data.data(), kSize, 0), static_cast<ssize_t>(kSize));
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
  }
  ASSERT_TRUE(Reopen(OpenOptions{}).ok());
  // Written back above, so the pages are clean and this drops them.
  int fd = ::open(path_.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ::close(fd);

  // Every other 4 KiB block of the first 512 KiB: separate requests, some of
  // which read-ahead of an earlier one may still serve from the cache.
  AlignedBuffer back(kOps * kBlock);
  std::vector<uint64_t> offsets;
  for (size_t i = 0; i < kOps; ++i) offsets.push_back(i * 2 * kBlock);
  ReadBlocksAtOnce(offsets, kBlock, back.data());
  for (size_t i = 0; i < kOps; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    ASSERT_EQ(std::memcmp(back.data() + i * kBlock, data.data() + i * 2 * kBlock, kBlock), 0);
  }
}

TEST_P(EngineTest, TinyQueueDepthQueuesInsteadOfDropping) {
  ASSERT_TRUE(Reopen(OpenOptions{.queue_depth = 2}).ok());
  constexpr size_t kOps = 64;
  constexpr size_t kBlock = 4096;
  AlignedBuffer data(kOps * kBlock);
  FillPattern(data.data(), data.size(), 7);
  int ok = 0;
  auto count = [&ok](Status st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    ++ok;
  };
  for (size_t i = 0; i < kOps; ++i) {
    dev_->Write(i * kBlock, data.data() + i * kBlock, kBlock, kWriteNone, count);
  }
  dev_->Flush(count);
  dev_->WriteZeroes(kOps * kBlock, kBlock, false, count);
  ASSERT_TRUE(WaitUntilIdle(loop_, *dev_, kTimeout));
  EXPECT_EQ(ok, static_cast<int>(kOps + 2));
  EXPECT_EQ(ReadThroughFreshFd(path_, 0, data.size()), Bytes(data));
}

TEST_P(EngineTest, LoopRunReturnsOnlyAfterEveryCompletion) {
  // A daemon runs its loop with run(): pending I/O must count as work.
  AlignedBuffer data = Pattern(16 * 4096, 91);
  int done = 0;
  for (int i = 0; i < 16; ++i) {
    dev_->Write(i * 4096, data.data() + i * 4096, 4096, kWriteNone, [&](Status) { ++done; });
  }
  dev_->Flush([&](Status) { ++done; });
  dev_->WriteZeroes(1 << 20, 4096, false, [&](Status) { ++done; });
  loop_.run();
  EXPECT_EQ(done, 18);
  EXPECT_EQ(dev_->in_flight(), 0u);
}

TEST_P(EngineTest, CompletionsArePostedNeverInline) {
  AlignedBuffer buf(4096);
  bool read_done = false;
  bool bad_done = false;
  dev_->Read(0, buf.data(), buf.size(), [&](Status st) {
    EXPECT_TRUE(st.ok());
    read_done = true;
  });
  dev_->Read(kSize, buf.data(), buf.size(), [&](Status st) {
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    bad_done = true;
  });
  EXPECT_FALSE(read_done);
  EXPECT_FALSE(bad_done);
  EXPECT_EQ(dev_->in_flight(), 2u);
  ASSERT_TRUE(WaitUntilIdle(loop_, *dev_, kTimeout));
  EXPECT_TRUE(read_done && bad_done);
}

TEST_P(EngineTest, MisalignedDirectRequestsAreRefused) {
  if (!direct()) GTEST_SKIP() << "only direct I/O has alignment rules";
  const uint64_t b = lbs();
  const uint64_t base = 64 * 1024;
  AlignedBuffer before = Pattern(4 * b, 99);
  ASSERT_TRUE(io_->Write(base, before.data(), before.size()).ok());
  AlignedBuffer junk = Pattern(4 * b, 5);
  struct Case {
    const char* what;
    uint64_t off;
    size_t len;
    size_t buf_skew;
  };
  for (Case c : {Case{"offset", base + b / 2, b, 0}, Case{"length", base, b + b / 2, 0},
                 Case{"buffer", base, b, b / 2}}) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(io_->Write(c.off, junk.data() + c.buf_skew, c.len).code(), Code::kInvalidArgument);
    EXPECT_EQ(io_->Read(c.off, junk.data() + c.buf_skew, c.len).code(), Code::kInvalidArgument);
    if (c.buf_skew == 0) {
      EXPECT_EQ(io_->WriteZeroes(c.off, c.len, false).code(), Code::kInvalidArgument);
      EXPECT_EQ(io_->Discard(c.off, c.len).code(), Code::kInvalidArgument);
    }
  }
  EXPECT_EQ(ReadThroughFreshFd(path_, base, before.size()), Bytes(before)) << "nothing written";
}

TEST_P(EngineTest, RequestsPastTheEndAreRefused) {
  const uint64_t b = lbs();
  AlignedBuffer last = Pattern(b, 3);
  ASSERT_TRUE(io_->Write(kSize - b, last.data(), b).ok());
  AlignedBuffer buf = Pattern(2 * b, 4);
  EXPECT_EQ(io_->Read(kSize, buf.data(), b).code(), Code::kInvalidArgument);
  EXPECT_EQ(io_->Read(kSize - b, buf.data(), 2 * b).code(), Code::kInvalidArgument);
  EXPECT_EQ(io_->Write(kSize - b, buf.data(), 2 * b).code(), Code::kInvalidArgument);
  EXPECT_EQ(io_->Write(UINT64_MAX - b + 1, buf.data(), b).code(), Code::kInvalidArgument);
  EXPECT_EQ(io_->Discard(kSize - b, 2 * b).code(), Code::kInvalidArgument);
  EXPECT_EQ(io_->WriteZeroes(kSize, b, true).code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadThroughFreshFd(path_, kSize - b, b), Bytes(last)) << "crossing write touched it";
  struct stat st {};
  ASSERT_EQ(stat(backing_.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kSize) << "the backing file grew";
}

// Flush and FUA are checked where the data can be watched: the page cache of
// the regular file the data must reach (the file itself, or the file behind
// the loop device). "Durable" there means: present through a fresh descriptor
// and no page of the range dirty. Direct writes to a plain file never enter
// the page cache, so there is nothing to watch; the loop runs cover them.
class DurabilityProbe {
 public:
  DurabilityProbe(std::string file, uint64_t off, std::vector<uint8_t> want)
      : file_(std::move(file)), off_(off), want_(std::move(want)) {}
  // OK(true/false), or why it cannot be observed here.
  Result<bool> Durable() const {
    Result<size_t> dirty = DirtyPages(file_, off_, want_.size());
    if (!dirty.ok()) return dirty.status();
    return *dirty == 0 && ReadThroughFreshFd(file_, off_, want_.size()) == want_;
  }

 private:
  std::string file_;
  uint64_t off_;
  std::vector<uint8_t> want_;
};

TEST_P(EngineTest, FlushMakesEarlierWritesDurable) {
  if (direct() && !on_loop()) GTEST_SKIP() << "direct writes to a file bypass the page cache";
  const uint64_t off = 1 << 20;
  AlignedBuffer data = Pattern(64 * 1024, 11);
  ASSERT_TRUE(io_->Write(off, data.data(), data.size()).ok());
  DurabilityProbe probe(backing_, off, Bytes(data));
  Result<bool> before = probe.Durable();
  if (!before.ok()) GTEST_SKIP() << "cannot watch the page cache: " << before.status().message();
  if (*before) GTEST_SKIP() << "background writeback made the write durable before the flush";
  ASSERT_TRUE(io_->Flush().ok());
  Result<bool> after = probe.Durable();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_TRUE(*after) << "data still dirty or missing after Flush";
}

TEST_P(EngineTest, ConcurrentFlushesShareDeviceFlushes) {
  auto* engine = dynamic_cast<EngineDevice*>(dev_.get());
  ASSERT_NE(engine, nullptr) << "the factory did not return an engine";
  AlignedBuffer data = Pattern(4096, 14);
  ASSERT_TRUE(io_->Write(0, data.data(), data.size()).ok());
  const uint64_t before = engine->device_flushes();
  // One flush starts; the nine after it cannot share it and share the next.
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) {
    dev_->Flush([&order, i](Status st) {
      EXPECT_TRUE(st.ok()) << st.ToString();
      order.push_back(i);
    });
  }
  ASSERT_TRUE(WaitUntilIdle(loop_, *dev_, kTimeout));
  EXPECT_EQ(engine->device_flushes() - before, 2u);
  ASSERT_EQ(order.size(), 10u);
  EXPECT_EQ(order.front(), 0) << "the first flush's caller hears first";
  // A flush asked for after the others finished gets a device flush of its own.
  ASSERT_TRUE(io_->Flush().ok());
  EXPECT_EQ(engine->device_flushes() - before, 3u);
}

// A buffered device offers its descriptor for ranges in the page cache, and
// what that descriptor reads is what was written; nothing else gets one.
TEST_P(EngineTest, PageCacheReadFdOnlyForResidentRangesOfBufferedDevices) {
  constexpr size_t kLen = 1 << 20;
  AlignedBuffer data = Pattern(kLen, 15);
  ASSERT_TRUE(io_->Write(kLen, data.data(), kLen).ok());
  if (direct()) {
    EXPECT_EQ(dev_->PageCacheReadFd(kLen, kLen), -1) << "direct I/O has no page cache to send from";
    return;
  }
  const int fd = dev_->PageCacheReadFd(kLen, kLen);
  if (fd < 0) {
    const int probe = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(probe, 0);
    const Residency r = RangeResidency(probe, kLen, kLen);
    ::close(probe);
    if (r == Residency::kUnknown) GTEST_SKIP() << "the kernel has no cachestat(2) (Linux 6.5+)";
  }
  ASSERT_GE(fd, 0) << "a range just written through the page cache is resident";
  std::vector<uint8_t> back(kLen);
  ASSERT_EQ(::pread(fd, back.data(), kLen, kLen), static_cast<ssize_t>(kLen));
  EXPECT_EQ(std::memcmp(back.data(), data.data(), kLen), 0);
  EXPECT_EQ(dev_->PageCacheReadFd(kLen, 0), -1) << "empty range";
  EXPECT_EQ(dev_->PageCacheReadFd(kSize - 4096, 8192), -1) << "past the end";
  EXPECT_EQ(dev_->PageCacheReadFd(kSize + 4096, 4096), -1) << "past the end";
  // Written back, then dropped: no longer resident, so no descriptor.
  ASSERT_TRUE(io_->Flush().ok());
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  EXPECT_EQ(dev_->PageCacheReadFd(kLen, kLen), -1);
}

TEST_P(EngineTest, FuaWriteIsDurableWhenItCompletes) {
  if (direct() && !on_loop()) GTEST_SKIP() << "direct writes to a file bypass the page cache";
  // A plain write first, to show that this layer does not make writes durable
  // by itself; otherwise the FUA check below would prove nothing.
  AlignedBuffer control = Pattern(64 * 1024, 12);
  ASSERT_TRUE(io_->Write(2 << 20, control.data(), control.size()).ok());
  Result<bool> plain = DurabilityProbe(backing_, 2 << 20, Bytes(control)).Durable();
  if (!plain.ok()) GTEST_SKIP() << "cannot watch the page cache: " << plain.status().message();
  if (*plain) GTEST_SKIP() << "background writeback made a plain write durable at once";

  AlignedBuffer data = Pattern(64 * 1024, 13);
  ASSERT_TRUE(io_->Write(1 << 20, data.data(), data.size(), kWriteFua).ok());
  Result<bool> fua = DurabilityProbe(backing_, 1 << 20, Bytes(data)).Durable();
  ASSERT_TRUE(fua.ok()) << fua.status().ToString();
  EXPECT_TRUE(*fua) << "FUA write not durable at completion";
}

TEST_P(EngineTest, DiscardPunchesAHole) {
  const uint64_t off = 2 << 20;
  const uint64_t len = 1 << 20;
  AlignedBuffer data = Pattern(len, 21);
  ASSERT_TRUE(io_->Write(off, data.data(), len).ok());
  ASSERT_TRUE(io_->Flush().ok());
  struct stat before {};
  ASSERT_EQ(stat(backing_.c_str(), &before), 0);

  ASSERT_TRUE(io_->Discard(off, len).ok());
  struct stat after {};
  ASSERT_EQ(stat(backing_.c_str(), &after), 0);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_LE(after.st_blocks, before.st_blocks - static_cast<blkcnt_t>(len / 512))
      << "st_blocks " << before.st_blocks << " -> " << after.st_blocks;
  int fd = open(backing_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(lseek(fd, static_cast<off_t>(off), SEEK_HOLE), static_cast<off_t>(off));
  close(fd);
}

TEST_P(EngineTest, WriteZeroesReadsBackZeroes) {
  const uint64_t block = 64 * 1024;
  for (bool may_unmap : {false, true}) {
    SCOPED_TRACE(may_unmap ? "may unmap" : "no unmap");
    const uint64_t base = (3 << 20) + (may_unmap ? (1 << 20) : 0);
    AlignedBuffer data = Pattern(3 * block, may_unmap ? 31 : 32);
    ASSERT_TRUE(io_->Write(base, data.data(), data.size()).ok());
    ASSERT_TRUE(io_->WriteZeroes(base + block, block, may_unmap).ok());
    AlignedBuffer back(3 * block);
    ASSERT_TRUE(io_->Read(base, back.data(), back.size()).ok());
    std::vector<uint8_t> want = Bytes(data);
    std::fill(want.begin() + block, want.begin() + 2 * block, 0);
    EXPECT_EQ(Bytes(back), want);
    EXPECT_EQ(ReadThroughFreshFd(path_, base, want.size()), want);
  }
}

TEST_P(EngineTest, ShortReadAtEndOfFileInsideTheDeviceIsAnError) {
  if (on_loop()) GTEST_SKIP() << "a block device cannot shrink under its opener";
  // The device was opened at 8 MiB; the file now ends at 6 MiB.
  ASSERT_EQ(truncate(backing_.c_str(), 6 << 20), 0);
  AlignedBuffer buf(8192);
  // The kernel returns the 4 KiB before the end; the rest is resubmitted and hits EOF.
  Status st = io_->Read((6 << 20) - 4096, buf.data(), 8192);
  EXPECT_EQ(st.code(), Code::kIoError) << st.ToString();
  EXPECT_NE(st.message().find("end of file"), std::string::npos) << st.message();
  st = io_->Read(7 << 20, buf.data(), 4096);
  EXPECT_EQ(st.code(), Code::kIoError) << st.ToString();
}

// RLIMIT_FSIZE makes the kernel cut a write at the limit (a real short write)
// and refuse the next one with EFBIG.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t limit) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit l = saved_;
    l.rlim_cur = limit;
    setrlimit(RLIMIT_FSIZE, &l);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

TEST_P(EngineTest, ShortWriteResubmitsTheRestThenReportsTheError) {
  if (on_loop()) GTEST_SKIP() << "the file size limit applies to the loop driver, not to us";
  const uint64_t limit = 4 << 20;
  AlignedBuffer old_data(16384);
  ASSERT_TRUE(io_->Read(limit - 8192, old_data.data(), old_data.size()).ok());
  AlignedBuffer data = Pattern(16384, 41);
  Status st;
  {
    FileSizeLimit cap(limit);
    st = io_->Write(limit - 8192, data.data(), data.size());
  }
  EXPECT_EQ(st.code(), Code::kIoError) << st.ToString();
  EXPECT_NE(st.message().find("after 8192 bytes"), std::string::npos) << st.message();
  std::vector<uint8_t> want = Bytes(data);
  std::copy(old_data.data() + 8192, old_data.data() + 16384, want.begin() + 8192);
  EXPECT_EQ(ReadThroughFreshFd(path_, limit - 8192, 16384), want)
      << "the part below the limit is written, the rest untouched";
}

TEST_P(EngineTest, FailuresAndSuccessesInOneBatchAreReportedOneByOne) {
  constexpr int kOps = 64;
  AlignedBuffer data = Pattern(4096, 51);
  std::vector<int> calls(kOps, 0);
  std::vector<Code> codes(kOps);
  for (int i = 0; i < kOps; ++i) {
    // Odd requests lie past the end.
    const uint64_t off = (i % 2) ? kSize + 4096 * i : 4096 * i;
    dev_->Write(off, data.data(), 4096, kWriteNone, [&, i](Status st) {
      ++calls[i];
      codes[i] = st.code();
    });
  }
  ASSERT_TRUE(WaitUntilIdle(loop_, *dev_, kTimeout));
  for (int i = 0; i < kOps; ++i) {
    EXPECT_EQ(calls[i], 1) << i;
    EXPECT_EQ(codes[i], (i % 2) ? Code::kInvalidArgument : Code::kOk) << i;
  }
}

TEST_P(EngineTest, ReadOnlyDeviceRefusesWrites) {
  ASSERT_TRUE(Reopen(OpenOptions{.read_only = true}).ok());
  EXPECT_TRUE(dev_->info().read_only);
  AlignedBuffer buf(4096);
  EXPECT_TRUE(io_->Read(0, buf.data(), buf.size()).ok());
  EXPECT_EQ(io_->Write(0, buf.data(), buf.size()).code(), Code::kPermissionDenied);
  EXPECT_EQ(io_->WriteZeroes(0, 4096, false).code(), Code::kPermissionDenied);
  EXPECT_EQ(io_->Discard(0, 4096).code(), Code::kPermissionDenied);
}

TEST_P(EngineTest, CallbacksMaySubmitMore) {
  constexpr int kChain = 200;
  AlignedBuffer data = Pattern(kChain * 4096, 61);
  int next = 0;
  std::function<void(Status)> step = [&](Status st) {
    ASSERT_TRUE(st.ok()) << st.ToString();
    if (++next == kChain) return;
    dev_->Write(next * 4096, data.data() + next * 4096, 4096, kWriteNone, step);
  };
  dev_->Write(0, data.data(), 4096, kWriteNone, step);
  ASSERT_TRUE(WaitUntilIdle(loop_, *dev_, kTimeout));
  EXPECT_EQ(next, kChain);
  EXPECT_EQ(ReadThroughFreshFd(path_, 0, data.size()), Bytes(data));
}

TEST_P(EngineTest, LastCallbackMayDestroyTheDevice) {
  AlignedBuffer data = Pattern(8 * 4096, 71);
  int done = 0;
  bool destroyed = false;
  for (int i = 0; i < 8; ++i) {
    dev_->Write(i * 4096, data.data() + i * 4096, 4096, kWriteNone, [&](Status st) {
      EXPECT_TRUE(st.ok());
      if (++done < 8) return;
      EXPECT_EQ(dev_->in_flight(), 0u);
      io_.reset();
      dev_.reset();  // the engine must not touch itself after this returns
      destroyed = true;
    });
  }
  ASSERT_TRUE(RunLoopUntil(loop_, &destroyed, kTimeout));
  ASSERT_TRUE(Reopen(OpenOptions{}).ok());
  // A refused request's callback may do the same.
  destroyed = false;
  dev_->Read(kSize, data.data(), 4096, [&](Status st) {
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    io_.reset();
    dev_.reset();
    destroyed = true;
  });
  ASSERT_TRUE(RunLoopUntil(loop_, &destroyed, kTimeout));
}

// tandemd's loop stops polling while a bulk transfer is in flight
// (io/event_loop.h): the engines count reads and writes over kBulkIoBytes from
// submission until their callback, and nothing smaller.
TEST_P(EngineTest, CountsBulkTransfersWhileTheyAreInFlight) {
  const size_t before = BulkIoInFlight();
  AlignedBuffer big(1 << 20), small(kBulkIoBytes);
  std::fill(big.data(), big.data() + big.size(), 0x5a);
  size_t seen_in_callback = 0;
  bool wrote = false, read = false, small_done = false;
  dev_->Write(0, big.data(), big.size(), kWriteNone, [&](Status st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    wrote = true;
  });
  dev_->Read(2 << 20, small.data(), small.size(), [&](Status st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    small_done = true;
  });
  EXPECT_EQ(BulkIoInFlight(), before + 1);  // the 128 KiB read is not bulk
  ASSERT_TRUE(RunLoopUntil(loop_, &wrote, kTimeout));
  ASSERT_TRUE(RunLoopUntil(loop_, &small_done, kTimeout));
  EXPECT_EQ(BulkIoInFlight(), before);
  dev_->Read(0, big.data(), big.size(), [&](Status st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    seen_in_callback = BulkIoInFlight();
    read = true;
  });
  EXPECT_EQ(BulkIoInFlight(), before + 1);
  ASSERT_TRUE(RunLoopUntil(loop_, &read, kTimeout));
  EXPECT_EQ(seen_in_callback, before);  // released before the callback runs
  EXPECT_EQ(BulkIoInFlight(), before);
}

// Opens its own device (read-only: it only reads, and the fixture keeps its
// own open), starts a read and destroys the device.
void DestroyWithReadInFlight(const EngineParam& p, const std::string& path) {
  boost::asio::io_context ctx;
  OpenOptions o{.engine = p.engine, .cache = p.cache, .read_only = true, .allow_fallback = false};
  auto dev = IoEnv::Default()->Open(ctx, path, o);
  if (!dev.ok()) std::exit(0);  // not the expected death: the test fails visibly
  AlignedBuffer buf(4096);
  (*dev)->Read(0, buf.data(), 4096, [](Status) {});
  ctx.run_one();  // only the submission: the kernel or a worker has it, unreaped
  dev->reset();
}

TEST_P(EngineTest, DestroyingWithIoInFlightAborts) {
  EXPECT_DEATH(DestroyWithReadInFlight(GetParam(), path_), "destroyed with 1 operations in flight");
}

INSTANTIATE_TEST_SUITE_P(File, EngineTest, ::testing::ValuesIn(AllEngines(Backing::kFile)),
                         [](const auto& p) { return ParamName(p.param); });

}  // namespace
}  // namespace tandem::io::testing
