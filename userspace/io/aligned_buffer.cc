#include "io/aligned_buffer.h"

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

namespace tandem::io {

void detail::AlignedBufferFree::operator()(uint8_t* p) const {
  if (huge_bytes > 0) return ReleaseHugePageBuffer(p, huge_bytes);
  std::free(p);
}

AlignedBuffer::AlignedBuffer(size_t size, size_t alignment, NoFill) : size_(size) {
  capacity_ = (size + alignment - 1) / alignment * alignment;
  if (capacity_ == 0) capacity_ = alignment;
  if (kLargeBuffersFromHugePages && capacity_ >= kMinHugeBufferBytes &&
      alignment <= kMinHugeBufferBytes) {
    data_ = std::unique_ptr<uint8_t, Free>(static_cast<uint8_t*>(AllocateHugePageBuffer(capacity_)),
                                           Free{capacity_});
    return;
  }
  void* p = nullptr;
  if (posix_memalign(&p, alignment, capacity_) != 0) throw std::bad_alloc();
  data_.reset(static_cast<uint8_t*>(p));
}

AlignedBuffer::AlignedBuffer(size_t size, size_t alignment)
    : AlignedBuffer(size, alignment, NoFill{}) {
  std::memset(data_.get(), 0, capacity_);
}

AlignedBuffer AlignedBuffer::Uninitialized(size_t size, size_t alignment) {
  return AlignedBuffer(size, alignment, NoFill{});
}

void AlignedBuffer::Resize(size_t size) {
  assert(size <= capacity_);
  size_ = size;
}

AlignedBuffer BufferPool::Get(size_t size) {
  assert(size <= max_size_);
  if (!free_.empty()) {
    AlignedBuffer b = std::move(free_.back());
    free_.pop_back();
    b.Resize(size);
    return b;
  }
  AlignedBuffer b = AlignedBuffer::Uninitialized(max_size_);
  b.Resize(size);
  return b;
}

void BufferPool::Put(AlignedBuffer buffer) {
  if (buffer.capacity() >= max_size_ && free_.size() < max_cached_) {
    free_.push_back(std::move(buffer));
  }
}

}  // namespace tandem::io
