#pragma once
// Is the other node alive, and which of our links still carry its heartbeats?
//
// Times are milliseconds on a monotonic clock, given by the caller, so the
// rules are tested without waiting:
//   - a link is up from the first message on it, dead after `deadtime` without
//     one (a duplicate counts: it proves the link works);
//   - the node is alive from the first message acted upon, dead after
//     `deadtime` without one; before the first it has `initdead` from start-up;
//   - a message acted upon more than `warntime` after the previous one is late;
//   - a shutdown notice makes the node gone at once (no waiting for deadtime);
//     its links go down quietly.
// Thread-safety: not thread-safe; owned by the daemon's event loop.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace tandem::heartbeat {

struct LivenessTimes {
  int64_t deadtime_ms = 30000;
  int64_t warntime_ms = 15000;
  int64_t initdead_ms = 60000;
};

enum class PeerState { kUnknown, kAlive, kDead, kGone };
const char* PeerStateName(PeerState state);  // "unknown", "active"...: see .cc
enum class LinkState { kUnknown, kUp, kDead };
const char* LinkStateName(LinkState state);  // "unknown", "up", "dead"

struct LivenessEvent {
  enum class Kind { kNodeUp, kNodeDead, kLate, kLinkUp, kLinkDead };
  Kind kind;
  int link = -1;             // kLinkUp, kLinkDead
  int64_t interval_ms = 0;   // kLate: time since the previous message
  bool never_heard = false;  // kNodeDead: initdead expired before any message
  bool operator==(const LivenessEvent&) const = default;
};

class PeerLiveness {
 public:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  PeerLiveness(int link_count, LivenessTimes times, int64_t start_ms);

  // Any valid message from the node arrived on `link`.
  std::vector<LivenessEvent> LinkHeard(int link, int64_t now_ms);
  // A message from the node was acted upon.
  std::vector<LivenessEvent> NodeHeard(int64_t now_ms);
  // The node announced its shutdown.
  void MarkGone(int64_t now_ms);
  // What expired by now.
  std::vector<LivenessEvent> Check(int64_t now_ms);
  // When Check next has something to report (kNever if nothing can expire).
  int64_t NextDeadline() const;

  PeerState state() const { return state_; }
  LinkState link_state(int link) const { return links_[static_cast<size_t>(link)].state; }
  int link_count() const { return static_cast<int>(links_.size()); }
  // Milliseconds since the node was last heard (kNever if never).
  int64_t SinceHeard(int64_t now_ms) const;

 private:
  struct Link {
    LinkState state = LinkState::kUnknown;
    int64_t last_ms = 0;
  };
  LivenessTimes times_;
  int64_t start_ms_;
  PeerState state_ = PeerState::kUnknown;
  bool heard_ = false;
  int64_t last_ms_ = 0;
  std::vector<Link> links_;
};

// Ping nodes (ping / ping_group): a node is up while any of its addresses
// answered within `deadping`; before the first answer it counts as up until
// `deadping` has passed since start-up, so both cluster nodes start equal.
class PingTracker {
 public:
  struct Node {
    std::string name;
    std::vector<std::string> addresses;
  };
  struct Event {
    int node;
    bool up;
    bool operator==(const Event&) const = default;
  };

  PingTracker(std::vector<Node> nodes, int64_t deadping_ms, int64_t start_ms);

  // An echo reply came from `address` (ignored when no node has it).
  std::vector<Event> ReplyFrom(const std::string& address, int64_t now_ms);
  std::vector<Event> Check(int64_t now_ms);
  int64_t NextDeadline() const;
  // Ping nodes not dead.
  int UpCount() const;
  int size() const { return static_cast<int>(nodes_.size()); }
  const Node& node(int i) const { return nodes_[static_cast<size_t>(i)]; }
  LinkState state(int i) const { return states_[static_cast<size_t>(i)].state; }

 private:
  struct State {
    LinkState state = LinkState::kUnknown;
    int64_t last_ms = 0;
  };
  std::vector<Node> nodes_;
  std::vector<State> states_;
  int64_t deadping_ms_;
  int64_t start_ms_;
};

}  // namespace tandem::heartbeat
