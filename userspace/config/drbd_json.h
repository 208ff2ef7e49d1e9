#pragma once
// The normalized drbd.conf model as JSON (for `tandemadm dump --json`).

#include <nlohmann/json.hpp>

#include "config/drbd_model.h"

namespace tandem::config {

nlohmann::json DrbdConfigToJson(const DrbdConfig& config, const std::vector<std::string>& resources);

}  // namespace tandem::config
