#pragma once
// FuseExport: a FUSE filesystem (libfuse3 low-level API, multithreaded) with
// one regular file, named after the resource, whose bytes are the NBD export:
//   read        -> NBD READ   (unaligned edges read the covering blocks)
//   write       -> NBD WRITE  (must be aligned to the export's minimum block size)
//   fsync       -> NBD FLUSH  (flush-on-close is a no-op: it is not a durability point)
//   fallocate   PUNCH_HOLE|KEEP_SIZE -> NBD WRITE_ZEROES (holes allowed) ; ZERO_RANGE ->
//               NBD WRITE_ZEROES with NO_HOLE; both split at the maximum block size
// The file is opened with direct_io (no page cache, so the loop device's
// direct I/O reaches us unchanged) and parallel_direct_writes (libfuse 3.14
// cannot ask for it, so the open reply is patched on its way to the kernel
// through a custom session I/O); max_write/max_read 1 MiB (max_pages 256); no
// writeback cache. Reads and writes up to 128 KiB are started by the FUSE
// worker thread and answered from the NBD client's loop thread (write data
// copied first, as libfuse reuses its buffer), so a worker never waits for
// them and one thread hand-off per request remains; larger reads and writes,
// flushes and fallocate block their worker on the client.
//
// Contract: Mount() mounts at an existing empty directory (as root, with the
// mount(2) system call and our own /dev/fuse descriptor); Run() serves until
// the mount goes away (umount) or RequestExit() (signal handlers installed by
// Run call it), then waits for the replies still due from the client's loop
// (bounded by the client's timeout); Unmount() detaches the mount
// (MNT_DETACH) if still there.
// The client must stay connected for the object's lifetime.
// Thread-safety: FUSE callbacks run on libfuse's worker threads; the client
// is thread-safe. Failure: NBD errors become EIO (EINVAL for misaligned or
// out-of-range requests, ENOSPC past the end); setup errors are Status values.

#include <memory>
#include <string>

#include "common/status.h"
#include "nbd/blocking_client.h"

namespace tandem::shim {

class FuseExport {
 public:
  FuseExport(std::string resource, nbd::BlockingClient* client);
  ~FuseExport();
  FuseExport(const FuseExport&) = delete;
  FuseExport& operator=(const FuseExport&) = delete;

  Status Mount(const std::string& mount_point);
  // The exported file's path (valid after Mount).
  std::string file_path() const { return mount_point_ + "/" + resource_; }
  // Serves requests until unmounted or told to exit; max_threads FUSE workers.
  Status Run(int max_threads);
  void Unmount();

  struct Impl;

 private:
  std::string resource_;
  std::string mount_point_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::shim
