// tandemd: the replicating daemon, one per node.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>

#include "common/cli.h"
#include "common/env.h"
#include "common/log.h"
#include "common/memory.h"
#include "config/drbd_loader.h"
#include "daemon/daemon.h"
#include "io/delayed_device.h"
#include "io/event_loop.h"

namespace {

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03d", buf, ms);
  return out;
}

int SyslogPriority(tandem::LogLevel level) {
  switch (level) {
    case tandem::LogLevel::kDebug:
      return LOG_DEBUG;
    case tandem::LogLevel::kInfo:
      return LOG_INFO;
    case tandem::LogLevel::kNotice:
      return LOG_NOTICE;
    case tandem::LogLevel::kWarning:
      return LOG_WARNING;
    case tandem::LogLevel::kError:
      return LOG_ERR;
  }
  return LOG_INFO;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tandemd: the Tandem replication daemon (one per node)", "tandemd"};
  tandem::CommonOptions common;
  tandem::AddCommonOptions(app, &common);
  std::string config;
  bool foreground = false;
  bool up_all = false;
  std::string log_file;
  app.add_option("-c,--config", config,
                 "drbd.conf-style file (default /etc/tandem/tandem.conf, else /etc/drbd.conf)");
  app.add_flag("-f,--foreground", foreground, "Stay in the foreground, log to stderr");
  app.add_flag("--up", up_all, "Bring every resource up at start (as 'tandemadm up all')");
  app.add_option("--log-file", log_file, "Append log lines to this file");
  int64_t busy_poll_us = tandem::io::kDefaultBusyPoll.count();
  app.add_option("--busy-poll-us", busy_poll_us,
                 "After handling I/O, poll this long before sleeping again (0: never poll; "
                 "see docs/performance.md)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}))
      ->capture_default_str();
  int test_disk_delay_ms = 0;
  bool test_hooks = false;
  app.add_flag("--test-hooks", test_hooks,
               "Testing only: accept test-io-error on the control socket")
      ->group("");
  app.add_option("--test-disk-delay-ms", test_disk_delay_ms,
                 "Testing only: complete every backing-disk write this much later (a slow disk)")
      ->group("");
  int rc = tandem::ParseCommandLine(app, argc, argv, &common);
  if (rc >= 0) return rc;
  if (config.empty()) config = tandem::config::DefaultDrbdConfigPath(tandem::Env::Default());

  tandem::SetLogProgramName("tandemd");
  std::shared_ptr<std::ofstream> log_out;
  if (!log_file.empty()) {
    log_out = std::make_shared<std::ofstream>(log_file, std::ios::app);
    if (!*log_out) {
      std::cerr << "tandemd: cannot open log file " << log_file << "\n";
      return tandem::kExitFailed;
    }
  }
  const std::string node = common.node;
  // In the background without --log-file, messages go to syslog (daemon
  // facility), where /var/log/syslog or the journal shows them, as DRBD's did.
  const bool to_syslog = !foreground && !log_out;
  if (to_syslog) openlog("tandemd", LOG_PID, LOG_DAEMON);
  tandem::SetLogSink([log_out, node, to_syslog](tandem::LogLevel level, const std::string& msg) {
    if (to_syslog) {
      syslog(SyslogPriority(level), "%s: %s", node.c_str(), msg.c_str());
      return;
    }
    std::string line =
        Timestamp() + " tandemd[" + node + "]: " + tandem::LogLevelName(level) + ": " + msg + "\n";
    if (log_out) {
      *log_out << line << std::flush;
    } else {
      std::fputs(line.c_str(), stderr);
    }
  });

  // Classic daemon: fork, new session, stdin/stdout to /dev/null. The parent
  // exits only once the child is ready (below: 0) or has failed (the child's
  // exit code), so an init script can go on with tandemadm; the child keeps
  // stderr until then so that a start-up error reaches the caller.
  int ready_fd = -1;
  if (!foreground) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) {
      std::perror("tandemd: pipe");
      return tandem::kExitFailed;
    }
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("tandemd: fork");
      return tandem::kExitFailed;
    }
    if (pid > 0) {
      close(ready[1]);
      char word = 0;
      ssize_t n;
      do {
        n = read(ready[0], &word, 1);
      } while (n < 0 && errno == EINTR);
      if (n == 1) return 0;
      int status = 0;
      if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        return WEXITSTATUS(status);
      }
      std::cerr << "tandemd: the daemon exited before it was ready\n";
      return tandem::kExitFailed;
    }
    close(ready[0]);
    ready_fd = ready[1];
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
  }

  tandem::RetainFreedIoBuffers();
  // One thread runs it: handlers it posts itself skip the scheduler's lock
  // and wake-up (workers still post from their threads).
  boost::asio::io_context loop(1);
  tandem::io::IoEnv* io_env = tandem::io::IoEnv::Default();
  std::unique_ptr<tandem::io::DelayingIoEnv> slow_disks;
  if (test_disk_delay_ms > 0) {
    slow_disks = std::make_unique<tandem::io::DelayingIoEnv>(
        io_env, std::chrono::milliseconds(test_disk_delay_ms));
    io_env = slow_disks.get();
  }
  std::unique_ptr<tandem::io::FaultPlanIoEnv> fault_plans;
  if (test_hooks) {
    fault_plans = std::make_unique<tandem::io::FaultPlanIoEnv>(io_env);
    io_env = fault_plans.get();
  }
  tandem::daemon::Daemon daemon(loop, {common.node, config, common.run_dir, fault_plans.get()},
                                tandem::Env::Default(), io_env);
  tandem::Status st = daemon.Start();
  if (!st.ok()) {
    std::cerr << "tandemd: " << st.message() << "\n";
    tandem::Log(tandem::LogLevel::kError, "not started: " + st.message());
    return tandem::kExitConfigInvalid;
  }
  {
    std::ofstream pid(common.run_dir + "/tandemd.pid", std::ios::trunc);
    pid << getpid() << "\n";
  }
  // Ready: serving, and with --up every resource's up has finished (attached
  // and waiting for its peer, or failed), so that `tandemd --up && tandemadm
  // primary r0` never finds the disk still Diskless. Tell the parent, then
  // hold none of the caller's terminal or pipes.
  auto signal_ready = [&ready_fd] {
    if (ready_fd < 0) return;
    const char word = 1;
    if (write(ready_fd, &word, 1) != 1) {
      // The parent is gone; nobody waits for the word.
    }
    close(ready_fd);
    ready_fd = -1;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) dup2(null, 2);
  };
  if (up_all && !daemon.resources().empty()) {
    auto pending = std::make_shared<size_t>(daemon.resources().size());
    for (const auto& [name, r] : daemon.resources()) {
      r->Up([n = name, pending, &signal_ready, &ready_fd](tandem::Status s) {
        if (!s.ok()) {
          tandem::Log(tandem::LogLevel::kError, n + ": up: " + s.message());
          // Still the caller's stderr: the failure shows where tandemd was started.
          if (ready_fd >= 0) std::cerr << "tandemd: " << n << ": up: " << s.message() << "\n";
        }
        if (--*pending == 0) signal_ready();
      });
    }
  } else {
    signal_ready();
  }
  boost::asio::signal_set signals(loop, SIGTERM, SIGINT, SIGHUP);
  bool stopping = false;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          tandem::Log(tandem::LogLevel::kInfo, "SIGHUP: re-reading the configuration");
          (void)daemon.Reload();
        } else if (!stopping) {
          stopping = true;
          tandem::Log(tandem::LogLevel::kInfo, "shutting down");
          daemon.Shutdown([&loop] { loop.stop(); });
        }
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  // Polls only while no bulk disk transfer is in flight (io/event_loop.h).
  tandem::io::RunEventLoop(loop, std::chrono::microseconds(busy_poll_us),
                           [] { return tandem::io::BulkIoInFlight() == 0; });
  std::remove((common.run_dir + "/tandemd.pid").c_str());
  tandem::Log(tandem::LogLevel::kInfo, "stopped");
  return 0;
}
