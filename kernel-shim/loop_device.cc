#include "loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "device_paths.h"

namespace tandem::shim {
namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string LoopBackingFile(const std::string& device) {
  return ReadSmallFile("/sys/block/" + BaseName(device) + "/loop/backing_file");
}

Result<LoopDevice> AttachLoop(const std::string& file, uint32_t block_size,
                              const std::string& tag) {
  LoopDevice dev;
  dev.direct_io = true;
  Fd backing(::open(file.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC));
  if (backing.fd < 0 && errno == EINVAL) {
    dev.direct_io = false;
    backing.fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (backing.fd < 0) return Status::FromErrno(errno, "open " + file);
  Fd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (control.fd < 0) return Status::FromErrno(errno, "open /dev/loop-control");

  for (int attempt = 0; attempt < 8; ++attempt) {
    const int index = ::ioctl(control.fd, LOOP_CTL_GET_FREE);
    if (index < 0) return Status::FromErrno(errno, "LOOP_CTL_GET_FREE on /dev/loop-control");
    const std::string path = "/dev/loop" + std::to_string(index);
    Fd loop(-1);
    for (int i = 0; i < 100 && loop.fd < 0; ++i) {  // udev may still be creating the node
      loop.fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (loop.fd < 0 && errno != ENOENT) break;
      if (loop.fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (loop.fd < 0) return Status::FromErrno(errno, "open " + path);
    loop_config cfg{};
    cfg.fd = static_cast<uint32_t>(backing.fd);
    cfg.block_size = block_size;
    cfg.info.lo_flags = dev.direct_io ? LO_FLAGS_DIRECT_IO : 0;
    std::strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), tag.c_str(), LO_NAME_SIZE - 1);
    if (::ioctl(loop.fd, LOOP_CONFIGURE, &cfg) == 0) {
      dev.index = index;
      dev.path = path;
      // The kernel may have refused direct I/O on this file: report what it does.
      const std::string dio =
          ReadSmallFile("/sys/block/loop" + std::to_string(index) + "/loop/dio");
      if (!dio.empty()) dev.direct_io = dio == "1";
      return dev;
    }
    if (errno != EBUSY) {
      return Status::FromErrno(errno, "LOOP_CONFIGURE " + path + " on " + file + " (block size " +
                                          std::to_string(block_size) + ")");
    }
    // Someone else took it between GET_FREE and CONFIGURE: try another.
  }
  return Status::Busy("no free loop device for " + file + " after 8 attempts");
}

Status DetachLoop(const std::string& device, int timeout_ms) {
  Fd loop(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (loop.fd < 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::FromErrno(errno, "open " + device);
  }
  if (::fsync(loop.fd) != 0) {
    // Data written through the device could not be flushed: say so, but still detach.
    const int err = errno;
    if (err != EIO && err != ENXIO) return Status::FromErrno(err, "fsync " + device);
  }
  if (::ioctl(loop.fd, LOOP_CLR_FD, 0) != 0 && errno != ENXIO) {
    return Status::FromErrno(errno, "LOOP_CLR_FD " + device);
  }
  ::close(loop.fd);
  loop.fd = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!LoopBackingFile(device).empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Timeout(device + " is still bound to " + LoopBackingFile(device) +
                             " (held open by another process?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Ok();
}

}  // namespace tandem::shim
