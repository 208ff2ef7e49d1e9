#pragma once
// A BlockDevice wrapper that injects faults, for tests (leveldb's
// FaultInjectionTestEnv idea):
// - EIO on the Nth operation, or on every operation touching a range;
// - power loss: in power-loss mode, writes that no completed Flush covers are
//   kept in memory (reads see them) instead of reaching the target. Cutting
//   the power makes every later operation fail; Crash() then decides which of
//   the unflushed writes reached the platter, whole or torn at 512-byte
//   granularity, and writes exactly that to the target.
// FUA writes go straight to the target (they are durable when done).
// In power-loss mode requests must be 512-byte aligned (meta-data always is).
// Not thread-safe: used from the loop's thread, like any BlockDevice.

#include <boost/asio/io_context.hpp>
#include <deque>
#include <memory>
#include <vector>

#include "io/block_device.h"

namespace tandem::io {

class FaultInjectingDevice : public BlockDevice {
 public:
  enum OpKind : uint32_t {
    kOpRead = 1,
    kOpWrite = 2,
    kOpFlush = 4,
    kOpDiscard = 8,
    kOpWriteZeroes = 16,
    kOpAll = 31,
  };

  FaultInjectingDevice(boost::asio::io_context& loop, std::unique_ptr<BlockDevice> target);

  // The n-th operation of the given kinds from now on (1 = the next) fails with EIO.
  void FailNth(uint64_t n, uint32_t kinds = kOpAll);
  // Every operation of the given kinds touching [offset, offset+len) fails with EIO
  // (a flush touches everything) until ClearFaults().
  void FailRange(uint64_t offset, uint64_t len, uint32_t kinds = kOpAll);
  void ClearFaults();

  void EnablePowerLoss();
  // Cuts the power after `n` more operations have been submitted (0: now). A
  // write submitted as the power dies fails, but is kept with the unflushed
  // writes: Crash() may let any prefix of it reach the platter.
  void CutPowerAfter(uint64_t n);
  bool power_cut() const { return power_cut_; }

  struct UnflushedWrite {
    uint64_t offset;
    uint64_t length;
  };
  // Writes submitted in power-loss mode and not yet covered by a Flush, in order.
  std::vector<UnflushedWrite> unflushed() const;
  // After the power was cut: for each unflushed write (in submission order),
  // `sectors_kept(i, write)` says how many leading 512-byte sectors reached the
  // disk (0 = lost, length/512 = whole). Writes those to the target; `done`
  // runs on the loop when they are durable.
  void Crash(const std::function<uint64_t(size_t, const UnflushedWrite&)>& sectors_kept,
             IoCallback done);

  uint64_t operations_submitted() const { return ops_; }
  BlockDevice& target() { return *target_; }

  const DeviceInfo& info() const override { return target_->info(); }
  void Read(uint64_t offset, void* buf, size_t len, IoCallback done) override;
  void Write(uint64_t offset, const void* buf, size_t len, uint32_t flags,
             IoCallback done) override;
  void Flush(IoCallback done) override;
  void Discard(uint64_t offset, uint64_t len, IoCallback done) override;
  void WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, IoCallback done) override;
  size_t in_flight() const override { return in_flight_; }

 private:
  struct Pending {
    uint64_t offset;
    std::vector<uint8_t> data;
  };
  struct RangeFault {
    uint64_t offset, len;
    uint32_t kinds;
  };

  // Counts the operation and returns the injected error for it, if any.
  Status Admit(OpKind kind, uint64_t offset, uint64_t len);
  void Finish(Status st, IoCallback done);  // posts the completion
  IoCallback Track(IoCallback done);        // counts in-flight around a target call
  void RemoveOverlap(uint64_t offset, uint64_t len);
  void OverlayPending(uint64_t offset, uint8_t* buf, size_t len) const;
  void WriteSequentially(std::shared_ptr<std::vector<Pending>> writes, size_t index,
                         IoCallback done);
  void StartNextFlush();

  boost::asio::io_context& loop_;
  std::unique_ptr<BlockDevice> target_;
  uint64_t ops_ = 0;
  size_t in_flight_ = 0;
  // FailNth: remaining count per armed fault.
  struct NthFault {
    uint64_t remaining;
    uint32_t kinds;
  };
  std::vector<NthFault> nth_faults_;
  std::vector<RangeFault> range_faults_;
  bool power_loss_ = false;
  bool power_cut_ = false;
  uint64_t cut_after_ = UINT64_MAX;
  std::vector<Pending> pending_;
  std::deque<IoCallback> flush_queue_;
  bool flushing_ = false;
};

}  // namespace tandem::io
