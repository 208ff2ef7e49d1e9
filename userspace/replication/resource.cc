// Resource: lifecycle, control verbs, the link and the handshake.
// The data paths are in resource_io.cc, the resync in resource_sync.cc.
#include "replication/resource.h"

#include <boost/asio/post.hpp>
#include <cinttypes>
#include <cstdio>

#include "common/log.h"
#include "meta/format.h"

namespace tandem::replication {

namespace asio = boost::asio;

namespace {

tandem::Status RefusalAsStatus(const Refusal& r) {
  return tandem::Status::Aborted(r.Message() + "#" + std::to_string(r.code));
}

asio::ip::tcp::endpoint ToEndpoint(const config::Address& a) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(a.host, ec);
  return asio::ip::tcp::endpoint(addr, a.port);
}

}  // namespace

Status RefusalStatus(const Refusal& r) { return RefusalAsStatus(r); }

int RefusalCode(const Status& st) {
  if (st.code() != Status::Code::kAborted) return 0;
  size_t hash = st.message().rfind('#');
  if (hash == std::string::npos) return 0;
  return std::atoi(st.message().c_str() + hash + 1);
}

Resource::Resource(asio::io_context& loop, config::ResourceConfig cfg, Env* env,
                   io::IoEnv* io_env)
    : loop_(loop),
      cfg_(std::move(cfg)),
      env_(env),
      io_env_(io_env),
      tick_timer_(loop),
      handlers_(loop),
      alive_(std::make_shared<bool>(true)) {
  ApplyOptions();
}

Resource::~Resource() {
  *alive_ = false;
  tick_timer_.cancel();
  if (linker_) linker_->Stop();
  if (conn_) {
    conn_->Detach();
    conn_->Close(tandem::Status::Aborted("resource destroyed"));
  }
}

void Resource::Log(LogLevel level, const std::string& msg) const {
  tandem::Log(level, cfg_.name + ": " + msg);
}

void Resource::ApplyOptions() {
  StatePolicy p;
  p.allow_two_primaries = cfg_.options.Bool("allow-two-primaries");
  p.fencing_dont_care = cfg_.options.Str("fencing") == "dont-care";
  sm_.set_policy(p);
  const std::string& proto = cfg_.options.Str("protocol");
  protocol_ = proto.empty() ? 'C' : proto[0];
}

void Resource::Reconfigure(config::ResourceConfig cfg) {
  const bool addresses_changed =
      !(cfg.local().address() == cfg_.local().address()) ||
      !(cfg.peer().address() == cfg_.peer().address());
  cfg_ = std::move(cfg);
  ApplyOptions();
  if (addresses_changed && linker_) {
    Renegotiate("network addresses changed");
  }
}

// ---------------------------------------------------------------- attach/detach

DiskState Resource::DiskFromMeta() const {
  const meta::Superblock& sb = md_->superblock();
  if (sb.current_uuid == meta::kUuidJustCreated || !sb.Has(meta::kFlagConsistent)) {
    return DiskState::kInconsistent;
  }
  return sb.Has(meta::kFlagWasUpToDate) ? DiskState::kConsistent : DiskState::kOutdated;
}

void Resource::Attach(Done done) { DoAttach(std::move(done)); }

void Resource::DoAttach(Done done) {
  if (md_) return asio::post(loop_, [done] { done(tandem::Status::Ok()); });
  if (attaching_) {
    return asio::post(loop_, [done] { done(RefusalAsStatus(refusal::kInTransientState)); });
  }
  meta::MetaTarget target = meta::MetaTargetFor(cfg_);
  auto devs = meta::OpenMetaDevices(io_env_, loop_, target, false);
  if (!devs.ok()) {
    auto st = tandem::Status::IoError("Can not open backing device: " + devs.status().message());
    return asio::post(loop_, [done, st] { done(st); });
  }
  attaching_ = true;
  auto shared_devs = std::make_shared<meta::MetaDevices>(std::move(*devs));
  auto alive = alive_;
  meta::MetaData::Open(loop_, shared_devs->md(), shared_devs->layout,
                       [this, alive, shared_devs, done](
                           Result<std::unique_ptr<meta::MetaData>> md) mutable {
                         if (!*alive) return;
                         if (!md.ok()) {
                           attaching_ = false;
                           done(tandem::Status::IoError("Can not attach " +
                                                        shared_devs->disk->info().path + ": " +
                                                        md.status().message()));
                           return;
                         }
                         FinishAttach(std::move(*md), std::move(*shared_devs), std::move(done));
                       });
}

void Resource::FinishAttach(std::unique_ptr<meta::MetaData> md, meta::MetaDevices devs,
                            Done done) {
  md_ = std::move(md);
  devs_ = std::move(devs);
  degraded_before_ = !md_->superblock().Has(meta::kFlagConnectedInd) &&
                     md_->superblock().current_uuid != meta::kUuidJustCreated;
  const bool clean = md_->superblock().Has(meta::kFlagAlClean);
  auto finish = [this, done](tandem::Status st) {
    attaching_ = false;
    if (!st.ok()) {
      Log(LogLevel::kError, "attach failed: " + st.message());
      md_.reset();
      devs_ = meta::MetaDevices{};
      return done(st);
    }
    StateSnapshot before = sm_.state();
    sm_.Attached(DiskFromMeta());
    if (disk_failed_) {
      // This disk missed writes while detached: it is resynced completely.
      disk_failed_ = false;
      md_->bitmap().SetAll();
      sm_.SetDisk(DiskState::kInconsistent);
      md_->FlushBitmap([](tandem::Status) {});
      md_->UpdateSuperblock([](meta::Superblock& sb) {
        sb.Set(meta::kFlagConsistent, false);
        sb.Set(meta::kFlagWasUpToDate, false);
      }, [](tandem::Status) {});
    }
    Log(LogLevel::kInfo, "attached to " + devs_.disk->info().path + " (" +
                             meta::DescribeBytes(md_->layout().data_size) + ", " +
                             std::string(devs_.disk->info().engine) + " engine, " +
                             (devs_.disk->info().direct ? "direct" : "buffered") + " I/O)");
    ArmTick();
    Changed(before);
    PersistFlags([](tandem::Status) {});
    if (conn_) Renegotiate("disk attached");
    done(tandem::Status::Ok());
  };
  // While attached the log is open: a crash from here on must be noticed at the
  // next attach, so "al-clean" goes away before any write can happen.
  auto open_log = [this, finish](tandem::Status st) {
    if (!st.ok()) return finish(st);
    md_->UpdateSuperblock([](meta::Superblock& sb) { sb.Set(meta::kFlagAlClean, false); },
                          finish);
  };
  if (clean) return open_log(tandem::Status::Ok());
  // The previous run did not shut down cleanly: whatever was hot may differ.
  size_t hot = md_->activity_log().HotExtents().size();
  const bool was_primary = md_->superblock().Has(meta::kFlagPrimaryInd);
  Log(LogLevel::kWarning, "meta-data was not cleanly closed" +
                              std::string(was_primary ? " (crashed while Primary)" : "") +
                              "; marking " + std::to_string(hot) +
                              " activity-log extents out of sync");
  md_->ApplyActivityLog(open_log);
}

void Resource::Detach(Done done) { DoDetach(std::move(done)); }

void Resource::DoDetach(Done done) {
  if (!md_) return asio::post(loop_, [done] { done(tandem::Status::Ok()); });
  if (sm_.state().role == Role::kPrimary &&
      !(IsConnected(sm_.state().conn) && sm_.state().peer_disk == DiskState::kUpToDate)) {
    return asio::post(loop_, [done] { done(RefusalAsStatus(refusal::kNoUpToDateDisk)); });
  }
  if (!writes_.empty() || !peer_inflight_.empty() || !rs_inflight_.empty() ||
      counters_.lo > 0) {
    // Let what is in flight drain first (bounded by the retries of the caller).
    auto timer = std::make_shared<asio::steady_timer>(loop_, std::chrono::milliseconds(20));
    auto alive = alive_;
    timer->async_wait([this, alive, timer, done](const boost::system::error_code&) {
      if (*alive) DoDetach(done);
    });
    return;
  }
  StateSnapshot before = sm_.state();
  auto alive = alive_;
  md_->Close([this, alive, done, before](tandem::Status st) {
    if (!*alive) return;
    if (!st.ok()) Log(LogLevel::kError, "closing meta-data: " + st.message());
    md_.reset();
    devs_ = meta::MetaDevices{};
    sm_.Detached();
    Changed(before);
    if (conn_) conn_->SendControl(net::PacketType::kState, LocalStatePacket());
    done(st);
  });
}

bool Resource::OnLocalIoError(const tandem::Status& why) {
  const std::string policy = cfg_.options.Str("on-io-error");
  if (policy == "pass_on") return false;
  if (disk_failed_ || !md_) return true;
  disk_failed_ = true;
  Log(LogLevel::kError, "disk I/O error (" + why.message() + "); on-io-error " + policy +
                            ": detaching the backing disk");
  if (policy == "call-local-io-error") RunHandler("local-io-error");
  StateSnapshot before = sm_.state();
  sm_.SetDisk(DiskState::kFailed);
  // Nothing more goes to the failed disk; what is in flight finishes first.
  dying_md_ = std::move(md_);
  dying_devs_ = std::move(devs_);
  devs_ = meta::MetaDevices{};
  sm_.Detached();
  Changed(before);
  if (conn_) conn_->SendControl(net::PacketType::kState, LocalStatePacket());
  ReleaseDyingDisk();
  return true;
}

void Resource::FencePeer() {
  const bool stonith = cfg_.options.Str("fencing") == "resource-and-stonith";
  if (stonith) io_suspended_ = true;
  Log(LogLevel::kInfo, std::string("fencing the peer (fencing ") + cfg_.options.Str("fencing") + ")");
  RunHandler("fence-peer", [this](int rc) {
    switch (rc) {
      case 3: Log(LogLevel::kInfo, "fence-peer: the peer is Inconsistent"); break;
      case 4: Log(LogLevel::kInfo, "fence-peer: the peer was outdated"); break;
      case 5: Log(LogLevel::kWarning, "fence-peer: the peer is unreachable, assumed outdated"); break;
      case 6:
        Log(LogLevel::kError, "fence-peer: the peer is Primary; this node's data may be older");
        break;
      case 7: Log(LogLevel::kInfo, "fence-peer: the peer was STONITHed"); break;
      default:
        Log(LogLevel::kError, "fence-peer failed (exit " + std::to_string(rc) +
                                  "); the peer may still have current data");
    }
    if ((rc == 4 || rc == 7) && md_) {
      md_->UpdateSuperblock([](meta::Superblock& sb) { sb.Set(meta::kFlagPeerOutdated, true); },
                            [](tandem::Status) {});
    }
    ResumeSuspendedIo();
  });
}

void Resource::ResumeSuspendedIo() {
  io_suspended_ = false;
  auto ops = std::move(suspended_io_);
  suspended_io_.clear();
  for (auto& op : ops) op();
}

void Resource::ReleaseDyingDisk() {
  if (!dying_devs_.disk) return;
  const bool busy = dying_devs_.disk->in_flight() > 0 ||
                    (dying_devs_.external_md && dying_devs_.external_md->in_flight() > 0);
  if (!busy) {
    dying_md_.reset();
    dying_devs_ = meta::MetaDevices{};
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(loop_, std::chrono::milliseconds(20));
  auto alive = alive_;
  timer->async_wait([this, alive, timer](const boost::system::error_code&) {
    if (*alive) ReleaseDyingDisk();
  });
}

// ---------------------------------------------------------------- link

tandem::Status Resource::StartLinker() {
  if (linker_ && linker_->running()) return tandem::Status::Ok();
  net::LinkConfig lc;
  lc.resource = cfg_.name;
  lc.node = cfg_.local().name;
  lc.peer_node = cfg_.peer().name;
  lc.local = ToEndpoint(cfg_.local().address());
  lc.peer = ToEndpoint(cfg_.peer().address());
  if (auto alg = cfg_.options.OptStr("cram-hmac-alg")) {
    lc.hmac_alg = *alg;
    lc.secret = cfg_.options.Str("shared-secret");
  }
  lc.connect_int = std::chrono::seconds(cfg_.options.Int("connect-int"));
  lc.sndbuf = static_cast<int>(cfg_.options.Int("sndbuf-size"));
  lc.rcvbuf = static_cast<int>(cfg_.options.Int("rcvbuf-size"));
  auto alive = alive_;
  linker_ = std::make_unique<net::Linker>(
      loop_, lc, env_,
      [this, alive](std::shared_ptr<net::PeerConnection> c) {
        if (*alive) OnEstablished(std::move(c));
      },
      [this, alive](LogLevel level, const std::string& msg) {
        if (*alive) Log(level, msg);
      });
  return linker_->Start();
}

void Resource::Connect(bool discard_my_data, Done done) {
  if (sm_.state().conn != ConnState::kStandAlone) {
    discard_my_data_ = discard_my_data;
    return asio::post(loop_, [done] { done(tandem::Status::Ok()); });
  }
  discard_my_data_ = discard_my_data;
  want_connection_ = true;
  tandem::Status st = StartLinker();
  if (!st.ok()) {
    linker_.reset();
    return asio::post(loop_, [done, st] { done(st); });
  }
  StateSnapshot before = sm_.state();
  sm_.StartConnecting();
  ArmTick();
  Changed(before);
  asio::post(loop_, [done] { done(tandem::Status::Ok()); });
}

void Resource::Disconnect(Done done) {
  if (sm_.state().conn == ConnState::kStandAlone) {
    return asio::post(loop_, [done] { done(RefusalAsStatus(refusal::kAlreadyStandAlone)); });
  }
  want_connection_ = false;
  if (conn_) conn_->SendControl(net::PacketType::kDisconnect, net::Disconnect{});
  StopLink(true, ConnState::kDisconnecting, "disconnect requested");
  asio::post(loop_, [done] { done(tandem::Status::Ok()); });
}

void Resource::StopLink(bool stand_alone, ConnState why, const std::string& reason) {
  StateSnapshot before = sm_.state();
  const bool was_connected = conn_ != nullptr;
  if (conn_) {
    auto c = std::move(conn_);
    conn_.reset();
    c->Detach();
    // What we queued (a DISCONNECT, our reports before a split-brain verdict)
    // still reaches the peer.
    c->CloseAfterSending(tandem::Status::Aborted(reason), std::chrono::seconds(1));
  }
  if (was_connected && why != ConnState::kDisconnecting && why != ConnState::kTearDown) {
    Log(LogLevel::kWarning, std::string("connection lost (") + ConnStateName(why) + "): " + reason);
  }
  FailPeerRequests();
  got_params_ = got_sizes_ = got_uuids_ = got_state_ = false;
  bitmap_sent_ = bitmap_received_ = false;
  ping_outstanding_ = false;
  integrity_.reset();
  peer_queue_.clear();
  peer_flushes_.clear();
  const bool was_syncing = sync_.active && !verifying_;
  sync_.active = false;
  verifying_ = false;
  rs_inflight_.clear();
  for (auto& [id, cb] : state_requests_) {
    asio::post(loop_, [cb = cb] { cb(refusal::kRefusedByPeer.code); });
  }
  state_requests_.clear();
  if (was_syncing && md_) {
    // Keep the progress: the bits cleared so far stay cleared.
    md_->FlushBitmap([](tandem::Status) {});
  }
  if (stand_alone || !want_connection_) {
    if (linker_) linker_->Stop();
    linker_.reset();
    sm_.LinkDown(why, /*stand_alone=*/true);
  } else {
    sm_.LinkDown(why, /*stand_alone=*/false);
    if (linker_) linker_->Resume();
  }
  // A Primary that loses its peer starts a new data generation, so a later
  // handshake can tell its changes from the peer's.
  if (was_connected && !renegotiating_ && md_ && sm_.state().role == Role::kPrimary &&
      sm_.state().disk == DiskState::kUpToDate) {
    NewGeneration([](tandem::Status) {});
    if (cfg_.options.Str("fencing") != "dont-care") FencePeer();
  }
  renegotiating_ = false;
  Changed(before);
}

void Resource::Renegotiate(const std::string& reason) {
  Log(LogLevel::kInfo, "renegotiating with the peer: " + reason);
  renegotiating_ = true;
  StopLink(false, ConnState::kTearDown, reason);
}

void Resource::OnEstablished(std::shared_ptr<net::PeerConnection> c) {
  if (!want_connection_) {
    c->Close(tandem::Status::Aborted("not wanted"));
    return;
  }
  StateSnapshot before = sm_.state();
  conn_ = std::move(c);
  conn_->Start(this);
  sm_.LinkUp();
  ping_outstanding_ = false;
  Log(LogLevel::kInfo, "connection to " + conn_->peer() + " established");
  Changed(before);
  if (!md_) return SendInitialReports();
  // The UUIDs we report must be the ones on disk: a new current UUID started
  // when the last connection was lost may still be being written.
  auto alive = alive_;
  std::weak_ptr<net::PeerConnection> link = conn_;
  md_->AfterSuperblockUpdates([this, alive, link](tandem::Status) {
    if (!*alive || !conn_ || conn_ != link.lock()) return;
    SendInitialReports();
  });
}

void Resource::SendInitialReports() {
  net::Params p;
  p.protocol = cfg_.options.Str("protocol")[0];
  p.two_primaries = cfg_.options.Bool("allow-two-primaries");
  p.after_sb_0pri = cfg_.options.Str("after-sb-0pri");
  p.after_sb_1pri = cfg_.options.Str("after-sb-1pri");
  p.after_sb_2pri = cfg_.options.Str("after-sb-2pri");
  p.integrity_alg = cfg_.options.OptStr("data-integrity-alg").value_or("");
  conn_->SendControl(net::PacketType::kParams, p);
  net::Sizes s;
  s.usable = md_ ? md_->layout().data_size : 0;
  s.limit = static_cast<uint64_t>(cfg_.options.Int("size"));
  conn_->SendControl(net::PacketType::kSizes, s);
  conn_->SendControl(net::PacketType::kUuids, LocalUuidsPacket());
  conn_->SendControl(net::PacketType::kState, LocalStatePacket());
}

void Resource::MaybeFinishHandshake() {
  if (!(got_params_ && got_sizes_ && got_uuids_ && got_state_)) return;
  if (sm_.state().conn != ConnState::kWFReportParams) return;
  const std::string proto = cfg_.options.Str("protocol");
  if (peer_params_.protocol != proto[0]) {
    Log(LogLevel::kError, std::string("incompatible protocol settings (peer uses protocol ") +
                              peer_params_.protocol + ", we use " + proto + ")");
    conn_->SendControl(net::PacketType::kError, net::ErrorPacket{3, "incompatible protocol"});
    return StopLink(true, ConnState::kDisconnecting, "incompatible protocol");
  }
  if (peer_params_.two_primaries != cfg_.options.Bool("allow-two-primaries")) {
    Log(LogLevel::kError, "incompatible allow-two-primaries settings");
    return StopLink(true, ConnState::kDisconnecting, "incompatible allow-two-primaries");
  }
  const std::string ialg = cfg_.options.OptStr("data-integrity-alg").value_or("");
  if (peer_params_.integrity_alg != ialg) {
    Log(LogLevel::kError, "incompatible data-integrity-alg ('" + peer_params_.integrity_alg +
                              "' at the peer, '" + ialg + "' here)");
    return StopLink(true, ConnState::kDisconnecting, "incompatible data-integrity-alg");
  }
  if (!ialg.empty()) {
    auto d = net::Digest::Create(ialg);
    if (!d.ok()) {
      Log(LogLevel::kError, d.status().message());
      return StopLink(true, ConnState::kDisconnecting, "bad data-integrity-alg");
    }
    integrity_ = std::move(*d);
  }
  const uint64_t mine = md_ ? md_->layout().data_size : 0;
  const uint64_t theirs = peer_sizes_.usable;
  if (mine && theirs) {
    agreed_size_ = std::min(mine, theirs);
    if (mine != theirs) {
      Log(LogLevel::kWarning, "the peer's disk is " + meta::DescribeBytes(theirs) + ", ours " +
                                  meta::DescribeBytes(mine) + ": using the smaller, " +
                                  meta::DescribeBytes(agreed_size_));
    }
  } else {
    agreed_size_ = std::max(mine, theirs);
  }
  Role peer_role = static_cast<Role>(peer_state_.role);
  DiskState peer_disk = static_cast<DiskState>(peer_state_.disk);
  if (peer_role == Role::kPrimary && sm_.state().role == Role::kPrimary &&
      !cfg_.options.Bool("allow-two-primaries")) {
    Log(LogLevel::kError, "both nodes are Primary and allow-two-primaries is off");
  }
  if (!md_ || peer_disk == DiskState::kDiskless) {
    StateSnapshot before = sm_.state();
    sm_.Established(ConnState::kConnected, peer_role, peer_disk);
    Changed(before);
    return;
  }
  GenerationUuids local = LocalUuids();
  GenerationUuids peer{peer_uuids_.current, peer_uuids_.bitmap, peer_uuids_.history1,
                       peer_uuids_.history2, (peer_uuids_.flags & net::kUuidCrashedPrimary) != 0};
  const bool local_wins_tie = cfg_.local().name < cfg_.peer().name;
  SyncVerdict v = DecideSync(local, peer, local_wins_tie);
  SyncSideFacts local_facts{sm_.state().disk == DiskState::kInconsistent, md_->bitmap().CountSet() > 0,
                     sm_.state().role == Role::kPrimary};
  SyncSideFacts peer_facts{peer_disk == DiskState::kInconsistent, peer_uuids_.out_of_sync_bits > 0,
                       peer_role == Role::kPrimary};
  AdjustedVerdict adjusted = AdjustForDiskStates(v, local_facts, peer_facts, local_wins_tie);
  if (adjusted.disk_states_decided) {
    Log(LogLevel::kInfo, std::string("uuids say ") + SyncDecisionName(v.decision) +
                             "; disk states decide: " +
                             SyncDecisionName(adjusted.verdict.decision));
  }
  v = adjusted.verdict;
  Log(LogLevel::kInfo, "uuids local " + FormatUuids(local) + " peer " + FormatUuids(peer) +
                           ": " + SyncDecisionName(v.decision) + " (rule " +
                           std::to_string(v.rule) + ")");
  switch (v.decision) {
    case SyncDecision::kNoSync:
    case SyncDecision::kBothJustCreated: {
      StateSnapshot before = sm_.state();
      DiskState mine_d = sm_.state().disk;
      if (v.decision == SyncDecision::kNoSync && mine_d >= DiskState::kOutdated &&
          peer_disk >= DiskState::kOutdated) {
        sm_.SetDisk(DiskState::kUpToDate);
        if (peer_disk != DiskState::kDUnknown) peer_disk = DiskState::kUpToDate;
      }
      sm_.Established(ConnState::kConnected, peer_role, peer_disk);
      Changed(before);
      PersistFlags([](tandem::Status) {});
      conn_->SendControl(net::PacketType::kState, LocalStatePacket());
      return;
    }
    case SyncDecision::kSplitBrain:
      return ResolveSplitBrainAndContinue(peer_role, peer_disk);
    case SyncDecision::kUnrelated:
      Log(LogLevel::kError, "Unrelated data, aborting!");
      return StopLink(true, ConnState::kDisconnecting, "unrelated data");
    default: {
      StateSnapshot before = sm_.state();
      sm_.Established(IsSourceDecision(v.decision) ? ConnState::kWFBitMapS : ConnState::kWFBitMapT,
                      peer_role, peer_disk);
      Changed(before);
      StartResync(v.decision);
      return;
    }
  }
}

void Resource::ResolveSplitBrainAndContinue(Role peer_role, DiskState peer_disk) {
  RunHandler("initial-split-brain");
  SplitBrainInput in;
  in.local_primary = sm_.state().role == Role::kPrimary;
  in.peer_primary = peer_role == Role::kPrimary;
  in.local_primary_since = md_->superblock().primary_since_ms;
  in.peer_primary_since = peer_uuids_.primary_since_ms;
  in.local_changes = md_->bitmap().CountSet();
  in.peer_changes = peer_uuids_.out_of_sync_bits;
  in.local_node = cfg_.local().name;
  in.peer_node = cfg_.peer().name;
  in.local_discard = discard_my_data_;
  in.peer_discard = (peer_uuids_.flags & net::kUuidDiscardMyData) != 0;
  in.after_sb_0pri = cfg_.options.Str("after-sb-0pri");
  in.after_sb_1pri = cfg_.options.Str("after-sb-1pri");
  in.after_sb_2pri = cfg_.options.Str("after-sb-2pri");
  SbResolution r = ResolveSplitBrain(in);
  const int primaries = (in.local_primary ? 1 : 0) + (in.peer_primary ? 1 : 0);
  if (r.outcome == SbOutcome::kDisconnect) {
    Log(LogLevel::kError, "Split-Brain detected but unresolved, dropping connection! (" +
                              r.reason + ")");
    if (r.call_pri_lost_here) RunHandler("pri-lost-after-sb");
    RunHandler("split-brain");
    return StopLink(true, ConnState::kDisconnecting, "split brain");
  }
  const bool victim = r.outcome == SbOutcome::kLocalIsVictim;
  Log(LogLevel::kWarning, "Split-Brain detected, " + std::to_string(primaries) +
                              " primaries, automatically solved (" + r.reason + "). Sync from " +
                              (victim ? "peer node" : "this node"));
  discard_my_data_ = false;
  StateSnapshot before = sm_.state();
  sm_.Established(victim ? ConnState::kWFBitMapT : ConnState::kWFBitMapS, peer_role, peer_disk);
  Changed(before);
  // The victim is rolled back with the union of both sides' changes.
  StartResync(victim ? SyncDecision::kTargetBitmap : SyncDecision::kSourceBitmap);
}

void Resource::RunHandler(const std::string& name, std::function<void(int)> done) {
  auto cmd = cfg_.options.OptStr(name);
  if (!cmd || cmd->empty()) {
    if (done) asio::post(loop_, [done] { done(-1); });
    return;
  }
  std::map<std::string, std::string> env = {
      {"DRBD_RESOURCE", cfg_.name},
      {"DRBD_MINOR", std::to_string(cfg_.local().device().minor)},
      {"DRBD_VOLUME", std::to_string(cfg_.local().volume)},
      {"DRBD_PEER", cfg_.peer().name},
      {"DRBD_PEERS", cfg_.peer().name},
      {"DRBD_PEER_ADDRESS", cfg_.peer().address().host},
      {"DRBD_PEER_AF", cfg_.peer().address().family == config::Address::Family::kIpv6 ? "ipv6" : "ipv4"},
      {"DRBD_MY_ADDRESS", cfg_.local().address().host},
      {"DRBD_BACKING_DEV", cfg_.local().disk()},
      {"DRBD_CONF", cfg_.where.file},
      {"TANDEM_NODE", cfg_.local().name},
      {"TANDEM_HANDLER", name},
  };
  Log(LogLevel::kInfo, "helper command: " + name + ": " + *cmd);
  auto alive = alive_;
  handlers_.Run(*cmd, env, std::chrono::seconds(120), [this, alive, name, done](int status) {
    if (!*alive) return;
    Log(status == 0 ? LogLevel::kInfo : LogLevel::kWarning,
        "helper command: " + name + " exit code " + std::to_string(status));
    if (done) done(status);
  });
}

// ---------------------------------------------------------------- roles

void Resource::Primary(bool force, Done done) {
  // A Consistent disk alone, with fencing: the peer must be fenced before this
  // node may call its data current.
  if (!force && sm_.state().disk == DiskState::kConsistent && !IsConnected(sm_.state().conn) &&
      cfg_.options.Str("fencing") != "dont-care" && sm_.state().role != Role::kPrimary) {
    auto alive = alive_;
    return RunHandler("fence-peer", [this, alive, done](int rc) {
      if (!*alive) return;
      if (rc != 4 && rc != 5 && rc != 7) {
        return done(RefusalStatus({-7, "Refusing to be Primary while peer is not outdated"}));
      }
      sm_.SetDisk(DiskState::kUpToDate);
      Primary(false, done);
    });
  }
  StateMachine trial = sm_;
  if (auto r = trial.Promote(force)) {
    return asio::post(loop_, [done, r = *r] { done(RefusalAsStatus(r)); });
  }
  if (sm_.state().role == Role::kPrimary) {
    return asio::post(loop_, [done] { done(tandem::Status::Ok()); });
  }
  auto apply = [this, force, done]() {
    StateSnapshot before = sm_.state();
    if (auto r = sm_.Promote(force)) return done(RefusalAsStatus(*r));
    const bool peer_current =
        IsConnected(sm_.state().conn) && sm_.state().peer_disk == DiskState::kUpToDate &&
        before.disk == DiskState::kUpToDate;
    Log(LogLevel::kInfo, std::string("role( ") + RoleName(before.role) + " -> Primary )" +
                             (force ? " (forced)" : ""));
    Changed(before);
    if (conn_) conn_->SendControl(net::PacketType::kState, LocalStatePacket());
    auto persist = [this, done, force](tandem::Status st) {
      if (!st.ok()) return done(st);
      PersistFlags([this, done, force](tandem::Status s2) {
        // A forced Primary with an Inconsistent peer: the full sync starts now.
        if (s2.ok() && force && conn_ && sm_.state().peer_disk == DiskState::kInconsistent) {
          Renegotiate("forced Primary; the peer needs a full sync");
        }
        done(s2);
      });
    };
    // Without an UpToDate peer in step with us, this starts a new data generation.
    if (md_ && (!peer_current || force)) return NewGeneration(persist);
    persist(tandem::Status::Ok());
  };
  if (!conn_ || sm_.state().conn < ConnState::kConnected) return apply();
  // Ask the peer: it refuses if it is Primary itself (and one Primary is the rule).
  uint32_t id = next_state_request_++;
  auto alive = alive_;
  state_requests_[id] = [alive, apply, done](int result) {
    if (!*alive) return;
    if (result != 0) {
      Refusal r{result, result == refusal::kTwoPrimaries.code ? refusal::kTwoPrimaries.text
                                                              : refusal::kRefusedByPeer.text};
      return done(RefusalAsStatus(r));
    }
    apply();
  };
  conn_->SendControl(net::PacketType::kStateRequest, net::StateRequest{id, 1, 0});
}

void Resource::Secondary(bool force, Done done) {
  if (sm_.state().role == Role::kSecondary) {
    return asio::post(loop_, [done] { done(tandem::Status::Ok()); });
  }
  StateSnapshot before = sm_.state();
  if (auto r = sm_.Demote(open_count_ > 0 && !force)) {
    return asio::post(loop_, [done, r = *r] { done(RefusalAsStatus(r)); });
  }
  Log(LogLevel::kInfo, "role( Primary -> Secondary )");
  Changed(before);
  if (conn_) conn_->SendControl(net::PacketType::kState, LocalStatePacket());
  // Writes still in flight finish normally; the flags follow once they are out.
  PersistFlags(done);
}

void Resource::HandleStateRequest(const net::StateRequest& r) {
  int result = 0;
  if (r.what == 1) {  // the peer wants to be Primary
    if (sm_.state().role == Role::kPrimary && !cfg_.options.Bool("allow-two-primaries")) {
      result = refusal::kTwoPrimaries.code;
    }
  }
  conn_->SendControl(net::PacketType::kStateReply, net::StateReply{r.id, result});
}

void Resource::Outdate(Done done) {
  StateSnapshot before = sm_.state();
  if (auto r = sm_.Outdate()) {
    return asio::post(loop_, [done, r = *r] { done(RefusalAsStatus(r)); });
  }
  Changed(before);
  PersistFlags(done);
}

void Resource::NewCurrentUuid(bool clear_bitmap, Done done) {
  if (auto r = sm_.CheckNewCurrentUuid()) {
    return asio::post(loop_, [done, r = *r] { done(RefusalAsStatus(r)); });
  }
  if (!clear_bitmap) return NewGeneration(done);
  // --clear-bitmap: the initial-sync shortcut for fresh, identical (e.g. zeroed)
  // disks. Both nodes take the same new UUID and become UpToDate.
  const bool fresh = sm_.state().disk == DiskState::kInconsistent &&
                     md_->superblock().current_uuid == meta::kUuidJustCreated;
  if (!fresh || !IsConnected(sm_.state().conn) ||
      static_cast<DiskState>(peer_state_.disk) != DiskState::kInconsistent ||
      peer_uuids_.current != meta::kUuidJustCreated) {
    return asio::post(loop_, [done] {
      done(tandem::Status::InvalidArgument(
          "new-current-uuid --clear-bitmap needs both nodes connected with freshly created "
          "meta-data"));
    });
  }
  uint64_t uuid = env_->RandomU64();
  uint32_t id = next_state_request_++;
  auto alive = alive_;
  state_requests_[id] = [this, alive, uuid, done](int result) {
    if (!*alive) return;
    if (result != 0) return done(RefusalAsStatus(refusal::kRefusedByPeer));
    AdoptSkippedInitialSync(uuid, done);
  };
  conn_->SendControl(net::PacketType::kStateRequest, net::StateRequest{id, 4, uuid});
}

void Resource::Invalidate(Done done) {
  if (auto r = sm_.CheckInvalidate()) {
    return asio::post(loop_, [done, r = *r] { done(RefusalAsStatus(r)); });
  }
  StateSnapshot before = sm_.state();
  md_->bitmap().SetAll();
  sm_.SetDisk(DiskState::kInconsistent);
  Changed(before);
  md_->FlushBitmap([this, done](tandem::Status st) {
    if (!st.ok()) return done(st);
    md_->UpdateSuperblock(
        [](meta::Superblock& sb) {
          sb.Set(meta::kFlagConsistent, false);
          sb.Set(meta::kFlagWasUpToDate, false);
        },
        [this, done](tandem::Status s2) {
          if (!s2.ok()) return done(s2);
          // This node is now Inconsistent and becomes SyncTarget.
          if (conn_) Renegotiate("invalidate");
          done(tandem::Status::Ok());
        });
  });
}

void Resource::InvalidateRemote(Done done) {
  if (auto r = sm_.CheckInvalidateRemote()) {
    return asio::post(loop_, [done, r = *r] { done(RefusalAsStatus(r)); });
  }
  md_->bitmap().SetAll();
  md_->FlushBitmap([this, done](tandem::Status st) {
    if (!st.ok()) return done(st);
    // Starting a new generation makes this node the SyncSource of everything.
    NewGeneration([this, done](tandem::Status s2) {
      if (!s2.ok()) return done(s2);
      if (conn_) Renegotiate("invalidate-remote");
      done(tandem::Status::Ok());
    });
  });
}

// ---------------------------------------------------------------- up/down

void Resource::Up(Done done) {
  auto alive = alive_;
  DoAttach([this, alive, done](tandem::Status st) {
    if (!*alive) return;
    if (!st.ok()) return done(st);
    Connect(false, done);
  });
}

void Resource::Down(Done done) {
  if (sm_.state().role == Role::kPrimary && open_count_ > 0) {
    return asio::post(loop_, [done] { done(RefusalAsStatus(refusal::kDeviceInUse)); });
  }
  auto alive = alive_;
  auto after_demote = [this, alive, done](tandem::Status st) {
    if (!*alive) return;
    if (!st.ok()) return done(st);
    want_connection_ = false;
    if (sm_.state().conn != ConnState::kStandAlone) {
      if (conn_) conn_->SendControl(net::PacketType::kDisconnect, net::Disconnect{});
      StopLink(true, ConnState::kDisconnecting, "down");
    }
    DoDetach(done);
  };
  if (sm_.state().role == Role::kPrimary) return Secondary(false, after_demote);
  after_demote(tandem::Status::Ok());
}

void Resource::Shutdown(Done done) { Down(std::move(done)); }

// ---------------------------------------------------------------- waiting

void Resource::WaitConnect(std::chrono::milliseconds timeout, Done done) {
  if (IsConnected(sm_.state().conn)) {
    return asio::post(loop_, [done] { done(tandem::Status::Ok()); });
  }
  Waiter w{Waiter::kConnect, std::move(done), nullptr};
  if (timeout.count() > 0) {
    w.timer = std::make_shared<asio::steady_timer>(loop_, timeout);
    auto alive = alive_;
    auto timer = w.timer;
    timer->async_wait([this, alive, timer](const boost::system::error_code& ec) {
      if (ec || !*alive) return;
      for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->timer == timer) {
          auto d = std::move(it->done);
          waiters_.erase(it);
          // DRBD 0.7's incon-degr-cmd / 8.4's pri-on-incon-degr: alone with
          // inconsistent data after the wait: the admin's command decides.
          if (sm_.state().disk == DiskState::kInconsistent) {
            Log(LogLevel::kWarning, "no peer and inconsistent data: running pri-on-incon-degr");
            RunHandler("pri-on-incon-degr");
          }
          d(tandem::Status::Timeout("timed out waiting for the peer"));
          return;
        }
      }
    });
  }
  waiters_.push_back(std::move(w));
}

void Resource::WaitSync(std::chrono::milliseconds timeout, Done done) {
  if (sm_.state().conn == ConnState::kConnected) {
    return asio::post(loop_, [done] { done(tandem::Status::Ok()); });
  }
  Waiter w{Waiter::kSync, std::move(done), nullptr};
  if (timeout.count() > 0) {
    w.timer = std::make_shared<asio::steady_timer>(loop_, timeout);
    auto alive = alive_;
    auto timer = w.timer;
    timer->async_wait([this, alive, timer](const boost::system::error_code& ec) {
      if (ec || !*alive) return;
      for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->timer == timer) {
          auto d = std::move(it->done);
          waiters_.erase(it);
          d(tandem::Status::Timeout("timed out waiting for the resync"));
          return;
        }
      }
    });
  }
  waiters_.push_back(std::move(w));
}

void Resource::NotifyWaiters() {
  const ConnState c = sm_.state().conn;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    bool ready = it->kind == Waiter::kConnect ? IsConnected(c) : c == ConnState::kConnected;
    if (!ready) {
      ++it;
      continue;
    }
    if (it->timer) it->timer->cancel();
    auto d = std::move(it->done);
    it = waiters_.erase(it);
    asio::post(loop_, [d] { d(tandem::Status::Ok()); });
  }
}

// ---------------------------------------------------------------- state changes

void Resource::Changed(const StateSnapshot& before) {
  const StateSnapshot& now = sm_.state();
  std::string line;
  auto add = [&line](const char* what, const char* a, const char* b) {
    if (std::string(a) != b) line += std::string(line.empty() ? "" : " ") + what + "( " + a +
                                      " -> " + b + " )";
  };
  add("role", RoleName(before.role), RoleName(now.role));
  add("peer", RoleName(before.peer_role), RoleName(now.peer_role));
  add("conn", ConnStateName(before.conn), ConnStateName(now.conn));
  add("disk", DiskStateName(before.disk), DiskStateName(now.disk));
  add("pdsk", DiskStateName(before.peer_disk), DiskStateName(now.peer_disk));
  if (!line.empty()) Log(LogLevel::kInfo, line);
  NotifyWaiters();
  for (const auto& l : listeners_) l();
}

void Resource::PersistFlags(Done done) {
  if (!md_) return asio::post(loop_, [done] { done(tandem::Status::Ok()); });
  const StateSnapshot s = sm_.state();
  const uint64_t now_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  md_->UpdateSuperblock(
      [s, now_ms](meta::Superblock& sb) {
        if (s.role == Role::kPrimary && !sb.Has(meta::kFlagPrimaryInd)) sb.primary_since_ms = now_ms;
        sb.Set(meta::kFlagPrimaryInd, s.role == Role::kPrimary);
        sb.Set(meta::kFlagConnectedInd, IsConnected(s.conn));
        sb.Set(meta::kFlagConsistent, s.disk >= DiskState::kOutdated &&
                                          s.disk != DiskState::kDUnknown);
        sb.Set(meta::kFlagWasUpToDate,
               s.disk == DiskState::kUpToDate || s.disk == DiskState::kConsistent);
      },
      std::move(done));
}

void Resource::NewGeneration(Done done) {
  if (!md_) return asio::post(loop_, [done] { done(tandem::Status::Ok()); });
  uint64_t fresh = env_->RandomU64();
  Log(LogLevel::kInfo, "new current UUID");
  md_->UpdateSuperblock(
      [fresh](meta::Superblock& sb) {
        if (sb.current_uuid != meta::kUuidJustCreated) {
          if (sb.bitmap_uuid == 0) {
            sb.bitmap_uuid = sb.current_uuid;
          } else {
            // The bitmap already tracks an older generation; keep it, remember this one.
            sb.history_uuid[1] = sb.history_uuid[0];
            sb.history_uuid[0] = sb.current_uuid;
          }
        }
        sb.current_uuid = fresh;
      },
      std::move(done));
}

ResourceStatus Resource::Report() const {
  ResourceStatus r;
  r.name = cfg_.name;
  r.minor = cfg_.local().device().minor;
  r.state = sm_.state();
  r.protocol = cfg_.options.Str("protocol")[0];
  r.counters = counters_;
  r.attached = md_ != nullptr;
  r.open_count = open_count_;
  r.degraded_before = degraded_before_;
  if (md_) {
    r.out_of_sync_kib = md_->bitmap().CountSet() * meta::kBitmapGranularity / 1024;
    r.counters.al = md_->activity_log().transactions_written();
    r.counters.bm = md_->bitmap_page_writes();
    r.uuids = LocalUuids();
  }
  r.data_size = size();
  r.sync = sync_;
  if (md_ && sync_.active && !verifying_) r.sync.left_bits = md_->bitmap().CountSet();
  return r;
}

uint64_t Resource::size() const {
  if (IsConnected(sm_.state().conn) && agreed_size_) return agreed_size_;
  return md_ ? md_->layout().data_size : agreed_size_;
}

uint32_t Resource::logical_block_size() const {
  return devs_.disk ? std::max<uint32_t>(512, devs_.disk->info().logical_block_size) : 512;
}

// ---------------------------------------------------------------- ticks

void Resource::ArmTick() {
  auto alive = alive_;
  tick_timer_.expires_after(std::chrono::milliseconds(200));
  tick_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    Tick();
    ArmTick();
  });
}

void Resource::Tick() {
  const auto now = std::chrono::steady_clock::now();
  // Application write rate, for c-min-rate.
  const double dt = std::chrono::duration<double>(now - last_tick_).count();
  if (dt > 0.05) {
    // Rises at once, decays over about a second: application writes stalled
    // for a tick behind resync traffic must not lift the c-min-rate cap (the
    // resync would then burst a whole window and stall them again).
    const double instant = static_cast<double>(app_bytes_tick_) / dt;
    app_rate_bps_ = std::max(instant, app_rate_bps_ * 0.6);
    app_bytes_tick_ = 0;
    last_tick_ = now;
  }
  if (conn_) {
    const auto ping_int = std::chrono::seconds(cfg_.options.Int("ping-int"));
    const auto ping_timeout = std::chrono::milliseconds(cfg_.options.Int("ping-timeout") * 100);
    if (ping_outstanding_ && now - ping_sent_ > ping_timeout) {
      return StopLink(false, ConnState::kTimeout, "PingAck did not arrive in time");
    }
    if (!ping_outstanding_ && now - conn_->last_receive() > ping_int) {
      ping_outstanding_ = true;
      ping_sent_ = now;
      conn_->SendControl(net::PacketType::kPing, net::Ping{env_->RandomU64()});
    }
    if (auto age = OldestPeerRequestAge(now)) {
      const int64_t ko = std::max<int64_t>(1, cfg_.options.Int("ko-count"));
      const auto limit = std::chrono::milliseconds(cfg_.options.Int("timeout") * 100 * ko);
      if (*age > limit) {
        return StopLink(false, ConnState::kTimeout, "the peer did not answer writes within "
                                                    "timeout x ko-count");
      }
    }
  }
  if (sync_.active) {
    UpdateSyncRate(now);
    // Persist progress often, so a crash of the target resumes close to where it stopped.
    if (sync_as_target_ && md_ && !verifying_) md_->FlushBitmap([](tandem::Status) {});
    // The cap may have moved with the application's rate.
    if (verifying_) {
      PumpVerify();
    } else {
      PumpResyncRequests();
    }
  }
  // The status file moves at least every tick while anything moves.
  if (sync_.active || !(counters_ == last_reported_)) {
    last_reported_ = counters_;
    for (const auto& l : listeners_) l();
  }
}

}  // namespace tandem::replication
