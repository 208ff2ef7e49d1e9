#define FUSE_USE_VERSION 312
#include "fuse_export.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "common/log.h"
#include "nbd/wire.h"

namespace tandem::shim {

namespace {
constexpr fuse_ino_t kFileIno = 2;
constexpr uint32_t kMaxIo = 1u << 20;  // max_write / max_read
constexpr double kAttrTimeout = 3600.0;
// Reads and writes up to this size are answered from the client's loop
// thread (see OnRead, OnWrite); larger ones block their FUSE thread, which
// then does its own copy into or out of the kernel in parallel with others.
// The same bound as the client's bulk requests, so that the loop keeps
// polling while it answers these.
constexpr size_t kAsyncMax = nbd::BlockingClient::kBulkBytes;
}  // namespace

struct FuseExport::Impl {
  std::string name;
  nbd::BlockingClient* client = nullptr;
  uint64_t size = 0;
  uint32_t min_block = 1;
  uint32_t preferred_block = 4096;
  uint32_t max_chunk = kMaxIo;  // largest single NBD request we send
  uint16_t flags = 0;
  fuse_session* session = nullptr;
  int fuse_fd = -1;
  std::mutex opens_mu;
  std::unordered_set<uint64_t> open_uniques;  // OPEN requests awaiting their reply
  // Requests answered from the client's loop thread (reads, small writes)
  // that have not replied yet; Run() waits for none before returning, since
  // a reply needs the session.
  std::mutex async_mu;
  std::condition_variable async_cv;
  size_t async_in_flight = 0;
  bool async_stuck = false;  // Run() gave up waiting: the session must not be destroyed

  void AsyncBegin() {
    std::lock_guard<std::mutex> lock(async_mu);
    ++async_in_flight;
  }
  void AsyncEnd() {
    std::lock_guard<std::mutex> lock(async_mu);
    if (--async_in_flight == 0) async_cv.notify_all();
  }

  bool can(uint16_t flag) const { return (flags & flag) != 0; }
  // Logs a failed NBD read or write of `len` bytes at `offset`.
  void LogIoError(const char* what, uint64_t len, uint64_t offset, const Status& st) const {
    Log(LogLevel::kError, name + ": " + what + " " + std::to_string(len) + " bytes at " +
                              std::to_string(offset) + ": " + st.ToString());
  }
  static int Errno(const Status& st) {
    switch (st.code()) {
      case Status::Code::kOk:
        return 0;
      case Status::Code::kInvalidArgument:
        return EINVAL;
      case Status::Code::kNotSupported:
        return EOPNOTSUPP;
      case Status::Code::kPermissionDenied:
        return EPERM;
      default:
        return EIO;
    }
  }
  void Stat(struct stat* st) const {
    std::memset(st, 0, sizeof *st);
    st->st_ino = kFileIno;
    st->st_mode = S_IFREG | (can(nbd::kFlagReadOnly) ? 0400 : 0600);
    st->st_nlink = 1;
    st->st_size = static_cast<off_t>(size);
    st->st_blocks = static_cast<blkcnt_t>(size / 512);
    st->st_blksize = static_cast<blksize_t>(preferred_block);
  }
  // Zeroes [off, off+len) with WRITE_ZEROES (or zero-filled writes when the
  // server has no WRITE_ZEROES), in pieces the server accepts.
  Status Zero(uint64_t off, uint64_t len, bool no_hole) {
    static const std::vector<uint8_t> kZeros(kMaxIo, 0);
    const uint64_t piece_max = can(nbd::kFlagSendWriteZeroes)
                                   ? (uint64_t{nbd::kMaxBlockSize} / min_block) * min_block
                                   : kMaxIo;
    while (len > 0) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(len, piece_max));
      Status st = can(nbd::kFlagSendWriteZeroes) ? client->WriteZeroes(off, n, no_hole)
                                                 : client->Write(off, n, kZeros.data());
      if (!st.ok()) return st;
      off += n;
      len -= n;
    }
    return Status::Ok();
  }
};

namespace {

FuseExport::Impl* Self(fuse_req_t req) {
  return static_cast<FuseExport::Impl*>(fuse_req_userdata(req));
}

void OnInit(void* userdata, fuse_conn_info* conn) {
  auto* self = static_cast<FuseExport::Impl*>(userdata);
  conn->max_write = kMaxIo;
  // max_read comes from the mount options (Mount); libfuse refuses a different one here.
  conn->max_readahead = 0;
  conn->max_background = 128;
  conn->congestion_threshold = 96;
  conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
                  FUSE_CAP_SPLICE_MOVE | FUSE_CAP_AUTO_INVAL_DATA);
  if (conn->capable & FUSE_CAP_ASYNC_DIO) conn->want |= FUSE_CAP_ASYNC_DIO;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  (void)self;
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* self = Self(req);
  if (parent != FUSE_ROOT_ID || self->name != name) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param e{};
  e.ino = kFileIno;
  e.attr_timeout = kAttrTimeout;
  e.entry_timeout = kAttrTimeout;
  self->Stat(&e.attr);
  fuse_reply_entry(req, &e);
}

void OnGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st {};
  if (ino == FUSE_ROOT_ID) {
    st.st_ino = FUSE_ROOT_ID;
    st.st_mode = S_IFDIR | 0700;
    st.st_nlink = 2;
  } else if (ino == kFileIno) {
    Self(req)->Stat(&st);
  } else {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_reply_attr(req, &st, kAttrTimeout);
}

void OnSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  auto* self = Self(req);
  if (ino == kFileIno && (to_set & FUSE_SET_ATTR_SIZE) &&
      static_cast<uint64_t>(attr->st_size) != self->size) {
    fuse_reply_err(req, EPERM);  // the export's size is fixed
    return;
  }
  OnGetattr(req, ino, fi);  // mode/owner/time changes are accepted and not kept
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kFileIno) {
    fuse_reply_err(req, ino == FUSE_ROOT_ID ? EISDIR : ENOENT);
    return;
  }
  auto* self = Self(req);
  if ((fi->flags & O_ACCMODE) != O_RDONLY && self->can(nbd::kFlagReadOnly)) {
    fuse_reply_err(req, EROFS);
    return;
  }
  fi->direct_io = 1;
  fi->keep_cache = 0;
  fi->noflush = 1;
  fuse_reply_open(req, fi);
}

void OnOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != FUSE_ROOT_ID) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  fuse_reply_open(req, fi);
}

void OnReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  auto* self = Self(req);
  std::vector<char> buf(size);
  size_t used = 0;
  const char* names[] = {".", "..", self->name.c_str()};
  const fuse_ino_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, kFileIno};
  for (off_t i = off; i < 3; ++i) {
    struct stat st {};
    st.st_ino = inos[i];
    st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
    const size_t n = fuse_add_direntry(req, buf.data() + used, size - used, names[i], &st, i + 1);
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OnStatfs(fuse_req_t req, fuse_ino_t) {
  auto* self = Self(req);
  struct statvfs s {};
  // The loop driver takes its discard granularity from f_bsize.
  s.f_bsize = self->preferred_block;
  s.f_frsize = self->preferred_block;
  s.f_blocks = self->size / self->preferred_block;
  s.f_files = 1;
  s.f_namemax = 255;
  fuse_reply_statfs(req, &s);
}

// One FUSE read in flight: the block-aligned range [a0, a1) is read in
// pieces the server accepts, all at once; the last answer replies. Touched on
// the FUSE thread until the first piece is started, then only on the
// client's loop thread.
struct AsyncRead {
  FuseExport::Impl* self;
  fuse_req_t req;
  uint64_t a0, offset, end;
  std::unique_ptr<uint8_t[]> buf;
  unsigned pieces_left = 0;
  Status error;

  void PieceDone(Status st, uint64_t at, uint32_t n) {
    if (!st.ok() && error.ok()) {
      self->LogIoError("read", n, at, st);
      error = std::move(st);
    }
    if (--pieces_left > 0) return;
    if (error.ok()) {
      fuse_reply_buf(req, reinterpret_cast<const char*>(buf.get() + (offset - a0)), end - offset);
    } else {
      fuse_reply_err(req, FuseExport::Impl::Errno(error));
    }
    self->AsyncEnd();
  }
};

// Small reads reply from the client's loop thread: the FUSE thread only
// starts the NBD requests and goes back for the next FUSE request, so one
// thread hand-off per request instead of two.
void OnRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info*) {
  auto* self = Self(req);
  const uint64_t offset = static_cast<uint64_t>(off);
  if (offset >= self->size || size == 0) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  const uint64_t end = std::min<uint64_t>(offset + size, self->size);
  const uint64_t a0 = offset / self->min_block * self->min_block;
  const uint64_t a1 = std::min<uint64_t>(
      (end + self->min_block - 1) / self->min_block * self->min_block, self->size);
  if (a1 - a0 > kAsyncMax) {
    // Measured: 1 MiB reads answered from the one loop thread lost 10-20% of
    // bandwidth against FUSE threads that each copy their own reply.
    thread_local std::vector<uint8_t> buf;
    if (buf.size() < a1 - a0) buf.resize(a1 - a0);
    for (uint64_t at = a0; at < a1;) {
      const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(a1 - at, self->max_chunk));
      Status st = self->client->Read(at, n, buf.data() + (at - a0));
      if (!st.ok()) {
        self->LogIoError("read", n, at, st);
        fuse_reply_err(req, FuseExport::Impl::Errno(st));
        return;
      }
      at += n;
    }
    fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data() + (offset - a0)), end - offset);
    return;
  }
  auto op = std::make_shared<AsyncRead>();
  op->self = self;
  op->req = req;
  op->a0 = a0;
  op->offset = offset;
  op->end = end;
  op->buf.reset(new uint8_t[a1 - a0]);  // not zeroed: the server fills all of it
  op->pieces_left = static_cast<unsigned>((a1 - a0 + self->max_chunk - 1) / self->max_chunk);
  self->AsyncBegin();
  for (uint64_t at = a0; at < a1;) {
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(a1 - at, self->max_chunk));
    uint8_t* into = op->buf.get() + (at - a0);
    self->client->StartAsync(
        [at, n, into](nbd::Client& c, nbd::Client::Callback done) {
          c.Read(at, n, into, std::move(done));
        },
        [op, at, n](Status st) { op->PieceDone(std::move(st), at, n); }, n);
    at += n;
  }
}

void OnWrite(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t off,
             fuse_file_info*) {
  auto* self = Self(req);
  const uint64_t offset = static_cast<uint64_t>(off);
  if (offset + size > self->size) {
    fuse_reply_err(req, offset >= self->size ? ENOSPC : EFBIG);
    return;
  }
  if (offset % self->min_block != 0 || size % self->min_block != 0) {
    fuse_reply_err(req, EINVAL);  // the export takes whole blocks only
    return;
  }
  if (size <= kAsyncMax && size <= self->max_chunk) {
    // libfuse reuses `data` once we return: the loop-thread path sends a copy.
    std::shared_ptr<uint8_t[]> copy(new uint8_t[size]);
    std::memcpy(copy.get(), data, size);
    self->AsyncBegin();
    self->client->StartAsync(
        [offset, size, copy](nbd::Client& c, nbd::Client::Callback done) {
          c.Write(offset, static_cast<uint32_t>(size), copy.get(), false, std::move(done));
        },
        [self, req, offset, size, copy](Status st) {
          if (st.ok()) {
            fuse_reply_write(req, size);
          } else {
            self->LogIoError("write", size, offset, st);
            fuse_reply_err(req, FuseExport::Impl::Errno(st));
          }
          self->AsyncEnd();
        },
        size);
    return;
  }
  // Large writes wait here instead: copying them would cost more than the
  // thread hand-off it saves.
  for (size_t done = 0; done < size;) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(size - done, self->max_chunk));
    Status st = self->client->Write(offset + done, n, data + done);
    if (!st.ok()) {
      self->LogIoError("write", n, offset + done, st);
      fuse_reply_err(req, FuseExport::Impl::Errno(st));
      return;
    }
    done += n;
  }
  fuse_reply_write(req, size);
}

void OnFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void OnRelease(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void OnFsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  auto* self = Self(req);
  if (!self->can(nbd::kFlagSendFlush)) {
    fuse_reply_err(req, 0);  // the server has no volatile cache to flush
    return;
  }
  Status st = self->client->Flush();
  if (!st.ok()) Log(LogLevel::kError, self->name + ": flush: " + st.ToString());
  fuse_reply_err(req, FuseExport::Impl::Errno(st));
}

void OnFallocate(fuse_req_t req, fuse_ino_t, int mode, off_t off, off_t length, fuse_file_info*) {
  auto* self = Self(req);
  if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0 ||
      ((mode & FALLOC_FL_PUNCH_HOLE) && (mode & FALLOC_FL_ZERO_RANGE))) {
    fuse_reply_err(req, EOPNOTSUPP);
    return;
  }
  uint64_t offset = static_cast<uint64_t>(off);
  uint64_t len = static_cast<uint64_t>(length);
  if (offset + len > self->size) {
    if (!(mode & FALLOC_FL_KEEP_SIZE)) {
      fuse_reply_err(req, EFBIG);  // the export cannot grow
      return;
    }
    len = offset >= self->size ? 0 : self->size - offset;
  }
  if (!(mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) || len == 0) {
    fuse_reply_err(req, 0);  // plain preallocation: every block already exists
    return;
  }
  if (self->can(nbd::kFlagReadOnly)) {
    fuse_reply_err(req, EROFS);
    return;
  }
  if (offset % self->min_block != 0 || len % self->min_block != 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  Status st = self->Zero(offset, len, /*no_hole=*/(mode & FALLOC_FL_ZERO_RANGE) != 0);
  if (!st.ok()) {
    Log(LogLevel::kError, self->name + ": fallocate mode " + std::to_string(mode) + " at " +
                              std::to_string(offset) + "+" + std::to_string(len) + ": " +
                              st.ToString());
  }
  fuse_reply_err(req, FuseExport::Impl::Errno(st));
}

// Custom session I/O: plain read/writev on /dev/fuse, except that the reply
// to every OPEN gets FOPEN_PARALLEL_DIRECT_WRITES (libfuse 3.14 has no field
// for it), so that direct writes to the file are not serialised on its inode lock.
ssize_t IoRead(int fd, void* buf, size_t len, void* userdata) {
  const ssize_t n = ::read(fd, buf, len);
  if (n >= static_cast<ssize_t>(sizeof(fuse_in_header))) {
    fuse_in_header h;
    std::memcpy(&h, buf, sizeof h);
    if (h.opcode == FUSE_OPEN) {
      auto* self = static_cast<FuseExport::Impl*>(userdata);
      std::lock_guard<std::mutex> lock(self->opens_mu);
      self->open_uniques.insert(h.unique);
    }
  }
  return n;
}

ssize_t IoWritev(int fd, iovec* iov, int count, void* userdata) {
  if (count >= 2 && iov[0].iov_len >= sizeof(fuse_out_header) &&
      iov[1].iov_len >= sizeof(fuse_open_out)) {
    fuse_out_header h;
    std::memcpy(&h, iov[0].iov_base, sizeof h);
    auto* self = static_cast<FuseExport::Impl*>(userdata);
    bool is_open = false;
    {
      std::lock_guard<std::mutex> lock(self->opens_mu);
      is_open = self->open_uniques.erase(h.unique) > 0;
    }
    if (is_open && h.error == 0) {
      fuse_open_out out;
      std::memcpy(&out, iov[1].iov_base, sizeof out);
      out.open_flags |= FOPEN_PARALLEL_DIRECT_WRITES;
      std::memcpy(iov[1].iov_base, &out, sizeof out);
    }
  } else if (count >= 1 && iov[0].iov_len >= sizeof(fuse_out_header)) {
    fuse_out_header h;
    std::memcpy(&h, iov[0].iov_base, sizeof h);
    auto* self = static_cast<FuseExport::Impl*>(userdata);
    std::lock_guard<std::mutex> lock(self->opens_mu);
    self->open_uniques.erase(h.unique);  // an OPEN that failed
  }
  return ::writev(fd, iov, count);
}

}  // namespace

FuseExport::FuseExport(std::string resource, nbd::BlockingClient* client)
    : resource_(std::move(resource)), impl_(std::make_unique<Impl>()) {
  impl_->name = resource_;
  impl_->client = client;
  const auto& info = client->info();
  impl_->size = info.size;
  impl_->flags = info.flags;
  impl_->min_block = std::max<uint32_t>(1, info.block_sizes.minimum);
  impl_->preferred_block = std::max<uint32_t>(impl_->min_block, info.block_sizes.preferred);
  const uint32_t max = std::max(info.block_sizes.maximum, impl_->min_block);
  impl_->max_chunk = std::min<uint32_t>(kMaxIo, max / impl_->min_block * impl_->min_block);
}

FuseExport::~FuseExport() {
  Unmount();
  if (impl_->async_stuck) {
    // A late reply would use the session and the counters: keep them.
    (void)impl_.release();
    return;
  }
  if (impl_->session) {
    fuse_session_destroy(impl_->session);  // closes the /dev/fuse descriptor
  } else if (impl_->fuse_fd >= 0) {
    ::close(impl_->fuse_fd);
  }
}

Status FuseExport::Mount(const std::string& mount_point) {
  mount_point_ = mount_point;
  impl_->fuse_fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (impl_->fuse_fd < 0) return Status::FromErrno(errno, "open /dev/fuse");
  const std::string opts =
      "fd=" + std::to_string(impl_->fuse_fd) +
      ",rootmode=40000,user_id=0,group_id=0,max_read=" + std::to_string(kMaxIo);
  const std::string source = "tandem:" + resource_;
  if (::mount(source.c_str(), mount_point.c_str(), "fuse.tandem", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              opts.c_str()) != 0) {
    return Status::FromErrno(errno, "mount FUSE at " + mount_point);
  }
  static fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = OnInit;
    o.lookup = OnLookup;
    o.getattr = OnGetattr;
    o.setattr = OnSetattr;
    o.open = OnOpen;
    o.read = OnRead;
    o.write = OnWrite;
    o.flush = OnFlush;
    o.release = OnRelease;
    o.fsync = OnFsync;
    o.opendir = OnOpendir;
    o.readdir = OnReaddir;
    o.statfs = OnStatfs;
    o.fallocate = OnFallocate;
    return o;
  }();
  char arg0[] = "tandem-attach";
  char* argv[] = {arg0, nullptr};
  fuse_args args = FUSE_ARGS_INIT(1, argv);
  impl_->session = fuse_session_new(&args, &ops, sizeof ops, impl_.get());
  if (!impl_->session) {
    Unmount();
    return Status::IoError("fuse_session_new failed for " + mount_point);
  }
  static const fuse_custom_io io = {IoWritev, IoRead, nullptr, nullptr};
  const int rc = fuse_session_custom_io(impl_->session, &io, impl_->fuse_fd);
  if (rc != 0) {
    Unmount();
    return Status::FromErrno(-rc, "fuse_session_custom_io on " + mount_point);
  }
  return Status::Ok();
}

Status FuseExport::Run(int max_threads) {
  if (!impl_->session)
    return Status::InvalidArgument("FUSE export of " + resource_ + " not mounted");
  if (fuse_set_signal_handlers(impl_->session) != 0) {
    return Status::IoError("cannot install signal handlers for the FUSE session");
  }
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(max_threads));
  fuse_loop_cfg_set_idle_threads(cfg, static_cast<unsigned>(max_threads));
  const int rc = fuse_session_loop_mt(impl_->session, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_remove_signal_handlers(impl_->session);
  // Replies still to come from the client's loop need the session. The
  // client fails any request older than its timeout, so this ends; the bound
  // is only a guard.
  {
    std::unique_lock<std::mutex> lock(impl_->async_mu);
    if (!impl_->async_cv.wait_for(lock, impl_->client->timeout() + std::chrono::seconds(10),
                                  [this] { return impl_->async_in_flight == 0; })) {
      impl_->async_stuck = true;
      return Status::Timeout("FUSE export of " + resource_ + ": " +
                             std::to_string(impl_->async_in_flight) +
                             " NBD requests never finished");
    }
  }
  if (rc < 0) return Status::FromErrno(-rc, "FUSE session of " + resource_);
  return Status::Ok();
}

void FuseExport::Unmount() {
  if (mount_point_.empty()) return;
  ::umount2(mount_point_.c_str(), MNT_DETACH);
}

}  // namespace tandem::shim
