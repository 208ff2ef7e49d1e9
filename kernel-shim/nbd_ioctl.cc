#include "nbd_ioctl.h"

#include <fcntl.h>
#include <linux/nbd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "device_paths.h"

namespace tandem::shim {
namespace {

std::string Dev(int index) {
  return "/dev/nbd" + std::to_string(index);
}
std::string Sys(int index) {
  return "/sys/block/nbd" + std::to_string(index);
}

}  // namespace

bool NbdDeviceLive(int index) {
  const std::string size = ReadSmallFile(Sys(index) + "/size");
  return !size.empty() && size != "0";
}

Result<int> IoctlFindFree() {
  for (int i = 0; i < 1024; ++i) {
    if (::access(Sys(i).c_str(), F_OK) != 0) break;
    if (::access((Sys(i) + "/pid").c_str(), F_OK) == 0 || NbdDeviceLive(i)) continue;
    return i;
  }
  return Status::Busy("no free /dev/nbdN (all configured, or the nbd module has none: nbds_max)");
}

Result<pid_t> IoctlConnect(const NbdDeviceParams& p, int sock, const std::string& log_file,
                           int timeout_ms, const std::vector<int>& close_fds) {
  const std::string dev = Dev(p.index);
  const int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    ::close(sock);
    return Status::FromErrno(err, "open " + dev);
  }
  auto fail = [&](const std::string& what) -> Status {
    const int err = errno;
    ::ioctl(fd, NBD_CLEAR_SOCK);
    ::close(fd);
    ::close(sock);
    return Status::FromErrno(err, what + " on " + dev);
  };
  if (::ioctl(fd, NBD_SET_BLKSIZE, static_cast<unsigned long>(p.block_size)) < 0) {
    return fail("NBD_SET_BLKSIZE " + std::to_string(p.block_size));
  }
  if (::ioctl(fd, NBD_SET_SIZE_BLOCKS, static_cast<unsigned long>(p.size / p.block_size)) < 0) {
    return fail("NBD_SET_SIZE_BLOCKS");
  }
  if (::ioctl(fd, NBD_SET_TIMEOUT, static_cast<unsigned long>(p.timeout_s)) < 0) {
    return fail("NBD_SET_TIMEOUT");
  }
  if (::ioctl(fd, NBD_SET_FLAGS, static_cast<unsigned long>(p.server_flags)) < 0) {
    return fail("NBD_SET_FLAGS");
  }
  if (::ioctl(fd, NBD_SET_SOCK, static_cast<unsigned long>(sock)) < 0) return fail("NBD_SET_SOCK");

  const pid_t pid = ::fork();
  if (pid < 0) return fail("fork");
  if (pid == 0) {
    // The holder: its own session, stdio to the log, NBD_DO_IT until disconnected.
    for (int f : close_fds) ::close(f);
    ::setsid();
    const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) ::dup2(null, 0);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    const int rc = ::ioctl(fd, NBD_DO_IT);
    const int err = errno;
    ::ioctl(fd, NBD_CLEAR_QUE);
    ::ioctl(fd, NBD_CLEAR_SOCK);
    if (rc < 0 && err != 0) {
      dprintf(2, "tandem-attach: %s: NBD_DO_IT ended: %s\n", dev.c_str(), strerror(err));
    }
    _exit(0);
  }
  ::close(sock);  // the kernel holds its own reference
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!NbdDeviceLive(p.index)) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ::close(fd);
      return Status::IoError("NBD_DO_IT on " + dev + " ended at once (see " + log_file + ")");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::ioctl(fd, NBD_DISCONNECT);
      ::close(fd);
      return Status::Timeout(dev + " did not come up");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::close(fd);
  return pid;
}

Status IoctlDisconnect(int index) {
  const std::string dev = Dev(index);
  const int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + dev);
  ::fsync(fd);
  const int rc = ::ioctl(fd, NBD_DISCONNECT);
  const int err = errno;
  ::close(fd);
  if (rc < 0) return Status::FromErrno(err, "NBD_DISCONNECT on " + dev);
  return Status::Ok();
}

}  // namespace tandem::shim
