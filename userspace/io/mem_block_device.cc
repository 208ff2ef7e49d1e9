#include "io/mem_block_device.h"

#include <boost/asio/post.hpp>
#include <cstring>

namespace tandem::io {

MemBlockDevice::MemBlockDevice(boost::asio::io_context& loop, uint64_t size, bool direct,
                               uint32_t logical_block_size)
    : MemBlockDevice(loop, std::vector<uint8_t>(size), direct, logical_block_size) {}

MemBlockDevice::MemBlockDevice(boost::asio::io_context& loop, std::vector<uint8_t> contents,
                               bool direct, uint32_t logical_block_size)
    : loop_(loop), data_(std::move(contents)) {
  info_.path = "<memory>";
  info_.engine = "mem";
  info_.size_bytes = data_.size();
  info_.direct = direct;
  info_.logical_block_size = logical_block_size;
}

void MemBlockDevice::Complete(Status st, IoCallback done) {
  ++in_flight_;
  boost::asio::post(loop_, [this, st = std::move(st), done = std::move(done)]() mutable {
    --in_flight_;
    done(std::move(st));
  });
}

void MemBlockDevice::Read(uint64_t offset, void* buf, size_t len, IoCallback done) {
  Status st = CheckRequest(info_, offset, len, buf, false);
  if (st.ok()) std::memcpy(buf, data_.data() + offset, len);
  Complete(std::move(st), std::move(done));
}

void MemBlockDevice::Write(uint64_t offset, const void* buf, size_t len, uint32_t,
                           IoCallback done) {
  Status st = CheckRequest(info_, offset, len, buf, true);
  if (st.ok()) std::memcpy(data_.data() + offset, buf, len);
  Complete(std::move(st), std::move(done));
}

void MemBlockDevice::Flush(IoCallback done) {
  ++flushes_;
  Complete(Status::Ok(), std::move(done));
}

void MemBlockDevice::Discard(uint64_t offset, uint64_t len, IoCallback done) {
  WriteZeroes(offset, len, true, std::move(done));
}

void MemBlockDevice::WriteZeroes(uint64_t offset, uint64_t len, bool, IoCallback done) {
  Status st = CheckRequest(info_, offset, len, nullptr, true);
  if (st.ok()) std::memset(data_.data() + offset, 0, len);
  Complete(std::move(st), std::move(done));
}

}  // namespace tandem::io
