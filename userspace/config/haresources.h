#pragma once
// Loads Heartbeat's haresources: one resource group per logical line
// (`#` comments, `\` continuation), written `NODE RES[::ARG[::ARG]]...`.
// NODE is the group's preferred node; the resources start left to right and
// stop right to left. The first resource names the group and must be unique.
// A bare IPv4 address (optionally /CIDR[/IFACE[/BCAST]]) means IPaddr::<it>.
//
// Contract: every problem is reported with file:line:column; any error yields
// no model. Whether a resource script exists on this machine is a run-time
// matter (heartbeat/runtime_check.h), not checked here.
// Thread-safety: the functions share no state; a Diagnostics is owned by one load.

#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "config/diagnostics.h"

namespace tandem::config {

struct HaResource {
  std::string name;               // the script: resource.d/NAME or /etc/init.d/NAME
  std::vector<std::string> args;  // the `::`-separated arguments, in order
  std::string written;            // the token as written ("10.0.0.3" for IPaddr::10.0.0.3)
  SourceLocation where;
  // NAME::ARG::ARG, the spelling every other place uses.
  std::string Canonical() const;
};

struct HaResourceGroup {
  std::string node;                   // lower case, like ha.cf's node names
  std::vector<HaResource> resources;  // never empty
  SourceLocation where;
  // The group's key: its first resource, canonical.
  std::string Key() const { return resources.front().Canonical(); }
};

struct HaResources {
  std::string source_file;
  std::vector<HaResourceGroup> groups;
};

// Reads `path` through env. cluster_nodes are ha.cf's node names: every group's
// node must be one of them ("Bad nodename in haresources"). An empty list skips
// that check (used when ha.cf itself failed to load, to still report the rest).
Result<HaResources> LoadHaResources(Env* env, const std::string& path,
                                    const std::vector<std::string>& cluster_nodes,
                                    Diagnostics* diags);

// Same, from text already in memory; file_name only labels the diagnostics.
Result<HaResources> ParseHaResources(std::string_view text, const std::string& file_name,
                                     const std::vector<std::string>& cluster_nodes,
                                     Diagnostics* diags);

}  // namespace tandem::config
