#include "admin/config_access.h"

#include <algorithm>

#include "common/env.h"
#include "config/drbd_loader.h"

namespace tandem::admin {

Result<config::DrbdConfig> LoadAdminConfig(const AdminOptions& options, std::ostream& err,
                                           std::string* path_used) {
  Env* env = Env::Default();
  std::string path =
      options.config_file.empty() ? config::DefaultDrbdConfigPath(env) : options.config_file;
  if (path_used) *path_used = path;
  config::Diagnostics diags;
  auto cfg = config::LoadDrbdConfig(env, path, options.common.node, &diags);
  err << diags.Format();
  return cfg;
}

Result<std::vector<const config::ResourceConfig*>> SelectResources(
    const config::DrbdConfig& config, const std::vector<std::string>& names) {
  std::vector<const config::ResourceConfig*> out;
  const bool all = names.empty() || std::find(names.begin(), names.end(), "all") != names.end();
  if (all) {
    for (const auto& r : config.resources) out.push_back(&r);
    return out;
  }
  for (const auto& name : names) {
    const config::ResourceConfig* r = config.Find(name);
    if (!r) return Status::NotFound("'" + name + "' is not a resource in " + config.source_file);
    out.push_back(r);
  }
  return out;
}

}  // namespace tandem::admin
