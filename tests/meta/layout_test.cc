#include "meta/layout.h"

#include <gtest/gtest.h>

#include "meta/format.h"

namespace tandem::meta {
namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

TEST(Layout, InternalPutsTheAreaAtTheEndAndShrinksTheData) {
  auto l = ComputeLayout(Placement::kInternal, 0, 1 * GiB, 0, 1237, 0);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->area_offset + l->area_size, 1 * GiB);
  EXPECT_LE(l->data_size, l->area_offset);
  EXPECT_EQ(l->data_size % kBlockSize, 0u);
  // The data is as large as it can be: one more block would not fit.
  EXPECT_GT(l->data_size + kBlockSize + AreaSizeFor(l->data_size + kBlockSize, 1237), 1 * GiB);
  EXPECT_EQ(l->bm_bits, l->data_size / 4096);
  EXPECT_EQ(l->bm_pages, (l->bm_bits + kBitsPerPage - 1) / kBitsPerPage);
  EXPECT_EQ(l->al_slots, 76u);
  EXPECT_EQ(l->bm_offset, 8192u + 76 * 4096);
}

TEST(Layout, InternalTooSmallSaysWhatItNeeds) {
  auto l = ComputeLayout(Placement::kInternal, 0, 100 * 1024, 0, 1237, 0);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("too small for internal meta-data: needs at least"),
            std::string::npos)
      << l.status().message();
}

TEST(Layout, IndexedSlotsAre128MiB) {
  auto l = ComputeLayout(Placement::kIndexed, 2, 10 * GiB, 512 * MiB, 1237, 0);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->area_offset, 256 * MiB);
  EXPECT_EQ(l->area_size, 128 * MiB);
  EXPECT_EQ(l->data_size, 10 * GiB);
  auto small = ComputeLayout(Placement::kIndexed, 4, 10 * GiB, 512 * MiB, 1237, 0);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("has no slot [4]: it needs at least 640.0 MiB"),
            std::string::npos)
      << small.status().message();
  // A slot holds about 1.9 TiB of data at most.
  auto huge = ComputeLayout(Placement::kIndexed, 0, 4ull << 40, 1 * GiB, 1237, 0);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("128 MiB meta-data slot is too small"),
            std::string::npos);
}

TEST(Layout, FlexibleIsSizedToFit) {
  auto l = ComputeLayout(Placement::kFlexible, 0, 4 * GiB, 64 * MiB, 1237, 0);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->area_offset, 0u);
  EXPECT_EQ(l->area_size, AreaSizeFor(4 * GiB, 1237));
  auto small = ComputeLayout(Placement::kFlexible, 0, 4 * GiB, 64 * 1024, 1237, 0);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("is too small for 4.0 GiB"), std::string::npos);
}

TEST(Layout, SizeLimitCapsTheData) {
  auto l = ComputeLayout(Placement::kFlexible, 0, 4 * GiB, 64 * MiB, 1237, 1 * GiB);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->data_size, 1 * GiB);
  auto internal = ComputeLayout(Placement::kInternal, 0, 4 * GiB, 0, 1237, 1 * GiB);
  ASSERT_TRUE(internal.ok());
  EXPECT_EQ(internal->data_size, 1 * GiB);
  EXPECT_FALSE(ComputeLayout(Placement::kFlexible, 0, 1 * GiB, 64 * MiB, 1237, 2 * GiB).ok());
}

TEST(Layout, AlExtentsRange) {
  EXPECT_FALSE(ComputeLayout(Placement::kFlexible, 0, GiB, GiB, 6, 0).ok());
  EXPECT_FALSE(ComputeLayout(Placement::kFlexible, 0, GiB, GiB, 65535, 0).ok());
  EXPECT_TRUE(ComputeLayout(Placement::kFlexible, 0, GiB, GiB, 65534, 0).ok());
}

TEST(Layout, BitmapMemoryIs32MiBPerTiB) {
  // 1 TiB of data -> 2^28 bits -> 32 MiB of words; on disk two slots per page.
  uint64_t tib = 1ull << 40;
  uint64_t area = AreaSizeFor(tib, 1237);
  uint64_t pages = ((tib / 4096) + kBitsPerPage - 1) / kBitsPerPage;
  EXPECT_EQ(area, 8192 + 76 * 4096 + pages * 8192);
}

}  // namespace
}  // namespace tandem::meta
