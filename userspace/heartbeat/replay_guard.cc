#include "heartbeat/replay_guard.h"

namespace tandem::heartbeat {

ReplayGuard::Outcome ReplayGuard::Check(const std::string& node, const std::string& link,
                                        uint64_t generation, uint64_t seq) {
  Outcome out;
  NodeState& n = nodes_[node];
  if (generation < n.generation) {
    out.verdict = Verdict::kOldGeneration;
    out.previous_generation = n.generation;
    return out;
  }
  if (generation > n.generation) {
    if (n.generation != 0) {
      out.restarted = true;
      out.previous_generation = n.generation;
    }
    n = NodeState{};
    n.generation = generation;
  }
  Window& w = n.links[link];
  if (seq > w.highest) {
    const uint64_t shift = seq - w.highest;
    w.bits = shift >= kWindow ? 0 : w.bits << shift;
    w.bits |= 1;
    w.highest = seq;
  } else {
    const uint64_t age = w.highest - seq;
    if (age >= kWindow || (w.bits & (uint64_t{1} << age)) != 0) {
      out.verdict = Verdict::kReplay;
      return out;
    }
    w.bits |= uint64_t{1} << age;
  }
  if (seq <= n.acted) {
    out.verdict = Verdict::kDuplicate;
    return out;
  }
  n.acted = seq;
  return out;
}

uint64_t ReplayGuard::generation(const std::string& node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? 0 : it->second.generation;
}

}  // namespace tandem::heartbeat
