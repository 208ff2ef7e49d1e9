#pragma once
// The three files Heartbeat reads from its configuration directory (ha.cf,
// haresources, authkeys), loaded together and checked against each other.
//
// Contract: all three files are always read, so one run reports every error in
// all of them; any error in any file yields no configuration. haresources is
// checked against ha.cf's node list only when ha.cf loaded.
// Thread-safety: no shared state; a Diagnostics is owned by one load.

#include <string>

#include "common/env.h"
#include "common/status.h"
#include "config/authkeys.h"
#include "config/diagnostics.h"
#include "config/ha_cf.h"
#include "config/haresources.h"

namespace tandem::heartbeat {

inline constexpr const char* kDefaultConfigDir = "/etc/ha.d";

struct HeartbeatConfig {
  std::string config_dir;
  config::HaCf ha_cf;
  config::HaResources resources;
  config::AuthKeys auth_keys;
};

// DIR/NAME without a doubled '/' when DIR ends with one.
std::string PathInConfigDir(const std::string& config_dir, const std::string& name);

Result<HeartbeatConfig> LoadHeartbeatConfig(Env* env, const std::string& config_dir,
                                            const std::string& local_node,
                                            config::Diagnostics* diags);

}  // namespace tandem::heartbeat
