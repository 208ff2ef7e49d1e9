#include "io/delayed_device.h"

#include <boost/asio/steady_timer.hpp>

namespace tandem::io {

DelayedDevice::DelayedDevice(boost::asio::io_context& loop, std::unique_ptr<BlockDevice> target,
                             std::chrono::milliseconds write_delay)
    : loop_(loop), target_(std::move(target)), delay_(write_delay) {}

IoCallback DelayedDevice::Delay(IoCallback done) {
  ++delayed_;
  return [this, done = std::move(done)](Status st) {
    auto timer = std::make_shared<boost::asio::steady_timer>(loop_, delay_);
    timer->async_wait([this, timer, done, st](const boost::system::error_code&) {
      --delayed_;
      done(st);
    });
  };
}

void DelayedDevice::Read(uint64_t offset, void* buf, size_t len, IoCallback done) {
  target_->Read(offset, buf, len, std::move(done));
}
void DelayedDevice::Write(uint64_t offset, const void* buf, size_t len, uint32_t flags,
                          IoCallback done) {
  target_->Write(offset, buf, len, flags, Delay(std::move(done)));
}
void DelayedDevice::Flush(IoCallback done) { target_->Flush(Delay(std::move(done))); }
void DelayedDevice::Discard(uint64_t offset, uint64_t len, IoCallback done) {
  target_->Discard(offset, len, Delay(std::move(done)));
}
void DelayedDevice::WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, IoCallback done) {
  target_->WriteZeroes(offset, len, may_unmap, Delay(std::move(done)));
}

Result<std::unique_ptr<BlockDevice>> DelayingIoEnv::Open(boost::asio::io_context& loop,
                                                         const std::string& path,
                                                         const OpenOptions& options) {
  auto dev = target_->Open(loop, path, options);
  if (!dev.ok()) return dev.status();
  return std::unique_ptr<BlockDevice>(new DelayedDevice(loop, std::move(*dev), delay_));
}

}  // namespace tandem::io
