#pragma once
// Memory for large I/O buffers, in transparent huge pages.
//
// Why: a direct-I/O buffer reaches the disk as one segment per physically
// contiguous run of its pages. malloc's pages are scattered, so a 1 MiB
// buffer is 256 segments, and a virtio disk takes at most 254 (its
// max_segments): every 1 MiB request was split in two, and each held most of
// the virtqueue, so the disk saw about one request at a time. Measured on a
// 2-core VM, fio's nbd engine reading 1 MiB at QD8 through tandemd: 1.6 GB/s
// with the device's queue at ~1; the same with huge pages: 3.0 GB/s, against
// 3.2 GB/s for fio reading the file directly (docs/performance.md).
//
// What: 2 MiB-aligned memory, madvise(MADV_HUGEPAGE)d, so with THP set to
// "madvise" or "always" a buffer of up to 2 MiB is one huge page. Without THP
// it is ordinary memory and everything still works.
//
// Sizes: from kMinHugeBufferBytes up. Up to 2 MiB a slot of the next power of
// two, carved from 2 MiB blocks and kept on a free list per size when
// released (the blocks are never returned to the system: I/O buffers are
// pooled and reused, as tandemd keeps its heap with RetainFreedIoBuffers).
// Larger: a mapping of its own, rounded up to 2 MiB, unmapped on release.
//
// Thread-safety: both calls are safe from any thread (one mutex, taken only
// when a large buffer is made or freed, not per I/O).
// Failure: AllocateHugePageBuffer throws std::bad_alloc when the system has
// no memory left.

#include <cstddef>

namespace tandem::io {

inline constexpr size_t kMinHugeBufferBytes = size_t{256} << 10;
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` >= kMinHugeBufferBytes. Aligned to min(slot size, 2 MiB), so at
// least to 256 KiB. Contents unspecified.
void* AllocateHugePageBuffer(size_t bytes);
// `p` from AllocateHugePageBuffer(bytes), with the same `bytes`.
void ReleaseHugePageBuffer(void* p, size_t bytes);
// The memory an allocation of `bytes` occupies (its slot or its mapping).
size_t HugePageBufferFootprint(size_t bytes);

}  // namespace tandem::io
