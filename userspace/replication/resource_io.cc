// Resource: the data paths. As Primary: application writes (local and peer in
// parallel, completion by protocol), reads, flushes, the transfer log. As
// Secondary: the Primary's writes applied in epoch order, acks, flushes. And
// the dispatch of every packet of the established connection.
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "meta/format.h"
#include "replication/resource.h"

namespace tandem::replication {

namespace asio = boost::asio;

// ---------------------------------------------------------------- helpers

net::StatePacket Resource::LocalStatePacket() const {
  net::StatePacket p;
  p.role = static_cast<uint8_t>(sm_.state().role);
  p.disk = static_cast<uint8_t>(sm_.state().disk);
  p.user_flags = sm_.state().user_paused ? 1 : 0;
  return p;
}

GenerationUuids Resource::LocalUuids() const {
  GenerationUuids u;
  if (!md_) return u;
  const meta::Superblock& sb = md_->superblock();
  u.current = sb.current_uuid;
  u.bitmap = sb.bitmap_uuid;
  u.history1 = sb.history_uuid[0];
  u.history2 = sb.history_uuid[1];
  u.crashed_primary = sb.Has(meta::kFlagCrashedPrimary);
  return u;
}

net::Uuids Resource::LocalUuidsPacket() const {
  GenerationUuids g = LocalUuids();
  net::Uuids u;
  u.current = g.current;
  u.bitmap = g.bitmap;
  u.history1 = g.history1;
  u.history2 = g.history2;
  u.out_of_sync_bits = md_ ? md_->bitmap().CountSet() : 0;
  u.flags = (g.crashed_primary ? uint32_t{net::kUuidCrashedPrimary} : 0u) |
            (discard_my_data_ ? uint32_t{net::kUuidDiscardMyData} : 0u);
  u.primary_since_ms = md_ ? md_->superblock().primary_since_ms : 0;
  return u;
}

bool Resource::WritesCompleteBeforeOurs() const { return protocol_ != 'C'; }

bool Resource::Replicating() const {
  const StateSnapshot& s = sm_.state();
  return conn_ && IsConnected(s.conn) && s.peer_disk != DiskState::kDiskless &&
         s.peer_disk != DiskState::kDUnknown;
}

std::optional<std::chrono::steady_clock::duration> Resource::OldestPeerRequestAge(
    std::chrono::steady_clock::time_point now) const {
  std::optional<std::chrono::steady_clock::duration> oldest;
  for (const auto& [id, w] : writes_) {
    if (!w->to_peer || w->peer_finished) continue;
    auto age = now - w->peer_sent_at;
    if (!oldest || age > *oldest) oldest = age;
  }
  return oldest;
}

void Resource::MarkOutOfSync(uint64_t offset, uint64_t len) {
  if (!md_ || len == 0) return;
  uint64_t first = offset / meta::kBitmapGranularity;
  uint64_t last = (offset + len - 1) / meta::kBitmapGranularity;
  md_->bitmap().Set(first, last - first + 1);
}

void Resource::SetInSync(uint64_t offset, uint64_t len) {
  if (!md_ || len == 0) return;
  // Only blocks the range covers completely are known to be in sync.
  uint64_t first = (offset + meta::kBitmapGranularity - 1) / meta::kBitmapGranularity;
  uint64_t end = (offset + len) / meta::kBitmapGranularity;
  if (end > first) md_->bitmap().Clear(first, end - first);
}

// ---------------------------------------------------------------- primary writes

void Resource::Write(uint64_t offset, io::AlignedBuffer data, uint32_t flags,
                     io::IoCallback done) {
  if (io_suspended_) {
    auto shared = std::make_shared<io::AlignedBuffer>(std::move(data));
    suspended_io_.push_back([this, offset, shared, flags, done]() mutable {
      Write(offset, std::move(*shared), flags, std::move(done));
    });
    return;
  }
  auto req = std::make_unique<WriteReq>();
  req->offset = offset;
  req->len = static_cast<uint32_t>(std::min<uint64_t>(data.size(), UINT32_MAX));
  if (data.size() > net::kMaxDataLength) req->len = 0;  // refused below
  req->flags = flags;
  req->data = std::move(data);
  req->done = std::move(done);
  ValidateAndStartWrite(std::move(req));
}

void Resource::WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, bool fua,
                           io::IoCallback done) {
  auto req = std::make_unique<WriteReq>();
  req->offset = offset;
  req->len = len > net::kMaxZeroesLength ? 0 : static_cast<uint32_t>(len);
  req->flags = fua ? uint32_t{net::kDataFua} : 0u;
  req->zeroes = true;
  req->may_unmap = may_unmap;
  req->done = std::move(done);
  ValidateAndStartWrite(std::move(req));
}

void Resource::ValidateAndStartWrite(std::unique_ptr<WriteReq> req) {
  const StateSnapshot& s = sm_.state();
  tandem::Status refuse;
  const uint64_t offset = req->offset;
  const uint64_t len = req->len;
  const uint64_t max_len = req->zeroes ? net::kMaxZeroesLength : net::kMaxDataLength;
  if (s.role != Role::kPrimary) {
    refuse = tandem::Status::PermissionDenied(cfg_.name + " is not Primary");
  } else if (len == 0 || len > max_len || offset > size() || len > size() - offset) {
    refuse = tandem::Status::InvalidArgument("write " + std::to_string(offset) + "+" +
                                             std::to_string(len) + " outside the device");
  } else if (!md_ && !Replicating()) {
    refuse = tandem::Status::IoError(cfg_.name + ": no disk and no peer to write to");
  }
  if (!refuse.ok()) {
    return asio::post(loop_, [done = std::move(req->done), refuse] { done(refuse); });
  }
  req->id = next_id_++;
  ++counters_.ap;
  app_bytes_tick_ += req->len;
  StartWrite(std::move(req));
}

bool Resource::Overlaps(uint64_t offset, uint64_t len) const {
  auto it = active_ranges_.upper_bound(offset);
  if (it != active_ranges_.end() && it->first < offset + len) return true;
  if (it != active_ranges_.begin()) {
    --it;
    if (it->second.first > offset) return true;
  }
  return false;
}

void Resource::StartWrite(std::unique_ptr<WriteReq> req) {
  // Overlapping writes are serialized, so both disks apply them in the same order.
  if (Overlaps(req->offset, req->len) || !conflict_waiters_.empty()) {
    conflict_waiters_.push_back(std::move(req));
    return;
  }
  WriteReq* r = req.get();
  r->started = true;
  active_ranges_[r->offset] = {r->offset + r->len, r->id};
  writes_[r->id] = std::move(req);
  if (!md_) return IssueWrite(r);
  auto& al = md_->activity_log();
  uint32_t first = meta::ActivityLog::FirstExtent(r->offset);
  uint32_t last = meta::ActivityLog::LastExtent(r->offset, r->len);
  auto alive = alive_;
  uint64_t id = r->id;
  al.Activate(first, last, [this, alive, id](tandem::Status st) {
    if (!*alive) return;
    auto it = writes_.find(id);
    if (it == writes_.end()) return;
    WriteReq* w = it->second.get();
    if (!st.ok()) {
      // The meta-data disk failed. Detached: the write goes to the peer alone.
      if (OnLocalIoError(st)) return IssueWrite(w);
      w->local_done = true;
      w->local_status = st;
      w->peer_finished = true;
      return CheckWriteDone(w);
    }
    w->al_held = true;
    IssueWrite(w);
  });
}

void Resource::IssueWrite(WriteReq* r) {
  if (completed_since_epoch_) {
    ++epoch_;
    ++counters_.ep;
    completed_since_epoch_ = false;
  }
  r->epoch = epoch_;
  const uint64_t id = r->id;
  auto alive = alive_;
  if (md_ && sm_.state().disk != DiskState::kDiskless) {
    ++counters_.lo;
    auto on_local = [this, alive, id](tandem::Status st) {
      if (!*alive) return;
      --counters_.lo;
      auto it = writes_.find(id);
      if (it == writes_.end()) return;
      WriteReq* w = it->second.get();
      w->local_done = true;
      w->local_status = st;
      if (st.ok()) {
        counters_.dw += w->len / 1024;
      } else {
        Log(LogLevel::kError, "local write error at " + std::to_string(w->offset) + ": " +
                                  st.message());
        if (OnLocalIoError(st)) {
          // Detached: the peer's copy is the write now.
          w->local_failed = true;
          w->local_status = tandem::Status::Ok();
        } else {
          MarkOutOfSync(w->offset, w->len);  // the peer may have it; we do not
        }
      }
      CheckWriteDone(w);
    };
    if (!r->zeroes) {
      devs_.disk->Write(r->offset, r->data.data(), r->len,
                        (r->flags & net::kDataFua) ? io::kWriteFua : io::kWriteNone, on_local);
    } else if (r->flags & net::kDataFua) {
      devs_.disk->WriteZeroes(r->offset, r->len, r->may_unmap,
                              [this, alive, on_local](tandem::Status st) {
                                if (!*alive) return;
                                if (!st.ok() || !md_) return on_local(st);
                                devs_.disk->Flush(on_local);
                              });
    } else {
      devs_.disk->WriteZeroes(r->offset, r->len, r->may_unmap, on_local);
    }
  } else {
    r->local_done = true;  // diskless: the peer's copy is the only one
  }
  if (Replicating()) {
    r->to_peer = true;
    r->peer_sent_at = std::chrono::steady_clock::now();
    ++counters_.pe;
    auto on_sent = [this, alive, id]() {
      if (!*alive) return;
      auto it = writes_.find(id);
      if (it == writes_.end()) return;
      it->second->sent = true;
      if (!it->second->zeroes) counters_.ns += it->second->len / 1024;
      CheckWriteDone(it->second.get());
    };
    if (r->zeroes) {
      uint8_t zflags = (r->may_unmap ? net::kZeroesMayUnmap : 0) |
                       ((r->flags & net::kDataFua) ? net::kZeroesFua : 0);
      conn_->SendControl(net::PacketType::kZeroes,
                         net::Zeroes{r->id, r->offset, r->len, r->epoch, zflags}, on_sent);
    } else {
      net::DataPrefix p;
      p.id = r->id;
      p.offset = r->offset;
      p.length = r->len;
      p.epoch = r->epoch;
      p.flags = r->flags & net::kDataFua;
      if (integrity_) p.digest = integrity_->Compute({r->data.data(), r->len});
      conn_->SendBulk(net::EncodeDataPrefix(p), r->data.data(), r->len, on_sent);
    }
    if (sync_.active && sync_as_target_) NoteApplicationWrite(r->offset, r->len);
  } else {
    r->peer_finished = true;
    MarkOutOfSync(r->offset, r->len);
  }
  CheckWriteDone(r);
}

void Resource::CheckWriteDone(WriteReq* r) {
  if (!r->app_completed && r->local_done) {
    const char proto = protocol_;
    bool peer_ok = !r->to_peer || r->peer_finished ||
                   (proto == 'A' && r->sent) || (proto == 'B' && r->recv_acked);
    // Without a (working) local disk the peer's write is the write.
    const bool no_local = !md_ || sm_.state().disk == DiskState::kDiskless || r->local_failed;
    if (no_local) peer_ok = r->peer_finished;
    if (peer_ok) {
      r->app_completed = true;
      completed_since_epoch_ = true;
      --counters_.ap;
      tandem::Status st = r->local_status;
      if (no_local && (!r->to_peer || !r->peer_ok)) {
        st = tandem::Status::IoError("neither disk holds this write (local disk failed, peer " +
                                     std::string(r->to_peer ? "refused it)" : "unreachable)"));
      }
      auto done = std::move(r->done);
      done(st);
    }
  }
  if (r->app_completed && r->peer_finished && r->local_done) FinishWrite(r->id);
}

void Resource::FinishWrite(uint64_t id) {
  auto it = writes_.find(id);
  if (it == writes_.end()) return;
  WriteReq* r = it->second.get();
  active_ranges_.erase(r->offset);
  if (r->al_held && md_) {
    md_->activity_log().Release(meta::ActivityLog::FirstExtent(r->offset),
                                meta::ActivityLog::LastExtent(r->offset, r->len));
  }
  writes_.erase(it);
  RetryConflicts();
  CheckResyncConflicts();
}

void Resource::RetryConflicts() {
  while (!conflict_waiters_.empty()) {
    WriteReq* front = conflict_waiters_.front().get();
    if (Overlaps(front->offset, front->len)) return;
    auto req = std::move(conflict_waiters_.front());
    conflict_waiters_.pop_front();
    // StartWrite queues again when later waiters exist; this one is first.
    WriteReq* r = req.get();
    r->started = true;
    active_ranges_[r->offset] = {r->offset + r->len, r->id};
    writes_[r->id] = std::move(req);
    if (!md_) {
      IssueWrite(r);
      continue;
    }
    uint64_t id = r->id;
    auto alive = alive_;
    md_->activity_log().Activate(
        meta::ActivityLog::FirstExtent(r->offset), meta::ActivityLog::LastExtent(r->offset, r->len),
        [this, alive, id](tandem::Status st) {
          if (!*alive) return;
          auto it = writes_.find(id);
          if (it == writes_.end()) return;
          WriteReq* w = it->second.get();
          if (!st.ok()) {
            if (OnLocalIoError(st)) return IssueWrite(w);
            w->local_done = true;
            w->local_status = st;
            w->peer_finished = true;
            return CheckWriteDone(w);
          }
          w->al_held = true;
          IssueWrite(w);
        });
  }
}

void Resource::FailPeerRequests() {
  // Everything the peer has not confirmed is out of sync now (docs/wire-protocol.md).
  std::vector<uint64_t> ids;
  for (auto& [id, w] : writes_) {
    if (w->to_peer && !w->peer_finished) {
      w->peer_finished = true;
      --counters_.pe;
      MarkOutOfSync(w->offset, w->len);
      ids.push_back(id);
    }
  }
  for (uint64_t id : ids) {
    auto it = writes_.find(id);
    if (it != writes_.end()) CheckWriteDone(it->second.get());
  }
  for (auto& [id, f] : flushes_) {
    if (!f.peer_done) {
      f.peer_done = true;
      if (f.local_done) {
        auto done = std::move(f.done);
        asio::post(loop_, [done, st = f.status] { done(st); });
      }
    }
  }
  for (auto it = flushes_.begin(); it != flushes_.end();) {
    it = (it->second.local_done && it->second.peer_done) ? flushes_.erase(it) : std::next(it);
  }
  auto reads = std::move(remote_reads_);
  remote_reads_.clear();
  for (auto& [id, cb] : reads) {
    asio::post(loop_, [cb = cb] { cb(tandem::Status::IoError("connection lost"), {}); });
  }
  counters_.pe = 0;
  counters_.ua = 0;
  peer_inflight_.clear();
}

void Resource::Flush(io::IoCallback done) {
  if (io_suspended_) {
    suspended_io_.push_back([this, done]() { Flush(done); });
    return;
  }
  if (sm_.state().role != Role::kPrimary) {
    return asio::post(loop_, [done, n = cfg_.name] {
      done(tandem::Status::PermissionDenied(n + " is not Primary"));
    });
  }
  uint64_t id = next_id_++;
  PendingFlush& f = flushes_[id];
  f.id = id;
  f.done = std::move(done);
  auto alive = alive_;
  auto finish = [this, alive, id]() {
    if (!*alive) return;
    auto it = flushes_.find(id);
    if (it == flushes_.end()) return;
    if (!(it->second.local_done && it->second.peer_done)) return;
    auto d = std::move(it->second.done);
    tandem::Status st = it->second.status;
    flushes_.erase(it);
    d(st);
  };
  if (md_ && sm_.state().disk != DiskState::kDiskless) {
    devs_.disk->Flush([this, alive, id, finish](tandem::Status st) {
      if (!*alive) return;
      auto it = flushes_.find(id);
      if (it == flushes_.end()) return;
      it->second.local_done = true;
      if (!st.ok()) it->second.status = st;
      finish();
    });
  } else {
    f.local_done = true;
  }
  if (Replicating()) {
    conn_->SendControl(net::PacketType::kFlush, net::FlushPacket{id});
  } else {
    f.peer_done = true;
  }
  if (f.local_done && f.peer_done) asio::post(loop_, finish);
}

void Resource::Read(uint64_t offset, void* buf, size_t len, io::IoCallback done) {
  if (sm_.state().role != Role::kPrimary) {
    return asio::post(loop_, [done, n = cfg_.name] {
      done(tandem::Status::PermissionDenied(n + " is not Primary"));
    });
  }
  if (len == 0 || offset > size() || len > size() - offset) {
    return asio::post(loop_, [done] { done(tandem::Status::InvalidArgument("outside the device")); });
  }
  const bool local_good =
      md_ && (sm_.state().disk == DiskState::kUpToDate ||
              (sm_.state().disk >= DiskState::kInconsistent &&
               md_->bitmap().CountSetIn(offset / meta::kBitmapGranularity,
                                        (len + offset % meta::kBitmapGranularity +
                                         meta::kBitmapGranularity - 1) /
                                            meta::kBitmapGranularity) == 0));
  auto alive = alive_;
  if (local_good) {
    ++counters_.lo;
    devs_.disk->Read(offset, buf, len, [this, alive, offset, buf, len, done](tandem::Status st) {
      if (!*alive) return;
      --counters_.lo;
      if (st.ok()) {
        counters_.dr += len / 1024;
        return done(st);
      }
      Log(LogLevel::kError, "local read error at " + std::to_string(offset) + ": " + st.message());
      // Detached: serve it from the peer.
      if (OnLocalIoError(st)) return Read(offset, buf, len, done);
      done(st);
    });
    return;
  }
  if (!Replicating() || sm_.state().peer_disk != DiskState::kUpToDate) {
    return asio::post(loop_, [done] {
      done(tandem::Status::IoError("no up-to-date data reachable for this range"));
    });
  }
  uint64_t id = next_id_++;
  remote_reads_[id] = [buf, len, done](tandem::Status st, io::AlignedBuffer data) {
    if (st.ok() && data.size() == len) std::memcpy(buf, data.data(), len);
    if (st.ok() && data.size() != len) st = tandem::Status::IoError("short reply from the peer");
    done(st);
  };
  ++counters_.pe;
  conn_->SendControl(net::PacketType::kDataRequest,
                     net::DataRequest{id, offset, static_cast<uint32_t>(len)});
}

// ---------------------------------------------------------------- incoming packets

void Resource::OnControl(net::PacketType type, net::ControlPacket packet) {
  using T = net::PacketType;
  switch (type) {
    case T::kEstablished:
      return;  // the tie-break marker, already acted on by the Linker
    case T::kParams:
      peer_params_ = std::get<net::Params>(packet);
      got_params_ = true;
      return MaybeFinishHandshake();
    case T::kSizes:
      peer_sizes_ = std::get<net::Sizes>(packet);
      got_sizes_ = true;
      return MaybeFinishHandshake();
    case T::kUuids:
      peer_uuids_ = std::get<net::Uuids>(packet);
      got_uuids_ = true;
      return MaybeFinishHandshake();
    case T::kState: {
      peer_state_ = std::get<net::StatePacket>(packet);
      if (!got_state_) {
        got_state_ = true;
        return MaybeFinishHandshake();
      }
      if (!IsConnected(sm_.state().conn) && sm_.state().conn != ConnState::kWFReportParams) return;
      StateSnapshot before = sm_.state();
      if (IsConnected(sm_.state().conn)) {
        sm_.PeerChanged(static_cast<Role>(peer_state_.role),
                        static_cast<DiskState>(peer_state_.disk));
      }
      Changed(before);
      return;
    }
    case T::kStateRequest: {
      const auto& r = std::get<net::StateRequest>(packet);
      if (r.what == 4) return HandleNewUuidRequest(r);
      return HandleStateRequest(r);
    }
    case T::kStateReply: {
      const auto& r = std::get<net::StateReply>(packet);
      auto it = state_requests_.find(r.id);
      if (it == state_requests_.end()) return;
      auto cb = std::move(it->second);
      state_requests_.erase(it);
      return cb(r.result);
    }
    case T::kRecvAck:
    case T::kWriteAck: {
      const uint64_t id = std::get<net::Ack>(packet).id;
      if (type == T::kWriteAck && IsResyncId(id)) return OnResyncWriteAck(id);
      auto it = writes_.find(id);
      if (it == writes_.end() || !it->second->to_peer) {
        return StopLink(false, ConnState::kProtocolError,
                        std::string(net::PacketTypeName(type)) + " for unknown request " +
                            std::to_string(id));
      }
      WriteReq* w = it->second.get();
      if (type == T::kRecvAck) {
        w->recv_acked = true;
      } else if (!w->peer_finished) {
        w->peer_finished = true;
        w->peer_ok = true;
        --counters_.pe;
      }
      return CheckWriteDone(w);
    }
    case T::kNegAck: {
      const auto& n = std::get<net::NegAck>(packet);
      auto it = writes_.find(n.id);
      if (it == writes_.end()) return;
      WriteReq* w = it->second.get();
      Log(LogLevel::kWarning, "the peer failed to write " + std::to_string(w->offset) + "+" +
                                  std::to_string(w->len) + " (" + std::strerror(n.err) +
                                  "); marked out of sync");
      MarkOutOfSync(w->offset, w->len);
      if (!w->peer_finished) {
        w->peer_finished = true;
        --counters_.pe;
      }
      return CheckWriteDone(w);
    }
    case T::kFlush: {
      const uint64_t id = std::get<net::FlushPacket>(packet).id;
      peer_flushes_.emplace_back(id, peer_seq_);
      return CheckPeerFlushes();
    }
    case T::kFlushAck: {
      const auto& f = std::get<net::FlushAck>(packet);
      auto it = flushes_.find(f.id);
      if (it == flushes_.end()) return;
      it->second.peer_done = true;
      if (f.err != 0) {
        it->second.status = tandem::Status::IoError(std::string("peer flush failed: ") +
                                                     std::strerror(f.err));
      }
      if (it->second.local_done) {
        auto d = std::move(it->second.done);
        tandem::Status st = it->second.status;
        flushes_.erase(it);
        d(st);
      }
      return;
    }
    case T::kDataRequest: {
      const auto& r = std::get<net::DataRequest>(packet);
      return ServeDataRequest(r);
    }
    case T::kZeroes:
      return OnZeroes(std::get<net::Zeroes>(packet));
    case T::kPing:
      conn_->SendControl(T::kPingAck, net::Ping{std::get<net::Ping>(packet).nonce});
      return;
    case T::kPingAck:
      ping_outstanding_ = false;
      return;
    case T::kDisconnect:
      Log(LogLevel::kInfo, "peer closed the connection");
      return StopLink(false, ConnState::kTearDown, "peer disconnected");
    case T::kError:
      Log(LogLevel::kError, "peer reports: " + std::get<net::ErrorPacket>(packet).message);
      return StopLink(true, ConnState::kDisconnecting, "peer error");
    case T::kBitmap:
      return OnBitmapChunk(std::get<net::BitmapChunk>(packet));
    case T::kSyncStart:
      return OnSyncStart(std::get<net::SyncStart>(packet));
    case T::kRsRequest:
      return HandleRsRequest(std::get<net::RsRequest>(packet));
    case T::kRsNeg:
      return OnRsNeg(std::get<net::RsNeg>(packet));
    case T::kVerifyRequest:
      return OnVerifyRequest(std::get<net::VerifyRequest>(packet));
    case T::kVerifyReply:
      return OnVerifyReply(std::get<net::VerifyReply>(packet));
    case T::kSyncDone:
      return OnSyncDone(std::get<net::SyncDone>(packet));
    case T::kPauseSync:
    case T::kResumeSync: {
      StateSnapshot before = sm_.state();
      sm_.SetPaused(sm_.state().user_paused, type == T::kPauseSync);
      UpdatePausedState();
      Changed(before);
      return;
    }
    default:
      return StopLink(false, ConnState::kProtocolError,
                      std::string("unexpected ") + net::PacketTypeName(type) + " from the peer");
  }
}

void Resource::OnClosed(tandem::Status why) {
  ConnState reason = ConnState::kNetworkFailure;
  if (why.code() == Status::Code::kProtocolError) {
    Log(LogLevel::kError, "protocol error from the peer: " + why.message());
    reason = ConnState::kProtocolError;
  } else if (why.code() == Status::Code::kAborted) {
    reason = ConnState::kBrokenPipe;
  }
  StopLink(false, reason, why.message());
}

// ---------------------------------------------------------------- secondary writes

void Resource::OnData(net::DataPrefix prefix, io::AlignedBuffer data) {
  const uint64_t limit = md_ ? md_->layout().data_size : agreed_size_;
  if (prefix.offset > limit || prefix.length > limit - prefix.offset) {
    return StopLink(false, ConnState::kProtocolError,
                    "DATA " + std::to_string(prefix.offset) + "+" +
                        std::to_string(prefix.length) + " outside the device");
  }
  counters_.nr += prefix.length / 1024;
  app_bytes_tick_ += prefix.length;
  if (integrity_) {
    auto want = integrity_->Compute({data.data(), data.size()});
    if (!net::SecureEqual(want, prefix.digest)) {
      Log(LogLevel::kError, "Digest integrity check FAILED at " + std::to_string(prefix.offset) +
                                " (" + std::to_string(prefix.length) + " bytes)");
      conn_->SendControl(net::PacketType::kNegAck, net::NegAck{prefix.id, EIO});
      return StopLink(false, ConnState::kProtocolError, "data integrity check failed");
    }
  }
  if (protocol_ == 'B') {
    conn_->SendControl(net::PacketType::kRecvAck, net::Ack{prefix.id});
  }
  ++counters_.ua;
  if (sync_.active && sync_as_target_) NoteApplicationWrite(prefix.offset, prefix.length);
  PeerWrite w;
  w.seq = ++peer_seq_;
  w.prefix = std::move(prefix);
  w.data = std::move(data);
  w.received = std::chrono::steady_clock::now();
  peer_inflight_.insert(w.seq);
  // A new epoch waits until every write of the current one is on the disk.
  // Under protocol C this never binds: a write the Primary completed was
  // acknowledged by us first, so whatever a later write depends on is already
  // here. Only A and B (completion before our write) need the barrier.
  const bool ordered = WritesCompleteBeforeOurs();
  const bool busy = ordered && (!peer_queue_.empty() ||
                                (w.prefix.epoch != peer_epoch_ && peer_inflight_.size() > 1));
  if (busy) {
    peer_queue_.push_back(std::move(w));
    return;
  }
  peer_epoch_ = w.prefix.epoch;
  ApplyPeerWrite(std::move(w));
}

bool Resource::BlockedByResyncWrite(const PeerWrite& w) const {
  for (const auto& [id, r] : rs_inflight_) {
    if (r.writing && r.offset < w.prefix.offset + w.prefix.length &&
        w.prefix.offset < r.offset + r.length) {
      return true;
    }
  }
  return false;
}

void Resource::OnZeroes(const net::Zeroes& z) {
  const uint64_t limit = md_ ? md_->layout().data_size : agreed_size_;
  if (z.offset > limit || z.length > limit - z.offset) {
    return StopLink(false, ConnState::kProtocolError, "ZEROES outside the device");
  }
  ++counters_.ua;
  if (sync_.active && sync_as_target_) NoteApplicationWrite(z.offset, z.length);
  PeerWrite w;
  w.seq = ++peer_seq_;
  w.prefix.id = z.id;
  w.prefix.offset = z.offset;
  w.prefix.length = z.length;
  w.prefix.epoch = z.epoch;
  w.prefix.flags = (z.flags & net::kZeroesFua) ? uint32_t{net::kDataFua} : 0u;
  w.zeroes = true;
  w.may_unmap = (z.flags & net::kZeroesMayUnmap) != 0;
  w.received = std::chrono::steady_clock::now();
  peer_inflight_.insert(w.seq);
  const bool ordered = WritesCompleteBeforeOurs();
  const bool busy = ordered && (!peer_queue_.empty() ||
                                (w.prefix.epoch != peer_epoch_ && peer_inflight_.size() > 1));
  if (busy) {
    peer_queue_.push_back(std::move(w));
    return;
  }
  peer_epoch_ = w.prefix.epoch;
  ApplyPeerWrite(std::move(w));
}

void Resource::ApplyPeerWrite(PeerWrite w) {
  // A resync write to the same blocks is on its way to the disk: this newer
  // write must land after it.
  if (BlockedByResyncWrite(w)) {
    rs_blocked_writes_.push_back(std::move(w));
    return;
  }
  auto shared = std::make_shared<PeerWrite>(std::move(w));
  auto alive = alive_;
  if (!md_ || sm_.state().disk == DiskState::kDiskless) {
    asio::post(loop_, [this, alive, shared] {
      if (!*alive || !conn_) return;
      conn_->SendControl(net::PacketType::kNegAck, net::NegAck{shared->prefix.id, ENODEV});
      PeerWriteDone(shared->seq);
    });
    return;
  }
  ++counters_.lo;
  auto on_done = [this, alive, shared](tandem::Status st) {
                      if (!*alive) return;
                      --counters_.lo;
                      if (!conn_) return;  // the link went away; the Primary marks it
                      if (st.ok()) {
                        counters_.dw += shared->prefix.length / 1024;
                        // A write from the Primary brings these blocks in sync.
                        if (sync_.active && sync_as_target_) {
                          SetInSync(shared->prefix.offset, shared->prefix.length);
                        }
                        conn_->SendControl(net::PacketType::kWriteAck, net::Ack{shared->prefix.id});
                      } else {
                        Log(LogLevel::kError, "write from the peer failed at " +
                                                  std::to_string(shared->prefix.offset) + ": " +
                                                  st.message());
                        conn_->SendControl(net::PacketType::kNegAck,
                                           net::NegAck{shared->prefix.id, EIO});
                        OnLocalIoError(st);
                      }
                      PeerWriteDone(shared->seq);
  };
  if (!shared->zeroes) {
    devs_.disk->Write(shared->prefix.offset, shared->data.data(), shared->prefix.length,
                      (shared->prefix.flags & net::kDataFua) ? io::kWriteFua : io::kWriteNone,
                      on_done);
  } else if (shared->prefix.flags & net::kDataFua) {
    devs_.disk->WriteZeroes(shared->prefix.offset, shared->prefix.length, shared->may_unmap,
                            [this, alive, on_done](tandem::Status st) {
                              if (!*alive) return;
                              if (!st.ok() || !md_) return on_done(st);
                              devs_.disk->Flush(on_done);
                            });
  } else {
    devs_.disk->WriteZeroes(shared->prefix.offset, shared->prefix.length, shared->may_unmap,
                            on_done);
  }
}

void Resource::PeerWriteDone(uint64_t seq) {
  peer_inflight_.erase(seq);
  if (counters_.ua > 0) --counters_.ua;
  DrainPeerQueue();
  CheckPeerFlushes();
}

void Resource::DrainPeerQueue() {
  if (peer_queue_.empty()) return;
  // Writes of the current epoch still running: the next epoch waits.
  size_t running = peer_inflight_.size() - peer_queue_.size();
  if (running > 0) return;
  const uint32_t next = peer_queue_.front().prefix.epoch;
  peer_epoch_ = next;
  while (!peer_queue_.empty() && peer_queue_.front().prefix.epoch == next) {
    PeerWrite w = std::move(peer_queue_.front());
    peer_queue_.pop_front();
    ApplyPeerWrite(std::move(w));
  }
}

void Resource::CheckPeerFlushes() {
  if (peer_flushes_.empty()) return;  // the usual case, after every peer write
  // A flush covers the writes the Primary completed before it. Under protocol
  // C those were written here before we acknowledged them, so the flush need
  // not wait for the writes still running; under A and B it must wait for
  // every write received before it.
  const bool wait_for_writes = WritesCompleteBeforeOurs();
  while (!peer_flushes_.empty() && conn_) {
    auto [id, seq] = peer_flushes_.front();
    if (wait_for_writes && !peer_inflight_.empty() && *peer_inflight_.begin() <= seq) return;
    peer_flushes_.pop_front();
    auto alive = alive_;
    if (!md_) {
      conn_->SendControl(net::PacketType::kFlushAck, net::FlushAck{id, ENODEV});
      continue;
    }
    devs_.disk->Flush([this, alive, id = id](tandem::Status st) {
      if (!*alive || !conn_) return;
      conn_->SendControl(net::PacketType::kFlushAck, net::FlushAck{id, st.ok() ? 0 : EIO});
    });
  }
}

void Resource::ServeDataRequest(const net::DataRequest& r) {
  const uint64_t limit = md_ ? md_->layout().data_size : 0;
  if (r.offset > limit || r.length > limit - r.offset) {
    return StopLink(false, ConnState::kProtocolError, "DATA_REQUEST outside the device");
  }
  auto buf = std::make_shared<io::AlignedBuffer>(io::AlignedBuffer::Uninitialized(r.length));
  auto alive = alive_;
  if (!md_ || sm_.state().disk != DiskState::kUpToDate) {
    conn_->SendBulk(net::EncodeDataReplyPrefix({r.id, EIO, 0}), nullptr, 0);
    return;
  }
  ++counters_.lo;
  devs_.disk->Read(r.offset, buf->data(), r.length, [this, alive, buf, r](tandem::Status st) {
    if (!*alive) return;
    --counters_.lo;
    if (!conn_) return;
    if (!st.ok()) {
      conn_->SendBulk(net::EncodeDataReplyPrefix({r.id, EIO, 0}), nullptr, 0);
      return;
    }
    counters_.dr += r.length / 1024;
    counters_.ns += r.length / 1024;
    conn_->SendBulk(net::EncodeDataReplyPrefix({r.id, 0, r.length}), buf->data(), r.length,
                    [buf]() {});
  });
}

void Resource::OnDataReply(net::DataReplyPrefix prefix, io::AlignedBuffer data) {
  auto it = remote_reads_.find(prefix.id);
  if (it == remote_reads_.end()) {
    return StopLink(false, ConnState::kProtocolError, "DATA_REPLY for an unknown request");
  }
  auto cb = std::move(it->second);
  remote_reads_.erase(it);
  if (counters_.pe > 0) --counters_.pe;
  counters_.nr += prefix.length / 1024;
  if (prefix.err != 0) {
    return cb(tandem::Status::IoError(std::string("peer read failed: ") + std::strerror(prefix.err)),
              {});
  }
  cb(tandem::Status::Ok(), std::move(data));
}

}  // namespace tandem::replication
