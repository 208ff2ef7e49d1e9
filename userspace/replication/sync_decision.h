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

// What the handshake knows besides the UUIDs.
struct SyncSideFacts {
  bool inconsistent = false;  // disk state Inconsistent
  bool has_out_of_sync = false;  // bitmap bits set
  bool primary = false;
};

// The UUID verdict corrected by the disk states, as DRBD does after its UUID
// comparison: an Inconsistent disk is never a SyncSource. When exactly one
// side is Inconsistent, the other side is the source (a full sync if the UUIDs
// asked for one or saw a split brain, else bitmap-based). When the UUIDs match
// but a consistent side holds out-of-sync marks (writes made while the link
// was being restarted), those blocks are resynced: the Primary, else the side
// with marks, else the tie winner is the source. Unrelated data stays
// unrelated. `rule` is kept; `disk_states_decided` says whether this changed
// the verdict (for the log).
struct AdjustedVerdict {
  SyncVerdict verdict;
  bool disk_states_decided = false;
};
AdjustedVerdict AdjustForDiskStates(SyncVerdict v, const SyncSideFacts& local,
                                    const SyncSideFacts& peer, bool local_wins_tie);

// Human-readable UUID set for logs: "current:bitmap:history1:history2".
std::string FormatUuids(const GenerationUuids& u);

}  // namespace tandem::replication
