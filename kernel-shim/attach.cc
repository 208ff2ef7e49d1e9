#include "attach.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/log.h"
#include "device_paths.h"
#include "fuse_server.h"
#include "kernel_handshake.h"
#include "loop_device.h"
#include "mode_select.h"
#include "nbd/wire.h"
#include "nbd_ioctl.h"
#include "nbd_netlink.h"

namespace tandem::shim {
namespace {

using Clock = std::chrono::steady_clock;

int Ms(const AttachOptions& o) {
  return o.timeout_s * 1000;
}

std::string MiB(uint64_t bytes) {
  return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB"
                                : std::to_string(bytes) + " bytes";
}

Result<uint32_t> BlockSizeFor(const ResourceTarget& t, const AttachOptions& o, uint32_t min_block) {
  const uint32_t floor = std::max<uint32_t>(512, min_block);
  const uint32_t bs = o.block_size ? o.block_size : floor;
  if (bs < floor || bs > 4096 || (bs & (bs - 1)) != 0) {
    return Status::InvalidArgument(t.name + ": block size " + std::to_string(bs) +
                                   " is not usable (a power of two from " + std::to_string(floor) +
                                   " to 4096; the export's minimum is " +
                                   std::to_string(min_block) + ")");
  }
  return bs;
}

// Waits until `path` is a block device (devtmpfs/udev may lag).
Status WaitForNode(const std::string& path, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!BlockDeviceNumber(path).ok()) {
    if (Clock::now() > deadline) return Status::Timeout(path + " did not appear");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status::Ok();
}

// Undoes whatever a state records, best effort (stale state, failed attach).
void TearDown(const ShimState& s, const AttachOptions& o) {
  switch (s.mode) {
    case Mode::kFuse:
      if (!s.block_device.empty() && !s.fuse_file.empty() &&
          LoopBackingFile(s.block_device).rfind(s.fuse_file, 0) == 0) {
        (void)DetachLoop(s.block_device, Ms(o));
      }
      StopFuseServer(s.pid, s.pid_start, s.fuse_mount, Ms(o));
      break;
    case Mode::kKernelNetlink:
      if (s.nbd_index >= 0 && NbdDeviceLive(s.nbd_index)) (void)NetlinkDisconnect(s.nbd_index);
      break;
    case Mode::kKernelIoctl:
      if (s.nbd_index >= 0 && NbdDeviceLive(s.nbd_index)) (void)IoctlDisconnect(s.nbd_index);
      break;
  }
  if (!s.link.empty() && !s.block_device.empty()) (void)RemoveDeviceLink(s.link, s.block_device);
}

Result<ShimState> AttachFuse(const ResourceTarget& t, const AttachOptions& o, int lock_fd) {
  ShimState s;
  s.resource = t.name;
  s.mode = Mode::kFuse;
  s.link = t.device_path;
  s.endpoint = t.endpoint.ToString();
  s.fuse_mount = ShimDir(o.run_dir) + "/" + t.name + ".fuse";
  s.log_file = ShimDir(o.run_dir) + "/" + t.name + ".log";
  ::umount2(s.fuse_mount.c_str(), MNT_DETACH);  // a dead server's mount, if any
  FuseServerConfig c;
  c.resource = t.name;
  c.endpoint = t.endpoint;
  c.export_name = t.export_name;
  c.mount_point = s.fuse_mount;
  c.log_file = s.log_file;
  c.threads = o.fuse_threads;
  c.busy_poll_us = o.fuse_busy_poll_us;
  c.timeout_ms = Ms(o);
  c.close_fds = {lock_fd};
  Result<FuseServerInfo> server = StartFuseServer(c);
  if (!server.ok()) return server.status().WithContext(t.name);
  s.pid = server->pid;
  s.pid_start = server->pid_start;
  s.fuse_file = server->file;
  s.size = server->size;
  Result<uint32_t> bs = BlockSizeFor(t, o, server->min_block);
  if (!bs.ok()) {
    TearDown(s, o);
    return bs.status();
  }
  s.block_size = *bs;
  Result<LoopDevice> loop = AttachLoop(s.fuse_file, s.block_size, "tandem:" + t.name);
  if (!loop.ok()) {
    TearDown(s, o);
    return loop.status().WithContext(t.name);
  }
  s.block_device = loop->path;
  if (!loop->direct_io) {
    Log(LogLevel::kWarning, t.name + ": " + loop->path +
                                " runs without direct I/O (the kernel refused it on " +
                                s.fuse_file + ")");
  }
  return s;
}

Result<std::vector<KernelConnection>> ConnectKernelSockets(const ResourceTarget& t,
                                                           const AttachOptions& o) {
  std::vector<KernelConnection> conns;
  for (int i = 0; i < std::max(1, o.connections); ++i) {
    Result<KernelConnection> c = ConnectForKernel(t.endpoint, t.export_name, Ms(o));
    if (!c.ok()) {
      for (auto& k : conns) ::close(k.fd);
      return c.status().WithContext(t.name);
    }
    conns.push_back(*c);
    if (i == 0 && !(c->info.flags & nbd::kFlagCanMultiConn)) break;  // one is all it allows
  }
  return conns;
}

Result<ShimState> AttachKernel(const ResourceTarget& t, const AttachOptions& o, Mode mode,
                               int lock_fd) {
  ShimState s;
  s.resource = t.name;
  s.mode = mode;
  s.link = t.device_path;
  s.endpoint = t.endpoint.ToString();
  s.log_file = ShimDir(o.run_dir) + "/" + t.name + ".log";
  Result<std::vector<KernelConnection>> conns = ConnectKernelSockets(t, o);
  if (!conns.ok()) return conns.status();
  const nbd::ExportInfo info = conns->front().info;
  std::vector<int> fds;
  for (const auto& k : *conns) fds.push_back(k.fd);
  auto close_all = [&] {
    for (int fd : fds) ::close(fd);
  };
  Result<uint32_t> bs = BlockSizeFor(t, o, info.block_sizes.minimum);
  if (!bs.ok()) {
    close_all();
    return bs.status();
  }
  s.size = info.size;
  s.block_size = *bs;
  NbdDeviceParams p;
  p.size = info.size;
  p.block_size = *bs;
  p.timeout_s = o.request_timeout_s;
  p.dead_conn_timeout_s = o.dead_conn_timeout_s;
  p.server_flags = info.flags;
  p.backend = "tandem:" + t.name;
  if (mode == Mode::kKernelNetlink) {
    Result<int> index = NetlinkConnect(p, fds);
    close_all();  // the kernel holds its own references
    if (!index.ok()) return index.status().WithContext(t.name);
    s.nbd_index = *index;
  } else {
    if (fds.size() > 1) {
      for (size_t i = 1; i < fds.size(); ++i) ::close(fds[i]);
      fds.resize(1);
    }
    Result<int> index = IoctlFindFree();
    if (!index.ok()) {
      close_all();
      return index.status().WithContext(t.name);
    }
    p.index = *index;
    Result<pid_t> pid = IoctlConnect(p, fds[0], s.log_file, Ms(o), {lock_fd});
    if (!pid.ok()) return pid.status().WithContext(t.name);
    s.nbd_index = *index;
    s.pid = *pid;
    s.pid_start = ProcessStartTime(*pid);
  }
  s.block_device = "/dev/nbd" + std::to_string(s.nbd_index);
  const auto deadline = Clock::now() + std::chrono::milliseconds(Ms(o));
  while (!NbdDeviceLive(s.nbd_index)) {
    if (Clock::now() > deadline) {
      TearDown(s, o);
      return Status::Timeout(t.name + ": " + s.block_device + " has no size after connecting");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return s;
}

}  // namespace

bool StateAlive(const ShimState& s) {
  switch (s.mode) {
    case Mode::kFuse:
      return ProcessAlive(s.pid, s.pid_start) &&
             LoopBackingFile(s.block_device).rfind(s.fuse_file, 0) == 0;
    case Mode::kKernelNetlink:
      return s.nbd_index >= 0 && NbdDeviceLive(s.nbd_index);
    case Mode::kKernelIoctl:
      return ProcessAlive(s.pid, s.pid_start) && NbdDeviceLive(s.nbd_index);
  }
  return false;
}

Result<ShimState> Attach(const ResourceTarget& t, const AttachOptions& o, std::ostream& log) {
  Result<ResourceLock> lock = ResourceLock::Acquire(o.run_dir, t.name, Ms(o));
  if (!lock.ok()) return lock.status();
  Result<ShimState> old = LoadState(o.run_dir, t.name);
  if (old.ok()) {
    if (StateAlive(*old)) {
      return Status::Busy(t.name + " is already attached: " + old->link + " -> " +
                          old->block_device + " (" + ModeName(old->mode) + ")");
    }
    log << "tandem-attach: " << t.name << ": cleaning up a stale attachment ("
        << ModeName(old->mode) << " " << old->block_device << ")\n";
    TearDown(*old, o);
    TANDEM_RETURN_IF_ERROR(RemoveState(o.run_dir, t.name));
  } else if (old.status().code() != Status::Code::kNotFound) {
    return old.status();
  }
  Result<ModeChoice> mode = ChooseMode(o.mode, o.kernel_api);
  if (!mode.ok()) return mode.status().WithContext(t.name);
  log << "tandem-attach: " << t.name << ": using " << mode->reason << "\n";

  Result<ShimState> s = mode->mode == Mode::kFuse ? AttachFuse(t, o, lock->fd())
                                                  : AttachKernel(t, o, mode->mode, lock->fd());
  if (!s.ok()) return s.status();
  Status st = WaitForNode(s->block_device, Ms(o));
  if (st.ok()) st = MakeDeviceLink(t.device_path, s->block_device);
  if (st.ok()) st = SaveState(o.run_dir, *s);
  if (!st.ok()) {
    ShimState undo = *s;
    if (st.code() == Status::Code::kBusy) undo.link.clear();  // never touch a link we did not make
    TearDown(undo, o);
    (void)RemoveState(o.run_dir, t.name);
    return st.WithContext(t.name);
  }
  return s;
}

Status Detach(const std::string& resource, const AttachOptions& o, std::ostream& out) {
  Result<ResourceLock> lock = ResourceLock::Acquire(o.run_dir, resource, Ms(o));
  if (!lock.ok()) return lock.status();
  Result<ShimState> s = LoadState(o.run_dir, resource);
  if (!s.ok()) {
    if (s.status().code() != Status::Code::kNotFound) return s.status();
    out << resource << ": not attached\n";
    return Status::Ok();
  }
  const bool alive = StateAlive(*s);
  Result<dev_t> dev = BlockDeviceNumber(s->block_device);
  if (dev.ok()) {
    const auto mounts = FindMounts(*dev);
    if (!mounts.empty()) {
      return Status::Busy(resource + ": " + s->link + " (" + s->block_device + ") is mounted on " +
                          mounts.front().mount_point + "; unmount it first");
    }
    if (alive) {
      // Exclusive holders (device-mapper, md, a mount in another namespace).
      const int fd = ::open(s->block_device.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
      if (fd < 0 && errno == EBUSY) {
        return Status::Busy(resource + ": " + s->block_device +
                            " is in use (held exclusively by another holder); release it first");
      }
      if (fd >= 0) ::close(fd);
    }
  }
  Status st;
  switch (s->mode) {
    case Mode::kFuse:
      if (LoopBackingFile(s->block_device).rfind(s->fuse_file, 0) == 0) {
        st = DetachLoop(s->block_device, Ms(o));
        if (!st.ok()) return st.WithContext(resource);
      }
      StopFuseServer(s->pid, s->pid_start, s->fuse_mount, Ms(o));
      break;
    case Mode::kKernelNetlink:
      if (NbdDeviceLive(s->nbd_index)) {
        const int fd = ::open(s->block_device.c_str(), O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
          ::fsync(fd);
          ::close(fd);
        }
        st = NetlinkDisconnect(s->nbd_index);
        if (!st.ok()) return st.WithContext(resource);
      }
      break;
    case Mode::kKernelIoctl:
      if (NbdDeviceLive(s->nbd_index)) {
        st = IoctlDisconnect(s->nbd_index);
        if (!st.ok()) return st.WithContext(resource);
      }
      break;
  }
  if (s->mode != Mode::kFuse) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(Ms(o));
    while (NbdDeviceLive(s->nbd_index) ||
           (s->mode == Mode::kKernelIoctl && ProcessAlive(s->pid, s->pid_start))) {
      if (Clock::now() > deadline) {
        return Status::Timeout(resource + ": " + s->block_device + " is still connected");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  TANDEM_RETURN_IF_ERROR(RemoveDeviceLink(s->link, s->block_device));
  TANDEM_RETURN_IF_ERROR(RemoveState(o.run_dir, resource));
  out << resource << ": detached " << s->link << " (" << s->block_device << ", "
      << ModeName(s->mode) << (alive ? "" : ", was stale") << ")\n";
  return Status::Ok();
}

void PrintStatus(const std::vector<std::string>& resources, const AttachOptions& o, bool json,
                 std::ostream& out) {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& r : resources) {
    Result<ShimState> s = LoadState(o.run_dir, r);
    nlohmann::json j = {{"resource", r}, {"attached", false}};
    std::string line = r + ": not attached";
    if (s.ok()) {
      const bool alive = StateAlive(*s);
      j = {{"resource", r},
           {"attached", alive},
           {"stale", !alive},
           {"mode", ModeName(s->mode)},
           {"device", s->link},
           {"block_device", s->block_device},
           {"endpoint", s->endpoint},
           {"size", s->size},
           {"block_size", s->block_size},
           {"pid", s->pid}};
      if (s->nbd_index >= 0) j["nbd_index"] = s->nbd_index;
      line = r + ": " + (alive ? "attached" : "stale") + " (" + ModeName(s->mode) + ") " + s->link +
             " -> " + s->block_device + ", " + MiB(s->size) + ", block size " +
             std::to_string(s->block_size) + ", export " + s->endpoint;
      if (s->pid > 0) line += ", server pid " + std::to_string(s->pid);
      if (!alive) line += "; `tandem-attach detach " + r + "` cleans it up";
    } else if (s.status().code() != Status::Code::kNotFound) {
      j["error"] = s.status().message();
      line = r + ": " + s.status().message();
    }
    all.push_back(j);
    if (!json) out << line << "\n";
  }
  if (json) out << all.dump(2) << "\n";
}

Status Reconnect(const ResourceTarget& t, const AttachOptions& o) {
  Result<ResourceLock> lock = ResourceLock::Acquire(o.run_dir, t.name, Ms(o));
  if (!lock.ok()) return lock.status();
  Result<ShimState> s = LoadState(o.run_dir, t.name);
  if (!s.ok()) return s.status();
  if (s->mode != Mode::kKernelNetlink) {
    return Status::NotSupported(t.name + ": reconnect needs the kernel netlink path (this one is " +
                                ModeName(s->mode) + ")");
  }
  Result<std::vector<KernelConnection>> conns = ConnectKernelSockets(t, o);
  if (!conns.ok()) return conns.status();
  std::vector<int> fds;
  for (const auto& k : *conns) fds.push_back(k.fd);
  Status st = NetlinkReconfigure(s->nbd_index, fds);
  for (int fd : fds) ::close(fd);
  return st.WithContext(t.name);
}

}  // namespace tandem::shim
