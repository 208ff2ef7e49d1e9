#include "io/page_cache.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

// Debian 12's kernel headers predate cachestat; its number is the same on
// every architecture that uses the common system call table.
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

namespace tandem::io {
namespace {

// The kernel's structures (include/uapi/linux/mman.h), spelled out for the
// same reason.
struct CachestatRange {
  uint64_t off;
  uint64_t len;
};
struct Cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

std::atomic<bool> g_cachestat_missing{false};

}  // namespace

Residency RangeResidency(int fd, uint64_t offset, uint64_t len) {
  if (len == 0 || g_cachestat_missing.load(std::memory_order_relaxed)) return Residency::kUnknown;
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t first = offset / page;
  const uint64_t last = (offset + len - 1) / page;
  CachestatRange range{first * page, (last - first + 1) * page};
  Cachestat stat{};
  if (syscall(__NR_cachestat, fd, &range, &stat, 0) != 0) {
    if (errno == ENOSYS) g_cachestat_missing.store(true, std::memory_order_relaxed);
    return Residency::kUnknown;
  }
  return stat.nr_cache == last - first + 1 ? Residency::kResident : Residency::kNotResident;
}

}  // namespace tandem::io
