#include "heartbeat/resource_script.h"

#include <sys/stat.h>

namespace tandem::heartbeat {

const char* ScriptActionName(ScriptAction action) {
  switch (action) {
    case ScriptAction::kStart:
      return "start";
    case ScriptAction::kStop:
      return "stop";
    case ScriptAction::kStatus:
      return "status";
  }
  return "status";
}

Result<ScriptLocation> LocateResourceScript(Env* env, const std::string& resource_dir,
                                            const std::string& init_dir,
                                            const std::string& name) {
  const std::pair<std::string, bool> places[] = {{resource_dir + "/" + name, false},
                                                 {init_dir + "/" + name, true}};
  for (const auto& [path, lsb] : places) {
    auto info = env->Stat(path);
    if (!info.ok()) continue;
    if (!S_ISREG(info->mode) || (info->mode & 0111) == 0) {
      return Status::PermissionDenied("resource script " + path + " is not an executable file");
    }
    return ScriptLocation{path, lsb};
  }
  return Status::NotFound("Cannot locate resource script " + name + " (looked in " +
                          resource_dir + " and " + init_dir + ")");
}

std::vector<std::string> ResourceArgv(const ScriptLocation& where,
                                      const config::HaResource& resource, ScriptAction action) {
  std::vector<std::string> argv = {where.path};
  if (!where.lsb) argv.insert(argv.end(), resource.args.begin(), resource.args.end());
  argv.emplace_back(ScriptActionName(action));
  return argv;
}

bool StatusSaysRunning(int exit_code, std::string_view output) {
  if (exit_code == 3 || exit_code == 7) return false;
  if (output.find("not running") != std::string_view::npos ||
      output.find("stopped") != std::string_view::npos) {
    return false;
  }
  if (output.find("running") != std::string_view::npos ||
      output.find("OK") != std::string_view::npos) {
    return true;
  }
  return exit_code == 0;
}

}  // namespace tandem::heartbeat
