#include "heartbeat/settings_report.h"

#include <iomanip>
#include <sstream>

#include "common/strings.h"
#include "common/units.h"
#include "config/ha_json.h"

namespace tandem::heartbeat {

namespace {

// Writes "directive value   # note" lines with the values aligned.
class DirectiveWriter {
 public:
  explicit DirectiveWriter(std::ostringstream* out) : out_(out) {}
  void Line(const std::string& directive, const std::string& value, const std::string& note = "") {
    std::ostringstream line;
    line << std::left << std::setw(15) << directive << value;
    std::string text = line.str();
    if (!note.empty()) {
      if (text.size() < 40) text.resize(40, ' ');
      text += "  # " + note;
    }
    *out_ << text << "\n";
  }

 private:
  std::ostringstream* out_;
};

std::string MediumValue(const config::HaMedium& m) {
  switch (m.kind) {
    case config::HaMedium::Kind::kBcast:
      return m.interface;
    case config::HaMedium::Kind::kUcast:
      return m.interface + " " + m.address;
    case config::HaMedium::Kind::kMcast:
      return m.interface + " " + m.address + " " + std::to_string(m.port) + " " +
             std::to_string(m.ttl) + " " + (m.loop ? "1" : "0");
    case config::HaMedium::Kind::kSerial:
      return m.device;
  }
  return "";
}

void FormatHaCf(const config::HaCf& cf, std::ostringstream* out) {
  DirectiveWriter w(out);
  auto time = [&](const char* name, int64_t ms, const char* default_note) {
    w.Line(name, FormatDurationMs(ms), cf.IsWritten(name) ? "" : default_note);
  };
  *out << "# ha.cf: " << cf.source_file << "\n";
  time("keepalive", cf.keepalive_ms, "default");
  time("deadtime", cf.deadtime_ms, "default");
  time("warntime", cf.warntime_ms, "default: deadtime / 2");
  time("initdead", cf.initdead_ms, "default, from deadtime");
  time("deadping", cf.deadping_ms, "default: deadtime");
  auto number = [&](const char* name, int value) {
    w.Line(name, std::to_string(value), cf.IsWritten(name) ? "" : "default");
  };
  number("udpport", cf.udp_port);
  number("baud", cf.baud);
  number("hopfudge", cf.hopfudge);
  w.Line("auto_failback", config::AutoFailbackName(cf.auto_failback),
         cf.IsWritten("auto_failback") ? "" : "default");
  for (const auto& n : cf.nodes) {
    w.Line("node", n.name, n.name == cf.local_node ? "this node" : "");
  }
  for (const auto& m : cf.media) {
    w.Line(config::MediumDirectiveName(m.kind), MediumValue(m),
           m.kind == config::HaMedium::Kind::kUcast ? "skipped when it is this node's own address"
                                                    : "");
  }
  for (const auto& p : cf.ping_nodes) {
    if (p.is_group) {
      w.Line("ping_group", p.name + " " + Join(p.addresses, " "));
    } else {
      w.Line("ping", p.name);
    }
  }
  for (const auto& r : cf.respawns) {
    std::string value = r.user + " " + r.program;
    if (!r.args.empty()) value += " " + Join(r.args, " ");
    w.Line("respawn", value);
  }
  for (const auto& a : cf.api_auth) {
    std::string value = a.client;
    if (!a.uids.empty()) value += " uid=" + a.uids;
    if (!a.gids.empty()) value += " gid=" + a.gids;
    w.Line("apiauth", value);
  }
  if (cf.use_logd) w.Line("use_logd", *cf.use_logd ? "on" : "off");
  if (!cf.logfile.empty()) w.Line("logfile", cf.logfile);
  if (!cf.debugfile.empty()) w.Line("debugfile", cf.debugfile);
  if (!cf.log_facility.empty()) w.Line("logfacility", cf.log_facility);
  for (const auto& s : cf.stonith_hosts) {
    w.Line("stonith_host", s.host + " " + s.type,
           std::to_string(s.params.size()) + " parameters not shown");
  }
  for (const auto& d : cf.inert) {
    w.Line(d.name, Join(d.args, " "), "no effect in Tandem");
  }
}

}  // namespace

std::string FormatSettings(const HeartbeatConfig& config) {
  std::ostringstream out;
  out << "# Heartbeat settings in effect on node " << config.ha_cf.local_node << ", from "
      << config.config_dir << "\n";
  FormatHaCf(config.ha_cf, &out);
  out << "\n# haresources: " << config.resources.source_file << "\n";
  for (const auto& g : config.resources.groups) {
    out << g.node;
    for (const auto& r : g.resources) out << " " << r.Canonical();
    out << "\n";
  }
  out << "\n# authkeys: " << config.auth_keys.source_file << " (keys not shown)\n";
  out << "auth " << config.auth_keys.active_index << "\n";
  for (const auto& k : config.auth_keys.keys) {
    out << k.index << " " << config::AuthMethodName(k.method) << "\n";
  }
  return out.str();
}

nlohmann::json SettingsToJson(const HeartbeatConfig& config) {
  return {{"config_dir", config.config_dir},
          {"node", config.ha_cf.local_node},
          {"ha_cf", config::HaCfToJson(config.ha_cf)},
          {"haresources", config::HaResourcesToJson(config.resources)},
          {"authkeys", config::AuthKeysToJson(config.auth_keys)}};
}

std::string FormatSettingsJson(const HeartbeatConfig& config) {
  return SettingsToJson(config).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace tandem::heartbeat
