#include "replication/sync_decision.h"

#include <cinttypes>
#include <cstdio>

#include "meta/format.h"

namespace tandem::replication {

const char* SyncDecisionName(SyncDecision d) {
  switch (d) {
    case SyncDecision::kNoSync: return "no resync";
    case SyncDecision::kBothJustCreated: return "both just created";
    case SyncDecision::kSourceFull: return "full sync, this node SyncSource";
    case SyncDecision::kTargetFull: return "full sync, this node SyncTarget";
    case SyncDecision::kSourceBitmap: return "bitmap-based resync, this node SyncSource";
    case SyncDecision::kTargetBitmap: return "bitmap-based resync, this node SyncTarget";
    case SyncDecision::kSplitBrain: return "split brain";
    case SyncDecision::kUnrelated: return "unrelated data";
  }
  return "?";
}

AdjustedVerdict AdjustForDiskStates(SyncVerdict v, const SyncSideFacts& local,
                                    const SyncSideFacts& peer, bool local_wins_tie) {
  if (v.decision == SyncDecision::kUnrelated) return {v, false};
  if (local.inconsistent != peer.inconsistent) {
    const bool source = peer.inconsistent;
    const bool full = v.decision == SyncDecision::kSourceFull ||
                      v.decision == SyncDecision::kTargetFull ||
                      v.decision == SyncDecision::kSplitBrain;
    SyncDecision d = full ? (source ? SyncDecision::kSourceFull : SyncDecision::kTargetFull)
                          : (source ? SyncDecision::kSourceBitmap : SyncDecision::kTargetBitmap);
    return {{d, v.rule}, d != v.decision};
  }
  if (v.decision == SyncDecision::kNoSync && !local.inconsistent &&
      (local.has_out_of_sync || peer.has_out_of_sync)) {
    const bool source = local.primary != peer.primary ? local.primary
                        : local.has_out_of_sync != peer.has_out_of_sync ? local.has_out_of_sync
                                                                        : local_wins_tie;
    return {{source ? SyncDecision::kSourceBitmap : SyncDecision::kTargetBitmap, v.rule}, true};
  }
  return {v, false};
}

SyncVerdict DecideSync(const GenerationUuids& l, const GenerationUuids& p,
                       bool local_wins_crash_tie) {
  constexpr uint64_t kJust = meta::kUuidJustCreated;
  if (l.current == kJust && p.current == kJust) return {SyncDecision::kBothJustCreated, 1};
  if (l.current == kJust) return {SyncDecision::kTargetFull, 2};
  if (p.current == kJust) return {SyncDecision::kSourceFull, 3};
  if (l.current == p.current) {
    if (!l.crashed_primary && !p.crashed_primary) return {SyncDecision::kNoSync, 4};
    if (l.crashed_primary && !p.crashed_primary) return {SyncDecision::kTargetBitmap, 5};
    if (!l.crashed_primary && p.crashed_primary) return {SyncDecision::kSourceBitmap, 5};
    return {local_wins_crash_tie ? SyncDecision::kSourceBitmap : SyncDecision::kTargetBitmap, 5};
  }
  // Each side's bitmap UUID being the other's current is a cycle, not a
  // descent: like the two-way history match below, it is left to rule 10.
  const bool l_bm = l.bitmap != 0 && l.bitmap == p.current;
  const bool p_bm = p.bitmap != 0 && p.bitmap == l.current;
  if (l_bm && !p_bm) return {SyncDecision::kSourceBitmap, 6};
  if (p_bm && !l_bm) return {SyncDecision::kTargetBitmap, 7};
  const bool l_hist = (l.history1 != 0 && l.history1 == p.current) ||
                      (l.history2 != 0 && l.history2 == p.current);
  const bool p_hist = (p.history1 != 0 && p.history1 == l.current) ||
                      (p.history2 != 0 && p.history2 == l.current);
  if (l_hist && !p_hist) return {SyncDecision::kSourceFull, 8};
  if (p_hist && !l_hist) return {SyncDecision::kTargetFull, 9};
  // Both went on from a common ancestor: each kept writing on its own.
  if ((l.bitmap != 0 && l.bitmap == p.bitmap) || (l_hist && p_hist) || (l_bm && p_bm) ||
      (l.bitmap != 0 && (l.bitmap == p.history1 || l.bitmap == p.history2)) ||
      (p.bitmap != 0 && (p.bitmap == l.history1 || p.bitmap == l.history2))) {
    return {SyncDecision::kSplitBrain, 10};
  }
  return {SyncDecision::kUnrelated, 11};
}

std::string FormatUuids(const GenerationUuids& u) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%016" PRIX64 ":%016" PRIX64 ":%016" PRIX64 ":%016" PRIX64,
                u.current, u.bitmap, u.history1, u.history2);
  return buf;
}

}  // namespace tandem::replication
