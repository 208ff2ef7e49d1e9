#include "config/ha_json.h"

namespace tandem::config {

namespace {

nlohmann::json MediumToJson(const HaMedium& m) {
  nlohmann::json j{{"type", MediumDirectiveName(m.kind)}};
  switch (m.kind) {
    case HaMedium::Kind::kBcast:
      j["interface"] = m.interface;
      break;
    case HaMedium::Kind::kUcast:
      j["interface"] = m.interface;
      j["address"] = m.address;
      break;
    case HaMedium::Kind::kMcast:
      j["interface"] = m.interface;
      j["group"] = m.address;
      j["port"] = m.port;
      j["ttl"] = m.ttl;
      j["loop"] = m.loop;
      break;
    case HaMedium::Kind::kSerial:
      j["device"] = m.device;
      break;
  }
  return j;
}

// "" (not written) as null, so a consumer can tell it from a value.
nlohmann::json OptionalString(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

}  // namespace

nlohmann::json HaCfToJson(const HaCf& cf) {
  nlohmann::json j;
  j["file"] = cf.source_file;
  j["local_node"] = cf.local_node;
  j["keepalive_ms"] = cf.keepalive_ms;
  j["deadtime_ms"] = cf.deadtime_ms;
  j["warntime_ms"] = cf.warntime_ms;
  j["initdead_ms"] = cf.initdead_ms;
  j["deadping_ms"] = cf.deadping_ms;
  j["udpport"] = cf.udp_port;
  j["baud"] = cf.baud;
  j["hopfudge"] = cf.hopfudge;
  j["auto_failback"] = AutoFailbackName(cf.auto_failback);
  j["use_logd"] = cf.use_logd ? nlohmann::json(*cf.use_logd) : nlohmann::json(nullptr);
  j["logfile"] = OptionalString(cf.logfile);
  j["debugfile"] = OptionalString(cf.debugfile);
  j["logfacility"] = OptionalString(cf.log_facility);
  nlohmann::json defaulted = nlohmann::json::array();
  for (const char* name : {"keepalive", "deadtime", "warntime", "initdead", "deadping", "udpport",
                           "baud", "hopfudge", "auto_failback"}) {
    if (!cf.IsWritten(name)) defaulted.push_back(name);
  }
  j["defaulted"] = defaulted;
  j["nodes"] = nlohmann::json::array();
  for (const auto& n : cf.nodes) {
    j["nodes"].push_back({{"name", n.name}, {"local", n.name == cf.local_node}});
  }
  j["media"] = nlohmann::json::array();
  for (const auto& m : cf.media) j["media"].push_back(MediumToJson(m));
  j["ping_nodes"] = nlohmann::json::array();
  for (const auto& p : cf.ping_nodes) {
    j["ping_nodes"].push_back(
        {{"name", p.name}, {"addresses", p.addresses}, {"group", p.is_group}});
  }
  j["respawn"] = nlohmann::json::array();
  for (const auto& r : cf.respawns) {
    j["respawn"].push_back({{"user", r.user}, {"program", r.program}, {"args", r.args}});
  }
  j["apiauth"] = nlohmann::json::array();
  for (const auto& a : cf.api_auth) {
    j["apiauth"].push_back(
        {{"client", a.client}, {"uid", OptionalString(a.uids)}, {"gid", OptionalString(a.gids)}});
  }
  j["stonith_hosts"] = nlohmann::json::array();
  for (const auto& s : cf.stonith_hosts) {
    j["stonith_hosts"].push_back(
        {{"host", s.host}, {"type", s.type}, {"param_count", s.params.size()}});
  }
  j["no_effect"] = nlohmann::json::array();
  for (const auto& d : cf.inert)
    j["no_effect"].push_back({{"directive", d.name}, {"args", d.args}});
  return j;
}

nlohmann::json HaResourcesToJson(const HaResources& resources) {
  nlohmann::json j;
  j["file"] = resources.source_file;
  j["groups"] = nlohmann::json::array();
  for (const auto& g : resources.groups) {
    nlohmann::json group{{"key", g.Key()}, {"node", g.node}};
    group["resources"] = nlohmann::json::array();
    for (const auto& r : g.resources) {
      group["resources"].push_back({{"name", r.name}, {"args", r.args}, {"written", r.written}});
    }
    j["groups"].push_back(group);
  }
  return j;
}

nlohmann::json AuthKeysToJson(const AuthKeys& keys) {
  nlohmann::json j;
  j["file"] = keys.source_file;
  j["auth"] = keys.active_index;
  j["method"] = AuthMethodName(keys.active().method);
  j["keys"] = nlohmann::json::array();
  for (const auto& k : keys.keys) {
    j["keys"].push_back({{"index", k.index}, {"method", AuthMethodName(k.method)}});
  }
  return j;
}

}  // namespace tandem::config
