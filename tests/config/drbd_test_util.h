#pragma once
// Shared fixtures for the drbd.conf tests: load text from an in-memory file.

#include <string>

#include "common/mem_env.h"
#include "config/drbd_loader.h"

namespace tandem::config::testing {

inline constexpr const char* kConfPath = "/etc/drbd.conf";

// Two complete hosts, alpha (this node by default) and bravo.
inline std::string TwoHosts() {
  return "  on alpha { device /dev/drbd0; disk /dev/vg/a; address 10.0.0.1:7788; "
         "meta-disk internal; }\n"
         "  on bravo { device /dev/drbd0; disk /dev/vg/b; address 10.0.0.2:7788; "
         "meta-disk internal; }\n";
}

// resource r0 with `body` first and the two hosts after it.
inline std::string Resource(const std::string& body, const std::string& name = "r0") {
  return "resource " + name + " {\n" + body + "\n" + TwoHosts() + "}\n";
}

struct Loaded {
  Diagnostics diags;
  Result<DrbdConfig> config = Status::NotFound("not loaded");
  bool ok() const { return config.ok(); }
  const ResourceConfig& r0() const { return config->resources.at(0); }
  // All diagnostics, one per line.
  std::string errors() const { return diags.Format(); }
};

inline Loaded LoadText(const std::string& text, const std::string& node = "alpha",
                       MemEnv* env = nullptr) {
  MemEnv local;
  MemEnv* e = env ? env : &local;
  Loaded l;
  l.config = ParseDrbdConfig(e, text, kConfPath, node, &l.diags);
  return l;
}

}  // namespace tandem::config::testing
