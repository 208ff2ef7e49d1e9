#include "config/drbd_json.h"

#include <algorithm>

#include "config/drbd_options.h"

namespace tandem::config {

namespace {

nlohmann::json ValueToJson(const Value& v) {
  return std::visit(
      [](const auto& x) -> nlohmann::json {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, Address>) {
          return {{"family", x.family == Address::Family::kIpv6 ? "ipv6" : "ipv4"},
                  {"host", x.host},
                  {"port", x.port}};
        } else if constexpr (std::is_same_v<X, MetaDisk>) {
          const char* kind = x.kind == MetaDisk::Kind::kInternal  ? "internal"
                             : x.kind == MetaDisk::Kind::kIndexed ? "indexed"
                                                                  : "flexible";
          nlohmann::json j{{"kind", kind}};
          if (x.kind != MetaDisk::Kind::kInternal) j["path"] = x.path;
          if (x.kind == MetaDisk::Kind::kIndexed) j["index"] = x.index;
          return j;
        } else if constexpr (std::is_same_v<X, Device>) {
          return {{"path", x.path}, {"minor", x.minor}};
        } else {
          return x;
        }
      },
      v);
}

nlohmann::json SectionToJson(const OptionSet& set, Section section) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& spec : AllOptions()) {
    if (spec.section != section) continue;
    if (const Setting* s = set.Find(spec.name)) j[std::string(spec.name)] = ValueToJson(s->value);
  }
  return j;
}

}  // namespace

nlohmann::json DrbdConfigToJson(const DrbdConfig& config,
                                const std::vector<std::string>& resources) {
  const bool all = resources.empty() ||
                   std::find(resources.begin(), resources.end(), "all") != resources.end();
  nlohmann::json j;
  j["file"] = config.source_file;
  j["node"] = config.node_name;
  j["global"] = SectionToJson(config.global, Section::kGlobal);
  j["resources"] = nlohmann::json::array();
  for (const auto& res : config.resources) {
    if (!all && std::find(resources.begin(), resources.end(), res.name) == resources.end())
      continue;
    nlohmann::json r;
    r["name"] = res.name;
    for (Section s : {Section::kOptions, Section::kNet, Section::kDisk, Section::kStartup,
                      Section::kHandlers}) {
      r[std::string(SectionName(s))] = SectionToJson(res.options, s);
    }
    r["hosts"] = nlohmann::json::array();
    for (size_t i = 0; i < res.hosts.size(); ++i) {
      const auto& h = res.hosts[i];
      nlohmann::json hj = SectionToJson(h.options, Section::kHost);
      hj["name"] = h.name;
      hj["volume"] = h.volume;
      hj["local"] = i == res.local_index;
      r["hosts"].push_back(hj);
    }
    j["resources"].push_back(r);
  }
  return j;
}

}  // namespace tandem::config
