#include "io/posix_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace tandem::io {

namespace {

// Used when neither statx nor a probe can tell: every sector size divides it.
constexpr uint32_t kFallbackDirectAlignment = 4096;

Result<FileGeometry> BlockDeviceGeometry(int fd, const std::string& path) {
  FileGeometry g;
  g.is_block_device = true;
  uint64_t size = 0;
  if (ioctl(fd, BLKGETSIZE64, &size) != 0) return Status::FromErrno(errno, path + ": BLKGETSIZE64");
  int logical = 0;
  if (ioctl(fd, BLKSSZGET, &logical) != 0) return Status::FromErrno(errno, path + ": BLKSSZGET");
  unsigned int physical = 0;
  if (ioctl(fd, BLKPBSZGET, &physical) != 0) physical = static_cast<unsigned>(logical);
  g.size_bytes = size;
  g.logical_block_size = static_cast<uint32_t>(logical);
  g.physical_block_size = std::max<uint32_t>(physical, g.logical_block_size);
  return g;
}

// Smallest power-of-two unit in 512..4096 that an O_DIRECT read accepts for
// offset, length and buffer address at once. Reads at offset `unit` into
// buf+unit, so both are aligned to `unit` but not to twice it; needs the file
// to hold 2*4096 bytes, else the fallback.
uint32_t ProbeDirectAlignment(int fd, uint64_t size) {
  if (size < 2 * kFallbackDirectAlignment) return kFallbackDirectAlignment;
  void* mem = nullptr;
  if (posix_memalign(&mem, 2 * kFallbackDirectAlignment, 2 * kFallbackDirectAlignment) != 0) {
    return kFallbackDirectAlignment;
  }
  uint32_t found = kFallbackDirectAlignment;
  for (uint32_t unit = 512; unit < kFallbackDirectAlignment; unit *= 2) {
    ssize_t n = pread(fd, static_cast<char*>(mem) + unit, unit, unit);
    if (n >= 0) {
      found = unit;
      break;
    }
    if (errno != EINVAL) break;
  }
  std::free(mem);
  return found;
}

Result<FileGeometry> RegularFileGeometry(int fd, const std::string& path, bool direct) {
  FileGeometry g;
  struct statx sx {};
  if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_DIOALIGN, &sx) != 0) {
    return Status::FromErrno(errno, path + ": statx");
  }
  g.size_bytes = sx.stx_size;
  g.physical_block_size = std::max<uint32_t>(sx.stx_blksize, 512);
  // 0 in the DIOALIGN fields means "unknown" (mask unset) or "no direct I/O".
  uint32_t dio = 0;
  if ((sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align != 0) {
    dio = std::max(sx.stx_dio_offset_align, sx.stx_dio_mem_align);
  }
  if (dio == 0) dio = direct ? ProbeDirectAlignment(fd, g.size_bytes) : 512;
  g.logical_block_size = dio;
  return g;
}

}  // namespace

Result<bool> IsBlockDevicePath(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, path);
  if (S_ISBLK(st.st_mode)) return true;
  if (S_ISREG(st.st_mode)) return false;
  return Status::InvalidArgument(path + ": neither a regular file nor a block device");
}

Result<PosixFile> PosixFile::Open(const std::string& path, bool direct, bool read_only) {
  Result<bool> is_bdev = IsBlockDevicePath(path);
  if (!is_bdev.ok()) return is_bdev.status();
  int flags = O_CLOEXEC | (read_only ? O_RDONLY : O_RDWR);
  if (direct) flags |= O_DIRECT;
  if (*is_bdev && !read_only) {
    // Probe, do not hold: refused while mounted or claimed, yet Tandem itself
    // may open one device twice (indexed meta-data shared by resources).
    int probe = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_EXCL);
    if (probe < 0 && errno == EBUSY) {
      return Status::Busy(path + ": in use (mounted, or claimed by another driver or program)");
    }
    if (probe >= 0) close(probe);
  }
  int fd = open(path.c_str(), flags);
  if (fd < 0) {
    return Status::FromErrno(errno, path + (direct ? ": open with O_DIRECT" : ": open"));
  }
  Result<FileGeometry> g =
      *is_bdev ? BlockDeviceGeometry(fd, path) : RegularFileGeometry(fd, path, direct);
  if (!g.ok()) {
    close(fd);
    return g.status();
  }
  if (direct) g->size_bytes -= g->size_bytes % g->logical_block_size;
  return PosixFile(fd, path, *g, direct, read_only);
}

PosixFile::PosixFile(PosixFile&& other) noexcept
    : fd_(other.fd_),
      path_(std::move(other.path_)),
      geometry_(other.geometry_),
      direct_(other.direct_),
      read_only_(other.read_only_) {
  other.fd_ = -1;
}

PosixFile& PosixFile::operator=(PosixFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    geometry_ = other.geometry_;
    direct_ = other.direct_;
    read_only_ = other.read_only_;
    other.fd_ = -1;
  }
  return *this;
}

PosixFile::~PosixFile() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace tandem::io
