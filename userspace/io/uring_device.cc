#include "io/uring_device.h"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"

namespace tandem::io {

namespace {

// Reap-and-run rounds one eventfd wakeup may do before yielding to other handlers.
constexpr int kMaxRounds = 8;

// The ring must know every opcode the engine uses (READ/WRITE: 5.6, FALLOCATE: 5.6).
Status CheckOpcodes(io_uring* ring) {
  io_uring_probe* probe = io_uring_get_probe_ring(ring);
  if (probe == nullptr) return Status::NotSupported("io_uring: cannot probe opcodes");
  struct Needed {
    int op;
    const char* name;
  };
  static const Needed kNeeded[] = {{IORING_OP_READ, "READ"},
                                   {IORING_OP_WRITE, "WRITE"},
                                   {IORING_OP_FSYNC, "FSYNC"},
                                   {IORING_OP_FALLOCATE, "FALLOCATE"}};
  Status st;
  for (const Needed& n : kNeeded) {
    if (!io_uring_opcode_supported(probe, n.op)) {
      st = Status::NotSupported(std::string("io_uring: kernel lacks IORING_OP_") + n.name);
      break;
    }
  }
  io_uring_free_probe(probe);
  return st;
}

}  // namespace

Result<std::unique_ptr<UringDevice>> UringDevice::Create(boost::asio::io_context& loop,
                                                         PosixFile&& file, unsigned queue_depth) {
  if (queue_depth == 0) return Status::InvalidArgument("io_uring: queue depth 0");
  io_uring ring{};
  // Deferred task running (Linux 6.1+): completions are only processed when
  // we ask (io_uring_get_events), and the kernel signals the eventfd with a
  // plain wakeup instead of interrupting the loop thread's epoll_wait. It
  // needs a single submitting task; the ring starts disabled so that task is
  // whichever thread first submits (the loop's), not the one opening.
  bool deferred = true;
  int ret = io_uring_queue_init(
      queue_depth, &ring,
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED);
  if (ret == -EINVAL) {  // older kernel: classic task work
    deferred = false;
    ret = io_uring_queue_init(queue_depth, &ring, 0);
  }
  if (ret < 0) {
    // ENOSYS/EPERM/ENOMEM all mean "not here": the caller may fall back.
    return Status::NotSupported(Status::FromErrno(-ret, "io_uring_queue_init").message());
  }
  Status st = CheckOpcodes(&ring);
  int efd = -1;
  if (st.ok()) {
    efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) st = Status::FromErrno(errno, "io_uring: eventfd");
  }
  if (st.ok()) {
    ret = io_uring_register_eventfd(&ring, efd);
    if (ret < 0)
      st = Status::NotSupported(Status::FromErrno(-ret, "io_uring_register_eventfd").message());
  }
  if (!st.ok()) {
    if (efd >= 0) close(efd);
    io_uring_queue_exit(&ring);
    return st;
  }
  std::unique_ptr<UringDevice> dev(new UringDevice(loop, std::move(file), queue_depth, efd));
  dev->ring_ = ring;  // the struct only points at the ring's mappings: a plain copy moves it
  dev->deferred_ = deferred;
  dev->enabled_ = !deferred;
  return dev;
}

UringDevice::UringDevice(boost::asio::io_context& loop, PosixFile file, unsigned queue_depth,
                         int event_fd)
    : EngineDevice(loop, std::move(file), "uring"), depth_(queue_depth), event_(loop, event_fd) {}

UringDevice::~UringDevice() {
  AbortIfBusy();
  io_uring_queue_exit(&ring_);
}

bool UringDevice::Start(Request* r) {
  if (in_kernel_ >= depth_) return false;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) return false;
  switch (r->op) {
    case Op::kRead:
      io_uring_prep_read(sqe, fd(), r->cur_buf(), static_cast<unsigned>(r->cur_len()),
                         r->cur_offset());
      break;
    case Op::kWrite:
      io_uring_prep_write(sqe, fd(), r->cur_buf(), static_cast<unsigned>(r->cur_len()),
                          r->cur_offset());
      if (r->fua) sqe->rw_flags = RWF_DSYNC;
      break;
    case Op::kFlush:
      io_uring_prep_fsync(sqe, fd(), IORING_FSYNC_DATASYNC);
      break;
    case Op::kDiscard:
    case Op::kWriteZeroes:
      io_uring_prep_fallocate(sqe, fd(), FallocateMode(*r), static_cast<off_t>(r->offset),
                              static_cast<off_t>(r->len));
      break;
  }
  io_uring_sqe_set_data(sqe, r);
  ++in_kernel_;
  return true;
}

bool UringDevice::Commit() {
  int ret;
  if (!enabled_) {
    // liburing 2.3 declares io_uring_enable_rings but does not export it.
    ret = static_cast<int>(
        syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0));
    if (ret < 0) {
      Log(LogLevel::kWarning,
          info().path + ": " + Status::FromErrno(errno, "IORING_REGISTER_ENABLE_RINGS").message() +
              "; retrying");
      return false;
    }
    enabled_ = true;
  }
  do {
    // Deferred mode: the same system call also runs pending completion work.
    ret = deferred_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_);
  } while (ret == -EINTR);
  fetched_ = deferred_;
  // On EAGAIN/EBUSY (kernel short of memory, completion backlog) the entries
  // stay in the submission ring; the next Commit sends them. Inside OnEvent
  // the handler arms once when it is done.
  if (in_kernel_ > 0 && !armed_ && !in_handler_) Arm();
  if (ret < 0) {
    if (ret != -EAGAIN && ret != -EBUSY) {
      Log(LogLevel::kWarning,
          info().path + ": " + Status::FromErrno(-ret, "io_uring_submit").message() + "; retrying");
    }
    return false;
  }
  return true;
}

void UringDevice::Arm() {
  armed_ = true;
  event_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [this](const boost::system::error_code& ec) { OnEvent(ec); });
}

unsigned UringDevice::Reap() {
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    --in_kernel_;
    Finished(static_cast<Request*>(io_uring_cqe_get_data(cqe)), cqe->res);
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
  return seen;
}

void UringDevice::OnEvent(const boost::system::error_code& ec) {
  // Aborted waits only happen when the descriptor is destroyed: not ours anymore.
  if (ec == boost::asio::error::operation_aborted) return;
  armed_ = false;
  uint64_t count;
  ssize_t n = read(event_.native_handle(), &count, sizeof(count));
  (void)n;  // EAGAIN is fine: completions are counted by the ring, not the eventfd
  in_handler_ = true;
  if (deferred_) io_uring_get_events(&ring_);  // runs the completion work, fills the CQ
  // Completions that arrive while callbacks run are reaped right away, without
  // a trip through epoll: each round costs no system call beyond the submit.
  for (int round = 0; round < kMaxRounds; ++round) {
    fetched_ = false;
    if (Reap() == 0) break;
    if (!Service()) return;  // a callback destroyed the device
    // Deferred mode: only a submit also ran the completion work; without one
    // there is nothing new to reap, and the eventfd will say when there is.
    if (deferred_ && !fetched_) break;
  }
  in_handler_ = false;
  if (in_kernel_ > 0 && !armed_) Arm();
}

}  // namespace tandem::io
