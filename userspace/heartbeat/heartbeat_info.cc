#include "heartbeat/heartbeat_info.h"

#include <cctype>
#include <cstdio>

#include "common/strings.h"

namespace tandem::heartbeat {

namespace {

std::string Hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Lower-case hex, 1..16 digits, no leading zeros except "0".
std::optional<uint64_t> ParseHex(std::string_view s) {
  if (s.empty() || s.size() > 16 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

Status Bad(const std::string& field, const std::string& why) {
  return Status::ProtocolError("field '" + field + "' " + why);
}

Result<std::string_view> Required(const Message& m, const char* name) {
  auto v = m.Get(name);
  if (!v) return Status::ProtocolError(std::string("required field '") + name + "' missing");
  return *v;
}

Result<uint64_t> RequiredHex(const Message& m, const char* name) {
  auto v = Required(m, name);
  if (!v.ok()) return v.status();
  auto n = ParseHex(*v);
  if (!n) return Bad(name, "is not a hex number");
  return *n;
}

bool IsNodeNameText(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

const char* NodeStatusName(NodeStatus status) {
  return status == NodeStatus::kActive ? "active" : "up";
}

std::string FormatGroupSet(const GroupSet& groups) {
  std::string out;
  for (int g : groups) {
    if (!out.empty()) out += ',';
    out += std::to_string(g);
  }
  return out;
}

Result<GroupSet> ParseGroupSet(std::string_view text) {
  GroupSet out;
  if (text.empty()) return out;
  int last = -1;
  for (const std::string& part : SplitOn(text, ',')) {
    auto n = ParseInteger(part, 0, kMaxGroups - 1);
    if (!n || (part.size() > 1 && part[0] == '0')) {
      return Status::ProtocolError("'" + part.substr(0, 8) + "' is not a group number");
    }
    if (*n <= last) return Status::ProtocolError("group numbers not in increasing order");
    last = static_cast<int>(*n);
    out.insert(last);
  }
  return out;
}

Message ToMessage(const HeartbeatInfo& info) {
  Message m;
  m.Add("t", info.type == MessageType::kStatus ? "status" : "shutdown");
  m.Add("src", info.src);
  m.Add("seq", Hex(info.seq));
  m.Add("hg", Hex(info.generation));
  m.Add("ts", Hex(info.timestamp));
  m.Add("dt", Hex(static_cast<uint64_t>(info.deadtime_ms)));
  m.Add("lnk", info.link);
  m.Add("st", NodeStatusName(info.status));
  m.Add("hr", info.groups_digest);
  m.Add("rs", FormatGroupSet(info.held));
  m.Add("ho", FormatGroupSet(info.handoff));
  m.Add("rq", FormatGroupSet(info.requested));
  m.Add("ep", Hex(info.epoch));
  m.Add("pe", Hex(info.peer_epoch));
  if (info.ping_up) m.Add("pn", std::to_string(*info.ping_up));
  if (info.ack_generation) m.Add("ack", Hex(*info.ack_generation));
  return m;
}

Result<HeartbeatInfo> FromMessage(const Message& m) {
  HeartbeatInfo info;
  auto t = Required(m, "t");
  if (!t.ok()) return t.status();
  if (*t == "status") {
    info.type = MessageType::kStatus;
  } else if (*t == "shutdown") {
    info.type = MessageType::kShutdown;
  } else {
    return Bad("t", "names an unknown message type");
  }
  auto src = Required(m, "src");
  if (!src.ok()) return src.status();
  if (!IsNodeNameText(*src)) return Bad("src", "is not a node name");
  info.src = ToLower(*src);

  auto seq = RequiredHex(m, "seq");
  if (!seq.ok()) return seq.status();
  if (*seq == 0) return Bad("seq", "is 0 (sequence numbers start at 1)");
  info.seq = *seq;
  auto gen = RequiredHex(m, "hg");
  if (!gen.ok()) return gen.status();
  if (*gen == 0) return Bad("hg", "is 0 (generations start at 1)");
  info.generation = *gen;
  auto ts = RequiredHex(m, "ts");
  if (!ts.ok()) return ts.status();
  info.timestamp = *ts;
  auto dt = RequiredHex(m, "dt");
  if (!dt.ok()) return dt.status();
  if (*dt == 0 || *dt > 24ull * 3600 * 1000) return Bad("dt", "is not a deadtime in ms");
  info.deadtime_ms = static_cast<int64_t>(*dt);

  auto link = Required(m, "lnk");
  if (!link.ok()) return link.status();
  if (link->empty() || link->size() > 64) return Bad("lnk", "is not a link name");
  info.link = std::string(*link);

  auto st = Required(m, "st");
  if (!st.ok()) return st.status();
  if (*st == "up") {
    info.status = NodeStatus::kUp;
  } else if (*st == "active") {
    info.status = NodeStatus::kActive;
  } else {
    return Bad("st", "is neither 'up' nor 'active'");
  }
  auto hr = Required(m, "hr");
  if (!hr.ok()) return hr.status();
  if (hr->size() != 8 || hr->find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return Bad("hr", "is not 8 hex digits");
  }
  info.groups_digest = std::string(*hr);

  struct SetField {
    const char* name;
    GroupSet* out;
  };
  for (SetField f : {SetField{"rs", &info.held}, SetField{"ho", &info.handoff},
                     SetField{"rq", &info.requested}}) {
    auto text = Required(m, f.name);
    if (!text.ok()) return text.status();
    auto set = ParseGroupSet(*text);
    if (!set.ok()) return Bad(f.name, set.status().message());
    *f.out = std::move(set).value();
  }
  auto ep = RequiredHex(m, "ep");
  if (!ep.ok()) return ep.status();
  info.epoch = *ep;
  auto pe = RequiredHex(m, "pe");
  if (!pe.ok()) return pe.status();
  info.peer_epoch = *pe;
  if (auto pn = m.Get("pn")) {
    auto n = ParseInteger(*pn, 0, 1 << 20);
    if (!n) return Bad("pn", "is not a count");
    info.ping_up = static_cast<int>(*n);
  }
  if (auto ack = m.Get("ack")) {
    auto n = ParseHex(*ack);
    if (!n || *n == 0) return Bad("ack", "is not a generation");
    info.ack_generation = *n;
  }
  if (info.type == MessageType::kShutdown && !info.held.empty()) {
    return Bad("rs", "lists groups in a shutdown notice");
  }
  return info;
}

}  // namespace tandem::heartbeat
