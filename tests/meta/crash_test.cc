// Crash consistency: run a small meta-data scenario on a device in power-loss
// mode, cut the power after every possible number of operations, crash with
// several fates for the writes not yet flushed (all lost, all kept, the last one
// torn at each sector), and check that the meta-data always loads (never
// "corrupt"), that the superblock is the old or the new state, and that after
// apply-al no out-of-sync mark was lost and every extent with a write in flight
// is marked out of sync.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "io/fault_injecting_device.h"
#include "io/mem_block_device.h"
#include "meta/format.h"
#include "meta/meta_data.h"
#include "meta_test_util.h"

// The dead process's MetaData is leaked on purpose (below); tell LeakSanitizer.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define TANDEM_IGNORE_LEAK(p) __lsan_ignore_object(p)
#endif
#elif defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define TANDEM_IGNORE_LEAK(p) __lsan_ignore_object(p)
#endif
#ifndef TANDEM_IGNORE_LEAK
#define TANDEM_IGNORE_LEAK(p) ((void)(p))
#endif

namespace tandem::meta {
namespace {

using testing::CreateSync;
using testing::OpenSync;
using testing::Wait;

constexpr uint64_t kDataSize = 80ull << 20;  // 20 extents
constexpr uint32_t kAlExtents = 7;           // small: forces evictions
constexpr uint32_t kExtents = 12;
const std::set<uint32_t> kHeld = {4, 9};     // writes still in flight at the end
const uint64_t kUuids[] = {kUuidJustCreated, 0x1111, 0x2222};

struct Outcome {
  size_t sb_acked = 0;                   // superblock states acknowledged (index into kUuids)
  bool sb_in_flight = false;
  std::map<uint32_t, uint64_t> marked;   // extent -> bit set while hot
  std::set<uint32_t> in_flight;          // activated and not released
};

// The scenario. Stops at the first error (the power is gone).
void RunScenario(boost::asio::io_context& loop, MetaData* md, Outcome* out) {
  auto update = [&](uint64_t uuid, bool primary) {
    out->sb_in_flight = true;
    Status st = Wait(loop, [&](io::IoCallback cb) {
      md->UpdateSuperblock([&](Superblock& sb) {
        sb.current_uuid = uuid;
        sb.Set(kFlagPrimaryInd, primary);
      }, cb);
    });
    if (st.ok()) {
      ++out->sb_acked;
      out->sb_in_flight = false;
    }
    return st.ok();
  };
  if (!update(kUuids[1], true)) return;
  for (uint32_t e = 0; e < kExtents; ++e) {
    Status st = Wait(loop, [&](io::IoCallback cb) { md->activity_log().Activate(e, e, cb); });
    if (!st.ok()) return;
    // A write to e happened: mark one block out of sync, as a disconnected Primary does.
    uint64_t bit = uint64_t{e} * kBitsPerExtent + 17 + e;
    md->bitmap().Set(bit);
    out->marked[e] = bit;
    if (kHeld.count(e)) {
      out->in_flight.insert(e);
    } else {
      md->activity_log().Release(e, e);
    }
  }
  if (!Wait(loop, [&](io::IoCallback cb) { md->FlushBitmap(cb); }).ok()) return;
  update(kUuids[2], true);
}

struct Fate {
  std::string name;
  std::function<uint64_t(size_t, const io::FaultInjectingDevice::UnflushedWrite&, size_t)> keep;
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_ = *ComputeLayout(Placement::kFlexible, 0, kDataSize, 1ull << 20, kAlExtents, 0);
    io::MemBlockDevice base(loop_, 1ull << 20);
    ASSERT_TRUE(CreateSync(loop_, &base, layout_).ok());
    auto md = OpenSync(loop_, &base, layout_);
    ASSERT_TRUE(md.ok());
    (*md)->bitmap().ClearAll();
    ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { (*md)->FlushBitmap(cb); }).ok());
    md->reset();
    base_image_ = base.contents();
  }

  // Runs the scenario with the power cut after `cut` operations and the given fate.
  void RunOne(uint64_t cut, const Fate& fate, uint64_t* total_ops) {
    auto mem = std::make_unique<io::MemBlockDevice>(loop_, base_image_);
    io::MemBlockDevice* platter = mem.get();
    io::FaultInjectingDevice dev(loop_, std::move(mem));
    auto md = OpenSync(loop_, &dev, layout_);
    ASSERT_TRUE(md.ok());
    dev.EnablePowerLoss();
    uint64_t start = dev.operations_submitted();
    if (cut != UINT64_MAX) dev.CutPowerAfter(cut);
    Outcome out;
    RunScenario(loop_, md->get(), &out);
    if (total_ops) *total_ops = dev.operations_submitted() - start;
    // Let everything still queued fail, then decide what reached the platter.
    bool settled = false;
    io::RunLoopUntil(loop_, &settled, std::chrono::milliseconds(20));
    size_t n = dev.unflushed().size();
    ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) {
      dev.Crash([&](size_t i, const io::FaultInjectingDevice::UnflushedWrite& w) {
        return fate.keep(i, w, n);
      }, cb);
    }).ok());
    // The process died: no destructor-time checks on a dead device.
    TANDEM_IGNORE_LEAK(md->release());
    // Power back on: load what is on the platter.
    auto after = OpenSync(loop_, platter, layout_);
    ASSERT_TRUE(after.ok()) << "cut " << cut << " fate " << fate.name << ": "
                            << after.status().ToString();
    const Superblock& sb = (*after)->superblock();
    std::set<uint64_t> allowed = {kUuids[out.sb_acked]};
    if (out.sb_in_flight && out.sb_acked + 1 < 3) allowed.insert(kUuids[out.sb_acked + 1]);
    EXPECT_TRUE(allowed.count(sb.current_uuid))
        << "cut " << cut << " fate " << fate.name << ": uuid " << sb.current_uuid;
    ASSERT_TRUE(Wait(loop_, [&](io::IoCallback cb) { (*after)->ApplyActivityLog(cb); }).ok());
    const Bitmap& bm = (*after)->bitmap();
    for (const auto& [extent, bit] : out.marked) {
      EXPECT_TRUE(bm.Test(bit)) << "cut " << cut << " fate " << fate.name
                                << ": lost the out-of-sync mark of extent " << extent;
    }
    for (uint32_t extent : out.in_flight) {
      EXPECT_EQ(bm.CountSetIn(uint64_t{extent} * kBitsPerExtent, kBitsPerExtent), kBitsPerExtent)
          << "cut " << cut << " fate " << fate.name << ": extent " << extent
          << " had a write in flight but is not fully out of sync";
    }
  }

  boost::asio::io_context loop_;
  MetaLayout layout_;
  std::vector<uint8_t> base_image_;
};

TEST_F(CrashTest, EveryCutPointEveryFate) {
  uint64_t total = 0;
  Fate keep_all{"keep-all", [](size_t, const auto& w, size_t) { return w.length / 512; }};
  RunOne(UINT64_MAX, keep_all, &total);  // no crash: counts the operations
  ASSERT_GE(total, 20u);  // 2 superblock, 12 transactions, 6 bitmap page writes
  std::vector<Fate> fates = {
      {"lose-all", [](size_t, const auto&, size_t) { return uint64_t{0}; }},
      keep_all,
  };
  for (uint64_t sectors = 1; sectors < 8; ++sectors) {
    fates.push_back({"tear-last-" + std::to_string(sectors),
                     [sectors](size_t i, const auto& w, size_t n) {
                       return i + 1 == n ? sectors : w.length / 512;
                     }});
  }
  for (uint64_t cut = 0; cut <= total; ++cut) {
    for (const auto& fate : fates) {
      RunOne(cut, fate, nullptr);
      if (HasFatalFailure()) return;
    }
  }
  RecordProperty("cut_points", std::to_string(total + 1));
}

}  // namespace
}  // namespace tandem::meta
