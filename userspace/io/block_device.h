#pragma once
// BlockDevice: the one asynchronous interface to a backing disk (a regular file
// or a block device). Engines (io_uring, libaio, synchronous) implement it; tests
// wrap it (FaultInjectingDevice) or replace it (MemBlockDevice).
//
// Contract:
// - Every operation completes exactly once by calling `done` on the device's
//   event loop (the boost::asio::io_context given when it was opened), never
//   inline from the submitting call, so callers may submit while holding state.
// - The caller keeps the buffer alive and untouched until `done` runs.
// - With direct I/O (info().direct), offset, length and buffer address must be
//   multiples of info().logical_block_size; a misaligned request completes
//   with InvalidArgument and touches nothing. Requests past the end complete
//   with InvalidArgument; a read that would cross the end is refused the same way
//   (no short reads are ever reported as success).
// - Durability: a write is durable once a later Flush completed, or at its own
//   completion when written with kFua. Flush covers every write that completed
//   before Flush was submitted.
// - Errors are Status values (IoError carries errno text); no exceptions.
// Thread-safety: submit from the event loop's thread only; callbacks run there.
// Destroying a device with operations in flight is a bug (asserted).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace tandem::io {

using IoCallback = std::function<void(Status)>;

enum WriteFlags : uint32_t {
  kWriteNone = 0,
  kWriteFua = 1u << 0,  // durable when done (RWF_DSYNC / FUA)
};

struct DeviceInfo {
  std::string path;
  std::string engine;                // "uring", "aio", "sync", "mem", ...
  uint64_t size_bytes = 0;           // usable size
  uint32_t logical_block_size = 512; // alignment unit for direct I/O
  uint32_t physical_block_size = 4096;
  bool direct = false;               // O_DIRECT
  bool is_block_device = false;
  bool read_only = false;
};

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;
  virtual const DeviceInfo& info() const = 0;

  virtual void Read(uint64_t offset, void* buf, size_t len, IoCallback done) = 0;
  virtual void Write(uint64_t offset, const void* buf, size_t len, uint32_t flags,
                     IoCallback done) = 0;
  virtual void Flush(IoCallback done) = 0;
  // Deallocate the range (fallocate PUNCH_HOLE / BLKDISCARD); contents undefined
  // afterwards unless the device documents otherwise.
  virtual void Discard(uint64_t offset, uint64_t len, IoCallback done) = 0;
  // Make the range read as zeroes; may_unmap allows deallocating it to do so.
  virtual void WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, IoCallback done) = 0;
  // Operations submitted and not yet completed.
  virtual size_t in_flight() const = 0;
  // A file descriptor from which [offset, offset+len) can be sent straight
  // out of the page cache (sendfile/splice) instead of Read into a buffer:
  // the range is resident in the page cache now, and the descriptor shows
  // every write that completed on this device. -1 when that cannot be said
  // (the default; direct I/O; a wrapper that must see every read). The answer
  // is a hint of the moment: pages may be evicted before the caller sends, so
  // a send from the descriptor may still wait for the disk, once.
  virtual int PageCacheReadFd(uint64_t offset, uint64_t len) {
    (void)offset;
    (void)len;
    return -1;
  }
};

// Validates a request against the device geometry (range, and alignment for
// direct I/O). Shared by every engine so the rules are the same everywhere.
Status CheckRequest(const DeviceInfo& info, uint64_t offset, uint64_t len, const void* buf,
                    bool is_write);

}  // namespace tandem::io
