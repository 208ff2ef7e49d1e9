#pragma once
// Loop devices for the FUSE path: a free /dev/loopN bound to a file with
// LOOP_CONFIGURE (direct I/O, a given logical block size, a name tag shown by
// losetup), and unbound again.
//
// Contract: AttachLoop() opens `file` O_RDWR|O_DIRECT and configures a free
// loop device on it; when the file cannot be opened with O_DIRECT it falls
// back to buffered I/O and says so in `direct_io`. DetachLoop() flushes the
// device, clears it (LOOP_CLR_FD; the kernel defers this while the device is
// still open elsewhere) and waits, bounded, until the binding is gone.
// Thread-safety: plain functions. Failure: Status naming the device/file.

#include <cstdint>
#include <string>

#include "common/status.h"

namespace tandem::shim {

struct LoopDevice {
  int index = -1;
  std::string path;  // /dev/loopN
  bool direct_io = false;
};

Result<LoopDevice> AttachLoop(const std::string& file, uint32_t block_size, const std::string& tag);
Status DetachLoop(const std::string& device, int timeout_ms);
// The file a loop device is bound to ("" when unbound), from sysfs.
std::string LoopBackingFile(const std::string& device);

}  // namespace tandem::shim
