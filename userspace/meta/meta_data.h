#pragma once
// MetaData: one resource's meta-data area, live. Owns the superblock state, the
// in-memory bitmap (with on-disk page write-back) and the activity log, and does
// all their I/O on the meta-data device (docs/meta-data.md).
//
// Thread-safety: not thread-safe; every method and callback runs on the event
// loop the device completes on. All operations complete by callback, posted.
// Failure: I/O errors come back as Status; nothing is half-applied in memory
// (a superblock change is visible only once durable).

#include <boost/asio/io_context.hpp>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "meta/activity_log.h"
#include "meta/bitmap.h"
#include "meta/layout.h"
#include "meta/superblock.h"

namespace tandem::meta {

class MetaData {
 public:
  using OpenCallback = std::function<void(Result<std::unique_ptr<MetaData>>)>;
  using SuperblockCallback = std::function<void(Result<Superblock>)>;

  // Writes a fresh area (create-md): superblock (current UUID "just created",
  // flags al-clean only), an empty activity log, every bitmap bit set. Durable
  // when done.
  static void Create(boost::asio::io_context& loop, io::BlockDevice* md, const MetaLayout& layout,
                     uint64_t device_uuid, io::IoCallback done);
  // Reads and chooses between the two superblock copies only.
  static void ReadSuperblock(boost::asio::io_context& loop, io::BlockDevice* md,
                             const MetaLayout& layout, SuperblockCallback done);
  // Reads the whole area and validates superblock, activity log and bitmap
  // against `expected` (from the configuration). Writes nothing. Errors name
  // the corrupt structure.
  static void Open(boost::asio::io_context& loop, io::BlockDevice* md, const MetaLayout& expected,
                   OpenCallback done);
  // Zeroes the superblocks and the activity log, so no meta-data is found any more.
  static void Wipe(boost::asio::io_context& loop, io::BlockDevice* md, const MetaLayout& layout,
                   io::IoCallback done);

  ~MetaData();
  MetaData(const MetaData&) = delete;
  MetaData& operator=(const MetaData&) = delete;

  const Superblock& superblock() const { return sb_; }
  const MetaLayout& layout() const { return layout_; }
  Bitmap& bitmap() { return bitmap_; }
  const Bitmap& bitmap() const { return bitmap_; }
  ActivityLog& activity_log() { return *al_; }
  const ActivityLog& activity_log() const { return *al_; }

  // Applies `change` to a copy of the superblock and writes it durably into the
  // other copy; the new state is visible once `done` runs with OK. Serialized.
  void UpdateSuperblock(std::function<void(Superblock&)> change, io::IoCallback done);
  // Runs `done` (OK) once every superblock update queued before this call has
  // finished, so that superblock() shows their results; at once (before
  // returning) when none is queued. Writes nothing itself.
  void AfterSuperblockUpdates(io::IoCallback done);
  bool superblock_update_pending() const { return sb_writing_ || !sb_queue_.empty(); }
  // Writes every bitmap page with changed bits, durably.
  void FlushBitmap(io::IoCallback done);
  // Makes the bitmap bits covering one activity-log extent durable.
  void PersistExtentBits(uint32_t extent, io::IoCallback done);
  // apply-al: every hot extent out of sync, bitmap durable, log emptied, al-clean set
  // (and crashed-primary set if the primary indicator was on).
  void ApplyActivityLog(io::IoCallback done);
  // Clean shutdown: bitmap durable, log emptied, al-clean set.
  void Close(io::IoCallback done);

  uint64_t superblock_writes() const { return sb_writes_; }
  uint64_t bitmap_page_writes() const { return page_writes_; }

 private:
  MetaData(boost::asio::io_context& loop, io::BlockDevice* md, const MetaLayout& layout,
           Superblock sb, Bitmap bitmap, std::vector<uint64_t> page_seq, const AlReplay& al);

  struct PageWrite {
    std::vector<io::IoCallback> current;  // waiting for the write in flight
    std::vector<io::IoCallback> next;     // waiting for the write after it
    bool again = false;
    io::AlignedBuffer buffer;
  };
  void WritePage(uint64_t page, io::IoCallback done);
  void StartPageWrite(uint64_t page);
  void WritePages(const std::vector<uint64_t>& pages, io::IoCallback done);
  void StartSuperblockWrite();
  void Post(io::IoCallback done, Status st);

  boost::asio::io_context& loop_;
  io::BlockDevice* md_;
  MetaLayout layout_;
  Superblock sb_;
  Bitmap bitmap_;
  std::vector<uint64_t> page_seq_;  // newest durable sequence per bitmap page
  std::unordered_map<uint64_t, PageWrite> page_writes_in_flight_;
  std::unique_ptr<ActivityLog> al_;
  io::AlignedBuffer al_block_;
  std::deque<std::pair<std::function<void(Superblock&)>, io::IoCallback>> sb_queue_;
  bool sb_writing_ = false;
  io::AlignedBuffer sb_block_;
  uint64_t sb_writes_ = 0;
  uint64_t page_writes_ = 0;
};

}  // namespace tandem::meta
