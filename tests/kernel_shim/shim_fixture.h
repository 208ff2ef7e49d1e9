#pragma once
// A two-node cluster (tests/daemon/cluster.h) whose configured `device` path
// lives in the scratch directory, plus what the kernel-shim tests need around
// it: running tandem-attach for a node, mounting, and a destructor that
// unmounts, detaches, stops FUSE servers and frees loop devices even when the
// test failed (it runs before the cluster's daemons are killed). Every wait
// is bounded.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cluster.h"
#include "device_paths.h"
#include "fuse_server.h"
#include "io/aligned_buffer.h"
#include "loop_device.h"
#include "shim_state.h"

namespace tandem::testing {

inline const std::string kTandemAttach = TANDEM_ATTACH_PATH;

// Why the FUSE + loop path cannot run here ("" when it can).
inline std::string FuseLoopMissing() {
  if (::geteuid() != 0) return "not root";
  if (::access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse";
  if (::access("/dev/loop-control", R_OK | W_OK) != 0) return "/dev/loop-control";
  for (const char* tool : {"/usr/bin/fio", "/usr/sbin/mkfs.ext4", "/usr/sbin/blkdiscard"}) {
    if (::access(tool, X_OK) != 0) return tool;
  }
  return "";
}

// `len` bytes at `offset` of a block device, read with O_DIRECT ("" on error).
inline std::string ReadDevice(const std::string& dev, uint64_t offset, size_t len) {
  const int fd = ::open(dev.c_str(), O_RDONLY | O_DIRECT);
  if (fd < 0) return "";
  auto buf = io::AlignedBuffer::Uninitialized(len);
  const ssize_t n = ::pread(fd, buf.data(), len, static_cast<off_t>(offset));
  ::close(fd);
  return std::string(reinterpret_cast<const char*>(buf.data()), n > 0 ? static_cast<size_t>(n) : 0);
}

// Writes `data` at `offset` of a block device with O_DIRECT, then fsync.
inline bool WriteDevice(const std::string& dev, uint64_t offset, const std::vector<uint8_t>& data) {
  const int fd = ::open(dev.c_str(), O_WRONLY | O_DIRECT);
  if (fd < 0) return false;
  auto buf = io::AlignedBuffer::Uninitialized(data.size());
  std::memcpy(buf.data(), data.data(), data.size());
  const bool ok = ::pwrite(fd, buf.data(), data.size(), static_cast<off_t>(offset)) ==
                      static_cast<ssize_t>(data.size()) &&
                  ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}

class ShimCluster {
 public:
  explicit ShimCluster(ClusterOptions o = {}) : c(std::move(o)) {
    ::mkdir((c.dir().path() + "/dev").c_str(), 0755);
    for (int n = 0; n < 2; ++n) {
      std::string conf = ReadFileOrEmpty(c.conf(n));
      for (size_t at = conf.find("device /dev/drbd0"); at != std::string::npos;
           at = conf.find("device /dev/drbd0", at + 1)) {
        conf.replace(at, std::string("device /dev/drbd0").size(), "device " + link());
      }
      c.dir().Write(std::string("node-") + Cluster::kNames[n] + ".conf", conf);
    }
    ::setenv("TANDEM_ATTACH", kTandemAttach.c_str(), 1);
  }

  ~ShimCluster() {
    for (int n = 0; n < 2; ++n) Cleanup(n);
  }

  // The configured device path (a symlink while attached).
  std::string link() const { return c.dir().path() + "/dev/drbd0"; }

  CommandResult Attach(int n, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        kTandemAttach, "-c",         c.conf(n),   "--node", Cluster::kNames[n],
        "--run-dir",   c.run_dir(n), "--timeout", "30"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("attach");
    argv.push_back("r0");
    return RunCommand(argv, 90);
  }
  CommandResult Shim(int n, std::vector<std::string> args) {
    std::vector<std::string> argv = {kTandemAttach,      "-c",        c.conf(n),   "--node",
                                     Cluster::kNames[n], "--run-dir", c.run_dir(n)};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 90);
  }

  Result<shim::ShimState> State(int n) { return shim::LoadState(c.run_dir(n), "r0"); }

  // Mounts `dev` at a fresh directory; remembered for cleanup.
  std::string Mount(const std::string& dev, const std::string& name,
                    const std::string& fstype = "ext4") {
    const std::string mp = c.dir().path() + "/" + name;
    ::mkdir(mp.c_str(), 0755);
    auto r = RunCommand({"/usr/bin/mount", "-t", fstype, dev, mp}, 60);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    if (r.exit_code == 0) mounts_.push_back(mp);
    return mp;
  }
  bool Umount(const std::string& mp) {
    auto r = RunCommand({"/usr/bin/umount", mp}, 60);
    if (r.exit_code == 0) std::erase(mounts_, mp);
    return r.exit_code == 0;
  }

  Cluster c;

 private:
  void Cleanup(int n) {
    for (const auto& mp : mounts_) {
      if (::umount2(mp.c_str(), 0) != 0) ::umount2(mp.c_str(), MNT_DETACH);
    }
    mounts_.clear();
    auto s = State(n);
    if (!s.ok()) return;
    if (auto dev = shim::BlockDeviceNumber(s->block_device); dev.ok()) {
      for (const auto& m : shim::FindMounts(*dev)) ::umount2(m.mount_point.c_str(), MNT_DETACH);
    }
    Shim(n, {"detach", "r0"});
    s = State(n);
    if (!s.ok()) return;
    // detach failed: take it apart by hand.
    if (s->mode == shim::Mode::kFuse) {
      (void)shim::DetachLoop(s->block_device, 5000);
      shim::StopFuseServer(s->pid, s->pid_start, s->fuse_mount, 5000);
    }
    (void)shim::RemoveDeviceLink(s->link, s->block_device);
    (void)shim::RemoveState(c.run_dir(n), "r0");
  }

  std::vector<std::string> mounts_;
};

}  // namespace tandem::testing
