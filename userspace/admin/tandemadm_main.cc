// tandemadm: the admin tool, speaking drbdadm's verbs.
#include <iostream>

#include "admin/dump_command.h"
#include "common/cli.h"

int main(int argc, char** argv) {
  CLI::App app{"tandemadm: administer Tandem resources (drbdadm-compatible verbs)", "tandemadm"};
  app.fallthrough();
  app.require_subcommand(1);
  tandem::CommonOptions common;
  tandem::AddCommonOptions(app, &common);
  tandem::admin::AdminOptions admin;
  app.add_option("-c,--config", admin.config_file,
                 "drbd.conf-style file (default /etc/tandem/tandem.conf, else /etc/drbd.conf)");
  app.add_flag("--json", admin.json, "Machine-readable output where the output is data");

  std::vector<std::string> resources;
  auto* dump = app.add_subcommand("dump", "Print the normalized configuration (8.4 syntax)");
  dump->add_option("resources", resources, "Resource names, or all (default)");

  int rc = tandem::ParseCommandLine(app, argc, argv, &common);
  if (rc >= 0) return rc;
  admin.common = common;
  if (dump->parsed()) return tandem::admin::RunDump(admin, resources, std::cout, std::cerr);
  return tandem::kExitUsage;
}
