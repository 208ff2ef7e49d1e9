#pragma once
// `tandem-heartbeat --check`: load the configuration directory for this node,
// report every error and warning on `err` as "file:line[:col]: error: ..." and,
// when it is valid, print the settings in effect on `out` (JSON with --json).
// Never touches the network; whatever matters only at run time is a warning.
//
// Returns kExitOk for a valid configuration, kExitConfigInvalid otherwise (and
// then prints nothing on `out`). Thread-safety: no shared state of its own; the
// streams and env belong to the caller.

#include <ostream>

#include "common/env.h"
#include "heartbeat/heartbeat_options.h"

namespace tandem::heartbeat {

int RunCheck(const HeartbeatOptions& options, Env* env, std::ostream& out, std::ostream& err);

}  // namespace tandem::heartbeat
