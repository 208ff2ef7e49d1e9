#include "common/cli.h"

#include <sys/utsname.h>

#include <iostream>

#include "common/version.h"

namespace tandem {

std::string LocalNodeName() {
  struct utsname u {};
  if (uname(&u) != 0) return "localhost";
  return u.nodename;
}

void AddCommonOptions(CLI::App& app, CommonOptions* options) {
  app.add_option("--node", options->node, "This node's name (default: uname -n)");
  app.add_option("--run-dir", options->run_dir, "Runtime directory")
      ->capture_default_str();
  app.set_version_flag("--version", std::string(app.get_name()) + " (Tandem) " + kVersion);
}

int ParseCommandLine(CLI::App& app, int argc, char** argv, CommonOptions* options) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": " << e.what() << " (see --help)\n";
    return kExitUsage;
  }
  if (options->node.empty()) options->node = LocalNodeName();
  return -1;
}

}  // namespace tandem
