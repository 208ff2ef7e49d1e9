#include "io/engine_device.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/require.hpp>
#include <cerrno>
#include <cstdlib>

#include "common/log.h"
#include "io/event_loop.h"
#include "io/page_cache.h"

namespace tandem::io {

namespace {
// EAGAIN/EINTR from a completion are retried this often before giving up; a
// kernel that keeps refusing is an error the owner must hear about.
constexpr unsigned kMaxRetries = 100;
// Rounds of callbacks one Service() runs before yielding to other handlers.
constexpr int kMaxServiceRounds = 16;
constexpr auto kRetryDelay = std::chrono::milliseconds(1);

const char* OpName(int op) {
  static const char* const kNames[] = {"read", "write", "flush", "discard", "write-zeroes"};
  return kNames[op];
}
}  // namespace

EngineDevice::EngineDevice(boost::asio::io_context& loop, PosixFile file,
                           const std::string& engine_name)
    : loop_(loop), file_(std::move(file)), retry_timer_(loop) {
  const FileGeometry& g = file_.geometry();
  info_.path = file_.path();
  info_.engine = engine_name;
  info_.size_bytes = g.size_bytes;
  info_.logical_block_size = g.logical_block_size;
  info_.physical_block_size = g.physical_block_size;
  info_.direct = file_.direct();
  info_.is_block_device = g.is_block_device;
  info_.read_only = file_.read_only();
}

int EngineDevice::PageCacheReadFd(uint64_t offset, uint64_t len) {
  if (info_.direct || len == 0 || offset > info_.size_bytes || len > info_.size_bytes - offset) {
    return -1;
  }
  return RangeResidency(fd(), offset, len) == Residency::kResident ? fd() : -1;
}

EngineDevice::~EngineDevice() {
  AbortIfBusy();
  *alive_ = false;
}

void EngineDevice::AbortIfBusy() const {
  if (in_flight_ == 0) return;
  Log(LogLevel::kError, info_.path + ": " + info_.engine + " device destroyed with " +
                            std::to_string(in_flight_) + " operations in flight");
  std::abort();
}

void EngineDevice::Read(uint64_t offset, void* buf, size_t len, IoCallback done) {
  ++in_flight_;
  Status st = CheckRequest(info_, offset, len, buf, false);
  if (!st.ok() || len == 0) return CompleteLater(std::move(st), std::move(done));
  Request* r = NewRequest(Op::kRead, offset, len, std::move(done));
  r->buf = static_cast<uint8_t*>(buf);
  Submit(r);
}

void EngineDevice::Write(uint64_t offset, const void* buf, size_t len, uint32_t flags,
                         IoCallback done) {
  ++in_flight_;
  Status st = CheckRequest(info_, offset, len, buf, true);
  if (!st.ok() || len == 0) return CompleteLater(std::move(st), std::move(done));
  Request* r = NewRequest(Op::kWrite, offset, len, std::move(done));
  // The kernel only reads from it; Request has one pointer for both directions.
  r->buf = static_cast<uint8_t*>(const_cast<void*>(buf));
  r->fua = (flags & kWriteFua) != 0;
  Submit(r);
}

void EngineDevice::Flush(IoCallback done) {
  ++in_flight_;
  if (!flush_group_.empty()) {  // a device flush is running
    flush_next_.push_back(std::move(done));
    return;
  }
  flush_group_.push_back(std::move(done));
  StartFlush();
}

void EngineDevice::StartFlush() {
  ++device_flushes_;
  Submit(NewRequest(Op::kFlush, 0, 0, nullptr));
}

void EngineDevice::Discard(uint64_t offset, uint64_t len, IoCallback done) {
  ++in_flight_;
  Status st = CheckRequest(info_, offset, len, nullptr, true);
  if (!st.ok() || len == 0) return CompleteLater(std::move(st), std::move(done));
  Submit(NewRequest(Op::kDiscard, offset, len, std::move(done)));
}

void EngineDevice::WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, IoCallback done) {
  ++in_flight_;
  Status st = CheckRequest(info_, offset, len, nullptr, true);
  if (!st.ok() || len == 0) return CompleteLater(std::move(st), std::move(done));
  Request* r = NewRequest(Op::kWriteZeroes, offset, len, std::move(done));
  r->may_unmap = may_unmap;
  Submit(r);
}

EngineDevice::Request* EngineDevice::NewRequest(Op op, uint64_t offset, uint64_t len,
                                                IoCallback done) {
  Request* r;
  if (free_.empty()) {
    requests_.push_back(std::make_unique<Request>());
    r = requests_.back().get();
  } else {
    r = free_.back();
    free_.pop_back();
  }
  *r = Request{};
  r->op = op;
  r->offset = offset;
  r->len = len;
  r->callback = std::move(done);
  if ((op == Op::kRead || op == Op::kWrite) && len > kBulkIoBytes) {
    r->bulk = true;
    NoteBulkIo(+1);
  }
  return r;
}

void EngineDevice::Release(Request* r) {
  if (r->bulk) NoteBulkIo(-1);
  r->bulk = false;
  r->callback = nullptr;
  free_.push_back(r);
}

void EngineDevice::Submit(Request* r) {
  queue_.push_back(r);
  if (!in_service_) PostService();
}

void EngineDevice::CompleteLater(Status st, IoCallback done) {
  boost::asio::post(loop_, [this, st = std::move(st), done = std::move(done)]() mutable {
    --in_flight_;
    done(std::move(st));  // may destroy the device: nothing after this
  });
}

void EngineDevice::Complete(Request* r, Status st) {
  if (r->op == Op::kFlush) {
    Release(r);
    for (IoCallback& done : flush_group_) ready_.push_back({std::move(done), st});
    flush_group_.clear();
    if (!flush_next_.empty()) {
      // Queued here; the engine's Service() after Finished() sends it.
      flush_group_.swap(flush_next_);
      StartFlush();
    }
    return;
  }
  ready_.push_back({std::move(r->callback), std::move(st)});
  Release(r);
}

std::string EngineDevice::Describe(const Request& r) const {
  std::string s = info_.path + ": " + OpName(static_cast<int>(r.op));
  if (r.op != Op::kFlush) {
    s += " of " + std::to_string(r.len) + " bytes at offset " + std::to_string(r.offset);
  }
  return s;
}

void EngineDevice::Finished(Request* r, int64_t res) {
  if (res < 0) {
    const int err = static_cast<int>(-res);
    if ((err == EAGAIN || err == EINTR) && ++r->retries <= kMaxRetries) {
      queue_.push_front(r);
      return;
    }
    std::string what = Describe(*r);
    if (r->done > 0) what += " (after " + std::to_string(r->done) + " bytes)";
    return Complete(r, Status::FromErrno(err, what));
  }
  if (r->op != Op::kRead && r->op != Op::kWrite) return Complete(r, Status::Ok());
  r->done += static_cast<uint64_t>(res);
  if (r->done >= r->len) return Complete(r, Status::Ok());
  if (res == 0) {
    return Complete(
        r, Status::IoError(Describe(*r) + ": " +
                           (r->op == Op::kRead
                                ? "end of file at offset " + std::to_string(r->cur_offset()) +
                                      ", inside the device size (file shrank?)"
                                : "no progress at offset " + std::to_string(r->cur_offset()))));
  }
  // Short transfer: send the rest, ahead of everything queued.
  r->retries = 0;
  queue_.push_front(r);
}

void EngineDevice::Kick() {
  while (!queue_.empty() && Start(queue_.front())) {
    queue_.pop_front();
    commit_needed_ = true;
  }
  if (!commit_needed_) return;
  commit_needed_ = !Commit();  // refused: whatever Start() took is still waiting
  if (commit_needed_) RetryLater();
}

bool EngineDevice::Service() {
  std::shared_ptr<bool> alive = alive_;
  in_service_ = true;
  for (int round = 0; round < kMaxServiceRounds; ++round) {
    Kick();
    if (ready_.empty()) {
      in_service_ = false;
      return true;
    }
    std::vector<Ready> batch;
    batch.swap(ready_);
    for (Ready& done : batch) {
      --in_flight_;
      done.callback(std::move(done.status));
      // Destroying the device is legal only once nothing is in flight, so
      // only after the last callback; either way, stop touching it.
      if (!*alive) return false;
    }
    if (ready_.empty()) {  // keep the capacity for the next batch
      batch.clear();
      ready_.swap(batch);
    }
  }
  in_service_ = false;
  // Callbacks keep submitting: let other handlers run before continuing.
  if (!queue_.empty() || !ready_.empty()) PostService();
  return true;
}

void EngineDevice::PostService() {
  if (service_posted_) return;
  service_posted_ = true;
  boost::asio::post(loop_, [this, alive = alive_] {
    if (!*alive) return;
    service_posted_ = false;
    Service();
  });
}

void EngineDevice::RetryLater() {
  if (retry_armed_) return;
  retry_armed_ = true;
  retry_timer_.expires_after(kRetryDelay);
  retry_timer_.async_wait([this, alive = alive_](const boost::system::error_code&) {
    if (!*alive) return;
    retry_armed_ = false;
    Service();
  });
}

void EngineDevice::RunBlocking(WorkerPool& pool, Request* r) {
  ++blocking_in_flight_;
  // The tracked executor counts as outstanding work, so loop.run() does not
  // return while only a worker holds a request. `this` outlives the job: r
  // counts as in flight until its callback has run.
  auto tracked =
      boost::asio::require(loop_.get_executor(), boost::asio::execution::outstanding_work.tracked);
  pool.Run([this, r, fd = fd(), tracked] {
    const int64_t res = PerformBlocking(fd, *r);
    boost::asio::post(tracked, [this, r, res] {
      --blocking_in_flight_;
      Finished(r, res);
      Service();
    });
  });
}

int EngineDevice::FallocateMode(const Request& r) {
  // Block devices accept exactly these two (Linux 4.9+): PUNCH_HOLE|KEEP_SIZE
  // unmaps and reads back zeroes, ZERO_RANGE writes zeroes (or asks the device to).
  const bool unmap = r.op == Op::kDiscard || r.may_unmap;
  return unmap ? (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
               : (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
}

int64_t EngineDevice::PerformBlocking(int fd, const Request& r) {
  ssize_t n = 0;
  switch (r.op) {
    case Op::kRead:
      n = pread(fd, r.cur_buf(), r.cur_len(), static_cast<off_t>(r.cur_offset()));
      break;
    case Op::kWrite: {
      iovec iov{r.cur_buf(), r.cur_len()};
      n = pwritev2(fd, &iov, 1, static_cast<off_t>(r.cur_offset()), r.fua ? RWF_DSYNC : 0);
      break;
    }
    case Op::kFlush:
      n = fdatasync(fd);
      break;
    case Op::kDiscard:
    case Op::kWriteZeroes:
      n = fallocate(fd, FallocateMode(r), static_cast<off_t>(r.offset), static_cast<off_t>(r.len));
      break;
  }
  return n < 0 ? -static_cast<int64_t>(errno) : static_cast<int64_t>(n);
}

}  // namespace tandem::io
