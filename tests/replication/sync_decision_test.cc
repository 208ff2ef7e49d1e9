// The sync handshake (docs/states.md, "Sync handshake"): each rule of the
// table, with SyncVerdict::rule naming the row, the crashed-primary tie-break,
// the classic scenarios, and the symmetry property: both nodes, each deciding
// from its own point of view, always agree.
#include "replication/sync_decision.h"

#include <gtest/gtest.h>

#include <random>

#include "meta/format.h"

namespace tandem::replication {
namespace {

constexpr uint64_t kJust = meta::kUuidJustCreated;

GenerationUuids U(uint64_t current, uint64_t bitmap = 0, uint64_t h1 = 0, uint64_t h2 = 0,
                  bool crashed = false) {
  GenerationUuids u;
  u.current = current;
  u.bitmap = bitmap;
  u.history1 = h1;
  u.history2 = h2;
  u.crashed_primary = crashed;
  return u;
}

void ExpectVerdict(const GenerationUuids& local, const GenerationUuids& peer, SyncDecision want,
                   int rule, bool local_wins = false) {
  SyncVerdict v = DecideSync(local, peer, local_wins);
  EXPECT_EQ(v.decision, want) << "got " << SyncDecisionName(v.decision) << " want "
                              << SyncDecisionName(want) << " for " << FormatUuids(local) << " vs "
                              << FormatUuids(peer);
  EXPECT_EQ(v.rule, rule) << FormatUuids(local) << " vs " << FormatUuids(peer);
}

TEST(SyncDecision, Rule1BothJustCreated) {
  ExpectVerdict(U(kJust), U(kJust), SyncDecision::kBothJustCreated, 1);
  ExpectVerdict(U(kJust, 0, 0, 0, true), U(kJust, 0, 0, 0, true), SyncDecision::kBothJustCreated,
                1);
}

TEST(SyncDecision, Rule2LocalJustCreatedIsFullTarget) {
  ExpectVerdict(U(kJust), U(0xA1), SyncDecision::kTargetFull, 2);
  // Whatever else the peer has: a blank disk takes everything.
  ExpectVerdict(U(kJust), U(0xA1, 0xB2, kJust, 0, true), SyncDecision::kTargetFull, 2);
}

TEST(SyncDecision, Rule3PeerJustCreatedIsFullSource) {
  ExpectVerdict(U(0xA1), U(kJust), SyncDecision::kSourceFull, 3);
  ExpectVerdict(U(0xA1, 0xB2, 0xC3, 0xD4, true), U(kJust), SyncDecision::kSourceFull, 3);
}

TEST(SyncDecision, Rule4SameCurrentNoCrashIsNoSync) {
  ExpectVerdict(U(0xA1), U(0xA1), SyncDecision::kNoSync, 4);
  // Differing bitmap/history do not matter once the current UUIDs agree.
  ExpectVerdict(U(0xA1, 0xB2, 0xC3), U(0xA1, 0, 0xE5, 0xF6), SyncDecision::kNoSync, 4);
}

TEST(SyncDecision, Rule5CrashedPrimaryBecomesTarget) {
  ExpectVerdict(U(0xA1, 0, 0, 0, true), U(0xA1), SyncDecision::kTargetBitmap, 5);
  ExpectVerdict(U(0xA1), U(0xA1, 0, 0, 0, true), SyncDecision::kSourceBitmap, 5);
  // local_wins_crash_tie only decides when both crashed.
  ExpectVerdict(U(0xA1, 0, 0, 0, true), U(0xA1), SyncDecision::kTargetBitmap, 5, true);
  ExpectVerdict(U(0xA1), U(0xA1, 0, 0, 0, true), SyncDecision::kSourceBitmap, 5, false);
}

TEST(SyncDecision, Rule5BothCrashedTieBreak) {
  const auto a = U(0xA1, 0, 0, 0, true);
  const auto b = U(0xA1, 0, 0, 0, true);
  ExpectVerdict(a, b, SyncDecision::kSourceBitmap, 5, /*local_wins=*/true);
  ExpectVerdict(a, b, SyncDecision::kTargetBitmap, 5, /*local_wins=*/false);
  // The two nodes pass opposite tie flags (the higher node name is the
  // target), so exactly one of them is the source.
  const SyncVerdict lower = DecideSync(a, b, true);
  const SyncVerdict higher = DecideSync(b, a, false);
  EXPECT_EQ(lower.decision, SyncDecision::kSourceBitmap);
  EXPECT_EQ(higher.decision, SyncDecision::kTargetBitmap);
}

TEST(SyncDecision, Rule6LocalBitmapIsPeerCurrent) {
  // We went on writing (new current, bitmap = old current) while the peer
  // kept the old generation.
  ExpectVerdict(U(0xA2, 0xA1, 0x90), U(0xA1, 0, 0x90), SyncDecision::kSourceBitmap, 6);
  // Crash flags do not matter once the currents differ.
  ExpectVerdict(U(0xA2, 0xA1, 0, 0, true), U(0xA1, 0, 0, 0, true), SyncDecision::kSourceBitmap, 6);
}

TEST(SyncDecision, Rule7PeerBitmapIsLocalCurrent) {
  ExpectVerdict(U(0xA1, 0, 0x90), U(0xA2, 0xA1, 0x90), SyncDecision::kTargetBitmap, 7);
}

TEST(SyncDecision, Rule8LocalHistoryIsPeerCurrent) {
  ExpectVerdict(U(0xA3, 0, 0xA1), U(0xA1), SyncDecision::kSourceFull, 8);
  ExpectVerdict(U(0xA3, 0, 0xA2, 0xA1), U(0xA1), SyncDecision::kSourceFull, 8);
}

TEST(SyncDecision, Rule9PeerHistoryIsLocalCurrent) {
  ExpectVerdict(U(0xA1), U(0xA3, 0, 0xA1), SyncDecision::kTargetFull, 9);
  ExpectVerdict(U(0xA1), U(0xA3, 0, 0xA2, 0xA1), SyncDecision::kTargetFull, 9);
}

TEST(SyncDecision, ZeroNeverMatches) {
  // A cleared bitmap UUID or an empty history slot relates to nothing.
  ExpectVerdict(U(0xA1, 0, 0, 0), U(0xB1, 0, 0, 0), SyncDecision::kUnrelated, 11);
}

TEST(SyncDecision, Rule10SplitBrain) {
  // Both were promoted while apart: the same old generation in the bitmap.
  ExpectVerdict(U(0xA2, 0xA1, 0x90), U(0xB2, 0xA1, 0x90), SyncDecision::kSplitBrain, 10);
  // Each current appears in the other's history.
  ExpectVerdict(U(0xA2, 0, 0xB2), U(0xB2, 0, 0xA2), SyncDecision::kSplitBrain, 10);
  ExpectVerdict(U(0xA2, 0, 0x11, 0xB3), U(0xB3, 0, 0x22, 0xA2), SyncDecision::kSplitBrain, 10);
  // Each bitmap UUID is the other's current: neither descends from the other,
  // and both nodes must reach the same verdict (not both SyncSource).
  ExpectVerdict(U(0xA2, 0xB2), U(0xB2, 0xA2), SyncDecision::kSplitBrain, 10);
  ExpectVerdict(U(0xB2, 0xA2), U(0xA2, 0xB2), SyncDecision::kSplitBrain, 10);
}

TEST(SyncDecision, Rule11Unrelated) {
  ExpectVerdict(U(0xA1, 0xA0, 0x90, 0x80), U(0xB1, 0xB0, 0x70, 0x60), SyncDecision::kUnrelated, 11);
  ExpectVerdict(U(0xA1), U(0xB1), SyncDecision::kUnrelated, 11);
}

TEST(SyncDecision, NamesAndFormat) {
  EXPECT_STREQ(SyncDecisionName(SyncDecision::kNoSync), "no resync");
  EXPECT_STREQ(SyncDecisionName(SyncDecision::kSplitBrain), "split brain");
  EXPECT_STREQ(SyncDecisionName(SyncDecision::kUnrelated), "unrelated data");
  EXPECT_STREQ(SyncDecisionName(SyncDecision::kTargetBitmap),
               "bitmap-based resync, this node SyncTarget");
  EXPECT_EQ(FormatUuids(U(0x0123456789ABCDEFull, 4, 0, 0xFFFFFFFFFFFFFFFFull)),
            "0123456789ABCDEF:0000000000000004:0000000000000000:FFFFFFFFFFFFFFFF");
}

// The decision the peer must reach when we reach `d`.
SyncDecision Mirror(SyncDecision d) {
  switch (d) {
    case SyncDecision::kSourceFull:
      return SyncDecision::kTargetFull;
    case SyncDecision::kTargetFull:
      return SyncDecision::kSourceFull;
    case SyncDecision::kSourceBitmap:
      return SyncDecision::kTargetBitmap;
    case SyncDecision::kTargetBitmap:
      return SyncDecision::kSourceBitmap;
    default:
      return d;
  }
}

int MirrorRule(int rule) {
  switch (rule) {
    case 2:
      return 3;
    case 3:
      return 2;
    case 6:
      return 7;
    case 7:
      return 6;
    case 8:
      return 9;
    case 9:
      return 8;
    default:
      return rule;
  }
}

// Both nodes decide from their own point of view, with opposite tie flags.
void ExpectSymmetric(const GenerationUuids& a, const GenerationUuids& b, bool a_wins_tie) {
  const SyncVerdict va = DecideSync(a, b, a_wins_tie);
  const SyncVerdict vb = DecideSync(b, a, !a_wins_tie);
  ASSERT_EQ(vb.decision, Mirror(va.decision))
      << "a=" << FormatUuids(a) << (a.crashed_primary ? " (crashed)" : "")
      << " b=" << FormatUuids(b) << (b.crashed_primary ? " (crashed)" : "") << ": a decides "
      << SyncDecisionName(va.decision) << " (rule " << va.rule << "), b decides "
      << SyncDecisionName(vb.decision) << " (rule " << vb.rule << ")";
  ASSERT_EQ(vb.rule, MirrorRule(va.rule)) << "a=" << FormatUuids(a) << " b=" << FormatUuids(b);
  ASSERT_GE(va.rule, 1);
  ASSERT_LE(va.rule, 11);
}

TEST(SyncDecision, ScenariosAreSymmetric) {
  ExpectSymmetric(U(0xA2, 0xA1), U(0xA1), false);           // 6/7
  ExpectSymmetric(U(0xA3, 0, 0xA1), U(0xA1), true);         // 8/9
  ExpectSymmetric(U(kJust), U(0xA1), false);                // 2/3
  ExpectSymmetric(U(0xA1, 0, 0, 0, true), U(0xA1), false);  // 5
  ExpectSymmetric(U(0xA2, 0xA1), U(0xB2, 0xA1), false);     // 10
}

TEST(SyncDecision, RandomUuidSetsAreDecidedSymmetrically) {
  // Values drawn from a small pool so that every kind of relation (equal
  // currents, bitmap or history matches, just-created, zero) shows up often.
  const uint64_t pool[] = {0, kJust, 0x11, 0x22, 0x33, 0x44, 0x55};
  std::mt19937_64 rng(20240611);
  auto pick = [&] { return pool[rng() % std::size(pool)]; };
  auto random_set = [&] {
    GenerationUuids u;
    u.current = pick();
    u.bitmap = pick();
    u.history1 = pick();
    u.history2 = pick();
    u.crashed_primary = rng() % 4 == 0;
    return u;
  };
  int rules_seen[12] = {};
  for (int i = 0; i < 200000; ++i) {
    const GenerationUuids a = random_set(), b = random_set();
    const bool tie = rng() % 2;
    ExpectSymmetric(a, b, tie);
    if (HasFatalFailure()) return;
    ++rules_seen[DecideSync(a, b, tie).rule];
  }
  for (int rule = 1; rule <= 11; ++rule) EXPECT_GT(rules_seen[rule], 0) << "rule " << rule;
}

// An Inconsistent disk is never a SyncSource, whatever the UUIDs say (the
// Primary that invalidated itself keeps a newer current UUID than its peer).
TEST(SyncDecisionDiskStates, AnInconsistentSideIsAlwaysTheTarget) {
  SyncSideFacts inc{true, true, true}, good{false, false, false};
  auto a = AdjustForDiskStates({SyncDecision::kSourceFull, 8}, inc, good, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kTargetFull);
  EXPECT_EQ(a.verdict.rule, 8);
  EXPECT_TRUE(a.disk_states_decided);
  a = AdjustForDiskStates({SyncDecision::kSourceBitmap, 6}, inc, good, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kTargetBitmap);
  a = AdjustForDiskStates({SyncDecision::kNoSync, 4}, inc, good, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kTargetBitmap);
  a = AdjustForDiskStates({SyncDecision::kSplitBrain, 10}, inc, good, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kTargetFull);
  // Mirror image: the consistent side becomes the source.
  a = AdjustForDiskStates({SyncDecision::kTargetFull, 9}, good, inc, false);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kSourceFull);
  // Already right: unchanged, not reported as decided by the disk states.
  a = AdjustForDiskStates({SyncDecision::kTargetFull, 2}, inc, good, false);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kTargetFull);
  EXPECT_FALSE(a.disk_states_decided);
}

TEST(SyncDecisionDiskStates, UnrelatedAndBothInconsistentAreLeftAlone) {
  SyncSideFacts inc{true, false, false};
  auto a = AdjustForDiskStates({SyncDecision::kUnrelated, 11}, inc, SyncSideFacts{}, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kUnrelated);
  a = AdjustForDiskStates({SyncDecision::kBothJustCreated, 1}, inc, inc, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kBothJustCreated);
  EXPECT_FALSE(a.disk_states_decided);
}

TEST(SyncDecisionDiskStates, OutOfSyncMarksUnderTheSameGenerationAreResynced) {
  SyncSideFacts primary_marks{false, true, true}, secondary{false, false, false};
  auto a = AdjustForDiskStates({SyncDecision::kNoSync, 4}, primary_marks, secondary, false);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kSourceBitmap);
  a = AdjustForDiskStates({SyncDecision::kNoSync, 4}, secondary, primary_marks, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kTargetBitmap);
  // Two Secondaries, marks on one side: that side is the source.
  SyncSideFacts marks{false, true, false};
  a = AdjustForDiskStates({SyncDecision::kNoSync, 4}, secondary, marks, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kTargetBitmap);
  // Marks on both: the tie winner.
  a = AdjustForDiskStates({SyncDecision::kNoSync, 4}, marks, marks, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kSourceBitmap);
  // No marks: nothing to do.
  a = AdjustForDiskStates({SyncDecision::kNoSync, 4}, secondary, secondary, true);
  EXPECT_EQ(a.verdict.decision, SyncDecision::kNoSync);
}

}  // namespace
}  // namespace tandem::replication
