#include "heartbeat/heartbeat_config.h"

namespace tandem::heartbeat {

std::string PathInConfigDir(const std::string& config_dir, const std::string& name) {
  if (config_dir.empty()) return name;
  return config_dir.back() == '/' ? config_dir + name : config_dir + "/" + name;
}

Result<HeartbeatConfig> LoadHeartbeatConfig(Env* env, const std::string& config_dir,
                                            const std::string& local_node,
                                            config::Diagnostics* diags) {
  auto ha_cf = config::LoadHaCf(env, PathInConfigDir(config_dir, "ha.cf"), local_node, diags);
  // Without a valid ha.cf the node list is unknown; the rest is still checked.
  const std::vector<std::string> nodes =
      ha_cf.ok() ? ha_cf->NodeNames() : std::vector<std::string>{};
  auto resources =
      config::LoadHaResources(env, PathInConfigDir(config_dir, "haresources"), nodes, diags);
  auto auth_keys = config::LoadAuthKeys(env, PathInConfigDir(config_dir, "authkeys"), diags);
  if (!ha_cf.ok() || !resources.ok() || !auth_keys.ok()) return diags->ToStatus();
  return HeartbeatConfig{config_dir, std::move(ha_cf).value(), std::move(resources).value(),
                         std::move(auth_keys).value()};
}

}  // namespace tandem::heartbeat
