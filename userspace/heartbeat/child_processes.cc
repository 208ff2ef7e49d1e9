#include "heartbeat/child_processes.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>

namespace tandem::heartbeat {

namespace asio = boost::asio;

int ExitCodeOf(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit code " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return "killed by signal " + std::to_string(WTERMSIG(wait_status));
  return "wait status " + std::to_string(wait_status);
}

ChildProcesses::ChildProcesses(asio::io_context& loop, HbEnv* env)
    : sigchld_(loop, SIGCHLD), env_(env), alive_(std::make_shared<bool>(true)) {
  Arm();
}

ChildProcesses::~ChildProcesses() {
  *alive_ = false;
  boost::system::error_code ec;
  sigchld_.cancel(ec);
}

void ChildProcesses::Arm() {
  auto alive = alive_;
  sigchld_.async_wait([this, alive](const boost::system::error_code& ec, int) {
    if (!*alive || ec) return;
    ReapNow();
    Arm();
  });
}

void ChildProcesses::Watch(pid_t pid, ExitCallback done) {
  watchers_[pid] = std::move(done);
}

void ChildProcesses::ReapNow() {
  while (auto exit = env_->ReapChild()) {
    auto it = watchers_.find(exit->pid);
    if (it == watchers_.end()) continue;  // not ours to report (or already abandoned)
    ExitCallback cb = std::move(it->second);
    watchers_.erase(it);
    cb(exit->wait_status);
  }
}

struct ScriptRunner::Job {
  Job(asio::io_context& loop, int fd) : pipe(loop), timer(loop) {
    if (fd >= 0) pipe.assign(fd);
  }
  pid_t pid = -1;
  asio::posix::stream_descriptor pipe;
  asio::steady_timer timer;
  char buf[4096];
  ScriptResult result;
  bool timed_out = false;
  bool read_pending = false;
  bool exited = false;
  int wait_status = 0;
  Done done;
};

ScriptRunner::ScriptRunner(asio::io_context& loop, HbEnv* env, ChildProcesses* children)
    : loop_(loop), env_(env), children_(children), alive_(std::make_shared<bool>(true)) {}

ScriptRunner::~ScriptRunner() {
  *alive_ = false;
  for (auto& [pid, run] : runs_) {
    boost::system::error_code ec;
    run->pipe.close(ec);
    run->timer.cancel();
  }
}

void ScriptRunner::Run(const std::vector<std::string>& argv,
                       const std::vector<std::string>& environment, int64_t timeout_ms,
                       Done done) {
  SpawnOptions options;
  options.argv = argv;
  options.env = environment;
  options.capture_output = true;
  auto spawned = env_->Spawn(options);
  if (!spawned.ok()) {
    ScriptResult r;
    r.exit_code = 127;
    r.output = spawned.status().message();
    auto alive = alive_;
    asio::post(loop_, [alive, done = std::move(done), r] {
      if (*alive) done(r);
    });
    return;
  }
  auto run = std::make_shared<Job>(loop_, spawned->output_fd);
  run->pid = spawned->pid;
  run->done = std::move(done);
  runs_[run->pid] = run;
  auto alive = alive_;
  children_->Watch(run->pid, [this, alive, run](int status) {
    if (*alive) Finish(run, status);
  });
  if (timeout_ms > 0) {
    run->timer.expires_after(std::chrono::milliseconds(timeout_ms));
    run->timer.async_wait([this, alive, run](const boost::system::error_code& ec) {
      if (!*alive || ec || runs_.count(run->pid) == 0) return;
      run->timed_out = true;
      (void)env_->Signal(run->pid, SIGKILL, /*group=*/true);
    });
  }
  ReadMore(run);
}

void ScriptRunner::ReadMore(const std::shared_ptr<Job>& job) {
  if (!job->pipe.is_open()) return;
  auto alive = alive_;
  job->read_pending = true;
  job->pipe.async_read_some(
      asio::buffer(job->buf), [this, alive, job](const boost::system::error_code& ec, size_t n) {
        job->read_pending = false;
        if (!*alive) return;
        // Data read before a cancel still counts: the exit may have raced it.
        Append(job, n);
        if (job->exited) {
          Complete(job);
          return;
        }
        if (ec) {  // end of file or error: the exit will finish the run
          boost::system::error_code ignored;
          job->pipe.close(ignored);
          return;
        }
        ReadMore(job);
      });
}

void ScriptRunner::Append(const std::shared_ptr<Job>& job, size_t n) {
  std::string& out = job->result.output;
  if (n > 0 && out.size() < kMaxOutputBytes) out.append(job->buf, std::min(n, kMaxOutputBytes - out.size()));
}

void ScriptRunner::Finish(const std::shared_ptr<Job>& job, int wait_status) {
  job->exited = true;
  job->wait_status = wait_status;
  job->timer.cancel();
  if (job->read_pending) {
    // Let the pending read finish first (with what it got, or aborted).
    boost::system::error_code ec;
    job->pipe.cancel(ec);
    return;
  }
  Complete(job);
}

void ScriptRunner::Complete(const std::shared_ptr<Job>& job) {
  if (runs_.erase(job->pid) == 0) return;  // already completed
  if (job->pipe.is_open()) {
    // Whatever it wrote before exiting is in the pipe now. Bounded: a
    // background child of the script may go on writing.
    const int fd = job->pipe.native_handle();
    for (int reads = 0; reads < 64; ++reads) {
      ssize_t n = ::read(fd, job->buf, sizeof job->buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      Append(job, static_cast<size_t>(n));
    }
    boost::system::error_code ec;
    job->pipe.close(ec);
  }
  job->result.exit_code = ExitCodeOf(job->wait_status);
  job->result.signal = WIFSIGNALED(job->wait_status) ? WTERMSIG(job->wait_status) : 0;
  job->result.timed_out = job->timed_out;
  Done done = std::move(job->done);
  done(job->result);
}

}  // namespace tandem::heartbeat
