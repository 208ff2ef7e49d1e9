#include "config/drbd_loader.h"

#include <map>
#include <set>

#include "common/strings.h"
#include "config/drbd_options.h"
#include "config/drbd_syntax.h"

namespace tandem::config {

namespace {

// Options written explicitly in one scope (`common` or one resource or host).
using Explicit = std::map<std::string, Setting>;

struct ResourceSyntax {
  const Statement* stmt;
  Explicit options;
  Explicit host_defaults;
  std::vector<const Statement*> on_sections;
};

const std::vector<std::pair<std::string, Section>>& SectionKeywords() {
  static const std::vector<std::pair<std::string, Section>> k = {
      {"net", Section::kNet},           {"disk", Section::kDisk},
      {"startup", Section::kStartup},   {"syncer", Section::kSyncer},
      {"handlers", Section::kHandlers}, {"options", Section::kOptions}};
  return k;
}

bool ValidResourceName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  }
  return true;
}

class Normalizer {
 public:
  Normalizer(Diagnostics* diags, std::string node) : d_(diags), node_(std::move(node)) {}

  std::optional<DrbdConfig> Run(const std::vector<Statement>& stmts, const std::string& file) {
    DrbdConfig config;
    config.source_file = file;
    config.node_name = node_;
    Explicit global, common_options;
    const Statement* global_stmt = nullptr;
    const Statement* common_stmt = nullptr;
    std::vector<ResourceSyntax> resources;

    for (const auto& st : stmts) {
      const std::string& kw = st.keyword.text;
      if (kw == "global" || kw == "common" || kw == "resource") {
        if (!st.has_block) {
          d_->Error(st.keyword.where, "'" + kw + "' must be followed by a { block }");
          continue;
        }
      }
      if (kw == "global") {
        if (global_stmt) {
          d_->Error(st.keyword.where, "second 'global' section (the first is at " +
                                          global_stmt->keyword.where.ToString() + ")");
          continue;
        }
        global_stmt = &st;
        ParseSection(Section::kGlobal, st, &global);
      } else if (kw == "common") {
        if (common_stmt) {
          d_->Error(st.keyword.where, "second 'common' section (the first is at " +
                                          common_stmt->keyword.where.ToString() + ")");
          continue;
        }
        common_stmt = &st;
        if (!st.args.empty()) d_->Error(st.args[0].where, "'common' takes no name");
        Explicit ignored_hosts;
        std::vector<const Statement*> ignored_on;
        ParseScope(st, /*is_common=*/true, &common_options, &ignored_hosts, &ignored_on);
      } else if (kw == "resource") {
        if (st.args.size() != 1) {
          d_->Error(st.keyword.where, "'resource' takes exactly one name");
          continue;
        }
        ResourceSyntax rs{&st, {}, {}, {}};
        ParseScope(st, /*is_common=*/false, &rs.options, &rs.host_defaults, &rs.on_sections);
        resources.push_back(std::move(rs));
      } else {
        d_->Error(st.keyword.where,
                  "unknown top-level keyword '" + kw + "'" +
                      DidYouMean(kw, {"global", "common", "resource", "include", "skip"}));
      }
    }

    FillDefaults(Section::kGlobal, global, {}, &config.global);
    std::set<std::string> names;
    for (const auto& rs : resources) {
      ResourceConfig res;
      res.name = rs.stmt->args[0].text;
      res.where = rs.stmt->keyword.where;
      if (!ValidResourceName(res.name)) {
        d_->Error(rs.stmt->args[0].where, "invalid resource name '" + res.name +
                                              "' (letters, digits, '_', '-', '.'; up to 64)");
        continue;
      }
      if (!names.insert(res.name).second) {
        d_->Error(rs.stmt->args[0].where, "resource '" + res.name + "' is defined twice");
        continue;
      }
      for (Section s : {Section::kNet, Section::kDisk, Section::kStartup, Section::kHandlers,
                        Section::kOptions}) {
        FillDefaults(s, rs.options, common_options, &res.options);
      }
      for (const Statement* on : rs.on_sections) {
        auto host = ParseHost(*on, rs.host_defaults, res.name);
        if (host) res.hosts.push_back(std::move(*host));
      }
      ValidateResource(&res, rs.on_sections.size());
      config.resources.push_back(std::move(res));
    }
    ValidateUniqueness(config);
    if (d_->has_errors()) return std::nullopt;
    return config;
  }

 private:
  void Unknown(Section section, const Statement& st, std::vector<std::string> extra = {}) {
    std::vector<std::string> candidates = KeywordsIn(section);
    candidates.insert(candidates.end(), extra.begin(), extra.end());
    std::string where = section == Section::kHost       ? "an 'on' section"
                        : section == Section::kResource ? "a resource"
                                                        : "section '" +
                                                              std::string(SectionName(section)) +
                                                              "'";
    d_->Error(st.keyword.where, "unknown keyword '" + st.keyword.text + "' in " + where +
                                    DidYouMean(st.keyword.text, candidates));
  }

  void AddSetting(const OptionSpec& spec, const Statement& st, Explicit* out) {
    auto v = ParseOptionValue(spec, st.keyword, st.args, d_);
    if (!v) return;
    auto [it, inserted] =
        out->try_emplace(std::string(spec.name), Setting{std::move(*v), st.keyword.where});
    if (!inserted) {
      std::string also = st.keyword.text == spec.name ? "" : " (as '" + st.keyword.text + "')";
      d_->Error(st.keyword.where, "'" + std::string(spec.name) + "'" + also +
                                      " is set twice (first at " + it->second.where.ToString() +
                                      ")");
    }
  }

  void ParseSection(Section section, const Statement& st, Explicit* out) {
    if (!st.args.empty()) {
      d_->Error(st.args[0].where, "section '" + st.keyword.text + "' takes no name");
    }
    for (const auto& s : st.block) {
      if (s.has_block) {
        d_->Error(s.keyword.where, "unexpected block '" + s.keyword.text + " { }' inside '" +
                                       st.keyword.text + "'");
        continue;
      }
      const OptionSpec* spec = FindOption(section, s.keyword.text);
      if (!spec) {
        Unknown(section, s);
        continue;
      }
      AddSetting(*spec, s, out);
    }
  }

  // The body of `common { }` or `resource NAME { }`.
  void ParseScope(const Statement& st, bool is_common, Explicit* options, Explicit* host_defaults,
                  std::vector<const Statement*>* on_sections) {
    std::vector<std::string> section_names;
    for (const auto& [name, sec] : SectionKeywords()) section_names.push_back(name);
    if (!is_common) section_names.push_back("on");
    for (const auto& s : st.block) {
      const std::string& kw = s.keyword.text;
      if (s.has_block) {
        bool matched = false;
        for (const auto& [name, sec] : SectionKeywords()) {
          if (kw == name) {
            ParseSection(sec, s, options);
            matched = true;
          }
        }
        if (matched) continue;
        if (kw == "on" && !is_common) {
          on_sections->push_back(&s);
          continue;
        }
        d_->Error(s.keyword.where, "unknown section '" + kw + "' in " +
                                       (is_common ? "'common'" : "a resource") +
                                       DidYouMean(kw, section_names));
        continue;
      }
      const OptionSpec* spec = FindOption(Section::kResource, kw);
      if (!spec) {
        bool is_section = kw == "on";
        for (const auto& [name, sec] : SectionKeywords()) is_section |= kw == name;
        if (is_section) {
          d_->Error(s.keyword.where, "'" + kw + "' must be followed by a { block }");
        } else {
          Unknown(Section::kResource, s, section_names);
        }
        continue;
      }
      if (spec->section == Section::kHost) {
        if (is_common) {
          d_->Error(s.keyword.where, "'" + kw + "' belongs in a resource or an 'on' section, "
                                                "not in 'common'");
          continue;
        }
        AddSetting(*spec, s, host_defaults);
      } else {
        AddSetting(*spec, s, options);
      }
    }
  }

  std::optional<HostConfig> ParseHost(const Statement& st, const Explicit& defaults,
                                      const std::string& resource) {
    if (st.args.size() != 1) {
      d_->Error(st.keyword.where, "'on' takes exactly one host name");
      return std::nullopt;
    }
    HostConfig host;
    host.name = st.args[0].text;
    host.where = st.keyword.where;
    Explicit opts;
    const Statement* volume_stmt = nullptr;
    auto parse_host_option = [&](const Statement& s) {
      const OptionSpec* spec = FindOption(Section::kHost, s.keyword.text);
      if (!spec) {
        Unknown(Section::kHost, s, {"volume"});
        return;
      }
      AddSetting(*spec, s, &opts);
    };
    for (const auto& s : st.block) {
      if (s.has_block && s.keyword.text == "volume") {
        if (volume_stmt) {
          d_->Error(s.keyword.where, "Tandem replicates one volume per resource (another volume "
                                     "is at " + volume_stmt->keyword.where.ToString() +
                                         "); use one resource per volume");
          continue;
        }
        volume_stmt = &s;
        auto n = s.args.size() == 1 ? ParseInteger(s.args[0].text, 0, 65535) : std::nullopt;
        if (!n) {
          d_->Error(s.keyword.where, "'volume' takes a number in 0..65535");
          continue;
        }
        host.volume = static_cast<int>(*n);
        for (const auto& v : s.block) {
          if (v.has_block || v.keyword.text == "address" || v.keyword.text == "nbd-address") {
            d_->Error(v.keyword.where, "'" + v.keyword.text + "' is not allowed inside 'volume'");
            continue;
          }
          parse_host_option(v);
        }
        continue;
      }
      if (s.has_block) {
        d_->Error(s.keyword.where,
                  "unexpected block '" + s.keyword.text + " { }' inside an 'on' section");
        continue;
      }
      parse_host_option(s);
    }
    for (const auto& [name, setting] : defaults) opts.try_emplace(name, setting);
    // Options written but unparsable were reported already; do not call them missing too.
    std::set<std::string> written;
    auto note_written = [&](const std::vector<Statement>& block) {
      for (const auto& s : block)
        if (const OptionSpec* spec = FindOption(Section::kHost, s.keyword.text))
          written.insert(std::string(spec->name));
    };
    note_written(st.block);
    if (volume_stmt) note_written(volume_stmt->block);
    for (auto& [name, setting] : opts) host.options.Set(name, setting);
    bool complete = true;
    for (const char* required : {"device", "disk", "address", "meta-disk"}) {
      if (host.options.Has(required)) continue;
      complete = false;
      if (!written.count(required)) {
        d_->Error(st.keyword.where, "host '" + host.name + "' of resource '" + resource +
                                        "' has no '" + required + "'");
      }
    }
    if (!complete) return std::nullopt;
    return host;
  }

  void FillDefaults(Section section, const Explicit& mine, const Explicit& inherited,
                    OptionSet* out) {
    for (const auto& spec : AllOptions()) {
      if (spec.section != section) continue;
      std::string name(spec.name);
      if (auto it = mine.find(name); it != mine.end()) {
        out->Set(name, it->second);
      } else if (auto jt = inherited.find(name); jt != inherited.end()) {
        out->Set(name, jt->second);
      } else if (!spec.legacy) {
        if (auto v = DefaultValue(spec)) out->Set(name, Setting{std::move(*v), {}});
      }
    }
  }

  void ValidateResource(ResourceConfig* res, size_t on_sections) {
    const std::string who = "resource '" + res->name + "'";
    if (on_sections != 2) {
      d_->Error(res->where, who + " needs exactly two 'on' sections (Tandem replicates "
                                  "between two nodes), found " +
                                std::to_string(on_sections));
      return;
    }
    if (res->hosts.size() != 2) return;  // a host's own errors were reported already
    const HostConfig& a = res->hosts[0];
    const HostConfig& b = res->hosts[1];
    if (a.name == b.name) {
      d_->Error(b.where, who + " names host '" + a.name + "' twice");
      return;
    }
    if (a.name == node_) {
      res->local_index = 0;
    } else if (b.name == node_) {
      res->local_index = 1;
    } else {
      d_->Error(res->where, who + " has no 'on' section for this node '" + node_ + "' (hosts: " +
                                a.name + ", " + b.name + "); give the node name with --node");
    }
    if (a.address().host == b.address().host && a.address().port == b.address().port) {
      d_->Error(b.options.Find("address")->where,
                who + ": both hosts use the same address " + a.address().ToEndpointString());
    }
    if (a.volume != b.volume) {
      d_->Error(b.where, who + ": the two hosts use different volume numbers");
    }
    const auto& o = res->options;
    if (o.Has("cram-hmac-alg") && !o.Has("shared-secret")) {
      d_->Error(o.Find("cram-hmac-alg")->where, who + ": cram-hmac-alg is set but shared-secret is not");
    }
    if (auto secret = o.Find("shared-secret"); secret) {
      if (std::get<std::string>(secret->value).size() > 64) {
        d_->Error(secret->where, who + ": shared-secret is longer than 64 characters");
      }
      if (std::get<std::string>(secret->value).empty()) {
        d_->Error(secret->where, who + ": shared-secret is empty");
      }
    }
    if (auto tls = o.Find("nbd-tls"); tls && o.Str("nbd-tls") != "off") {
      for (const char* file : {"nbd-tls-cert", "nbd-tls-key"}) {
        if (o.OptStr(file).value_or("").empty()) {
          d_->Error(tls->where, who + ": nbd-tls " + o.Str("nbd-tls") + " needs " + file);
        }
      }
    }
    const std::string& sb0 = o.Str("after-sb-0pri");
    const std::string prefix = "discard-node-";
    if (sb0.rfind(prefix, 0) == 0) {
      std::string node = sb0.substr(prefix.size());
      if (node != a.name && node != b.name) {
        d_->Error(o.Find("after-sb-0pri")->where,
                  who + ": after-sb-0pri names '" + node + "', which is not one of its hosts");
      }
    }
  }

  // Devices, minors and endpoints must be unique per host across resources.
  void ValidateUniqueness(const DrbdConfig& config) {
    std::map<std::string, std::pair<std::string, SourceLocation>> seen;
    auto claim = [&](const std::string& key, const std::string& what, const std::string& res,
                     const SourceLocation& where) {
      auto [it, inserted] = seen.try_emplace(key, res, where);
      if (!inserted && it->second.first != res) {
        d_->Error(where, what + " is used by resources '" + it->second.first + "' (at " +
                             it->second.second.ToString() + ") and '" + res + "'");
      }
    };
    for (const auto& res : config.resources) {
      for (const auto& h : res.hosts) {
        const Device& dev = h.device();
        const SourceLocation& dw = h.options.Find("device")->where;
        claim("dev\n" + h.name + "\n" + dev.path, "device " + dev.path + " on " + h.name, res.name,
              dw);
        claim("minor\n" + h.name + "\n" + std::to_string(dev.minor),
              "minor " + std::to_string(dev.minor) + " on " + h.name, res.name, dw);
        claim("addr\n" + h.name + "\n" + h.address().ToEndpointString(),
              "address " + h.address().ToEndpointString() + " on " + h.name, res.name,
              h.options.Find("address")->where);
        if (auto nbd = h.options.OptAddr("nbd-address")) {
          claim("addr\n" + h.name + "\n" + nbd->ToEndpointString(),
                "address " + nbd->ToEndpointString() + " on " + h.name, res.name,
                h.options.Find("nbd-address")->where);
        }
      }
    }
  }

  Diagnostics* d_;
  std::string node_;
};

}  // namespace

Result<DrbdConfig> ParseDrbdConfig(Env* env, std::string_view text, const std::string& file_name,
                                   const std::string& node_name, Diagnostics* diags) {
  auto stmts = ParseStatements(env, text, file_name, diags);
  if (diags->has_errors()) return diags->ToStatus();
  Normalizer n(diags, node_name);
  auto config = n.Run(stmts, file_name);
  if (!config) return diags->ToStatus();
  return std::move(*config);
}

Result<DrbdConfig> LoadDrbdConfig(Env* env, const std::string& path, const std::string& node_name,
                                  Diagnostics* diags) {
  auto text = env->ReadFile(path, 16 << 20);
  if (!text.ok()) {
    diags->Error(SourceLocation{path, 0, 0}, text.status().message());
    return diags->ToStatus();
  }
  return ParseDrbdConfig(env, *text, path, node_name, diags);
}

std::string DefaultDrbdConfigPath(Env* env) {
  const std::string primary = "/etc/tandem/tandem.conf";
  if (env->Stat(primary).ok()) return primary;
  return "/etc/drbd.conf";
}

}  // namespace tandem::config
