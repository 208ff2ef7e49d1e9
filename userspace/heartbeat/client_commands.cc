#include "heartbeat/client_commands.h"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/cli.h"
#include "ctl/client.h"
#include "heartbeat/cluster_brain.h"
#include "heartbeat/hb_daemon.h"
#include "heartbeat/heartbeat_config.h"
#include "heartbeat/status_view.h"

namespace tandem::heartbeat {

namespace {

constexpr auto kCallTimeout = std::chrono::seconds(30);

// Still running: it exists and is not a zombie waiting for its parent.
bool ProcessRunning(int pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

}  // namespace

int RunClientCommand(const std::string& verb, const std::string& which,
                     const ClientOptions& options, std::ostream& out, std::ostream& err) {
  const bool takes_which = verb == "takeover" || verb == "standby";
  if (!takes_which && !which.empty()) {
    err << "tandem-heartbeat: '" << verb << "' takes no argument (see --help)\n";
    return kExitUsage;
  }
  const std::string which_text = which.empty() ? "all" : which;
  if (takes_which && !ParseWhich(which_text)) {
    err << "tandem-heartbeat: " << verb << ": '" << which_text
        << "' is not all, foreign or local\n";
    return kExitUsage;
  }
  const std::string socket = PathInConfigDir(options.run_dir, kControlSocketName);
  ctl::ControlClient client;
  Status st = client.Connect(socket);
  if (!st.ok()) {
    if (verb == "status") {
      if (options.json) {
        out << "{\"status\": \"stopped\"}\n";
      } else {
        out << "Heartbeat is stopped on this node (no " << socket << ")\n";
      }
      return kExitNotRunning;
    }
    err << "tandem-heartbeat: heartbeat is not running on this node: " << st.message() << "\n";
    return kExitNotRunning;
  }
  ctl::Request request;
  request.cmd = verb == "stop" ? "shutdown" : verb;
  if (takes_which) request.args["which"] = which_text;
  auto reply = client.Call(request, kCallTimeout);
  if (!reply.ok()) {
    err << "tandem-heartbeat: " << reply.status().message() << "\n";
    return kExitFailed;
  }
  const nlohmann::json& j = *reply;
  if (j.value("ok", false) != true) {
    err << "tandem-heartbeat: " << j.value("error", std::string("failed")) << "\n";
    return j.value("exit", kExitFailed);
  }
  const nlohmann::json& result = j["result"];
  if (verb == "status") {
    out << (options.json ? result.dump(2) + "\n" : FormatStatusText(result));
    return kExitOk;
  }
  if (result.is_object() && result.contains("message")) {
    out << result["message"].get<std::string>() << "\n";
  }
  if (verb != "stop") return kExitOk;
  // Wait until the daemon is gone: its groups are stopped by then.
  const int pid = result.value("pid", 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.stop_timeout_s);
  while (pid > 0 && ProcessRunning(pid)) {
    if (std::chrono::steady_clock::now() > deadline) {
      err << "tandem-heartbeat: still stopping after " << options.stop_timeout_s
          << " s (pid " << pid << "); see the log\n";
      return kExitFailed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return kExitOk;
}

}  // namespace tandem::heartbeat
