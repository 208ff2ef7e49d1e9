#include "io/sync_device.h"

namespace tandem::io {

Result<std::unique_ptr<SyncDevice>> SyncDevice::Create(boost::asio::io_context& loop,
                                                       PosixFile&& file, unsigned threads) {
  if (threads == 0) return Status::InvalidArgument("sync engine: 0 worker threads");
  return std::unique_ptr<SyncDevice>(new SyncDevice(loop, std::move(file), threads));
}

SyncDevice::SyncDevice(boost::asio::io_context& loop, PosixFile file, unsigned threads)
    : EngineDevice(loop, std::move(file), "sync"), workers_(threads) {}

SyncDevice::~SyncDevice() {
  AbortIfBusy();
}

bool SyncDevice::Start(Request* r) {
  // Keep the queue here rather than in the pool, where a retry could not jump it.
  if (blocking_in_flight() >= workers_.threads()) return false;
  RunBlocking(workers_, r);
  return true;
}

}  // namespace tandem::io
