#pragma once
// The sync handshake: from both nodes' generation UUIDs, who resynchronises
// whom and how (docs/states.md, "Sync handshake"; DRBD 8.4's rules). Pure.

#include <cstdint>
#include <string>

namespace tandem::replication {

struct GenerationUuids {
  uint64_t current = 0;
  uint64_t bitmap = 0;
  uint64_t history1 = 0;
  uint64_t history2 = 0;
  bool crashed_primary = false;
};

enum class SyncDecision {
  kNoSync,
  kBothJustCreated,    // rule 1: nothing to sync from
  kSourceFull,         // this node is SyncSource of everything
  kTargetFull,
  kSourceBitmap,       // bitmap-based: only out-of-sync blocks
  kTargetBitmap,
  kSplitBrain,
  kUnrelated,
};

const char* SyncDecisionName(SyncDecision d);

struct SyncVerdict {
  SyncDecision decision;
  int rule;  // which row of the table decided (for logs and tests)
};

// `local_wins_crash_tie`: when both crashed while Primary, the node that is not
// the target (docs: the higher node name is the target).
SyncVerdict DecideSync(const GenerationUuids& local, const GenerationUuids& peer,
                       bool local_wins_crash_tie);

// Human-readable UUID set for logs: "current:bitmap:history1:history2".
std::string FormatUuids(const GenerationUuids& u);

}  // namespace tandem::replication
