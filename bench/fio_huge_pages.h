#pragma once
// The environment setting that puts fio's I/O buffers in transparent huge
// pages, as tandemd's are (io/huge_page_arena.h). From malloc's scattered
// 4 KiB pages a 1 MiB direct request is more segments than a virtio disk
// takes (254), so it is split in two, and a fio reference run measured
// 1.5 GB/s or 3.0 GB/s depending on how contiguous fio's memory happened to
// be. Needs glibc 2.35 or later (Debian 12 has 2.36); older ones ignore it.

namespace tandem::bench {

inline constexpr const char* kFioHugePages = "GLIBC_TUNABLES=glibc.malloc.hugetlb=1";

}  // namespace tandem::bench
