// ScriptRunner with real processes: output capture, exit codes, a background
// child that keeps the pipe open, the timeout, the output limit.
#include "heartbeat/child_processes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace tandem::heartbeat {
namespace {

using ::testing::HasSubstr;

class ScriptRunnerTest : public ::testing::Test {
 protected:
  ScriptRunnerTest() : children_(loop_, HbEnv::Default()), runner_(loop_, HbEnv::Default(), &children_) {}

  // Runs one command on the loop; the loop runs at most `limit`.
  ScriptResult Run(const std::string& shell, int64_t timeout_ms = 0,
                   std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    ScriptResult out;
    bool done = false;
    runner_.Run({"/bin/sh", "-c", shell}, {"PATH=/usr/bin:/bin"}, timeout_ms,
                [&](const ScriptResult& r) {
                  out = r;
                  done = true;
                });
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      loop_.run_for(std::chrono::milliseconds(5));
      if (loop_.stopped()) loop_.restart();
    }
    EXPECT_TRUE(done) << shell;
    return out;
  }

  boost::asio::io_context loop_;
  ChildProcesses children_;
  ScriptRunner runner_;
};

TEST_F(ScriptRunnerTest, CapturesOutputAndExitCode) {
  auto r = Run("echo to-stdout; echo to-stderr >&2; exit 3");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.output, HasSubstr("to-stdout\n"));
  EXPECT_THAT(r.output, HasSubstr("to-stderr\n"));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(runner_.running(), 0u);
}

TEST_F(ScriptRunnerTest, ManyRunsNeverLoseOutput) {
  for (int i = 0; i < 50; ++i) {
    auto r = Run("echo stopped");
    ASSERT_EQ(r.output, "stopped\n") << "run " << i;
  }
}

TEST_F(ScriptRunnerTest, EndsAtTheExitNotWhenABackgroundChildClosesThePipe) {
  const auto t0 = std::chrono::steady_clock::now();
  // The background sleep outlives the script (and ends by itself).
  auto r = Run("sleep 3 & echo started", 0, std::chrono::seconds(5));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "started\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2500));
}

TEST_F(ScriptRunnerTest, ATimeoutKillsTheWholeProcessGroup) {
  auto r = Run("sleep 30; echo never", 200, std::chrono::seconds(5));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.signal, 9);
  EXPECT_EQ(r.output, "");
}

TEST_F(ScriptRunnerTest, OutputIsBounded) {
  auto r = Run("head -c 200000 /dev/zero | tr '\\0' x");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.size(), ScriptRunner::kMaxOutputBytes);
}

TEST_F(ScriptRunnerTest, AProgramThatCannotRunExits127) {
  ScriptResult out;
  bool done = false;
  runner_.Run({"/nonexistent/script", "start"}, {}, 0, [&](const ScriptResult& r) {
    out = r;
    done = true;
  });
  for (int i = 0; i < 100 && !done; ++i) loop_.run_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(done);
  EXPECT_EQ(out.exit_code, 127);
}

TEST(WaitStatus, Describes) {
  EXPECT_EQ(DescribeWaitStatus(3 << 8), "exit code 3");
  EXPECT_EQ(DescribeWaitStatus(9), "killed by signal 9");
  EXPECT_EQ(ExitCodeOf(9), -1);
}

}  // namespace
}  // namespace tandem::heartbeat
