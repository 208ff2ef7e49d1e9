#pragma once
// Writes the normalized model back as drbd.conf 8.4 syntax with every option at
// its effective value; LoadDrbdConfig reads the output back to the same model.

#include <string>
#include <vector>

#include "config/drbd_model.h"

namespace tandem::config {

// `resources` empty (or containing "all") means every resource.
std::string WriteDrbdConfig(const DrbdConfig& config, const std::vector<std::string>& resources);

}  // namespace tandem::config
