#pragma once
// What one node tells the other in each message, and its mapping to and from
// message fields (docs/heartbeat-protocol.md has the table):
//
//   t    status | shutdown            src  sender's node name
//   seq  sequence number (hex)        hg   sender's generation (hex)
//   ts   sender's wall clock (hex s)  dt   sender's deadtime (hex ms)
//   lnk  the link it was sent on      st   up | active (status messages)
//   hr   digest of the sender's haresources groups
//   rs   groups the sender holds      ho   groups it hands to the receiver
//   rq   groups it asks the receiver to hand over
//   pn   ping nodes the sender sees   ack  generation of the peer it sees alive
//   ep   sender's epoch: a count of its changes to what it holds, hands over or asks for
//   pe   the receiver's epoch as the sender last saw it
//
// Groups are named by their position in haresources ("0,2"); hr lets the
// receiver check that both nodes number them the same way.
// Contract: FromMessage checks every field's syntax and the presence of the
// required ones and says which field is wrong; it does not check
// authentication (message_auth.h) or meaning (the receiver's job).
// Thread-safety: pure functions over values.

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "common/status.h"
#include "heartbeat/message.h"

namespace tandem::heartbeat {

inline constexpr int kMaxGroups = 1024;

using GroupSet = std::set<int>;

enum class MessageType { kStatus, kShutdown };
enum class NodeStatus { kUp, kActive };
const char* NodeStatusName(NodeStatus status);

struct HeartbeatInfo {
  MessageType type = MessageType::kStatus;
  std::string src;
  uint64_t seq = 0;
  uint64_t generation = 0;
  uint64_t timestamp = 0;  // seconds since the epoch, informational
  int64_t deadtime_ms = 0;
  std::string link;
  NodeStatus status = NodeStatus::kUp;
  std::string groups_digest;  // 8 hex digits
  GroupSet held;
  GroupSet handoff;
  GroupSet requested;
  std::optional<int> ping_up;
  std::optional<uint64_t> ack_generation;
  uint64_t epoch = 0;       // ep
  uint64_t peer_epoch = 0;  // pe (0: has not seen the receiver yet)
  bool operator==(const HeartbeatInfo&) const = default;
};

// Unsigned message (the caller signs it).
Message ToMessage(const HeartbeatInfo& info);
Result<HeartbeatInfo> FromMessage(const Message& message);

std::string FormatGroupSet(const GroupSet& groups);
Result<GroupSet> ParseGroupSet(std::string_view text);

}  // namespace tandem::heartbeat
