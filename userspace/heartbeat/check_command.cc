#include "heartbeat/check_command.h"

#include "heartbeat/runtime_check.h"
#include "heartbeat/settings_report.h"

namespace tandem::heartbeat {

int RunCheck(const HeartbeatOptions& options, Env* env, std::ostream& out, std::ostream& err) {
  config::Diagnostics diags;
  auto loaded = LoadHeartbeatConfig(env, options.config_dir, options.common.node, &diags);
  if (loaded.ok()) CheckRuntimeEnvironment(env, *loaded, &diags);
  err << diags.Format();
  if (!loaded.ok()) return kExitConfigInvalid;
  if (options.json) {
    out << FormatSettingsJson(*loaded);
  } else {
    out << FormatSettings(*loaded);
  }
  return kExitOk;
}

}  // namespace tandem::heartbeat
