#pragma once
// SyncDevice: the portable fallback engine. Each request step is a blocking
// pread / pwritev2 (FUA as RWF_DSYNC) / fdatasync / fallocate run on a small
// pool of worker threads; the result is posted back to the event loop
// (boost::asio::post), where EngineDevice resubmits short transfers and runs
// the callback. At most `threads` requests are with the workers at a time;
// the rest wait in the EngineDevice FIFO.
// Contract, thread-safety and failure behaviour: EngineDevice / BlockDevice.
// Create() takes `file` only when it succeeds (on failure the caller still
// owns it and may hand it to another engine).
// Needs nothing from the kernel beyond POSIX (pwritev2: Linux 4.6), so Create
// fails only on bad arguments.

#include <memory>

#include "io/engine_device.h"
#include "io/worker_pool.h"

namespace tandem::io {

class SyncDevice final : public EngineDevice {
 public:
  // The factory passes min(queue_depth, kMaxThreads).
  static constexpr unsigned kMaxThreads = 8;
  static Result<std::unique_ptr<SyncDevice>> Create(boost::asio::io_context& loop, PosixFile&& file,
                                                    unsigned threads);
  ~SyncDevice() override;

 private:
  SyncDevice(boost::asio::io_context& loop, PosixFile file, unsigned threads);

  bool Start(Request* r) override;
  bool Commit() override { return true; }  // Start() already handed the work over

  WorkerPool workers_;
};

}  // namespace tandem::io
