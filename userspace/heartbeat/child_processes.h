#pragma once
// Child processes on the daemon's event loop: SIGCHLD is turned into an event
// (asio::signal_set), every exited child is reaped, and the watcher of its pid
// is called with its wait status. ScriptRunner builds on it to run a program
// to completion and collect its output.
//
// Output is read from a pipe while the program runs and drained when it
// exits; the run ends at the exit, not at end-of-file, since a script that
// starts a daemon in the background leaves the pipe open in that daemon.
// Output beyond kMaxOutputBytes is dropped. A timeout (when given) kills the
// program's whole process group with SIGKILL.
//
// Contract: every callback runs on the event loop, exactly once, even when the
// spawn fails (exit_code 127 and the reason as output). Destroying the object
// abandons outstanding callbacks (they never run) but does not kill children.
// Thread-safety: event-loop only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "heartbeat/hb_env.h"

namespace tandem::heartbeat {

class ChildProcesses {
 public:
  using ExitCallback = std::function<void(int wait_status)>;

  ChildProcesses(boost::asio::io_context& loop, HbEnv* env);
  ~ChildProcesses();

  // Calls `done` when `pid` exits.
  void Watch(pid_t pid, ExitCallback done);
  // Reaps whatever has exited (also done on every SIGCHLD).
  void ReapNow();
  size_t watched() const { return watchers_.size(); }

 private:
  void Arm();

  boost::asio::signal_set sigchld_;
  HbEnv* env_;
  std::map<pid_t, ExitCallback> watchers_;
  std::shared_ptr<bool> alive_;
};

struct ScriptResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that killed it, if any
  bool timed_out = false;
  std::string output;  // stdout and stderr together
};

class ScriptRunner {
 public:
  static constexpr size_t kMaxOutputBytes = 64 * 1024;
  using Done = std::function<void(const ScriptResult&)>;

  ScriptRunner(boost::asio::io_context& loop, HbEnv* env, ChildProcesses* children);
  ~ScriptRunner();

  // Runs argv with `environment`; timeout_ms <= 0 waits as long as it takes.
  void Run(const std::vector<std::string>& argv, const std::vector<std::string>& environment,
           int64_t timeout_ms, Done done);
  size_t running() const { return runs_.size(); }

 private:
  struct Job;
  void ReadMore(const std::shared_ptr<Job>& job);
  void Append(const std::shared_ptr<Job>& job, size_t n);
  void Finish(const std::shared_ptr<Job>& job, int wait_status);
  void Complete(const std::shared_ptr<Job>& job);

  boost::asio::io_context& loop_;
  HbEnv* env_;
  ChildProcesses* children_;
  std::map<pid_t, std::shared_ptr<Job>> runs_;
  std::shared_ptr<bool> alive_;
};

// exit code, or -1 for a signal, from a wait status.
int ExitCodeOf(int wait_status);
// "exit code N" or "killed by signal N".
std::string DescribeWaitStatus(int wait_status);

}  // namespace tandem::heartbeat
