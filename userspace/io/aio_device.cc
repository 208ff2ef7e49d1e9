#include "io/aio_device.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace tandem::io {

Result<std::unique_ptr<AioDevice>> AioDevice::Create(boost::asio::io_context& loop,
                                                     PosixFile&& file, unsigned queue_depth) {
  if (queue_depth == 0) return Status::InvalidArgument("aio: queue depth 0");
  io_context_t ctx = nullptr;
  int ret = io_setup(static_cast<int>(queue_depth), &ctx);
  if (ret < 0) return Status::NotSupported(Status::FromErrno(-ret, "io_setup").message());
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    Status st = Status::FromErrno(errno, "aio: eventfd");
    io_destroy(ctx);
    return st;
  }
  return std::unique_ptr<AioDevice>(new AioDevice(loop, std::move(file), queue_depth, ctx, efd));
}

AioDevice::AioDevice(boost::asio::io_context& loop, PosixFile file, unsigned queue_depth,
                     io_context_t ctx, int event_fd)
    : EngineDevice(loop, std::move(file), "aio"),
      ctx_(ctx),
      iocbs_(queue_depth),
      events_(queue_depth),
      event_(loop, event_fd) {
  if (!info().direct) read_workers_ = std::make_unique<WorkerPool>(kBufferedReadWorkers);
  free_slots_.reserve(queue_depth);
  for (iocb& slot : iocbs_) free_slots_.push_back(&slot);
  batch_.reserve(queue_depth);
}

AioDevice::~AioDevice() {
  AbortIfBusy();
  io_destroy(ctx_);
}

bool AioDevice::Start(Request* r) {
  if (r->op == Op::kDiscard || r->op == Op::kWriteZeroes) {
    RunBlocking(fallocate_worker_, r);
    return true;
  }
  if (r->op == Op::kRead && read_workers_ && !nowait_reads_) {
    RunBlocking(*read_workers_, r);  // this file refuses RWF_NOWAIT: every read on a worker
    return true;
  }
  if (free_slots_.empty()) return false;
  iocb* slot = free_slots_.back();
  free_slots_.pop_back();
  switch (r->op) {
    case Op::kRead:
      io_prep_pread(slot, fd(), r->cur_buf(), r->cur_len(),
                    static_cast<long long>(r->cur_offset()));
      if (read_workers_) slot->aio_rw_flags = RWF_NOWAIT;  // a miss: EAGAIN, not a stall
      break;
    case Op::kWrite:
      io_prep_pwrite(slot, fd(), r->cur_buf(), r->cur_len(),
                     static_cast<long long>(r->cur_offset()));
      if (r->fua) slot->aio_rw_flags = RWF_DSYNC;
      break;
    default:  // kFlush
      io_prep_fdsync(slot, fd());
      break;
  }
  io_set_eventfd(slot, event_.native_handle());
  slot->data = r;
  batch_.push_back(slot);
  return true;
}

bool AioDevice::Commit() {
  size_t sent = 0;
  bool refused = false;
  while (sent < batch_.size()) {
    int ret = io_submit(ctx_, static_cast<long>(batch_.size() - sent), batch_.data() + sent);
    if (ret > 0) {
      sent += static_cast<size_t>(ret);
      in_kernel_ += static_cast<unsigned>(ret);
    } else if (ret == -EINTR) {
      continue;
    } else if (ret == 0 || ret == -EAGAIN) {
      refused = true;  // out of kernel resources for now
      break;
    } else {
      // The first iocb itself is bad (EINVAL, EBADF, ...): fail it alone.
      iocb* bad = batch_[sent++];
      ReleaseSlot(bad);
      if (!ReadOnWorker(static_cast<Request*>(bad->data), ret)) {
        Finished(static_cast<Request*>(bad->data), ret);
      }
    }
  }
  // What the kernel did not take goes back to the head of the queue, in order.
  for (size_t i = batch_.size(); i > sent; --i) {
    iocb* slot = batch_[i - 1];
    ReleaseSlot(slot);
    Requeue(static_cast<Request*>(slot->data));
  }
  batch_.clear();
  if (in_kernel_ > 0 && !armed_) Arm();
  // With completions pending, their Service() retries; otherwise use the timer.
  return !refused || in_kernel_ > 0;
}

bool AioDevice::ReadOnWorker(Request* r, long res) {
  if (!read_workers_ || r->op != Op::kRead) return false;
  if (res == -EOPNOTSUPP) {
    nowait_reads_ = false;  // the file system does not do RWF_NOWAIT reads: stop asking
  } else if (res != -EAGAIN) {
    return false;
  }
  RunBlocking(*read_workers_, r);  // not in the page cache: read it on a worker
  return true;
}

void AioDevice::Arm() {
  armed_ = true;
  event_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [this](const boost::system::error_code& ec) { OnEvent(ec); });
}

void AioDevice::OnEvent(const boost::system::error_code& ec) {
  if (ec == boost::asio::error::operation_aborted) return;  // descriptor destroyed
  armed_ = false;
  uint64_t count;
  ssize_t n = read(event_.native_handle(), &count, sizeof(count));
  (void)n;  // EAGAIN is fine: io_getevents below is the source of truth
  for (;;) {
    timespec no_wait{0, 0};
    int got = io_getevents(ctx_, 0, static_cast<long>(events_.size()), events_.data(), &no_wait);
    if (got == -EINTR) continue;
    if (got <= 0) break;
    for (int i = 0; i < got; ++i) {
      const io_event& ev = events_[static_cast<size_t>(i)];
      ReleaseSlot(ev.obj);
      --in_kernel_;
      // res is unsigned in the ABI; negative values are -errno.
      const long res = static_cast<long>(ev.res);
      Request* r = static_cast<Request*>(ev.data);
      if (!ReadOnWorker(r, res)) Finished(r, res);
    }
    if (static_cast<size_t>(got) < events_.size()) break;
  }
  if (!Service()) return;  // a callback destroyed the device
  if (in_kernel_ > 0 && !armed_) Arm();
}

}  // namespace tandem::io
