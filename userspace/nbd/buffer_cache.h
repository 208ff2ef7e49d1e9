#pragma once
// BufferCache: aligned buffers for request payloads and read data, recycled by
// size class (4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB, 4 MiB, 32 MiB) so the
// transmission hot path allocates only while warming up. A buffer of any size
// up to 32 MiB comes from the smallest class that holds it; each class keeps
// a bounded number of idle buffers (more are freed on Put).
// Thread-safety: the server's event loop thread only.

#include <array>
#include <cstddef>

#include "io/aligned_buffer.h"

namespace tandem::nbd {

class BufferCache {
 public:
  static constexpr size_t kClasses = 7;
  static constexpr size_t kMaxSize = size_t{32} << 20;

  BufferCache();
  // A buffer reporting size() == size (<= kMaxSize), aligned to io::kIoAlignment.
  io::AlignedBuffer Get(size_t size);
  // Returns a buffer for reuse (any buffer Get() made; others are freed).
  void Put(io::AlignedBuffer buffer);
  size_t cached() const;

 private:
  static size_t ClassOf(size_t size);
  std::array<io::BufferPool, kClasses> pools_;
};

}  // namespace tandem::nbd
