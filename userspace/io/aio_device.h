#pragma once
// AioDevice: the Linux native AIO engine (libaio), the fallback when io_uring
// is unavailable.
//
// Reads and writes are iocbs (FUA as RWF_DSYNC in aio_rw_flags, Linux 4.13+),
// Flush is IOCB_CMD_FDSYNC (Linux 4.18+). Each iocb carries the engine's
// eventfd (io_set_eventfd); an asio stream_descriptor waits on it and the
// handler reaps every finished event with a non-blocking io_getevents, then
// runs the callbacks. AIO has no fallocate, so Discard and WriteZeroes run on
// one worker thread and post their result back.
// At most queue_depth iocbs are in the kernel; the rest wait in the
// EngineDevice FIFO. io_submit taking only part of a batch, or EAGAIN, puts
// the rest back at the head of the queue.
// Buffered (non-O_DIRECT) files: the kernel performs buffered AIO
// synchronously inside io_submit, so a read that misses the page cache would
// stall the event loop for a disk read. Reads of buffered files therefore go
// down with RWF_NOWAIT: a cached read completes inline, a miss comes back as
// EAGAIN and is re-run as a blocking pread on a pool of kBufferedReadWorkers
// threads, so misses reach the disk in parallel. Buffered writes stay inline
// (they copy into the page cache; only dirty throttling blocks them).
// Contract, thread-safety and failure behaviour: EngineDevice / BlockDevice.
// Create() takes `file` only when it succeeds (on failure the caller still
// owns it and may hand it to another engine).
// Create() fails with NotSupported when io_setup fails (ENOSYS, or EAGAIN
// when fs.aio-max-nr is exhausted).

#include <libaio.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>
#include <vector>

#include "io/engine_device.h"
#include "io/worker_pool.h"

namespace tandem::io {

class AioDevice final : public EngineDevice {
 public:
  static Result<std::unique_ptr<AioDevice>> Create(boost::asio::io_context& loop, PosixFile&& file,
                                                   unsigned queue_depth);
  ~AioDevice() override;

 private:
  AioDevice(boost::asio::io_context& loop, PosixFile file, unsigned queue_depth, io_context_t ctx,
            int event_fd);

  bool Start(Request* r) override;
  bool Commit() override;
  void Arm();
  void OnEvent(const boost::system::error_code& ec);
  void ReleaseSlot(iocb* slot) { free_slots_.push_back(slot); }
  // A buffered read the kernel answered `res` (-errno) without reading: true
  // when it was handed to read_workers_ instead of failing.
  bool ReadOnWorker(Request* r, long res);

  // Page-cache misses of buffered reads in flight at once (see above).
  static constexpr size_t kBufferedReadWorkers = 8;

  io_context_t ctx_;
  std::vector<iocb> iocbs_;  // one per kernel slot
  std::vector<iocb*> free_slots_;
  std::vector<iocb*> batch_;  // taken by Start(), not yet io_submit()ted
  std::vector<io_event> events_;
  unsigned in_kernel_ = 0;  // submitted iocbs not yet reaped
  bool armed_ = false;
  boost::asio::posix::stream_descriptor event_;  // owns the eventfd
  WorkerPool fallocate_worker_{1};
  std::unique_ptr<WorkerPool> read_workers_;  // buffered files only
  bool nowait_reads_ = true;  // false once the file refused RWF_NOWAIT
};

}  // namespace tandem::io
