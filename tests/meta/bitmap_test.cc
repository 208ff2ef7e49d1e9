#include "meta/bitmap.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "meta/format.h"

namespace tandem::meta {
namespace {

TEST(Bitmap, SetClearTestAndCount) {
  Bitmap b(1000);
  EXPECT_EQ(b.CountSet(), 0u);
  EXPECT_EQ(b.Set(3), 1u);
  EXPECT_EQ(b.Set(3), 0u);
  EXPECT_TRUE(b.Test(3));
  EXPECT_FALSE(b.Test(4));
  EXPECT_EQ(b.Set(60, 10), 10u);  // crosses a word
  EXPECT_EQ(b.CountSet(), 11u);
  EXPECT_EQ(b.Clear(62, 100), 8u);
  EXPECT_EQ(b.CountSet(), 3u);
  EXPECT_EQ(b.Set(990, 100), 10u);  // clipped at the end
  EXPECT_FALSE(b.Test(1000));
  EXPECT_EQ(b.CountSetIn(0, 1000), b.CountSet());
  b.SetAll();
  EXPECT_EQ(b.CountSet(), 1000u);
  b.ClearAll();
  EXPECT_EQ(b.CountSet(), 0u);
}

TEST(Bitmap, MatchesAReferenceModelUnderRandomOperations) {
  const uint64_t n = 200000;
  Bitmap b(n);
  std::vector<bool> ref(n);
  std::mt19937_64 rng(42);
  for (int op = 0; op < 3000; ++op) {
    uint64_t first = rng() % n, count = 1 + rng() % 5000;
    bool set = rng() % 2;
    uint64_t expect = 0;
    for (uint64_t i = first; i < std::min(n, first + count); ++i) {
      if (ref[i] != set) ++expect;
      ref[i] = set;
    }
    EXPECT_EQ(set ? b.Set(first, count) : b.Clear(first, count), expect);
  }
  uint64_t total = 0;
  for (bool v : ref) total += v;
  EXPECT_EQ(b.CountSet(), total);
  for (uint64_t probe = 0; probe < n; probe += 997) {
    uint64_t want = probe;
    while (want < n && !ref[want]) ++want;
    EXPECT_EQ(b.FindNextSet(probe), want);
    uint64_t want_clear = probe;
    while (want_clear < n && ref[want_clear]) ++want_clear;
    EXPECT_EQ(b.FindNextClear(probe), want_clear);
    EXPECT_EQ(b.Test(probe), ref[probe]);
  }
}

TEST(Bitmap, FindNextAtEdges) {
  Bitmap b(130);
  EXPECT_EQ(b.FindNextSet(0), 130u);
  b.Set(129);
  EXPECT_EQ(b.FindNextSet(0), 129u);
  EXPECT_EQ(b.FindNextSet(129), 129u);
  EXPECT_EQ(b.FindNextSet(130), 130u);
  b.SetAll();
  EXPECT_EQ(b.FindNextClear(0), 130u);  // bits past the end never count
}

TEST(Bitmap, TracksDirtyPages) {
  Bitmap b(3 * kBitsPerPage);
  EXPECT_TRUE(b.DirtyPages().empty());
  b.Set(kBitsPerPage + 5);
  EXPECT_EQ(b.DirtyPages(), std::vector<uint64_t>{1});
  b.MarkPageClean(1);
  b.Set(kBitsPerPage + 5);  // no change: stays clean
  EXPECT_TRUE(b.DirtyPages().empty());
  b.Set(kBitsPerPage - 1, 2);  // straddles pages 0 and 1
  EXPECT_EQ(b.DirtyPages(), (std::vector<uint64_t>{0, 1}));
}

TEST(Bitmap, MergeOrsBits) {
  Bitmap a(500), b(500);
  a.Set(1, 10);
  b.Set(5, 20);
  EXPECT_EQ(a.Merge(b), 14u);
  EXPECT_EQ(a.CountSet(), 24u);
}

TEST(Bitmap, PagesRoundTripAndDetectCorruption) {
  Bitmap b(2 * kBitsPerPage + 77);
  b.Set(3);
  b.Set(kBitsPerPage + 100, 1000);
  b.Set(2 * kBitsPerPage + 76);
  std::vector<uint8_t> block(kBlockSize);
  Bitmap copy(b.size());
  for (uint64_t p = 0; p < b.pages(); ++p) {
    b.EncodePage(p, 5 + p, block.data());
    auto seq = Bitmap::CheckPage(p, block.data());
    ASSERT_TRUE(seq.ok());
    EXPECT_EQ(*seq, 5 + p);
    ASSERT_TRUE(copy.LoadPage(p, block.data()).ok());
    // A page presented as another page is refused.
    EXPECT_FALSE(Bitmap::CheckPage(p + 1, block.data()).ok());
  }
  EXPECT_EQ(copy.words(), b.words());
  EXPECT_EQ(copy.CountSet(), b.CountSet());
  b.EncodePage(1, 9, block.data());
  for (size_t i : {0ul, 2000ul, 4063ul, 4064ul, 4070ul, 4080ul, 4095ul}) {
    std::vector<uint8_t> bad = block;
    bad[i] ^= 4;
    EXPECT_FALSE(Bitmap::CheckPage(1, bad.data()).ok()) << i;
  }
  std::vector<uint8_t> zero(kBlockSize, 0);
  EXPECT_EQ(Bitmap::CheckPage(0, zero.data()).status().code(), Status::Code::kNotFound);
}

TEST(Bitmap, BitsPastTheEndOnDiskAreCorruption) {
  Bitmap b(100);
  std::vector<uint8_t> block(kBlockSize);
  Bitmap big(200);
  big.Set(150);
  big.EncodePage(0, 1, block.data());
  ASSERT_TRUE(Bitmap::CheckPage(0, block.data()).ok());
  EXPECT_EQ(b.LoadPage(0, block.data()).code(), Status::Code::kCorruption);
}

TEST(Bitmap, OneTebibyteFitsIn32MiB) {
  Bitmap b((1ull << 40) / 4096);
  EXPECT_LE(b.memory_bytes(), (32u << 20) + (64u << 10));
  b.Set(12345678, 1000000);
  EXPECT_EQ(b.CountSet(), 1000000u);
  EXPECT_EQ(b.FindNextSet(0), 12345678u);
}

}  // namespace
}  // namespace tandem::meta
