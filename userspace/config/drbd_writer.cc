#include "config/drbd_writer.h"

#include <algorithm>

#include "common/version.h"
#include "config/drbd_options.h"

namespace tandem::config {

namespace {

void WriteOptions(const OptionSet& set, Section section, const std::string& indent,
                  std::string* out) {
  for (const auto& spec : AllOptions()) {
    if (spec.section != section) continue;
    const Setting* s = set.Find(spec.name);
    if (!s) continue;
    *out += indent + std::string(spec.name) + " " + FormatOptionValue(spec, s->value) + ";\n";
  }
}

void WriteSection(const OptionSet& set, Section section, const std::string& indent,
                  std::string* out) {
  std::string body;
  WriteOptions(set, section, indent + "\t", &body);
  if (body.empty()) return;
  *out += indent + std::string(SectionName(section)) + " {\n" + body + indent + "}\n";
}

}  // namespace

std::string WriteDrbdConfig(const DrbdConfig& config, const std::vector<std::string>& resources) {
  const bool all = resources.empty() ||
                   std::find(resources.begin(), resources.end(), "all") != resources.end();
  std::string out = "# " + config.source_file + ", normalized by tandemadm " + kVersion +
                    " for node " + config.node_name + "\n";
  WriteSection(config.global, Section::kGlobal, "", &out);
  for (const auto& res : config.resources) {
    if (!all && std::find(resources.begin(), resources.end(), res.name) == resources.end())
      continue;
    out += "\nresource " + res.name + " {\n";
    for (Section s : {Section::kOptions, Section::kNet, Section::kDisk, Section::kStartup,
                      Section::kHandlers}) {
      WriteSection(res.options, s, "\t", &out);
    }
    for (const auto& host : res.hosts) {
      out += "\ton " + host.name + " {\n";
      std::string indent = "\t\t";
      if (host.volume != 0) {
        out += "\t\tvolume " + std::to_string(host.volume) + " {\n";
        indent = "\t\t\t";
      }
      for (const char* name : {"device", "disk", "meta-disk"}) {
        const OptionSpec* spec = FindCanonical(name);
        out += indent + name + " " + FormatOptionValue(*spec, host.options.Find(name)->value) +
               ";\n";
      }
      if (host.volume != 0) out += "\t\t}\n";
      for (const char* name : {"address", "nbd-address"}) {
        const Setting* s = host.options.Find(name);
        if (s) out += "\t\t" + std::string(name) + " " +
                      FormatOptionValue(*FindCanonical(name), s->value) + ";\n";
      }
      out += "\t}\n";
    }
    out += "}\n";
  }
  return out;
}

}  // namespace tandem::config
