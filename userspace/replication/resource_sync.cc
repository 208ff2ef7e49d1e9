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
  sm_.SetConn(ConnState::kSyncSource);
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
  if (sm_.state().conn != ConnState::kWFBitMapT || !md_) {
    return StopLink(false, ConnState::kProtocolError, "SYNC_START in the wrong state");
  }
  sync_source_uuid_ = s.source_uuid;
  StateSnapshot before = sm_.state();
  sm_.SetConn(ConnState::kSyncTarget);
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
  md_->FlushBitmap([this, alive](tandem::Status) {
    if (!*alive) return;
    md_->UpdateSuperblock(
        [](meta::Superblock& sb) {
          sb.Set(meta::kFlagConsistent, false);
          sb.Set(meta::kFlagWasUpToDate, false);
        },
        [this, alive](tandem::Status) {
          if (*alive) PumpResyncRequests();
        });
  });
}

void Resource::PumpResyncRequests() {
  if (!sync_.active || !sync_as_target_ || !conn_ || sync_.paused) return;
  meta::Bitmap& bm = md_->bitmap();
  const uint64_t bits = BitmapBits();
  bool wrapped = false;
  while (rs_bytes_window_ < kResyncWindowBytes) {
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
    ++counters_.pe;
    conn_->SendControl(net::PacketType::kRsRequest,
                       net::RsRequest{id, offset, static_cast<uint32_t>(len), {}});
  }
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
  auto buf = std::make_shared<io::AlignedBuffer>(r.length);
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
      return;
    }
    counters_.dr += r.length / 1024;
    counters_.ns += r.length / 1024;
    sync_.copied_bytes += r.length;
    rs_served_[r.id] = {r.offset, r.length};
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
  auto it = rs_inflight_.find(prefix.id);
  if (it == rs_inflight_.end() || it->second.offset != prefix.offset ||
      it->second.length != prefix.length) {
    return StopLink(false, ConnState::kProtocolError, "RS_DATA that was not requested");
  }
  counters_.nr += prefix.length / 1024;
  if (counters_.pe > 0) --counters_.pe;
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
            if (sb.current_uuid != source_uuid && sb.current_uuid != meta::kUuidJustCreated) {
              sb.history_uuid[1] = sb.history_uuid[0];
              sb.history_uuid[0] = sb.current_uuid;
            }
            sb.current_uuid = source_uuid;
            sb.bitmap_uuid = 0;
            sb.Set(meta::kFlagConsistent, true);
            sb.Set(meta::kFlagWasUpToDate, true);
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
  // Persist progress now and then so a crash resumes near where it stopped.
  if (sync_as_target_ && md_) md_->FlushBitmap([](tandem::Status) {});
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
