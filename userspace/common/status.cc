#include "common/status.h"

#include <cstring>

namespace tandem {

const char* StatusCodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "Invalid argument";
    case Status::Code::kNotFound: return "Not found";
    case Status::Code::kIoError: return "I/O error";
    case Status::Code::kCorruption: return "Corruption";
    case Status::Code::kNotSupported: return "Not supported";
    case Status::Code::kPermissionDenied: return "Permission denied";
    case Status::Code::kBusy: return "Busy";
    case Status::Code::kTimeout: return "Timeout";
    case Status::Code::kProtocolError: return "Protocol error";
    case Status::Code::kAborted: return "Aborted";
  }
  return "Unknown";
}

Status Status::FromErrno(int err, const std::string& context) {
  std::string msg = context + ": " + std::strerror(err);
  if (err == ENOENT) return NotFound(std::move(msg));
  if (err == EACCES || err == EPERM) return PermissionDenied(std::move(msg));
  if (err == EBUSY) return Busy(std::move(msg));
  if (err == EINVAL) return InvalidArgument(std::move(msg));
  if (err == ENOTSUP) return NotSupported(std::move(msg));
  return IoError(std::move(msg));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace tandem
