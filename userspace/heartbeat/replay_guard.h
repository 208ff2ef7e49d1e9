#pragma once
// Replay protection for authenticated messages, per sending node.
//
// Each node numbers its messages 1, 2, 3, ... within a generation (a number
// it raises at every start and keeps on disk), and sends each message on
// every link, signed for that link. The guard therefore keeps, per node:
//   - the newest generation seen: an older one is a replay;
//   - per link, a window of the last kWindow sequence numbers seen on it: a
//     number seen before on the same link, or older than the window, is a
//     replay (this tolerates reordering within the window);
//   - the newest sequence number acted upon: the same message arriving again
//     on another link is a duplicate, which proves that link alive but is
//     not acted upon twice.
// A newer generation means the node restarted: its windows start afresh.
//
// Thread-safety: not thread-safe; owned by the daemon's event loop.

#include <cstdint>
#include <map>
#include <string>

namespace tandem::heartbeat {

class ReplayGuard {
 public:
  static constexpr uint64_t kWindow = 64;

  enum class Verdict {
    kNew,            // act on it
    kDuplicate,      // already acted upon (it came on another link first)
    kReplay,         // this link saw this sequence number already, or it is too old
    kOldGeneration,  // from an earlier run of the node
  };
  struct Outcome {
    Verdict verdict = Verdict::kNew;
    bool restarted = false;            // a newer generation than before (not the first seen)
    uint64_t previous_generation = 0;  // when restarted, or the current one on kOldGeneration
  };

  // Records the message if it is not a replay.
  Outcome Check(const std::string& node, const std::string& link, uint64_t generation,
                uint64_t seq);
  // The generation last accepted from `node`, 0 if none.
  uint64_t generation(const std::string& node) const;

 private:
  struct Window {
    uint64_t highest = 0;
    uint64_t bits = 0;  // bit i: highest - i was seen
  };
  struct NodeState {
    uint64_t generation = 0;
    uint64_t acted = 0;
    std::map<std::string, Window> links;
  };
  std::map<std::string, NodeState> nodes_;
};

}  // namespace tandem::heartbeat
