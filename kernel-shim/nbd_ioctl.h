#pragma once
// The kernel nbd driver's older ioctl interface (linux/nbd.h), used when the
// generic-netlink family is missing: NBD_SET_BLKSIZE, NBD_SET_SIZE,
// NBD_SET_TIMEOUT, NBD_SET_FLAGS, NBD_SET_SOCK, then NBD_DO_IT, which blocks
// in the calling process for as long as the device is connected - so a
// forked child holds it; NBD_DISCONNECT (from any process) ends it.
//
// Contract: IoctlFindFree() picks an unused /dev/nbdN (no pid in sysfs, size
// 0). IoctlConnect() configures it and forks the NBD_DO_IT holder (detached
// into its own session, stdio on `log_file`), returning its pid once the
// device is live (bounded wait). IoctlDisconnect() asks the kernel to end it.
// Thread-safety: plain functions; call IoctlConnect before starting threads.
// Failure: Status naming the device.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "nbd_netlink.h"

namespace tandem::shim {

Result<int> IoctlFindFree();
// `sock` is consumed (closed in this process whether it succeeds or not);
// `close_fds` are closed in the holder (e.g. the caller's lock).
Result<pid_t> IoctlConnect(const NbdDeviceParams& params, int sock, const std::string& log_file,
                           int timeout_ms, const std::vector<int>& close_fds = {});
Status IoctlDisconnect(int index);
// Whether /dev/nbd<index> is configured (sysfs pid present and size > 0).
bool NbdDeviceLive(int index);

}  // namespace tandem::shim
