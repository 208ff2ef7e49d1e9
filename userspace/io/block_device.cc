#include "io/block_device.h"

namespace tandem::io {

Status CheckRequest(const DeviceInfo& info, uint64_t offset, uint64_t len, const void* buf,
                    bool is_write) {
  if (is_write && info.read_only) return Status::PermissionDenied(info.path + ": read-only");
  if (offset > info.size_bytes || len > info.size_bytes - offset) {
    return Status::InvalidArgument(info.path + ": request " + std::to_string(offset) + "+" +
                                   std::to_string(len) + " beyond the end (" +
                                   std::to_string(info.size_bytes) + " bytes)");
  }
  if (info.direct) {
    const uint64_t a = info.logical_block_size;
    if (offset % a != 0 || len % a != 0 ||
        (buf != nullptr && reinterpret_cast<uintptr_t>(buf) % a != 0)) {
      return Status::InvalidArgument(info.path + ": direct I/O request " + std::to_string(offset) +
                                     "+" + std::to_string(len) + " not aligned to " +
                                     std::to_string(a) + " bytes");
    }
  }
  return Status::Ok();
}

}  // namespace tandem::io
