#include "io/fault_injecting_device.h"

#include <boost/asio/post.hpp>
#include <cassert>
#include <cstring>

namespace tandem::io {

namespace {
constexpr uint64_t kSector = 512;
bool Overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
  return a < b + blen && b < a + alen;
}
}  // namespace

FaultInjectingDevice::FaultInjectingDevice(boost::asio::io_context& loop,
                                           std::unique_ptr<BlockDevice> target)
    : loop_(loop), target_(std::move(target)) {}

void FaultInjectingDevice::FailNth(uint64_t n, uint32_t kinds) {
  assert(n >= 1);
  nth_faults_.push_back({n, kinds});
}

void FaultInjectingDevice::FailRange(uint64_t offset, uint64_t len, uint32_t kinds) {
  range_faults_.push_back({offset, len, kinds});
}

void FaultInjectingDevice::ClearFaults() {
  nth_faults_.clear();
  range_faults_.clear();
}

void FaultInjectingDevice::EnablePowerLoss() { power_loss_ = true; }

void FaultInjectingDevice::CutPowerAfter(uint64_t n) {
  if (n == 0) {
    power_cut_ = true;
  } else {
    cut_after_ = ops_ + n;
  }
}

std::vector<FaultInjectingDevice::UnflushedWrite> FaultInjectingDevice::unflushed() const {
  std::vector<UnflushedWrite> out;
  for (const auto& p : pending_) out.push_back({p.offset, p.data.size()});
  return out;
}

Status FaultInjectingDevice::Admit(OpKind kind, uint64_t offset, uint64_t len) {
  ++ops_;
  if (ops_ > cut_after_) power_cut_ = true;
  if (power_cut_) return Status::IoError(info().path + ": device lost power (injected)");
  Status injected;
  for (auto& f : nth_faults_) {
    if (!(f.kinds & kind) || f.remaining == 0) continue;
    if (--f.remaining == 0) {
      injected = Status::IoError(info().path + ": Input/output error (injected on operation " +
                                 std::to_string(ops_) + ")");
    }
  }
  for (const auto& f : range_faults_) {
    if (!(f.kinds & kind)) continue;
    if (kind == kOpFlush || Overlaps(offset, len, f.offset, f.len)) {
      injected = Status::IoError(info().path + ": Input/output error (injected at offset " +
                                 std::to_string(offset) + ")");
    }
  }
  return injected;
}

void FaultInjectingDevice::Finish(Status st, IoCallback done) {
  ++in_flight_;
  boost::asio::post(loop_, [this, st = std::move(st), done = std::move(done)]() mutable {
    --in_flight_;
    done(std::move(st));
  });
}

IoCallback FaultInjectingDevice::Track(IoCallback done) {
  ++in_flight_;
  return [this, done = std::move(done)](Status st) {
    --in_flight_;
    done(std::move(st));
  };
}

void FaultInjectingDevice::OverlayPending(uint64_t offset, uint8_t* buf, size_t len) const {
  for (const auto& p : pending_) {
    uint64_t lo = std::max(offset, p.offset);
    uint64_t hi = std::min(offset + len, p.offset + p.data.size());
    if (lo < hi) std::memcpy(buf + (lo - offset), p.data.data() + (lo - p.offset), hi - lo);
  }
}

void FaultInjectingDevice::RemoveOverlap(uint64_t offset, uint64_t len) {
  std::vector<Pending> kept;
  for (auto& p : pending_) {
    uint64_t end = p.offset + p.data.size();
    if (!Overlaps(offset, len, p.offset, p.data.size())) {
      kept.push_back(std::move(p));
      continue;
    }
    if (p.offset < offset) {
      kept.push_back({p.offset, std::vector<uint8_t>(p.data.begin(),
                                                     p.data.begin() + (offset - p.offset))});
    }
    if (end > offset + len) {
      uint64_t from = offset + len - p.offset;
      kept.push_back({offset + len, std::vector<uint8_t>(p.data.begin() + from, p.data.end())});
    }
  }
  pending_ = std::move(kept);
}

void FaultInjectingDevice::Read(uint64_t offset, void* buf, size_t len, IoCallback done) {
  Status st = Admit(kOpRead, offset, len);
  if (!st.ok()) return Finish(std::move(st), std::move(done));
  if (!power_loss_) return target_->Read(offset, buf, len, Track(std::move(done)));
  target_->Read(offset, buf, len,
                Track([this, offset, buf, len, done = std::move(done)](Status s) {
                  if (s.ok()) OverlayPending(offset, static_cast<uint8_t*>(buf), len);
                  done(std::move(s));
                }));
}

void FaultInjectingDevice::Write(uint64_t offset, const void* buf, size_t len, uint32_t flags,
                                 IoCallback done) {
  const bool cut_before = power_cut_;
  Status st = Admit(kOpWrite, offset, len);
  if (power_loss_ && !cut_before && power_cut_ && offset % kSector == 0 && len % kSector == 0) {
    // The write during which the power died: any prefix of it may be on the platter.
    RemoveOverlap(offset, len);
    const auto* p = static_cast<const uint8_t*>(buf);
    pending_.push_back({offset, std::vector<uint8_t>(p, p + len)});
  }
  if (st.ok()) st = CheckRequest(info(), offset, len, buf, true);
  if (!st.ok()) return Finish(std::move(st), std::move(done));
  if (!power_loss_) return target_->Write(offset, buf, len, flags, Track(std::move(done)));
  if (offset % kSector || len % kSector) {
    return Finish(Status::InvalidArgument("power-loss mode needs 512-byte aligned writes"),
                  std::move(done));
  }
  RemoveOverlap(offset, len);
  if (flags & kWriteFua) {
    return target_->Write(offset, buf, len, flags, Track(std::move(done)));
  }
  const auto* p = static_cast<const uint8_t*>(buf);
  pending_.push_back({offset, std::vector<uint8_t>(p, p + len)});
  Finish(Status::Ok(), std::move(done));
}

void FaultInjectingDevice::WriteSequentially(std::shared_ptr<std::vector<Pending>> writes,
                                             size_t index, IoCallback done) {
  if (index == writes->size()) return done(Status::Ok());
  const Pending& w = (*writes)[index];
  target_->Write(w.offset, w.data.data(), w.data.size(), kWriteNone,
                 [this, writes, index, done = std::move(done)](Status st) mutable {
                   if (!st.ok()) return done(std::move(st));
                   WriteSequentially(std::move(writes), index + 1, std::move(done));
                 });
}

void FaultInjectingDevice::Flush(IoCallback done) {
  Status st = Admit(kOpFlush, 0, 0);
  if (!st.ok()) return Finish(std::move(st), std::move(done));
  if (!power_loss_) return target_->Flush(Track(std::move(done)));
  flush_queue_.push_back(Track(std::move(done)));
  if (!flushing_) StartNextFlush();
}

void FaultInjectingDevice::StartNextFlush() {
  if (flush_queue_.empty()) {
    flushing_ = false;
    return;
  }
  flushing_ = true;
  IoCallback done = std::move(flush_queue_.front());
  flush_queue_.pop_front();
  // Everything pending now is covered by this flush; later writes stay pending.
  auto writes = std::make_shared<std::vector<Pending>>(pending_);
  WriteSequentially(writes, 0, [this, writes, done = std::move(done)](Status st) mutable {
    if (!st.ok() || power_cut_) {
      done(st.ok() ? Status::IoError(info().path + ": device lost power (injected)") : st);
      return StartNextFlush();
    }
    target_->Flush([this, writes, done = std::move(done)](Status fst) mutable {
      if (fst.ok() && !power_cut_) {
        // Drop what reached the disk, unless a newer write replaced it meanwhile
        // (RemoveOverlap already split those; compare by identity of content).
        for (const auto& w : *writes) {
          for (auto it = pending_.begin(); it != pending_.end(); ++it) {
            if (it->offset == w.offset && it->data == w.data) {
              pending_.erase(it);
              break;
            }
          }
        }
      }
      done(power_cut_ ? Status::IoError(info().path + ": device lost power (injected)") : fst);
      StartNextFlush();
    });
  });
}

void FaultInjectingDevice::Discard(uint64_t offset, uint64_t len, IoCallback done) {
  Status st = Admit(kOpDiscard, offset, len);
  if (!st.ok()) return Finish(std::move(st), std::move(done));
  if (power_loss_) RemoveOverlap(offset, len);
  target_->Discard(offset, len, Track(std::move(done)));
}

void FaultInjectingDevice::WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap,
                                       IoCallback done) {
  Status st = Admit(kOpWriteZeroes, offset, len);
  if (!st.ok()) return Finish(std::move(st), std::move(done));
  if (power_loss_) RemoveOverlap(offset, len);
  target_->WriteZeroes(offset, len, may_unmap, Track(std::move(done)));
}

void FaultInjectingDevice::Crash(
    const std::function<uint64_t(size_t, const UnflushedWrite&)>& sectors_kept, IoCallback done) {
  power_cut_ = true;
  auto writes = std::make_shared<std::vector<Pending>>();
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Pending& p = pending_[i];
    uint64_t keep = std::min<uint64_t>(sectors_kept(i, {p.offset, p.data.size()}),
                                       p.data.size() / kSector);
    if (keep == 0) continue;
    writes->push_back({p.offset, std::vector<uint8_t>(p.data.begin(),
                                                      p.data.begin() + keep * kSector)});
  }
  pending_.clear();
  WriteSequentially(writes, 0, Track([this, writes, done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(std::move(st));
    target_->Flush(std::move(done));
  }));
}

}  // namespace tandem::io
