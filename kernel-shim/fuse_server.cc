#include "fuse_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "common/memory.h"
#include "fuse_export.h"
#include "nbd/blocking_client.h"
#include "shim_state.h"

namespace tandem::shim {
namespace {

void Report(int fd, const std::string& line) {
  const std::string l = line + "\n";
  [[maybe_unused]] ssize_t n = ::write(fd, l.data(), l.size());
}

// Runs in the server process; never returns.
[[noreturn]] void ServeFuse(const FuseServerConfig& c, int report_fd) {
  ::prctl(PR_SET_NAME, "tandem-fuse", 0, 0, 0);
  RetainFreedIoBuffers();  // a read buffer per request (fuse_export.cc)
  SetLogProgramName("tandem-attach[fuse " + c.resource + "]");
  SetLogSink([](LogLevel level, const std::string& msg) {
    char when[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
    std::fprintf(stderr, "%s tandem-attach: %s: %s\n", when, LogLevelName(level), msg.c_str());
    std::fflush(stderr);
  });
  Report(report_fd, "PID " + std::to_string(::getpid()));
  ::mkdir(c.mount_point.c_str(), 0700);
  nbd::BlockingClient client(std::chrono::milliseconds(120000),
                             std::chrono::microseconds(c.busy_poll_us));
  nbd::ClientOptions o;
  o.export_name = c.export_name;
  o.connect_timeout = std::chrono::milliseconds(c.timeout_ms);
  Status st = client.Connect(c.endpoint, o);
  if (!st.ok()) {
    Report(report_fd, "ERR cannot connect to the export: " + st.message());
    _exit(1);
  }
  const auto& info = client.info();
  {
    FuseExport fx(c.resource, &client);
    st = fx.Mount(c.mount_point);
    if (!st.ok()) {
      Report(report_fd, "ERR " + st.message());
      _exit(1);
    }
    std::ostringstream ok;
    ok << "OK " << fx.file_path() << " " << info.size << " " << info.block_sizes.minimum << " "
       << info.block_sizes.preferred << " " << info.flags;
    Report(report_fd, ok.str());
    ::close(report_fd);
    Log(LogLevel::kInfo, c.resource + ": serving " + c.endpoint.ToString() + " as " +
                             fx.file_path() + " (" + std::to_string(info.size) + " bytes)");
    st = fx.Run(c.threads);
    if (!st.ok()) Log(LogLevel::kError, c.resource + ": " + st.ToString());
    fx.Unmount();
  }
  Status fl = (info.flags & 4 /*SEND_FLUSH*/) ? client.Flush() : Status::Ok();
  if (!fl.ok()) Log(LogLevel::kWarning, c.resource + ": final flush: " + fl.ToString());
  (void)client.Disconnect();
  ::rmdir(c.mount_point.c_str());
  Log(LogLevel::kInfo, c.resource + ": FUSE server stopped");
  _exit(st.ok() ? 0 : 1);
}

}  // namespace

Result<FuseServerInfo> StartFuseServer(const FuseServerConfig& c) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  const pid_t child = ::fork();
  if (child < 0) return Status::FromErrno(errno, "fork");
  if (child == 0) {
    ::close(p[0]);
    for (int fd : c.close_fds) ::close(fd);
    ::setsid();
    const pid_t server = ::fork();
    if (server != 0) _exit(server < 0 ? 1 : 0);
    const int log = ::open(c.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(null, 0);
    ::dup2(log >= 0 ? log : null, 1);
    ::dup2(log >= 0 ? log : null, 2);
    ::umask(077);
    ServeFuse(c, p[1]);
  }
  ::close(p[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  // The server writes "PID n", then "OK ..." or "ERR ..."; read until one of those.
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(c.timeout_ms);
  auto final_line = [&]() -> std::string {
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l)) {
      if (in.eof()) break;  // not complete yet
      if (l.rfind("OK ", 0) == 0 || l.rfind("ERR ", 0) == 0) return l;
    }
    return "";
  };
  char buf[1024];
  while (final_line().empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) break;
    pollfd pf{p[0], POLLIN, 0};
    if (::poll(&pf, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(p[0]);
  FuseServerInfo info;
  if (text.rfind("PID ", 0) == 0) info.pid = static_cast<pid_t>(std::atoi(text.c_str() + 4));
  info.pid_start = ProcessStartTime(info.pid);
  const std::string line = final_line();
  if (line.rfind("ERR ", 0) == 0) {
    StopFuseServer(info.pid, info.pid_start, c.mount_point, 2000);
    return Status::IoError(line.substr(4) + " (log: " + c.log_file + ")");
  }
  std::istringstream in(line);
  std::string ok;
  in >> ok >> info.file >> info.size >> info.min_block >> info.preferred_block >> info.flags;
  if (ok != "OK" || !in || info.pid <= 0) {
    StopFuseServer(info.pid, info.pid_start, c.mount_point, 2000);
    return Status::Timeout("the FUSE server for " + c.resource + " did not come up within " +
                           std::to_string(c.timeout_ms / 1000) + " s (log: " + c.log_file + ")");
  }
  return info;
}

void StopFuseServer(pid_t pid, uint64_t pid_start, const std::string& mount_point, int timeout_ms) {
  if (ProcessAlive(pid, pid_start)) {
    ::kill(pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (ProcessAlive(pid, pid_start) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (ProcessAlive(pid, pid_start)) ::kill(pid, SIGKILL);
  }
  if (!mount_point.empty()) {
    ::umount2(mount_point.c_str(), MNT_DETACH);
    ::rmdir(mount_point.c_str());
  }
}

}  // namespace tandem::shim
