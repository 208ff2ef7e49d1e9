#include "heartbeat/cluster_brain.h"

#include <cassert>

namespace tandem::heartbeat {

const char* WhichName(Which which) {
  switch (which) {
    case Which::kAll:
      return "all";
    case Which::kLocal:
      return "local";
    case Which::kForeign:
      return "foreign";
  }
  return "all";
}

std::optional<Which> ParseWhich(std::string_view text) {
  if (text == "all") return Which::kAll;
  if (text == "local") return Which::kLocal;
  if (text == "foreign") return Which::kForeign;
  return std::nullopt;
}

const char* GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kStopped:
      return "stopped";
    case GroupState::kStarting:
      return "starting";
    case GroupState::kRunning:
      return "running";
    case GroupState::kStopping:
      return "stopping";
    case GroupState::kStopFailed:
      return "stop-failed";
  }
  return "stopped";
}

ClusterBrain::ClusterBrain(BrainConfig config)
    : cfg_(std::move(config)),
      state_(cfg_.groups.size(), GroupState::kStopped),
      failed_here_(cfg_.groups.size(), false),
      release_(cfg_.groups.size(), false),
      conflict_logged_(cfg_.groups.size(), false),
      refusal_logged_(cfg_.groups.size(), false),
      take_(cfg_.groups.size(), false),
      changed_(cfg_.groups.size(), 0),
      my_ping_(cfg_.ping_nodes) {}

void ClusterBrain::Bump(int g) {
  ++epoch_;
  changed_[static_cast<size_t>(g)] = epoch_;
}

bool ClusterBrain::Fresh(const PeerReport& p, int g) const {
  return p.seen_epoch >= changed_[static_cast<size_t>(g)];
}

void ClusterBrain::Start() {
  assert(phase_ == Phase::kIdle);
  phase_ = Phase::kProbing;
  Reconcile();
}

std::vector<BrainAction> ClusterBrain::TakeActions() {
  std::vector<BrainAction> out;
  out.swap(actions_);
  return out;
}

void ClusterBrain::Emit(BrainAction::Kind kind, int group) {
  BrainAction a{kind};
  a.group = group;
  actions_.push_back(std::move(a));
}

void ClusterBrain::Log(HbLevel level, std::string text) {
  BrainAction a{BrainAction::Kind::kLog};
  a.level = level;
  a.text = std::move(text);
  actions_.push_back(std::move(a));
}

bool ClusterBrain::IsHeld(int g) const {
  return state_[static_cast<size_t>(g)] != GroupState::kStopped;
}

GroupSet ClusterBrain::Held() const {
  GroupSet held;
  for (int g = 0; g < group_count(); ++g) {
    if (IsHeld(g)) held.insert(g);
  }
  return held;
}

std::optional<uint64_t> ClusterBrain::Ack() const {
  if (phase_ == Phase::kIdle || phase_ == Phase::kProbing) return std::nullopt;
  if (peer_state_ != PeerState::kAlive) return std::nullopt;
  return peer_generation_;
}

bool ClusterBrain::Matches(int g, Which which) const {
  const bool local = cfg_.groups[static_cast<size_t>(g)].local;
  switch (which) {
    case Which::kAll:
      return true;
    case Which::kLocal:
      return local;
    case Which::kForeign:
      return !local;
  }
  return true;
}

// We see fewer ping nodes than the other node does.
bool ClusterBrain::PingWorse() const {
  return cfg_.ipfail && cfg_.ping_nodes > 0 && peer_ && peer_->ping_up &&
         my_ping_ < *peer_->ping_up;
}

bool ClusterBrain::PeerPingWorse() const {
  return cfg_.ipfail && cfg_.ping_nodes > 0 && peer_ && peer_->ping_up &&
         *peer_->ping_up < my_ping_;
}

void ClusterBrain::SetActive() {
  if (active_) return;
  active_ = true;
  Log(HbLevel::kInfo, "Initial resource acquisition complete");
  Emit(BrainAction::Kind::kSendStatus, -1);
}

// --- events --------------------------------------------------------------------

void ClusterBrain::PeerAlive(const PeerReport& report) {
  const bool joined = peer_state_ != PeerState::kAlive || report.generation != peer_generation_;
  if (peer_state_ == PeerState::kDead || peer_state_ == PeerState::kGone) {
    stonith_ok_ = stonith_running_ = stonith_waiting_ = false;
    takeover_announced_ = takeover_reported_ = false;
  }
  peer_state_ = PeerState::kAlive;
  peer_generation_ = report.generation;
  peer_epoch_ = report.epoch;
  peer_ = report;
  if (joined && cfg_.auto_failback != config::AutoFailback::kOff) failback_due_ = true;
  if (joined) {
    std::fill(conflict_logged_.begin(), conflict_logged_.end(), false);
    std::fill(refusal_logged_.begin(), refusal_logged_.end(), false);
  }
  if (report.groups_match) {
    // Our hand-overs it has taken are done.
    for (auto it = handoff_.begin(); it != handoff_.end();) {
      const int g = *it;
      if (report.held.count(g)) {
        it = handoff_.erase(it);
        Bump(g);
      } else {
        ++it;
      }
    }
    for (int g = 0; g < group_count(); ++g) {
      const size_t i = static_cast<size_t>(g);
      if (report.held.count(g)) take_[i] = false;
      if (!report.handoff.count(g) || !Fresh(report, g) || report.held.count(g) ||
          state_[i] != GroupState::kStopped || take_[i]) {
        continue;
      }
      // Both offering it to the other (a lost message): its preferred node takes it.
      if (handoff_.count(g) && !cfg_.groups[i].local) continue;
      if (failed_here_[i]) {
        if (!refusal_logged_[i]) {
          refusal_logged_[i] = true;
          Log(HbLevel::kError, "Not starting resource group " + Key(g) +
                                   ": it failed to start here (clear with a takeover request)");
        }
        continue;
      }
      take_[i] = true;
      if (handoff_.erase(g)) Bump(g);
    }
  }
  Reconcile();
}

void ClusterBrain::ForgetPeer() {
  peer_.reset();
  handoff_.clear();
  requested_.clear();
  failback_due_ = false;
  ping_standby_ = false;
  std::fill(failed_here_.begin(), failed_here_.end(), false);
  std::fill(release_.begin(), release_.end(), false);
  std::fill(take_.begin(), take_.end(), false);
  stonith_running_ = stonith_waiting_ = false;
  takeover_announced_ = takeover_reported_ = false;
}

void ClusterBrain::PeerDead() {
  ForgetPeer();
  peer_state_ = PeerState::kDead;
  stonith_ok_ = !cfg_.stonith;
  Reconcile();
}

void ClusterBrain::PeerGone() {
  ForgetPeer();
  // It stopped its resources and said so: nothing to fence.
  peer_state_ = PeerState::kGone;
  stonith_ok_ = true;
  Reconcile();
}

void ClusterBrain::StonithDone(bool ok) {
  stonith_running_ = false;
  if (peer_state_ != PeerState::kDead) return;  // it came back meanwhile
  if (ok) {
    stonith_ok_ = true;
    Log(HbLevel::kInfo, "node " + cfg_.peer_node + " now reset (STONITH succeeded)");
  } else {
    stonith_waiting_ = true;
    Log(HbLevel::kCrit, "STONITH of node " + cfg_.peer_node +
                            " failed: not taking over its resources (will retry)");
  }
  Reconcile();
}

void ClusterBrain::StonithRetry() {
  stonith_waiting_ = false;
  Reconcile();
}

void ClusterBrain::OperationDone(int g, OpOutcome outcome) {
  assert(op_in_flight_);
  op_in_flight_ = false;
  const size_t i = static_cast<size_t>(g);
  Bump(g);
  switch (outcome) {
    case OpOutcome::kProbedRunning:
      state_[i] = GroupState::kRunning;
      Log(HbLevel::kInfo, "Resource group " + Key(g) + " is already running here: holding it");
      ++probe_next_;
      break;
    case OpOutcome::kProbedStopped:
      state_[i] = GroupState::kStopped;
      ++probe_next_;
      break;
    case OpOutcome::kStarted:
      state_[i] = GroupState::kRunning;
      requested_.erase(g);
      handoff_.erase(g);
      take_[i] = false;
      break;
    case OpOutcome::kStartFailed:
      state_[i] = GroupState::kStopped;
      failed_here_[i] = true;
      requested_.erase(g);
      take_[i] = false;
      Log(HbLevel::kCrit, "Resource group " + Key(g) + " failed to start here: released it");
      if (PeerUsable() && phase_ == Phase::kRunning) {
        handoff_.insert(g);
        Log(HbLevel::kInfo, "Handing resource group " + Key(g) + " over to " + cfg_.peer_node);
      }
      break;
    case OpOutcome::kStopped:
      state_[i] = GroupState::kStopped;
      if (release_[i] && PeerUsable()) handoff_.insert(g);
      release_[i] = false;
      break;
    case OpOutcome::kStopFailed:
      state_[i] = GroupState::kStopFailed;
      release_[i] = false;
      Log(HbLevel::kCrit, "Resource group " + Key(g) +
                              " failed to stop: it stays held by this node; manual "
                              "intervention required");
      break;
  }
  Emit(BrainAction::Kind::kSendStatus, -1);
  Reconcile();
}

void ClusterBrain::PingCount(int up) {
  if (up == my_ping_) return;
  my_ping_ = up;
  Emit(BrainAction::Kind::kSendStatus, -1);
  Reconcile();
}

Result<std::string> ClusterBrain::Standby(Which which) {
  if (phase_ != Phase::kRunning) return Status::Busy("not ready: heartbeat is starting or stopping");
  if (!PeerUsable()) {
    return Status::Aborted("no standby: node " +
                           (cfg_.peer_node.empty() ? std::string("(none)") : cfg_.peer_node) +
                           " is not up to take over");
  }
  int count = 0;
  for (int g = 0; g < group_count(); ++g) {
    const auto s = state_[static_cast<size_t>(g)];
    if (!Matches(g, which) || (s != GroupState::kRunning && s != GroupState::kStarting)) continue;
    release_[static_cast<size_t>(g)] = true;
    ++count;
  }
  if (count == 0) {
    return Status::NotFound(std::string("no ") + WhichName(which) + " resources held here");
  }
  std::string text = std::string("Giving up ") + WhichName(which) + " HA resources (standby).";
  Log(HbLevel::kInfo, text);
  Reconcile();
  return text;
}

Result<std::string> ClusterBrain::Takeover(Which which) {
  if (phase_ != Phase::kRunning) return Status::Busy("not ready: heartbeat is starting or stopping");
  int count = 0;
  for (int g = 0; g < group_count(); ++g) {
    if (!Matches(g, which) || IsHeld(g)) continue;
    failed_here_[static_cast<size_t>(g)] = false;
    refusal_logged_[static_cast<size_t>(g)] = false;
    requested_.insert(g);
    handoff_.erase(g);
    Bump(g);
    ++count;
  }
  if (count == 0) {
    return std::string("all ") + WhichName(which) + " HA resources are already held here";
  }
  std::string text = std::string("acquire ") + WhichName(which) + " HA resources (standby).";
  Log(HbLevel::kInfo, text);
  Emit(BrainAction::Kind::kSendStatus, -1);
  Reconcile();
  return text;
}

void ClusterBrain::Shutdown() {
  if (phase_ == Phase::kShuttingDown || phase_ == Phase::kDone) return;
  phase_ = Phase::kShuttingDown;
  Log(HbLevel::kInfo, "Giving up all HA resources.");
  Reconcile();
}

// --- decisions ------------------------------------------------------------------

void ClusterBrain::Reconcile() {
  if (phase_ == Phase::kIdle || phase_ == Phase::kDone || op_in_flight_ || stonith_running_) {
    return;
  }
  if (phase_ == Phase::kProbing) {
    if (probe_next_ < group_count()) {
      op_in_flight_ = true;
      Emit(BrainAction::Kind::kProbe, probe_next_);
      return;
    }
    phase_ = Phase::kRunning;
    Emit(BrainAction::Kind::kSendStatus, -1);
  }
  if (phase_ == Phase::kShuttingDown) {
    ReconcileShutdown();
    return;
  }
  if (cfg_.peer_node.empty()) {
    ReconcileWithoutPeer(false);
    return;
  }
  switch (peer_state_) {
    case PeerState::kUnknown:
      return;  // wait for a word from it, or initdead
    case PeerState::kDead:
    case PeerState::kGone:
      ReconcileWithoutPeer(true);
      return;
    case PeerState::kAlive:
      ReconcileWithPeer();
      return;
  }
}

void ClusterBrain::ReconcileShutdown() {
  for (int g = group_count() - 1; g >= 0; --g) {
    if (state_[static_cast<size_t>(g)] != GroupState::kRunning) continue;
    release_[static_cast<size_t>(g)] = true;  // hand over as soon as stopped
    state_[static_cast<size_t>(g)] = GroupState::kStopping;
    Bump(g);
    op_in_flight_ = true;
    Emit(BrainAction::Kind::kStop, g);
    return;
  }
  bool clean = true;
  for (auto s : state_) clean = clean && s != GroupState::kStopFailed;
  phase_ = Phase::kDone;
  Log(HbLevel::kInfo, clean ? "All HA resources relinquished."
                            : "Some HA resources would not stop: not announcing shutdown");
  BrainAction done{BrainAction::Kind::kShutdownDone};
  done.clean = clean;
  actions_.push_back(std::move(done));
}

void ClusterBrain::ReconcileWithoutPeer(bool announce) {
  bool anything_to_take = false;
  for (int g = 0; g < group_count(); ++g) {
    if (state_[static_cast<size_t>(g)] == GroupState::kStopped && !failed_here_[static_cast<size_t>(g)]) {
      anything_to_take = true;
    }
  }
  if (anything_to_take && !stonith_ok_ && peer_state_ == PeerState::kDead && announce) {
    if (!stonith_waiting_) {
      stonith_running_ = true;
      BrainAction a{BrainAction::Kind::kRunStonith};
      actions_.push_back(std::move(a));
    }
    return;
  }
  for (int g = 0; g < group_count(); ++g) {
    const size_t i = static_cast<size_t>(g);
    if (state_[i] != GroupState::kStopped || failed_here_[i]) continue;
    if (announce && !takeover_announced_) {
      takeover_announced_ = true;
      Log(HbLevel::kInfo, "Resources being acquired from " + cfg_.peer_node + ".");
    }
    state_[i] = GroupState::kStarting;
    Bump(g);
    op_in_flight_ = true;
    Emit(BrainAction::Kind::kStart, g);
    Emit(BrainAction::Kind::kSendStatus, -1);
    return;
  }
  if (announce && takeover_announced_ && !takeover_reported_) {
    takeover_reported_ = true;
    Log(HbLevel::kInfo, peer_state_ == PeerState::kGone ? "remote resource transition completed."
                                                        : "mach_down takeover complete.");
  }
  SetActive();
}

void ClusterBrain::ReconcileWithPeer() {
  const PeerReport& p = *peer_;
  if (!p.groups_match) {
    // We cannot tell what it holds: start nothing, stop nothing.
    SetActive();
    return;
  }
  const bool ping_worse = PingWorse();

  // ipfail: the node that sees fewer ping nodes gives everything up.
  if (ping_worse && !ping_standby_) {
    bool any = false;
    for (int g = 0; g < group_count(); ++g) {
      if (state_[static_cast<size_t>(g)] == GroupState::kRunning) {
        release_[static_cast<size_t>(g)] = true;
        any = true;
      }
    }
    ping_standby_ = true;
    if (any) {
      Log(HbLevel::kWarn, "We see " + std::to_string(my_ping_) + " ping node(s), node " +
                              cfg_.peer_node + " sees " + std::to_string(*p.ping_up) +
                              ": giving up our resources to it");
    }
  } else if (!ping_worse && ping_standby_) {
    ping_standby_ = false;
    if (cfg_.auto_failback != config::AutoFailback::kOff) {
      for (int g = 0; g < group_count(); ++g) {
        if (cfg_.groups[static_cast<size_t>(g)].local && p.held.count(g)) {
          requested_.insert(g);
          Bump(g);
        }
      }
      if (!requested_.empty()) {
        Log(HbLevel::kInfo, "Ping nodes reachable again: asking for our resources back");
        Emit(BrainAction::Kind::kSendStatus, -1);
      }
    }
  }

  // auto_failback: once the returning node is ready, hand back what it prefers.
  if (failback_due_ && p.acks_us) {
    failback_due_ = false;
    if (!PeerPingWorse()) {
      bool any = false;
      for (int g = 0; g < group_count(); ++g) {
        const size_t i = static_cast<size_t>(g);
        if (!cfg_.groups[i].local && state_[i] == GroupState::kRunning) {
          release_[i] = true;
          any = true;
        }
      }
      if (any) Log(HbLevel::kInfo, "auto_failback: handing resources back to " + cfg_.peer_node);
    }
  }

  // Stops first.
  for (int g = group_count() - 1; g >= 0; --g) {
    const size_t i = static_cast<size_t>(g);
    if (state_[i] != GroupState::kRunning) continue;
    if (p.held.count(g)) {
      if (!cfg_.groups[i].local) {
        Log(HbLevel::kCrit, "Both nodes hold resource group " + Key(g) +
                                " (a partition healed?): releasing it here, " +
                                cfg_.groups[i].preferred + " is its preferred node");
        release_[i] = false;
        state_[i] = GroupState::kStopping;
        Bump(g);
        op_in_flight_ = true;
        Emit(BrainAction::Kind::kStop, g);
        Emit(BrainAction::Kind::kSendStatus, -1);
        return;
      }
      if (!conflict_logged_[i]) {
        conflict_logged_[i] = true;
        Log(HbLevel::kCrit, "Both nodes hold resource group " + Key(g) +
                                " (a partition healed?): keeping it here, this is its "
                                "preferred node; " +
                                cfg_.peer_node + " releases it");
      }
      continue;
    }
    if (p.requested.count(g) && Fresh(p, g) && !release_[i]) {
      release_[i] = true;
      Log(HbLevel::kInfo, "Node " + cfg_.peer_node + " requests resource group " + Key(g) +
                              ": handing it over");
    }
    if (release_[i]) {
      state_[i] = GroupState::kStopping;
      Bump(g);
      op_in_flight_ = true;
      Emit(BrainAction::Kind::kStop, g);
      Emit(BrainAction::Kind::kSendStatus, -1);
      return;
    }
  }

  // Then starts.
  for (int g = 0; g < group_count(); ++g) {
    const size_t i = static_cast<size_t>(g);
    if (state_[i] != GroupState::kStopped || p.held.count(g)) continue;
    const bool handed = take_[i];
    const bool wanted = requested_.count(g) > 0;
    const bool mine = cfg_.groups[i].local && p.acks_us && handoff_.count(g) == 0 && !ping_worse;
    if (!handed && !wanted && !mine) continue;
    if (failed_here_[i] && !handed) continue;  // refused when latched, or cleared by takeover
    handoff_.erase(g);
    state_[i] = GroupState::kStarting;
    Bump(g);
    op_in_flight_ = true;
    Emit(BrainAction::Kind::kStart, g);
    Emit(BrainAction::Kind::kSendStatus, -1);
    return;
  }
  SetActive();
}

}  // namespace tandem::heartbeat
