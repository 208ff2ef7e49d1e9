#pragma once
// Backend: what a device served over NBD must provide. The protocol server
// (nbd/connection.*) decodes and validates requests and calls a Backend; the
// Backend knows nothing about the wire. nbd/device_backend.h serves an
// io::BlockDevice directly; the replicated device implements the same
// interface on the Primary.
//
// Contract:
// - Geometry is read when a client enters transmission (size(),
//   logical_block_size(), read_only(), can_multi_conn(), description()).
// - Every request the server passes in has already been checked against that
//   geometry: offset and length are multiples of the advertised minimum block
//   size (max(512, logical_block_size())), offset + length <= size(), READ
//   and WRITE lengths are <= 32 MiB (nbd/wire.h kMaxBlockSize), and nothing
//   writes to a read-only backend. Backends assert these, they need not
//   re-check them. Zero-length requests never reach a backend.
// - Every operation completes exactly once by calling `done` on the server's
//   event loop, never inline from the submitting call.
// - Read fills `buf` (caller-owned, aligned to io::kIoAlignment, kept alive
//   until `done`). Write takes ownership of one aligned buffer holding exactly
//   the payload (data.size() bytes) - the only copy the server makes of it -
//   and hands it back with the completion so the server can reuse it (a
//   backend that keeps it hands back an empty buffer).
// - Durability: a write is durable once `done` ran with fua = true, or once a
//   later Flush completed. Flush covers every write, trim and write-zeroes
//   that completed before Flush was called. Trim is a hint: after it the
//   range's contents are unspecified until written again; a backend that
//   cannot deallocate may do nothing and report success. WriteZeroes makes
//   the range read back as zeroes; may_trim allows deallocating to do so.
// - can_multi_conn(): true only if a Flush (or FUA) completed through one
//   connection also covers writes completed through every other connection
//   to the same backend (one shared cache, one durable store). The server
//   then advertises NBD_FLAG_CAN_MULTI_CONN.
// - Admission: Open() is called when a client selects the export (NBD_OPT_GO,
//   NBD_OPT_EXPORT_NAME, and for NBD_OPT_INFO, which Close()s right away);
//   Close() exactly once for every successful Open(), after the last request
//   of that connection completed. A backend refuses a client by returning a
//   non-OK Status whose message is shown to the client; the code picks the
//   NBD reply: NotFound -> NBD_REP_ERR_UNKNOWN, Aborted -> NBD_REP_ERR_SHUTDOWN,
//   anything else -> NBD_REP_ERR_POLICY. (The replicated device refuses on a
//   Secondary and counts openers for "Device is held open by someone".)
// - Errors: a failed operation completes with a Status; nbd/errors.h maps it
//   to the NBD error the client sees.
// Thread-safety: everything runs on the server's event loop thread.

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "io/aligned_buffer.h"

namespace tandem::nbd {

class Backend {
 public:
  using Completion = std::function<void(Status)>;
  using WriteCompletion = std::function<void(Status, io::AlignedBuffer)>;

  virtual ~Backend() = default;

  virtual uint64_t size() const = 0;
  virtual uint32_t logical_block_size() const = 0;
  virtual bool read_only() const = 0;
  virtual bool can_multi_conn() const = 0;
  // Shown to clients (NBD_INFO_DESCRIPTION); may be empty.
  virtual std::string description() const = 0;

  virtual Status Open() = 0;
  virtual void Close() = 0;

  virtual void Read(uint64_t offset, uint32_t len, uint8_t* buf, Completion done) = 0;
  virtual void Write(uint64_t offset, io::AlignedBuffer data, bool fua, WriteCompletion done) = 0;
  virtual void Flush(Completion done) = 0;
  virtual void Trim(uint64_t offset, uint64_t len, bool fua, Completion done) = 0;
  virtual void WriteZeroes(uint64_t offset, uint64_t len, bool may_trim, bool fua,
                           Completion done) = 0;

  // Zero-copy reads (optional). Asked for each READ before Read(): a file
  // descriptor whose bytes at [offset, offset + len) are this backend's and
  // can be sent to the client straight from the page cache (sendfile), with
  // no copy through a buffer, instead of calling Read(). Returning one
  // promises that it shows every write this backend acknowledged up to the
  // moment the bytes are sent (the server sends them when the reply's turn
  // comes, not now; a client cannot tell the difference, as any write that
  // lands in between was in flight together with the read), that it stays
  // open until Close(), and that sending from it will not normally wait for
  // the disk. -1 (the default): serve the read with Read().
  virtual int ZeroCopyReadFd(uint64_t offset, uint32_t len) {
    (void)offset;
    (void)len;
    return -1;
  }
};

}  // namespace tandem::nbd
