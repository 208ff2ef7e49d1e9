#include "io/huge_page_arena.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/aligned_buffer.h"

namespace tandem::io {
namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;

uintptr_t Addr(const void* p) {
  return reinterpret_cast<uintptr_t>(p);
}

// The VmFlags line of the mapping in /proc/self/smaps that holds `p`.
std::string VmFlagsOf(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = Addr(p) >= lo && Addr(p) < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

bool Mapped(const void* p, size_t len) {
  std::vector<unsigned char> vec((len + 4095) / 4096);
  return ::mincore(const_cast<void*>(p), len, vec.data()) == 0;
}

TEST(HugePageArena, BuffersAreAlignedToTheirSlotAndDoNotOverlap) {
  const std::vector<size_t> sizes = {256 * kKiB,  300 * kKiB, 512 * kKiB, 1 * kMiB,
                                     1536 * kKiB, 2 * kMiB,   5 * kMiB};
  struct Held {
    uint8_t* p;
    size_t bytes;
    uint8_t fill;
  };
  std::vector<Held> held;
  uint8_t fill = 1;
  for (int round = 0; round < 6; ++round) {
    for (size_t bytes : sizes) {
      auto* p = static_cast<uint8_t*>(AllocateHugePageBuffer(bytes));
      ASSERT_NE(p, nullptr);
      const size_t align = std::min(std::bit_ceil(bytes), kHugePageBytes);
      EXPECT_EQ(Addr(p) % align, 0u) << bytes;
      std::memset(p, fill, bytes);
      held.push_back({p, bytes, fill++});
    }
  }
  // Every buffer still holds only its own byte: none was handed out twice.
  for (const Held& h : held) {
    EXPECT_TRUE(std::all_of(h.p, h.p + h.bytes, [&](uint8_t b) { return b == h.fill; }))
        << h.bytes << " bytes filled with " << int(h.fill);
  }
  for (const Held& h : held) ReleaseHugePageBuffer(h.p, h.bytes);
}

TEST(HugePageArena, AReleasedSlotIsReusedForTheSameSize) {
  void* a = AllocateHugePageBuffer(1 * kMiB);
  ReleaseHugePageBuffer(a, 1 * kMiB);
  void* b = AllocateHugePageBuffer(1000 * kKiB);  // the same 1 MiB class
  EXPECT_EQ(a, b);
  ReleaseHugePageBuffer(b, 1000 * kKiB);
}

TEST(HugePageArena, BuffersOver2MiBHaveAMappingOfTheirOwnUnmappedOnRelease) {
  const size_t bytes = 5 * kMiB;
  auto* p = static_cast<uint8_t*>(AllocateHugePageBuffer(bytes));
  EXPECT_EQ(Addr(p) % kHugePageBytes, 0u);
  std::memset(p, 0xab, bytes);
  EXPECT_EQ(HugePageBufferFootprint(bytes), 6 * kMiB);
  EXPECT_TRUE(Mapped(p, 6 * kMiB));
  ReleaseHugePageBuffer(p, bytes);
  EXPECT_FALSE(Mapped(p, 6 * kMiB));
}

TEST(HugePageArena, FootprintIsTheSlotOrTheRoundedMapping) {
  EXPECT_EQ(HugePageBufferFootprint(256 * kKiB), 256 * kKiB);
  EXPECT_EQ(HugePageBufferFootprint(257 * kKiB), 512 * kKiB);
  EXPECT_EQ(HugePageBufferFootprint(1 * kMiB), 1 * kMiB);
  EXPECT_EQ(HugePageBufferFootprint(1 * kMiB + 1), 2 * kMiB);
  EXPECT_EQ(HugePageBufferFootprint(2 * kMiB), 2 * kMiB);
  EXPECT_EQ(HugePageBufferFootprint(32 * kMiB), 32 * kMiB);
}

TEST(HugePageArena, TheMemoryAsksForHugePages) {
  if (::access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) != 0) {
    GTEST_SKIP() << "kernel without transparent huge pages "
                    "(/sys/kernel/mm/transparent_hugepage)";
  }
  void* small = AllocateHugePageBuffer(512 * kKiB);
  void* large = AllocateHugePageBuffer(4 * kMiB);
  // "hg": the mapping was madvise(MADV_HUGEPAGE)d.
  EXPECT_NE(VmFlagsOf(small).find(" hg"), std::string::npos) << VmFlagsOf(small);
  EXPECT_NE(VmFlagsOf(large).find(" hg"), std::string::npos) << VmFlagsOf(large);
  ReleaseHugePageBuffer(small, 512 * kKiB);
  ReleaseHugePageBuffer(large, 4 * kMiB);
}

TEST(HugePageArena, ThreadsAllocateAndReleaseConcurrently) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      std::mt19937 rng(static_cast<unsigned>(t) + 7);
      const size_t sizes[] = {256 * kKiB, 512 * kKiB, 1 * kMiB, 2 * kMiB, 3 * kMiB};
      for (int i = 0; i < 300; ++i) {
        const size_t bytes = sizes[rng() % 5];
        auto* p = static_cast<uint8_t*>(AllocateHugePageBuffer(bytes));
        const auto mark = static_cast<uint8_t>(t * 50 + i % 50);
        std::memset(p, mark, bytes);
        std::this_thread::yield();
        if (p[0] != mark || p[bytes / 2] != mark || p[bytes - 1] != mark) ++failures[t];
        ReleaseHugePageBuffer(p, bytes);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(HugePageArena, LargeAlignedBuffersComeFromItAndAreZeroFilled) {
  if (!kLargeBuffersFromHugePages) {
    GTEST_SKIP() << "AddressSanitizer builds keep large buffers in malloc";
  }
  {
    AlignedBuffer dirty = AlignedBuffer::Uninitialized(1 * kMiB);
    std::memset(dirty.data(), 0x5a, dirty.size());
  }
  AlignedBuffer b(1 * kMiB);
  EXPECT_EQ(Addr(b.data()) % (1 * kMiB), 0u);
  EXPECT_TRUE(std::all_of(b.data(), b.data() + b.size(), [](uint8_t x) { return x == 0; }));
  AlignedBuffer small(64 * kKiB);
  EXPECT_EQ(Addr(small.data()) % kIoAlignment, 0u);
  AlignedBuffer moved = std::move(b);
  EXPECT_EQ(moved.size(), 1 * kMiB);
}

}  // namespace
}  // namespace tandem::io
