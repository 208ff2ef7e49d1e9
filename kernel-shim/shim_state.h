#pragma once
// ShimState: what tandem-attach remembers about one attached resource, in
// <run-dir>/shim/<resource>.state (JSON), so that detach and status work from
// any later process. Also the per-resource lock that serialises attach and
// detach of one resource across processes.
//
// Contract: Save() writes atomically (temporary file + rename); Load() returns
// NotFound when the resource is not attached, Corruption naming the file when
// it cannot be parsed. ProcessAlive() tells whether the recorded background
// process (FUSE server or ioctl NBD_DO_IT holder) still runs: same pid, same
// start time, not a zombie.
// Thread-safety: plain functions on files; the lock is per process (flock).
// Failure: Status values naming the file.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace tandem::shim {

enum class Mode { kFuse, kKernelNetlink, kKernelIoctl };
const char* ModeName(Mode mode);  // "fuse", "kernel-netlink", "kernel-ioctl"

struct ShimState {
  std::string resource;
  Mode mode = Mode::kFuse;
  std::string block_device;  // /dev/loopN or /dev/nbdN
  std::string link;          // the configured device path (symlink to block_device)
  std::string endpoint;      // what we connected to (unix path or host:port)
  uint64_t size = 0;
  uint32_t block_size = 0;
  int nbd_index = -1;      // kernel modes
  pid_t pid = 0;           // background process (fuse, kernel-ioctl); 0: none
  uint64_t pid_start = 0;  // its start time (/proc/<pid>/stat field 22)
  std::string fuse_mount;  // fuse mode: the mount point
  std::string fuse_file;   // fuse mode: the file the loop device reads
  std::string log_file;    // background process's log
};

std::string ShimDir(const std::string& run_dir);
std::string StatePath(const std::string& run_dir, const std::string& resource);

Status SaveState(const std::string& run_dir, const ShimState& state);
Result<ShimState> LoadState(const std::string& run_dir, const std::string& resource);
Status RemoveState(const std::string& run_dir, const std::string& resource);
// Resources with a state file.
std::vector<std::string> ListStates(const std::string& run_dir);

// /proc/<pid>/stat start time, 0 when the process does not exist.
uint64_t ProcessStartTime(pid_t pid);
bool ProcessAlive(pid_t pid, uint64_t start_time);

// An exclusive flock on <run-dir>/shim/<resource>.lock, waited for at most
// `timeout_ms`; released by the destructor.
class ResourceLock {
 public:
  static Result<ResourceLock> Acquire(const std::string& run_dir, const std::string& resource,
                                      int timeout_ms);
  ResourceLock(ResourceLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ResourceLock& operator=(ResourceLock&&) = delete;
  ResourceLock(const ResourceLock&) = delete;
  ~ResourceLock();
  // For a forked child that must not keep the lock: close it there.
  int fd() const { return fd_; }

 private:
  explicit ResourceLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace tandem::shim
