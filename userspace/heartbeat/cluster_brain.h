#pragma once
// The decisions of tandem-heartbeat: which resource groups this node should
// run, given what the other node says, whether it is alive, what the operator
// asked for and how the scripts went. A plain state machine with no clock and
// no I/O: the daemon feeds it events and carries out the actions it queues
// (one group operation at a time), so every rule below is unit-tested.
// docs/failover.md states the same rules for administrators.
//
// Start-up. Every group is probed (`status`) first; a group found running is
// held. Until the other node is heard (or initdead passes) nothing starts. We
// acknowledge the other node (`ack` = its generation) only after probing, and
// start a group we prefer only once the other node acknowledges us and does
// not hold it: a node never starts a group preferred by the other one while it
// sees that node alive, except when handed over, so the acknowledgement closes
// the race of two nodes starting at once.
//
// Other node dead (deadtime, or initdead without a word): if a stonith_host
// line applies, STONITH it first and refuse to take over while that fails;
// then acquire every group not running here. A shutdown notice needs no STONITH.
//
// Handing over. A node gives a group up by stopping it and listing it in `ho`;
// the other starts it when it sees it listed and not held. `rq` asks the other
// node to hand groups over (takeover). Messages cross: each node counts its
// changes (its epoch, `ep`) and says how far it has seen the other's (`pe`),
// and a hand-over or request about a group counts only if its sender had seen
// our latest change to that group; a hand-over once seen is remembered until
// the group is started. If each node offers the group to the other (a message
// was lost), its preferred node takes it. Uses: standby and takeover requests, a
// failed start (handed over unless it failed there too: a group that failed to
// start on a node is not started there again until an operator request or the
// other node's death), auto_failback (on the other node's return the holder
// hands back the groups it prefers), ping nodes (ipfail: the node that sees
// fewer gives everything up), and graceful shutdown (each group handed over as
// soon as it is stopped).
//
// Both nodes holding a group (after a partition heals, or a start race): the
// group stays on its preferred node; the other node stops it. Both compute the
// same answer from the same facts, so no negotiation is needed.
//
// A group whose stop failed stays "held" for good: it is listed in `rs`, so
// the other node never starts it while this node is alive, and on shutdown no
// shutdown notice is sent, so the other node waits for deadtime (and STONITH).
//
// Thread-safety: not thread-safe; owned by the daemon's event loop.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/ha_cf.h"
#include "heartbeat/group_operation.h"
#include "heartbeat/hb_log.h"
#include "heartbeat/heartbeat_info.h"
#include "heartbeat/liveness.h"

namespace tandem::heartbeat {

struct BrainGroup {
  std::string key;        // haresources' first resource, canonical
  std::string preferred;  // its node
  bool local = false;     // preferred by this node
};

struct BrainConfig {
  std::string local_node;
  std::string peer_node;  // empty in a one-node cluster
  std::vector<BrainGroup> groups;
  config::AutoFailback auto_failback = config::AutoFailback::kOff;
  bool stonith = false;  // a stonith_host line applies to this node
  bool ipfail = false;   // ping-node failover (a `respawn ... ipfail` line)
  int ping_nodes = 0;
};

// What the other node's latest message says (HeartbeatInfo, interpreted).
struct PeerReport {
  uint64_t generation = 0;
  NodeStatus status = NodeStatus::kUp;
  bool groups_match = true;  // its haresources numbers the groups as ours does
  GroupSet held;
  GroupSet handoff;
  GroupSet requested;
  std::optional<int> ping_up;
  bool acks_us = false;  // its ack names our current generation
  uint64_t epoch = 0;       // its epoch (ep)
  uint64_t seen_epoch = 0;  // our epoch as it last saw it (pe)
};

enum class Which { kAll, kLocal, kForeign };
const char* WhichName(Which which);  // "all", "local", "foreign"
std::optional<Which> ParseWhich(std::string_view text);

enum class GroupState { kStopped, kStarting, kRunning, kStopping, kStopFailed };
const char* GroupStateName(GroupState state);

struct BrainAction {
  enum class Kind {
    kProbe,         // run a probe operation on `group`
    kStart,         // run a start operation on `group`
    kStop,          // run a stop operation on `group`
    kRunStonith,    // STONITH the other node, then call StonithDone
    kSendStatus,    // something we announce changed: send a status now
    kLog,           // log `text` at `level`
    kShutdownDone,  // every group is stopped (clean) or some would not stop
  };
  Kind kind;
  int group = -1;
  HbLevel level = HbLevel::kInfo;
  std::string text;
  bool clean = true;  // kShutdownDone
};

class ClusterBrain {
 public:
  explicit ClusterBrain(BrainConfig config);

  // --- events ---------------------------------------------------------------
  // Begins probing. Call once.
  void Start();
  // A message from the other node was acted upon.
  void PeerAlive(const PeerReport& report);
  // Deadtime (or initdead) passed without a message.
  void PeerDead();
  // The other node announced its shutdown.
  void PeerGone();
  void StonithDone(bool ok);
  // After a failed STONITH: the daemon's retry timer fired.
  void StonithRetry();
  void OperationDone(int group, OpOutcome outcome);
  // Ping nodes this node sees now (ipfail).
  void PingCount(int up);
  // Operator requests: the reply text, or why it is refused.
  Result<std::string> Takeover(Which which);
  Result<std::string> Standby(Which which);
  void Shutdown();

  // --- outputs ---------------------------------------------------------------
  std::vector<BrainAction> TakeActions();

  // What we announce in every message.
  GroupSet Held() const;
  const GroupSet& Handoff() const { return handoff_; }
  const GroupSet& Requested() const { return requested_; }
  NodeStatus Status() const { return active_ ? NodeStatus::kActive : NodeStatus::kUp; }
  // The generation we acknowledge, if any.
  std::optional<uint64_t> Ack() const;
  uint64_t Epoch() const { return epoch_; }
  uint64_t PeerEpoch() const { return peer_epoch_; }

  // --- views ----------------------------------------------------------------
  GroupState state(int group) const { return state_[static_cast<size_t>(group)]; }
  bool failed_here(int group) const { return failed_here_[static_cast<size_t>(group)]; }
  PeerState peer_state() const { return peer_state_; }
  const std::optional<PeerReport>& peer() const { return peer_; }
  bool shutting_down() const { return phase_ == Phase::kShuttingDown || phase_ == Phase::kDone; }
  bool done() const { return phase_ == Phase::kDone; }
  bool active() const { return active_; }
  int group_count() const { return static_cast<int>(cfg_.groups.size()); }
  const BrainConfig& config() const { return cfg_; }

 private:
  enum class Phase { kIdle, kProbing, kRunning, kShuttingDown, kDone };

  void ForgetPeer();
  void Reconcile();
  void ReconcileShutdown();
  void ReconcileWithoutPeer(bool announce);
  void ReconcileWithPeer();
  bool IsHeld(int g) const;
  bool Matches(int g, Which which) const;
  bool PingWorse() const;
  bool PeerPingWorse() const;
  bool PeerUsable() const {
    return peer_state_ == PeerState::kAlive && peer_.has_value() && peer_->groups_match;
  }
  void Emit(BrainAction::Kind kind, int group);
  void Log(HbLevel level, std::string text);
  void SetActive();
  // Records a change to what we say about group g.
  void Bump(int g);
  // The peer's report had seen our latest change to group g.
  bool Fresh(const PeerReport& p, int g) const;
  const std::string& Key(int g) const { return cfg_.groups[static_cast<size_t>(g)].key; }

  BrainConfig cfg_;
  Phase phase_ = Phase::kIdle;
  int probe_next_ = 0;
  bool op_in_flight_ = false;

  std::vector<GroupState> state_;
  std::vector<bool> failed_here_;
  std::vector<bool> release_;       // stop it, then hand it over
  std::vector<bool> conflict_logged_;
  std::vector<bool> refusal_logged_;
  std::vector<bool> take_;  // handed to us: start it when free
  GroupSet handoff_;
  GroupSet requested_;
  uint64_t epoch_ = 1;
  std::vector<uint64_t> changed_;  // our epoch at the last change about each group
  uint64_t peer_epoch_ = 0;

  PeerState peer_state_ = PeerState::kUnknown;
  std::optional<PeerReport> peer_;
  uint64_t peer_generation_ = 0;
  bool failback_due_ = false;

  bool stonith_ok_ = false;
  bool stonith_running_ = false;
  bool stonith_waiting_ = false;  // failed; waiting for StonithRetry
  bool takeover_announced_ = false;
  bool takeover_reported_ = false;

  int my_ping_ = 0;
  bool ping_standby_ = false;

  bool active_ = false;
  std::vector<BrainAction> actions_;
};

}  // namespace tandem::heartbeat
