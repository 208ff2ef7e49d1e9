#pragma once
// Memory aligned for direct I/O, and a pool that recycles such buffers so the
// hot path does not allocate. Buffers of 256 KiB and more come from huge
// pages (io/huge_page_arena.h: fewer segments per disk request), except in
// AddressSanitizer builds (kLargeBuffersFromHugePages).
// Thread-safety: an AlignedBuffer is a plain owned value; a BufferPool is used
// from one thread (the event loop).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "io/huge_page_arena.h"

namespace tandem::io {

inline constexpr size_t kIoAlignment = 4096;

// Whether buffers of kMinHugeBufferBytes and more come from the huge-page
// arena: not under AddressSanitizer, which must see every allocation.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kLargeBuffersFromHugePages = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kLargeBuffersFromHugePages = false;
#else
inline constexpr bool kLargeBuffersFromHugePages = true;
#endif
#else
inline constexpr bool kLargeBuffersFromHugePages = true;
#endif

namespace detail {
// AlignedBuffer's deleter (outside the class: a nested one with a default
// member initializer is not default-constructible where unique_ptr asks).
struct AlignedBufferFree {
  size_t huge_bytes = 0;  // from AllocateHugePageBuffer(huge_bytes); 0: malloc
  void operator()(uint8_t* p) const;
};
}  // namespace detail

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // Zero-filled, `alignment`-aligned storage of `size` bytes (size rounded up
  // to the alignment for the allocation; size() reports what was asked).
  explicit AlignedBuffer(size_t size, size_t alignment = kIoAlignment);
  // The same without zero-filling: for buffers about to be overwritten whole
  // (network receive, read targets) on hot paths.
  static AlignedBuffer Uninitialized(size_t size, size_t alignment = kIoAlignment);
  AlignedBuffer(AlignedBuffer&&) noexcept = default;
  AlignedBuffer& operator=(AlignedBuffer&&) noexcept = default;

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  std::span<uint8_t> span() { return {data(), size_}; }
  std::span<const uint8_t> span() const { return {data(), size_}; }
  // Changes the reported size without reallocating (must fit the capacity).
  void Resize(size_t size);

 private:
  struct NoFill {};
  AlignedBuffer(size_t size, size_t alignment, NoFill);
  using Free = detail::AlignedBufferFree;
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Buffers come back with whatever their last user left in them (new ones are
// not zero-filled either): for payloads and read targets that are overwritten
// whole before anyone looks at them.
class BufferPool {
 public:
  // Buffers of up to max_size bytes; at most max_cached kept for reuse.
  BufferPool(size_t max_size, size_t max_cached) : max_size_(max_size), max_cached_(max_cached) {}
  AlignedBuffer Get(size_t size);
  void Put(AlignedBuffer buffer);
  size_t cached() const { return free_.size(); }

 private:
  size_t max_size_;
  size_t max_cached_;
  std::vector<AlignedBuffer> free_;
};

}  // namespace tandem::io
