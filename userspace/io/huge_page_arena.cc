#include "io/huge_page_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace tandem::io {

namespace {

// Slot sizes 256 KiB, 512 KiB, 1 MiB, 2 MiB.
constexpr size_t kSlotClasses = 4;

size_t SlotClass(size_t bytes) {
  const size_t slot = std::bit_ceil(bytes);
  return static_cast<size_t>(std::countr_zero(slot) - std::countr_zero(kMinHugeBufferBytes));
}

size_t RoundUp(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

// `bytes` (a multiple of 2 MiB) of fresh memory, 2 MiB-aligned, asking for
// huge pages. Maps 2 MiB more than needed and unmaps the unaligned ends.
void* MapAligned(size_t bytes) {
  const size_t span = bytes + kHugePageBytes;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = RoundUp(start, kHugePageBytes);
  if (aligned > start) ::munmap(raw, aligned - start);
  const uintptr_t end = start + span;
  if (end > aligned + bytes)
    ::munmap(reinterpret_cast<void*>(aligned + bytes), end - aligned - bytes);
  // Advice only: without THP (or with it disabled) the memory is still usable.
  (void)::madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

class SlotArena {
 public:
  void* Take(size_t cls) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& free = free_[cls];
    if (free.empty()) {
      // A new block, cut into slots of this class; the first is returned.
      auto* block = static_cast<uint8_t*>(MapAligned(kHugePageBytes));
      const size_t slot = kMinHugeBufferBytes << cls;
      for (size_t off = kHugePageBytes; off > slot; off -= slot) {
        free.push_back(block + off - slot);
      }
      return block;
    }
    void* p = free.back();
    free.pop_back();
    return p;
  }
  void Give(size_t cls, void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    free_[cls].push_back(p);
  }

 private:
  std::mutex mu_;
  std::array<std::vector<void*>, kSlotClasses> free_;
};

// Never destroyed: buffers may be released by static destructors of other
// translation units after this one's would have run.
SlotArena& Slots() {
  static auto* arena = new SlotArena();
  return *arena;
}

}  // namespace

void* AllocateHugePageBuffer(size_t bytes) {
  assert(bytes >= kMinHugeBufferBytes);
  if (bytes <= kHugePageBytes) return Slots().Take(SlotClass(bytes));
  return MapAligned(RoundUp(bytes, kHugePageBytes));
}

void ReleaseHugePageBuffer(void* p, size_t bytes) {
  if (p == nullptr) return;
  assert(bytes >= kMinHugeBufferBytes);
  if (bytes <= kHugePageBytes) return Slots().Give(SlotClass(bytes), p);
  ::munmap(p, RoundUp(bytes, kHugePageBytes));
}

size_t HugePageBufferFootprint(size_t bytes) {
  if (bytes <= kHugePageBytes) return std::bit_ceil(std::max(bytes, kMinHugeBufferBytes));
  return RoundUp(bytes, kHugePageBytes);
}

}  // namespace tandem::io
