#pragma once
// tandem-attach's verbs: attach, detach, status and reconnect for one
// resource, whichever path (FUSE + loop, kernel nbd via netlink or ioctl)
// carries it. docs/kernel-shim.md describes both paths.
//
// Contract:
//   Attach: refuses when the resource is attached and alive (stale state from
//     a dead FUSE server or a dead nbd device is cleaned up first); on success
//     the block device is ready and the configured `device` path is a symlink
//     to it; on failure everything set up so far is undone.
//   Detach: refuses (Busy) while the device or one of its partitions is
//     mounted, naming the mount point, or while something else holds it
//     exclusively; otherwise flushes, unbinds, stops the FUSE server / ends the
//     nbd connection, and removes the symlink and the state. Detaching a
//     resource that is not attached succeeds (nothing to do) and says so.
//   Status: one line (or JSON object) per resource.
//   Reconnect (kernel netlink only): a fresh handshake handed to the kernel
//     with NBD_CMD_RECONFIGURE, to replace a dead connection.
// Every wait is bounded by options.timeout_s.
// Thread-safety: call from a single-threaded process (these fork).
// Failure: Status with a one-line message naming the resource and device.

#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "nbd/client.h"
#include "shim_state.h"

namespace tandem::shim {

struct AttachOptions {
  std::string run_dir;
  std::string mode = "auto";        // auto | kernel | fuse
  std::string kernel_api = "auto";  // auto | netlink | ioctl
  int timeout_s = 30;
  uint32_t block_size = 0;  // 0: the export's minimum block size (at least 512)
  int fuse_threads = 64;
  // FUSE path: how long the NBD client's loop polls after each event before
  // sleeping (io/event_loop.h), in microseconds, while no bulk request is in
  // flight (nbd/blocking_client.h); 0 sleeps at once.
  int fuse_busy_poll_us = 200;
  int connections = 1;               // kernel path, when the export allows multi-conn
  uint64_t request_timeout_s = 30;   // kernel path: NBD_ATTR_TIMEOUT
  uint64_t dead_conn_timeout_s = 0;  // kernel netlink: wait this long for a reconnect
};

// What one resource is, as the configuration (or an override) says.
struct ResourceTarget {
  std::string name;
  std::string device_path;  // the configured `device` (symlink made here)
  nbd::ClientEndpoint endpoint;
  std::string export_name;
};

Result<ShimState> Attach(const ResourceTarget& target, const AttachOptions& options,
                         std::ostream& log);
Status Detach(const std::string& resource, const AttachOptions& options, std::ostream& out);
// Prints the status of `resources` (text, or a JSON array when json).
void PrintStatus(const std::vector<std::string>& resources, const AttachOptions& options, bool json,
                 std::ostream& out);
Status Reconnect(const ResourceTarget& target, const AttachOptions& options);

// Whether a recorded attachment is still working (server alive / device live).
bool StateAlive(const ShimState& state);

}  // namespace tandem::shim
