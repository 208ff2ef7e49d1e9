#pragma once
// Test support for the I/O engine suites (engine_test.cc runs the suite on
// regular files, loop_device_test.cc on loop devices):
// - EngineParam: which engine, caching mode and backing one run uses;
// - LoopDevice: a file attached to a free loop device, detached again by the
//   destructor and, should the test process die, by the kernel itself
//   (LO_FLAGS_AUTOCLEAR: detach on last close);
// - DirtyPages: how many pages of a file range are dirty in the page cache,
//   read from /proc/self/pagemap and /proc/kpageflags (root only). It is how
//   the flush and FUA tests observe that data was written back, instead of
//   trusting a counter in the code under test;
// - small helpers to read a file through a fresh descriptor and fill patterns.
// Header-only because tests/CMakeLists.txt builds every *_test.cc of a module
// into one binary and nothing else.

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "io/device_factory.h"

namespace tandem::io::testing {

enum class Backing { kFile, kLoop };

struct EngineParam {
  Engine engine;
  CacheMode cache;
  Backing backing;
};

inline std::string ParamName(const EngineParam& p) {
  return std::string(EngineName(p.engine)) +
         (p.cache == CacheMode::kDirect ? "_direct" : "_buffered") +
         (p.backing == Backing::kLoop ? "_loop" : "_file");
}

// gtest prints parameters with this instead of their bytes.
inline void PrintTo(const EngineParam& p, std::ostream* os) {
  *os << ParamName(p);
}

inline std::vector<EngineParam> AllEngines(Backing backing) {
  std::vector<EngineParam> out;
  for (Engine e : {Engine::kUring, Engine::kAio, Engine::kSync}) {
    for (CacheMode c : {CacheMode::kDirect, CacheMode::kBuffered}) out.push_back({e, c, backing});
  }
  return out;
}

// Bytes that differ per position and per seed, so a misplaced block shows.
inline void FillPattern(uint8_t* p, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<uint8_t>(x);
  }
}

// A fully allocated file of `size` zero bytes (written, not sparse, so that
// punching holes into it shows in st_blocks).
inline bool WriteZeroFile(const std::string& path, uint64_t size) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  std::vector<uint8_t> zero(1 << 20);
  bool ok = true;
  for (uint64_t off = 0; ok && off < size; off += zero.size()) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(zero.size(), size - off));
    ok = pwrite(fd, zero.data(), n, static_cast<off_t>(off)) == static_cast<ssize_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  close(fd);
  return ok;
}

// pread through a new descriptor (no O_DIRECT): what another process would see.
inline std::vector<uint8_t> ReadThroughFreshFd(const std::string& path, uint64_t offset,
                                               size_t len) {
  std::vector<uint8_t> out(len);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  ssize_t n = pread(fd, out.data(), len, static_cast<off_t>(offset));
  close(fd);
  if (n != static_cast<ssize_t>(len)) return {};
  return out;
}

// Number of dirty pages in [offset, offset+len) of `path` (offset page-aligned).
// Maps the range read-only and touches each page, which makes it resident
// without dirtying it. Large folios report their flags on every page, so the
// count is approximate; zero versus non-zero is exact.
inline Result<size_t> DirtyPages(const std::string& path, uint64_t offset, size_t len) {
  constexpr uint64_t kPage = 4096;
  constexpr uint64_t kDirtyBit = uint64_t{1} << 4;  // KPF_DIRTY
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, path);
  void* map = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset));
  close(fd);
  if (map == MAP_FAILED) return Status::FromErrno(errno, "mmap " + path);
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  int kflags = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
  Status st;
  size_t dirty = 0;
  if (pagemap < 0 || kflags < 0) st = Status::NotSupported("/proc/kpageflags unreadable");
  for (uint64_t i = 0; st.ok() && i < len; i += kPage) {
    const volatile uint8_t* page = static_cast<const volatile uint8_t*>(map) + i;
    (void)*page;
    uint64_t entry = 0;
    const uint64_t vpage = reinterpret_cast<uintptr_t>(page) / kPage;
    if (pread(pagemap, &entry, 8, static_cast<off_t>(vpage * 8)) != 8) {
      st = Status::FromErrno(errno, "/proc/self/pagemap");
      break;
    }
    const uint64_t pfn = entry & ((uint64_t{1} << 55) - 1);
    if (!(entry >> 63) || pfn == 0) {
      st = Status::NotSupported("page frame numbers hidden (needs CAP_SYS_ADMIN)");
      break;
    }
    uint64_t flags = 0;
    if (pread(kflags, &flags, 8, static_cast<off_t>(pfn * 8)) != 8) {
      st = Status::FromErrno(errno, "/proc/kpageflags");
      break;
    }
    if (flags & kDirtyBit) ++dirty;
  }
  if (pagemap >= 0) close(pagemap);
  if (kflags >= 0) close(kflags);
  munmap(map, len);
  if (!st.ok()) return st;
  return dirty;
}

class LoopDevice {
 public:
  // Attaches `backing` (buffered, so its page cache is observable) with the
  // given logical block size. NotSupported (a reason to skip, naming what is
  // missing) when not root or the loop driver is absent.
  static Result<std::unique_ptr<LoopDevice>> Attach(const std::string& backing,
                                                    uint32_t block_size) {
    if (geteuid() != 0) return Status::NotSupported("loop devices need root");
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) {
      return Status::NotSupported(
          Status::FromErrno(errno, "/dev/loop-control (loop module)").message());
    }
    int file = open(backing.c_str(), O_RDWR | O_CLOEXEC);
    if (file < 0) {
      close(control);
      return Status::FromErrno(errno, backing);
    }
    Status st = Status::NotSupported("no free loop device");
    std::unique_ptr<LoopDevice> dev;
    // Another process may take the free device between our two calls: retry.
    for (int attempt = 0; attempt < 20 && !dev; ++attempt) {
      int minor = ioctl(control, LOOP_CTL_GET_FREE);
      if (minor < 0) {
        st = Status::NotSupported(Status::FromErrno(errno, "LOOP_CTL_GET_FREE").message());
        break;
      }
      std::string path = "/dev/loop" + std::to_string(minor);
      int loop = open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (loop < 0) {
        st = Status::NotSupported(Status::FromErrno(errno, path).message());
        continue;
      }
      loop_config cfg{};
      cfg.fd = static_cast<uint32_t>(file);
      cfg.block_size = block_size;
      cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
      if (ioctl(loop, LOOP_CONFIGURE, &cfg) == 0) {
        dev.reset(new LoopDevice(path, loop));
      } else {
        st = Status::FromErrno(errno, "LOOP_CONFIGURE " + path);
        close(loop);
      }
    }
    close(file);
    close(control);
    if (!dev) return st;
    return dev;
  }

  ~LoopDevice() {
    ioctl(fd_, LOOP_CLR_FD, 0);
    close(fd_);  // the last close detaches it (autoclear) if CLR_FD was deferred
  }

  const std::string& path() const { return path_; }

 private:
  LoopDevice(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

}  // namespace tandem::io::testing
