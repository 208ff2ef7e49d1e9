#pragma once
// Loading the configuration and picking resources, for every tandemadm verb.

#include <ostream>
#include <string>
#include <vector>

#include "admin/admin_options.h"
#include "common/status.h"
#include "config/drbd_model.h"

namespace tandem::admin {

// Loads -c FILE (or the default path) for --node; prints every diagnostic to
// err. Returns the config, or the exit code to use (kExitConfigInvalid).
Result<config::DrbdConfig> LoadAdminConfig(const AdminOptions& options, std::ostream& err,
                                           std::string* path_used = nullptr);

// The resources named on the command line ("all" or none: every one). Unknown
// names are an error naming the configuration file.
Result<std::vector<const config::ResourceConfig*>> SelectResources(
    const config::DrbdConfig& config, const std::vector<std::string>& names);

}  // namespace tandem::admin
