#include "ctl/protocol.h"
#include "admin/dump_command.h"

#include "admin/config_access.h"
#include "config/drbd_json.h"
#include "config/drbd_writer.h"

namespace tandem::admin {

int RunDump(const AdminOptions& options, const std::vector<std::string>& resources,
            std::ostream& out, std::ostream& err) {
  auto cfg = LoadAdminConfig(options, err);
  if (!cfg.ok()) return kExitConfigInvalid;
  auto selected = SelectResources(*cfg, resources);
  if (!selected.ok()) {
    err << "tandemadm: " << selected.status().message() << "\n";
    return kExitConfigInvalid;
  }
  if (options.json) {
    out << ctl::JsonText(config::DrbdConfigToJson(*cfg, resources), 2) << "\n";
  } else {
    out << config::WriteDrbdConfig(*cfg, resources);
  }
  return kExitOk;
}

}  // namespace tandem::admin
