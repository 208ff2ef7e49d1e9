#pragma once
// Block-device facts and the configured device path: device numbers, the
// mount points that use a device (from /proc/self/mountinfo, matched by
// major:minor, partitions included), and the symlink from the configured
// `device` path (/dev/drbd0) to the real block device.
//
// Thread-safety: plain functions. Failure: Status values naming the path.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace tandem::shim {

// st_rdev of a block device path (symlinks followed).
Result<dev_t> BlockDeviceNumber(const std::string& path);

struct MountUse {
  std::string mount_point;
  std::string source;  // as mountinfo shows it
  std::string device;  // "major:minor" that matched
};
// Mounts of `dev` or of one of its partitions, from `mountinfo` (normally
// /proc/self/mountinfo).
std::vector<MountUse> FindMounts(dev_t dev, const std::string& mountinfo = "/proc/self/mountinfo");

// The device numbers of `dev` and its partitions (from /sys/dev/block).
std::vector<dev_t> DeviceAndPartitions(dev_t dev);

// Points `link` at `target` (atomically, by rename): refuses when `link`
// exists and is not a symlink (a real device node or file is never replaced),
// or is a symlink to another path that still exists; a dangling one is replaced.
Status MakeDeviceLink(const std::string& link, const std::string& target);
// Removes `link` when it is a symlink to `target` (anything else is left).
Status RemoveDeviceLink(const std::string& link, const std::string& target);

// "/dev/loop3" -> "loop3".
std::string BaseName(const std::string& path);
// Reads a small sysfs/proc file, trimmed; "" when unreadable.
std::string ReadSmallFile(const std::string& path);

}  // namespace tandem::shim
