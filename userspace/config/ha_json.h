#pragma once
// The Heartbeat configuration models as JSON, for `tandem-heartbeat --check
// --json`. Times are in milliseconds (keys end in _ms). Secrets are left out:
// authkeys shows key indexes and methods only, stonith_host its parameter
// count only (they often hold a device password).
// Thread-safety: pure functions.

#include <nlohmann/json.hpp>

#include "config/authkeys.h"
#include "config/ha_cf.h"
#include "config/haresources.h"

namespace tandem::config {

nlohmann::json HaCfToJson(const HaCf& cf);
nlohmann::json HaResourcesToJson(const HaResources& resources);
nlohmann::json AuthKeysToJson(const AuthKeys& keys);

}  // namespace tandem::config
