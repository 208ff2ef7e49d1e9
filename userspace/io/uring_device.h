#pragma once
// UringDevice: the io_uring engine (liburing), Tandem's default.
//
// Every operation is one io_uring request: READ/WRITE (FUA as RWF_DSYNC in
// rw_flags), FSYNC with IORING_FSYNC_DATASYNC for Flush, FALLOCATE for
// Discard/WriteZeroes. Completions wake the event loop through an eventfd
// registered with the ring (io_uring_register_eventfd) and watched by an asio
// stream_descriptor; the handler drains the whole completion queue, then runs
// the callbacks. No thread polls. Where the kernel has it (6.1+), the ring uses
// IORING_SETUP_DEFER_TASKRUN: completion work runs on the loop thread when the
// handler asks for it, which saves a forced wakeup per completion; the ring
// then belongs to the thread that first submits (the loop's).
// Submission: requests issued while the loop is in other handlers are batched
// into one io_uring_enter; at most queue_depth requests are in the kernel at a
// time (so the completion queue, twice that size, cannot overflow); the rest
// wait in the EngineDevice FIFO and go in as completions free slots.
// Contract, thread-safety and failure behaviour: EngineDevice / BlockDevice.
// Create() takes `file` only when it succeeds (on failure the caller still
// owns it and may hand it to another engine).
// Create() fails with NotSupported when the kernel lacks io_uring (ENOSYS),
// refuses it (EPERM: kernel.io_uring_disabled) or lacks one of the opcodes
// above (Linux < 5.6); the factory then falls back to another engine.

#include <liburing.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>

#include "io/engine_device.h"

namespace tandem::io {

class UringDevice final : public EngineDevice {
 public:
  static Result<std::unique_ptr<UringDevice>> Create(boost::asio::io_context& loop,
                                                     PosixFile&& file, unsigned queue_depth);
  ~UringDevice() override;

 private:
  UringDevice(boost::asio::io_context& loop, PosixFile file, unsigned queue_depth, int event_fd);

  bool Start(Request* r) override;
  bool Commit() override;
  void Arm();
  void OnEvent(const boost::system::error_code& ec);
  unsigned Reap();  // passes every completion in the CQ to Finished(); returns how many

  io_uring ring_{};
  unsigned depth_;
  unsigned in_kernel_ = 0;   // requests handed to the ring and not yet reaped
  bool armed_ = false;       // an async_wait on the eventfd is pending
  bool deferred_ = false;    // IORING_SETUP_DEFER_TASKRUN: reap with io_uring_get_events
  bool in_handler_ = false;  // inside OnEvent: it arms the wait itself at the end
  bool fetched_ = false;     // a submit since the last reap also ran completion work
  bool enabled_ = true;      // false until the first Commit enables the ring
  boost::asio::posix::stream_descriptor event_;  // owns the eventfd
};

}  // namespace tandem::io
