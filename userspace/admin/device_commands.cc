#include "admin/device_commands.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "admin/config_access.h"
#include "common/cli.h"

namespace tandem::admin {

std::string TandemAttachPath() {
  if (const char* env = std::getenv("TANDEM_ATTACH"); env && *env) return env;
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    const std::string beside = dir + "/tandem-attach";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  return "tandem-attach";  // from PATH
}

int RunDeviceVerb(const std::string& verb, const AdminOptions& options,
                  const std::vector<std::string>& resources, std::ostream& err) {
  auto cfg = LoadAdminConfig(options, err);
  if (!cfg.ok()) return kExitConfigInvalid;
  auto selected = SelectResources(*cfg, resources);
  if (!selected.ok()) {
    err << "tandemadm: " << selected.status().message() << "\n";
    return kExitConfigInvalid;
  }
  const std::string program = TandemAttachPath();
  const std::string shim_verb = verb == "attach-device" ? "attach" : "detach";
  for (const config::ResourceConfig* r : *selected) {
    std::vector<std::string> argv = {
        program, "--node",         options.common.node, "--run-dir", options.common.run_dir,
        "-c",    cfg->source_file, shim_verb,           r->name};
    err.flush();
    const pid_t pid = ::fork();
    if (pid < 0) {
      err << "tandemadm: " << verb << " " << r->name << ": fork: " << std::strerror(errno) << "\n";
      return kExitFailed;
    }
    if (pid == 0) {
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      dprintf(2, "tandemadm: %s %s: cannot run %s: %s (set TANDEM_ATTACH)\n", verb.c_str(),
              r->name.c_str(), program.c_str(), std::strerror(errno));
      _exit(kExitFailed);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : kExitFailed;
    if (rc != 0) return rc;
  }
  return kExitOk;
}

namespace {

// The selected resources with `attach-device yes` (config errors: none, the
// role change itself reports them).
std::vector<std::string> FollowingResources(const AdminOptions& options,
                                            const std::vector<std::string>& resources) {
  std::ostringstream ignored;
  std::vector<std::string> names;
  auto cfg = LoadAdminConfig(options, ignored);
  if (!cfg.ok()) return names;
  auto selected = SelectResources(*cfg, resources);
  if (!selected.ok()) return names;
  for (const config::ResourceConfig* r : *selected) {
    if (r->options.Bool("attach-device")) names.push_back(r->name);
  }
  return names;
}

}  // namespace

int AttachDevicesAfterPromotion(const AdminOptions& options,
                                const std::vector<std::string>& resources, std::ostream& err) {
  auto names = FollowingResources(options, resources);
  return names.empty() ? kExitOk : RunDeviceVerb("attach-device", options, names, err);
}

int DetachDevicesBeforeDemotion(const AdminOptions& options,
                                const std::vector<std::string>& resources, bool force,
                                std::ostream& err) {
  auto names = FollowingResources(options, resources);
  if (names.empty()) return kExitOk;
  const int rc = RunDeviceVerb("detach-device", options, names, err);
  if (rc != 0 && force) {
    err << "tandemadm: detach-device failed; demoting anyway (--force)\n";
    return kExitOk;
  }
  return rc;
}

}  // namespace tandem::admin
