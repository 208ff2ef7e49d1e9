#include "config/ha_cf.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "common/units.h"
#include "config/ha_line_reader.h"

namespace tandem::config {

namespace {

constexpr int64_t kMaxTimeMs = 24LL * 3600 * 1000;
constexpr size_t kMaxNodeNameBytes = 64;  // what `uname -n` can return on Linux
constexpr const char* kTimeSyntax = "a time: seconds, decimals allowed, or with an 'ms' suffix";
constexpr const char* kSyslogFacilities[] = {
    "auth",   "authpriv", "cron",   "daemon", "ftp",    "kern",   "lpr",
    "mail",   "news",     "syslog", "user",   "uucp",   "local0", "local1",
    "local2", "local3",   "local4", "local5", "local6", "local7", "none"};
constexpr int kBaudRates[] = {9600, 19200, 38400, 57600, 115200, 230400, 460800};

// Heartbeat directives that real ha.cf files carry and Tandem has no use for.
// crm and autojoin are handled apart: only their "off" values are harmless.
constexpr const char* kInertDirectives[] = {"watchdog",
                                            "debug",
                                            "realtime",
                                            "coredumps",
                                            "coreroot",
                                            "compression",
                                            "compression_threshold",
                                            "traditional_compression",
                                            "msgfmt",
                                            "uuidfrom",
                                            "conn_logd_time",
                                            "max_rexmit_delay",
                                            "hbgenmethod",
                                            "rtprio",
                                            "stonith",
                                            "cluster",
                                            "log_badpack",
                                            "use_apphbd"};

std::string Quoted(std::string_view word) {
  return "'" + Printable(word) + "'";
}

bool IsValidNodeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNodeNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

bool IsMulticastAddress(std::string_view text) {
  if (!IsNumericIpAddress(text)) return false;
  std::string s(text);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    unsigned first = ntohl(v4.s_addr) >> 24;
    return first >= 224 && first <= 239;
  }
  in6_addr v6{};
  return inet_pton(AF_INET6, s.c_str(), &v6) == 1 && v6.s6_addr[0] == 0xff;
}

class HaCfParser {
 public:
  HaCfParser(std::string file, std::string local_node, Diagnostics* diags)
      : file_(std::move(file)), local_node_(ToLower(local_node)), d_(diags) {}

  std::optional<HaCf> Run(std::string_view text) {
    const size_t errors_before = d_->error_count();
    cf_.source_file = file_;
    cf_.local_node = local_node_;
    last_line_ = SourceLocation{file_, LastLineNumber(text), 0};
    auto lines = SplitHaLines(text, file_, HaLineOptions{HaCommentStyle::kAnywhere, false}, d_);
    for (const auto& line : lines) {
      if (TooManyHaErrors(d_, errors_before, line.where)) return std::nullopt;
      Dispatch(line);
    }
    if (TooManyHaErrors(d_, errors_before, last_line_)) return std::nullopt;
    Validate();
    if (d_->error_count() > errors_before) return std::nullopt;
    return std::move(cf_);
  }

 private:
  using Handler = void (HaCfParser::*)(const HaLine&);

  static const std::vector<std::pair<std::string, Handler>>& Handlers() {
    static const std::vector<std::pair<std::string, Handler>> handlers = {
        {"keepalive", &HaCfParser::Keepalive},
        {"deadtime", &HaCfParser::Deadtime},
        {"warntime", &HaCfParser::Warntime},
        {"initdead", &HaCfParser::Initdead},
        {"deadping", &HaCfParser::Deadping},
        {"udpport", &HaCfParser::UdpPort},
        {"baud", &HaCfParser::Baud},
        {"hopfudge", &HaCfParser::Hopfudge},
        {"bcast", &HaCfParser::Bcast},
        {"udp", &HaCfParser::Bcast},
        {"ucast", &HaCfParser::Ucast},
        {"mcast", &HaCfParser::Mcast},
        {"serial", &HaCfParser::Serial},
        {"node", &HaCfParser::Node},
        {"ping", &HaCfParser::Ping},
        {"ping_group", &HaCfParser::PingGroup},
        {"respawn", &HaCfParser::Respawn},
        {"apiauth", &HaCfParser::ApiAuth},
        {"auto_failback", &HaCfParser::AutoFailbackDirective},
        {"nice_failback", &HaCfParser::NiceFailback},
        {"use_logd", &HaCfParser::UseLogd},
        {"logfile", &HaCfParser::LogFile},
        {"debugfile", &HaCfParser::DebugFile},
        {"logfacility", &HaCfParser::LogFacility},
        {"stonith_host", &HaCfParser::StonithHost},
        {"crm", &HaCfParser::Crm},
        {"autojoin", &HaCfParser::Autojoin},
    };
    return handlers;
  }

  void Dispatch(const HaLine& line) {
    const std::string& name = line.words[0].text;
    for (const auto& [directive, handler] : Handlers()) {
      if (name == directive) {
        (this->*handler)(line);
        return;
      }
    }
    for (const char* inert : kInertDirectives) {
      if (name == inert) {
        Inert(line);
        return;
      }
    }
    std::string suggestion;
    // Edit distance is quadratic; nothing that long is a typo of a directive.
    if (name.size() <= 40) suggestion = DidYouMean(name, AllDirectiveNames());
    d_->Error(line.words[0].where,
              "Illegal directive [" + Printable(name) + "] in " + file_ + suggestion);
  }

  static std::vector<std::string> AllDirectiveNames() {
    std::vector<std::string> names;
    for (const auto& [directive, handler] : Handlers()) names.push_back(directive);
    for (const char* inert : kInertDirectives) names.emplace_back(inert);
    return names;
  }

  // --- argument shape -------------------------------------------------------

  // Exactly one value after the directive; `what` describes it for the error.
  bool OneValue(const HaLine& l, const std::string& what) {
    const std::string& name = l.words[0].text;
    if (l.words.size() == 1) {
      d_->Error(l.words[0].where, "'" + name + "' needs a value (" + what + ")");
      return false;
    }
    if (l.words.size() > 2) {
      d_->Error(l.words[2].where, "'" + name + "' takes one value (" + what + "); unexpected " +
                                      Quoted(l.words[2].text));
      return false;
    }
    return true;
  }

  bool AtLeast(const HaLine& l, size_t values, const std::string& usage) {
    if (l.words.size() > values) return true;
    d_->Error(l.words[0].where, "'" + l.words[0].text + "' needs " + usage);
    return false;
  }

  // Records that `key` was written at this line; a second time is an error.
  bool MarkWritten(const HaLine& l, const std::string& key) {
    auto [it, inserted] = cf_.written.try_emplace(key, l.words[0].where);
    if (inserted) return true;
    const std::string& name = l.words[0].text;
    if (name == key) {
      d_->Error(l.words[0].where,
                "'" + name + "' is set twice (first at " + it->second.ToString() + ")");
    } else {
      d_->Error(l.words[0].where, "'" + name + "' sets '" + key + "', which is already set at " +
                                      it->second.ToString());
    }
    return false;
  }

  // --- timing ---------------------------------------------------------------

  void SetTime(const HaLine& l, int64_t min_ms, int64_t* out) {
    if (!OneValue(l, kTimeSyntax)) return;
    const HaWord& value = l.words[1];
    const std::string& name = l.words[0].text;
    auto ms = ParseDurationMs(value.text);
    if (!ms.ok()) {
      d_->Error(value.where, "'" + name + "': " + Quoted(value.text) + " is not " + kTimeSyntax);
      return;
    }
    if (*ms < min_ms) {
      d_->Error(value.where, "'" + name + "' must be more than 0");
      return;
    }
    if (*ms > kMaxTimeMs) {
      d_->Error(value.where, "'" + name + "' " + Quoted(value.text) + " is longer than a day");
      return;
    }
    if (MarkWritten(l, name)) *out = *ms;
  }

  void Keepalive(const HaLine& l) { SetTime(l, 1, &cf_.keepalive_ms); }
  void Deadtime(const HaLine& l) { SetTime(l, 0, &cf_.deadtime_ms); }
  void Warntime(const HaLine& l) { SetTime(l, 1, &cf_.warntime_ms); }
  void Initdead(const HaLine& l) { SetTime(l, 0, &cf_.initdead_ms); }
  void Deadping(const HaLine& l) { SetTime(l, 0, &cf_.deadping_ms); }

  // --- numbers --------------------------------------------------------------

  void UdpPort(const HaLine& l) {
    if (!OneValue(l, "a UDP port number, 1..65535")) return;
    auto port = ParseInteger(l.words[1].text, 1, 65535);
    if (!port) {
      d_->Error(l.words[1].where,
                "invalid port [" + Printable(l.words[1].text) + "] specified (1..65535)");
      return;
    }
    for (const auto& m : cf_.media) {
      if (m.uses_udp()) {
        // Heartbeat reads the port when it reads a medium line, so a later
        // udpport silently does not apply to the lines above it.
        d_->Error(l.words[0].where,
                  "udpport must come before the media lines that use it (the first is at " +
                      m.where.ToString() + ")");
        return;
      }
    }
    if (MarkWritten(l, "udpport")) cf_.udp_port = static_cast<int>(*port);
  }

  void Baud(const HaLine& l) {
    if (!OneValue(l, "a serial speed")) return;
    auto baud = ParseInteger(l.words[1].text, 1, 1 << 30);
    if (!baud ||
        std::find(std::begin(kBaudRates), std::end(kBaudRates), *baud) == std::end(kBaudRates)) {
      d_->Error(l.words[1].where, "invalid baudrate [" + Printable(l.words[1].text) +
                                      "] specified (one of 9600, 19200, 38400, 57600, 115200, "
                                      "230400, 460800)");
      return;
    }
    // Heartbeat applies the speed when it opens the port, so `baud` may follow `serial`.
    if (MarkWritten(l, "baud")) cf_.baud = static_cast<int>(*baud);
  }

  void Hopfudge(const HaLine& l) {
    if (!OneValue(l, "a hop count, 0..255")) return;
    auto hops = ParseInteger(l.words[1].text, 0, 255);
    if (!hops) {
      d_->Error(l.words[1].where,
                "'hopfudge' " + Quoted(l.words[1].text) + " is not a hop count in 0..255");
      return;
    }
    if (MarkWritten(l, "hopfudge")) cf_.hopfudge = static_cast<int>(*hops);
  }

  // --- media ----------------------------------------------------------------

  // Host names are not resolved: the check must not depend on DNS.
  bool CheckAddress(const HaWord& w, const std::string& directive) {
    if (IsNumericIpAddress(w.text)) return true;
    d_->Error(w.where,
              directive + ": [" + Printable(w.text) + "] is not a numeric IPv4 or IPv6 address");
    return false;
  }

  bool CheckInterface(const HaWord& w) {
    if (IsValidInterfaceName(w.text)) return true;
    d_->Error(w.where, Quoted(w.text) + " is not a valid interface name");
    return false;
  }

  void AddMedium(HaMedium m) {
    for (const auto& other : cf_.media) {
      if (other.kind == m.kind && other.interface == m.interface && other.address == m.address &&
          other.device == m.device && other.port == m.port) {
        d_->Warning(m.where, "the same medium is already listed at " + other.where.ToString() +
                                 "; heartbeats would go out twice on it");
        break;
      }
    }
    cf_.media.push_back(std::move(m));
  }

  void Bcast(const HaLine& l) {
    if (l.words[0].text == "udp") {
      d_->Warning(l.words[0].where, "directive 'udp' replaced by 'bcast'");
    }
    if (!AtLeast(l, 1, "at least one interface name: bcast IFACE...")) return;
    for (size_t i = 1; i < l.words.size(); ++i) {
      if (!CheckInterface(l.words[i])) continue;
      HaMedium m;
      m.kind = HaMedium::Kind::kBcast;
      m.interface = l.words[i].text;
      m.where = l.words[i].where;
      AddMedium(std::move(m));
    }
  }

  void Ucast(const HaLine& l) {
    if (l.words.size() != 3) {
      d_->Error(l.words[0].where,
                "'ucast' takes an interface and an IP address: ucast IFACE IP (found " +
                    std::to_string(l.words.size() - 1) + " values)");
      return;
    }
    const bool iface_ok = CheckInterface(l.words[1]);
    if (!CheckAddress(l.words[2], "ucast") || !iface_ok) return;
    HaMedium m;
    m.kind = HaMedium::Kind::kUcast;
    m.interface = l.words[1].text;
    m.address = l.words[2].text;
    m.where = l.words[0].where;
    AddMedium(std::move(m));
  }

  void Mcast(const HaLine& l) {
    if (l.words.size() != 6) {
      d_->Error(l.words[0].where,
                "'mcast' takes five values: mcast IFACE GROUP PORT TTL LOOP (found " +
                    std::to_string(l.words.size() - 1) + ")");
      return;
    }
    bool ok = CheckInterface(l.words[1]);
    if (!IsMulticastAddress(l.words[2].text)) {
      d_->Error(l.words[2].where, "mcast: [" + Printable(l.words[2].text) +
                                      "] is not a multicast group address (224.0.0.0/4 or "
                                      "ff00::/8)");
      ok = false;
    }
    auto port = ParseInteger(l.words[3].text, 1, 65535);
    if (!port) {
      d_->Error(l.words[3].where,
                "mcast: port " + Quoted(l.words[3].text) + " is not a number in 1..65535");
      ok = false;
    }
    auto ttl = ParseInteger(l.words[4].text, 0, 255);
    if (!ttl) {
      d_->Error(l.words[4].where,
                "mcast: ttl " + Quoted(l.words[4].text) + " is not a number in 0..255");
      ok = false;
    }
    auto loop = ParseInteger(l.words[5].text, 0, 1);
    if (!loop) {
      d_->Error(l.words[5].where, "mcast: loop " + Quoted(l.words[5].text) + " must be 0 or 1");
      ok = false;
    }
    if (!ok) return;
    HaMedium m;
    m.kind = HaMedium::Kind::kMcast;
    m.interface = l.words[1].text;
    m.address = l.words[2].text;
    m.port = static_cast<int>(*port);
    m.ttl = static_cast<int>(*ttl);
    m.loop = *loop == 1;
    m.where = l.words[0].where;
    AddMedium(std::move(m));
  }

  void Serial(const HaLine& l) {
    if (!AtLeast(l, 1, "at least one device: serial DEVICE...")) return;
    for (size_t i = 1; i < l.words.size(); ++i) {
      const HaWord& w = l.words[i];
      if (w.text[0] != '/') {
        d_->Error(w.where, "serial device [" + Printable(w.text) +
                               "] is not an absolute path (such as /dev/ttyS0)");
        continue;
      }
      HaMedium m;
      m.kind = HaMedium::Kind::kSerial;
      m.device = w.text;
      m.where = w.where;
      AddMedium(std::move(m));
    }
  }

  // --- nodes ----------------------------------------------------------------

  // Cluster nodes and ping nodes share one name space in Heartbeat.
  bool ClaimNodeName(const std::string& name, const SourceLocation& where) {
    auto [it, inserted] = node_names_.try_emplace(name, where);
    if (!inserted) {
      d_->Error(where, "node name [" + name + "] is already used at " + it->second.ToString());
    }
    return inserted;
  }

  void Node(const HaLine& l) {
    if (!AtLeast(l, 1, "at least one node name: node NAME...")) return;
    for (size_t i = 1; i < l.words.size(); ++i) {
      const HaWord& w = l.words[i];
      if (!IsValidNodeName(w.text)) {
        d_->Error(w.where, "invalid node name " + Quoted(w.text) +
                               " (letters, digits, '.', '-', '_'; up to 64, as uname -n prints)");
        continue;
      }
      std::string name = ToLower(w.text);
      if (ClaimNodeName(name, w.where)) cf_.nodes.push_back(HaNode{name, w.where});
    }
  }

  void Ping(const HaLine& l) {
    if (!AtLeast(l, 1, "at least one address to ping: ping IP...")) return;
    for (size_t i = 1; i < l.words.size(); ++i) {
      const HaWord& w = l.words[i];
      if (!CheckAddress(w, "ping") || !ClaimNodeName(w.text, w.where)) continue;
      cf_.ping_nodes.push_back(HaPingNode{w.text, {w.text}, false, w.where});
    }
  }

  void PingGroup(const HaLine& l) {
    if (!AtLeast(l, 2, "a group name and at least one address: ping_group NAME IP...")) return;
    const HaWord& name = l.words[1];
    bool ok = true;
    if (!IsValidNodeName(name.text)) {
      d_->Error(name.where, "invalid ping_group name " + Quoted(name.text));
      ok = false;
    }
    HaPingNode group{name.text, {}, true, l.words[0].where};
    for (size_t i = 2; i < l.words.size(); ++i) {
      if (CheckAddress(l.words[i], "ping_group")) {
        group.addresses.push_back(l.words[i].text);
      } else {
        ok = false;
      }
    }
    if (ok && ClaimNodeName(name.text, name.where)) cf_.ping_nodes.push_back(std::move(group));
  }

  // --- programs and API clients ---------------------------------------------

  void Respawn(const HaLine& l) {
    if (!AtLeast(l, 2, "a user and a program: respawn USER /PATH [ARGS...]")) return;
    const HaWord& program = l.words[2];
    if (program.text[0] != '/') {
      d_->Error(program.where,
                "Client child command [" + Printable(program.text) + "] is not full pathname");
      return;
    }
    HaRespawn r{l.words[1].text, program.text, {}, l.words[0].where};
    for (size_t i = 3; i < l.words.size(); ++i) r.args.push_back(l.words[i].text);
    cf_.respawns.push_back(std::move(r));
  }

  void ApiAuth(const HaLine& l) {
    constexpr const char* kUsage = "apiauth CLIENT [uid=LIST] [gid=LIST]";
    if (!AtLeast(l, 2, std::string("a client and uid= or gid= lists: ") + kUsage)) return;
    HaApiAuth auth{l.words[1].text, "", "", l.words[0].where};
    bool has_uid = false, has_gid = false;
    for (size_t i = 2; i < l.words.size(); ++i) {
      const HaWord& w = l.words[i];
      bool is_uid = w.text.rfind("uid=", 0) == 0;
      bool is_gid = w.text.rfind("gid=", 0) == 0;
      if (!is_uid && !is_gid) {
        d_->Error(w.where,
                  "Missing uid or gid in apiauth: " + Quoted(w.text) + " (" + kUsage + ")");
        return;
      }
      bool& seen = is_uid ? has_uid : has_gid;
      if (seen) {
        d_->Error(w.where,
                  std::string("Duplicate ") + (is_uid ? "uid" : "gid") + " list in apiauth");
        return;
      }
      seen = true;
      std::string list = w.text.substr(4);
      if (list.empty()) {
        d_->Error(w.where, "empty " + w.text.substr(0, 3) + " list in apiauth");
        return;
      }
      (is_uid ? auth.uids : auth.gids) = list;
    }
    for (const auto& other : cf_.api_auth) {
      if (other.client == auth.client) {
        d_->Error(l.words[1].where, "Duplicate apiauth directive for API client " +
                                        Printable(auth.client) + " (first at " +
                                        other.where.ToString() + ")");
        return;
      }
    }
    cf_.api_auth.push_back(std::move(auth));
  }

  // --- failback and logging -------------------------------------------------

  void AutoFailbackDirective(const HaLine& l) {
    if (!OneValue(l, "on, off or legacy")) return;
    const HaWord& v = l.words[1];
    AutoFailback value;
    if (EqualsIgnoreCase(v.text, "legacy")) {
      value = AutoFailback::kLegacy;
    } else if (auto b = ParseHaBoolean(v.text)) {
      value = *b ? AutoFailback::kOn : AutoFailback::kOff;
    } else {
      d_->Error(v.where, "auto_failback " + Quoted(v.text) + " must be on, off or legacy");
      return;
    }
    if (MarkWritten(l, "auto_failback")) cf_.auto_failback = value;
  }

  void NiceFailback(const HaLine& l) {
    if (!OneValue(l, "on or off")) return;
    auto b = ParseHaBoolean(l.words[1].text);
    if (!b) {
      d_->Error(l.words[1].where,
                "nice_failback " + Quoted(l.words[1].text) + " must be on or off");
      return;
    }
    const AutoFailback value = *b ? AutoFailback::kOff : AutoFailback::kLegacy;
    d_->Warning(l.words[0].where, std::string("nice_failback flag is obsolete; read as "
                                              "'auto_failback ") +
                                      AutoFailbackName(value) + "'. Use auto_failback instead");
    if (MarkWritten(l, "auto_failback")) cf_.auto_failback = value;
  }

  void UseLogd(const HaLine& l) {
    if (!OneValue(l, "on or off")) return;
    auto b = ParseHaBoolean(l.words[1].text);
    if (!b) {
      d_->Error(l.words[1].where, "use_logd " + Quoted(l.words[1].text) + " must be on or off");
      return;
    }
    if (MarkWritten(l, "use_logd")) cf_.use_logd = *b;
  }

  void SetPath(const HaLine& l, std::string* out) {
    if (!OneValue(l, "a file name")) return;
    const HaWord& v = l.words[1];
    if (v.text[0] != '/') {
      d_->Warning(v.where, "'" + l.words[0].text + "' " + Quoted(v.text) +
                               " is not an absolute path; it is relative to / when Heartbeat "
                               "runs as a daemon");
    }
    if (MarkWritten(l, l.words[0].text)) *out = v.text;
  }

  void LogFile(const HaLine& l) { SetPath(l, &cf_.logfile); }
  void DebugFile(const HaLine& l) { SetPath(l, &cf_.debugfile); }

  void LogFacility(const HaLine& l) {
    if (!OneValue(l, "a syslog facility such as daemon or local0, or none")) return;
    std::string value = ToLower(l.words[1].text);
    std::vector<std::string> names(std::begin(kSyslogFacilities), std::end(kSyslogFacilities));
    if (std::find(names.begin(), names.end(), value) == names.end()) {
      std::string suggestion = value.size() <= 40 ? DidYouMean(value, names) : "";
      d_->Error(l.words[1].where,
                "Log facility(" + Printable(l.words[1].text) + ") not valid" + suggestion);
      return;
    }
    if (MarkWritten(l, "logfacility")) cf_.log_facility = value;
  }

  void StonithHost(const HaLine& l) {
    if (!AtLeast(l, 2, "a host and a STONITH type: stonith_host HOST TYPE [PARAMS...]")) return;
    HaStonithHost s;
    s.host = l.words[1].text == "*" ? "*" : ToLower(l.words[1].text);
    s.type = l.words[2].text;
    for (size_t i = 3; i < l.words.size(); ++i) s.params.push_back(l.words[i].text);
    s.where = l.words[0].where;
    cf_.stonith_hosts.push_back(std::move(s));
  }

  // --- directives Tandem does not act on -------------------------------------

  void RecordInert(const HaLine& l) {
    HaInertDirective d{l.words[0].text, {}, l.words[0].where};
    for (size_t i = 1; i < l.words.size(); ++i) d.args.push_back(l.words[i].text);
    d_->Warning(l.words[0].where, "'" + d.name + "' is accepted, has no effect in Tandem");
    cf_.inert.push_back(std::move(d));
  }

  void Inert(const HaLine& l) {
    if (!AtLeast(l, 1, "a value")) return;
    RecordInert(l);
  }

  void Crm(const HaLine& l) {
    if (!OneValue(l, "off")) return;
    auto b = ParseHaBoolean(l.words[1].text);
    if (!b || *b) {
      d_->Error(l.words[1].where, "crm " + Quoted(l.words[1].text) +
                                      ": Tandem runs haresources (v1) mode only; use 'crm off' "
                                      "or remove the line");
      return;
    }
    RecordInert(l);
  }

  void Autojoin(const HaLine& l) {
    if (!OneValue(l, "none")) return;
    if (l.words[1].text != "none") {
      d_->Error(l.words[1].where, "autojoin " + Quoted(l.words[1].text) +
                                      ": Tandem's cluster is the nodes listed in ha.cf; only "
                                      "'autojoin none' is accepted");
      return;
    }
    RecordInert(l);
  }

  // --- whole-file checks ----------------------------------------------------

  // Where a check about a directive points: its line, or the file's end if unset.
  SourceLocation WhereIs(const std::string& directive) const {
    auto it = cf_.written.find(directive);
    return it == cf_.written.end() ? last_line_ : it->second;
  }

  static std::string Ms(int64_t ms) { return std::to_string(ms) + " ms"; }

  void Validate() {
    ValidateNodes();
    if (cf_.media.empty()) {
      d_->Error(last_line_,
                "No heartbeat media defined (add a bcast, ucast, mcast or serial line)");
    }
    ValidateTimes();
    if (cf_.auto_failback == AutoFailback::kLegacy) {
      d_->Warning(WhereIs("auto_failback"),
                  "Deprecated 'legacy' auto_failback option selected. Please convert to "
                  "'auto_failback on' (or off)");
    }
    if (cf_.logfile.empty() && cf_.debugfile.empty() &&
        (cf_.log_facility.empty() || cf_.log_facility == "none") && cf_.use_logd == false) {
      d_->Error(WhereIs("use_logd"),
                "No log entry found in ha.cf and use_logd is set to off "
                "(add logfile, debugfile or logfacility)");
    }
    for (const auto& s : cf_.stonith_hosts) {
      if (s.host != "*" && !cf_.FindNode(s.host)) {
        d_->Warning(s.where, "stonith_host names [" + Printable(s.host) +
                                 "], which is not a node of this ha.cf; the line is never used");
      }
    }
  }

  void ValidateNodes() {
    if (cf_.nodes.empty()) {
      d_->Error(last_line_, "no nodes defined (add a 'node NAME' line for each of the two nodes)");
      return;
    }
    if (cf_.nodes.size() > 2) {
      d_->Error(cf_.nodes[2].where,
                "Tandem is a two-node cluster; node [" + cf_.nodes[2].name + "] is a third node");
    } else if (cf_.nodes.size() == 1) {
      d_->Warning(cf_.nodes[0].where, "only one node is listed; there is no peer to fail over to");
    }
    if (!cf_.FindNode(local_node_)) {
      d_->Error(cf_.nodes[0].where,
                "Current node [" + Printable(local_node_) +
                    "] not in configuration! Cluster nodes are named by `uname -n` (or --node) "
                    "and must be declared with a 'node' directive");
    }
  }

  void ValidateTimes() {
    if (cf_.deadtime_ms <= 2 * cf_.keepalive_ms) {
      d_->Error(cf_.IsWritten("deadtime") ? WhereIs("deadtime") : WhereIs("keepalive"),
                "Dead time [" + Ms(cf_.deadtime_ms) + "] is too small compared to keeplive [" +
                    Ms(cf_.keepalive_ms) + "]: deadtime must be more than 2 x keepalive");
    }
    if (!cf_.IsWritten("warntime")) {
      cf_.warntime_ms = cf_.deadtime_ms / 2;
    } else if (cf_.warntime_ms >= cf_.deadtime_ms) {
      d_->Warning(WhereIs("warntime"), "Warn time [" + Ms(cf_.warntime_ms) +
                                           "] is not below deadtime [" + Ms(cf_.deadtime_ms) +
                                           "]: a late heartbeat is never reported before the "
                                           "node is declared dead");
    }
    if (!cf_.IsWritten("initdead")) {
      // Heartbeat's rule: room for a slow network start, never less than deadtime.
      if (cf_.deadtime_ms > 10000) {
        cf_.initdead_ms = cf_.deadtime_ms;
      } else if (cf_.deadtime_ms < 6000) {
        cf_.initdead_ms = 12000;
      } else {
        cf_.initdead_ms = 2 * cf_.deadtime_ms;
      }
    } else if (cf_.initdead_ms < cf_.deadtime_ms) {
      d_->Error(WhereIs("initdead"), "Initial dead time [" + Ms(cf_.initdead_ms) +
                                         "] is smaller than deadtime [" + Ms(cf_.deadtime_ms) +
                                         "]");
    } else if (cf_.initdead_ms < kInitdeadWarnBelowMs) {
      d_->Warning(WhereIs("initdead"), "Initial dead time [" + Ms(cf_.initdead_ms) +
                                           "] may be too small! It accounts for slow network "
                                           "startup and should be >= deadtime and >= 10 seconds");
    }
    if (!cf_.IsWritten("deadping")) {
      cf_.deadping_ms = cf_.deadtime_ms;
    } else if (cf_.deadping_ms <= 2 * cf_.keepalive_ms) {
      d_->Error(WhereIs("deadping"),
                "Ping dead time [" + Ms(cf_.deadping_ms) + "] is too small compared to keeplive [" +
                    Ms(cf_.keepalive_ms) + "]: deadping must be more than 2 x keepalive");
    }
    if (cf_.IsWritten("deadping") && cf_.ping_nodes.empty()) {
      d_->Warning(WhereIs("deadping"), "deadping has no effect without ping or ping_group nodes");
    }
  }

  std::string file_;
  std::string local_node_;
  Diagnostics* d_;
  HaCf cf_;
  SourceLocation last_line_;
  std::map<std::string, SourceLocation> node_names_;
};

}  // namespace

const char* MediumDirectiveName(HaMedium::Kind kind) {
  switch (kind) {
    case HaMedium::Kind::kBcast:
      return "bcast";
    case HaMedium::Kind::kUcast:
      return "ucast";
    case HaMedium::Kind::kMcast:
      return "mcast";
    case HaMedium::Kind::kSerial:
      return "serial";
  }
  return "bcast";
}

const char* AutoFailbackName(AutoFailback value) {
  switch (value) {
    case AutoFailback::kOn:
      return "on";
    case AutoFailback::kOff:
      return "off";
    case AutoFailback::kLegacy:
      return "legacy";
  }
  return "legacy";
}

const HaNode* HaCf::FindNode(std::string_view name) const {
  for (const auto& n : nodes) {
    if (EqualsIgnoreCase(n.name, name)) return &n;
  }
  return nullptr;
}

std::vector<std::string> HaCf::NodeNames() const {
  std::vector<std::string> names;
  for (const auto& n : nodes) names.push_back(n.name);
  return names;
}

Result<HaCf> ParseHaCf(std::string_view text, const std::string& file_name,
                       const std::string& local_node, Diagnostics* diags) {
  HaCfParser parser(file_name, local_node, diags);
  auto cf = parser.Run(text);
  if (!cf) return diags->ToStatus();
  return std::move(*cf);
}

Result<HaCf> LoadHaCf(Env* env, const std::string& path, const std::string& local_node,
                      Diagnostics* diags) {
  auto text = ReadHaFile(env, path, diags);
  if (!text) return diags->ToStatus();
  return ParseHaCf(*text, path, local_node, diags);
}

bool IsIpv4Address(std::string_view text) {
  // inet_pton stops at a NUL byte, which would accept "1.2.3.4\0junk".
  if (text.find('\0') != std::string_view::npos) return false;
  in_addr v4{};
  return inet_pton(AF_INET, std::string(text).c_str(), &v4) == 1;
}

bool IsNumericIpAddress(std::string_view text) {
  if (IsIpv4Address(text)) return true;
  if (text.find('\0') != std::string_view::npos) return false;
  in6_addr v6{};
  return inet_pton(AF_INET6, std::string(text).c_str(), &v6) == 1;
}

bool IsValidInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
}

std::optional<bool> ParseHaBoolean(std::string_view text) {
  for (const char* yes : {"true", "on", "yes", "y", "1"}) {
    if (EqualsIgnoreCase(text, yes)) return true;
  }
  for (const char* no : {"false", "off", "no", "n", "0"}) {
    if (EqualsIgnoreCase(text, no)) return false;
  }
  return std::nullopt;
}

}  // namespace tandem::config
