#include "mode_select.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "nbd_netlink.h"

namespace tandem::shim {
namespace {

bool NbdModulePresent() {
  return ::access("/sys/module/nbd", F_OK) == 0 || ::access("/dev/nbd0", F_OK) == 0;
}

std::string FirstLine(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  return line.empty() ? "no output" : line;
}

}  // namespace

int RunProgram(const std::vector<std::string>& argv, int timeout_ms, std::string* output) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return -1;
  }
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    dprintf(2, "cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  ::close(pipefd[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    if (output) output->append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Result<ModeChoice> ChooseMode(const std::string& requested, const std::string& kernel_api) {
  ModeChoice c;
  if (requested == "fuse") {
    c.reason = "FUSE + loop (--mode fuse)";
    return c;
  }
  std::string why_not;
  bool have_module = NbdModulePresent();
  if (have_module) {
    c.reason = "the nbd module is loaded";
  } else {
    std::string out;
    const int rc = RunProgram({"modprobe", "nbd"}, 10000, &out);
    have_module = rc == 0 && NbdModulePresent();
    if (have_module) {
      c.reason = "`modprobe nbd` loaded the nbd module";
    } else {
      why_not = "the nbd module is not loaded and `modprobe nbd` failed (" +
                (rc < 0 ? std::string("did not run") : "exit " + std::to_string(rc)) + ": " +
                FirstLine(out) + ")";
    }
  }
  if (!have_module) {
    if (requested == "kernel") return Status::NotSupported("--mode kernel: " + why_not);
    c.mode = Mode::kFuse;
    c.reason = "FUSE + loop, because " + why_not;
    return c;
  }
  const bool netlink = kernel_api != "ioctl" && NetlinkAvailable();
  if (kernel_api == "netlink" && !netlink) {
    return Status::NotSupported(
        "--kernel-api netlink: the kernel has no generic-netlink family \"nbd\"");
  }
  c.mode = netlink ? Mode::kKernelNetlink : Mode::kKernelIoctl;
  c.reason = "kernel nbd (" + c.reason + "), " +
             (netlink                 ? "configured through generic netlink"
              : kernel_api == "ioctl" ? "configured through ioctls (--kernel-api ioctl)"
                                      : "configured through ioctls (no netlink family)");
  return c;
}

}  // namespace tandem::shim
