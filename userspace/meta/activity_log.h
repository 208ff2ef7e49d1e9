#pragma once
// The activity log (docs/meta-data.md, "Activity log"): the set of 4 MiB extents
// that may have writes in flight, kept on disk as a ring of 4 KiB transactions.
//
// Pure parts: EncodeAlTransaction / ReplayActivityLog.
// ActivityLog: the live log. Writers call Activate(range) before a data write and
// Release(range) once the write is finished everywhere; Activate completes only
// when every extent of the range is hot in a durable transaction (rule 1), and
// an extent is evicted only with no write in flight and after its bitmap bits
// were made durable through the persist_bits hook (rule 2).
// Thread-safety: not thread-safe; everything runs on the owning event loop.
// Failure: an error writing a transaction or persisting bits fails every waiting
// and future Activate with that error (the disk is then treated as failed).

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "io/block_device.h"
#include "meta/format.h"

namespace tandem::meta {

struct AlUpdate {
  uint32_t slot;
  uint32_t extent;  // kAlEmpty to clear
};

struct AlTransaction {
  uint64_t seq = 0;
  uint32_t al_extents = 0;
  std::vector<AlUpdate> updates;    // at most kAlMaxUpdates
  uint32_t context_start = 0;
  std::vector<uint32_t> context;    // at most kAlContextPerTx
};

void EncodeAlTransaction(const AlTransaction& tx, uint8_t* block);
// Validates a ring slot: NotFound when blank, Corruption with a reason.
Result<AlTransaction> DecodeAlTransaction(const uint8_t* block, uint32_t al_extents);

struct AlReplay {
  std::vector<uint32_t> table;  // slot -> extent or kAlEmpty
  uint64_t last_seq = 0;        // M
};
// Rebuilds the slot table from the ring (R = ring_slots blocks, slot i at
// ring + i*4096). Corruption names the slot when the ring cannot be trusted.
Result<AlReplay> ReplayActivityLog(const uint8_t* ring, uint32_t ring_slots,
                                   uint32_t al_extents);

// The initial ring create-md writes: R transactions whose contexts cover every
// slot as empty. Returns R*4096 bytes.
std::vector<uint8_t> InitialAlRing(uint32_t ring_slots, uint32_t al_extents);

class ActivityLog {
 public:
  // Writes one encoded 4 KiB transaction durably into ring slot `slot`.
  using WriteSlotFn = std::function<void(uint32_t slot, const uint8_t* block, io::IoCallback)>;
  // Makes the out-of-sync bits of `extent` durable.
  using PersistBitsFn = std::function<void(uint32_t extent, io::IoCallback)>;

  ActivityLog(boost::asio::io_context& loop, uint32_t al_extents, uint32_t ring_slots,
              const AlReplay& state, WriteSlotFn write_slot, PersistBitsFn persist_bits);
  ActivityLog(const ActivityLog&) = delete;
  ActivityLog& operator=(const ActivityLog&) = delete;

  // Extents covering data bytes [offset, offset+len).
  static uint32_t FirstExtent(uint64_t offset) { return static_cast<uint32_t>(offset / kExtentSize); }
  static uint32_t LastExtent(uint64_t offset, uint64_t len) {
    return static_cast<uint32_t>((offset + (len ? len - 1 : 0)) / kExtentSize);
  }

  // Completes (posted, never inline) once every extent first..last is hot and
  // durable; each then holds one reference until Release.
  void Activate(uint32_t first, uint32_t last, io::IoCallback ready);
  void Release(uint32_t first, uint32_t last);

  bool IsHot(uint32_t extent) const { return hot_.count(extent) != 0; }
  std::vector<uint32_t> HotExtents() const;
  uint32_t al_extents() const { return al_extents_; }
  uint64_t transactions_written() const { return tx_written_; }
  uint64_t last_seq() const { return next_seq_ - 1; }
  bool idle() const;  // no references, nothing waiting or being written

  // Empties the log durably (clean shutdown, after apply-al). Requires no
  // references. Writes enough transactions to cover every slot.
  void Reset(io::IoCallback done);

 private:
  struct HotEntry {
    uint32_t slot;
    uint32_t refs;
    uint64_t last_use;
  };
  struct Waiter {
    uint32_t first, last;
    io::IoCallback ready;
  };
  struct Change {
    uint32_t slot;
    uint32_t old_extent;
    uint32_t new_extent;
  };

  void Process();
  bool PlanExtent(uint32_t extent, uint32_t req_first, uint32_t req_last);
  void StartTransaction();
  void WriteTransaction(std::vector<Change> batch);
  void Fail(Status st);
  void WriteResetTransactions(uint32_t remaining, io::IoCallback done);
  AlTransaction NextTransaction(const std::vector<uint32_t>& table,
                                const std::vector<AlUpdate>& updates);

  boost::asio::io_context& loop_;
  uint32_t al_extents_;
  uint32_t ring_slots_;
  WriteSlotFn write_slot_;
  PersistBitsFn persist_bits_;

  std::vector<uint32_t> disk_table_;  // durable slot -> extent
  std::unordered_map<uint32_t, HotEntry> hot_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<uint32_t, bool> incoming_;  // extents planned or being written
  std::vector<Change> planned_;
  std::deque<Waiter> waiters_;
  bool tx_in_flight_ = false;
  uint64_t next_seq_;
  uint32_t context_next_ = 0;
  uint64_t use_clock_ = 0;
  uint64_t tx_written_ = 0;
  Status failed_;
  std::vector<uint8_t> block_;  // one encoded transaction; reused
};

}  // namespace tandem::meta
