#pragma once
// How a haresources entry becomes a program run, and how its answer is read.
//
// `NAME::ARG1::ARG2` runs as `DIR/resource.d/NAME ARG1 ARG2 ACTION` when that
// file exists, else as `/etc/init.d/NAME ACTION` (an LSB init script gets only
// the action), ACTION being start, stop or status.
//
// A status answer means "running" when the script's output contains
// "running" or "OK" and neither "not running" nor "stopped" (Heartbeat's
// convention); exit status 3 (LSB) or 7 (OCF) means not running whatever the
// output says; with none of those words, exit 0 means running (LSB).
// Thread-safety: pure functions, except the lookups through Env.

#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "config/haresources.h"

namespace tandem::heartbeat {

enum class ScriptAction { kStart, kStop, kStatus };
const char* ScriptActionName(ScriptAction action);

struct ScriptLocation {
  std::string path;
  bool lsb = false;  // found in the init directory: gets no arguments
};

// NotFound naming both places when the script is in neither; a file that is
// there but not executable is an error too.
Result<ScriptLocation> LocateResourceScript(Env* env, const std::string& resource_dir,
                                            const std::string& init_dir,
                                            const std::string& name);

std::vector<std::string> ResourceArgv(const ScriptLocation& where,
                                      const config::HaResource& resource, ScriptAction action);

bool StatusSaysRunning(int exit_code, std::string_view output);

}  // namespace tandem::heartbeat
