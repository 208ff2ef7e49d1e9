#pragma once
// The kernel nbd driver's generic-netlink family "nbd" (linux/nbd-netlink.h),
// through libnl-genl-3: CONNECT (size, block size, timeout, server flags,
// socket fds, a backend identifier), DISCONNECT, RECONFIGURE (hand over new
// sockets to replace dead ones) and STATUS.
//
// Contract: Available() says whether the family is registered (the nbd
// module is loaded and new enough). Connect() gives the kernel the
// negotiated sockets; the kernel keeps its own references, so the caller may
// close its descriptors afterwards and no process has to stay behind.
// Thread-safety: plain functions, each opening its own netlink socket.
// Failure: Status with the kernel's errno and the device named.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace tandem::shim {

struct NbdDeviceParams {
  int index = -1;  // -1: the kernel picks a free /dev/nbdN
  uint64_t size = 0;
  uint32_t block_size = 512;
  uint64_t timeout_s = 30;           // per-request timeout
  uint64_t dead_conn_timeout_s = 0;  // how long I/O waits for RECONFIGURE after a socket dies
  uint16_t server_flags = 0;         // the export's transmission flags
  std::string backend;               // identifier shown in /sys/block/nbdN/backend
};

bool NetlinkAvailable();
// Returns the index of the configured /dev/nbdN.
Result<int> NetlinkConnect(const NbdDeviceParams& params, const std::vector<int>& fds);
Status NetlinkDisconnect(int index);
Status NetlinkReconfigure(int index, const std::vector<int>& fds);
// Whether /dev/nbd<index> is connected (NBD_CMD_STATUS).
Result<bool> NetlinkConnected(int index);

}  // namespace tandem::shim
