#pragma once
// What a valid configuration still needs from this machine at run time: the
// interfaces its media name, its serial devices, its respawn programs and its
// resource scripts. `--check` reports what is missing as warnings, never as
// errors: the same files are valid on a machine that has them, and the check
// must not depend on where it runs. Nothing here touches the network; every
// look goes through Env::Stat.
// Thread-safety: no shared state; a Diagnostics is owned by one check.

#include "common/env.h"
#include "config/diagnostics.h"
#include "heartbeat/heartbeat_config.h"

namespace tandem::heartbeat {

// Where Heartbeat looks for a resource script after DIR/resource.d.
inline constexpr const char* kInitScriptDir = "/etc/init.d";
// Where Linux lists the network interfaces.
inline constexpr const char* kSysClassNet = "/sys/class/net";

void CheckRuntimeEnvironment(Env* env, const HeartbeatConfig& config, config::Diagnostics* diags);

}  // namespace tandem::heartbeat
