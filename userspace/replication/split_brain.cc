#include "replication/split_brain.h"

namespace tandem::replication {

namespace {

SbResolution Victim(bool local, std::string why) {
  return {local ? SbOutcome::kLocalIsVictim : SbOutcome::kPeerIsVictim, false, std::move(why)};
}
SbResolution Disconnect(std::string why) { return {SbOutcome::kDisconnect, false, std::move(why)}; }

// The after-sb-0pri decision, also the base of the 1pri/2pri policies.
SbResolution ZeroPrimaries(const SplitBrainInput& in) {
  const std::string& p = in.after_sb_0pri;
  if (p == "disconnect") return Disconnect("after-sb-0pri disconnect");
  if (p == "discard-younger-primary" || p == "discard-older-primary") {
    if (in.local_primary_since == in.peer_primary_since) {
      return Disconnect(p + ": both were promoted at the same time");
    }
    const bool local_younger = in.local_primary_since > in.peer_primary_since;
    return Victim(p == "discard-younger-primary" ? local_younger : !local_younger, p);
  }
  if (p == "discard-zero-changes") {
    if (in.local_changes == 0 && in.peer_changes == 0) {
      // Nothing changed anywhere: any direction is right; take a stable one.
      return Victim(in.local_node > in.peer_node, p + ": no changes on either node");
    }
    if (in.local_changes == 0) return Victim(true, p + ": this node has no changes");
    if (in.peer_changes == 0) return Victim(false, p + ": the peer has no changes");
    return Disconnect(p + ": both nodes have changes");
  }
  if (p == "discard-least-changes") {
    if (in.local_changes != in.peer_changes) {
      return Victim(in.local_changes < in.peer_changes, p);
    }
    return Victim(in.local_node > in.peer_node, p + ": equal changes, the higher node name loses");
  }
  if (p == "discard-local") return Victim(true, p);
  if (p == "discard-remote") return Victim(false, p);
  const std::string prefix = "discard-node-";
  if (p.rfind(prefix, 0) == 0) {
    const std::string node = p.substr(prefix.size());
    if (node == in.local_node) return Victim(true, p);
    if (node == in.peer_node) return Victim(false, p);
    return Disconnect(p + ": names neither node");
  }
  return Disconnect("unknown after-sb-0pri policy " + p);
}

}  // namespace

SbResolution ResolveSplitBrain(const SplitBrainInput& in) {
  if (in.local_discard && in.peer_discard) {
    return Disconnect("both nodes asked to discard their data");
  }
  if (in.local_discard) return Victim(true, "this node was connected with --discard-my-data");
  if (in.peer_discard) return Victim(false, "the peer was connected with --discard-my-data");
  const int primaries = (in.local_primary ? 1 : 0) + (in.peer_primary ? 1 : 0);
  if (primaries == 0) return ZeroPrimaries(in);
  if (primaries == 1) {
    const std::string& p = in.after_sb_1pri;
    if (p == "disconnect") return Disconnect("after-sb-1pri disconnect");
    if (p == "discard-secondary") return Victim(!in.local_primary, p);
    SbResolution base = ZeroPrimaries(in);
    if (p == "consensus") {
      // Only if the 0pri policy agrees to discard the Secondary.
      const bool secondary_loses =
          (base.outcome == SbOutcome::kLocalIsVictim && !in.local_primary) ||
          (base.outcome == SbOutcome::kPeerIsVictim && in.local_primary);
      if (secondary_loses) return Victim(!in.local_primary, "consensus: " + base.reason);
      return Disconnect("consensus: the after-sb-0pri verdict would discard the Primary");
    }
    if (p == "violently-as0p") return base;
    if (p == "call-pri-lost-after-sb") {
      const bool primary_loses =
          (base.outcome == SbOutcome::kLocalIsVictim && in.local_primary) ||
          (base.outcome == SbOutcome::kPeerIsVictim && !in.local_primary);
      if (primary_loses) {
        SbResolution r = Disconnect("call-pri-lost-after-sb: the Primary loses (" + base.reason + ")");
        r.call_pri_lost_here = in.local_primary;
        return r;
      }
      return base;
    }
    return Disconnect("unknown after-sb-1pri policy " + p);
  }
  const std::string& p = in.after_sb_2pri;
  if (p == "disconnect") return Disconnect("after-sb-2pri disconnect");
  SbResolution base = ZeroPrimaries(in);
  if (p == "violently-as0p") return base;
  if (p == "call-pri-lost-after-sb") {
    if (base.outcome == SbOutcome::kDisconnect) return base;
    SbResolution r = Disconnect("call-pri-lost-after-sb: " + base.reason);
    r.call_pri_lost_here = base.outcome == SbOutcome::kLocalIsVictim;
    return r;
  }
  return Disconnect("unknown after-sb-2pri policy " + p);
}

}  // namespace tandem::replication
