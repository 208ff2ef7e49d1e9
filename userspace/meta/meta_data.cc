#include "meta/meta_data.h"

#include <boost/asio/post.hpp>
#include <cassert>
#include <cstring>

#include "meta/format.h"

namespace tandem::meta {

namespace {

constexpr uint64_t kChunk = 4ull << 20;

// Sequential chunked transfer of a large buffer (the whole area at open/create).
void Transfer(io::BlockDevice* dev, bool write, uint64_t offset, uint8_t* buf, uint64_t len,
              io::IoCallback done) {
  if (len == 0) return done(Status::Ok());
  uint64_t n = std::min(len, kChunk);
  auto next = [dev, write, offset, buf, len, n, done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(std::move(st));
    Transfer(dev, write, offset + n, buf + n, len - n, std::move(done));
  };
  if (write) {
    dev->Write(offset, buf, n, io::kWriteNone, std::move(next));
  } else {
    dev->Read(offset, buf, n, std::move(next));
  }
}

// The part of the area actually used (an indexed slot is larger).
uint64_t UsedAreaBytes(const MetaLayout& l) { return l.bm_offset + l.bm_pages * 2 * kBlockSize; }

Status CheckDevice(io::BlockDevice* md, const MetaLayout& l) {
  if (md->info().size_bytes < l.area_offset + UsedAreaBytes(l)) {
    return Status::InvalidArgument(md->info().path + " is " +
                                   DescribeBytes(md->info().size_bytes) +
                                   "; the meta-data area needs " +
                                   DescribeBytes(l.area_offset + UsedAreaBytes(l)));
  }
  return Status::Ok();
}

}  // namespace

MetaData::MetaData(boost::asio::io_context& loop, io::BlockDevice* md, const MetaLayout& layout,
                   Superblock sb, Bitmap bitmap, std::vector<uint64_t> page_seq,
                   const AlReplay& al)
    : loop_(loop),
      md_(md),
      layout_(layout),
      sb_(std::move(sb)),
      bitmap_(std::move(bitmap)),
      page_seq_(std::move(page_seq)),
      al_block_(kBlockSize),
      sb_block_(kBlockSize) {
  al_ = std::make_unique<ActivityLog>(
      loop_, sb_.layout.al_extents, layout_.al_slots, al,
      [this](uint32_t slot, const uint8_t* block, io::IoCallback done) {
        std::memcpy(al_block_.data(), block, kBlockSize);
        md_->Write(layout_.AlSlotOffset(slot), al_block_.data(), kBlockSize, io::kWriteFua,
                   std::move(done));
      },
      [this](uint32_t extent, io::IoCallback done) { PersistExtentBits(extent, std::move(done)); });
}

MetaData::~MetaData() { assert(page_writes_in_flight_.empty() && !sb_writing_); }

void MetaData::Post(io::IoCallback done, Status st) {
  boost::asio::post(loop_, [done = std::move(done), st = std::move(st)] { done(st); });
}

void MetaData::Create(boost::asio::io_context& loop, io::BlockDevice* md, const MetaLayout& layout,
                      uint64_t device_uuid, io::IoCallback done) {
  Status st = CheckDevice(md, layout);
  if (!st.ok()) {
    boost::asio::post(loop, [done = std::move(done), st] { done(st); });
    return;
  }
  auto area = std::make_shared<io::AlignedBuffer>(UsedAreaBytes(layout));
  Superblock sb;
  sb.seq = 1;
  sb.device_uuid = device_uuid;
  sb.current_uuid = kUuidJustCreated;
  sb.flags = kFlagAlClean;  // the log starts empty
  sb.layout = layout;
  EncodeSuperblock(sb, area->data() + (sb.seq % 2) * kBlockSize);
  std::vector<uint8_t> ring = InitialAlRing(layout.al_slots, layout.al_extents);
  std::memcpy(area->data() + kAlOffset, ring.data(), ring.size());
  Bitmap bits(layout.bm_bits);
  bits.SetAll();
  for (uint64_t p = 0; p < layout.bm_pages; ++p) {
    bits.EncodePage(p, 1, area->data() + layout.bm_offset + (2 * p + 1) * kBlockSize);
  }
  Transfer(md, true, layout.area_offset, area->data(), area->size(),
           [md, area, done = std::move(done)](Status s) mutable {
             if (!s.ok()) return done(std::move(s));
             md->Flush(std::move(done));
           });
}

void MetaData::ReadSuperblock(boost::asio::io_context& loop, io::BlockDevice* md,
                              const MetaLayout& layout, SuperblockCallback done) {
  Status st = CheckDevice(md, layout);
  if (!st.ok()) {
    boost::asio::post(loop, [done = std::move(done), st] { done(st); });
    return;
  }
  auto buf = std::make_shared<io::AlignedBuffer>(2 * kBlockSize);
  md->Read(layout.SuperblockOffset(0), buf->data(), 2 * kBlockSize,
           [buf, done = std::move(done)](Status s) {
             if (!s.ok()) return done(s);
             done(ChooseSuperblock(buf->data(), buf->data() + kBlockSize));
           });
}

void MetaData::Wipe(boost::asio::io_context& loop, io::BlockDevice* md, const MetaLayout& layout,
                    io::IoCallback done) {
  Status st = CheckDevice(md, layout);
  if (!st.ok()) {
    boost::asio::post(loop, [done = std::move(done), st] { done(st); });
    return;
  }
  auto zeros = std::make_shared<io::AlignedBuffer>(layout.bm_offset);
  Transfer(md, true, layout.area_offset, zeros->data(), zeros->size(),
           [md, zeros, done = std::move(done)](Status s) mutable {
             if (!s.ok()) return done(std::move(s));
             md->Flush(std::move(done));
           });
}

void MetaData::Open(boost::asio::io_context& loop, io::BlockDevice* md, const MetaLayout& expected,
                    OpenCallback done) {
  Status st = CheckDevice(md, expected);
  if (!st.ok()) {
    boost::asio::post(loop, [done = std::move(done), st] { done(st); });
    return;
  }
  auto area = std::make_shared<io::AlignedBuffer>(UsedAreaBytes(expected));
  Transfer(md, false, expected.area_offset, area->data(), area->size(),
           [&loop, md, expected, area, done = std::move(done)](Status s) {
             if (!s.ok()) return done(s);
             const uint8_t* a = area->data();
             auto sb = ChooseSuperblock(a, a + kBlockSize);
             if (!sb.ok()) return done(sb.status());
             Status fit = CheckSuperblockLayout(*sb, expected);
             if (!fit.ok()) return done(fit);
             const uint32_t al_extents = sb->layout.al_extents;
             MetaLayout layout = expected;
             layout.al_extents = al_extents;
             sb->layout = layout;
             auto al = ReplayActivityLog(a + kAlOffset, layout.al_slots, al_extents);
             if (!al.ok()) return done(al.status());
             Bitmap bitmap(layout.bm_bits);
             std::vector<uint64_t> page_seq(layout.bm_pages, 0);
             for (uint64_t p = 0; p < layout.bm_pages; ++p) {
               const uint8_t* slot[2] = {a + layout.bm_offset + 2 * p * kBlockSize,
                                         a + layout.bm_offset + (2 * p + 1) * kBlockSize};
               Result<uint64_t> seq[2] = {Bitmap::CheckPage(p, slot[0]),
                                          Bitmap::CheckPage(p, slot[1])};
               int use = -1;
               if (seq[0].ok() && (!seq[1].ok() || *seq[0] > *seq[1])) use = 0;
               if (seq[1].ok() && (!seq[0].ok() || *seq[1] > *seq[0])) use = 1;
               Status load = use < 0 ? Status::Corruption("no valid copy")
                                     : bitmap.LoadPage(p, slot[use]);
               if (!load.ok()) {
                 uint64_t from = p * kBitsPerPage * kBitmapGranularity;
                 uint64_t to = std::min(layout.data_size, from + kBitsPerPage * kBitmapGranularity);
                 return done(Status::Corruption(
                     "bitmap page " + std::to_string(p) + " (data bytes " + std::to_string(from) +
                     ".." + std::to_string(to) + "): " + load.message() + " (slot 0: " +
                     (seq[0].ok() ? "valid" : seq[0].status().message()) + "; slot 1: " +
                     (seq[1].ok() ? "valid" : seq[1].status().message()) + ")"));
               }
               page_seq[p] = *seq[use];
             }
             for (uint64_t p = 0; p < layout.bm_pages; ++p) bitmap.MarkPageClean(p);
             done(std::unique_ptr<MetaData>(new MetaData(loop, md, layout, std::move(*sb),
                                                         std::move(bitmap), std::move(page_seq),
                                                         *al)));
           });
}

void MetaData::UpdateSuperblock(std::function<void(Superblock&)> change, io::IoCallback done) {
  sb_queue_.emplace_back(std::move(change), std::move(done));
  if (!sb_writing_) StartSuperblockWrite();
}

void MetaData::AfterSuperblockUpdates(io::IoCallback done) {
  if (!superblock_update_pending()) return done(Status::Ok());
  sb_queue_.emplace_back(nullptr, std::move(done));  // a barrier: no write
}

void MetaData::StartSuperblockWrite() {
  // Barriers at the front: everything before them is written.
  while (!sb_queue_.empty() && !sb_queue_.front().first) {
    auto done = std::move(sb_queue_.front().second);
    sb_queue_.pop_front();
    done(Status::Ok());
  }
  if (sb_queue_.empty()) {
    sb_writing_ = false;
    return;
  }
  sb_writing_ = true;
  auto [change, done] = std::move(sb_queue_.front());
  sb_queue_.pop_front();
  auto next = std::make_shared<Superblock>(sb_);
  change(*next);
  next->seq = sb_.seq + 1;
  next->layout = sb_.layout;
  EncodeSuperblock(*next, sb_block_.data());
  md_->Write(layout_.SuperblockOffset(static_cast<int>(next->seq % 2)), sb_block_.data(),
             kBlockSize, io::kWriteFua, [this, next, done = std::move(done)](Status st) {
               if (st.ok()) {
                 sb_ = *next;
                 ++sb_writes_;
               }
               done(st);
               StartSuperblockWrite();
             });
}

void MetaData::WritePage(uint64_t page, io::IoCallback done) {
  auto it = page_writes_in_flight_.find(page);
  if (it != page_writes_in_flight_.end()) {
    it->second.again = true;
    it->second.next.push_back(std::move(done));
    return;
  }
  PageWrite& w = page_writes_in_flight_[page];
  w.current.push_back(std::move(done));
  StartPageWrite(page);
}

void MetaData::StartPageWrite(uint64_t page) {
  PageWrite& w = page_writes_in_flight_[page];
  if (w.buffer.size() == 0) w.buffer = io::AlignedBuffer(kBlockSize);
  const uint64_t seq = page_seq_[page] + 1;
  // Encode now: bits changing from here on make the page dirty again.
  bitmap_.EncodePage(page, seq, w.buffer.data());
  bitmap_.MarkPageClean(page);
  md_->Write(layout_.BitmapSlotOffset(page, static_cast<int>(seq % 2)), w.buffer.data(), kBlockSize,
             io::kWriteFua, [this, page, seq](Status st) {
               PageWrite& pw = page_writes_in_flight_[page];
               if (st.ok()) {
                 page_seq_[page] = seq;
                 ++page_writes_;
               } else {
                 bitmap_.MarkPageDirty(page);
               }
               auto current = std::move(pw.current);
               if (pw.again) {
                 pw.again = false;
                 pw.current = std::move(pw.next);
                 pw.next.clear();
                 StartPageWrite(page);
               } else {
                 page_writes_in_flight_.erase(page);
               }
               for (auto& cb : current) cb(st);
             });
}

void MetaData::WritePages(const std::vector<uint64_t>& pages, io::IoCallback done) {
  if (pages.empty()) return Post(std::move(done), Status::Ok());
  struct Join {
    size_t left;
    Status first_error;
    io::IoCallback done;
  };
  auto join = std::make_shared<Join>(Join{pages.size(), Status::Ok(), std::move(done)});
  for (uint64_t p : pages) {
    WritePage(p, [join](Status st) {
      if (!st.ok() && join->first_error.ok()) join->first_error = st;
      if (--join->left == 0) join->done(join->first_error);
    });
  }
}

void MetaData::FlushBitmap(io::IoCallback done) { WritePages(bitmap_.DirtyPages(), std::move(done)); }

void MetaData::PersistExtentBits(uint32_t extent, io::IoCallback done) {
  const uint64_t first_bit = uint64_t{extent} * kBitsPerExtent;
  if (first_bit >= bitmap_.size()) return Post(std::move(done), Status::Ok());
  const uint64_t last_bit = std::min(bitmap_.size(), first_bit + kBitsPerExtent) - 1;
  std::vector<uint64_t> pages;
  for (uint64_t p = bitmap_.PageOfBit(first_bit); p <= bitmap_.PageOfBit(last_bit); ++p) {
    // A page written right now may hold older bits only if it is dirty again;
    // either way waiting for (or issuing) a write makes the current bits durable.
    if (bitmap_.page_dirty(p) || page_writes_in_flight_.count(p)) pages.push_back(p);
  }
  WritePages(pages, std::move(done));
}

void MetaData::ApplyActivityLog(io::IoCallback done) {
  for (uint32_t extent : al_->HotExtents()) {
    bitmap_.Set(uint64_t{extent} * kBitsPerExtent, kBitsPerExtent);
  }
  FlushBitmap([this, done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(st);
    al_->Reset([this, done = std::move(done)](Status rst) mutable {
      if (!rst.ok()) return done(rst);
      UpdateSuperblock(
          [](Superblock& sb) {
            if (!sb.Has(kFlagAlClean) && sb.Has(kFlagPrimaryInd)) sb.Set(kFlagCrashedPrimary, true);
            sb.Set(kFlagAlClean, true);
          },
          std::move(done));
    });
  });
}

void MetaData::Close(io::IoCallback done) {
  FlushBitmap([this, done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(st);
    al_->Reset([this, done = std::move(done)](Status rst) mutable {
      if (!rst.ok()) return done(rst);
      UpdateSuperblock([](Superblock& sb) { sb.Set(kFlagAlClean, true); }, std::move(done));
    });
  });
}

}  // namespace tandem::meta
