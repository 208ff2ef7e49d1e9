#pragma once
// DeviceBackend: serves an io::BlockDevice over NBD as it is - what tandemd
// exports for a resource running standalone, and what tests and benchmarks
// serve. No cache of its own: every request goes to the device.
//
// Mapping: Read/Write/Flush map 1:1 (FUA -> io::kWriteFua); Trim -> Discard
// (a device that cannot discard - NotSupported - makes Trim a successful no-op,
// as a trim is only a hint); WriteZeroes -> the device's WriteZeroes
// (may_trim -> may_unmap), falling back to writing zero blocks (1 MiB at a
// time, from one shared zeroed buffer) when the device refuses with
// NotSupported; FUA on Trim/WriteZeroes -> a Flush after the operation.
// Geometry: the device's size; logical block size = the device's when it does
// direct I/O, else 512; read-only as the device; can_multi_conn() is true (all
// connections share the one device, whose Flush covers every completed write).
// Zero-copy reads: a READ of at least kZeroCopyMinimum bytes from a buffered
// device whose range is in the page cache now (io::BlockDevice::
// PageCacheReadFd) is sent from the page cache by the server; smaller reads,
// and everything on direct-I/O devices, go through Read (a small reply is
// cheaper gathered with others into one write than sent on its own).
// Admission: Open() counts openers; with max_openers > 0 a further client is
// refused (Busy, with a message saying how many clients hold the export).
// Contract, thread-safety, failure behaviour: Backend (nbd/backend.h). The
// device must be idle when the backend is destroyed (connections hold the
// backend while they have requests in flight, so that is the case once the
// server's connections are gone).

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "io/block_device.h"
#include "nbd/backend.h"

namespace tandem::nbd {

struct DeviceBackendOptions {
  std::string description;
  size_t max_openers = 0;  // 0: no limit
};

class DeviceBackend : public Backend {
 public:
  DeviceBackend(std::unique_ptr<io::BlockDevice> device, DeviceBackendOptions options = {});
  ~DeviceBackend() override;

  uint64_t size() const override { return device_->info().size_bytes; }
  uint32_t logical_block_size() const override;
  bool read_only() const override { return device_->info().read_only; }
  bool can_multi_conn() const override { return true; }
  std::string description() const override { return options_.description; }

  Status Open() override;
  void Close() override;

  void Read(uint64_t offset, uint32_t len, uint8_t* buf, Completion done) override;
  void Write(uint64_t offset, io::AlignedBuffer data, bool fua, WriteCompletion done) override;
  void Flush(Completion done) override;
  void Trim(uint64_t offset, uint64_t len, bool fua, Completion done) override;
  void WriteZeroes(uint64_t offset, uint64_t len, bool may_trim, bool fua,
                   Completion done) override;
  int ZeroCopyReadFd(uint64_t offset, uint32_t len) override;

  static constexpr uint32_t kZeroCopyMinimum = 64 * 1024;

  size_t openers() const { return openers_; }
  io::BlockDevice& device() { return *device_; }
  // READs answered from the page cache (ZeroCopyReadFd gave a descriptor).
  uint64_t zero_copy_reads() const { return zero_copy_reads_; }

 private:
  struct WriteOp;
  static constexpr size_t kZeroChunk = 1 << 20;

  WriteOp* NewWriteOp();
  // Runs `then` after a Flush when `fua`, else passes `st` straight on.
  void FlushIf(bool fua, Status st, Completion done);
  void WriteZeroBlocks(uint64_t offset, uint64_t len, bool fua, Completion done);

  std::unique_ptr<io::BlockDevice> device_;
  DeviceBackendOptions options_;
  size_t openers_ = 0;
  uint64_t zero_copy_reads_ = 0;
  std::vector<std::unique_ptr<WriteOp>> write_ops_;
  std::vector<WriteOp*> free_write_ops_;
  io::AlignedBuffer zeroes_;  // allocated on first use
};

}  // namespace tandem::nbd
