#include "config/haresources.h"

#include <algorithm>
#include <map>
#include <optional>

#include "common/strings.h"
#include "config/ha_cf.h"
#include "config/ha_line_reader.h"

namespace tandem::config {

namespace {

constexpr size_t kMaxResourceNameBytes = 255;  // a file name

std::vector<std::string> SplitOnDoubleColon(std::string_view token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t sep = token.find("::", start);
    if (sep == std::string_view::npos) {
      parts.emplace_back(token.substr(start));
      return parts;
    }
    parts.emplace_back(token.substr(start, sep - start));
    start = sep + 2;
  }
}

bool IsValidResourceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxResourceNameBytes) return false;
  auto ok = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
           c == '+';
  };
  return (std::isalnum(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
         std::all_of(name.begin(), name.end(), ok);
}

// A token that is meant as an address: digits and dots (with at least one dot)
// up to the first '/'. Such a token is never a script name.
bool LooksLikeIpv4(std::string_view token) {
  std::string_view address = token.substr(0, token.find('/'));
  if (address.empty() || !std::isdigit(static_cast<unsigned char>(address[0]))) return false;
  bool dot = false;
  for (char c : address) {
    if (c == '.') {
      dot = true;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dot;
}

// IPaddr's argument ADDR[/CIDR[/IFACE[/BCAST]]]: the reason it is wrong, or
// nullopt when it is right.
std::optional<std::string> IpaddrArgumentProblem(std::string_view arg) {
  std::vector<std::string> parts = SplitOn(arg, '/');
  if (parts.size() > 4) return "has more than ADDR/CIDR/IFACE/BCAST";
  if (!IsIpv4Address(parts[0])) return "[" + Printable(parts[0]) + "] is not an IPv4 address";
  if (parts.size() > 1 && !ParseInteger(parts[1], 0, 32)) {
    return "netmask bits [" + Printable(parts[1]) + "] are not a number in 0..32";
  }
  if (parts.size() > 2) {
    // An alias label (eth0:0) was how IPaddr named secondary addresses.
    std::string_view iface = parts[2];
    iface = iface.substr(0, iface.find(':'));
    if (!IsValidInterfaceName(iface)) {
      return "[" + Printable(parts[2]) + "] is not a valid interface name";
    }
  }
  if (parts.size() > 3 && !IsIpv4Address(parts[3])) {
    return "broadcast [" + Printable(parts[3]) + "] is not an IPv4 address";
  }
  return std::nullopt;
}

class HaResourcesParser {
 public:
  HaResourcesParser(std::string file, const std::vector<std::string>& cluster_nodes,
                    Diagnostics* diags)
      : file_(std::move(file)), cluster_nodes_(cluster_nodes), d_(diags) {}

  std::optional<HaResources> Run(std::string_view text) {
    const size_t errors_before = d_->error_count();
    HaResources out;
    out.source_file = file_;
    auto lines = SplitHaLines(text, file_, HaLineOptions{HaCommentStyle::kWordStart, true}, d_);
    for (const auto& line : lines) {
      if (TooManyHaErrors(d_, errors_before, line.where)) return std::nullopt;
      if (auto group = ParseGroup(line)) out.groups.push_back(std::move(*group));
    }
    if (d_->error_count() > errors_before) return std::nullopt;
    if (out.groups.empty()) {
      d_->Warning(SourceLocation{file_, LastLineNumber(text), 0},
                  "no resource groups: Heartbeat has nothing to manage");
    }
    return out;
  }

 private:
  std::optional<HaResourceGroup> ParseGroup(const HaLine& line) {
    const HaWord& node = line.words[0];
    bool ok = true;
    HaResourceGroup group;
    group.node = ToLower(node.text);
    group.where = node.where;
    if (!cluster_nodes_.empty() &&
        std::none_of(cluster_nodes_.begin(), cluster_nodes_.end(),
                     [&](const std::string& n) { return EqualsIgnoreCase(n, node.text); })) {
      d_->Error(node.where, "Bad nodename in haresources [" + Printable(node.text) +
                                "]: not a node of ha.cf (nodes: " + Join(cluster_nodes_, ", ") +
                                ")");
      ok = false;
    }
    if (line.words.size() == 1) {
      d_->Error(node.where, "the group for node [" + Printable(node.text) +
                                "] lists no resources (NODE RESOURCE[::ARG]...)");
      return std::nullopt;
    }
    for (size_t i = 1; i < line.words.size(); ++i) {
      auto resource = ParseResource(line.words[i]);
      if (resource) {
        group.resources.push_back(std::move(*resource));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    auto [it, inserted] = group_keys_.try_emplace(group.Key(), group.resources.front().where);
    if (!inserted) {
      d_->Error(group.resources.front().where,
                "resource group [" + Printable(group.Key()) + "] is defined twice (first at " +
                    it->second.ToString() + "); the first resource names a group");
      return std::nullopt;
    }
    return group;
  }

  std::optional<HaResource> ParseResource(const HaWord& word) {
    HaResource r;
    r.written = word.text;
    r.where = word.where;
    if (LooksLikeIpv4(word.text)) {
      r.name = "IPaddr";
      r.args = {word.text};
    } else {
      std::vector<std::string> parts = SplitOnDoubleColon(word.text);
      r.name = parts[0];
      r.args.assign(parts.begin() + 1, parts.end());
      if (!IsValidResourceName(r.name)) {
        d_->Error(word.where, "invalid resource name [" + Printable(r.name) +
                                  "] (a script in resource.d or /etc/init.d: letters, digits, "
                                  "'_', '.', '-', '+')");
        return std::nullopt;
      }
      for (const auto& arg : r.args) {
        if (arg.empty()) {
          d_->Error(word.where, "resource [" + Printable(word.text) +
                                    "] has an empty argument (RESOURCE::ARG::ARG)");
          return std::nullopt;
        }
      }
    }
    if (r.name == "IPaddr" || r.name == "IPaddr2") {
      if (r.args.empty()) {
        d_->Error(word.where, r.name + " needs an address: " + r.name + "::ADDR[/CIDR[/IFACE]]");
        return std::nullopt;
      }
      if (auto problem = IpaddrArgumentProblem(r.args[0])) {
        d_->Error(word.where, r.name + " [" + Printable(r.args[0]) + "]: " + *problem);
        return std::nullopt;
      }
    }
    return r;
  }

  std::string file_;
  const std::vector<std::string>& cluster_nodes_;
  Diagnostics* d_;
  std::map<std::string, SourceLocation> group_keys_;
};

}  // namespace

std::string HaResource::Canonical() const {
  std::string s = name;
  for (const auto& a : args) s += "::" + a;
  return s;
}

Result<HaResources> ParseHaResources(std::string_view text, const std::string& file_name,
                                     const std::vector<std::string>& cluster_nodes,
                                     Diagnostics* diags) {
  HaResourcesParser parser(file_name, cluster_nodes, diags);
  auto resources = parser.Run(text);
  if (!resources) return diags->ToStatus();
  return std::move(*resources);
}

Result<HaResources> LoadHaResources(Env* env, const std::string& path,
                                    const std::vector<std::string>& cluster_nodes,
                                    Diagnostics* diags) {
  auto text = ReadHaFile(env, path, diags);
  if (!text) return diags->ToStatus();
  return ParseHaResources(*text, path, cluster_nodes, diags);
}

}  // namespace tandem::config
