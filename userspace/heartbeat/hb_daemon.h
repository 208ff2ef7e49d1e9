#pragma once
// The tandem-heartbeat daemon: one event loop (Boost.Asio) that owns every
// piece and all the state. It sends a signed status message on every link each
// keepalive, passes what arrives through InboundFilter, tracks the other node
// and the links with PeerLiveness and the ping nodes with PingTracker, feeds
// ClusterBrain and carries out its actions: group operations (one at a time,
// each script through ScriptRunner), STONITH, status messages, the shutdown
// notice. Operators reach it through the control socket RUN_DIR/heartbeat.sock
// (status, takeover, standby, shutdown). docs/heartbeat-protocol.md and
// docs/failover.md describe the behaviour.
//
// Contract: Start() either brings everything up or returns the reason it
// cannot (generation not recorded, no usable link, control socket busy); it
// never throws. Once started, no runtime failure stops the daemon: a link or
// ping socket that fails is retried, a script that fails is handled by the
// brain's rules. Shutdown() stops the groups, tells the other node, stops the
// respawned clients, and then stops the event loop.
// Thread-safety: everything runs on `loop`; Snapshot() and the accessors are
// for that thread too (in-process tests post to it).

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ctl/server.h"
#include "heartbeat/child_processes.h"
#include "heartbeat/cluster_brain.h"
#include "heartbeat/group_operation.h"
#include "heartbeat/hb_env.h"
#include "heartbeat/heartbeat_config.h"
#include "heartbeat/inbound.h"
#include "heartbeat/liveness.h"
#include "heartbeat/medium.h"
#include "heartbeat/message_auth.h"
#include "heartbeat/ping_prober.h"
#include "heartbeat/respawner.h"
#include "heartbeat/status_view.h"
#include "heartbeat/stonith_plan.h"

namespace tandem::heartbeat {

inline constexpr const char* kDefaultStateDir = "/var/lib/tandem";
inline constexpr const char* kControlSocketName = "heartbeat.sock";
inline constexpr const char* kPidFileName = "heartbeat.pid";

struct DaemonOptions {
  std::string node;
  std::string run_dir;
  std::string config_dir;
  std::string state_dir = kDefaultStateDir;
  std::string init_dir = "/etc/init.d";
  std::string bind_address;  // this node's own address (several nodes on one machine)
  bool log_to_stderr = false;
  bool debug = false;
  int64_t stop_retry_delay_ms = 1000;  // between attempts of a failing stop
  int64_t status_timeout_ms = 60000;   // a `status` call that hangs counts as not running
  int64_t stonith_timeout_ms = 120000;
};

// The environment resource scripts, STONITH commands and respawned clients run
// with: ours, plus HA_D, HA_RESOURCEDIR, HA_CURHOST, HA_RSCTMP, HA_LOGFILE,
// HA_DEBUGLOG, HA_LOGFACILITY, TANDEM_NODE and TANDEM_RUN_DIR (kept when
// already set: it names tandemd's run directory). docs/failover.md lists them.
std::vector<std::string> ScriptEnvironment(const std::vector<std::string>& inherited,
                                           const DaemonOptions& options,
                                           const config::HaCf& cf);

class HeartbeatDaemon {
 public:
  HeartbeatDaemon(boost::asio::io_context& loop, HbEnv* env, DaemonOptions options,
                  HeartbeatConfig config);
  ~HeartbeatDaemon();
  HeartbeatDaemon(const HeartbeatDaemon&) = delete;
  HeartbeatDaemon& operator=(const HeartbeatDaemon&) = delete;

  Status Start();
  void Shutdown();
  bool finished() const { return finished_; }

  StatusSnapshot Snapshot() const;
  const ClusterBrain& brain() const { return *brain_; }
  uint64_t generation() const { return generation_; }

 private:
  struct RunningOp {
    int group = -1;
    std::unique_ptr<GroupOperation> op;
  };

  // --- set-up
  Status SetUpMedia();
  void SetUpPing();
  BrainConfig MakeBrainConfig() const;
  std::string GroupsDigest() const;

  // --- messages
  void SendStatus(MessageType type = MessageType::kStatus);
  void OnKeepalive();
  void OnReceive(int link, std::string_view bytes, const std::string& source);
  void OnGarbage(size_t bytes, const std::string& source);
  void Drop(DropReason reason, const std::string& source, const std::string& claimed,
            const std::string& detail);
  void OnPeerMessage(int link, const InboundResult& r);
  PeerReport MakeReport(const HeartbeatInfo& info) const;

  // --- liveness and ping
  void HandleLiveness(const std::vector<LivenessEvent>& events);
  void HandlePing(const std::vector<PingTracker::Event>& events);
  void ArmDeadline();
  void OnDeadline();

  // --- brain actions
  void Pump();
  void BeginOperation(int group, OpKind kind);
  void RunStep();
  void FinishOperation();
  void RunStonith(size_t index);
  void FinishShutdown(bool clean);
  void SendShutdownNotice(int copies_left);
  void WaitSignal();
  void ExitLoop();

  // --- control socket
  void HandleControl(const ctl::Request& request, ctl::ControlServer::Reply reply);

  std::string GroupLine(int group) const;

  boost::asio::io_context& loop_;
  HbEnv* env_;
  DaemonOptions o_;
  HeartbeatConfig cfg_;
  std::string peer_;  // "" when alone
  std::vector<std::string> script_env_;
  std::string resource_dir_;

  uint64_t generation_ = 0;
  uint64_t seq_ = 0;
  std::string groups_digest_;

  MessageSigner signer_;
  std::unique_ptr<InboundFilter> inbound_;
  std::unique_ptr<ClusterBrain> brain_;
  std::unique_ptr<PeerLiveness> liveness_;
  std::unique_ptr<PingTracker> ping_tracker_;
  std::unique_ptr<PingProber> ping_prober_;
  std::vector<std::unique_ptr<Medium>> media_;
  std::unique_ptr<ChildProcesses> children_;
  std::unique_ptr<ScriptRunner> scripts_;
  std::unique_ptr<Respawner> respawner_;
  std::unique_ptr<ctl::ControlServer> control_;
  std::vector<StonithCommand> stonith_;

  boost::asio::steady_timer keepalive_timer_;
  boost::asio::steady_timer deadline_timer_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer stonith_timer_;
  boost::asio::steady_timer exit_timer_;
  boost::asio::signal_set signals_;

  RunningOp running_;
  bool pumping_ = false;
  bool retry_pending_ = false;
  bool status_due_ = false;
  bool shutting_down_ = false;
  bool notice_sent_ = false;
  bool finished_ = false;
  std::optional<NodeStatus> peer_status_logged_;
  std::optional<uint64_t> peer_ping_up_;
  bool deadtime_mismatch_logged_ = false;
  bool digest_mismatch_logged_ = false;
  std::map<std::string, uint64_t> dropped_;
  std::set<std::string> drop_logged_;
  std::shared_ptr<bool> alive_;
};

}  // namespace tandem::heartbeat
