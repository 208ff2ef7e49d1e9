#include "heartbeat/runtime_check.h"

#include <sys/stat.h>

#include <set>

namespace tandem::heartbeat {

namespace {

void CheckInterfaces(Env* env, const config::HaCf& cf, config::Diagnostics* diags) {
  std::set<std::string> missing;
  for (const auto& m : cf.media) {
    if (!m.uses_udp()) continue;
    const std::string path = std::string(kSysClassNet) + "/" + m.interface;
    if (env->Stat(path).ok()) continue;
    // One warning per interface, at the first line that uses it.
    if (!missing.insert(m.interface).second) continue;
    diags->Warning(m.where, "interface [" + m.interface + "] does not exist on this machine (no " +
                                path + "); heartbeats on it will fail at run time");
  }
}

void CheckSerialDevices(Env* env, const config::HaCf& cf, config::Diagnostics* diags) {
  for (const auto& m : cf.media) {
    if (m.kind != config::HaMedium::Kind::kSerial) continue;
    auto info = env->Stat(m.device);
    if (!info.ok()) {
      diags->Warning(m.where, "serial device [" + m.device + "] does not exist on this machine");
    } else if (!S_ISCHR(info->mode)) {
      diags->Warning(m.where, "serial device [" + m.device + "] is not a character device");
    }
  }
}

void CheckRespawnPrograms(Env* env, const config::HaCf& cf, config::Diagnostics* diags) {
  for (const auto& r : cf.respawns) {
    auto info = env->Stat(r.program);
    if (!info.ok()) {
      diags->Warning(r.where, "Client child command [" + r.program +
                                  "] does not exist on this machine; respawn will fail");
    } else if (!S_ISREG(info->mode) || (info->mode & 0111) == 0) {
      diags->Warning(r.where, "Client child command [" + r.program + "] is not executable");
    }
  }
}

void CheckResourceScripts(Env* env, const HeartbeatConfig& config, config::Diagnostics* diags) {
  const std::string resource_dir = PathInConfigDir(config.config_dir, "resource.d");
  std::set<std::string> seen;
  for (const auto& group : config.resources.groups) {
    for (const auto& r : group.resources) {
      if (!seen.insert(r.name).second) continue;
      if (env->Stat(resource_dir + "/" + r.name).ok()) continue;
      if (env->Stat(std::string(kInitScriptDir) + "/" + r.name).ok()) continue;
      diags->Warning(r.where, "resource script [" + r.name + "] is in neither " + resource_dir +
                                  " nor " + kInitScriptDir + " on this machine");
    }
  }
}

}  // namespace

void CheckRuntimeEnvironment(Env* env, const HeartbeatConfig& config, config::Diagnostics* diags) {
  CheckInterfaces(env, config.ha_cf, diags);
  CheckSerialDevices(env, config.ha_cf, diags);
  CheckRespawnPrograms(env, config.ha_cf, diags);
  CheckResourceScripts(env, config, diags);
}

}  // namespace tandem::heartbeat
