#include "heartbeat/status_view.h"

#include <sstream>

namespace tandem::heartbeat {

nlohmann::json StatusToJson(const StatusSnapshot& s) {
  nlohmann::json j;
  j["node"] = s.node;
  j["pid"] = s.pid;
  j["generation"] = s.generation;
  j["status"] = s.status;
  j["auto_failback"] = s.auto_failback;
  if (!s.peer.empty()) {
    j["peer"] = {{"name", s.peer}, {"status", s.peer_status}, {"generation", s.peer_generation}};
    if (s.peer_ping_up) j["peer"]["ping_up"] = *s.peer_ping_up;
  } else {
    j["peer"] = nullptr;
  }
  j["links"] = nlohmann::json::array();
  for (const auto& l : s.links) {
    j["links"].push_back(
        {{"link", l.tag}, {"label", l.label}, {"open", l.open}, {"status", l.state}});
  }
  j["ping_nodes"] = nlohmann::json::array();
  for (const auto& p : s.ping_nodes) {
    j["ping_nodes"].push_back({{"name", p.name}, {"addresses", p.addresses}, {"status", p.state}});
  }
  j["ping_up"] = s.ping_up;
  j["groups"] = nlohmann::json::array();
  for (const auto& g : s.groups) {
    j["groups"].push_back({{"group", g.key},
                           {"preferred", g.preferred},
                           {"here", g.here},
                           {"holder", g.holder},
                           {"failed_here", g.failed_here}});
  }
  j["dropped"] = nlohmann::json::object();
  for (const auto& [reason, count] : s.dropped) j["dropped"][reason] = count;
  return j;
}

std::string FormatStatusText(const nlohmann::json& j) {
  std::ostringstream out;
  auto str = [](const nlohmann::json& o, const char* key) {
    return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>()
                                                                  : std::string("?");
  };
  out << "Node " << str(j, "node") << " (local): " << str(j, "status") << "\n";
  if (j.contains("peer") && j["peer"].is_object()) {
    const auto& p = j["peer"];
    out << "Node " << str(p, "name") << ": " << str(p, "status") << "\n";
  }
  if (j.contains("links") && j["links"].is_array()) {
    for (const auto& l : j["links"]) {
      out << "  link " << str(l, "link") << " (" << str(l, "label") << "): " << str(l, "status");
      if (l.is_object() && l.value("open", true) == false) out << ", not open here";
      out << "\n";
    }
  }
  if (j.contains("ping_nodes") && j["ping_nodes"].is_array()) {
    for (const auto& p : j["ping_nodes"]) {
      out << "Ping node " << str(p, "name") << ": " << str(p, "status") << "\n";
    }
  }
  if (j.contains("groups") && j["groups"].is_array()) {
    out << "Resource groups:\n";
    for (const auto& g : j["groups"]) {
      out << "  " << str(g, "group") << "  preferred " << str(g, "preferred") << ", held by "
          << str(g, "holder") << " (here: " << str(g, "here");
      if (g.is_object() && g.value("failed_here", false)) out << ", failed to start here";
      out << ")\n";
    }
  }
  if (j.contains("dropped") && j["dropped"].is_object() && !j["dropped"].empty()) {
    out << "Dropped messages:";
    for (const auto& [reason, count] : j["dropped"].items()) out << " " << reason << "=" << count;
    out << "\n";
  }
  return out.str();
}

}  // namespace tandem::heartbeat
