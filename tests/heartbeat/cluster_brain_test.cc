// ClusterBrain: the failover rules, driven event by event without a clock,
// processes or sockets.
#include "heartbeat/cluster_brain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tandem::heartbeat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = BrainAction::Kind;

// alpha (us) prefers group 0, bravo prefers group 1.
BrainConfig TwoGroups() {
  BrainConfig c;
  c.local_node = "alpha";
  c.peer_node = "bravo";
  c.groups = {{"rec::g0", "alpha", true}, {"rec::g1", "bravo", false}};
  c.auto_failback = config::AutoFailback::kOff;
  return c;
}

struct Op {
  Kind kind;
  int group;
  bool operator==(const Op&) const = default;
};

void PrintTo(const Op& op, std::ostream* os) {
  *os << "{" << static_cast<int>(op.kind) << "," << op.group << "}";
}

class Harness {
 public:
  explicit Harness(BrainConfig c) : b(std::move(c)) {}

  // Group operations and STONITH requests queued since the last call.
  std::vector<Op> Ops() {
    Drain();
    std::vector<Op> out;
    for (const auto& a : pending_) {
      if (a.kind == Kind::kProbe || a.kind == Kind::kStart || a.kind == Kind::kStop ||
          a.kind == Kind::kRunStonith || a.kind == Kind::kShutdownDone) {
        out.push_back({a.kind, a.group});
      }
    }
    pending_.clear();
    return out;
  }
  std::string Logs() {
    Drain();
    return logs_;
  }
  // Starts and finishes the probe: nothing found running unless listed.
  void StartAndProbe(std::set<int> running = {}) {
    b.Start();
    for (int g = 0; g < b.group_count(); ++g) {
      ASSERT_EQ(Ops(), std::vector<Op>({{Kind::kProbe, g}}));
      b.OperationDone(g, running.count(g) ? OpOutcome::kProbedRunning : OpOutcome::kProbedStopped);
    }
  }
  std::optional<BrainAction> LastShutdown() {
    Drain();
    for (const auto& a : all_) {
      if (a.kind == Kind::kShutdownDone) return a;
    }
    return std::nullopt;
  }

  ClusterBrain b;

 private:
  void Drain() {
    for (auto& a : b.TakeActions()) {
      if (a.kind == Kind::kLog) logs_ += std::string(HbLevelName(a.level)) + ": " + a.text + "\n";
      all_.push_back(a);
      pending_.push_back(std::move(a));
    }
  }
  std::vector<BrainAction> pending_;
  std::vector<BrainAction> all_;
  std::string logs_;
};

PeerReport Peer(GroupSet held = {}, bool acks = true, uint64_t gen = 7) {
  PeerReport p;
  p.generation = gen;
  p.status = NodeStatus::kActive;
  p.held = std::move(held);
  p.acks_us = acks;
  p.seen_epoch = ~uint64_t{0};  // it has seen all we said
  return p;
}

TEST(ClusterBrain, ProbesEveryGroupFirstAndWaitsForThePeer) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  EXPECT_THAT(h.Ops(), ElementsAre());  // the other node is still unknown
  EXPECT_FALSE(h.b.Ack().has_value());
  EXPECT_EQ(h.b.Status(), NodeStatus::kUp);
}

TEST(ClusterBrain, NoAckBeforeProbingEnds) {
  Harness h(TwoGroups());
  h.b.Start();
  h.b.PeerAlive(Peer());
  EXPECT_FALSE(h.b.Ack().has_value());
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kProbe, 0}}));
  h.b.OperationDone(0, OpOutcome::kProbedStopped);
  h.b.OperationDone(1, OpOutcome::kProbedStopped);
  EXPECT_EQ(h.b.Ack(), std::optional<uint64_t>(7));
}

TEST(ClusterBrain, BothUpEachStartsOnlyItsPreferredGroup) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerAlive(Peer({}, /*acks=*/true));
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  EXPECT_EQ(h.b.Held(), GroupSet({0}));  // starting counts as held
  h.b.OperationDone(0, OpOutcome::kStarted);
  EXPECT_THAT(h.Ops(), ElementsAre());
  EXPECT_EQ(h.b.state(1), GroupState::kStopped);
  EXPECT_TRUE(h.b.active());
  EXPECT_THAT(h.Logs(), HasSubstr("Initial resource acquisition complete"));
}

TEST(ClusterBrain, NoStartUntilThePeerAcknowledgesUs) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerAlive(Peer({}, /*acks=*/false));
  EXPECT_THAT(h.Ops(), ElementsAre());
  h.b.PeerAlive(Peer({}, /*acks=*/true));
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
}

TEST(ClusterBrain, AutoFailbackOffLeavesOurGroupWithThePeer) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerAlive(Peer({0, 1}));
  EXPECT_THAT(h.Ops(), ElementsAre());
  EXPECT_EQ(h.b.Requested(), GroupSet());
}

TEST(ClusterBrain, AutoFailbackOnHandsTheReturningNodesGroupBack) {
  BrainConfig c = TwoGroups();
  c.auto_failback = config::AutoFailback::kOn;
  Harness h(c);
  h.StartAndProbe();
  h.b.PeerDead();  // initdead: we take both
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));
  h.b.OperationDone(1, OpOutcome::kStarted);
  // bravo comes up; nothing moves until it acknowledges us.
  h.b.PeerAlive(Peer({}, /*acks=*/false, 9));
  EXPECT_THAT(h.Ops(), ElementsAre());
  h.b.PeerAlive(Peer({}, /*acks=*/true, 9));
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 1}}));
  h.b.OperationDone(1, OpOutcome::kStopped);
  EXPECT_EQ(h.b.Handoff(), GroupSet({1}));
  EXPECT_EQ(h.b.Held(), GroupSet({0}));
  EXPECT_THAT(h.Logs(), HasSubstr("auto_failback: handing resources back to bravo"));
  // Once bravo holds it, the hand-over is done.
  h.b.PeerAlive(Peer({1}, true, 9));
  EXPECT_EQ(h.b.Handoff(), GroupSet());
  EXPECT_THAT(h.Ops(), ElementsAre());
}

TEST(ClusterBrain, LegacyFailbackBehavesAsOn) {
  BrainConfig c = TwoGroups();
  c.auto_failback = config::AutoFailback::kLegacy;
  Harness h(c);
  h.StartAndProbe({1});  // bravo's group found running here
  h.b.PeerAlive(Peer({}, true));
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 1}}));
}

TEST(ClusterBrain, PeerDeadMeansTakeOverEverything) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerAlive(Peer({1}));
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  h.b.PeerDead();
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));
  h.b.OperationDone(1, OpOutcome::kStarted);
  EXPECT_EQ(h.b.Held(), GroupSet({0, 1}));
  const std::string logs = h.Logs();
  EXPECT_THAT(logs, HasSubstr("info: Resources being acquired from bravo."));
  EXPECT_THAT(logs, HasSubstr("info: mach_down takeover complete."));
}

TEST(ClusterBrain, StonithBeforeTakeoverAndRefusalWhileItFails) {
  BrainConfig c = TwoGroups();
  c.stonith = true;
  Harness h(c);
  h.StartAndProbe();
  h.b.PeerAlive(Peer({1}));
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  h.b.PeerDead();
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kRunStonith, -1}}));
  h.b.StonithDone(false);
  EXPECT_THAT(h.Ops(), ElementsAre());  // refused
  EXPECT_THAT(h.Logs(), HasSubstr("CRIT: STONITH of node bravo failed: not taking over"));
  EXPECT_EQ(h.b.state(1), GroupState::kStopped);
  h.b.StonithRetry();
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kRunStonith, -1}}));
  h.b.StonithDone(true);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));
}

TEST(ClusterBrain, NoStonithWhenThereIsNothingToTake) {
  BrainConfig c = TwoGroups();
  c.stonith = true;
  c.groups = {{"rec::g0", "alpha", true}};
  Harness h(c);
  h.StartAndProbe();
  h.b.PeerAlive(Peer({}));
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  h.b.PeerDead();
  EXPECT_THAT(h.Ops(), ElementsAre());
}

TEST(ClusterBrain, ShutdownNoticeNeedsNoStonith) {
  BrainConfig c = TwoGroups();
  c.stonith = true;
  Harness h(c);
  h.StartAndProbe();
  h.b.PeerAlive(Peer({1}));
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  h.b.PeerGone();
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));
  h.b.OperationDone(1, OpOutcome::kStarted);
  EXPECT_THAT(h.Logs(), HasSubstr("remote resource transition completed."));
}

TEST(ClusterBrain, TakeoverForeignAsksThePeerAndStartsWhenHandedOver) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerAlive(Peer({1}));
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  auto r = h.b.Takeover(Which::kForeign);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "acquire foreign HA resources (standby).");
  EXPECT_EQ(h.b.Requested(), GroupSet({1}));
  EXPECT_THAT(h.Ops(), ElementsAre());  // bravo still holds it
  PeerReport stopped = Peer({});
  stopped.handoff = {1};
  h.b.PeerAlive(stopped);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));
  h.b.OperationDone(1, OpOutcome::kStarted);
  EXPECT_EQ(h.b.Requested(), GroupSet());
}

TEST(ClusterBrain, APeersRequestStopsOurGroupAndHandsItOver) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerAlive(Peer({}));
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  PeerReport asks = Peer({});
  asks.requested = {0};
  h.b.PeerAlive(asks);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 0}}));
  EXPECT_EQ(h.b.Held(), GroupSet({0}));  // stopping still counts as held
  h.b.OperationDone(0, OpOutcome::kStopped);
  EXPECT_EQ(h.b.Handoff(), GroupSet({0}));
  EXPECT_EQ(h.b.Held(), GroupSet());
  // It stays handed over: we do not restart our own group meanwhile.
  h.b.PeerAlive(asks);
  EXPECT_THAT(h.Ops(), ElementsAre());
}

TEST(ClusterBrain, StandbyGivesGroupsToAnAlivePeerOnly) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerDead();
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));
  h.b.OperationDone(1, OpOutcome::kStarted);
  auto refused = h.b.Standby(Which::kAll);
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("bravo is not up to take over"));
  h.b.PeerAlive(Peer({}, true, 9));
  auto r = h.b.Standby(Which::kLocal);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 0}}));
  h.b.OperationDone(0, OpOutcome::kStopped);
  EXPECT_EQ(h.b.Handoff(), GroupSet({0}));
  EXPECT_EQ(h.b.state(1), GroupState::kRunning);
  EXPECT_FALSE(h.b.Standby(Which::kLocal).ok());  // nothing local left here
}

TEST(ClusterBrain, AFailedStartIsReleasedAndHandedOver) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerAlive(Peer({}));
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStartFailed);
  EXPECT_EQ(h.b.state(0), GroupState::kStopped);
  EXPECT_TRUE(h.b.failed_here(0));
  EXPECT_EQ(h.b.Handoff(), GroupSet({0}));
  EXPECT_THAT(h.Logs(), HasSubstr("CRIT: Resource group rec::g0 failed to start here: released it"));
  // It failed on bravo too, which hands it back: we do not try again.
  PeerReport back = Peer({});
  back.handoff = {0};
  h.b.PeerAlive(back);
  EXPECT_THAT(h.Ops(), ElementsAre());
  EXPECT_THAT(h.Logs(), HasSubstr("Not starting resource group rec::g0: it failed to start here"));
  // An operator's takeover clears the mark.
  ASSERT_TRUE(h.b.Takeover(Which::kLocal).ok());
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
}

TEST(ClusterBrain, AFailedStartIsNotHandedOverWithoutAPeer) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerDead();
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStartFailed);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));  // the other group goes on
  h.b.OperationDone(1, OpOutcome::kStarted);
  EXPECT_EQ(h.b.Handoff(), GroupSet());
  EXPECT_THAT(h.Ops(), ElementsAre());  // and it is not retried
}

TEST(ClusterBrain, BothHoldingAGroupTheNonPreferredNodeReleasesIt) {
  Harness h(TwoGroups());
  h.StartAndProbe({0, 1});  // a partition healed: we run both
  h.b.PeerAlive(Peer({0, 1}));
  // Group 1 is bravo's: we stop it, without handing it over (bravo has it).
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 1}}));
  h.b.OperationDone(1, OpOutcome::kStopped);
  EXPECT_EQ(h.b.Handoff(), GroupSet());
  EXPECT_EQ(h.b.state(0), GroupState::kRunning);  // ours: bravo releases it
  const std::string logs = h.Logs();
  EXPECT_THAT(logs, HasSubstr("CRIT: Both nodes hold resource group rec::g1"));
  EXPECT_THAT(logs, HasSubstr("CRIT: Both nodes hold resource group rec::g0"));
  EXPECT_THAT(logs, HasSubstr("keeping it here"));
}

TEST(ClusterBrain, ADifferentHaresourcesFreezesEverything) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  PeerReport p = Peer({});
  p.groups_match = false;
  h.b.PeerAlive(p);
  EXPECT_THAT(h.Ops(), ElementsAre());
  EXPECT_FALSE(h.b.Standby(Which::kAll).ok());
  h.b.PeerDead();  // but a dead peer is still taken over from
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
}

TEST(ClusterBrain, FewerPingNodesThanThePeerGivesEverythingUp) {
  BrainConfig c = TwoGroups();
  c.ipfail = true;
  c.ping_nodes = 1;
  c.auto_failback = config::AutoFailback::kOn;
  Harness h(c);
  h.StartAndProbe();
  PeerReport p = Peer({1});
  p.ping_up = 1;
  h.b.PeerAlive(p);
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  h.b.PingCount(0);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 0}}));
  h.b.OperationDone(0, OpOutcome::kStopped);
  EXPECT_EQ(h.b.Handoff(), GroupSet({0}));
  EXPECT_THAT(h.Logs(), HasSubstr("WARN: We see 0 ping node(s), node bravo sees 1"));
  // bravo takes it; we do not take it back while we see less.
  PeerReport took = Peer({0, 1});
  took.ping_up = 1;
  h.b.PeerAlive(took);
  EXPECT_THAT(h.Ops(), ElementsAre());
  // Ping node back: with auto_failback on we ask for our group again.
  h.b.PingCount(1);
  EXPECT_EQ(h.b.Requested(), GroupSet({0}));
}

TEST(ClusterBrain, EqualPingCountsChangeNothing) {
  BrainConfig c = TwoGroups();
  c.ipfail = true;
  c.ping_nodes = 2;
  Harness h(c);
  h.StartAndProbe();
  PeerReport p = Peer({});
  p.ping_up = 1;
  h.b.PingCount(1);
  h.b.PeerAlive(p);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
}

TEST(ClusterBrain, PingCountsAreIgnoredWithoutIpfail) {
  BrainConfig c = TwoGroups();
  c.ping_nodes = 1;
  Harness h(c);
  h.StartAndProbe();
  PeerReport p = Peer({});
  p.ping_up = 1;
  h.b.PeerAlive(p);
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  h.b.PingCount(0);
  EXPECT_THAT(h.Ops(), ElementsAre());
}

TEST(ClusterBrain, ShutdownStopsRightToLeftHandsOverAndReportsClean) {
  Harness h(TwoGroups());
  h.StartAndProbe({0, 1});
  h.b.PeerAlive(Peer({}));
  EXPECT_THAT(h.Ops(), ElementsAre());
  h.b.Shutdown();
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 1}}));
  h.b.OperationDone(1, OpOutcome::kStopped);
  EXPECT_EQ(h.b.Handoff(), GroupSet({1}));  // bravo may start it already
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 0}}));
  h.b.OperationDone(0, OpOutcome::kStopped);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kShutdownDone, -1}}));
  ASSERT_TRUE(h.LastShutdown().has_value());
  EXPECT_TRUE(h.LastShutdown()->clean);
  EXPECT_TRUE(h.b.done());
  EXPECT_THAT(h.Logs(), HasSubstr("All HA resources relinquished."));
}

TEST(ClusterBrain, AGroupThatWillNotStopStaysHeldAndBlocksTheNotice) {
  Harness h(TwoGroups());
  h.StartAndProbe({0});
  h.b.PeerAlive(Peer({}));
  h.b.Shutdown();
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 0}}));
  h.b.OperationDone(0, OpOutcome::kStopFailed);
  EXPECT_EQ(h.b.Held(), GroupSet({0}));
  EXPECT_EQ(h.b.Handoff(), GroupSet());
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kShutdownDone, -1}}));
  EXPECT_FALSE(h.LastShutdown()->clean);
  EXPECT_THAT(h.Logs(), HasSubstr("CRIT: Resource group rec::g0 failed to stop"));
}

TEST(ClusterBrain, ALoneNodeStartsEverythingAfterProbing) {
  BrainConfig c = TwoGroups();
  c.peer_node = "";
  Harness h(c);
  h.StartAndProbe();
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));
  h.b.OperationDone(1, OpOutcome::kStarted);
  EXPECT_TRUE(h.b.active());
  EXPECT_THAT(h.Logs(), ::testing::Not(HasSubstr("Resources being acquired")));
}

TEST(ClusterBrain, RequestsAreRefusedWhileStartingOrStopping) {
  Harness h(TwoGroups());
  h.b.Start();
  EXPECT_EQ(h.b.Takeover(Which::kAll).status().code(), Status::Code::kBusy);
  h.b.OperationDone(0, OpOutcome::kProbedStopped);
  h.b.OperationDone(1, OpOutcome::kProbedStopped);
  h.b.Shutdown();
  EXPECT_EQ(h.b.Standby(Which::kAll).status().code(), Status::Code::kBusy);
}

TEST(ClusterBrain, AStaleHandoffDoesNotBringBackWhatWeJustGaveAway) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  PeerReport handed = Peer({});
  handed.handoff = {1};
  h.b.PeerAlive(handed);  // bravo hands us its group
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));
  h.b.OperationDone(1, OpOutcome::kStarted);
  ASSERT_TRUE(h.b.Standby(Which::kForeign).ok());
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 1}}));
  h.b.OperationDone(1, OpOutcome::kStopped);
  EXPECT_EQ(h.b.Handoff(), GroupSet({1}));
  // bravo's next message was sent before it saw any of that: still "ho=1".
  PeerReport stale = handed;
  stale.seen_epoch = 1;
  h.b.PeerAlive(stale);
  EXPECT_THAT(h.Ops(), ElementsAre());
  EXPECT_EQ(h.b.state(1), GroupState::kStopped);
  // Once it has seen our hand-over it takes the group: our offer is done.
  PeerReport fresh = Peer({1});
  h.b.PeerAlive(fresh);
  EXPECT_EQ(h.b.Handoff(), GroupSet());
  EXPECT_THAT(h.Ops(), ElementsAre());
}

TEST(ClusterBrain, AHandoffSeenOnceIsKeptUntilStarted) {
  Harness h(TwoGroups());
  h.StartAndProbe({0});
  h.b.PeerAlive(Peer({}));
  EXPECT_THAT(h.Ops(), ElementsAre());
  // A request from bravo keeps us busy stopping group 0 ...
  PeerReport asks = Peer({});
  asks.requested = {0};
  asks.handoff = {1};
  h.b.PeerAlive(asks);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, 0}}));
  // ... while bravo stops offering group 1.
  h.b.PeerAlive(Peer({}));
  h.b.OperationDone(0, OpOutcome::kStopped);
  EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 1}}));
}

TEST(ClusterBrain, BothOfferingAGroupItsPreferredNodeTakesIt) {
  for (bool ours : {true, false}) {
    Harness h(TwoGroups());
    const int g = ours ? 0 : 1;
    h.StartAndProbe({g});
    h.b.PeerAlive(Peer({1 - g}));  // it holds the other group
    ASSERT_THAT(h.Ops(), ElementsAre());
    ASSERT_TRUE(h.b.Standby(Which::kAll).ok());
    ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStop, g}}));
    h.b.OperationDone(g, OpOutcome::kStopped);
    ASSERT_EQ(h.b.Handoff(), GroupSet({g}));
    PeerReport offers = Peer({1 - g});
    offers.handoff = {g};
    h.b.PeerAlive(offers);
    if (ours) {
      EXPECT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, g}}));
      EXPECT_EQ(h.b.Handoff(), GroupSet());
    } else {
      EXPECT_THAT(h.Ops(), ElementsAre());
      EXPECT_EQ(h.b.Handoff(), GroupSet({g}));
    }
  }
}

TEST(ClusterBrain, AStaleRequestIsIgnored) {
  Harness h(TwoGroups());
  h.StartAndProbe();
  h.b.PeerAlive(Peer({}));
  ASSERT_EQ(h.Ops(), std::vector<Op>({{Kind::kStart, 0}}));
  h.b.OperationDone(0, OpOutcome::kStarted);
  PeerReport stale = Peer({});
  stale.requested = {0};
  stale.seen_epoch = 0;
  h.b.PeerAlive(stale);
  EXPECT_THAT(h.Ops(), ElementsAre());
}

TEST(ClusterBrain, WhichNamesRoundTrip) {
  for (Which w : {Which::kAll, Which::kLocal, Which::kForeign}) {
    EXPECT_EQ(ParseWhich(WhichName(w)), w);
  }
  EXPECT_FALSE(ParseWhich("everything").has_value());
}

}  // namespace
}  // namespace tandem::heartbeat
