#pragma once
// Loads a drbd.conf (0.7 or 8.4 form, with includes) into the normalized model
// and validates it for one node. Every problem is reported with file:line:column;
// a configuration with any error yields no model at all, so nothing acts on a
// half-understood file.

#include <string>
#include <string_view>

#include "common/env.h"
#include "common/status.h"
#include "config/diagnostics.h"
#include "config/drbd_model.h"

namespace tandem::config {

// Reads `path` through env. node_name is this node (`--node`, default uname -n):
// every resource must have an `on` section for it.
Result<DrbdConfig> LoadDrbdConfig(Env* env, const std::string& path, const std::string& node_name,
                                  Diagnostics* diags);

// Same, from text already in memory (includes are still read through env).
Result<DrbdConfig> ParseDrbdConfig(Env* env, std::string_view text, const std::string& file_name,
                                   const std::string& node_name, Diagnostics* diags);

// /etc/tandem/tandem.conf when it exists, otherwise /etc/drbd.conf.
std::string DefaultDrbdConfigPath(Env* env);

}  // namespace tandem::config
