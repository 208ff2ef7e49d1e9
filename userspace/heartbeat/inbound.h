#pragma once
// The receive path of every link, from raw bytes to a message the daemon may
// act upon. In order: decode (malformed), authenticate (auth), parse the
// fields (malformed), check the sender is the other node of this cluster
// (unknown node / ourselves), check the message was signed for the link it
// came on (wrong link: a copy moved from another medium), then replay
// protection (replay_guard.h).
//
// Contract: nothing reaches the daemon's state unless it passed every check;
// a refusal says why in one line, quoting at most a few bytes of the packet.
// Thread-safety: not thread-safe; owned by the daemon's event loop.

#include <string>
#include <string_view>
#include <vector>

#include "heartbeat/heartbeat_info.h"
#include "heartbeat/message_auth.h"
#include "heartbeat/replay_guard.h"

namespace tandem::heartbeat {

enum class DropReason { kMalformed, kAuth, kUnknownNode, kSelf, kWrongLink, kReplay };
inline constexpr int kDropReasonCount = 6;
const char* DropReasonName(DropReason reason);  // "malformed", "auth", ...

struct InboundResult {
  enum class Kind { kAccept, kDuplicate, kDrop };
  Kind kind = Kind::kDrop;
  HeartbeatInfo info;                // kAccept and kDuplicate
  bool restarted = false;            // kAccept: the sender has a new generation
  uint64_t previous_generation = 0;  // when restarted
  DropReason reason = DropReason::kMalformed;  // kDrop
  std::string detail;                          // kDrop: one line
  std::string claimed_src;  // kDrop: the src field if one could be read, else ""
};

class InboundFilter {
 public:
  // `local_node` and `cluster_nodes` are lower case, as ha.cf's model has them.
  InboundFilter(std::string local_node, std::vector<std::string> cluster_nodes,
                const MessageSigner* signer);

  // `link` is the tag of the medium the bytes came in on.
  InboundResult Process(std::string_view bytes, const std::string& link);

  const ReplayGuard& replay_guard() const { return guard_; }

 private:
  std::string local_;
  std::vector<std::string> nodes_;
  const MessageSigner* signer_;
  ReplayGuard guard_;
};

}  // namespace tandem::heartbeat
