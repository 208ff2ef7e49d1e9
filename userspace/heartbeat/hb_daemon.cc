#include "heartbeat/hb_daemon.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdio>

#include "common/crc32c.h"
#include "common/strings.h"
#include "common/version.h"
#include "heartbeat/generation.h"
#include "heartbeat/hb_log.h"
#include "heartbeat/resource_script.h"

namespace tandem::heartbeat {

namespace asio = boost::asio;

namespace {

constexpr int kShutdownNoticeCopies = 3;
constexpr auto kShutdownNoticeSpacing = std::chrono::milliseconds(50);

bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::vector<std::string> ScriptEnvironment(const std::vector<std::string>& inherited,
                                           const DaemonOptions& options,
                                           const config::HaCf& cf) {
  std::vector<std::string> env;
  bool have_path = false, have_run_dir = false;
  for (const auto& e : inherited) {
    if (HasPrefix(e, "HA_") || HasPrefix(e, "TANDEM_NODE=")) continue;
    if (HasPrefix(e, "PATH=")) have_path = true;
    if (HasPrefix(e, "TANDEM_RUN_DIR=")) have_run_dir = true;
    env.push_back(e);
  }
  if (!have_path) env.emplace_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env.push_back("HA_D=" + options.config_dir);
  env.push_back("HA_RESOURCEDIR=" + PathInConfigDir(options.config_dir, "resource.d"));
  env.push_back("HA_CURHOST=" + options.node);
  env.push_back("HA_RSCTMP=" + PathInConfigDir(options.run_dir, "rsctmp"));
  if (!cf.logfile.empty()) env.push_back("HA_LOGFILE=" + cf.logfile);
  if (!cf.debugfile.empty()) env.push_back("HA_DEBUGLOG=" + cf.debugfile);
  if (!cf.log_facility.empty() && cf.log_facility != "none") {
    env.push_back("HA_LOGFACILITY=" + cf.log_facility);
  }
  env.push_back("TANDEM_NODE=" + options.node);
  if (!have_run_dir) env.push_back("TANDEM_RUN_DIR=" + options.run_dir);
  return env;
}

HeartbeatDaemon::HeartbeatDaemon(asio::io_context& loop, HbEnv* env, DaemonOptions options,
                                 HeartbeatConfig config)
    : loop_(loop), env_(env), o_(std::move(options)), cfg_(std::move(config)),
      signer_(cfg_.auth_keys), keepalive_timer_(loop), deadline_timer_(loop), retry_timer_(loop),
      stonith_timer_(loop), exit_timer_(loop), signals_(loop),
      alive_(std::make_shared<bool>(true)) {
  for (const auto& n : cfg_.ha_cf.nodes) {
    if (n.name != cfg_.ha_cf.local_node) peer_ = n.name;
  }
  resource_dir_ = PathInConfigDir(o_.config_dir, "resource.d");
  std::vector<std::string> inherited;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) inherited.emplace_back(*e);
  script_env_ = ScriptEnvironment(inherited, o_, cfg_.ha_cf);
  groups_digest_ = GroupsDigest();
}

HeartbeatDaemon::~HeartbeatDaemon() {
  *alive_ = false;
  for (auto& m : media_) m->Stop();
  if (control_) control_->Stop();
}

std::string HeartbeatDaemon::GroupsDigest() const {
  std::string text;
  for (const auto& g : cfg_.resources.groups) text += g.node + " " + g.Key() + "\n";
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", Crc32c(text.data(), text.size()));
  return buf;
}

std::string HeartbeatDaemon::GroupLine(int group) const {
  const auto& g = cfg_.resources.groups[static_cast<size_t>(group)];
  std::string line = g.node;
  for (const auto& r : g.resources) line += " " + r.Canonical();
  return line;
}

BrainConfig HeartbeatDaemon::MakeBrainConfig() const {
  BrainConfig b;
  b.local_node = cfg_.ha_cf.local_node;
  b.peer_node = peer_;
  for (const auto& g : cfg_.resources.groups) {
    b.groups.push_back(BrainGroup{g.Key(), g.node, g.node == cfg_.ha_cf.local_node});
  }
  b.auto_failback = cfg_.ha_cf.auto_failback;
  b.stonith = !stonith_.empty();
  b.ipfail = std::any_of(cfg_.ha_cf.respawns.begin(), cfg_.ha_cf.respawns.end(),
                         [](const config::HaRespawn& r) { return IsIpfail(r); });
  b.ping_nodes = static_cast<int>(cfg_.ha_cf.ping_nodes.size());
  return b;
}

// --- start-up --------------------------------------------------------------------

Status HeartbeatDaemon::Start() {
  const config::HaCf& cf = cfg_.ha_cf;
  HbLog(HbLevel::kInfo, "**************************");
  HbLog(HbLevel::kInfo, std::string("Configuration validated. Starting heartbeat (Tandem) ") +
                            kVersion);
  if (cf.auto_failback == config::AutoFailback::kLegacy) {
    HbLog(HbLevel::kWarn, "Deprecated 'legacy' auto_failback option selected: behaving as "
                          "'auto_failback on'");
  }
  if (signer_.active_is_crc()) {
    HbLog(HbLevel::kWarn, "authkeys signs with crc, which is not secure: anyone on the "
                          "heartbeat network can forge packets. Use sha1.");
  }
  TANDEM_RETURN_IF_ERROR(env_->MakeDirectory(o_.run_dir, 0755));
  TANDEM_RETURN_IF_ERROR(env_->MakeDirectory(PathInConfigDir(o_.run_dir, "rsctmp"), 0755));
  TANDEM_RETURN_IF_ERROR(env_->MakeDirectory(o_.state_dir, 0755));
  auto gen = NextGeneration(env_, PathInConfigDir(o_.state_dir, "hb_generation"));
  if (!gen.ok()) return gen.status();
  if (!gen->warning.empty()) HbLog(HbLevel::kWarn, gen->warning);
  generation_ = gen->generation;

  stonith_ = PlanStonith(cf, o_.config_dir, peer_);
  inbound_ = std::make_unique<InboundFilter>(cf.local_node, cf.NodeNames(), &signer_);
  children_ = std::make_unique<ChildProcesses>(loop_, env_);
  scripts_ = std::make_unique<ScriptRunner>(loop_, env_, children_.get());
  TANDEM_RETURN_IF_ERROR(SetUpMedia());

  const int64_t now = env_->MonotonicMs();
  if (!peer_.empty()) {
    liveness_ = std::make_unique<PeerLiveness>(
        static_cast<int>(media_.size()),
        LivenessTimes{cf.deadtime_ms, cf.warntime_ms, cf.initdead_ms}, now);
  }
  SetUpPing();

  auto alive = alive_;
  control_ = std::make_unique<ctl::ControlServer>(
      loop_, PathInConfigDir(o_.run_dir, kControlSocketName),
      [this, alive](const ctl::Request& r, ctl::ControlServer::Reply reply) {
        if (*alive) HandleControl(r, std::move(reply));
      });
  Status st = control_->Start();
  if (!st.ok()) return Status::IoError("control socket: " + st.message());

  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  WaitSignal();

  respawner_ = std::make_unique<Respawner>(loop_, env_, children_.get(), cf.respawns, script_env_);
  brain_ = std::make_unique<ClusterBrain>(MakeBrainConfig());
  HbLog(HbLevel::kInfo, "Local status now set to: 'up'");
  for (auto& m : media_) m->Start();
  if (ping_prober_) ping_prober_->Start();
  respawner_->Start();
  brain_->Start();
  OnKeepalive();
  ArmDeadline();
  Pump();
  return Status::Ok();
}

void HeartbeatDaemon::WaitSignal() {
  auto alive = alive_;
  signals_.async_wait([this, alive](const boost::system::error_code& ec, int sig) {
    if (!*alive || ec) return;
    if (sig == SIGHUP) {
      HbLog(HbLevel::kInfo, "SIGHUP: Tandem does not reload its configuration; restart "
                            "heartbeat to apply changes");
    } else {
      Shutdown();
    }
    WaitSignal();
  });
}

Status HeartbeatDaemon::SetUpMedia() {
  auto local = env_->InterfaceAddresses();
  if (!local.ok()) return local.status();
  auto plan = PlanMedia(cfg_.ha_cf, *local, o_.bind_address);
  if (!plan.ok()) return plan.status();
  auto alive = alive_;
  for (size_t i = 0; i < plan->size(); ++i) {
    const int link = static_cast<int>(i);
    media_.push_back(MakeMedium(
        loop_, env_, (*plan)[i],
        [this, alive, link](std::string_view bytes, const std::string& source) {
          if (*alive) OnReceive(link, bytes, source);
        },
        [this, alive](size_t bytes, const std::string& source) {
          if (*alive) OnGarbage(bytes, source);
        }));
  }
  return Status::Ok();
}

void HeartbeatDaemon::SetUpPing() {
  const config::HaCf& cf = cfg_.ha_cf;
  if (cf.ping_nodes.empty()) return;
  std::vector<PingTracker::Node> nodes;
  std::vector<std::string> addresses;
  for (const auto& p : cf.ping_nodes) {
    nodes.push_back(PingTracker::Node{p.name, p.addresses});
    addresses.insert(addresses.end(), p.addresses.begin(), p.addresses.end());
  }
  ping_tracker_ = std::make_unique<PingTracker>(std::move(nodes), cf.deadping_ms,
                                                env_->MonotonicMs());
  EchoId id;
  id.identifier = static_cast<uint16_t>(::getpid() & 0xffff);
  id.token = env_->files()->RandomU64();
  auto alive = alive_;
  ping_prober_ = std::make_unique<PingProber>(
      loop_, env_, std::move(addresses), o_.bind_address, std::max<int64_t>(cf.keepalive_ms, 100),
      id, [this, alive](const std::string& address) {
        if (!*alive || !ping_tracker_) return;
        HandlePing(ping_tracker_->ReplyFrom(address, env_->MonotonicMs()));
      });
}

// --- messages ----------------------------------------------------------------------

void HeartbeatDaemon::SendStatus(MessageType type) {
  if (!brain_) return;
  if (type == MessageType::kShutdown) notice_sent_ = true;
  if (type == MessageType::kStatus && notice_sent_) return;  // nothing may follow the notice
  HeartbeatInfo info;
  info.type = type;
  info.src = cfg_.ha_cf.local_node;
  info.seq = ++seq_;
  info.generation = generation_;
  info.timestamp = static_cast<uint64_t>(std::max<int64_t>(env_->WallSeconds(), 0));
  info.deadtime_ms = cfg_.ha_cf.deadtime_ms;
  info.status = brain_->Status();
  info.groups_digest = groups_digest_;
  if (type == MessageType::kStatus) {
    info.held = brain_->Held();
    info.handoff = brain_->Handoff();
    info.requested = brain_->Requested();
    info.ack_generation = brain_->Ack();
  }
  info.epoch = brain_->Epoch();
  info.peer_epoch = brain_->PeerEpoch();
  if (ping_tracker_) info.ping_up = ping_tracker_->UpCount();
  for (auto& m : media_) {
    info.link = m->spec().tag;
    Message msg = ToMessage(info);
    signer_.Sign(&msg);
    m->Send(EncodeMessage(msg));
  }
}

void HeartbeatDaemon::OnKeepalive() {
  if (finished_) return;
  SendStatus();
  auto alive = alive_;
  keepalive_timer_.expires_after(std::chrono::milliseconds(cfg_.ha_cf.keepalive_ms));
  keepalive_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (*alive && !ec) OnKeepalive();
  });
}

void HeartbeatDaemon::OnGarbage(size_t bytes, const std::string& source) {
  Drop(DropReason::kMalformed, source, "",
       std::to_string(bytes) + " bytes of line noise between messages");
}

void HeartbeatDaemon::Drop(DropReason reason, const std::string& source, const std::string& claimed,
                           const std::string& detail) {
  ++dropped_[DropReasonName(reason)];
  const std::string key = std::string(DropReasonName(reason)) + "|" + source;
  if (!drop_logged_.insert(key).second) return;
  std::string who = source;
  if (!claimed.empty()) who += " (claiming to be node " + claimed + ")";
  HbLog(reason == DropReason::kSelf ? HbLevel::kWarn : HbLevel::kError,
        "Dropped a heartbeat message from " + who + ": " + detail +
            " [further such drops from this source are counted, not logged]");
}

void HeartbeatDaemon::OnReceive(int link, std::string_view bytes, const std::string& source) {
  if (finished_) return;
  InboundResult r = inbound_->Process(bytes, media_[static_cast<size_t>(link)]->spec().tag);
  if (r.kind == InboundResult::Kind::kDrop) {
    const auto kind = media_[static_cast<size_t>(link)]->spec().kind;
    // Our own broadcasts and multicasts come back to us: expected, not news.
    if (r.reason == DropReason::kSelf && (kind == config::HaMedium::Kind::kBcast ||
                                          kind == config::HaMedium::Kind::kMcast)) {
      return;
    }
    Drop(r.reason, source, r.claimed_src, r.detail);
    return;
  }
  if (!liveness_) return;
  if (r.info.type == MessageType::kShutdown) {
    // Its copies (one per link, a few times over) after the first change nothing.
    if (r.kind == InboundResult::Kind::kAccept && liveness_->state() != PeerState::kGone) {
      OnPeerMessage(link, r);
    }
    return;
  }
  const int64_t now = env_->MonotonicMs();
  HandleLiveness(liveness_->LinkHeard(link, now));
  if (r.kind == InboundResult::Kind::kDuplicate) return;
  OnPeerMessage(link, r);
}

PeerReport HeartbeatDaemon::MakeReport(const HeartbeatInfo& info) const {
  PeerReport p;
  p.generation = info.generation;
  p.status = info.status;
  p.groups_match = info.groups_digest == groups_digest_;
  const int n = static_cast<int>(cfg_.resources.groups.size());
  auto in_range = [n](const GroupSet& s) { return s.empty() || *s.rbegin() < n; };
  if (!in_range(info.held) || !in_range(info.handoff) || !in_range(info.requested)) {
    p.groups_match = false;
  }
  if (p.groups_match) {
    p.held = info.held;
    p.handoff = info.handoff;
    p.requested = info.requested;
  }
  p.ping_up = info.ping_up;
  p.acks_us = info.ack_generation && *info.ack_generation == generation_;
  p.epoch = info.epoch;
  p.seen_epoch = info.peer_epoch;
  return p;
}

void HeartbeatDaemon::OnPeerMessage(int /*link*/, const InboundResult& r) {
  const HeartbeatInfo& info = r.info;
  const int64_t now = env_->MonotonicMs();
  if (r.restarted) {
    HbLog(HbLevel::kInfo, "Heartbeat restart on node " + info.src);
    peer_status_logged_.reset();
  }
  if (info.deadtime_ms != cfg_.ha_cf.deadtime_ms && !deadtime_mismatch_logged_) {
    deadtime_mismatch_logged_ = true;
    HbLog(HbLevel::kWarn, "node " + info.src + " has deadtime " +
                              std::to_string(info.deadtime_ms) + " ms, ours is " +
                              std::to_string(cfg_.ha_cf.deadtime_ms) +
                              " ms: the two ha.cf files should agree");
  }
  if (info.groups_digest != groups_digest_ && !digest_mismatch_logged_) {
    digest_mismatch_logged_ = true;
    HbLog(HbLevel::kError, "node " + info.src +
                               " has a different haresources (groups digest " +
                               info.groups_digest + ", ours " + groups_digest_ +
                               "): not starting or stopping anything on its account");
  }
  if (info.type == MessageType::kShutdown) {
    HbLog(HbLevel::kInfo, "Received shutdown notice from '" + info.src + "'.");
    liveness_->MarkGone(now);
    peer_status_logged_.reset();
    peer_ping_up_.reset();
    brain_->PeerGone();
    Pump();
    ArmDeadline();
    return;
  }
  HandleLiveness(liveness_->NodeHeard(now));
  if (!peer_status_logged_ || *peer_status_logged_ != info.status) {
    peer_status_logged_ = info.status;
    HbLog(HbLevel::kInfo,
          "Status update for node " + info.src + ": status " + NodeStatusName(info.status));
  }
  peer_ping_up_ = info.ping_up;
  brain_->PeerAlive(MakeReport(info));
  Pump();
  ArmDeadline();
}

// --- liveness and ping ---------------------------------------------------------------

void HeartbeatDaemon::HandleLiveness(const std::vector<LivenessEvent>& events) {
  for (const auto& e : events) {
    switch (e.kind) {
      case LivenessEvent::Kind::kLinkUp:
        HbLog(HbLevel::kInfo, "Link " + peer_ + ":" +
                                  media_[static_cast<size_t>(e.link)]->spec().label + " up.");
        break;
      case LivenessEvent::Kind::kLinkDead:
        HbLog(HbLevel::kInfo, "Link " + peer_ + ":" +
                                  media_[static_cast<size_t>(e.link)]->spec().label + " dead.");
        break;
      case LivenessEvent::Kind::kLate:
        HbLog(HbLevel::kWarn, "Late heartbeat: Node " + peer_ + ": interval " +
                                  std::to_string(e.interval_ms) + " ms");
        break;
      case LivenessEvent::Kind::kNodeUp:
        break;  // "Status update ..." follows with the status it sent
      case LivenessEvent::Kind::kNodeDead:
        HbLog(HbLevel::kWarn, "node " + peer_ + ": is dead");
        peer_status_logged_.reset();
        peer_ping_up_.reset();
        brain_->PeerDead();
        Pump();
        break;
    }
  }
  ArmDeadline();
}

void HeartbeatDaemon::HandlePing(const std::vector<PingTracker::Event>& events) {
  if (events.empty()) return;
  for (const auto& e : events) {
    const auto& n = ping_tracker_->node(e.node);
    if (e.up) {
      HbLog(HbLevel::kInfo, "Status update for ping node " + n.name + ": status ping");
    } else {
      HbLog(HbLevel::kWarn, "ping node " + n.name + ": is dead");
    }
  }
  brain_->PingCount(ping_tracker_->UpCount());
  Pump();
  ArmDeadline();
}

void HeartbeatDaemon::ArmDeadline() {
  if (finished_) return;
  int64_t next = PeerLiveness::kNever;
  if (liveness_) next = std::min(next, liveness_->NextDeadline());
  if (ping_tracker_) next = std::min(next, ping_tracker_->NextDeadline());
  if (next == PeerLiveness::kNever) {
    deadline_timer_.cancel();
    return;
  }
  const int64_t wait = std::max<int64_t>(0, next - env_->MonotonicMs());
  auto alive = alive_;
  deadline_timer_.expires_after(std::chrono::milliseconds(wait));
  deadline_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (*alive && !ec) OnDeadline();
  });
}

void HeartbeatDaemon::OnDeadline() {
  if (finished_) return;
  const int64_t now = env_->MonotonicMs();
  if (ping_tracker_) HandlePing(ping_tracker_->Check(now));
  if (liveness_) HandleLiveness(liveness_->Check(now));
  ArmDeadline();
}

// --- the brain's actions -------------------------------------------------------------

void HeartbeatDaemon::Pump() {
  if (pumping_) return;  // actions queued meanwhile are taken by the loop below
  pumping_ = true;
  for (;;) {
    auto actions = brain_->TakeActions();
    if (actions.empty()) break;
    for (auto& a : actions) {
      switch (a.kind) {
        case BrainAction::Kind::kProbe:
          BeginOperation(a.group, OpKind::kProbe);
          break;
        case BrainAction::Kind::kStart:
          BeginOperation(a.group, OpKind::kStart);
          break;
        case BrainAction::Kind::kStop:
          BeginOperation(a.group, OpKind::kStop);
          break;
        case BrainAction::Kind::kRunStonith:
          HbLog(HbLevel::kInfo, "Resetting node " + peer_ + " with STONITH before taking over");
          RunStonith(0);
          break;
        case BrainAction::Kind::kSendStatus:
          status_due_ = true;
          break;
        case BrainAction::Kind::kLog:
          HbLog(a.level, a.text);
          break;
        case BrainAction::Kind::kShutdownDone:
          FinishShutdown(a.clean);
          break;
      }
    }
  }
  pumping_ = false;
  if (status_due_ && !finished_) {
    status_due_ = false;
    SendStatus();
  }
}

void HeartbeatDaemon::BeginOperation(int group, OpKind kind) {
  const auto& g = cfg_.resources.groups[static_cast<size_t>(group)];
  running_.group = group;
  running_.op = std::make_unique<GroupOperation>(kind, static_cast<int>(g.resources.size()));
  if (kind == OpKind::kStart) {
    HbLog(HbLevel::kInfo, "Acquiring resource group: " + GroupLine(group));
  } else if (kind == OpKind::kStop) {
    HbLog(HbLevel::kInfo, "Releasing resource group: " + GroupLine(group));
  }
  auto alive = alive_;
  asio::post(loop_, [this, alive] {
    if (*alive) RunStep();
  });
}

void HeartbeatDaemon::RunStep() {
  GroupOperation& op = *running_.op;
  if (op.done()) {
    FinishOperation();
    return;
  }
  const ScriptStep step = *op.next();
  auto alive = alive_;
  if (step.attempt > 1 && !retry_pending_) {
    retry_pending_ = true;
    retry_timer_.expires_after(std::chrono::milliseconds(o_.stop_retry_delay_ms));
    retry_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
      if (!*alive || ec) return;
      RunStep();
    });
    return;
  }
  retry_pending_ = false;
  const auto& g = cfg_.resources.groups[static_cast<size_t>(running_.group)];
  const config::HaResource& res = g.resources[static_cast<size_t>(step.resource)];
  auto where = LocateResourceScript(env_->files(), resource_dir_, o_.init_dir, res.name);
  if (!where.ok()) {
    HbLog(HbLevel::kError, where.status().message());
    // Nothing of a script that is not there can be running, nor be stopped.
    op.Record(step.action == ScriptAction::kStop ? 0 : 5, false);
    asio::post(loop_, [this, alive] {
      if (*alive) RunStep();
    });
    return;
  }
  const std::vector<std::string> argv = ResourceArgv(*where, res, step.action);
  const std::string command = Join(argv, " ");
  if (step.action == ScriptAction::kStatus) {
    HbLog(HbLevel::kDebug, "Running " + command);
  } else {
    HbLog(HbLevel::kInfo, "Running " + command +
                              (step.attempt > 1 ? " (attempt " + std::to_string(step.attempt) + ")"
                                                : ""));
  }
  const int64_t timeout = step.action == ScriptAction::kStatus ? o_.status_timeout_ms : 0;
  scripts_->Run(argv, script_env_, timeout,
                [this, alive, step, command, name = res.name](const ScriptResult& result) {
                  if (!*alive || !running_.op) return;
                  const HbLevel level =
                      step.action == ScriptAction::kStatus ? HbLevel::kDebug : HbLevel::kInfo;
                  for (const auto& line : SplitOn(result.output, '\n')) {
                    if (!TrimWhitespace(line).empty()) HbLog(level, name + ": " + line);
                  }
                  if (result.timed_out) {
                    HbLog(HbLevel::kError, command + " timed out and was killed");
                  }
                  const bool running = step.action == ScriptAction::kStatus &&
                                       !result.timed_out &&
                                       StatusSaysRunning(result.exit_code, result.output);
                  if (step.action != ScriptAction::kStatus && result.exit_code != 0) {
                    HbLog(HbLevel::kError, "Return code " + std::to_string(result.exit_code) +
                                               " from " + command);
                  }
                  running_.op->Record(result.exit_code, running);
                  RunStep();
                });
}

void HeartbeatDaemon::FinishOperation() {
  const int group = running_.group;
  const OpKind kind = running_.op->kind();
  const OpOutcome outcome = running_.op->outcome();
  running_.op.reset();
  running_.group = -1;
  if (kind == OpKind::kStart && outcome == OpOutcome::kStarted) {
    HbLog(HbLevel::kDebug, "Resource group " + GroupLine(group) + " started");
  }
  brain_->OperationDone(group, outcome);
  Pump();
}

void HeartbeatDaemon::RunStonith(size_t index) {
  auto alive = alive_;
  if (index >= stonith_.size()) {
    brain_->StonithDone(false);
    Pump();
    stonith_timer_.expires_after(std::chrono::milliseconds(cfg_.ha_cf.deadtime_ms));
    stonith_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
      if (!*alive || ec) return;
      brain_->StonithRetry();
      Pump();
    });
    return;
  }
  const auto& c = stonith_[index];
  HbLog(HbLevel::kInfo, "Running STONITH command " + Join(c.argv, " ") + " (" +
                            c.where.ToString() + ")");
  scripts_->Run(c.argv, script_env_, o_.stonith_timeout_ms,
                [this, alive, index](const ScriptResult& result) {
                  if (!*alive) return;
                  for (const auto& line : SplitOn(result.output, '\n')) {
                    if (!TrimWhitespace(line).empty()) HbLog(HbLevel::kInfo, "stonith: " + line);
                  }
                  if (result.exit_code == 0 && !result.timed_out) {
                    brain_->StonithDone(true);
                    Pump();
                    return;
                  }
                  HbLog(HbLevel::kError,
                        "STONITH command " + Join(stonith_[index].argv, " ") + " failed (" +
                            (result.timed_out ? std::string("timed out")
                                              : "exit code " + std::to_string(result.exit_code)) +
                            ")");
                  RunStonith(index + 1);
                });
}

// --- shutdown ------------------------------------------------------------------------

void HeartbeatDaemon::Shutdown() {
  if (shutting_down_) {
    HbLog(HbLevel::kInfo, "Heartbeat shutdown already in progress.");
    return;
  }
  shutting_down_ = true;
  HbLog(HbLevel::kInfo,
        "Heartbeat shutdown in progress. (" + std::to_string(static_cast<int>(::getpid())) + ")");
  brain_->Shutdown();
  Pump();
}

void HeartbeatDaemon::FinishShutdown(bool clean) {
  auto alive = alive_;
  respawner_->StopAll([this, alive, clean] {
    if (!*alive) return;
    if (!clean || peer_.empty()) {
      ExitLoop();
      return;
    }
    // The shutdown notice, a few times over every link: UDP may lose one.
    // No status message may follow it.
    keepalive_timer_.cancel();
    SendShutdownNotice(kShutdownNoticeCopies);
  });
}

void HeartbeatDaemon::SendShutdownNotice(int copies_left) {
  SendStatus(MessageType::kShutdown);
  if (copies_left <= 1) {
    ExitLoop();
    return;
  }
  auto alive = alive_;
  exit_timer_.expires_after(kShutdownNoticeSpacing);
  exit_timer_.async_wait([this, alive, copies_left](const boost::system::error_code& ec) {
    if (*alive && !ec) SendShutdownNotice(copies_left - 1);
  });
}

void HeartbeatDaemon::ExitLoop() {
  finished_ = true;
  HbLog(HbLevel::kInfo, "Heartbeat shutdown complete.");
  keepalive_timer_.cancel();
  deadline_timer_.cancel();
  retry_timer_.cancel();
  stonith_timer_.cancel();
  boost::system::error_code ec;
  signals_.cancel(ec);
  if (ping_prober_) ping_prober_->Stop();
  for (auto& m : media_) m->Stop();
  if (control_) control_->Stop();
  loop_.stop();
}

// --- control socket ------------------------------------------------------------------

void HeartbeatDaemon::HandleControl(const ctl::Request& request,
                                    ctl::ControlServer::Reply reply) {
  if (request.cmd == "status") {
    reply(ctl::OkReply(StatusToJson(Snapshot())));
    return;
  }
  if (request.cmd == "takeover" || request.cmd == "standby") {
    std::string which_text = "all";
    if (request.args.contains("which") && request.args["which"].is_string()) {
      which_text = request.args["which"].get<std::string>();
    }
    auto which = ParseWhich(which_text);
    if (!which) {
      reply(ctl::ErrorReply("'" + which_text.substr(0, 32) + "' is not all, foreign or local", 1));
      return;
    }
    auto r = request.cmd == "takeover" ? brain_->Takeover(*which) : brain_->Standby(*which);
    Pump();
    if (!r.ok()) {
      reply(ctl::ErrorReply(r.status().message(), 2));
      return;
    }
    reply(ctl::OkReply({{"message", *r}}));
    return;
  }
  if (request.cmd == "shutdown") {
    reply(ctl::OkReply({{"message", "Heartbeat shutdown in progress."},
                        {"pid", static_cast<int>(::getpid())}}));
    Shutdown();
    return;
  }
  reply(ctl::ErrorReply("unknown command '" + request.cmd.substr(0, 32) +
                            "' (status, takeover, standby, shutdown)",
                        1));
}

StatusSnapshot HeartbeatDaemon::Snapshot() const {
  StatusSnapshot s;
  s.node = cfg_.ha_cf.local_node;
  s.pid = static_cast<int>(::getpid());
  s.generation = generation_;
  s.status = shutting_down_ ? "shutting-down" : NodeStatusName(brain_->Status());
  s.auto_failback = config::AutoFailbackName(cfg_.ha_cf.auto_failback);
  s.peer = peer_;
  if (!peer_.empty()) {
    const PeerState ps = brain_->peer_state();
    s.peer_status = PeerStateName(ps);
    if (ps == PeerState::kAlive && peer_status_logged_) {
      s.peer_status = NodeStatusName(*peer_status_logged_);
    }
    s.peer_generation = inbound_->replay_guard().generation(peer_);
    s.peer_ping_up = peer_ping_up_;
  }
  for (size_t i = 0; i < media_.size(); ++i) {
    StatusSnapshot::Link l;
    l.tag = media_[i]->spec().tag;
    l.label = media_[i]->spec().label;
    l.open = media_[i]->is_open();
    l.state = liveness_ ? LinkStateName(liveness_->link_state(static_cast<int>(i))) : "unknown";
    s.links.push_back(std::move(l));
  }
  if (ping_tracker_) {
    for (int i = 0; i < ping_tracker_->size(); ++i) {
      const auto& n = ping_tracker_->node(i);
      s.ping_nodes.push_back({n.name, n.addresses, LinkStateName(ping_tracker_->state(i))});
    }
    s.ping_up = ping_tracker_->UpCount();
  }
  const auto& peer = brain_->peer();
  for (int g = 0; g < brain_->group_count(); ++g) {
    StatusSnapshot::Group out;
    const auto& bg = brain_->config().groups[static_cast<size_t>(g)];
    out.key = bg.key;
    out.preferred = bg.preferred;
    out.here = GroupStateName(brain_->state(g));
    out.failed_here = brain_->failed_here(g);
    if (brain_->state(g) != GroupState::kStopped) {
      out.holder = cfg_.ha_cf.local_node;
    } else if (peer && peer->groups_match && peer->held.count(g)) {
      out.holder = peer_;
    } else {
      out.holder = "none";
    }
    s.groups.push_back(std::move(out));
  }
  for (int r = 0; r < kDropReasonCount; ++r) {
    const char* name = DropReasonName(static_cast<DropReason>(r));
    auto it = dropped_.find(name);
    s.dropped[name] = it == dropped_.end() ? 0 : it->second;
  }
  return s;
}

}  // namespace tandem::heartbeat
