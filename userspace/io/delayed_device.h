#pragma once
// A BlockDevice wrapper that holds back the completion of every write and
// flush by a fixed delay: a slow disk, for tests of acknowledgement ordering
// (protocol A/B/C) with real daemons. DelayingIoEnv wraps what another IoEnv
// opens. Not thread-safe: used on the loop's thread like any BlockDevice.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "io/block_device.h"
#include "io/device_factory.h"

namespace tandem::io {

class DelayedDevice : public BlockDevice {
 public:
  DelayedDevice(boost::asio::io_context& loop, std::unique_ptr<BlockDevice> target,
                std::chrono::milliseconds write_delay);
  const DeviceInfo& info() const override { return target_->info(); }
  void Read(uint64_t offset, void* buf, size_t len, IoCallback done) override;
  void Write(uint64_t offset, const void* buf, size_t len, uint32_t flags,
             IoCallback done) override;
  void Flush(IoCallback done) override;
  void Discard(uint64_t offset, uint64_t len, IoCallback done) override;
  void WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, IoCallback done) override;
  size_t in_flight() const override { return target_->in_flight() + delayed_; }

 private:
  IoCallback Delay(IoCallback done);

  boost::asio::io_context& loop_;
  std::unique_ptr<BlockDevice> target_;
  std::chrono::milliseconds delay_;
  size_t delayed_ = 0;
};

class DelayingIoEnv : public IoEnv {
 public:
  DelayingIoEnv(IoEnv* target, std::chrono::milliseconds write_delay)
      : target_(target), delay_(write_delay) {}
  Result<std::unique_ptr<BlockDevice>> Open(boost::asio::io_context& loop, const std::string& path,
                                            const OpenOptions& options) override;

 private:
  IoEnv* target_;
  std::chrono::milliseconds delay_;
};

}  // namespace tandem::io
