#pragma once
// Blocking wrappers over BlockDevice for offline tools (tandemadm create-md,
// dump-md, ...) and tests: each submits one operation and runs the event loop
// until it completes. Never call from inside the loop (it would re-enter it).
// Every wait is bounded (timeout: IoError naming the operation).

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "io/block_device.h"

namespace tandem::io {

class SyncIo {
 public:
  SyncIo(boost::asio::io_context& loop, BlockDevice& device,
         std::chrono::milliseconds timeout = std::chrono::seconds(120))
      : loop_(loop), dev_(device), timeout_(timeout) {}

  Status Read(uint64_t offset, void* buf, size_t len);
  Status Write(uint64_t offset, const void* buf, size_t len, uint32_t flags = kWriteNone);
  Status Flush();
  Status Discard(uint64_t offset, uint64_t len);
  Status WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap);
  BlockDevice& device() { return dev_; }

 private:
  template <typename Submit>
  Status Wait(const char* what, Submit submit);

  boost::asio::io_context& loop_;
  BlockDevice& dev_;
  std::chrono::milliseconds timeout_;
};

// Runs `loop` until `*done` is true or the timeout passes; false on timeout.
bool RunLoopUntil(boost::asio::io_context& loop, const bool* done,
                  std::chrono::milliseconds timeout);

// Runs `loop` until `device` has nothing in flight (in_flight() == 0), the
// precondition for destroying it; false on timeout. Owners stop submitting first.
bool WaitUntilIdle(boost::asio::io_context& loop, const BlockDevice& device,
                   std::chrono::milliseconds timeout);

}  // namespace tandem::io
