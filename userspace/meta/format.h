#pragma once
// Constants of the on-disk meta-data format (docs/meta-data.md, version 1).
// All integers on disk are little-endian (common/endian.h does the encoding).

#include <cstdint>

namespace tandem::meta {

inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint64_t kBlockSize = 4096;
inline constexpr uint64_t kBitmapGranularity = 4096;       // bytes of data per bit
inline constexpr uint64_t kExtentSize = 4ull << 20;         // activity-log extent
inline constexpr uint64_t kBitsPerExtent = kExtentSize / kBitmapGranularity;  // 1024
inline constexpr uint64_t kIndexedSlotSize = 128ull << 20;  // meta-disk PATH[N]

inline constexpr uint32_t kSuperblockMagic = 0x4D444E54;  // "TNDM"
inline constexpr uint32_t kAlMagic = 0x544C4154;          // "TALT"
inline constexpr uint32_t kBitmapMagic = 0x504D4254;      // "TBMP"

// Superblock.
inline constexpr uint64_t kSuperblockCopies = 2;
inline constexpr uint64_t kAlOffset = kSuperblockCopies * kBlockSize;

// Activity-log transactions.
inline constexpr uint32_t kAlMaxUpdates = 64;
inline constexpr uint32_t kAlContextPerTx = 888;
inline constexpr uint32_t kAlEmpty = 0xFFFFFFFFu;
inline constexpr uint32_t kAlMinExtents = 7;
inline constexpr uint32_t kAlMaxExtents = 65534;

// Bitmap pages: 508 words of bits and a 32-byte trailer.
inline constexpr uint64_t kBitmapWordsPerPage = 508;
inline constexpr uint64_t kBitsPerPage = kBitmapWordsPerPage * 64;  // 32512
inline constexpr uint64_t kBitmapTrailerOffset = kBitmapWordsPerPage * 8;  // 4064

// Generation UUID of meta-data that never held data (DRBD's UUID_JUST_CREATED).
inline constexpr uint64_t kUuidJustCreated = 4;

}  // namespace tandem::meta
