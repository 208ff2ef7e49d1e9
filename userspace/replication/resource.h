#pragma once
// Resource: one replicated resource on this node. It owns the backing disk and
// its meta-data, the state machine, the link to the peer and the write path:
// - as Primary it takes application reads, writes and flushes (from the NBD
//   export or the control socket), writes locally and to the peer in parallel,
//   and completes each write by the rules of protocol A, B or C
//   (docs/wire-protocol.md, "Write ordering and acknowledgement");
// - as Secondary it applies the Primary's writes in epoch order and acks them;
// - on connect it runs the handshake and, when needed, a bitmap or full resync.
//
// Thread-safety: not thread-safe. Everything, including every callback, runs on
// the daemon's event loop.
// Failure: control verbs complete with OK or a Status whose message is the
// user-facing reason (DRBD's "State change failed: (-2) ..." texts for
// refusals; then code() is kAborted and refusal_code() tells the DRBD code).

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/env.h"
#include "config/drbd_model.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "io/device_factory.h"
#include "meta/meta_data.h"
#include "meta/resource_meta.h"
#include "net/connection.h"
#include "net/crypto.h"
#include "net/linker.h"
#include "replication/handler_runner.h"
#include "replication/split_brain.h"
#include "replication/state.h"
#include "replication/sync_decision.h"

namespace tandem::replication {

// DRBD's /proc/drbd counters (KiB where DRBD uses KiB).
struct Counters {
  bool operator==(const Counters&) const = default;
  uint64_t ns = 0;  // network send, KiB
  uint64_t nr = 0;  // network receive, KiB
  uint64_t dw = 0;  // disk write, KiB
  uint64_t dr = 0;  // disk read, KiB
  uint64_t al = 0;  // activity-log transactions
  uint64_t bm = 0;  // bitmap page writes
  uint64_t lo = 0;  // requests open on the local disk
  uint64_t pe = 0;  // requests sent to the peer, not yet answered
  uint64_t ua = 0;  // peer requests received, not yet answered
  uint64_t ap = 0;  // application requests not yet completed
  uint64_t ep = 0;  // epochs
};

struct SyncProgress {
  bool active = false;
  uint64_t total_bits = 0;    // bits out of sync when the resync started
  uint64_t left_bits = 0;     // still out of sync
  uint64_t copied_bytes = 0;  // resync data received (target) or sent (source)
  std::chrono::steady_clock::time_point started;
  double recent_kib_per_s = 0;  // over the last few seconds
  bool paused = false;
};

struct ResourceStatus {
  std::string name;
  int minor = 0;
  StateSnapshot state;
  char protocol = 'C';
  Counters counters;
  uint64_t out_of_sync_kib = 0;
  uint64_t data_size = 0;
  SyncProgress sync;
  GenerationUuids uuids;
  bool attached = false;
  int open_count = 0;
  // The node was not connected when its meta-data was last written before this
  // attach (wait-connect then uses degr-wfc-timeout).
  bool degraded_before = false;
};

bool IsSourceDecision(SyncDecision d);

// A status carrying a DRBD refusal.
Status RefusalStatus(const Refusal& r);
// The DRBD code of a refusal status, or 0.
int RefusalCode(const Status& st);

class Resource : public net::PacketSink {
 public:
  using Done = std::function<void(Status)>;
  using ChangeFn = std::function<void()>;

  Resource(boost::asio::io_context& loop, config::ResourceConfig cfg, Env* env,
           io::IoEnv* io_env);
  ~Resource() override;
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;

  const std::string& name() const { return cfg_.name; }
  const config::ResourceConfig& config() const { return cfg_; }
  // Replace the configuration (adjust/SIGHUP): applies options that can change live.
  void Reconfigure(config::ResourceConfig cfg);

  // ---- control verbs ----
  void Up(Done done);
  void Down(Done done);
  void Attach(Done done);
  void Detach(Done done);
  void Connect(bool discard_my_data, Done done);
  void Disconnect(Done done);
  void Primary(bool force, Done done);
  void Secondary(bool force, Done done);
  void Outdate(Done done);
  void Invalidate(Done done);
  void InvalidateRemote(Done done);
  void NewCurrentUuid(bool clear_bitmap, Done done);
  // Completes when connected (OK) or after `timeout` (Timeout; zero = forever).
  void WaitConnect(std::chrono::milliseconds timeout, Done done);
  // Completes when no resync is running and the link is up.
  void WaitSync(std::chrono::milliseconds timeout, Done done);
  // pause-sync / resume-sync: the user flag ('u' in the status line).
  void PauseSync(Done done);
  void ResumeSync(Done done);
  // Online verify (verify-alg): compares every block with the peer's copy;
  // mismatches are logged, marked out of sync, and the out-of-sync handler runs.
  void Verify(Done done);

  // ---- data path (Primary) ----
  void Write(uint64_t offset, io::AlignedBuffer data, uint32_t flags, io::IoCallback done);
  void Read(uint64_t offset, void* buf, size_t len, io::IoCallback done);
  void Flush(io::IoCallback done);
  // Zeroes (may_unmap: the range may be deallocated, as a discard) on both
  // replicas. Up to net::kMaxZeroesLength bytes per call.
  void WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, bool fua, io::IoCallback done);
  uint64_t size() const;  // usable bytes
  uint32_t logical_block_size() const;
  // NBD clients (or other openers) holding the device: demotion is refused meanwhile.
  void Open() { ++open_count_; }
  void Close() { if (open_count_ > 0) --open_count_; }

  // ---- observation ----
  ResourceStatus Report() const;
  const StateSnapshot& state() const { return sm_.state(); }
  // Called after every state change (status file, waiters).
  void AddChangeListener(ChangeFn fn) { listeners_.push_back(std::move(fn)); }
  // Orderly shutdown (SIGTERM): Secondary, meta-data clean, disconnected.
  void Shutdown(Done done);

  // PacketSink (the established connection).
  void OnControl(net::PacketType type, net::ControlPacket packet) override;
  void OnData(net::DataPrefix prefix, io::AlignedBuffer data) override;
  void OnDataReply(net::DataReplyPrefix prefix, io::AlignedBuffer data) override;
  void OnRsData(net::RsDataPrefix prefix, io::AlignedBuffer data) override;
  void OnClosed(tandem::Status why) override;

 private:
  struct WriteReq {
    uint64_t id = 0;
    uint64_t offset = 0;
    uint32_t len = 0;
    uint32_t flags = 0;
    io::AlignedBuffer data;
    io::IoCallback done;
    uint32_t epoch = 0;
    bool started = false;      // holds its range and activity-log extents
    bool al_held = false;
    bool local_done = false;
    tandem::Status local_status;
    bool to_peer = false;      // sent to the peer (in the transfer log)
    bool sent = false;         // handed to the socket
    bool recv_acked = false;
    bool peer_finished = false;  // WRITE_ACK, NEG_ACK, or marked out of sync
    bool peer_ok = false;        // WRITE_ACK
    bool app_completed = false;
    std::chrono::steady_clock::time_point peer_sent_at;
    bool zeroes = false;  // write zeroes instead of data
    bool may_unmap = false;
    bool local_failed = false;  // the local disk failed it; the peer's copy decides
  };

  struct PeerWrite {
    uint64_t seq = 0;
    net::DataPrefix prefix;
    io::AlignedBuffer data;
    std::chrono::steady_clock::time_point received;
    bool zeroes = false;
    bool may_unmap = false;
  };
  struct Waiter {
    enum Kind { kConnect, kSync } kind;
    Done done;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };

  // lifecycle (resource.cc)
  void DoAttach(Done done);
  void FinishAttach(std::unique_ptr<meta::MetaData> md, meta::MetaDevices devs, Done done);
  void DoDetach(Done done);
  tandem::Status StartLinker();
  void StopLink(bool stand_alone, ConnState why, const std::string& reason);
  // Restart the link on purpose so both sides run the handshake again.
  void Renegotiate(const std::string& reason);
  void OnEstablished(std::shared_ptr<net::PeerConnection> conn);
  void SendInitialReports();
  void MaybeFinishHandshake();
  void Changed(const StateSnapshot& before);
  void PersistFlags(Done done);
  void NewGeneration(Done done);
  void Tick();
  void ArmTick();
  void Log(LogLevel level, const std::string& msg) const;
  void NotifyWaiters();
  DiskState DiskFromMeta() const;
  // A backing-disk I/O error under on-io-error detach / call-local-io-error:
  // detach (Diskless); returns true when the disk was (or already is) detached,
  // false under pass_on (the error goes to the client).
  bool OnLocalIoError(const tandem::Status& why);
  // fencing resource-only / resource-and-stonith: run fence-peer after losing
  // the peer as Primary; with resource-and-stonith application I/O waits meanwhile.
  void FencePeer();
  void ResumeSuspendedIo();
  void ReleaseDyingDisk();
  void HandleStateRequest(const net::StateRequest& r);
  // Runs handlers { NAME "..."; } if configured; `done` gets the exit status
  // (-1 when not configured or it could not run).
  void RunHandler(const std::string& name, std::function<void(int)> done = {});
  void ResolveSplitBrainAndContinue(Role peer_role, DiskState peer_disk);

  // data paths (resource_io.cc)
  net::StatePacket LocalStatePacket() const;
  GenerationUuids LocalUuids() const;
  net::Uuids LocalUuidsPacket() const;
  bool Replicating() const;
  // Protocol A or B: the Primary may complete a write before this node (its
  // Secondary) has written it, so barriers and flushes here must wait for it.
  bool WritesCompleteBeforeOurs() const;
  // Derived settings from cfg_ (state policy, protocol_); after every change of cfg_.
  void ApplyOptions();
  std::optional<std::chrono::steady_clock::duration> OldestPeerRequestAge(
      std::chrono::steady_clock::time_point now) const;
  void StartWrite(std::unique_ptr<WriteReq> req);
  void IssueWrite(WriteReq* req);
  void CheckWriteDone(WriteReq* req);
  void FinishWrite(uint64_t id);
  bool Overlaps(uint64_t offset, uint64_t len) const;
  void RetryConflicts();
  void MarkOutOfSync(uint64_t offset, uint64_t len);
  void SetInSync(uint64_t offset, uint64_t len);
  void FailPeerRequests();
  void ApplyPeerWrite(PeerWrite w);
  void PeerWriteDone(uint64_t seq);
  void DrainPeerQueue();
  void CheckPeerFlushes();
  void ServeDataRequest(const net::DataRequest& r);
  void OnZeroes(const net::Zeroes& z);
  void ValidateAndStartWrite(std::unique_ptr<WriteReq> req);

  // resync (resource_sync.cc)
  bool IsResyncId(uint64_t id) const;
  uint64_t BitmapBits() const;
  void StartResync(SyncDecision d);
  void SendBitmap();
  void OnBitmapChunk(const net::BitmapChunk& c);
  void MaybeStartSyncAsSource();
  void BeginSyncAsSource();
  void OnSyncStart(const net::SyncStart& s);
  void PumpResyncRequests();
  void NoteApplicationWrite(uint64_t offset, uint64_t len);
  bool BlockedByResyncWrite(const PeerWrite& w) const;
  void HandleRsRequest(const net::RsRequest& r);
  void CheckResyncConflicts();
  void OnRsNeg(const net::RsNeg& n);
  void OnResyncWriteAck(uint64_t id);
  void FinishResync(bool as_target);
  void OnSyncDone(const net::SyncDone& d);
  void UpdateSyncRate(std::chrono::steady_clock::time_point now);
  void HandleNewUuidRequest(const net::StateRequest& r);
  double ResyncCap() const;
  uint64_t ResyncWindow() const;
  void ArmPaceTimer(std::chrono::microseconds wait);
  void UpdatePausedState();
  void PumpVerify();
  void OnVerifyRequest(const net::VerifyRequest& r);
  void OnVerifyReply(const net::VerifyReply& r);
  void FinishVerify();
  void SendRsRequest(uint64_t id, uint64_t offset, uint32_t length);
  void AdoptSkippedInitialSync(uint64_t uuid, Done done);

  boost::asio::io_context& loop_;
  config::ResourceConfig cfg_;
  // cfg_'s protocol ('A', 'B' or 'C'), kept beside it (set wherever cfg_ is)
  // because the write path asks for every write and packet.
  char protocol_ = 'C';
  Env* env_;
  io::IoEnv* io_env_;
  StateMachine sm_;
  std::vector<ChangeFn> listeners_;

  // disk
  meta::MetaDevices devs_;
  std::unique_ptr<meta::MetaData> md_;
  bool attaching_ = false;
  bool degraded_before_ = false;
  bool disk_failed_ = false;  // detached after an I/O error: re-attach means full resync
  std::unique_ptr<meta::MetaData> dying_md_;  // detached, I/O still in flight
  meta::MetaDevices dying_devs_;

  // link
  std::unique_ptr<net::Linker> linker_;
  std::shared_ptr<net::PeerConnection> conn_;
  bool want_connection_ = false;
  bool renegotiating_ = false;  // the link is restarted on purpose (no new generation)
  bool discard_my_data_ = false;
  bool got_params_ = false, got_sizes_ = false, got_uuids_ = false, got_state_ = false;
  net::Params peer_params_;
  net::Sizes peer_sizes_;
  net::Uuids peer_uuids_;
  net::StatePacket peer_state_;
  uint64_t agreed_size_ = 0;
  std::unique_ptr<net::Digest> integrity_;
  std::chrono::steady_clock::time_point ping_sent_{};
  bool ping_outstanding_ = false;
  boost::asio::steady_timer tick_timer_;
  HandlerRunner handlers_;
  std::shared_ptr<bool> alive_;

  // primary write path
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<WriteReq>> writes_;  // in flight and in the transfer log
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> active_ranges_;  // offset -> (end, id)
  std::deque<std::unique_ptr<WriteReq>> conflict_waiters_;
  uint32_t epoch_ = 1;
  bool completed_since_epoch_ = false;
  struct PendingFlush {
    uint64_t id;
    bool local_done = false, peer_done = false;
    tandem::Status status;
    io::IoCallback done;
  };
  std::map<uint64_t, PendingFlush> flushes_;
  std::map<uint64_t, std::function<void(tandem::Status, io::AlignedBuffer)>> remote_reads_;

  // secondary path
  uint64_t peer_seq_ = 0;  // writes received, in order
  std::set<uint64_t> peer_inflight_;
  std::deque<PeerWrite> peer_queue_;
  uint32_t peer_epoch_ = 0;
  std::deque<std::pair<uint64_t, uint64_t>> peer_flushes_;  // (flush id, seq when received)

  // state requests
  uint32_t next_state_request_ = 1;
  std::map<uint32_t, std::function<void(int)>> state_requests_;

  // resync
  SyncProgress sync_;
  bool sync_as_target_ = false;
  bool verifying_ = false;          // sync_ describes an online verify
  uint64_t verify_mismatches_ = 0;  // 4 KiB blocks
  std::unique_ptr<net::Digest> verify_digest_;
  std::unique_ptr<net::Digest> csums_digest_;
  uint64_t csums_equal_bytes_ = 0;
  bool bitmap_sent_ = false, bitmap_received_ = false;
  SyncDecision pending_decision_ = SyncDecision::kNoSync;
  uint64_t sync_source_uuid_ = 0;
  uint64_t resync_cursor_ = 0;  // next bit to request (target)
  struct RsInFlight {
    uint64_t offset;
    uint32_t length;
    bool overwritten = false;  // an application write hit it meanwhile
    bool writing = false;      // its data is being written to the disk
  };
  std::map<uint64_t, RsInFlight> rs_inflight_;          // target: requested
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> rs_served_;  // source: sent, unacked
  std::vector<net::RsRequest> rs_deferred_;              // source: waiting for app writes
  std::vector<PeerWrite> rs_blocked_writes_;             // target: waiting for resync writes
  uint64_t bitmap_words_received_ = 0;
  uint64_t rs_bytes_window_ = 0;
  // Resync pacing (target): a byte budget since pace_base_ at the current cap.
  double pace_rate_ = 0;
  std::chrono::steady_clock::time_point pace_base_;
  uint64_t pace_requested_ = 0;
  std::unique_ptr<boost::asio::steady_timer> pace_timer_;
  bool pace_timer_armed_ = false;
  uint64_t app_bytes_tick_ = 0;  // application write bytes since the last tick
  double app_rate_bps_ = 0;
  // Application I/O at or above this (one 4 KiB write a second) holds the
  // resync at c-min-rate; the decaying app_rate_bps_ falls below it about
  // 3-4 s after the application stops.
  static constexpr double kAppActivityBps = 4096;
  std::chrono::steady_clock::time_point last_tick_;
  std::chrono::steady_clock::time_point rate_mark_;
  uint64_t rate_mark_bytes_ = 0;

  bool io_suspended_ = false;  // resource-and-stonith fencing in progress
  std::deque<std::function<void()>> suspended_io_;
  Counters counters_;
  Counters last_reported_;  // what listeners last saw (status file refresh)
  int open_count_ = 0;
  std::vector<Waiter> waiters_;
};

}  // namespace tandem::replication
