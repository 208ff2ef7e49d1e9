#pragma once
// The settings a loaded configuration puts in effect, as `--check` prints them:
// in the files' own syntax, one directive a line, with the values Heartbeat
// would take by default marked as such; or as one JSON document. Keys are never
// printed (authkeys shows indexes and methods), nor stonith_host parameters.
// Thread-safety: pure functions.

#include <nlohmann/json.hpp>
#include <string>

#include "heartbeat/heartbeat_config.h"

namespace tandem::heartbeat {

std::string FormatSettings(const HeartbeatConfig& config);

// {"config_dir", "node", "ha_cf", "haresources", "authkeys"}; see config/ha_json.h.
nlohmann::json SettingsToJson(const HeartbeatConfig& config);

// SettingsToJson as indented text. The files may hold bytes that are not UTF-8
// (a path, a resource argument); JSON cannot, so each such byte becomes U+FFFD
// rather than making the output fail.
std::string FormatSettingsJson(const HeartbeatConfig& config);

}  // namespace tandem::heartbeat
