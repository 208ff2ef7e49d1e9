#include "heartbeat/liveness.h"

#include <algorithm>

namespace tandem::heartbeat {

const char* PeerStateName(PeerState state) {
  switch (state) {
    case PeerState::kUnknown:
      return "unknown";
    case PeerState::kAlive:
      return "active";
    case PeerState::kDead:
      return "dead";
    case PeerState::kGone:
      return "stopped";
  }
  return "unknown";
}

const char* LinkStateName(LinkState state) {
  switch (state) {
    case LinkState::kUnknown:
      return "unknown";
    case LinkState::kUp:
      return "up";
    case LinkState::kDead:
      return "dead";
  }
  return "unknown";
}

PeerLiveness::PeerLiveness(int link_count, LivenessTimes times, int64_t start_ms)
    : times_(times), start_ms_(start_ms), links_(static_cast<size_t>(link_count)) {}

std::vector<LivenessEvent> PeerLiveness::LinkHeard(int link, int64_t now_ms) {
  std::vector<LivenessEvent> events;
  Link& l = links_[static_cast<size_t>(link)];
  l.last_ms = now_ms;
  if (l.state != LinkState::kUp) {
    l.state = LinkState::kUp;
    events.push_back({LivenessEvent::Kind::kLinkUp, link});
  }
  return events;
}

std::vector<LivenessEvent> PeerLiveness::NodeHeard(int64_t now_ms) {
  std::vector<LivenessEvent> events;
  if (state_ == PeerState::kAlive && now_ms - last_ms_ > times_.warntime_ms) {
    LivenessEvent late{LivenessEvent::Kind::kLate};
    late.interval_ms = now_ms - last_ms_;
    events.push_back(late);
  }
  if (state_ != PeerState::kAlive) {
    state_ = PeerState::kAlive;
    events.push_back({LivenessEvent::Kind::kNodeUp});
  }
  heard_ = true;
  last_ms_ = now_ms;
  return events;
}

void PeerLiveness::MarkGone(int64_t now_ms) {
  state_ = PeerState::kGone;
  last_ms_ = now_ms;
  for (auto& l : links_) {
    if (l.state == LinkState::kUp) l.state = LinkState::kDead;
  }
}

std::vector<LivenessEvent> PeerLiveness::Check(int64_t now_ms) {
  std::vector<LivenessEvent> events;
  for (size_t i = 0; i < links_.size(); ++i) {
    Link& l = links_[i];
    if (l.state == LinkState::kUp && now_ms - l.last_ms >= times_.deadtime_ms) {
      l.state = LinkState::kDead;
      events.push_back({LivenessEvent::Kind::kLinkDead, static_cast<int>(i)});
    }
  }
  if (state_ == PeerState::kAlive && now_ms - last_ms_ >= times_.deadtime_ms) {
    state_ = PeerState::kDead;
    events.push_back({LivenessEvent::Kind::kNodeDead});
  } else if (state_ == PeerState::kUnknown && now_ms - start_ms_ >= times_.initdead_ms) {
    state_ = PeerState::kDead;
    LivenessEvent dead{LivenessEvent::Kind::kNodeDead};
    dead.never_heard = true;
    events.push_back(dead);
  }
  return events;
}

int64_t PeerLiveness::NextDeadline() const {
  int64_t next = kNever;
  for (const auto& l : links_) {
    if (l.state == LinkState::kUp) next = std::min(next, l.last_ms + times_.deadtime_ms);
  }
  if (state_ == PeerState::kAlive) next = std::min(next, last_ms_ + times_.deadtime_ms);
  if (state_ == PeerState::kUnknown) next = std::min(next, start_ms_ + times_.initdead_ms);
  return next;
}

int64_t PeerLiveness::SinceHeard(int64_t now_ms) const {
  return heard_ ? now_ms - last_ms_ : kNever;
}

PingTracker::PingTracker(std::vector<Node> nodes, int64_t deadping_ms, int64_t start_ms)
    : nodes_(std::move(nodes)), states_(nodes_.size()), deadping_ms_(deadping_ms),
      start_ms_(start_ms) {}

std::vector<PingTracker::Event> PingTracker::ReplyFrom(const std::string& address,
                                                       int64_t now_ms) {
  std::vector<Event> events;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto& a = nodes_[i].addresses;
    if (std::find(a.begin(), a.end(), address) == a.end()) continue;
    states_[i].last_ms = now_ms;
    if (states_[i].state != LinkState::kUp) {
      states_[i].state = LinkState::kUp;
      events.push_back({static_cast<int>(i), true});
    }
  }
  return events;
}

std::vector<PingTracker::Event> PingTracker::Check(int64_t now_ms) {
  std::vector<Event> events;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    State& s = states_[i];
    const bool expired = (s.state == LinkState::kUp && now_ms - s.last_ms >= deadping_ms_) ||
                         (s.state == LinkState::kUnknown && now_ms - start_ms_ >= deadping_ms_);
    if (expired) {
      s.state = LinkState::kDead;
      events.push_back({static_cast<int>(i), false});
    }
  }
  return events;
}

int64_t PingTracker::NextDeadline() const {
  int64_t next = PeerLiveness::kNever;
  for (const auto& s : states_) {
    if (s.state == LinkState::kUp) next = std::min(next, s.last_ms + deadping_ms_);
    if (s.state == LinkState::kUnknown) next = std::min(next, start_ms_ + deadping_ms_);
  }
  return next;
}

int PingTracker::UpCount() const {
  return static_cast<int>(std::count_if(states_.begin(), states_.end(), [](const State& s) {
    return s.state != LinkState::kDead;
  }));
}

}  // namespace tandem::heartbeat
