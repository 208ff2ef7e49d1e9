#pragma once
// ControlClient: tandemadm's side of the control socket. Blocking, with every
// wait bounded by a deadline. Thread-compatible (one user).

#include <chrono>
#include <string>

#include "common/status.h"
#include "ctl/protocol.h"

namespace tandem::ctl {

class ControlClient {
 public:
  ~ControlClient();
  // Connects to <run-dir>/tandemd.sock (or `path`). A missing daemon is a clear error.
  Status Connect(const std::string& path);
  // Sends one request and waits for its reply (up to `timeout`).
  Result<nlohmann::json> Call(const Request& request, std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string path_;
  std::string buffer_;
};

}  // namespace tandem::ctl
