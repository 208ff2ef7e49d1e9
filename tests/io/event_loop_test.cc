#include "io/event_loop.h"

#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <thread>

namespace tandem::io {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

class EventLoopTest : public ::testing::TestWithParam<int> {
 protected:
  std::chrono::microseconds busy_poll() const { return std::chrono::microseconds(GetParam()); }
};

TEST_P(EventLoopTest, RunsEveryHandlerAndReturnsWhenOutOfWork) {
  asio::io_context loop;
  int ran = 0;
  // A chain: each handler posts the next, as completions do.
  std::function<void()> step = [&] {
    if (++ran < 100) asio::post(loop, step);
  };
  asio::post(loop, step);
  RunEventLoop(loop, busy_poll());
  EXPECT_EQ(ran, 100);
  EXPECT_TRUE(loop.stopped());
}

TEST_P(EventLoopTest, StopFromAHandlerEndsTheLoopWithWorkOutstanding) {
  asio::io_context loop;
  auto guard = asio::make_work_guard(loop);
  asio::steady_timer timer(loop);
  timer.expires_after(20ms);
  bool fired = false;
  timer.async_wait([&](const boost::system::error_code& ec) {
    fired = !ec;
    loop.stop();
  });
  RunEventLoop(loop, busy_poll());
  EXPECT_TRUE(fired);
  EXPECT_TRUE(loop.stopped());
}

TEST_P(EventLoopTest, RunsHandlersPostedFromAnotherThread) {
  asio::io_context loop;
  auto guard = asio::make_work_guard(loop);
  std::atomic<int> ran{0};
  std::thread poster([&] {
    for (int i = 0; i < 50; ++i) {
      asio::post(loop, [&] { ++ran; });
      // Long enough for the loop to go back to sleep between some of them.
      std::this_thread::sleep_for(i % 10 == 0 ? 2ms : 10us);
    }
    asio::post(loop, [&] { guard.reset(); });
  });
  RunEventLoop(loop, busy_poll());
  poster.join();
  EXPECT_EQ(ran.load(), 50);
}

// A busy-polling loop must still sleep when nothing happens: an idle daemon
// costs no CPU. The loop waits 300 ms for a timer; it may spend its polling
// window (well under a millisecond) and the timer's handler, not the wait.
TEST_P(EventLoopTest, SleepsWhileIdle) {
  asio::io_context loop;
  asio::steady_timer timer(loop);
  double cpu_ms = -1;
  asio::post(loop, [&] {
    const double start = ThreadCpuMs();
    timer.expires_after(300ms);
    timer.async_wait(
        [&, start](const boost::system::error_code&) { cpu_ms = ThreadCpuMs() - start; });
  });
  RunEventLoop(loop, busy_poll());
  ASSERT_GE(cpu_ms, 0);
  EXPECT_LT(cpu_ms, 100) << "the loop spun while idle";
}

// With a predicate that says "not worth it", even a long polling window
// sleeps at once: the loop waits 300 ms for a timer inside a 1 s window.
TEST(EventLoopPredicateTest, DoesNotPollWhileThePredicateSaysNo) {
  asio::io_context loop;
  asio::steady_timer timer(loop);
  double cpu_ms = -1;
  int asked = 0;
  asio::post(loop, [&] {
    const double start = ThreadCpuMs();
    timer.expires_after(300ms);
    timer.async_wait(
        [&, start](const boost::system::error_code&) { cpu_ms = ThreadCpuMs() - start; });
  });
  RunEventLoop(loop, 1s, [&] {
    ++asked;
    return false;
  });
  ASSERT_GE(cpu_ms, 0);
  EXPECT_GT(asked, 0) << "the predicate was never consulted";
  EXPECT_LT(cpu_ms, 100) << "the loop polled although told not to";
}

INSTANTIATE_TEST_SUITE_P(BusyPoll, EventLoopTest, ::testing::Values(0, 200, 5000),
                         [](const auto& p) { return "us" + std::to_string(p.param); });

}  // namespace
}  // namespace tandem::io
