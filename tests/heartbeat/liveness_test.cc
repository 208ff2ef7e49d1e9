// PeerLiveness and PingTracker on a clock the test moves by hand.
#include "heartbeat/liveness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tandem::heartbeat {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using K = LivenessEvent::Kind;

LivenessEvent Ev(K kind, int link = -1) { return LivenessEvent{kind, link}; }

const LivenessTimes kTimes{/*deadtime*/ 1000, /*warntime*/ 500, /*initdead*/ 3000};

TEST(PeerLiveness, InitdeadAppliesBeforeTheFirstMessage) {
  PeerLiveness l(1, kTimes, 0);
  EXPECT_EQ(l.state(), PeerState::kUnknown);
  EXPECT_EQ(l.NextDeadline(), 3000);
  EXPECT_THAT(l.Check(2999), IsEmpty());
  auto dead = l.Check(3000);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].kind, K::kNodeDead);
  EXPECT_TRUE(dead[0].never_heard);
  EXPECT_EQ(l.state(), PeerState::kDead);
  EXPECT_EQ(l.NextDeadline(), PeerLiveness::kNever);
}

TEST(PeerLiveness, DeadtimeToTheMillisecond) {
  PeerLiveness l(2, kTimes, 0);
  EXPECT_THAT(l.LinkHeard(0, 100), ElementsAre(Ev(K::kLinkUp, 0)));
  EXPECT_THAT(l.NodeHeard(100), ElementsAre(Ev(K::kNodeUp)));
  EXPECT_EQ(l.state(), PeerState::kAlive);
  EXPECT_EQ(l.NextDeadline(), 1100);
  EXPECT_THAT(l.Check(1099), IsEmpty());
  EXPECT_THAT(l.Check(1100), ElementsAre(Ev(K::kLinkDead, 0), Ev(K::kNodeDead)));
  EXPECT_EQ(l.state(), PeerState::kDead);
  // Back again.
  EXPECT_THAT(l.LinkHeard(1, 5000), ElementsAre(Ev(K::kLinkUp, 1)));
  EXPECT_THAT(l.NodeHeard(5000), ElementsAre(Ev(K::kNodeUp)));
}

TEST(PeerLiveness, OneLinkDiesTheNodeLivesOn) {
  PeerLiveness l(2, kTimes, 0);
  l.LinkHeard(0, 0);
  l.LinkHeard(1, 0);
  l.NodeHeard(0);
  for (int64_t t = 200; t <= 2000; t += 200) {
    auto events = l.LinkHeard(0, t);  // only link 0 keeps carrying heartbeats
    l.NodeHeard(t);
    auto expired = l.Check(t);
    if (t == 1000) {
      EXPECT_THAT(expired, ElementsAre(Ev(K::kLinkDead, 1)));
    } else {
      EXPECT_THAT(expired, IsEmpty()) << t;
    }
  }
  EXPECT_EQ(l.state(), PeerState::kAlive);
  EXPECT_EQ(l.link_state(0), LinkState::kUp);
  EXPECT_EQ(l.link_state(1), LinkState::kDead);
}

TEST(PeerLiveness, LateHeartbeatPastWarntime) {
  PeerLiveness l(1, kTimes, 0);
  l.NodeHeard(0);
  EXPECT_THAT(l.NodeHeard(500), IsEmpty());  // exactly warntime: not late
  auto late = l.NodeHeard(1201);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].kind, K::kLate);
  EXPECT_EQ(late[0].interval_ms, 701);
  EXPECT_EQ(l.SinceHeard(1300), 99);
}

TEST(PeerLiveness, GoneAtOnceAndQuietly) {
  PeerLiveness l(1, kTimes, 0);
  l.LinkHeard(0, 0);
  l.NodeHeard(0);
  l.MarkGone(10);
  EXPECT_EQ(l.state(), PeerState::kGone);
  EXPECT_EQ(l.link_state(0), LinkState::kDead);
  EXPECT_THAT(l.Check(100000), IsEmpty());
  EXPECT_THAT(l.NodeHeard(200000), ElementsAre(Ev(K::kNodeUp)));
}

TEST(PingTracker, UnknownCountsAsUpUntilDeadping) {
  PingTracker t({{"gw", {"10.0.0.1"}}, {"dmz", {"10.0.1.1", "10.0.1.2"}}}, 2000, 0);
  EXPECT_EQ(t.UpCount(), 2);
  EXPECT_EQ(t.NextDeadline(), 2000);
  EXPECT_THAT(t.ReplyFrom("10.0.1.2", 100), ElementsAre(PingTracker::Event{1, true}));
  EXPECT_THAT(t.ReplyFrom("10.9.9.9", 100), IsEmpty());
  EXPECT_THAT(t.Check(2000), ElementsAre(PingTracker::Event{0, false}));
  EXPECT_EQ(t.UpCount(), 1);
  // A group is up while any of its addresses answers.
  t.ReplyFrom("10.0.1.1", 2000);
  EXPECT_THAT(t.Check(2099), IsEmpty());
  EXPECT_THAT(t.Check(4000), ElementsAre(PingTracker::Event{1, false}));
  EXPECT_EQ(t.UpCount(), 0);
  EXPECT_EQ(t.NextDeadline(), PeerLiveness::kNever);
  EXPECT_THAT(t.ReplyFrom("10.0.0.1", 5000), ElementsAre(PingTracker::Event{0, true}));
  EXPECT_EQ(t.UpCount(), 1);
}

}  // namespace
}  // namespace tandem::heartbeat
