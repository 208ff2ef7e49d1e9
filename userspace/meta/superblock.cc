#include "meta/superblock.h"

#include <algorithm>
#include <cstring>

#include "common/crc32c.h"
#include "common/endian.h"
#include "meta/format.h"

namespace tandem::meta {

namespace {

bool AllZero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

uint32_t BlockChecksum(const uint8_t* block, size_t crc_offset) {
  uint8_t zero[4] = {0, 0, 0, 0};
  uint32_t c = Crc32c(0, block, crc_offset);
  c = Crc32c(c, zero, 4);
  return Crc32c(c, block + crc_offset + 4, kBlockSize - crc_offset - 4);
}

}  // namespace

std::string DescribeFlags(uint32_t flags) {
  static const char* kNames[] = {"consistent",   "primary-indicator", "connected-indicator",
                                 "full-sync",    "was-up-to-date",    "peer-outdated",
                                 "crashed-primary", "al-clean"};
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (flags & (1u << i)) out += (out.empty() ? "" : ",") + std::string(kNames[i]);
  }
  if (flags & ~static_cast<uint32_t>(kKnownFlags)) out += (out.empty() ? "" : ",") + std::string("unknown");
  return out.empty() ? "none" : out;
}

bool Superblock::SameState(const Superblock& o) const {
  return flags == o.flags && device_uuid == o.device_uuid && current_uuid == o.current_uuid &&
         bitmap_uuid == o.bitmap_uuid && history_uuid == o.history_uuid &&
         primary_since_ms == o.primary_since_ms && layout == o.layout;
}

void EncodeSuperblock(const Superblock& sb, uint8_t* b) {
  std::memset(b, 0, kBlockSize);
  const MetaLayout& l = sb.layout;
  PutLe32(b + 0, kSuperblockMagic);
  PutLe32(b + 8, kFormatVersion);
  PutLe32(b + 12, sb.flags);
  PutLe64(b + 16, sb.seq);
  PutLe64(b + 24, l.data_size);
  PutLe64(b + 32, sb.device_uuid);
  PutLe64(b + 40, sb.current_uuid);
  PutLe64(b + 48, sb.bitmap_uuid);
  PutLe64(b + 56, sb.history_uuid[0]);
  PutLe64(b + 64, sb.history_uuid[1]);
  PutLe32(b + 72, l.al_extents);
  PutLe32(b + 76, l.al_slots);
  PutLe32(b + 80, static_cast<uint32_t>(kBitmapGranularity));
  PutLe32(b + 84, static_cast<uint32_t>(kExtentSize));
  PutLe64(b + 88, l.area_size);
  PutLe64(b + 96, l.al_offset());
  PutLe64(b + 104, l.bm_offset);
  PutLe64(b + 112, l.bm_pages);
  PutLe32(b + 120, static_cast<uint32_t>(l.placement));
  PutLe32(b + 124, l.index);
  PutLe64(b + 128, sb.primary_since_ms);
  PutLe32(b + 4, BlockChecksum(b, 4));
}

Result<Superblock> DecodeSuperblock(const uint8_t* b) {
  if (AllZero(b, kBlockSize)) return Status::NotFound("blank");
  if (GetLe32(b) != kSuperblockMagic) return Status::Corruption("bad magic");
  if (GetLe32(b + 4) != BlockChecksum(b, 4)) return Status::Corruption("bad checksum");
  uint32_t version = GetLe32(b + 8);
  if (version != kFormatVersion) {
    return Status::NotSupported("format version " + std::to_string(version) +
                                " (this Tandem reads version 1)");
  }
  Superblock sb;
  sb.flags = GetLe32(b + 12);
  if (sb.flags & ~static_cast<uint32_t>(kKnownFlags)) {
    return Status::NotSupported("unknown flags 0x" + std::to_string(sb.flags) +
                                " (written by a newer Tandem?)");
  }
  sb.seq = GetLe64(b + 16);
  MetaLayout& l = sb.layout;
  l.data_size = GetLe64(b + 24);
  sb.device_uuid = GetLe64(b + 32);
  sb.current_uuid = GetLe64(b + 40);
  sb.bitmap_uuid = GetLe64(b + 48);
  sb.history_uuid[0] = GetLe64(b + 56);
  sb.history_uuid[1] = GetLe64(b + 64);
  l.al_extents = GetLe32(b + 72);
  l.al_slots = GetLe32(b + 76);
  uint32_t granularity = GetLe32(b + 80);
  uint32_t extent_size = GetLe32(b + 84);
  l.area_size = GetLe64(b + 88);
  uint64_t al_offset = GetLe64(b + 96);
  l.bm_offset = GetLe64(b + 104);
  l.bm_pages = GetLe64(b + 112);
  uint32_t placement = GetLe32(b + 120);
  l.index = GetLe32(b + 124);
  sb.primary_since_ms = GetLe64(b + 128);
  // Internal consistency: a correct checksum over nonsense is still nonsense.
  if (sb.seq == 0) return Status::Corruption("sequence number 0");
  if (granularity != kBitmapGranularity || extent_size != kExtentSize || al_offset != kAlOffset) {
    return Status::Corruption("unexpected granularity or offsets");
  }
  if (l.al_extents < kAlMinExtents || l.al_extents > kAlMaxExtents ||
      l.al_slots != AlRingSlots(l.al_extents)) {
    return Status::Corruption("activity-log geometry " + std::to_string(l.al_extents) + "/" +
                              std::to_string(l.al_slots));
  }
  if (placement > 2) return Status::Corruption("placement " + std::to_string(placement));
  l.placement = static_cast<Placement>(placement);
  if (l.data_size == 0 || l.data_size % kBlockSize != 0) {
    return Status::Corruption("data size " + std::to_string(l.data_size));
  }
  l.bm_bits = (l.data_size + kBitmapGranularity - 1) / kBitmapGranularity;
  uint64_t pages = std::max<uint64_t>(1, (l.bm_bits + kBitsPerPage - 1) / kBitsPerPage);
  if (l.bm_pages != pages || l.bm_offset != kAlOffset + uint64_t{l.al_slots} * kBlockSize ||
      l.bm_offset + l.bm_pages * 2 * kBlockSize > l.area_size) {
    return Status::Corruption("bitmap geometry does not match the data size");
  }
  return sb;
}

Result<Superblock> ChooseSuperblock(const uint8_t* copy0, const uint8_t* copy1) {
  auto a = DecodeSuperblock(copy0);
  auto b = DecodeSuperblock(copy1);
  if (a.ok() && b.ok()) return a->seq >= b->seq ? a : b;
  if (a.ok()) return a;
  if (b.ok()) return b;
  if (a.status().code() == Status::Code::kNotFound &&
      b.status().code() == Status::Code::kNotFound) {
    return Status::NotFound("no meta-data");
  }
  if (a.status().code() == Status::Code::kNotSupported) return a.status();
  if (b.status().code() == Status::Code::kNotSupported) return b.status();
  return Status::Corruption("superblock: both copies invalid (copy 0: " + a.status().message() +
                            "; copy 1: " + b.status().message() + ")");
}

Status CheckSuperblockLayout(const Superblock& sb, const MetaLayout& expected) {
  const MetaLayout& got = sb.layout;
  auto mismatch = [](const std::string& what, uint64_t on_disk, uint64_t configured) {
    return Status::InvalidArgument("meta-data " + what + " is " + std::to_string(on_disk) +
                                   " but the configuration implies " +
                                   std::to_string(configured) +
                                   " (re-create it with create-md, or fix the configuration)");
  };
  if (got.placement != expected.placement) {
    return Status::InvalidArgument(std::string("meta-data was created as ") +
                                   PlacementName(got.placement) + " but is configured as " +
                                   PlacementName(expected.placement));
  }
  if (got.placement == Placement::kIndexed && got.index != expected.index) {
    return mismatch("slot index", got.index, expected.index);
  }
  if (got.data_size != expected.data_size) {
    return mismatch("data size", got.data_size, expected.data_size);
  }
  if (got.area_size != expected.area_size) {
    return mismatch("area size", got.area_size, expected.area_size);
  }
  return Status::Ok();
}

}  // namespace tandem::meta
