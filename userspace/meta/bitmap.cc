#include "meta/bitmap.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/crc32c.h"
#include "common/endian.h"
#include "meta/format.h"

namespace tandem::meta {

namespace {
constexpr uint64_t kAllOnes = ~uint64_t{0};
// Mask of bits [lo, hi) within one word, 0 <= lo < hi <= 64.
uint64_t RangeMask(unsigned lo, unsigned hi) {
  uint64_t upper = hi == 64 ? kAllOnes : ((uint64_t{1} << hi) - 1);
  return upper & (kAllOnes << lo);
}
uint32_t PageChecksum(const uint8_t* block) {
  constexpr size_t kCrcAt = kBitmapTrailerOffset + 4;
  uint8_t zero[4] = {0, 0, 0, 0};
  uint32_t c = Crc32c(0, block, kCrcAt);
  c = Crc32c(c, zero, 4);
  return Crc32c(c, block + kCrcAt + 4, kBlockSize - kCrcAt - 4);
}
}  // namespace

Bitmap::Bitmap(uint64_t bits)
    : bits_(bits),
      pages_(std::max<uint64_t>(1, (bits + kBitsPerPage - 1) / kBitsPerPage)),
      words_((bits + 63) / 64, 0),
      dirty_((pages_ + 63) / 64, 0) {}

bool Bitmap::Test(uint64_t bit) const {
  if (bit >= bits_) return false;
  return (words_[bit / 64] >> (bit % 64)) & 1;
}

template <bool kSet>
uint64_t Bitmap::Apply(uint64_t first, uint64_t count) {
  if (first >= bits_) return 0;
  uint64_t end = std::min(bits_, first + std::min(count, bits_ - first));
  uint64_t changed = 0;
  for (uint64_t bit = first; bit < end;) {
    uint64_t w = bit / 64;
    unsigned lo = static_cast<unsigned>(bit % 64);
    unsigned hi = static_cast<unsigned>(std::min<uint64_t>(64, end - w * 64));
    uint64_t mask = (lo == 0 && hi == 64) ? kAllOnes : RangeMask(lo, hi);
    uint64_t before = words_[w];
    uint64_t after = kSet ? (before | mask) : (before & ~mask);
    if (after != before) {
      changed += static_cast<uint64_t>(std::popcount(before ^ after));
      words_[w] = after;
      MarkPageDirty(w / kBitmapWordsPerPage);
    }
    bit = (w + 1) * 64;
  }
  if (kSet) {
    set_count_ += changed;
  } else {
    set_count_ -= changed;
  }
  return changed;
}

uint64_t Bitmap::Set(uint64_t first, uint64_t count) { return Apply<true>(first, count); }
uint64_t Bitmap::Clear(uint64_t first, uint64_t count) { return Apply<false>(first, count); }

uint64_t Bitmap::Merge(const Bitmap& other) {
  uint64_t changed = 0;
  size_t n = std::min(words_.size(), other.words_.size());
  for (size_t w = 0; w < n; ++w) {
    uint64_t add = other.words_[w] & ~words_[w];
    if (add) {
      words_[w] |= add;
      changed += static_cast<uint64_t>(std::popcount(add));
      MarkPageDirty(w / kBitmapWordsPerPage);
    }
  }
  set_count_ += changed;
  return changed;
}

uint64_t Bitmap::CountSetIn(uint64_t first, uint64_t count) const {
  if (first >= bits_) return 0;
  uint64_t end = std::min(bits_, first + std::min(count, bits_ - first));
  uint64_t n = 0;
  for (uint64_t bit = first; bit < end;) {
    uint64_t w = bit / 64;
    unsigned lo = static_cast<unsigned>(bit % 64);
    unsigned hi = static_cast<unsigned>(std::min<uint64_t>(64, end - w * 64));
    n += static_cast<uint64_t>(std::popcount(words_[w] & RangeMask(lo, hi)));
    bit = (w + 1) * 64;
  }
  return n;
}

uint64_t Bitmap::FindNextSet(uint64_t from) const {
  if (from >= bits_) return bits_;
  uint64_t w = from / 64;
  uint64_t word = words_[w] & (kAllOnes << (from % 64));
  while (true) {
    if (word) return std::min(bits_, w * 64 + static_cast<uint64_t>(std::countr_zero(word)));
    if (++w >= words_.size()) return bits_;
    word = words_[w];
  }
}

uint64_t Bitmap::FindNextClear(uint64_t from) const {
  if (from >= bits_) return bits_;
  uint64_t w = from / 64;
  uint64_t word = ~words_[w] & (kAllOnes << (from % 64));
  while (true) {
    if (word) return std::min(bits_, w * 64 + static_cast<uint64_t>(std::countr_zero(word)));
    if (++w >= words_.size()) return bits_;
    word = ~words_[w];
  }
}

bool Bitmap::page_dirty(uint64_t page) const { return (dirty_[page / 64] >> (page % 64)) & 1; }
void Bitmap::MarkPageDirty(uint64_t page) { dirty_[page / 64] |= uint64_t{1} << (page % 64); }
void Bitmap::MarkPageClean(uint64_t page) { dirty_[page / 64] &= ~(uint64_t{1} << (page % 64)); }
uint64_t Bitmap::PageOfBit(uint64_t bit) const { return bit / kBitsPerPage; }

std::vector<uint64_t> Bitmap::DirtyPages() const {
  std::vector<uint64_t> out;
  for (size_t i = 0; i < dirty_.size(); ++i) {
    uint64_t w = dirty_[i];
    while (w) {
      uint64_t page = i * 64 + static_cast<uint64_t>(std::countr_zero(w));
      if (page < pages_) out.push_back(page);
      w &= w - 1;
    }
  }
  return out;
}

void Bitmap::EncodePage(uint64_t page, uint64_t seq, uint8_t* b) const {
  std::memset(b, 0, kBlockSize);
  uint64_t first = page * kBitmapWordsPerPage;
  for (uint64_t i = 0; i < kBitmapWordsPerPage && first + i < words_.size(); ++i) {
    PutLe64(b + i * 8, words_[first + i]);
  }
  uint8_t* t = b + kBitmapTrailerOffset;
  PutLe32(t, kBitmapMagic);
  PutLe64(t + 8, seq);
  PutLe32(t + 16, static_cast<uint32_t>(page));
  PutLe32(t + 4, PageChecksum(b));
}

Result<uint64_t> Bitmap::CheckPage(uint64_t page, const uint8_t* b) {
  if (std::all_of(b, b + kBlockSize, [](uint8_t x) { return x == 0; })) {
    return Status::NotFound("blank");
  }
  const uint8_t* t = b + kBitmapTrailerOffset;
  if (GetLe32(t) != kBitmapMagic) return Status::Corruption("bad magic");
  if (GetLe32(t + 4) != PageChecksum(b)) return Status::Corruption("bad checksum");
  if (GetLe32(t + 16) != static_cast<uint32_t>(page)) {
    return Status::Corruption("holds page " + std::to_string(GetLe32(t + 16)));
  }
  uint64_t seq = GetLe64(t + 8);
  if (seq == 0) return Status::Corruption("sequence number 0");
  return seq;
}

Status Bitmap::LoadPage(uint64_t page, const uint8_t* b) {
  uint64_t first = page * kBitmapWordsPerPage;
  for (uint64_t i = 0; i < kBitmapWordsPerPage; ++i) {
    uint64_t v = GetLe64(b + i * 8);
    uint64_t w = first + i;
    uint64_t valid_bits = w * 64 >= bits_ ? 0 : std::min<uint64_t>(64, bits_ - w * 64);
    uint64_t valid_mask = valid_bits == 64 ? kAllOnes : ((uint64_t{1} << valid_bits) - 1);
    if (v & ~valid_mask) return Status::Corruption("bits set past the end of the data");
    if (w < words_.size()) {
      set_count_ -= static_cast<uint64_t>(std::popcount(words_[w]));
      words_[w] = v;
      set_count_ += static_cast<uint64_t>(std::popcount(v));
    }
  }
  return Status::Ok();
}

size_t Bitmap::memory_bytes() const {
  return words_.capacity() * sizeof(uint64_t) + dirty_.capacity() * sizeof(uint64_t);
}

}  // namespace tandem::meta
