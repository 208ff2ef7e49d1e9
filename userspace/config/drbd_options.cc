#include "config/drbd_options.h"

#include <arpa/inet.h>

#include <cctype>

#include "common/strings.h"
#include "common/units.h"

namespace tandem::config {

namespace {

using S = Section;
using T = ValueType;
constexpr long long K = 1024;
constexpr long long M = 1024 * K;
constexpr long long G = 1024 * M;

constexpr std::string_view kAfterSb0 =
    "disconnect|discard-younger-primary|discard-older-primary|discard-zero-changes|"
    "discard-least-changes|discard-local|discard-remote|discard-node-*";

// clang-format off
const OptionSpec kOptions[] = {
  // ---- global ----
  {"usage-count", S::kGlobal, T::kEnum, "no", 0, 0, 1, "yes|no|ask", "", "accepted for drbd.conf compatibility; Tandem never reports usage"},
  {"minor-count", S::kGlobal, T::kInteger, "32", 1, 255, 1, "", "", "number of device minors to reserve"},
  {"dialog-refresh", S::kGlobal, T::kInteger, "1", 0, 600, 1, "", "", "seconds between wait-connect progress lines (0: none)"},
  {"disable-ip-verification", S::kGlobal, T::kBool, "no", 0, 0, 1, "", "", "do not check that this node owns its address"},
  {"udev-always-use-vnr", S::kGlobal, T::kBool, "no", 0, 0, 1, "", "", "accepted for compatibility"},

  // ---- net ----
  {"protocol", S::kNet, T::kEnum, "C", 0, 0, 1, "A|B|C", "resource:protocol", "replication protocol: A async, B memory-sync, C sync"},
  {"timeout", S::kNet, T::kInteger, "60", 1, 600, 1, "", "", "peer response timeout, tenths of a second"},
  {"max-epoch-size", S::kNet, T::kInteger, "2048", 1, 20000, 1, "", "", "write requests between barriers"},
  {"max-buffers", S::kNet, T::kInteger, "2048", 32, 131072, 1, "", "", "receive buffers (4 KiB pages) per resource"},
  {"unplug-watermark", S::kNet, T::kInteger, "128", 1, 131072, 1, "", "", "accepted for compatibility"},
  {"connect-int", S::kNet, T::kInteger, "10", 1, 120, 1, "", "", "seconds between connection attempts"},
  {"nbd-tls", S::kNet, T::kEnum, "off", 0, 0, 1, "off|optional|required", "", "Tandem: TLS on the NBD export (required: clients that skip STARTTLS are refused)"},
  {"nbd-tls-cert", S::kNet, T::kPath, "", 0, 0, 1, "", "", "Tandem: PEM certificate (chain) of the NBD export"},
  {"nbd-tls-key", S::kNet, T::kPath, "", 0, 0, 1, "", "", "Tandem: PEM private key of the NBD export"},
  {"ping-int", S::kNet, T::kInteger, "10", 1, 120, 1, "", "", "seconds of idle link before a keep-alive ping"},
  {"ping-timeout", S::kNet, T::kInteger, "5", 1, 300, 1, "", "", "ping answer timeout, tenths of a second"},
  {"sndbuf-size", S::kNet, T::kSize, "0", 0, 10 * M, 1, "", "", "TCP send buffer, bytes (0: auto-tune)"},
  {"rcvbuf-size", S::kNet, T::kSize, "0", 0, 10 * M, 1, "", "", "TCP receive buffer, bytes (0: auto-tune)"},
  {"ko-count", S::kNet, T::kInteger, "7", 0, 200, 1, "", "", "timeouts before an unresponsive peer is dropped (0: never)"},
  {"allow-two-primaries", S::kNet, T::kBool, "no", 0, 0, 1, "", "", "permit Primary on both nodes"},
  {"cram-hmac-alg", S::kNet, T::kString, "", 0, 0, 1, "", "", "HMAC digest for peer authentication (e.g. sha1, sha256)"},
  {"shared-secret", S::kNet, T::kString, "", 0, 0, 1, "", "", "peer authentication secret, up to 64 characters"},
  {"after-sb-0pri", S::kNet, T::kEnum, "disconnect", 0, 0, 1, kAfterSb0, "", "split-brain policy with no Primary"},
  {"after-sb-1pri", S::kNet, T::kEnum, "disconnect", 0, 0, 1, "disconnect|consensus|violently-as0p|discard-secondary|call-pri-lost-after-sb", "", "split-brain policy with one Primary"},
  {"after-sb-2pri", S::kNet, T::kEnum, "disconnect", 0, 0, 1, "disconnect|violently-as0p|call-pri-lost-after-sb", "", "split-brain policy with two Primaries"},
  {"always-asbp", S::kNet, T::kBool, "no", 0, 0, 1, "", "", "apply after-sb policies even without a common ancestor"},
  {"rr-conflict", S::kNet, T::kEnum, "disconnect", 0, 0, 1, "disconnect|call-pri-lost|violently", "", "what to do when a resync would overwrite a Primary"},
  {"data-integrity-alg", S::kNet, T::kString, "", 0, 0, 1, "", "", "digest carried by every replicated write (any OpenSSL digest, or crc32c)"},
  {"tcp-cork", S::kNet, T::kBool, "yes", 0, 0, 1, "", "", "batch small packets"},
  {"on-congestion", S::kNet, T::kEnum, "block", 0, 0, 1, "block|pull-ahead|disconnect", "", "what to do when the link is congested"},
  {"congestion-fill", S::kNet, T::kSize, "0", 0, 10 * G, 512, "", "", "in-flight data that counts as congestion, sectors (0: off)"},
  {"congestion-extents", S::kNet, T::kInteger, "1237", 7, 65534, 1, "", "", "active extents that count as congestion"},
  {"csums-alg", S::kNet, T::kString, "", 0, 0, 1, "", "syncer:csums-alg", "digest for checksum-based resync"},
  {"verify-alg", S::kNet, T::kString, "", 0, 0, 1, "", "syncer:verify-alg", "digest for online verify"},
  {"use-rle", S::kNet, T::kBool, "yes", 0, 0, 1, "", "syncer:use-rle", "run-length encode bitmap exchange"},
  {"on-disconnect", S::kNet, T::kEnum, "reconnect", 0, 0, 1, "reconnect|stand_alone|freeze_io", "", "0.7: what to do when the link drops", true},

  // ---- disk ----
  {"on-io-error", S::kDisk, T::kEnum, "detach", 0, 0, 1, "pass_on|call-local-io-error|detach|panic", "", "what a backing-disk I/O error does"},
  {"fencing", S::kDisk, T::kEnum, "dont-care", 0, 0, 1, "dont-care|resource-only|resource-and-stonith", "net:fencing", "fencing policy"},
  {"size", S::kDisk, T::kSize, "0", 0, 1024 * G * 1024, 512, "", "", "usable size, sectors by default (0: whole disk)"},
  {"disk-barrier", S::kDisk, T::kBool, "no", 0, 0, 1, "", "", "accepted for compatibility"},
  {"disk-flushes", S::kDisk, T::kBool, "yes", 0, 0, 1, "", "", "flush the backing disk at write-ordering points"},
  {"disk-drain", S::kDisk, T::kBool, "yes", 0, 0, 1, "", "", "drain requests at write-ordering points"},
  {"md-flushes", S::kDisk, T::kBool, "yes", 0, 0, 1, "", "", "flush meta-data writes"},
  {"resync-rate", S::kDisk, T::kSize, "250", K, 8 * G, K, "", "syncer:rate syncer:resync-rate disk:rate", "resync bandwidth cap, bytes per second (a bare number is KiB/s)"},
  {"resync-after", S::kDisk, T::kString, "", 0, 0, 1, "", "syncer:after", "resource whose resync must finish first"},
  {"group", S::kDisk, T::kInteger, "0", 0, 1000, 1, "", "syncer:group", "0.7 resync group", true},
  {"al-extents", S::kDisk, T::kInteger, "1237", 7, 65534, 1, "", "syncer:al-extents", "activity-log capacity, 4 MiB extents"},
  {"al-updates", S::kDisk, T::kBool, "yes", 0, 0, 1, "", "", "keep the activity log on disk"},
  {"c-plan-ahead", S::kDisk, T::kInteger, "0", 0, 300, 1, "", "syncer:c-plan-ahead", "resync controller horizon, tenths of a second (0: fixed rate, resync-rate caps the resync)"},
  {"c-delay-target", S::kDisk, T::kInteger, "10", 1, 100, 1, "", "syncer:c-delay-target", "resync controller delay target, tenths of a second"},
  {"c-fill-target", S::kDisk, T::kSize, "100", 0, 512 * M, 512, "", "syncer:c-fill-target", "resync controller in-flight target, sectors by default"},
  {"c-max-rate", S::kDisk, T::kSize, "102400", 250 * K, 4 * G, K, "", "syncer:c-max-rate", "resync controller ceiling, bytes per second (bare: KiB/s)"},
  {"c-min-rate", S::kDisk, T::kSize, "250", 0, 4 * G, K, "", "syncer:c-min-rate", "resync floor under application I/O, bytes per second (bare: KiB/s)"},
  {"disk-timeout", S::kDisk, T::kInteger, "0", 0, 6000, 1, "", "", "backing-disk request timeout, tenths of a second (0: none)"},
  {"read-balancing", S::kDisk, T::kEnum, "prefer-local", 0, 0, 1, "prefer-local|prefer-remote|round-robin|least-pending|when-congested-remote", "", "where reads are served from"},
  {"io-engine", S::kDisk, T::kEnum, "uring", 0, 0, 1, "uring|aio|sync", "", "Tandem: backing-disk I/O engine"},

  // ---- startup ----
  {"wfc-timeout", S::kStartup, T::kInteger, "0", 0, 300000, 1, "", "", "seconds wait-connect waits for the peer (0: forever)"},
  {"degr-wfc-timeout", S::kStartup, T::kInteger, "0", 0, 300000, 1, "", "", "wfc-timeout when this node was degraded before, seconds"},
  {"outdated-wfc-timeout", S::kStartup, T::kInteger, "0", 0, 300000, 1, "", "", "wfc-timeout when the peer was outdated, seconds"},
  {"wait-after-sb", S::kStartup, T::kBool, "no", 0, 0, 1, "", "", "keep waiting after a split brain"},
  {"attach-device", S::kStartup, T::kBool, "no", 0, 0, 1, "", "", "Tandem: tandemadm primary makes the export the block device at `device` (tandem-attach); secondary removes it first"},
  {"become-primary-on", S::kStartup, T::kString, "", 0, 0, 1, "", "", "host that becomes Primary at start-up (or 'both')"},
  {"stacked-timeouts", S::kStartup, T::kBool, "no", 0, 0, 1, "", "", "accepted for compatibility"},

  // ---- options ----
  {"cpu-mask", S::kOptions, T::kString, "", 0, 0, 1, "", "syncer:cpu-mask", "CPU affinity of the resource's threads (hex)"},
  {"on-no-data-accessible", S::kOptions, T::kEnum, "io-error", 0, 0, 1, "io-error|suspend-io", "syncer:on-no-data-accessible", "I/O when no up-to-date data is reachable"},

  // ---- handlers ----
  {"pri-on-incon-degr", S::kHandlers, T::kString, "", 0, 0, 1, "", "resource:incon-degr-cmd", "run when a degraded Primary has inconsistent data"},
  {"pri-lost-after-sb", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "run when a Primary loses after split brain"},
  {"pri-lost", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "run when a Primary becomes SyncTarget"},
  {"fence-peer", S::kHandlers, T::kString, "", 0, 0, 1, "", "handlers:outdate-peer", "fence the peer (exit codes 3-7)"},
  {"unfence-peer", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "undo fence-peer"},
  {"local-io-error", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "run on a backing-disk I/O error (call-local-io-error)"},
  {"initial-split-brain", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "run when a split brain is detected, before recovery"},
  {"split-brain", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "run when a split brain is not recovered automatically"},
  {"before-resync-target", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "run before becoming SyncTarget"},
  {"after-resync-target", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "run after a finished resync as SyncTarget"},
  {"before-resync-source", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "run before becoming SyncSource"},
  {"out-of-sync", S::kHandlers, T::kString, "", 0, 0, 1, "", "", "run when online verify finds differences"},

  // ---- on HOST ----
  {"device", S::kHost, T::kDevice, "", 0, 0, 1, "", "resource:device", "block device path and minor"},
  {"disk", S::kHost, T::kPath, "", 0, 0, 1, "", "resource:disk", "backing disk (device or file)"},
  {"address", S::kHost, T::kAddress, "", 0, 0, 1, "", "", "replication endpoint IP:port"},
  {"meta-disk", S::kHost, T::kMetaDisk, "", 0, 0, 1, "", "host:flexible-meta-disk resource:meta-disk resource:flexible-meta-disk", "internal | PATH[N] (128 MiB slot N) | PATH (sized to fit)"},
  {"nbd-address", S::kHost, T::kAddress, "", 0, 0, 1, "", "", "Tandem: NBD export TCP endpoint IP:port"},
};
// clang-format on

bool MatchesAlso(const OptionSpec& spec, Section section, std::string_view keyword) {
  for (const auto& alt : SplitWords(spec.also)) {
    size_t colon = alt.find(':');
    std::string_view sec(alt.data(), colon);
    std::string_view kw(alt.data() + colon + 1, alt.size() - colon - 1);
    if (sec == SectionName(section) && kw == keyword) return true;
  }
  return false;
}

std::optional<long long> ParseIntToken(const Token& t) {
  return ParseInteger(t.text, -(1LL << 62), 1LL << 62);
}

bool EnumAccepts(std::string_view choices, std::string_view word) {
  for (const auto& c : SplitOn(choices, '|')) {
    if (!c.empty() && c.back() == '*') {
      std::string_view prefix(c.data(), c.size() - 1);
      if (word.size() > prefix.size() && word.substr(0, prefix.size()) == prefix) return true;
    } else if (c == word) {
      return true;
    }
  }
  return false;
}

std::string RangeText(const OptionSpec& spec) {
  if (spec.type == T::kSize) {
    return FormatSize(static_cast<uint64_t>(spec.min), spec.bare_unit) + ".." +
           FormatSize(static_cast<uint64_t>(spec.max), spec.bare_unit);
  }
  return std::to_string(spec.min) + ".." + std::to_string(spec.max);
}

std::optional<Address> ParseAddress(const OptionSpec& spec, const Token& kw,
                                    const std::vector<Token>& args, Diagnostics* diags) {
  std::string family = "ipv4";
  const Token* ep = nullptr;
  if (args.size() == 2) {
    family = args[0].text;
    ep = &args[1];
    if (family != "ipv4" && family != "ipv6") {
      diags->Error(args[0].where, "address family '" + family +
                                      "' is not supported (Tandem speaks ipv4 and ipv6)");
      return std::nullopt;
    }
  } else {
    ep = &args[0];
  }
  const std::string& text = ep->text;
  std::string host, port_text;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      diags->Error(ep->where, "'" + text + "' is not an [IPv6]:port endpoint");
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    if (args.size() == 1) family = "ipv6";
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      diags->Error(ep->where, "'" + text + "' for '" + kw.text + "' has no port (expected IP:port, e.g. 192.168.1.1:7788)");
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (host.empty()) {
    diags->Error(ep->where, "'" + kw.text + " " + text +
                                "' has no IP address (expected IP:port, e.g. 192.168.1.1:7788)");
    return std::nullopt;
  }
  Address a;
  a.family = family == "ipv6" ? Address::Family::kIpv6 : Address::Family::kIpv4;
  unsigned char buf[16];
  int af = a.family == Address::Family::kIpv6 ? AF_INET6 : AF_INET;
  if (inet_pton(af, host.c_str(), buf) != 1) {
    diags->Error(ep->where, "'" + host + "' is not a numeric " + family + " address" +
                                (af == AF_INET && host.find(':') != std::string::npos
                                     ? " (write IPv6 as: address ipv6 [addr]:port)"
                                     : ""));
    return std::nullopt;
  }
  auto port = ParseInteger(port_text, 1, 65535);
  if (!port) {
    diags->Error(ep->where, "port '" + port_text + "' is not a number in 1..65535");
    return std::nullopt;
  }
  a.host = host;
  a.port = static_cast<uint16_t>(*port);
  (void)spec;
  return a;
}

bool IsAbsolutePath(const std::string& s) { return !s.empty() && s[0] == '/'; }

std::optional<MetaDisk> ParseMetaDisk(const Token& kw, const std::vector<Token>& args,
                                      Diagnostics* diags) {
  MetaDisk m;
  const bool flexible_kw = kw.text == "flexible-meta-disk";
  if (args.size() == 1 && args[0].text == "internal") {
    m.kind = MetaDisk::Kind::kInternal;
    return m;
  }
  std::string path = args[0].text;
  std::string index_text;
  if (args.size() == 2) {
    index_text = args[1].text;
    if (index_text.size() < 3 || index_text.front() != '[' || index_text.back() != ']') {
      diags->Error(args[1].where, "expected a meta-data index like [0], found '" + index_text + "'");
      return std::nullopt;
    }
    index_text = index_text.substr(1, index_text.size() - 2);
  } else if (size_t open = path.find('['); open != std::string::npos) {
    if (path.back() != ']') {
      diags->Error(args[0].where, "'" + path + "': index must be written PATH[N]");
      return std::nullopt;
    }
    index_text = path.substr(open + 1, path.size() - open - 2);
    path = path.substr(0, open);
  }
  if (!IsAbsolutePath(path)) {
    diags->Error(args[0].where,
                 "meta-disk must be 'internal' or an absolute device path, found '" + path + "'");
    return std::nullopt;
  }
  m.path = path;
  if (index_text.empty()) {
    m.kind = MetaDisk::Kind::kFlexible;
    return m;
  }
  if (flexible_kw) {
    diags->Error(args[0].where, "flexible-meta-disk takes no index; use meta-disk PATH[N]");
    return std::nullopt;
  }
  auto idx = ParseInteger(index_text, 0, 255);
  if (!idx) {
    diags->Error(args[0].where, "meta-data index '" + index_text + "' is not a number in 0..255");
    return std::nullopt;
  }
  m.kind = MetaDisk::Kind::kIndexed;
  m.index = static_cast<int>(*idx);
  return m;
}

std::optional<int> MinorFromPath(const std::string& path) {
  size_t end = path.size(), start = end;
  while (start > 0 && std::isdigit(static_cast<unsigned char>(path[start - 1]))) --start;
  if (start == end || end - start > 7) return std::nullopt;
  return static_cast<int>(*ParseInteger(path.substr(start), 0, 9999999));
}

std::optional<Device> ParseDevice(const Token& kw, const std::vector<Token>& args,
                                  Diagnostics* diags) {
  constexpr long long kMaxMinor = (1 << 20) - 1;
  Device d;
  size_t i = 0;
  if (args[0].text != "minor") {
    d.path = args[0].text;
    if (!IsAbsolutePath(d.path)) {
      diags->Error(args[0].where, "device must be an absolute path like /dev/drbd0, found '" +
                                      d.path + "'");
      return std::nullopt;
    }
    i = 1;
  }
  if (i < args.size()) {
    if (args[i].text != "minor" || i + 1 >= args.size() || i + 2 != args.size()) {
      diags->Error(args[i].where, "expected '" + kw.text + " [PATH] [minor N]'");
      return std::nullopt;
    }
    auto minor = ParseInteger(args[i + 1].text, 0, kMaxMinor);
    if (!minor) {
      diags->Error(args[i + 1].where, "minor '" + args[i + 1].text + "' is not a number in 0.." +
                                          std::to_string(kMaxMinor));
      return std::nullopt;
    }
    d.minor = static_cast<int>(*minor);
    if (d.path.empty()) d.path = "/dev/drbd" + std::to_string(d.minor);
    return d;
  }
  auto minor = MinorFromPath(d.path);
  if (!minor || *minor > kMaxMinor) {
    diags->Error(args[0].where, "cannot tell the minor number of '" + d.path +
                                    "'; write 'device " + d.path + " minor N'");
    return std::nullopt;
  }
  d.minor = *minor;
  return d;
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string_view SectionName(Section s) {
  switch (s) {
    case S::kGlobal: return "global";
    case S::kResource: return "resource";
    case S::kNet: return "net";
    case S::kDisk: return "disk";
    case S::kStartup: return "startup";
    case S::kSyncer: return "syncer";
    case S::kHandlers: return "handlers";
    case S::kOptions: return "options";
    case S::kHost: return "host";
  }
  return "?";
}

std::span<const OptionSpec> AllOptions() { return kOptions; }

const OptionSpec* FindOption(Section section, std::string_view keyword) {
  for (const auto& spec : kOptions) {
    if ((spec.section == section && spec.name == keyword) ||
        MatchesAlso(spec, section, keyword))
      return &spec;
  }
  return nullptr;
}

const OptionSpec* FindCanonical(std::string_view name) {
  for (const auto& spec : kOptions)
    if (spec.name == name) return &spec;
  return nullptr;
}

std::vector<std::string> KeywordsIn(Section section) {
  std::vector<std::string> out;
  for (const auto& spec : kOptions) {
    if (spec.section == section) out.emplace_back(spec.name);
    for (const auto& alt : SplitWords(spec.also)) {
      size_t colon = alt.find(':');
      if (alt.substr(0, colon) == SectionName(section)) out.push_back(alt.substr(colon + 1));
    }
  }
  return out;
}

std::optional<Value> ParseOptionValue(const OptionSpec& spec, const Token& kw,
                                      const std::vector<Token>& args, Diagnostics* diags) {
  size_t min_args = 1, max_args = 1;
  switch (spec.type) {
    case T::kBool: min_args = 0; break;
    case T::kAddress: max_args = 2; break;
    case T::kMetaDisk: max_args = 2; break;
    case T::kDevice: max_args = 3; break;
    default: break;
  }
  if (args.size() < min_args) {
    diags->Error(kw.where, "'" + kw.text + "' needs a value");
    return std::nullopt;
  }
  if (args.size() > max_args) {
    const Token& extra = args[max_args];
    if (extra.where.line != kw.where.line) {
      diags->Error(kw.where, "missing ';' after '" + kw.text + " " + args[0].text + "'");
    } else {
      diags->Error(extra.where, "too many values for '" + kw.text + "' (unexpected '" +
                                    extra.text + "')");
    }
    return std::nullopt;
  }
  switch (spec.type) {
    case T::kInteger: {
      auto v = ParseIntToken(args[0]);
      if (!v) {
        diags->Error(args[0].where, "'" + args[0].text + "' for '" + kw.text + "' is not a number");
        return std::nullopt;
      }
      if (*v < spec.min || *v > spec.max) {
        diags->Error(args[0].where, "value " + args[0].text + " for '" + kw.text +
                                        "' is out of range " + RangeText(spec) + " (" +
                                        std::string(spec.help) + ")");
        return std::nullopt;
      }
      return Value(static_cast<int64_t>(*v));
    }
    case T::kSize: {
      auto v = ParseSize(args[0].text, spec.bare_unit);
      if (!v.ok()) {
        diags->Error(args[0].where, v.status().message() + " for '" + kw.text + "'");
        return std::nullopt;
      }
      if (*v < static_cast<uint64_t>(spec.min) || *v > static_cast<uint64_t>(spec.max)) {
        diags->Error(args[0].where, "value " + args[0].text + " for '" + kw.text +
                                        "' is out of range " + RangeText(spec) + " (" +
                                        std::string(spec.help) + ")");
        return std::nullopt;
      }
      return Value(static_cast<int64_t>(*v));
    }
    case T::kBool: {
      if (args.empty()) return Value(true);
      std::string w = ToLower(args[0].text);
      if (w == "yes" || w == "on" || w == "true") return Value(true);
      if (w == "no" || w == "off" || w == "false") return Value(false);
      diags->Error(args[0].where, "'" + args[0].text + "' for '" + kw.text + "' is not yes or no");
      return std::nullopt;
    }
    case T::kEnum: {
      if (!EnumAccepts(spec.choices, args[0].text)) {
        std::vector<std::string> choices = SplitOn(spec.choices, '|');
        std::string shown(spec.choices);
        for (auto& c : shown)
          if (c == '|') c = ',';
        diags->Error(args[0].where, "'" + args[0].text + "' is not a valid value for '" +
                                        kw.text + "' (one of: " + shown + ")" +
                                        DidYouMean(args[0].text, choices));
        return std::nullopt;
      }
      return Value(args[0].text);
    }
    case T::kString:
      return Value(args[0].text);
    case T::kPath:
      if (!IsAbsolutePath(args[0].text)) {
        diags->Error(args[0].where, "'" + kw.text + "' needs an absolute path, found '" +
                                        args[0].text + "'");
        return std::nullopt;
      }
      return Value(args[0].text);
    case T::kAddress: {
      auto a = ParseAddress(spec, kw, args, diags);
      if (!a) return std::nullopt;
      return Value(*a);
    }
    case T::kMetaDisk: {
      auto m = ParseMetaDisk(kw, args, diags);
      if (!m) return std::nullopt;
      return Value(*m);
    }
    case T::kDevice: {
      auto d = ParseDevice(kw, args, diags);
      if (!d) return std::nullopt;
      return Value(*d);
    }
  }
  return std::nullopt;
}

std::optional<Value> DefaultValue(const OptionSpec& spec) {
  if (spec.default_value.empty()) return std::nullopt;
  Token kw{Token::Kind::kWord, std::string(spec.name), {}};
  Token arg{Token::Kind::kWord, std::string(spec.default_value), {}};
  Diagnostics diags;
  auto v = ParseOptionValue(spec, kw, {arg}, &diags);
  // A default that fails its own spec is a bug in the table (tests check all).
  return v;
}

std::string FormatOptionValue(const OptionSpec& spec, const Value& value) {
  switch (spec.type) {
    case T::kInteger: return std::to_string(std::get<int64_t>(value));
    case T::kSize:
      return FormatSize(static_cast<uint64_t>(std::get<int64_t>(value)), spec.bare_unit);
    case T::kBool: return std::get<bool>(value) ? "yes" : "no";
    case T::kEnum: return std::get<std::string>(value);
    case T::kString: return Quote(std::get<std::string>(value));
    case T::kPath: return Quote(std::get<std::string>(value));
    case T::kAddress: return std::get<Address>(value).ToConfigString();
    case T::kMetaDisk: return std::get<MetaDisk>(value).ToConfigString();
    case T::kDevice: return std::get<Device>(value).ToConfigString();
  }
  return "";
}

}  // namespace tandem::config
