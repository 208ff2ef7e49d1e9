#include "io/event_loop.h"

#include <sched.h>

#include <atomic>

namespace tandem::io {

namespace {
std::atomic<size_t> bulk_io_in_flight{0};
}  // namespace

size_t BulkIoInFlight() {
  return bulk_io_in_flight.load(std::memory_order_relaxed);
}

void NoteBulkIo(int delta) {
  if (delta > 0) {
    bulk_io_in_flight.fetch_add(static_cast<size_t>(delta), std::memory_order_relaxed);
  } else {
    bulk_io_in_flight.fetch_sub(static_cast<size_t>(-delta), std::memory_order_relaxed);
  }
}

void RunEventLoop(boost::asio::io_context& loop, std::chrono::microseconds busy_poll) {
  RunEventLoop(loop, busy_poll, nullptr);
}

void RunEventLoop(boost::asio::io_context& loop, std::chrono::microseconds busy_poll,
                  const std::function<bool()>& worth_polling) {
  if (busy_poll.count() <= 0) {
    loop.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_handler = Clock::now();
  while (!loop.stopped()) {
    // Runs every ready handler and checks the reactor without blocking.
    if (loop.poll() > 0) {
      last_handler = Clock::now();
      continue;
    }
    if (loop.stopped()) break;  // out of work, or stopped by a handler
    if (Clock::now() - last_handler < busy_poll && (!worth_polling || worth_polling())) {
      sched_yield();
      continue;
    }
    // Quiet for a while: sleep until the next handler.
    if (loop.run_one() == 0) break;
    last_handler = Clock::now();
  }
}

}  // namespace tandem::io
