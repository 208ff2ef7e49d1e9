#include "admin/dump_command.h"

#include "common/env.h"
#include "config/drbd_json.h"
#include "config/drbd_loader.h"
#include "config/drbd_writer.h"

namespace tandem::admin {

int RunDump(const AdminOptions& options, const std::vector<std::string>& resources,
            std::ostream& out, std::ostream& err) {
  Env* env = Env::Default();
  std::string path =
      options.config_file.empty() ? config::DefaultDrbdConfigPath(env) : options.config_file;
  config::Diagnostics diags;
  auto cfg = config::LoadDrbdConfig(env, path, options.common.node, &diags);
  err << diags.Format();
  if (!cfg.ok()) return kExitConfigInvalid;
  for (const auto& name : resources) {
    if (name != "all" && !cfg->Find(name)) {
      err << "tandemadm: '" << name << "' is not a resource in " << path << "\n";
      return kExitConfigInvalid;
    }
  }
  if (options.json) {
    out << config::DrbdConfigToJson(*cfg, resources).dump(2) << "\n";
  } else {
    out << config::WriteDrbdConfig(*cfg, resources);
  }
  return kExitOk;
}

}  // namespace tandem::admin
