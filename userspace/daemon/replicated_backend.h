#pragma once
// ReplicatedBackend: a replicated resource as an NBD export (nbd::Backend over
// replication::Resource). What an NBD client writes goes into the resource's
// replicated write path with the payload buffer the server read it into - no
// further copy.
//
// Mapping: Read/Write/Flush 1:1 (FUA -> the resource's FUA, which protocol C
// makes durable on both disks); WriteZeroes -> the resource's WriteZeroes
// (may_trim -> may_unmap); Trim -> WriteZeroes with may_unmap, so both
// replicas read back the same zeroes (a trim that left each disk's contents
// "unspecified" could differ between them, and online verify would flag it).
// Ranges over net::kMaxZeroesLength are split and issued together.
// Admission: Open() refuses unless the resource is Primary (the client sees
// "r0 is Secondary on node alpha: only the Primary serves r0"); each open
// counts as an opener of the resource, so `secondary` is refused while any
// client is connected (DRBD's "Device is held open by someone").
// Geometry: the resource's size and logical block size; can_multi_conn()
// true (one resource, whose Flush covers every completed write).
// Lifetime: connections keep the backend alive after the export is removed;
// Orphan() cuts it from a resource about to be destroyed, after which every
// request fails (Aborted). Thread-safety: the daemon's event loop only.

#include <boost/asio/io_context.hpp>
#include <string>

#include "nbd/backend.h"
#include "replication/resource.h"

namespace tandem::daemon {

class ReplicatedBackend : public nbd::Backend {
 public:
  ReplicatedBackend(boost::asio::io_context& loop, replication::Resource* resource,
                    std::string node);

  uint64_t size() const override;
  uint32_t logical_block_size() const override;
  bool read_only() const override { return false; }
  bool can_multi_conn() const override { return true; }
  std::string description() const override;

  Status Open() override;
  void Close() override;

  void Read(uint64_t offset, uint32_t len, uint8_t* buf, Completion done) override;
  void Write(uint64_t offset, io::AlignedBuffer data, bool fua, WriteCompletion done) override;
  void Flush(Completion done) override;
  void Trim(uint64_t offset, uint64_t len, bool fua, Completion done) override;
  void WriteZeroes(uint64_t offset, uint64_t len, bool may_trim, bool fua,
                   Completion done) override;

  // The resource is going away: later requests fail, Close() no longer touches it.
  void Orphan();
  size_t openers() const { return openers_; }

 private:
  // Posts `done(st)` (completions never run inline from the submitting call).
  void Fail(Completion done, Status st);
  void Zeroes(uint64_t offset, uint64_t len, bool may_unmap, bool fua, Completion done);

  boost::asio::io_context& loop_;
  replication::Resource* resource_;  // nullptr once orphaned
  std::string node_;
  size_t openers_ = 0;
};

}  // namespace tandem::daemon
