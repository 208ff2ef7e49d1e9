#pragma once
// The FUSE path's background process: forked (twice, so it belongs to no
// shell and leaves no zombie) by `tandem-attach attach`, it connects to the
// export with the blocking NBD client, mounts a FuseExport and serves it
// until detach unmounts it or it receives SIGTERM; then it flushes and
// disconnects politely and exits.
//
// Contract: StartFuseServer() returns once the FUSE file is ready to open, or
// with the server's own error message (it reports through a pipe), bounded by
// `timeout_ms` (then the server is killed). Call it before the caller starts
// any thread (it forks). `close_fds` are closed in the server (e.g. a lock).
// Thread-safety: not applicable (process creation). Failure: Status.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "nbd/client.h"

namespace tandem::shim {

struct FuseServerConfig {
  std::string resource;
  nbd::ClientEndpoint endpoint;
  std::string export_name;
  std::string mount_point;  // created if missing
  std::string log_file;
  int threads = 64;
  int busy_poll_us = 200;  // the NBD client loop's polling window
  int timeout_ms = 30000;
  std::vector<int> close_fds;
};

struct FuseServerInfo {
  pid_t pid = 0;
  uint64_t pid_start = 0;
  std::string file;  // the exported file inside the mount
  uint64_t size = 0;
  uint32_t min_block = 0;
  uint32_t preferred_block = 0;
  uint16_t flags = 0;
};

Result<FuseServerInfo> StartFuseServer(const FuseServerConfig& config);

// Stops a server: SIGTERM, then SIGKILL after timeout_ms; the mount point is
// detached (MNT_DETACH) and removed in any case.
void StopFuseServer(pid_t pid, uint64_t pid_start, const std::string& mount_point, int timeout_ms);

}  // namespace tandem::shim
