#pragma once
// Loads Heartbeat's ha.cf (version 1 "haresources" mode, as Tandem runs it) into
// a model with every default filled in, and applies Heartbeat's own checks:
// deadtime > 2 x keepalive, initdead >= deadtime, this node is a `node`, there
// is at least one heartbeat medium, udpport comes before the media that use it.
//
// Contract: every problem is reported with file:line[:column]; a file with any
// error yields no model, so nothing acts on a half-understood configuration.
// Whatever only matters at run time (an interface or program missing on this
// machine) is not looked at here: see heartbeat/runtime_check.h.
// Thread-safety: the functions share no state; a Diagnostics is owned by one load.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "config/diagnostics.h"

namespace tandem::config {

// Heartbeat's defaults (its config.c).
inline constexpr int64_t kDefaultKeepaliveMs = 1000;
inline constexpr int64_t kDefaultDeadtimeMs = 30000;
inline constexpr int kDefaultUdpPort = 694;
inline constexpr int kDefaultBaud = 19200;
inline constexpr int kDefaultHopfudge = 1;
// Below this an explicit initdead draws Heartbeat's "may be too small" warning.
inline constexpr int64_t kInitdeadWarnBelowMs = 10000;

struct HaNode {
  std::string name;  // lower case: Heartbeat folds node names
  SourceLocation where;
};

struct HaMedium {
  enum class Kind { kBcast, kUcast, kMcast, kSerial };
  Kind kind = Kind::kBcast;
  std::string interface;  // bcast, ucast, mcast
  std::string address;    // ucast: the address sent to; mcast: the group
  int port = 0;           // mcast only (bcast and ucast use HaCf::udp_port)
  int ttl = 0;            // mcast only
  bool loop = false;      // mcast only
  std::string device;     // serial only
  SourceLocation where;
  bool uses_udp() const { return kind != Kind::kSerial; }
};
// The directive that declares a medium of this kind ("bcast", "ucast", ...).
const char* MediumDirectiveName(HaMedium::Kind kind);

// `ping IP` (one node per address, named by it) or `ping_group NAME IP...`.
struct HaPingNode {
  std::string name;
  std::vector<std::string> addresses;
  bool is_group = false;
  SourceLocation where;
};

// `respawn USER PATH [ARGS...]`: a program Heartbeat keeps running.
struct HaRespawn {
  std::string user;
  std::string program;  // absolute
  std::vector<std::string> args;
  SourceLocation where;
};

// `apiauth CLIENT [uid=LIST] [gid=LIST]`, lists kept as written.
struct HaApiAuth {
  std::string client;
  std::string uids;
  std::string gids;
  SourceLocation where;
};

// `stonith_host HOST TYPE PARAMS...`; HOST is a node name or "*".
struct HaStonithHost {
  std::string host;
  std::string type;
  std::vector<std::string> params;
  SourceLocation where;
};

// A real Heartbeat directive Tandem accepts but does not act on.
struct HaInertDirective {
  std::string name;
  std::vector<std::string> args;
  SourceLocation where;
};

enum class AutoFailback { kOn, kOff, kLegacy };
const char* AutoFailbackName(AutoFailback value);

struct HaCf {
  std::string source_file;
  std::string local_node;  // this node, lower case; always one of `nodes`

  int64_t keepalive_ms = kDefaultKeepaliveMs;
  int64_t deadtime_ms = kDefaultDeadtimeMs;
  int64_t warntime_ms = 0;  // deadtime / 2 unless written
  int64_t initdead_ms = 0;  // from deadtime unless written (see docs/heartbeat-config.md)
  int64_t deadping_ms = 0;  // deadtime unless written
  int udp_port = kDefaultUdpPort;
  int baud = kDefaultBaud;
  int hopfudge = kDefaultHopfudge;
  AutoFailback auto_failback = AutoFailback::kLegacy;
  std::optional<bool> use_logd;
  std::string logfile;
  std::string debugfile;
  std::string log_facility;  // empty when not written; "none" is kept as written

  std::vector<HaNode> nodes;
  std::vector<HaMedium> media;
  std::vector<HaPingNode> ping_nodes;
  std::vector<HaRespawn> respawns;
  std::vector<HaApiAuth> api_auth;
  std::vector<HaStonithHost> stonith_hosts;
  std::vector<HaInertDirective> inert;

  // Where each single-valued directive was written; absent means a default.
  std::map<std::string, SourceLocation> written;

  bool IsWritten(const std::string& directive) const { return written.count(directive) > 0; }
  // The node with this name (any case), or null.
  const HaNode* FindNode(std::string_view name) const;
  std::vector<std::string> NodeNames() const;
};

// Reads `path` through env. local_node is this node (`--node`, default uname -n).
Result<HaCf> LoadHaCf(Env* env, const std::string& path, const std::string& local_node,
                      Diagnostics* diags);

// Same, from text already in memory; file_name only labels the diagnostics.
Result<HaCf> ParseHaCf(std::string_view text, const std::string& file_name,
                       const std::string& local_node, Diagnostics* diags);

// Value syntax shared by ha.cf and haresources.

// A numeric IPv4 (dotted quad) or IPv6 address; host names are not accepted.
bool IsNumericIpAddress(std::string_view text);
bool IsIpv4Address(std::string_view text);
// A Linux interface name: 1 to 15 bytes, no '/', ':' or whitespace, not "." or "..".
bool IsValidInterfaceName(std::string_view name);
// Heartbeat's boolean words: true/on/yes/y/1 and false/off/no/n/0, any case.
std::optional<bool> ParseHaBoolean(std::string_view text);

}  // namespace tandem::config
