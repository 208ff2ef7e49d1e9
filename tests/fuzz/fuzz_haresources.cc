// libFuzzer target for haresources, read as `tandem-heartbeat --check` reads
// it: from a configuration directory (here a MemEnv) next to a fixed ha.cf for
// nodes alpha and bravo. Properties beyond "no crash": a refusal always says
// why, with a file and line; a file that loads has only groups owned by those
// nodes, each with resources and a key no other group has; and it prints.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "common/mem_env.h"
#include "heartbeat/heartbeat_config.h"
#include "heartbeat/settings_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tandem::MemEnv env;
  env.AddFile("/etc/ha.d/ha.cf", "node alpha bravo\nbcast eth0\nlogfacility daemon\n");
  env.AddFile("/etc/ha.d/haresources", std::string(reinterpret_cast<const char*>(data), size));
  env.AddFile("/etc/ha.d/authkeys", "auth 1\n1 sha1 fuzz-key\n");
  tandem::config::Diagnostics diags;
  auto cfg = tandem::heartbeat::LoadHeartbeatConfig(&env, "/etc/ha.d", "alpha", &diags);
  if (cfg.ok() == diags.has_errors()) std::abort();
  for (const auto& d : diags.all()) {
    if (d.severity != tandem::config::Diagnostic::Severity::kError) continue;
    if (d.where.file != "/etc/ha.d/haresources" || d.where.line < 1) std::abort();
  }
  if (!cfg.ok()) return 0;

  std::set<std::string> keys;
  for (const auto& group : cfg->resources.groups) {
    if (group.node != "alpha" && group.node != "bravo") std::abort();
    if (group.resources.empty() || !keys.insert(group.Key()).second) std::abort();
    for (const auto& r : group.resources) {
      if (r.name.empty() || r.written.empty()) std::abort();
      for (const auto& arg : r.args) {
        if (arg.empty()) std::abort();
      }
    }
  }
  if (!nlohmann::json::accept(tandem::heartbeat::FormatSettingsJson(*cfg))) std::abort();
  tandem::heartbeat::FormatSettings(*cfg);
  return 0;
}
