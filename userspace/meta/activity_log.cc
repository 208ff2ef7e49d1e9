#include "meta/activity_log.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cassert>
#include <cstring>
#include <map>

#include "common/crc32c.h"
#include "common/endian.h"

namespace tandem::meta {

namespace {

constexpr size_t kUpdatesAt = 32;
constexpr size_t kContextAt = kUpdatesAt + kAlMaxUpdates * 8;  // 544
static_assert(kContextAt + kAlContextPerTx * 4 == kBlockSize);

uint32_t TxChecksum(const uint8_t* b) {
  uint8_t zero[4] = {0, 0, 0, 0};
  uint32_t c = Crc32c(0, b, 4);
  c = Crc32c(c, zero, 4);
  return Crc32c(c, b + 8, kBlockSize - 8);
}

uint32_t ContextSize(uint32_t al_extents) { return std::min(kAlContextPerTx, al_extents); }

}  // namespace

void EncodeAlTransaction(const AlTransaction& tx, uint8_t* b) {
  assert(tx.updates.size() <= kAlMaxUpdates && tx.context.size() <= kAlContextPerTx);
  std::memset(b, 0, kBlockSize);
  PutLe32(b, kAlMagic);
  PutLe64(b + 8, tx.seq);
  PutLe32(b + 16, tx.al_extents);
  PutLe16(b + 20, static_cast<uint16_t>(tx.updates.size()));
  PutLe16(b + 22, static_cast<uint16_t>(tx.context.size()));
  PutLe32(b + 24, tx.context_start);
  for (size_t i = 0; i < tx.updates.size(); ++i) {
    PutLe32(b + kUpdatesAt + i * 8, tx.updates[i].slot);
    PutLe32(b + kUpdatesAt + i * 8 + 4, tx.updates[i].extent);
  }
  for (size_t i = 0; i < tx.context.size(); ++i) PutLe32(b + kContextAt + i * 4, tx.context[i]);
  PutLe32(b + 4, TxChecksum(b));
}

Result<AlTransaction> DecodeAlTransaction(const uint8_t* b, uint32_t al_extents) {
  if (std::all_of(b, b + kBlockSize, [](uint8_t x) { return x == 0; })) {
    return Status::NotFound("blank");
  }
  if (GetLe32(b) != kAlMagic) return Status::Corruption("bad magic");
  if (GetLe32(b + 4) != TxChecksum(b)) return Status::Corruption("bad checksum");
  AlTransaction tx;
  tx.seq = GetLe64(b + 8);
  tx.al_extents = GetLe32(b + 16);
  uint16_t nu = GetLe16(b + 20);
  uint16_t nc = GetLe16(b + 22);
  tx.context_start = GetLe32(b + 24);
  if (tx.seq == 0) return Status::Corruption("transaction number 0");
  if (tx.al_extents != al_extents) {
    return Status::Corruption("written for al-extents " + std::to_string(tx.al_extents));
  }
  if (nu > kAlMaxUpdates || nc > ContextSize(al_extents) || tx.context_start >= al_extents) {
    return Status::Corruption("counts out of range");
  }
  for (uint16_t i = 0; i < nu; ++i) {
    AlUpdate u{GetLe32(b + kUpdatesAt + i * 8), GetLe32(b + kUpdatesAt + i * 8 + 4)};
    if (u.slot >= al_extents) return Status::Corruption("update names slot " + std::to_string(u.slot));
    tx.updates.push_back(u);
  }
  for (uint16_t i = 0; i < nc; ++i) tx.context.push_back(GetLe32(b + kContextAt + i * 4));
  return tx;
}

Result<AlReplay> ReplayActivityLog(const uint8_t* ring, uint32_t ring_slots, uint32_t al_extents) {
  std::map<uint64_t, AlTransaction> valid;
  std::vector<std::string> bad(ring_slots);
  for (uint32_t i = 0; i < ring_slots; ++i) {
    auto tx = DecodeAlTransaction(ring + uint64_t{i} * kBlockSize, al_extents);
    if (!tx.ok()) {
      bad[i] = tx.status().message();
      continue;
    }
    if ((tx->seq - 1) % ring_slots != i) {
      bad[i] = "transaction " + std::to_string(tx->seq) + " in the wrong slot";
      continue;
    }
    valid.emplace(tx->seq, std::move(*tx));
  }
  if (valid.empty()) return Status::Corruption("activity log: no valid transaction in the ring");
  const uint64_t last = valid.rbegin()->first;
  // Transactions last-R+2 .. last must be there; last-R+1 may have been overwritten.
  const uint64_t first = last >= ring_slots - 1 ? last - (ring_slots - 2) : 1;
  for (uint64_t s = first; s <= last; ++s) {
    if (!valid.count(s)) {
      uint32_t slot = static_cast<uint32_t>((s - 1) % ring_slots);
      return Status::Corruption("activity log: transaction " + std::to_string(s) +
                                " (ring slot " + std::to_string(slot) + ") is missing: " +
                                (bad[slot].empty() ? "replaced by another" : bad[slot]));
    }
  }
  AlReplay r;
  r.table.assign(al_extents, kAlEmpty);
  std::vector<bool> covered(al_extents, false);
  for (auto it = valid.lower_bound(first); it != valid.end(); ++it) {
    const AlTransaction& tx = it->second;
    for (const auto& u : tx.updates) {
      r.table[u.slot] = u.extent;
      covered[u.slot] = true;
    }
    for (size_t i = 0; i < tx.context.size(); ++i) {
      uint32_t slot = static_cast<uint32_t>((tx.context_start + i) % al_extents);
      r.table[slot] = tx.context[i];
      covered[slot] = true;
    }
  }
  if (std::find(covered.begin(), covered.end(), false) != covered.end()) {
    return Status::Corruption("activity log: the ring does not describe every slot");
  }
  // One extent in two slots can only be corruption.
  std::vector<uint32_t> sorted;
  for (uint32_t e : r.table)
    if (e != kAlEmpty) sorted.push_back(e);
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return Status::Corruption("activity log: an extent appears in two slots");
  }
  r.last_seq = last;
  return r;
}

std::vector<uint8_t> InitialAlRing(uint32_t ring_slots, uint32_t al_extents) {
  std::vector<uint8_t> ring(uint64_t{ring_slots} * kBlockSize);
  const uint32_t c = ContextSize(al_extents);
  for (uint32_t i = 0; i < ring_slots; ++i) {
    AlTransaction tx;
    tx.seq = i + 1;
    tx.al_extents = al_extents;
    tx.context_start = static_cast<uint32_t>((uint64_t{i} * c) % al_extents);
    tx.context.assign(c, kAlEmpty);
    EncodeAlTransaction(tx, ring.data() + uint64_t{i} * kBlockSize);
  }
  return ring;
}

ActivityLog::ActivityLog(boost::asio::io_context& loop, uint32_t al_extents, uint32_t ring_slots,
                         const AlReplay& state, WriteSlotFn write_slot,
                         PersistBitsFn persist_bits)
    : loop_(loop),
      al_extents_(al_extents),
      ring_slots_(ring_slots),
      write_slot_(std::move(write_slot)),
      persist_bits_(std::move(persist_bits)),
      disk_table_(state.table),
      next_seq_(state.last_seq + 1),
      block_(kBlockSize) {
  assert(disk_table_.size() == al_extents_);
  context_next_ =
      static_cast<uint32_t>((state.last_seq * ContextSize(al_extents_)) % al_extents_);
  for (uint32_t slot = al_extents_; slot-- > 0;) {
    if (disk_table_[slot] == kAlEmpty) {
      free_slots_.push_back(slot);
    } else {
      hot_[disk_table_[slot]] = HotEntry{slot, 0, 0};
    }
  }
}

std::vector<uint32_t> ActivityLog::HotExtents() const {
  std::vector<uint32_t> out;
  for (const auto& [extent, e] : hot_) out.push_back(extent);
  std::sort(out.begin(), out.end());
  return out;
}

bool ActivityLog::idle() const {
  if (tx_in_flight_ || !waiters_.empty() || !planned_.empty()) return false;
  return std::all_of(hot_.begin(), hot_.end(), [](const auto& kv) { return kv.second.refs == 0; });
}

void ActivityLog::Activate(uint32_t first, uint32_t last, io::IoCallback ready) {
  if (!failed_.ok()) {
    boost::asio::post(loop_, [st = failed_, ready = std::move(ready)] { ready(st); });
    return;
  }
  if (last < first || last - first + 1 > al_extents_) {
    Status st = Status::InvalidArgument(
        "request spans " + std::to_string(last - first + 1) + " extents; the activity log holds " +
        std::to_string(al_extents_));
    boost::asio::post(loop_, [st, ready = std::move(ready)] { ready(st); });
    return;
  }
  waiters_.push_back({first, last, std::move(ready)});
  Process();
}

void ActivityLog::Release(uint32_t first, uint32_t last) {
  for (uint32_t e = first; e <= last; ++e) {
    auto it = hot_.find(e);
    assert(it != hot_.end() && it->second.refs > 0);
    if (it != hot_.end() && it->second.refs > 0) --it->second.refs;
  }
  if (!waiters_.empty()) Process();
}

bool ActivityLog::PlanExtent(uint32_t extent, uint32_t req_first, uint32_t req_last) {
  uint32_t slot;
  uint32_t old = kAlEmpty;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    // Least recently used extent with nothing in flight, not needed by this request.
    auto victim = hot_.end();
    for (auto it = hot_.begin(); it != hot_.end(); ++it) {
      if (it->second.refs != 0 || (it->first >= req_first && it->first <= req_last)) continue;
      if (victim == hot_.end() || it->second.last_use < victim->second.last_use) victim = it;
    }
    if (victim == hot_.end()) return false;
    slot = victim->second.slot;
    old = victim->first;
    hot_.erase(victim);
  }
  planned_.push_back({slot, old, extent});
  incoming_[extent] = true;
  return true;
}

void ActivityLog::Process() {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    bool all_hot = true;
    bool blocked = false;
    for (uint32_t e = it->first; e <= it->last; ++e) {
      if (hot_.count(e)) continue;
      all_hot = false;
      if (incoming_.count(e)) continue;
      if (!PlanExtent(e, it->first, it->last)) {
        blocked = true;
        break;
      }
    }
    if (all_hot) {
      for (uint32_t e = it->first; e <= it->last; ++e) {
        HotEntry& h = hot_[e];
        ++h.refs;
        h.last_use = ++use_clock_;
      }
      boost::asio::post(loop_, [ready = std::move(it->ready)] { ready(Status::Ok()); });
      it = waiters_.erase(it);
      continue;
    }
    // Keep order fair: a request that cannot get slots holds back later ones.
    if (blocked) break;
    ++it;
  }
  if (!tx_in_flight_ && !planned_.empty()) StartTransaction();
}

AlTransaction ActivityLog::NextTransaction(const std::vector<uint32_t>& table,
                                           const std::vector<AlUpdate>& updates) {
  AlTransaction tx;
  tx.seq = next_seq_;
  tx.al_extents = al_extents_;
  tx.updates = updates;
  const uint32_t c = ContextSize(al_extents_);
  tx.context_start = context_next_;
  for (uint32_t i = 0; i < c; ++i) tx.context.push_back(table[(context_next_ + i) % al_extents_]);
  return tx;
}

void ActivityLog::StartTransaction() {
  tx_in_flight_ = true;
  size_t n = std::min<size_t>(planned_.size(), kAlMaxUpdates);
  std::vector<Change> batch(planned_.begin(), planned_.begin() + static_cast<long>(n));
  planned_.erase(planned_.begin(), planned_.begin() + static_cast<long>(n));
  // Rule 2: the bits of evicted extents become durable before the log forgets them.
  auto evictions = std::make_shared<size_t>(0);
  for (const auto& c : batch)
    if (c.old_extent != kAlEmpty) ++*evictions;
  if (*evictions == 0) return WriteTransaction(std::move(batch));
  auto shared_batch = std::make_shared<std::vector<Change>>(std::move(batch));
  auto first_error = std::make_shared<Status>();
  for (const auto& c : *shared_batch) {
    if (c.old_extent == kAlEmpty) continue;
    persist_bits_(c.old_extent, [this, evictions, shared_batch, first_error](Status st) {
      if (!st.ok() && first_error->ok()) *first_error = st;
      if (--*evictions > 0) return;
      if (!first_error->ok()) return Fail(*first_error);
      WriteTransaction(std::move(*shared_batch));
    });
  }
}

void ActivityLog::WriteTransaction(std::vector<Change> batch) {
  std::vector<uint32_t> table = disk_table_;
  std::vector<AlUpdate> updates;
  for (const auto& c : batch) {
    table[c.slot] = c.new_extent;
    updates.push_back({c.slot, c.new_extent});
  }
  AlTransaction tx = NextTransaction(table, updates);
  EncodeAlTransaction(tx, block_.data());
  const uint32_t ring_slot = static_cast<uint32_t>((tx.seq - 1) % ring_slots_);
  write_slot_(ring_slot, block_.data(),
              [this, batch = std::move(batch), table = std::move(table)](Status st) mutable {
                tx_in_flight_ = false;
                if (!st.ok()) return Fail(st);
                disk_table_ = std::move(table);
                ++next_seq_;
                ++tx_written_;
                context_next_ = (context_next_ + ContextSize(al_extents_)) % al_extents_;
                for (const auto& c : batch) {
                  hot_[c.new_extent] = HotEntry{c.slot, 0, ++use_clock_};
                  incoming_.erase(c.new_extent);
                }
                Process();
              });
}

void ActivityLog::Fail(Status st) {
  failed_ = st;
  tx_in_flight_ = false;
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) {
    boost::asio::post(loop_, [st, ready = std::move(w.ready)] { ready(st); });
  }
}

void ActivityLog::Reset(io::IoCallback done) {
  if (!idle()) {
    Status st = Status::Busy("activity log has writes in flight");
    boost::asio::post(loop_, [st, done = std::move(done)] { done(st); });
    return;
  }
  if (!failed_.ok()) {
    boost::asio::post(loop_, [st = failed_, done = std::move(done)] { done(st); });
    return;
  }
  tx_in_flight_ = true;
  const uint32_t c = ContextSize(al_extents_);
  uint32_t needed = (al_extents_ + c - 1) / c;
  WriteResetTransactions(needed, std::move(done));
}

void ActivityLog::WriteResetTransactions(uint32_t remaining, io::IoCallback done) {
  if (remaining == 0) {
    tx_in_flight_ = false;
    hot_.clear();
    incoming_.clear();
    free_slots_.clear();
    for (uint32_t slot = al_extents_; slot-- > 0;) free_slots_.push_back(slot);
    boost::asio::post(loop_, [done = std::move(done)] { done(Status::Ok()); });
    return;
  }
  std::vector<uint32_t> empty(al_extents_, kAlEmpty);
  AlTransaction tx = NextTransaction(empty, {});
  EncodeAlTransaction(tx, block_.data());
  const uint32_t ring_slot = static_cast<uint32_t>((tx.seq - 1) % ring_slots_);
  write_slot_(ring_slot, block_.data(),
              [this, remaining, empty = std::move(empty), done = std::move(done)](Status st) mutable {
                if (!st.ok()) {
                  tx_in_flight_ = false;
                  Fail(st);
                  return done(st);
                }
                disk_table_ = std::move(empty);
                ++next_seq_;
                ++tx_written_;
                context_next_ = (context_next_ + ContextSize(al_extents_)) % al_extents_;
                WriteResetTransactions(remaining - 1, std::move(done));
              });
}

}  // namespace tandem::meta
