#include "meta/activity_log.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <set>

#include "io/sync_io.h"
#include "meta/format.h"
#include "meta/layout.h"

namespace tandem::meta {
namespace {

constexpr uint32_t kRing = 76;

// A ring in memory with the real encoding, and a live log writing into it.
class AlTest : public ::testing::Test {
 protected:
  void Start(uint32_t al_extents) {
    al_extents_ = al_extents;
    ring_ = InitialAlRing(kRing, al_extents);
    auto replay = ReplayActivityLog(ring_.data(), kRing, al_extents);
    ASSERT_TRUE(replay.ok()) << replay.status().ToString();
    log_ = std::make_unique<ActivityLog>(
        loop_, al_extents, kRing, *replay,
        [this](uint32_t slot, const uint8_t* block, io::IoCallback done) {
          events_.push_back("tx");
          if (fail_writes_) {
            boost::asio::post(loop_, [done] { done(Status::IoError("injected")); });
            return;
          }
          std::memcpy(ring_.data() + uint64_t{slot} * kBlockSize, block, kBlockSize);
          boost::asio::post(loop_, [done] { done(Status::Ok()); });
        },
        [this](uint32_t extent, io::IoCallback done) {
          events_.push_back("persist " + std::to_string(extent));
          boost::asio::post(loop_, [done] { done(Status::Ok()); });
        });
  }
  // Activates and waits; returns the status.
  Status ActivateSync(uint32_t first, uint32_t last) {
    bool done = false;
    Status st;
    log_->Activate(first, last, [&](Status s) {
      st = s;
      done = true;
    });
    EXPECT_TRUE(io::RunLoopUntil(loop_, &done, std::chrono::seconds(5)));
    return st;
  }
  std::set<uint32_t> ReplayedHot() {
    auto r = ReplayActivityLog(ring_.data(), kRing, al_extents_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::set<uint32_t> out;
    for (uint32_t e : r->table)
      if (e != kAlEmpty) out.insert(e);
    return out;
  }

  boost::asio::io_context loop_;
  uint32_t al_extents_ = 0;
  std::vector<uint8_t> ring_;
  std::unique_ptr<ActivityLog> log_;
  std::vector<std::string> events_;
  bool fail_writes_ = false;
};

TEST(AlTransaction, RoundTripsAndDetectsCorruption) {
  AlTransaction tx;
  tx.seq = 42;
  tx.al_extents = 1237;
  tx.updates = {{3, 77}, {4, kAlEmpty}};
  tx.context_start = 888;
  tx.context.assign(888, kAlEmpty);
  tx.context[5] = 1234567;
  std::vector<uint8_t> b(kBlockSize);
  EncodeAlTransaction(tx, b.data());
  auto got = DecodeAlTransaction(b.data(), 1237);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->seq, 42u);
  ASSERT_EQ(got->updates.size(), 2u);
  EXPECT_EQ(got->updates[0].extent, 77u);
  EXPECT_EQ(got->context[5], 1234567u);
  EXPECT_FALSE(DecodeAlTransaction(b.data(), 1000).ok());  // another geometry
  for (size_t i : {0ul, 5ul, 9ul, 20ul, 33ul, 600ul, 4095ul}) {
    std::vector<uint8_t> bad = b;
    bad[i] ^= 0x10;
    EXPECT_FALSE(DecodeAlTransaction(bad.data(), 1237).ok()) << i;
  }
}

TEST(AlReplayTest, FreshRingIsEmpty) {
  auto ring = InitialAlRing(kRing, 1237);
  auto r = ReplayActivityLog(ring.data(), kRing, 1237);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->last_seq, kRing);
  for (uint32_t e : r->table) EXPECT_EQ(e, kAlEmpty);
}

TEST(AlReplayTest, BlankOrGarbageRingIsCorrupt) {
  std::vector<uint8_t> ring(kRing * kBlockSize, 0);
  auto r = ReplayActivityLog(ring.data(), kRing, 1237);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("no valid transaction"), std::string::npos);
}

TEST_F(AlTest, ActivationWritesATransactionFirst) {
  Start(1237);
  ASSERT_TRUE(ActivateSync(10, 11).ok());
  EXPECT_TRUE(log_->IsHot(10));
  EXPECT_TRUE(log_->IsHot(11));
  EXPECT_EQ(log_->transactions_written(), 1u);
  EXPECT_EQ(ReplayedHot(), (std::set<uint32_t>{10, 11}));
  // Already hot: no new transaction.
  ASSERT_TRUE(ActivateSync(10, 10).ok());
  EXPECT_EQ(log_->transactions_written(), 1u);
  log_->Release(10, 11);
  log_->Release(10, 10);
  EXPECT_TRUE(log_->idle());
}

TEST_F(AlTest, ConcurrentActivationsShareTransactions) {
  Start(1237);
  int done = 0;
  for (uint32_t e = 0; e < 100; ++e) log_->Activate(e, e, [&](Status s) { done += s.ok(); });
  bool all = false;
  while (done < 100 && io::RunLoopUntil(loop_, &all, std::chrono::milliseconds(100)) == false &&
         done < 100) {
  }
  EXPECT_EQ(done, 100);
  // 100 new extents, at most 64 per transaction, the first alone.
  EXPECT_LE(log_->transactions_written(), 4u);
  EXPECT_EQ(ReplayedHot().size(), 100u);
}

TEST_F(AlTest, EvictionPersistsBitsBeforeTheTransaction) {
  Start(7);
  for (uint32_t e = 0; e < 7; ++e) {
    ASSERT_TRUE(ActivateSync(e, e).ok());
    log_->Release(e, e);
  }
  events_.clear();
  ASSERT_TRUE(ActivateSync(100, 100).ok());
  // The least recently used extent (0) was evicted, its bits made durable first.
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0], "persist 0");
  EXPECT_EQ(events_[1], "tx");
  EXPECT_FALSE(log_->IsHot(0));
  EXPECT_TRUE(log_->IsHot(100));
  auto hot = ReplayedHot();
  EXPECT_EQ(hot.count(0), 0u);
  EXPECT_EQ(hot.count(100), 1u);
  EXPECT_EQ(hot.size(), 7u);
}

TEST_F(AlTest, ExtentsInUseAreNeverEvicted) {
  Start(7);
  ASSERT_TRUE(ActivateSync(0, 6).ok());  // all seven slots busy
  bool done = false;
  Status st;
  log_->Activate(50, 50, [&](Status s) {
    st = s;
    done = true;
  });
  EXPECT_FALSE(io::RunLoopUntil(loop_, &done, std::chrono::milliseconds(50)));
  log_->Release(3, 3);  // frees one
  ASSERT_TRUE(io::RunLoopUntil(loop_, &done, std::chrono::seconds(5)));
  EXPECT_TRUE(st.ok());
  EXPECT_FALSE(log_->IsHot(3));
  EXPECT_TRUE(log_->IsHot(0) && log_->IsHot(6) && log_->IsHot(50));
}

TEST_F(AlTest, RequestsWiderThanTheLogAreRefused) {
  Start(7);
  EXPECT_EQ(ActivateSync(0, 7).code(), Status::Code::kInvalidArgument);
}

TEST_F(AlTest, ReplayAfterManyTransactionsMatchesMemory) {
  Start(1237);
  // Enough traffic to wrap the ring several times, with evictions.
  for (uint32_t round = 0; round < 3000; ++round) {
    uint32_t e = (round * 7919) % 5000;
    ASSERT_TRUE(ActivateSync(e, e).ok());
    log_->Release(e, e);
  }
  EXPECT_GT(log_->transactions_written(), 3u * kRing);
  auto mem = log_->HotExtents();
  EXPECT_EQ(ReplayedHot(), std::set<uint32_t>(mem.begin(), mem.end()));
}

TEST_F(AlTest, TornNewestTransactionFallsBackToThePreviousState) {
  Start(1237);
  ASSERT_TRUE(ActivateSync(1, 1).ok());
  std::vector<uint8_t> before = ring_;
  ASSERT_TRUE(ActivateSync(2, 2).ok());
  // Tear the transaction just written: its first sector never reached the disk.
  uint64_t seq = log_->last_seq();
  uint64_t at = ((seq - 1) % kRing) * kBlockSize;
  std::memcpy(ring_.data() + at, before.data() + at, 512);
  EXPECT_EQ(ReplayedHot(), (std::set<uint32_t>{1}));
}

TEST_F(AlTest, CorruptionInsideTheWindowIsReported) {
  Start(1237);
  ASSERT_TRUE(ActivateSync(1, 1).ok());
  ASSERT_TRUE(ActivateSync(2, 2).ok());
  uint64_t seq = log_->last_seq() - 1;
  ring_[((seq - 1) % kRing) * kBlockSize + 40] ^= 1;
  auto r = ReplayActivityLog(ring_.data(), kRing, 1237);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("activity log: transaction " + std::to_string(seq)),
            std::string::npos)
      << r.status().message();
}

TEST_F(AlTest, ResetEmptiesTheLogDurably) {
  Start(2000);  // needs three transactions to cover every slot
  ASSERT_TRUE(ActivateSync(5, 8).ok());
  bool done = false;
  Status st;
  log_->Reset([&](Status s) { st = s; done = true; });
  ASSERT_TRUE(io::RunLoopUntil(loop_, &done, std::chrono::seconds(5)));
  EXPECT_EQ(st.code(), Status::Code::kBusy);  // writes still in flight
  log_->Release(5, 8);
  done = false;
  log_->Reset([&](Status s) { st = s; done = true; });
  ASSERT_TRUE(io::RunLoopUntil(loop_, &done, std::chrono::seconds(5)));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(log_->HotExtents().empty());
  EXPECT_TRUE(ReplayedHot().empty());
}

TEST_F(AlTest, WriteErrorsFailWaitersAndLaterActivations) {
  Start(1237);
  fail_writes_ = true;
  EXPECT_EQ(ActivateSync(1, 1).code(), Status::Code::kIoError);
  fail_writes_ = false;
  EXPECT_EQ(ActivateSync(2, 2).code(), Status::Code::kIoError);
}

}  // namespace
}  // namespace tandem::meta
