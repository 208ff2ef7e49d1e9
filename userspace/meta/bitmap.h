#pragma once
// The dirty bitmap in memory: one bit per 4 KiB of data, set = out of sync with
// the peer. Word-at-a-time operations; the set-bit count is kept up to date so
// status lines cost nothing. Pages (the on-disk unit, 32512 bits) whose bits
// changed are tracked so write-back touches only those (docs/meta-data.md).
// Memory: 1 bit per 4 KiB, 32 MiB per TiB of data, plus 1 bit per page.
// Not thread-safe: owned by the daemon's event loop.

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace tandem::meta {

class Bitmap {
 public:
  explicit Bitmap(uint64_t bits);

  uint64_t size() const { return bits_; }
  uint64_t pages() const { return pages_; }
  bool Test(uint64_t bit) const;
  // Set/clear bits [first, first+count) (clipped to the size); return how many
  // bits actually changed.
  uint64_t Set(uint64_t first, uint64_t count = 1);
  uint64_t Clear(uint64_t first, uint64_t count = 1);
  void SetAll() { Set(0, bits_); }
  void ClearAll() { Clear(0, bits_); }
  // ORs in another bitmap of the same size (bitmap exchange); returns bits newly set.
  uint64_t Merge(const Bitmap& other);

  uint64_t CountSet() const { return set_count_; }
  uint64_t CountSetIn(uint64_t first, uint64_t count) const;
  // First set (clear) bit at or after `from`; size() when there is none.
  uint64_t FindNextSet(uint64_t from) const;
  uint64_t FindNextClear(uint64_t from) const;

  bool page_dirty(uint64_t page) const;
  std::vector<uint64_t> DirtyPages() const;
  void MarkPageClean(uint64_t page);
  void MarkPageDirty(uint64_t page);
  // Pages holding bits [first, first+count).
  uint64_t PageOfBit(uint64_t bit) const;

  // The 4096-byte on-disk form of `page` with sequence `seq`.
  void EncodePage(uint64_t page, uint64_t seq, uint8_t* block) const;
  // Validates one on-disk slot of `page`. NotFound when blank, Corruption with
  // the reason otherwise. On success returns the slot's sequence number.
  static Result<uint64_t> CheckPage(uint64_t page, const uint8_t* block);
  // Loads the bits of a checked page (bits past size() must be zero).
  Status LoadPage(uint64_t page, const uint8_t* block);

  size_t memory_bytes() const;
  const std::vector<uint64_t>& words() const { return words_; }

 private:
  template <bool kSet>
  uint64_t Apply(uint64_t first, uint64_t count);

  uint64_t bits_;
  uint64_t pages_;
  std::vector<uint64_t> words_;
  std::vector<uint64_t> dirty_;  // one bit per page
  uint64_t set_count_ = 0;
};

}  // namespace tandem::meta
