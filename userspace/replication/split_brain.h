#pragma once
// Automatic split-brain recovery (docs/states.md, "Split brain"): given what
// both nodes know, which one's changes are discarded, by DRBD's after-sb-0pri /
// after-sb-1pri / after-sb-2pri policies and `connect --discard-my-data`.
// Pure and symmetric: both nodes reach the same verdict from swapped inputs.

#include <cstdint>
#include <string>

namespace tandem::replication {

struct SplitBrainInput {
  bool local_primary = false, peer_primary = false;
  uint64_t local_primary_since = 0, peer_primary_since = 0;  // ms; 0: never
  uint64_t local_changes = 0, peer_changes = 0;              // out-of-sync bits
  std::string local_node, peer_node;
  bool local_discard = false, peer_discard = false;  // connect --discard-my-data
  std::string after_sb_0pri = "disconnect";
  std::string after_sb_1pri = "disconnect";
  std::string after_sb_2pri = "disconnect";
};

enum class SbOutcome {
  kDisconnect,     // unresolved: both StandAlone, data untouched
  kLocalIsVictim,  // this node becomes SyncTarget (its changes are rolled back)
  kPeerIsVictim,   // the peer does
};

struct SbResolution {
  SbOutcome outcome = SbOutcome::kDisconnect;
  // call-pri-lost-after-sb chose this node, a Primary, as the loser: run the
  // pri-lost-after-sb handler here (and the connection is dropped).
  bool call_pri_lost_here = false;
  std::string reason;  // for the log
};

SbResolution ResolveSplitBrain(const SplitBrainInput& in);

}  // namespace tandem::replication
