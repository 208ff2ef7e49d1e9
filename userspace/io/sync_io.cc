#include "io/sync_io.h"

namespace tandem::io {

namespace {
// Runs `loop` one handler at a time until `finished()` or the deadline.
template <typename Pred>
bool RunLoopUntilPredicate(boost::asio::io_context& loop, Pred finished,
                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!finished()) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return false;
    if (loop.stopped()) loop.restart();
    loop.run_one_for(std::chrono::duration_cast<std::chrono::milliseconds>(left) +
                     std::chrono::milliseconds(1));
  }
  return true;
}
}  // namespace

bool RunLoopUntil(boost::asio::io_context& loop, const bool* done,
                  std::chrono::milliseconds timeout) {
  return RunLoopUntilPredicate(
      loop, [done] { return *done; }, timeout);
}

bool WaitUntilIdle(boost::asio::io_context& loop, const BlockDevice& device,
                   std::chrono::milliseconds timeout) {
  return RunLoopUntilPredicate(
      loop, [&device] { return device.in_flight() == 0; }, timeout);
}

template <typename Submit>
Status SyncIo::Wait(const char* what, Submit submit) {
  bool done = false;
  Status result;
  submit([&](Status st) {
    result = std::move(st);
    done = true;
  });
  if (!RunLoopUntil(loop_, &done, timeout_)) {
    return Status::Timeout(dev_.info().path + ": " + what + " did not complete in time");
  }
  return result;
}

Status SyncIo::Read(uint64_t offset, void* buf, size_t len) {
  return Wait("read", [&](IoCallback cb) { dev_.Read(offset, buf, len, std::move(cb)); });
}
Status SyncIo::Write(uint64_t offset, const void* buf, size_t len, uint32_t flags) {
  return Wait("write", [&](IoCallback cb) { dev_.Write(offset, buf, len, flags, std::move(cb)); });
}
Status SyncIo::Flush() {
  return Wait("flush", [&](IoCallback cb) { dev_.Flush(std::move(cb)); });
}
Status SyncIo::Discard(uint64_t offset, uint64_t len) {
  return Wait("discard", [&](IoCallback cb) { dev_.Discard(offset, len, std::move(cb)); });
}
Status SyncIo::WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap) {
  return Wait("write-zeroes",
              [&](IoCallback cb) { dev_.WriteZeroes(offset, len, may_unmap, std::move(cb)); });
}

}  // namespace tandem::io
