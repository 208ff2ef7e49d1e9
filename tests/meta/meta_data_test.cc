#include "meta/meta_data.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/mem_block_device.h"
#include "meta/format.h"
#include "meta_test_util.h"

namespace tandem::meta {
namespace {

using testing::CreateSync;
using testing::OpenSync;
using testing::Wait;

constexpr uint64_t MiB = 1ull << 20;

class MetaDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    disk_ = std::make_unique<io::MemBlockDevice>(loop_, 256 * MiB, /*direct=*/true, 4096);
    layout_ = *ComputeLayout(Placement::kInternal, 0, 256 * MiB, 0, 1237, 0);
    ASSERT_TRUE(CreateSync(loop_, disk_.get(), layout_).ok());
  }
  std::unique_ptr<MetaData> Open() {
    auto md = OpenSync(loop_, disk_.get(), layout_);
    EXPECT_TRUE(md.ok()) << md.status().ToString();
    return md.ok() ? std::move(*md) : nullptr;
  }
  Status OpenStatus() { return OpenSync(loop_, disk_.get(), layout_).status(); }
  uint8_t* Area() { return disk_->contents().data() + layout_.area_offset; }

  boost::asio::io_context loop_;
  std::unique_ptr<io::MemBlockDevice> disk_;
  MetaLayout layout_;
};

TEST_F(MetaDataTest, CreateWritesAJustCreatedInconsistentArea) {
  auto md = Open();
  ASSERT_TRUE(md);
  const Superblock& sb = md->superblock();
  EXPECT_EQ(sb.current_uuid, kUuidJustCreated);
  EXPECT_EQ(sb.device_uuid, 0xD15Cu);
  EXPECT_EQ(sb.flags, kFlagAlClean);
  EXPECT_EQ(sb.layout.data_size, layout_.data_size);
  EXPECT_EQ(md->bitmap().CountSet(), layout_.bm_bits);  // everything out of sync
  EXPECT_TRUE(md->activity_log().HotExtents().empty());
  // The data area is untouched.
  EXPECT_EQ(disk_->contents()[0], 0);
  EXPECT_EQ(disk_->contents()[layout_.data_size - 1], 0);
}

TEST_F(MetaDataTest, SuperblockUpdatesAlternateCopiesAndPersist) {
  auto md = Open();
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) {
    md->UpdateSuperblock([](Superblock& sb) { sb.current_uuid = 0xABCDEF; sb.Set(kFlagConsistent, true); }, cb);
  }).ok());
  EXPECT_EQ(md->superblock().seq, 2u);
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) {
    md->UpdateSuperblock([](Superblock& sb) { sb.history_uuid[0] = 0x55; }, cb);
  }).ok());
  EXPECT_EQ(md->superblock().seq, 3u);
  auto again = Open();
  EXPECT_EQ(again->superblock().current_uuid, 0xABCDEFu);
  EXPECT_EQ(again->superblock().history_uuid[0], 0x55u);
  EXPECT_TRUE(again->superblock().Has(kFlagConsistent));
  EXPECT_EQ(again->superblock().seq, 3u);
}

TEST_F(MetaDataTest, AfterSuperblockUpdatesWaitsForTheQueuedOnesOnly) {
  auto md = Open();
  ASSERT_TRUE(md);
  // Nothing queued: at once.
  bool now = false;
  md->AfterSuperblockUpdates([&](Status st) { now = st.ok(); });
  EXPECT_TRUE(now);
  // Two updates queued: the barrier sees both, in order, and writes nothing.
  std::vector<std::string> order;
  uint64_t seen_uuid = 0;
  md->UpdateSuperblock([](Superblock& sb) { sb.current_uuid = 1111; },
                       [&](Status) { order.push_back("first"); });
  md->UpdateSuperblock([](Superblock& sb) { sb.current_uuid = 2222; },
                       [&](Status) { order.push_back("second"); });
  EXPECT_TRUE(md->superblock_update_pending());
  md->AfterSuperblockUpdates([&](Status) {
    order.push_back("barrier");
    seen_uuid = md->superblock().current_uuid;
  });
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) {
    md->UpdateSuperblock([](Superblock& sb) { sb.history_uuid[0] = 3333; }, cb);
  }).ok());
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "barrier"}));
  EXPECT_EQ(seen_uuid, 2222u);
  EXPECT_EQ(md->superblock().seq, 4u);  // three writes after the one from create
  EXPECT_FALSE(md->superblock_update_pending());
}

TEST_F(MetaDataTest, BitmapWriteBackTouchesOnlyChangedPages) {
  auto md = Open();
  md->bitmap().ClearAll();
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { md->FlushBitmap(cb); }).ok());
  uint64_t after_clear = md->bitmap_page_writes();
  EXPECT_EQ(after_clear, layout_.bm_pages);
  md->bitmap().Set(5);
  md->bitmap().Set(6);
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { md->FlushBitmap(cb); }).ok());
  EXPECT_EQ(md->bitmap_page_writes(), after_clear + 1);
  auto again = Open();
  EXPECT_EQ(again->bitmap().CountSet(), 2u);
  EXPECT_TRUE(again->bitmap().Test(6));
}

TEST_F(MetaDataTest, ApplyActivityLogMarksHotExtentsAndCleansTheLog) {
  auto md = Open();
  md->bitmap().ClearAll();
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { md->FlushBitmap(cb); }).ok());
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) {
    md->UpdateSuperblock([](Superblock& sb) {
      sb.Set(kFlagPrimaryInd, true);
      sb.Set(kFlagAlClean, false);  // the log is open while attached (as tandemd does)
    }, cb);
  }).ok());
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { md->activity_log().Activate(2, 3, cb); }).ok());
  md.reset();  // "crash" with extents 2 and 3 hot
  auto after = Open();
  EXPECT_EQ(after->activity_log().HotExtents(), (std::vector<uint32_t>{2, 3}));
  EXPECT_FALSE(after->superblock().Has(kFlagAlClean));
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { after->ApplyActivityLog(cb); }).ok());
  EXPECT_EQ(after->bitmap().CountSet(), 2 * kBitsPerExtent);
  EXPECT_TRUE(after->bitmap().Test(2 * kBitsPerExtent));
  EXPECT_TRUE(after->superblock().Has(kFlagAlClean));
  EXPECT_TRUE(after->superblock().Has(kFlagCrashedPrimary));
  auto third = Open();
  EXPECT_TRUE(third->activity_log().HotExtents().empty());
  EXPECT_EQ(third->bitmap().CountSet(), 2 * kBitsPerExtent);
}

TEST_F(MetaDataTest, CorruptSuperblockIsNamedAndRefused) {
  Area()[100] ^= 1;
  Area()[4096 + 100] ^= 1;
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("superblock: both copies invalid"), std::string::npos) << st.message();
}

TEST_F(MetaDataTest, OneCorruptSuperblockCopyFallsBackToTheOther) {
  auto md = Open();
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) {
    md->UpdateSuperblock([](Superblock& sb) { sb.current_uuid = 77; }, cb);
  }).ok());
  md.reset();
  Area()[0 + 50] ^= 1;  // copy 0 holds seq 2 (the newest)
  auto again = Open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->superblock().current_uuid, kUuidJustCreated);
}

TEST_F(MetaDataTest, CorruptActivityLogIsNamedAndRefused) {
  auto md = Open();
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { md->activity_log().Activate(1, 1, cb); }).ok());
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { md->activity_log().Activate(9, 9, cb); }).ok());
  uint64_t seq = md->activity_log().last_seq() - 1;
  md.reset();
  Area()[kAlOffset + ((seq - 1) % layout_.al_slots) * kBlockSize + 700] ^= 0x40;
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("activity log: transaction"), std::string::npos) << st.message();
}

TEST_F(MetaDataTest, CorruptBitmapPageIsNamedAndRefused) {
  // Page 1 has only slot 1 written by create-md; damage it.
  Area()[layout_.bm_offset + 3 * kBlockSize + 10] ^= 1;
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("bitmap page 1 (data bytes 133169152.."), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("slot 0: blank; slot 1: bad checksum"), std::string::npos);
}

TEST_F(MetaDataTest, RandomByteFlipsAnywhereNeverLoadSilently) {
  // Flip a byte in each structure; opening either fails naming it, or (for an
  // older copy that is not the newest) still loads the same state.
  const uint64_t used = layout_.bm_offset + layout_.bm_pages * 2 * kBlockSize;
  std::vector<uint8_t> pristine(Area(), Area() + used);
  for (uint64_t at = 0; at < used; at += 4093) {
    std::copy(pristine.begin(), pristine.end(), Area());
    Area()[at] ^= 0x81;
    auto md = OpenSync(loop_, disk_.get(), layout_);
    if (md.ok()) {
      EXPECT_EQ((*md)->superblock().current_uuid, kUuidJustCreated) << at;
      EXPECT_EQ((*md)->bitmap().CountSet(), layout_.bm_bits) << at;
    } else {
      EXPECT_EQ(md.status().code(), Status::Code::kCorruption) << at;
    }
  }
}

TEST_F(MetaDataTest, LayoutFromAnotherConfigurationIsRefused) {
  MetaLayout other = *ComputeLayout(Placement::kInternal, 0, 128 * MiB, 0, 1237, 0);
  auto md = OpenSync(loop_, disk_.get(), other);
  EXPECT_FALSE(md.ok());
}

TEST_F(MetaDataTest, WipeRemovesTheMetaData) {
  ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { MetaData::Wipe(loop_, disk_.get(), layout_, cb); }).ok());
  bool done = false;
  Result<Superblock> sb = Status::Timeout("x");
  MetaData::ReadSuperblock(loop_, disk_.get(), layout_, [&](Result<Superblock> r) {
    sb = r;
    done = true;
  });
  io::RunLoopUntil(loop_, &done, std::chrono::seconds(5));
  EXPECT_EQ(sb.status().code(), Status::Code::kNotFound);
}

TEST(MetaDataPlacement, IndexedAndFlexibleOnAnExternalDevice) {
  boost::asio::io_context loop;
  io::MemBlockDevice md_dev(loop, 300 * MiB);
  for (uint32_t index : {0u, 1u}) {
    auto l = ComputeLayout(Placement::kIndexed, index, 1ull << 30, 300 * MiB, 1237, 0);
    ASSERT_TRUE(l.ok());
    ASSERT_TRUE(CreateSync(loop, &md_dev, *l, 100 + index).ok());
  }
  for (uint32_t index : {0u, 1u}) {
    auto l = ComputeLayout(Placement::kIndexed, index, 1ull << 30, 300 * MiB, 1237, 0);
    auto md = OpenSync(loop, &md_dev, *l);
    ASSERT_TRUE(md.ok()) << md.status().ToString();
    EXPECT_EQ((*md)->superblock().device_uuid, 100u + index);  // slots are independent
  }
  io::MemBlockDevice flex(loop, 2 * MiB);
  auto l = ComputeLayout(Placement::kFlexible, 0, 4ull << 30, 2 * MiB, 1237, 0);
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(CreateSync(loop, &flex, *l).ok());
  auto md = OpenSync(loop, &flex, *l);
  ASSERT_TRUE(md.ok());
  EXPECT_EQ((*md)->bitmap().size(), (4ull << 30) / 4096);
}

}  // namespace
}  // namespace tandem::meta
