#include "meta/layout.h"

#include <algorithm>
#include <cstdio>

#include "meta/format.h"

namespace tandem::meta {

namespace {
uint64_t DivUp(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
}  // namespace

const char* PlacementName(Placement p) {
  switch (p) {
    case Placement::kInternal: return "internal";
    case Placement::kIndexed: return "indexed";
    case Placement::kFlexible: return "flexible";
  }
  return "?";
}

uint64_t MetaLayout::al_offset() const { return kAlOffset; }
uint64_t MetaLayout::SuperblockOffset(int copy) const {
  return area_offset + static_cast<uint64_t>(copy) * kBlockSize;
}
uint64_t MetaLayout::AlSlotOffset(uint32_t slot) const {
  return area_offset + kAlOffset + static_cast<uint64_t>(slot) * kBlockSize;
}
uint64_t MetaLayout::BitmapSlotOffset(uint64_t page, int slot) const {
  return area_offset + bm_offset + (2 * page + static_cast<uint64_t>(slot)) * kBlockSize;
}

uint32_t AlRingSlots(uint32_t) {
  // Sized for the largest al-extents, so al-extents can change without moving
  // the bitmap: ceil(65534 / 888) + 2 = 76 slots (304 KiB).
  return static_cast<uint32_t>(DivUp(kAlMaxExtents, kAlContextPerTx)) + 2;
}

uint64_t AreaSizeFor(uint64_t data_size, uint32_t al_extents) {
  uint64_t bits = DivUp(data_size, kBitmapGranularity);
  uint64_t pages = DivUp(bits, kBitsPerPage);
  if (pages == 0) pages = 1;
  return kAlOffset + AlRingSlots(al_extents) * kBlockSize + pages * 2 * kBlockSize;
}

std::string DescribeBytes(uint64_t bytes) {
  char buf[64];
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s (%llu bytes)", v, units[u],
                  static_cast<unsigned long long>(bytes));
  }
  return buf;
}

Result<MetaLayout> ComputeLayout(Placement placement, uint32_t index, uint64_t backing_size,
                                 uint64_t md_device_size, uint32_t al_extents,
                                 uint64_t size_limit) {
  if (al_extents < kAlMinExtents || al_extents > kAlMaxExtents) {
    return Status::InvalidArgument("al-extents " + std::to_string(al_extents) +
                                   " is out of range 7..65534");
  }
  MetaLayout l;
  l.placement = placement;
  l.al_extents = al_extents;
  l.al_slots = AlRingSlots(al_extents);
  l.bm_offset = kAlOffset + static_cast<uint64_t>(l.al_slots) * kBlockSize;

  uint64_t data = backing_size / kBlockSize * kBlockSize;
  if (size_limit > 0) {
    if (size_limit > data) {
      return Status::InvalidArgument("disk size " + DescribeBytes(size_limit) +
                                     " is larger than the backing disk (" +
                                     DescribeBytes(backing_size) + ")");
    }
    data = size_limit / kBlockSize * kBlockSize;
  }
  switch (placement) {
    case Placement::kInternal: {
      // The area sits at the end; find the largest data size that leaves room for it.
      uint64_t disk = backing_size / kBlockSize * kBlockSize;
      uint64_t min_area = AreaSizeFor(kBlockSize, al_extents);
      if (disk < min_area + kBlockSize) {
        return Status::InvalidArgument("backing disk of " + DescribeBytes(backing_size) +
                                       " is too small for internal meta-data: needs at least " +
                                       DescribeBytes(min_area + kBlockSize));
      }
      uint64_t d = disk - AreaSizeFor(disk, al_extents);
      while (d + kBlockSize + AreaSizeFor(d + kBlockSize, al_extents) <= disk) d += kBlockSize;
      if (size_limit == 0 || data > d) data = d;
      l.area_size = AreaSizeFor(data, al_extents);
      l.area_offset = disk - l.area_size;
      break;
    }
    case Placement::kIndexed: {
      l.index = index;
      l.area_size = kIndexedSlotSize;
      l.area_offset = static_cast<uint64_t>(index) * kIndexedSlotSize;
      uint64_t needed = AreaSizeFor(data, al_extents);
      if (needed > kIndexedSlotSize) {
        return Status::InvalidArgument(
            "a 128 MiB meta-data slot is too small for " + DescribeBytes(data) +
            " of data: it needs " + DescribeBytes(needed) + " (use flexible-meta-disk)");
      }
      if (md_device_size < l.area_offset + kIndexedSlotSize) {
        return Status::InvalidArgument("meta-data device of " + DescribeBytes(md_device_size) +
                                       " has no slot [" + std::to_string(index) +
                                       "]: it needs at least " +
                                       DescribeBytes(l.area_offset + kIndexedSlotSize));
      }
      break;
    }
    case Placement::kFlexible: {
      l.area_offset = 0;
      l.area_size = AreaSizeFor(data, al_extents);
      if (md_device_size < l.area_size) {
        return Status::InvalidArgument("meta-data device of " + DescribeBytes(md_device_size) +
                                       " is too small for " + DescribeBytes(data) +
                                       " of data: it needs " + DescribeBytes(l.area_size));
      }
      break;
    }
  }
  if (data == 0) return Status::InvalidArgument("no room left for data on the backing disk");
  l.data_size = data;
  l.bm_bits = DivUp(data, kBitmapGranularity);
  l.bm_pages = std::max<uint64_t>(1, DivUp(l.bm_bits, kBitsPerPage));
  return l;
}

}  // namespace tandem::meta
