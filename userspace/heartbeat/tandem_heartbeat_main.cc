// tandem-heartbeat: Heartbeat's daemon rebuilt on Tandem. So far it checks the
// configuration; the daemon itself is not written yet, and the program says so.
#include <iostream>

#include "common/cli.h"
#include "common/env.h"
#include "heartbeat/check_command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "tandem-heartbeat: two-node cluster membership and resource failover "
      "(Heartbeat's ha.cf, haresources and authkeys)",
      "tandem-heartbeat"};
  tandem::heartbeat::HeartbeatOptions options;
  tandem::AddCommonOptions(app, &options.common);
  app.add_option("--config-dir", options.config_dir,
                 "Directory holding ha.cf, haresources, authkeys and resource.d")
      ->capture_default_str();
  app.add_flag("--check", options.check,
               "Validate the configuration and print the settings in effect, then exit");
  app.add_flag("--json", options.json, "With --check: print the settings as JSON");

  int rc = tandem::ParseCommandLine(app, argc, argv, &options.common);
  if (rc >= 0) return rc;
  if (!options.check) {
    std::cerr << "tandem-heartbeat: only --check is available yet (the daemon is not "
                 "implemented in this version)\n";
    return tandem::kExitUsage;
  }
  return tandem::heartbeat::RunCheck(options, tandem::Env::Default(), std::cout, std::cerr);
}
