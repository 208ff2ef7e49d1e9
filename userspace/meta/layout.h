#pragma once
// Where the meta-data area lives and how it is divided (docs/meta-data.md,
// "Placement" and "Area layout"). Pure computation, no I/O.

#include <cstdint>
#include <string>

#include "common/status.h"

namespace tandem::meta {

enum class Placement : uint32_t { kInternal = 0, kIndexed = 1, kFlexible = 2 };
const char* PlacementName(Placement p);

struct MetaLayout {
  Placement placement = Placement::kInternal;
  uint32_t index = 0xFFFFFFFFu;  // slot for kIndexed
  uint64_t area_offset = 0;      // byte offset of the area on the meta-data device
  uint64_t area_size = 0;
  uint64_t data_size = 0;        // usable replicated bytes
  uint32_t al_extents = 0;
  uint32_t al_slots = 0;         // R
  uint64_t bm_offset = 0;        // within the area
  uint64_t bm_pages = 0;         // P
  uint64_t bm_bits = 0;

  uint64_t al_offset() const;  // within the area
  // Byte offsets on the meta-data device.
  uint64_t SuperblockOffset(int copy) const;
  uint64_t AlSlotOffset(uint32_t slot) const;
  uint64_t BitmapSlotOffset(uint64_t page, int slot) const;

  bool operator==(const MetaLayout&) const = default;
};

// R for a given al-extents.
uint32_t AlRingSlots(uint32_t al_extents);
// Bytes the area needs for `data_size` bytes of data.
uint64_t AreaSizeFor(uint64_t data_size, uint32_t al_extents);

// Computes the layout. backing_size: size of the backing disk; md_device_size:
// size of the meta-data device (ignored for internal); size_limit: `disk { size }`
// (0 = none). Errors say what is too small and the size needed.
Result<MetaLayout> ComputeLayout(Placement placement, uint32_t index, uint64_t backing_size,
                                 uint64_t md_device_size, uint32_t al_extents,
                                 uint64_t size_limit);

// "1.5 GiB (1610612736 bytes)" for messages.
std::string DescribeBytes(uint64_t bytes);

}  // namespace tandem::meta
