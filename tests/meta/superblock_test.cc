#include "meta/superblock.h"

#include <gtest/gtest.h>

#include <vector>

#include "meta/format.h"

namespace tandem::meta {
namespace {

Superblock Sample() {
  Superblock sb;
  sb.seq = 7;
  sb.flags = kFlagConsistent | kFlagWasUpToDate;
  sb.device_uuid = 0x1122334455667788ull;
  sb.current_uuid = 0xA1B2C3D4E5F60718ull;
  sb.bitmap_uuid = 0;
  sb.history_uuid = {0x1111, 0x2222};
  sb.layout = *ComputeLayout(Placement::kInternal, 0, 1ull << 30, 0, 1237, 0);
  return sb;
}

TEST(Superblock, RoundTrips) {
  std::vector<uint8_t> b(kBlockSize);
  Superblock sb = Sample();
  EncodeSuperblock(sb, b.data());
  auto got = DecodeSuperblock(b.data());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->seq, 7u);
  EXPECT_TRUE(got->SameState(sb) || got->layout.area_offset != sb.layout.area_offset);
  EXPECT_EQ(got->current_uuid, sb.current_uuid);
  EXPECT_EQ(got->history_uuid, sb.history_uuid);
  EXPECT_EQ(got->layout.data_size, sb.layout.data_size);
  EXPECT_EQ(got->layout.bm_pages, sb.layout.bm_pages);
  EXPECT_TRUE(CheckSuperblockLayout(*got, sb.layout).ok());
}

TEST(Superblock, IsLittleEndianWithTheDocumentedOffsets) {
  std::vector<uint8_t> b(kBlockSize);
  EncodeSuperblock(Sample(), b.data());
  EXPECT_EQ(b[0], 'T');
  EXPECT_EQ(b[1], 'N');
  EXPECT_EQ(b[2], 'D');
  EXPECT_EQ(b[3], 'M');
  EXPECT_EQ(b[16], 7);     // seq, low byte first
  EXPECT_EQ(b[40], 0x18);  // current UUID low byte
  EXPECT_EQ(b[47], 0xA1);
}

TEST(Superblock, EverySingleByteFlipIsDetected) {
  std::vector<uint8_t> good(kBlockSize);
  EncodeSuperblock(Sample(), good.data());
  for (size_t i = 0; i < kBlockSize; ++i) {
    std::vector<uint8_t> b = good;
    b[i] ^= 0x20;
    EXPECT_FALSE(DecodeSuperblock(b.data()).ok()) << "byte " << i;
  }
}

TEST(Superblock, TruncatedOrGarbageBlocks) {
  std::vector<uint8_t> good(kBlockSize);
  EncodeSuperblock(Sample(), good.data());
  // A block cut short inside its fields (the rest never written: zeros). Past
  // byte 128 the block is zero anyway, so a cut there changes nothing.
  for (size_t keep : {0ul, 4ul, 8ul, 64ul, 100ul, 127ul}) {
    std::vector<uint8_t> b(kBlockSize, 0);
    std::copy(good.begin(), good.begin() + static_cast<long>(keep), b.begin());
    auto r = DecodeSuperblock(b.data());
    EXPECT_FALSE(r.ok()) << keep;
  }
  std::vector<uint8_t> garbage(kBlockSize, 0x5A);
  EXPECT_EQ(DecodeSuperblock(garbage.data()).status().code(), Status::Code::kCorruption);
}

TEST(Superblock, ChoosesTheNewestValidCopy) {
  std::vector<uint8_t> a(kBlockSize), b(kBlockSize), zero(kBlockSize, 0);
  Superblock sb = Sample();
  EncodeSuperblock(sb, a.data());
  sb.seq = 8;
  sb.current_uuid = 99;
  EncodeSuperblock(sb, b.data());
  EXPECT_EQ(ChooseSuperblock(a.data(), b.data())->current_uuid, 99u);
  EXPECT_EQ(ChooseSuperblock(b.data(), a.data())->current_uuid, 99u);
  b[100] ^= 1;  // the newer copy torn: fall back to the older state
  EXPECT_EQ(ChooseSuperblock(a.data(), b.data())->seq, 7u);
  EXPECT_EQ(ChooseSuperblock(zero.data(), zero.data()).status().code(), Status::Code::kNotFound);
  a[8] ^= 1;
  auto both = ChooseSuperblock(a.data(), b.data());
  EXPECT_EQ(both.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(both.status().message(),
            "superblock: both copies invalid (copy 0: bad checksum; copy 1: bad checksum)");
}

TEST(Superblock, NewerVersionsAndFlagsAreRefusedClearly) {
  std::vector<uint8_t> b(kBlockSize);
  Superblock sb = Sample();
  sb.flags |= 1u << 20;
  EncodeSuperblock(sb, b.data());
  EXPECT_EQ(DecodeSuperblock(b.data()).status().code(), Status::Code::kNotSupported);
}

TEST(Superblock, LayoutMismatchIsExplained) {
  Superblock sb = Sample();
  MetaLayout other = *ComputeLayout(Placement::kInternal, 0, 2ull << 30, 0, 1237, 0);
  Status st = CheckSuperblockLayout(sb, other);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("meta-data data size is"), std::string::npos);
  MetaLayout flex = *ComputeLayout(Placement::kFlexible, 0, 1ull << 30, 1ull << 30, 1237, 0);
  EXPECT_NE(CheckSuperblockLayout(sb, flex).message().find("created as internal but is configured as flexible"),
            std::string::npos);
}

TEST(Superblock, FlagNames) {
  EXPECT_EQ(DescribeFlags(0), "none");
  EXPECT_EQ(DescribeFlags(kFlagConsistent | kFlagAlClean), "consistent,al-clean");
}

}  // namespace
}  // namespace tandem::meta
