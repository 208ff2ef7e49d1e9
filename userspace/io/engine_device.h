#pragma once
// EngineDevice: what the three kernel-facing engines (uring, aio, sync) share,
// so that they differ only in how a request travels to the kernel and back:
// argument checks (CheckRequest), a pool of request records (no allocation per
// operation once warm), a FIFO of requests waiting for a kernel slot,
// resubmission of the rest of a short transfer, bounded retries on
// EAGAIN/EINTR, errno -> Status, and delivery of callbacks on the loop.
//
// Engine protocol (everything on the loop thread):
// - Service() offers queued requests to Start(r) in FIFO order until Start
//   returns false (no free slot; r stays queued), then calls Commit() once, so
//   a burst of submissions costs one system call. Commit() returning false
//   means "the kernel said try later" (EAGAIN with nothing in flight); Service
//   is then retried after a millisecond.
// - The engine reports each kernel result with Finished(r, res) (bytes moved
//   or -errno) and then calls Service(), which runs the callbacks of finished
//   requests and starts what is queued. Service() returns false when a
//   callback destroyed the device; the engine must not touch `this` then.
// - Submissions made outside Service() (the usual case: from some other
//   handler) schedule one Service() by posting, never inline.
// Flushes are group-committed: one device flush runs at a time. Flush()
// calls made while it runs cannot share it (it may have started before their
// writes completed), so they wait together for the next one, which starts
// when the running one finishes. N concurrent flushes cost at most two
// device flushes; each caller still hears of the flush that covers it, with
// its status.
// Short transfers: a read or write that moved fewer bytes than asked is
// resubmitted from where it stopped; zero bytes inside the device size is an
// IoError (a read hit end of file: the file shrank under us; a write made no
// progress). An error after partial progress fails the whole request with
// that error; the bytes already written stay written.
// Thread-safety: loop thread only, like every BlockDevice. Destroying the
// device with requests in flight aborts the process (in every build type):
// the kernel or a worker could still write into memory the owner freed.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "io/block_device.h"
#include "io/posix_file.h"
#include "io/worker_pool.h"

namespace tandem::io {

class EngineDevice : public BlockDevice {
 public:
  ~EngineDevice() override;
  EngineDevice(const EngineDevice&) = delete;
  EngineDevice& operator=(const EngineDevice&) = delete;

  const DeviceInfo& info() const override { return info_; }
  void Read(uint64_t offset, void* buf, size_t len, IoCallback done) override;
  void Write(uint64_t offset, const void* buf, size_t len, uint32_t flags,
             IoCallback done) override;
  void Flush(IoCallback done) override;
  void Discard(uint64_t offset, uint64_t len, IoCallback done) override;
  void WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, IoCallback done) override;
  size_t in_flight() const override { return in_flight_; }
  // Buffered devices only, and only where the kernel can say the range is
  // resident (cachestat(2), Linux 6.5+; elsewhere always -1).
  int PageCacheReadFd(uint64_t offset, uint64_t len) override;
  // Device flushes (fsync/fdatasync) sent to the kernel so far.
  uint64_t device_flushes() const { return device_flushes_; }

 protected:
  enum class Op : uint8_t { kRead, kWrite, kFlush, kDiscard, kWriteZeroes };

  // Kernel calls take 32-bit lengths in places (io_uring sqe->len); larger
  // requests go down in pieces of at most this size.
  static constexpr uint64_t kMaxSegment = uint64_t{1} << 30;

  struct Request {
    Op op = Op::kRead;
    bool fua = false;
    bool may_unmap = false;
    bool bulk = false;  // counted in BulkIoInFlight() until released
    uint64_t offset = 0;
    uint64_t len = 0;
    uint64_t done = 0;  // bytes already transferred
    uint8_t* buf = nullptr;
    unsigned retries = 0;
    IoCallback callback;

    // The part still to do.
    uint64_t cur_offset() const { return offset + done; }
    uint8_t* cur_buf() const { return buf + done; }
    size_t cur_len() const { return static_cast<size_t>(std::min(len - done, kMaxSegment)); }
  };

  EngineDevice(boost::asio::io_context& loop, PosixFile file, const std::string& engine_name);

  // Takes r towards the kernel; false when no slot is free (r stays queued).
  virtual bool Start(Request* r) = 0;
  // Hands what Start() took to the kernel; false: try again later.
  virtual bool Commit() = 0;

  void Finished(Request* r, int64_t res);
  bool Service();
  // Puts a request Start() took back at the head of the queue (the kernel
  // refused it for now); it is offered to Start() again on the next Service().
  void Requeue(Request* r) { queue_.push_front(r); }
  // Runs r's current step on a worker thread (PerformBlocking) and reports the
  // result from the loop: Finished(r, res), then Service().
  void RunBlocking(WorkerPool& pool, Request* r);
  size_t blocking_in_flight() const { return blocking_in_flight_; }
  // Derived destructors call this first, before tearing down their kernel state.
  void AbortIfBusy() const;

  int fd() const { return file_.fd(); }
  boost::asio::io_context& loop() { return loop_; }

  // Runs r's current step with a blocking system call on the calling thread;
  // returns bytes moved (0 for flush/fallocate) or -errno. For worker threads.
  static int64_t PerformBlocking(int fd, const Request& r);
  // fallocate(2) mode for a discard or write-zeroes request.
  static int FallocateMode(const Request& r);

 private:
  struct Ready {
    IoCallback callback;
    Status status;
  };

  Request* NewRequest(Op op, uint64_t offset, uint64_t len, IoCallback done);
  void Release(Request* r);
  void Submit(Request* r);
  // Completes a request that never reached the kernel (posted, never inline).
  void CompleteLater(Status st, IoCallback done);
  void Complete(Request* r, Status st);
  // Sends one device flush for the callers in flush_group_.
  void StartFlush();
  void Kick();
  void PostService();
  void RetryLater();
  std::string Describe(const Request& r) const;

  boost::asio::io_context& loop_;
  PosixFile file_;
  DeviceInfo info_;
  size_t in_flight_ = 0;                            // accepted, callback not yet run
  size_t blocking_in_flight_ = 0;                   // handed to RunBlocking, result not yet back
  std::deque<Request*> queue_;                      // waiting for Start()
  std::vector<std::unique_ptr<Request>> requests_;  // owns every record
  std::vector<Request*> free_;                      // recycled records
  std::vector<Ready> ready_;                        // finished, callback not yet run
  bool in_service_ = false;
  bool service_posted_ = false;
  bool commit_needed_ = false;  // Start() took requests Commit() has not sent
  bool retry_armed_ = false;
  // Group commit of flushes (see above): the callers the running device
  // flush answers (non-empty exactly while one runs), and those waiting for
  // the next one.
  std::vector<IoCallback> flush_group_;
  std::vector<IoCallback> flush_next_;
  uint64_t device_flushes_ = 0;
  boost::asio::steady_timer retry_timer_;
  // False once destroyed; handlers that may outlive the device check it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tandem::io
