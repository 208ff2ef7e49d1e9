#pragma once
// Whether a file range is resident in the page cache, asked of the kernel
// with cachestat(2) (Linux 6.5+). Used to decide whether bytes can be sent
// straight from the page cache without making the sender wait for the disk.
// Thread-safety: any thread; no state beyond a process-wide "the kernel lacks
// cachestat" flag, set once.

#include <cstdint>

namespace tandem::io {

enum class Residency {
  kResident,     // every page of the range is in the page cache
  kNotResident,  // at least one page is not
  kUnknown,      // the kernel cannot say (no cachestat, or it failed)
};

// len == 0 is kUnknown. The range is rounded out to whole pages.
Residency RangeResidency(int fd, uint64_t offset, uint64_t len);

}  // namespace tandem::io
