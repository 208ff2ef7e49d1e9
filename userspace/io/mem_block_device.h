#pragma once
// A BlockDevice held in memory: the real implementation tests use when the
// bytes matter but a file does not (meta-data crash tests, fuzzers). Honours
// the BlockDevice contract (completions posted to the loop, range and, when
// `direct`, alignment checks). Not thread-safe: owned by the loop's thread.

#include <boost/asio/io_context.hpp>
#include <vector>

#include "io/block_device.h"

namespace tandem::io {

class MemBlockDevice : public BlockDevice {
 public:
  MemBlockDevice(boost::asio::io_context& loop, uint64_t size, bool direct = false,
                 uint32_t logical_block_size = 512);
  // Starts with a copy of `contents`.
  MemBlockDevice(boost::asio::io_context& loop, std::vector<uint8_t> contents, bool direct = false,
                 uint32_t logical_block_size = 512);

  const DeviceInfo& info() const override { return info_; }
  void Read(uint64_t offset, void* buf, size_t len, IoCallback done) override;
  void Write(uint64_t offset, const void* buf, size_t len, uint32_t flags,
             IoCallback done) override;
  void Flush(IoCallback done) override;
  void Discard(uint64_t offset, uint64_t len, IoCallback done) override;
  void WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, IoCallback done) override;
  size_t in_flight() const override { return in_flight_; }

  // The device's bytes, for inspection and for corrupting them behind its back.
  std::vector<uint8_t>& contents() { return data_; }
  const std::vector<uint8_t>& contents() const { return data_; }
  uint64_t flush_count() const { return flushes_; }

 private:
  void Complete(Status st, IoCallback done);

  boost::asio::io_context& loop_;
  DeviceInfo info_;
  std::vector<uint8_t> data_;
  size_t in_flight_ = 0;
  uint64_t flushes_ = 0;
};

}  // namespace tandem::io
