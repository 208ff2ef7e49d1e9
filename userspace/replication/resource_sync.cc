// Resource: resynchronisation. After the sync handshake both nodes exchange
// their bitmaps (OR-ed), then the SyncTarget pulls every out-of-sync range from
// the SyncSource, writes it and clears the bits; the source clears its own bits
// as the target acknowledges, so an interrupted resync resumes where it
// stopped. Application writes during the resync are replicated as usual and
// always win over resync data in flight for the same blocks.
#include <boost/asio/post.hpp>
#include <cerrno>

#include "common/log.h"
#include "meta/format.h"
#include "replication/resource.h"

namespace tandem::replication {

namespace asio = boost::asio;

namespace {
constexpr uint64_t kResyncIdBit = 1ull << 63;
constexpr uint64_t kMaxRunBits = 256;             // 1 MiB per request
constexpr uint64_t kResyncWindowBytes = 8u << 20;  // in flight at once
}  // namespace

bool IsSourceDecision(SyncDecision d) {
  return d == SyncDecision::kSourceFull || d == SyncDecision::kSourceBitmap;
}

bool Resource::IsResyncId(uint64_t id) const { return (id & kResyncIdBit) != 0; }

uint64_t Resource::BitmapBits() const {
  return (size() + meta::kBitmapGranularity - 1) / meta::kBitmapGranularity;
}

void Resource::StartResync(SyncDecision d) {
  sync_as_target_ = !IsSourceDecision(d);
  verifying_ = false;
  csums_digest_.reset();
  csums_equal_bytes_ = 0;
  if (auto alg = cfg_.options.OptStr("csums-alg")) {
    auto dg = net::Digest::Create(*alg);
    if (dg.ok()) {
      csums_digest_ = std::move(*dg);
    } else {
      Log(LogLevel::kWarning, "csums-alg: " + dg.status().message() + "; sending full blocks");
    }
  }
  pending_decision_ = d;
  const bool full = d == SyncDecision::kSourceFull || d == SyncDecision::kTargetFull;
  if (full) md_->bitmap().Set(0, BitmapBits());
  bitmap_sent_ = bitmap_received_ = false;
  bitmap_words_received_ = 0;
  SendBitmap();
}

void Resource::SendBitmap() {
  const auto& words = md_->bitmap().words();
  const uint64_t total = (BitmapBits() + 63) / 64;
  for (uint64_t first = 0; first < total; first += net::kMaxBitmapWordsPerPacket) {
    net::BitmapChunk c;
    c.first_word = first;
    uint64_t n = std::min<uint64_t>(net::kMaxBitmapWordsPerPacket, total - first);
    c.words.assign(words.begin() + static_cast<long>(first),
                   words.begin() + static_cast<long>(first + n));
    conn_->SendControl(net::PacketType::kBitmap, c);
  }
  if (total == 0) conn_->SendControl(net::PacketType::kBitmap, net::BitmapChunk{});
  bitmap_sent_ = true;
  MaybeStartSyncAsSource();
}

void Resource::OnBitmapChunk(const net::BitmapChunk& c) {
  const ConnState cs = sm_.state().conn;
  if ((cs != ConnState::kWFBitMapS && cs != ConnState::kWFBitMapT) || !md_) {
    return StopLink(false, ConnState::kProtocolError, "BITMAP outside a bitmap exchange");
  }
  const uint64_t total = (BitmapBits() + 63) / 64;
  if (c.first_word != bitmap_words_received_ || c.first_word + c.words.size() > std::max<uint64_t>(total, 0)) {
    if (!(total == 0 && c.words.empty())) {
      return StopLink(false, ConnState::kProtocolError, "BITMAP chunk out of order or too long");
    }
  }
  // Only bits inside the agreed size count.
  for (size_t i = 0; i < c.words.size(); ++i) {
    uint64_t word = c.words[i];
    uint64_t base = (c.first_word + i) * 64;
    while (word) {
      uint64_t bit = base + static_cast<uint64_t>(__builtin_ctzll(word));
      if (bit < BitmapBits()) md_->bitmap().Set(bit);
      word &= word - 1;
    }
  }
  bitmap_words_received_ = c.first_word + c.words.size();
  if (bitmap_words_received_ >= total) {
    bitmap_received_ = true;
    MaybeStartSyncAsSource();
  }
}

void Resource::MaybeStartSyncAsSource() {
  if (!bitmap_sent_ || !bitmap_received_ || sync_as_target_) return;
  // Make the merged bits durable before anyone relies on them.
  auto alive = alive_;
  md_->FlushBitmap([this, alive](tandem::Status st) {
    if (!*alive || !conn_) return;
    if (!st.ok()) Log(LogLevel::kError, "writing the bitmap: " + st.message());
    BeginSyncAsSource();
  });
}

void Resource::BeginSyncAsSource() {
  StateSnapshot before = sm_.state();
  const bool full = pending_decision_ == SyncDecision::kSourceFull;
  conn_->SendControl(net::PacketType::kSyncStart,
                     net::SyncStart{static_cast<uint8_t>(full ? 2 : 1),
                                    md_->superblock().current_uuid});
  sm_.SetConn(sm_.state().user_paused || sm_.state().peer_paused ? ConnState::kPausedSyncS
                                                                   : ConnState::kSyncSource);
  sm_.PeerChanged(sm_.state().peer_role, DiskState::kInconsistent);
  sync_ = SyncProgress{};
  sync_.active = true;
  sync_.total_bits = md_->bitmap().CountSet();
  sync_.started = std::chrono::steady_clock::now();
  rate_mark_ = sync_.started;
  rate_mark_bytes_ = 0;
  Log(LogLevel::kInfo, "Began resync as SyncSource (will sync " +
                           std::to_string(sync_.total_bits * 4) + " KB)");
  Changed(before);
}

void Resource::OnSyncStart(const net::SyncStart& s) {
  if (s.kind == 3) {
    auto alg = cfg_.options.OptStr("verify-alg");
    auto dg = alg ? net::Digest::Create(*alg) : Result<std::unique_ptr<net::Digest>>(
                                                    tandem::Status::InvalidArgument("no verify-alg"));
    if (sm_.state().conn != ConnState::kConnected || !md_ || !dg.ok()) {
      return StopLink(false, ConnState::kProtocolError, "cannot start an online verify");
    }
    verify_digest_ = std::move(*dg);
    StateSnapshot before = sm_.state();
    sm_.SetConn(ConnState::kVerifyT);
    verifying_ = true;
    sync_ = SyncProgress{};
    sync_.active = true;
    sync_.total_bits = BitmapBits();
    sync_.left_bits = sync_.total_bits;
    sync_.started = std::chrono::steady_clock::now();
    Log(LogLevel::kInfo, "Online verify requested by the peer");
    Changed(before);
    return;
  }
  if (sm_.state().conn != ConnState::kWFBitMapT || !md_) {
    return StopLink(false, ConnState::kProtocolError, "SYNC_START in the wrong state");
  }
  sync_source_uuid_ = s.source_uuid;
  StateSnapshot before = sm_.state();
  sm_.SetConn(sm_.state().user_paused || sm_.state().peer_paused ? ConnState::kPausedSyncT
                                                                   : ConnState::kSyncTarget);
  pace_rate_ = 0;  // restart the pacing budget
  sm_.SetDisk(DiskState::kInconsistent);
  sync_ = SyncProgress{};
  sync_.active = true;
  sync_.total_bits = md_->bitmap().CountSet();
  sync_.started = std::chrono::steady_clock::now();
  rate_mark_ = sync_.started;
  rate_mark_bytes_ = 0;
  resync_cursor_ = 0;
  Log(LogLevel::kInfo, "Began resync as SyncTarget (will sync " +
                           std::to_string(sync_.total_bits * 4) + " KB)");
  Changed(before);
  conn_->SendControl(net::PacketType::kState, LocalStatePacket());
  auto alive = alive_;
  const uint64_t source_uuid = s.source_uuid;
  md_->FlushBitmap([this, alive, source_uuid](tandem::Status) {
    if (!*alive) return;
    // Take the source's generation now, marked inconsistent: an interrupted
    // resync then meets equal UUIDs and resumes from the bits left.
    md_->UpdateSuperblock(
        [source_uuid](meta::Superblock& sb) {
          if (sb.current_uuid != source_uuid && sb.current_uuid != meta::kUuidJustCreated) {
            sb.history_uuid[1] = sb.history_uuid[0];
            sb.history_uuid[0] = sb.current_uuid;
          }
          sb.current_uuid = source_uuid;
          sb.bitmap_uuid = 0;
          sb.Set(meta::kFlagConsistent, false);
          sb.Set(meta::kFlagWasUpToDate, false);
        },
        [this, alive](tandem::Status) {
          if (*alive) PumpResyncRequests();
        });
  });
}

double Resource::ResyncCap() const {
  const bool dynamic = cfg_.options.Int("c-plan-ahead") > 0;
  double cap = static_cast<double>(cfg_.options.Int(dynamic ? "c-max-rate" : "resync-rate"));
  // Application I/O going on: the resync steps back to c-min-rate and leaves
  // the rest to the application (drbd.conf: "use only up to min_rate for
  // resync IO"). Any application I/O counts, not only a rate above c-min-rate:
  // an unthrottled resync starves application writes to a few dozen a second,
  // which would never reach that rate and so never make the resync yield.
  const double min_rate = static_cast<double>(cfg_.options.Int("c-min-rate"));
  if (min_rate > 0 && app_rate_bps_ >= kAppActivityBps) cap = std::min(cap, min_rate);
  return cap;
}

uint64_t Resource::ResyncWindow() const {
  if (cfg_.options.Int("c-plan-ahead") > 0) {
    // The dynamic controller keeps c-fill-target bytes in flight (at least 64 KiB):
    // throughput follows the link's round trip, up to c-max-rate.
    return std::max<uint64_t>(static_cast<uint64_t>(cfg_.options.Int("c-fill-target")), 64 << 10);
  }
  return kResyncWindowBytes;
}

void Resource::ArmPaceTimer(std::chrono::microseconds wait) {
  if (pace_timer_armed_) return;
  if (!pace_timer_) pace_timer_ = std::make_unique<asio::steady_timer>(loop_);
  pace_timer_armed_ = true;
  pace_timer_->expires_after(wait);
  auto alive = alive_;
  pace_timer_->async_wait([this, alive](const boost::system::error_code& ec) {
    if (!*alive) return;
    pace_timer_armed_ = false;
    if (ec) return;
    if (verifying_) {
      PumpVerify();
    } else {
      PumpResyncRequests();
    }
  });
}

void Resource::PumpResyncRequests() {
  if (!sync_.active || !sync_as_target_ || !conn_ || verifying_) return;
  if (sm_.state().user_paused || sm_.state().peer_paused) return;
  meta::Bitmap& bm = md_->bitmap();
  const uint64_t bits = BitmapBits();
  bool wrapped = false;
  const auto now = std::chrono::steady_clock::now();
  const double cap = ResyncCap();
  if (cap != pace_rate_) {
    pace_rate_ = cap;
    pace_base_ = now;
    pace_requested_ = 0;
  }
  const uint64_t window = ResyncWindow();
  while (rs_bytes_window_ < window) {
    // Hard cap: never ask for more than cap x elapsed since the pace base.
    const double elapsed = std::chrono::duration<double>(now - pace_base_).count();
    const double budget = cap * elapsed - static_cast<double>(pace_requested_);
    if (budget < 0) {
      auto wait = std::chrono::microseconds(static_cast<int64_t>(-budget / cap * 1e6) + 1000);
      return ArmPaceTimer(wait);
    }
    uint64_t bit = bm.FindNextSet(resync_cursor_);
    if (bit >= bits) {
      if (!rs_inflight_.empty()) return;  // wait for the answers
      if (wrapped || bm.FindNextSet(0) >= bits) return FinishResync(true);
      resync_cursor_ = 0;
      wrapped = true;
      continue;
    }
    uint64_t end = std::min({bm.FindNextClear(bit), bit + kMaxRunBits, bits});
    const uint64_t offset = bit * meta::kBitmapGranularity;
    uint64_t len = (end - bit) * meta::kBitmapGranularity;
    len = std::min(len, size() - offset);
    // Do not ask twice for a range already on its way.
    bool busy = false;
    for (const auto& [id, r] : rs_inflight_) {
      if (r.offset < offset + len && offset < r.offset + r.length) busy = true;
    }
    resync_cursor_ = end;
    if (busy) continue;
    uint64_t id = kResyncIdBit | next_id_++;
    rs_inflight_[id] = RsInFlight{offset, static_cast<uint32_t>(len), false};
    rs_bytes_window_ += len;
    pace_requested_ += len;
    ++counters_.pe;
    SendRsRequest(id, offset, static_cast<uint32_t>(len));
  }
}

void Resource::SendRsRequest(uint64_t id, uint64_t offset, uint32_t length) {
  if (!csums_digest_) {
    conn_->SendControl(net::PacketType::kRsRequest, net::RsRequest{id, offset, length, {}});
    return;
  }
  // Checksum-based resync: send the digest of what we have; the source sends
  // the data only if its own block differs.
  auto buf = std::make_shared<io::AlignedBuffer>(io::AlignedBuffer::Uninitialized(length));
  auto alive = alive_;
  ++counters_.lo;
  devs_.disk->Read(offset, buf->data(), length, [this, alive, buf, id, offset, length](
                                                    tandem::Status st) {
    if (!*alive) return;
    --counters_.lo;
    if (!conn_ || !rs_inflight_.count(id)) return;
    std::vector<uint8_t> digest;
    if (st.ok() && csums_digest_) digest = csums_digest_->Compute({buf->data(), length});
    conn_->SendControl(net::PacketType::kRsRequest, net::RsRequest{id, offset, length, digest});
  });
}

void Resource::NoteApplicationWrite(uint64_t offset, uint64_t len) {
  for (auto& [id, r] : rs_inflight_) {
    if (r.offset < offset + len && offset < r.offset + r.length) r.overwritten = true;
  }
}

void Resource::HandleRsRequest(const net::RsRequest& r) {
  const ConnState cs = sm_.state().conn;
  if (!md_ || (cs != ConnState::kSyncSource && cs != ConnState::kPausedSyncS)) {
    return StopLink(false, ConnState::kProtocolError, "RS_REQUEST while not SyncSource");
  }
  if (r.offset > size() || r.length > size() - r.offset) {
    return StopLink(false, ConnState::kProtocolError, "RS_REQUEST outside the device");
  }
  // Never read for the resync under an application write still in flight.
  if (Overlaps(r.offset, r.length)) {
    rs_deferred_.push_back(r);
    return;
  }
  auto buf = std::make_shared<io::AlignedBuffer>(io::AlignedBuffer::Uninitialized(r.length));
  auto alive = alive_;
  ++counters_.lo;
  devs_.disk->Read(r.offset, buf->data(), r.length, [this, alive, buf, r](tandem::Status st) {
    if (!*alive) return;
    --counters_.lo;
    if (!conn_) return;
    if (!st.ok()) {
      Log(LogLevel::kError, "resync read failed at " + std::to_string(r.offset) + ": " +
                                st.message());
      conn_->SendControl(net::PacketType::kRsNeg, net::RsNeg{r.id, EIO});
      OnLocalIoError(st);
      return;
    }
    counters_.dr += r.length / 1024;
    rs_served_[r.id] = {r.offset, r.length};
    if (!r.digest.empty() && csums_digest_ &&
        csums_digest_->Compute({buf->data(), r.length}) == r.digest) {
      csums_equal_bytes_ += r.length;  // the target already has it: send no data
      conn_->SendBulk(net::EncodeRsDataPrefix({r.id, r.offset, r.length, net::kRsInSync}),
                      nullptr, 0);
      return;
    }
    counters_.ns += r.length / 1024;
    sync_.copied_bytes += r.length;
    conn_->SendBulk(net::EncodeRsDataPrefix({r.id, r.offset, r.length, 0}), buf->data(), r.length,
                    [buf]() {});
  });
}

void Resource::CheckResyncConflicts() {
  if (rs_deferred_.empty()) return;
  auto deferred = std::move(rs_deferred_);
  rs_deferred_.clear();
  for (const auto& r : deferred) HandleRsRequest(r);
}

void Resource::OnRsData(net::RsDataPrefix prefix, io::AlignedBuffer data) {
  if (!md_) return StopLink(false, ConnState::kNetworkFailure, "no local disk for the resync");
  auto it = rs_inflight_.find(prefix.id);
  if (it == rs_inflight_.end() || it->second.offset != prefix.offset ||
      it->second.length != prefix.length) {
    return StopLink(false, ConnState::kProtocolError, "RS_DATA that was not requested");
  }
  if (counters_.pe > 0) --counters_.pe;
  if (prefix.flags & net::kRsInSync) {
    // Checksums matched: nothing to write.
    csums_equal_bytes_ += prefix.length;
    const bool overwritten = it->second.overwritten;
    rs_bytes_window_ -= it->second.length;
    rs_inflight_.erase(it);
    // Blocks an application write touched meanwhile keep their own marks.
    if (!overwritten) SetInSync(prefix.offset, prefix.length);
    conn_->SendControl(net::PacketType::kWriteAck, net::Ack{prefix.id});
    return PumpResyncRequests();
  }
  counters_.nr += prefix.length / 1024;
  if (it->second.overwritten) {
    // The application wrote here since we asked: this data is older. Whatever
    // blocks that write did not cover completely stay marked and are asked again.
    rs_bytes_window_ -= it->second.length;
    rs_inflight_.erase(it);
    conn_->SendControl(net::PacketType::kWriteAck, net::Ack{prefix.id});
    resync_cursor_ = std::min(resync_cursor_, prefix.offset / meta::kBitmapGranularity);
    return PumpResyncRequests();
  }
  auto buf = std::make_shared<io::AlignedBuffer>(std::move(data));
  auto alive = alive_;
  ++counters_.lo;
  it->second.writing = true;
  devs_.disk->Write(prefix.offset, buf->data(), prefix.length, io::kWriteNone,
                    [this, alive, buf, prefix](tandem::Status st) {
                      if (!*alive) return;
                      --counters_.lo;
                      auto jt = rs_inflight_.find(prefix.id);
                      if (jt == rs_inflight_.end()) return;  // the link went away meanwhile
                      rs_bytes_window_ -= jt->second.length;
                      rs_inflight_.erase(jt);
                      // Application writes that waited for this one go now.
                      auto blocked = std::move(rs_blocked_writes_);
                      rs_blocked_writes_.clear();
                      for (auto& w : blocked) ApplyPeerWrite(std::move(w));
                      if (!conn_) return;
                      if (!st.ok()) {
                        Log(LogLevel::kError, "resync write failed at " +
                                                  std::to_string(prefix.offset) + ": " +
                                                  st.message());
                        OnLocalIoError(st);
                        return StopLink(false, ConnState::kNetworkFailure, "local disk error");
                      }
                      counters_.dw += prefix.length / 1024;
                      sync_.copied_bytes += prefix.length;
                      SetInSync(prefix.offset, prefix.length);
                      conn_->SendControl(net::PacketType::kWriteAck, net::Ack{prefix.id});
                      PumpResyncRequests();
                    });
}

void Resource::OnRsNeg(const net::RsNeg& n) {
  auto it = rs_inflight_.find(n.id);
  if (it == rs_inflight_.end()) return;
  Log(LogLevel::kError, "the SyncSource could not read " + std::to_string(it->second.offset) +
                            "; aborting the resync");
  rs_bytes_window_ -= it->second.length;
  rs_inflight_.erase(it);
  StopLink(false, ConnState::kNetworkFailure, "resync source read error");
}

void Resource::OnResyncWriteAck(uint64_t id) {
  auto it = rs_served_.find(id);
  if (it == rs_served_.end()) return;
  // The target has these blocks now.
  SetInSync(it->second.first, it->second.second);
  rs_served_.erase(it);
}

void Resource::FinishResync(bool as_target) {
  if (!sync_.active) return;
  sync_.active = false;
  auto alive = alive_;
  if (as_target) {
    const uint64_t source_uuid = sync_source_uuid_;
    if (csums_digest_) {
      Log(LogLevel::kInfo, std::to_string(csums_equal_bytes_ / 1024) +
                               " K were equal by checksum (csums-alg) and not sent");
    }
    Log(LogLevel::kInfo, "Resync done (total " +
                             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                std::chrono::steady_clock::now() - sync_.started)
                                                .count()) +
                             " sec; " + std::to_string(sync_.copied_bytes / 1024) + " K copied)");
    conn_->SendControl(net::PacketType::kSyncDone,
                       net::SyncDone{sync_.copied_bytes / meta::kBitmapGranularity});
    md_->FlushBitmap([this, alive, source_uuid](tandem::Status) {
      if (!*alive) return;
      md_->UpdateSuperblock(
          [source_uuid](meta::Superblock& sb) {
            sb.current_uuid = source_uuid;
            sb.bitmap_uuid = 0;
            sb.Set(meta::kFlagConsistent, true);
            sb.Set(meta::kFlagWasUpToDate, true);
            sb.Set(meta::kFlagCrashedPrimary, false);  // its extents came from the peer
          },
          [this, alive](tandem::Status) {
            if (!*alive) return;
            StateSnapshot before = sm_.state();
            if (conn_) sm_.SetConn(ConnState::kConnected);
            sm_.SetDisk(DiskState::kUpToDate);
            Changed(before);
            if (conn_) conn_->SendControl(net::PacketType::kState, LocalStatePacket());
          });
    });
    return;
  }
}

void Resource::OnSyncDone(const net::SyncDone&) {
  if (sm_.state().conn == ConnState::kVerifyT) {
    verifying_ = false;
    sync_.active = false;
    Log(LogLevel::kInfo, "Online verify done");
    md_->FlushBitmap([](tandem::Status) {});
    StateSnapshot before = sm_.state();
    sm_.SetConn(ConnState::kConnected);
    Changed(before);
    return;
  }
  if (sm_.state().conn != ConnState::kSyncSource && sm_.state().conn != ConnState::kPausedSyncS) {
    return StopLink(false, ConnState::kProtocolError, "SYNC_DONE while not SyncSource");
  }
  sync_.active = false;
  md_->bitmap().Clear(0, BitmapBits());
  rs_served_.clear();
  auto alive = alive_;
  Log(LogLevel::kInfo, "Resync done as SyncSource (" + std::to_string(sync_.copied_bytes / 1024) +
                           " K sent)");
  md_->FlushBitmap([this, alive](tandem::Status) {
    if (!*alive) return;
    md_->UpdateSuperblock(
        [](meta::Superblock& sb) {
          if (sb.bitmap_uuid != 0) {
            sb.history_uuid[1] = sb.history_uuid[0];
            sb.history_uuid[0] = sb.bitmap_uuid;
            sb.bitmap_uuid = 0;
          }
        },
        [](tandem::Status) {});
  });
  StateSnapshot before = sm_.state();
  sm_.SetConn(ConnState::kConnected);
  sm_.PeerChanged(sm_.state().peer_role, DiskState::kUpToDate);
  Changed(before);
}

void Resource::UpdateSyncRate(std::chrono::steady_clock::time_point now) {
  auto dt = std::chrono::duration<double>(now - rate_mark_).count();
  if (dt < 1.0) return;
  uint64_t bytes = sync_.copied_bytes - rate_mark_bytes_;
  sync_.recent_kib_per_s = static_cast<double>(bytes) / 1024.0 / dt;
  rate_mark_ = now;
  rate_mark_bytes_ = sync_.copied_bytes;
}

void Resource::UpdatePausedState() {
  const bool paused = sm_.state().user_paused || sm_.state().peer_paused;
  const ConnState c = sm_.state().conn;
  if (paused && c == ConnState::kSyncSource) sm_.SetConn(ConnState::kPausedSyncS);
  if (paused && c == ConnState::kSyncTarget) sm_.SetConn(ConnState::kPausedSyncT);
  if (!paused && c == ConnState::kPausedSyncS) sm_.SetConn(ConnState::kSyncSource);
  if (!paused && c == ConnState::kPausedSyncT) sm_.SetConn(ConnState::kSyncTarget);
  if (!paused) {
    pace_rate_ = 0;  // a pause is not a budget to catch up on
    PumpResyncRequests();
  }
}

void Resource::PauseSync(Done done) {
  StateSnapshot before = sm_.state();
  sm_.SetPaused(true, sm_.state().peer_paused);
  if (conn_) conn_->SendControl(net::PacketType::kPauseSync, net::PauseSync{});
  UpdatePausedState();
  Changed(before);
  asio::post(loop_, [done] { done(tandem::Status::Ok()); });
}

void Resource::ResumeSync(Done done) {
  StateSnapshot before = sm_.state();
  sm_.SetPaused(false, sm_.state().peer_paused);
  if (conn_) conn_->SendControl(net::PacketType::kResumeSync, net::ResumeSync{});
  UpdatePausedState();
  Changed(before);
  asio::post(loop_, [done] { done(tandem::Status::Ok()); });
}

// ---------------------------------------------------------------- online verify

void Resource::Verify(Done done) {
  const StateSnapshot& st = sm_.state();
  if (st.conn != ConnState::kConnected) {
    auto r = IsSyncing(st.conn) || IsVerifying(st.conn) ? refusal::kResyncRunning
                                                         : refusal::kNeedConnection;
    return asio::post(loop_, [done, r] { done(RefusalStatus(r)); });
  }
  auto alg = cfg_.options.OptStr("verify-alg");
  if (!alg) return asio::post(loop_, [done] { done(RefusalStatus(refusal::kNoVerifyAlg)); });
  if (!md_ || st.disk != DiskState::kUpToDate || st.peer_disk != DiskState::kUpToDate) {
    return asio::post(loop_, [done] { done(RefusalStatus(refusal::kNoUpToDateDisk)); });
  }
  auto dg = net::Digest::Create(*alg);
  if (!dg.ok()) {
    auto e = dg.status();
    return asio::post(loop_, [done, e] { done(tandem::Status::InvalidArgument("verify-alg: " + e.message())); });
  }
  verify_digest_ = std::move(*dg);
  conn_->SendControl(net::PacketType::kSyncStart,
                     net::SyncStart{3, md_->superblock().current_uuid});
  StateSnapshot before = sm_.state();
  sm_.SetConn(ConnState::kVerifyS);
  verifying_ = true;
  verify_mismatches_ = 0;
  sync_ = SyncProgress{};
  sync_.active = true;
  sync_.total_bits = BitmapBits();
  sync_.left_bits = sync_.total_bits;
  sync_.started = std::chrono::steady_clock::now();
  rate_mark_ = sync_.started;
  rate_mark_bytes_ = 0;
  resync_cursor_ = 0;
  pace_rate_ = 0;
  Log(LogLevel::kInfo, "Starting Online Verify from sector 0");
  Changed(before);
  PumpVerify();
  asio::post(loop_, [done] { done(tandem::Status::Ok()); });
}

void Resource::PumpVerify() {
  if (!verifying_ || !conn_ || sm_.state().conn != ConnState::kVerifyS || !md_) return;
  const uint64_t bits = BitmapBits();
  const auto now = std::chrono::steady_clock::now();
  const double cap = ResyncCap();
  if (cap != pace_rate_) {
    pace_rate_ = cap;
    pace_base_ = now;
    pace_requested_ = 0;
  }
  while (rs_bytes_window_ < ResyncWindow()) {
    if (resync_cursor_ >= bits) {
      if (rs_inflight_.empty()) FinishVerify();
      return;
    }
    const double budget =
        cap * std::chrono::duration<double>(now - pace_base_).count() - static_cast<double>(pace_requested_);
    if (budget < 0) {
      return ArmPaceTimer(std::chrono::microseconds(static_cast<int64_t>(-budget / cap * 1e6) + 1000));
    }
    const uint64_t offset = resync_cursor_ * meta::kBitmapGranularity;
    const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(meta::kBitmapGranularity, size() - offset));
    ++resync_cursor_;
    uint64_t id = kResyncIdBit | next_id_++;
    rs_inflight_[id] = RsInFlight{offset, len, false};
    rs_bytes_window_ += len;
    pace_requested_ += len;
    auto buf = std::make_shared<io::AlignedBuffer>(io::AlignedBuffer::Uninitialized(len));
    auto alive = alive_;
    ++counters_.lo;
    devs_.disk->Read(offset, buf->data(), len, [this, alive, buf, id, offset, len](tandem::Status st) {
      if (!*alive) return;
      --counters_.lo;
      if (!conn_ || !verify_digest_ || !rs_inflight_.count(id)) return;
      if (!st.ok()) {
        OnLocalIoError(st);
        return StopLink(false, ConnState::kNetworkFailure, "verify read failed");
      }
      counters_.dr += len / 1024;
      conn_->SendControl(net::PacketType::kVerifyRequest,
                         net::VerifyRequest{id, offset, len, verify_digest_->Compute({buf->data(), len})});
    });
  }
}

void Resource::OnVerifyRequest(const net::VerifyRequest& r) {
  if (sm_.state().conn != ConnState::kVerifyT || !md_ || !verify_digest_) {
    return StopLink(false, ConnState::kProtocolError, "VERIFY_REQUEST while not VerifyT");
  }
  if (r.offset > size() || r.length > size() - r.offset) {
    return StopLink(false, ConnState::kProtocolError, "VERIFY_REQUEST outside the device");
  }
  auto buf = std::make_shared<io::AlignedBuffer>(io::AlignedBuffer::Uninitialized(r.length));
  auto alive = alive_;
  ++counters_.lo;
  devs_.disk->Read(r.offset, buf->data(), r.length, [this, alive, buf, r](tandem::Status st) {
    if (!*alive) return;
    --counters_.lo;
    if (!conn_ || !verify_digest_) return;
    bool equal = st.ok() && verify_digest_->Compute({buf->data(), r.length}) == r.digest;
    if (!equal) {
      MarkOutOfSync(r.offset, r.length);
      Log(LogLevel::kWarning, "Out of sync: start=" + std::to_string(r.offset / 512) +
                                  ", size=" + std::to_string(r.length / 512) + " (sectors)");
    }
    sync_.left_bits = sync_.left_bits > 0 ? sync_.left_bits - 1 : 0;
    conn_->SendControl(net::PacketType::kVerifyReply, net::VerifyReply{r.id, equal});
  });
}

void Resource::OnVerifyReply(const net::VerifyReply& r) {
  auto it = rs_inflight_.find(r.id);
  if (it == rs_inflight_.end()) {
    return StopLink(false, ConnState::kProtocolError, "VERIFY_REPLY for an unknown request");
  }
  RsInFlight req = it->second;
  rs_bytes_window_ -= req.length;
  rs_inflight_.erase(it);
  sync_.copied_bytes += req.length;
  sync_.left_bits = sync_.left_bits > 0 ? sync_.left_bits - 1 : 0;
  if (!r.equal) {
    ++verify_mismatches_;
    MarkOutOfSync(req.offset, req.length);
    Log(LogLevel::kWarning, "Out of sync: start=" + std::to_string(req.offset / 512) +
                                ", size=" + std::to_string(req.length / 512) + " (sectors)");
  }
  PumpVerify();
}

void Resource::FinishVerify() {
  verifying_ = false;
  sync_.active = false;
  conn_->SendControl(net::PacketType::kSyncDone, net::SyncDone{sync_.total_bits});
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::steady_clock::now() - sync_.started)
                        .count();
  Log(LogLevel::kInfo, "Online verify done (total " + std::to_string(secs) + " sec)");
  if (verify_mismatches_ > 0) {
    Log(LogLevel::kWarning, "Online verify found " + std::to_string(verify_mismatches_) +
                                " 4k blocks out of sync!");
    RunHandler("out-of-sync");
  }
  md_->FlushBitmap([](tandem::Status) {});
  StateSnapshot before = sm_.state();
  sm_.SetConn(ConnState::kConnected);
  Changed(before);
}

void Resource::HandleNewUuidRequest(const net::StateRequest& r) {
  const bool fresh = md_ && sm_.state().disk == DiskState::kInconsistent &&
                     md_->superblock().current_uuid == meta::kUuidJustCreated;
  if (!fresh) {
    conn_->SendControl(net::PacketType::kStateReply,
                       net::StateReply{r.id, refusal::kRefusedByPeer.code});
    return;
  }
  conn_->SendControl(net::PacketType::kStateReply, net::StateReply{r.id, 0});
  AdoptSkippedInitialSync(r.argument, [](tandem::Status) {});
}

void Resource::AdoptSkippedInitialSync(uint64_t uuid, Done done) {
  Log(LogLevel::kInfo, "skipping the initial sync (new-current-uuid --clear-bitmap)");
  md_->bitmap().ClearAll();
  auto alive = alive_;
  md_->FlushBitmap([this, alive, uuid, done](tandem::Status st) {
    if (!*alive) return;
    if (!st.ok()) return done(st);
    md_->UpdateSuperblock(
        [uuid](meta::Superblock& sb) {
          sb.current_uuid = uuid;
          sb.bitmap_uuid = 0;
          sb.Set(meta::kFlagConsistent, true);
          sb.Set(meta::kFlagWasUpToDate, true);
        },
        [this, alive, done](tandem::Status s2) {
          if (!*alive) return;
          if (!s2.ok()) return done(s2);
          StateSnapshot before = sm_.state();
          sm_.SetDisk(DiskState::kUpToDate);
          if (IsConnected(sm_.state().conn)) {
            sm_.PeerChanged(sm_.state().peer_role, DiskState::kUpToDate);
          }
          Changed(before);
          if (conn_) conn_->SendControl(net::PacketType::kState, LocalStatePacket());
          done(tandem::Status::Ok());
        });
  });
}

}  // namespace tandem::replication
