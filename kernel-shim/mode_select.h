#pragma once
// Which way a resource becomes a block device: the kernel nbd driver when
// the `nbd` module is loaded (or `modprobe nbd` loads it), else FUSE + loop.
// Within the kernel path: generic netlink when the "nbd" family exists, else
// the ioctl interface.
//
// Contract: ChooseMode() never fails for "auto" (it falls back to FUSE and
// says why in `reason`); "kernel" fails when the driver cannot be had.
// Thread-safety: plain functions (ChooseMode may fork modprobe: call it before
// starting threads). Failure: Status naming what is missing.

#include <string>
#include <vector>

#include "common/status.h"
#include "shim_state.h"

namespace tandem::shim {

struct ModeChoice {
  Mode mode = Mode::kFuse;
  std::string reason;  // one line: why this mode
};

// requested: "auto", "kernel", "fuse"; kernel_api: "auto", "netlink", "ioctl".
Result<ModeChoice> ChooseMode(const std::string& requested, const std::string& kernel_api);

// Runs argv (argv[0] looked up in PATH) with output captured, bounded by
// timeout_ms (killed after it). Returns the exit code (-1 when killed/not run).
int RunProgram(const std::vector<std::string>& argv, int timeout_ms, std::string* output);

}  // namespace tandem::shim
