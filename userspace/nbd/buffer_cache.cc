#include "nbd/buffer_cache.h"

#include <cassert>

namespace tandem::nbd {

namespace {
constexpr size_t kClassSize[BufferCache::kClasses] = {
    size_t{4} << 10, size_t{16} << 10, size_t{64} << 10, size_t{256} << 10,
    size_t{1} << 20, size_t{4} << 20, size_t{32} << 20};
// Idle buffers kept per class: about 1-8 MiB per class, 64 MiB for the largest.
constexpr size_t kClassCached[BufferCache::kClasses] = {512, 256, 128, 32, 16, 8, 2};
}  // namespace

BufferCache::BufferCache()
    : pools_{io::BufferPool(kClassSize[0], kClassCached[0]),
             io::BufferPool(kClassSize[1], kClassCached[1]),
             io::BufferPool(kClassSize[2], kClassCached[2]),
             io::BufferPool(kClassSize[3], kClassCached[3]),
             io::BufferPool(kClassSize[4], kClassCached[4]),
             io::BufferPool(kClassSize[5], kClassCached[5]),
             io::BufferPool(kClassSize[6], kClassCached[6])} {}

size_t BufferCache::ClassOf(size_t size) {
  for (size_t i = 0; i < kClasses; ++i) {
    if (size <= kClassSize[i]) return i;
  }
  return kClasses;
}

io::AlignedBuffer BufferCache::Get(size_t size) {
  const size_t c = ClassOf(size);
  assert(c < kClasses);
  return pools_[c].Get(size);
}

void BufferCache::Put(io::AlignedBuffer buffer) {
  for (size_t i = 0; i < kClasses; ++i) {
    if (buffer.capacity() == kClassSize[i]) {
      pools_[i].Put(std::move(buffer));
      return;
    }
  }
}

size_t BufferCache::cached() const {
  size_t n = 0;
  for (const auto& p : pools_) n += p.cached();
  return n;
}

}  // namespace tandem::nbd
