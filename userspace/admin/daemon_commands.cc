#include "ctl/protocol.h"
#include "admin/daemon_commands.h"

#include <nlohmann/json.hpp>

#include "admin/config_access.h"
#include "ctl/client.h"

namespace tandem::admin {

namespace {

constexpr auto kCallTimeout = std::chrono::seconds(120);

std::string Pair(const nlohmann::json& s, const char* a, const char* b) {
  return s.value(a, "?") + "/" + s.value(b, "?");
}

std::string StatusText(const nlohmann::json& s) {
  std::string out = s.value("name", "?") + " role:" + s.value("role", "?") + "\n";
  out += "  disk:" + s.value("disk", "?") + "\n";
  out += "  peer role:" + s.value("peer_role", "?") + "\n";
  out += "    replication:" + s.value("cstate", "?") + " peer-disk:" + s.value("peer_disk", "?");
  if (s.contains("sync")) {
    const auto& y = s["sync"];
    uint64_t total = y.value("total_kib", uint64_t{0}), left = y.value("left_kib", uint64_t{0});
    double done = total ? 100.0 * static_cast<double>(total - std::min(left, total)) /
                              static_cast<double>(total)
                        : 100.0;
    char buf[64];
    std::snprintf(buf, sizeof buf, " done:%.1f", done);
    out += buf;
  }
  out += "\n";
  return out;
}

}  // namespace

Result<std::vector<std::string>> BecomePrimaryHere(const AdminOptions& options,
                                                   const std::vector<std::string>& resources,
                                                   std::ostream& err) {
  auto cfg = LoadAdminConfig(options, err);
  if (!cfg.ok()) return cfg.status();
  auto selected = SelectResources(*cfg, resources);
  if (!selected.ok()) {
    err << "tandemadm: " << selected.status().message() << "\n";
    return selected.status();
  }
  std::vector<std::string> names;
  for (const config::ResourceConfig* res : *selected) {
    const auto who = res->options.OptStr("become-primary-on");
    if (who && (*who == "both" || *who == res->local().name)) names.push_back(res->name);
  }
  return names;
}

int RunDaemonVerb(const std::string& verb, const AdminOptions& options,
                  const std::vector<std::string>& resources, const DaemonVerbFlags& flags,
                  std::ostream& out, std::ostream& err) {
  auto cfg = LoadAdminConfig(options, err);
  if (!cfg.ok()) return kExitConfigInvalid;
  auto selected = SelectResources(*cfg, resources);
  if (!selected.ok()) {
    err << "tandemadm: " << selected.status().message() << "\n";
    return kExitConfigInvalid;
  }
  ctl::ControlClient client;
  Status st = client.Connect(options.common.run_dir + "/tandemd.sock");
  if (!st.ok()) {
    err << "tandemadm: " << st.message() << "\n";
    return 20;
  }
  const bool query = verb == "role" || verb == "cstate" || verb == "dstate" || verb == "status" ||
                     verb == "show-export";
  nlohmann::json json_out = nlohmann::json::array();
  int rc = kExitOk;
  for (const config::ResourceConfig* res : *selected) {
    ctl::Request req;
    req.resource = res->name;
    req.cmd = query && verb != "show-export" ? "status" : verb;
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kCallTimeout);
    if (verb == "primary" || verb == "secondary") req.args["force"] = flags.force;
    if (verb == "connect") req.args["discard_my_data"] = flags.discard_my_data;
    if (verb == "new-current-uuid") req.args["clear_bitmap"] = flags.clear_bitmap;
    if (verb == "wait-connect") {
      int64_t secs = flags.timeout_s;
      if (secs < 0) {
        // degr-wfc-timeout applies when this node was degraded before it stopped.
        ctl::Request sreq{"status", res->name, nlohmann::json::object()};
        auto s = client.Call(sreq, std::chrono::seconds(30));
        bool degraded = s.ok() && (*s)["ok"] == true && (*s)["result"].value("degraded_before", false);
        int64_t degr = res->options.Int("degr-wfc-timeout");
        secs = (degraded && degr > 0) ? degr : res->options.Int("wfc-timeout");
      }
      req.args["timeout_ms"] = static_cast<uint64_t>(secs) * 1000;
      // Zero waits forever, as DRBD's does; the client waits as long.
      timeout = secs == 0 ? std::chrono::milliseconds(std::chrono::hours(24 * 365))
                          : std::chrono::milliseconds(secs * 1000 + 10000);
    }
    auto reply = client.Call(req, timeout);
    if (!reply.ok()) {
      err << "tandemadm: " << res->name << ": " << reply.status().message() << "\n";
      rc = 20;
      continue;
    }
    const nlohmann::json& j = *reply;
    if (j.value("ok", false) != true) {
      err << res->name << ": " << j.value("error", std::string("failed")) << "\n";
      rc = j.value("exit", 2);
      continue;
    }
    if (!query) continue;
    const nlohmann::json& s = j["result"];
    if (options.json) {
      json_out.push_back(s);
      continue;
    }
    if (verb == "role") out << Pair(s, "role", "peer_role") << "\n";
    if (verb == "cstate") out << s.value("cstate", "?") << "\n";
    if (verb == "dstate") out << Pair(s, "disk", "peer_disk") << "\n";
    if (verb == "status") out << StatusText(s);
    if (verb == "show-export") {
      out << s.value("uri", "") << "\n";
      if (s.contains("tcp_uri")) out << s.value("tcp_uri", "") << "\n";
    }
  }
  if (query && options.json) {
    out << ctl::JsonText(json_out.size() == 1 ? json_out[0] : json_out, 2) << "\n";
  }
  return rc;
}

}  // namespace tandem::admin
