#pragma once
// Process-wide allocator settings for the daemons' I/O buffers.

namespace tandem {

// Keeps freed large buffers in the heap for the next request instead of
// handing them back to the kernel. glibc serves allocations over 128 KiB with
// mmap and unmaps them on free, so a daemon that allocates a 1 MiB buffer per
// request faults in (and the kernel zeroes) 256 fresh pages every time:
// measured, about a quarter of the Primary's CPU (faults, their memory-cgroup
// accounting, zeroing, unmapping) at 700 MB/s of 1 MiB writes. This
// raises glibc's mmap threshold to its maximum (32 MiB) and the trim threshold
// to 128 MiB, so up to that much freed memory stays mapped. Call once at
// start-up, before other threads exist. Failure (another allocator, a libc
// without mallopt) changes nothing and is not an error.
void RetainFreedIoBuffers();

}  // namespace tandem
