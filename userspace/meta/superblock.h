#pragma once
// The meta-data superblock (docs/meta-data.md, "Superblock"): sizes, generation
// UUIDs and flags. Encoding and validation are pure; MetaData does the I/O.

#include <array>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "meta/layout.h"

namespace tandem::meta {

enum SuperblockFlag : uint32_t {
  kFlagConsistent = 1u << 0,
  kFlagPrimaryInd = 1u << 1,
  kFlagConnectedInd = 1u << 2,
  kFlagFullSync = 1u << 3,
  kFlagWasUpToDate = 1u << 4,
  kFlagPeerOutdated = 1u << 5,
  kFlagCrashedPrimary = 1u << 6,
  kFlagAlClean = 1u << 7,
  kKnownFlags = 0xFF,
};

// "consistent,was-up-to-date,al-clean" (empty: "none").
std::string DescribeFlags(uint32_t flags);

struct Superblock {
  uint64_t seq = 0;
  uint32_t flags = 0;
  uint64_t device_uuid = 0;
  uint64_t current_uuid = 0;
  uint64_t bitmap_uuid = 0;
  std::array<uint64_t, 2> history_uuid{};
  uint64_t primary_since_ms = 0;  // wall clock of the last promotion (split-brain policies)
  MetaLayout layout;  // sizes and offsets recorded at create-md

  bool Has(SuperblockFlag f) const { return (flags & f) != 0; }
  void Set(SuperblockFlag f, bool on) { flags = on ? (flags | f) : (flags & ~f); }
  // Same content apart from the sequence number.
  bool SameState(const Superblock& o) const;
};

// Encodes into a 4096-byte block (checksum filled in).
void EncodeSuperblock(const Superblock& sb, uint8_t* block);

// Decodes and validates one copy. NotFound when the block is all zero,
// Corruption with the reason otherwise ("bad checksum", "bad magic", ...).
Result<Superblock> DecodeSuperblock(const uint8_t* block);

// Picks the newest valid copy of two. Errors: NotFound "no meta-data" when both
// are blank, Corruption "superblock: both copies invalid (...)" otherwise.
Result<Superblock> ChooseSuperblock(const uint8_t* copy0, const uint8_t* copy1);

// Checks that a decoded superblock fits the layout the configuration implies.
Status CheckSuperblockLayout(const Superblock& sb, const MetaLayout& expected);

}  // namespace tandem::meta
