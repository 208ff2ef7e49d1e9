// The receive path: replay protection and every refusal InboundFilter makes.
#include "heartbeat/inbound.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/authkeys.h"

namespace tandem::heartbeat {
namespace {

using ::testing::HasSubstr;
using Verdict = ReplayGuard::Verdict;

TEST(ReplayGuard, SequenceNumbersPerLinkAndDuplicatesAcrossLinks) {
  ReplayGuard g;
  EXPECT_EQ(g.Check("bravo", "ucast:lo", 5, 1).verdict, Verdict::kNew);
  EXPECT_EQ(g.Check("bravo", "serial:0", 5, 1).verdict, Verdict::kDuplicate);
  EXPECT_EQ(g.Check("bravo", "ucast:lo", 5, 1).verdict, Verdict::kReplay);
  EXPECT_EQ(g.Check("bravo", "serial:0", 5, 1).verdict, Verdict::kReplay);
  EXPECT_EQ(g.Check("bravo", "serial:0", 5, 2).verdict, Verdict::kNew);
  EXPECT_EQ(g.Check("bravo", "ucast:lo", 5, 2).verdict, Verdict::kDuplicate);
}

TEST(ReplayGuard, ReorderingWithinTheWindowIsNotAReplay) {
  ReplayGuard g;
  EXPECT_EQ(g.Check("b", "l", 1, 10).verdict, Verdict::kNew);
  // 9 arrives late on this link, first time seen: not a replay, but stale.
  EXPECT_EQ(g.Check("b", "l", 1, 9).verdict, Verdict::kDuplicate);
  EXPECT_EQ(g.Check("b", "l", 1, 9).verdict, Verdict::kReplay);
  EXPECT_EQ(g.Check("b", "l", 1, 10 + ReplayGuard::kWindow).verdict, Verdict::kNew);
  EXPECT_EQ(g.Check("b", "l", 1, 10).verdict, Verdict::kReplay);  // fell out of the window
  EXPECT_EQ(g.Check("b", "l", 1, 11).verdict, Verdict::kDuplicate);
}

TEST(ReplayGuard, GenerationsOrderRestarts) {
  ReplayGuard g;
  auto first = g.Check("b", "l", 100, 50);
  EXPECT_EQ(first.verdict, Verdict::kNew);
  EXPECT_FALSE(first.restarted);
  auto restart = g.Check("b", "l", 101, 1);
  EXPECT_EQ(restart.verdict, Verdict::kNew);
  EXPECT_TRUE(restart.restarted);
  EXPECT_EQ(restart.previous_generation, 100u);
  auto old = g.Check("b", "l", 100, 51);
  EXPECT_EQ(old.verdict, Verdict::kOldGeneration);
  EXPECT_EQ(old.previous_generation, 101u);
  EXPECT_EQ(g.generation("b"), 101u);
  EXPECT_EQ(g.generation("nobody"), 0u);
}

config::AuthKeys Keys(const std::string& text) {
  config::Diagnostics d;
  auto k = config::ParseAuthKeys(text, "authkeys", &d);
  EXPECT_TRUE(k.ok()) << d.Format();
  return std::move(k).value();
}

class InboundFilterTest : public ::testing::Test {
 protected:
  InboundFilterTest()
      : keys_(Keys("auth 1\n1 sha1 cluster-key\n")), signer_(keys_),
        filter_("alpha", {"alpha", "bravo"}, &signer_) {}

  HeartbeatInfo Info(uint64_t seq, const std::string& link = "ucast:lo") {
    HeartbeatInfo i;
    i.src = "bravo";
    i.seq = seq;
    i.generation = 1000;
    i.timestamp = 1;
    i.deadtime_ms = 1000;
    i.link = link;
    i.groups_digest = "00000000";
    return i;
  }
  std::string Wire(const HeartbeatInfo& i, const MessageSigner* signer = nullptr) {
    Message m = ToMessage(i);
    (signer ? signer : &signer_)->Sign(&m);
    return EncodeMessage(m);
  }

  config::AuthKeys keys_;
  MessageSigner signer_;
  InboundFilter filter_;
};

TEST_F(InboundFilterTest, AcceptsAGoodMessageOnceAndItsCopyAsADuplicate) {
  auto r = filter_.Process(Wire(Info(1)), "ucast:lo");
  ASSERT_EQ(r.kind, InboundResult::Kind::kAccept) << r.detail;
  EXPECT_EQ(r.info.src, "bravo");
  auto copy = filter_.Process(Wire(Info(1, "serial:0")), "serial:0");
  EXPECT_EQ(copy.kind, InboundResult::Kind::kDuplicate);
}

TEST_F(InboundFilterTest, DropsAReplayedMessage) {
  const std::string wire = Wire(Info(1));
  ASSERT_EQ(filter_.Process(wire, "ucast:lo").kind, InboundResult::Kind::kAccept);
  ASSERT_EQ(filter_.Process(Wire(Info(2)), "ucast:lo").kind, InboundResult::Kind::kAccept);
  auto r = filter_.Process(wire, "ucast:lo");
  EXPECT_EQ(r.kind, InboundResult::Kind::kDrop);
  EXPECT_EQ(r.reason, DropReason::kReplay);
  EXPECT_THAT(r.detail, HasSubstr("attempted replay: sequence number 1 already seen on ucast:lo"));
  EXPECT_EQ(r.claimed_src, "bravo");
}

TEST_F(InboundFilterTest, DropsAnOlderGeneration) {
  HeartbeatInfo now = Info(1);
  now.generation = 2000;
  ASSERT_EQ(filter_.Process(Wire(now), "ucast:lo").kind, InboundResult::Kind::kAccept);
  auto r = filter_.Process(Wire(Info(5)), "ucast:lo");  // generation 1000
  EXPECT_EQ(r.reason, DropReason::kReplay);
  EXPECT_THAT(r.detail, HasSubstr("generation 1000 is older than the current 2000"));
}

TEST_F(InboundFilterTest, DropsAWrongKey) {
  config::AuthKeys other = Keys("auth 1\n1 sha1 not-the-key\n");
  MessageSigner forger(other);
  auto r = filter_.Process(Wire(Info(1), &forger), "ucast:lo");
  EXPECT_EQ(r.reason, DropReason::kAuth);
  EXPECT_THAT(r.detail, HasSubstr("authentication failed: bad signature"));
  // ... and it did not burn the sequence number.
  EXPECT_EQ(filter_.Process(Wire(Info(1)), "ucast:lo").kind, InboundResult::Kind::kAccept);
}

TEST_F(InboundFilterTest, DropsUnknownNodesAndOurselves) {
  HeartbeatInfo stranger = Info(1);
  stranger.src = "charlie";
  auto r = filter_.Process(Wire(stranger), "ucast:lo");
  EXPECT_EQ(r.reason, DropReason::kUnknownNode);
  EXPECT_THAT(r.detail, HasSubstr("node [charlie] is not a node of this cluster"));
  HeartbeatInfo self = Info(1);
  self.src = "alpha";
  EXPECT_EQ(filter_.Process(Wire(self), "ucast:lo").reason, DropReason::kSelf);
}

TEST_F(InboundFilterTest, DropsAMessageMovedToAnotherLink) {
  auto r = filter_.Process(Wire(Info(1, "serial:0")), "ucast:lo");
  EXPECT_EQ(r.reason, DropReason::kWrongLink);
  EXPECT_THAT(r.detail, HasSubstr("signed for link 'serial:0' but received on 'ucast:lo'"));
}

TEST_F(InboundFilterTest, DropsGarbageAndUnsignedMessages) {
  EXPECT_EQ(filter_.Process("\x01\x02garbage", "ucast:lo").reason, DropReason::kMalformed);
  EXPECT_EQ(filter_.Process(EncodeMessage(ToMessage(Info(1))), "ucast:lo").reason,
            DropReason::kAuth);
  // Signed but missing a required field.
  Message m = ToMessage(Info(1));
  m.Remove("seq");
  signer_.Sign(&m);
  auto r = filter_.Process(EncodeMessage(m), "ucast:lo");
  EXPECT_EQ(r.reason, DropReason::kMalformed);
  EXPECT_THAT(r.detail, HasSubstr("'seq' missing"));
}

TEST(DropReasons, HaveStableNames) {
  std::set<std::string> names;
  for (int r = 0; r < kDropReasonCount; ++r) names.insert(DropReasonName(static_cast<DropReason>(r)));
  EXPECT_EQ(names, std::set<std::string>({"malformed", "auth", "unknown_node", "self",
                                          "wrong_link", "replay"}));
}

}  // namespace
}  // namespace tandem::heartbeat
