// libFuzzer target for ha.cf, through the path `tandem-heartbeat --check`
// takes: the configuration directory is read from a MemEnv, the fuzz input as
// its ha.cf. Properties beyond "no crash": a refusal always says why, with a
// file and line; a configuration that loads satisfies Heartbeat's timing and
// membership rules; and its settings print, as text and as valid JSON.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/mem_env.h"
#include "heartbeat/heartbeat_config.h"
#include "heartbeat/runtime_check.h"
#include "heartbeat/settings_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tandem::MemEnv env;
  env.AddFile("/etc/ha.d/ha.cf", std::string(reinterpret_cast<const char*>(data), size));
  env.AddFile("/etc/ha.d/haresources", "alpha drbddisk::r0 10.0.0.5/24/eth0\n");
  env.AddFile("/etc/ha.d/authkeys", "auth 1\n1 sha1 fuzz-key\n");
  env.AddFile("/sys/class/net/eth0", "", 040755);
  tandem::config::Diagnostics diags;
  auto cfg = tandem::heartbeat::LoadHeartbeatConfig(&env, "/etc/ha.d", "alpha", &diags);
  if (cfg.ok() == diags.has_errors()) std::abort();
  for (const auto& d : diags.all()) {
    if (d.where.file != "/etc/ha.d/ha.cf" || d.where.line < 1) std::abort();
  }
  if (!cfg.ok()) return 0;

  const tandem::config::HaCf& cf = cfg->ha_cf;
  if (cf.keepalive_ms <= 0 || cf.deadtime_ms <= 2 * cf.keepalive_ms) std::abort();
  if (cf.initdead_ms < cf.deadtime_ms || cf.warntime_ms <= 0) std::abort();
  if (cf.deadping_ms <= 2 * cf.keepalive_ms) std::abort();
  if (cf.udp_port < 1 || cf.udp_port > 65535 || cf.hopfudge < 0 || cf.hopfudge > 255) std::abort();
  if (cf.media.empty() || cf.nodes.empty() || cf.nodes.size() > 2) std::abort();
  if (cf.FindNode(cf.local_node) == nullptr) std::abort();

  tandem::heartbeat::CheckRuntimeEnvironment(&env, *cfg, &diags);
  if (tandem::heartbeat::FormatSettings(*cfg).empty()) std::abort();
  if (!nlohmann::json::accept(tandem::heartbeat::FormatSettingsJson(*cfg))) std::abort();
  return 0;
}
