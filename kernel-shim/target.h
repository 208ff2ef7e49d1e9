#pragma once
// Where a resource's export is and what its device path is: from the
// drbd.conf-style configuration (the local host's `device`, the Unix socket
// <run-dir>/nbd/<resource>.sock, export name = resource name), with command-line
// overrides: --connect HOST:PORT (TCP, same export name) or --nbd-uri
// (nbd://HOST[:PORT]/NAME or nbd+unix:///NAME?socket=PATH).
// Thread-safety: plain functions. Failure: Status naming the file or argument.

#include <string>
#include <vector>

#include "attach.h"
#include "common/status.h"

namespace tandem::shim {

struct TargetOverrides {
  std::string connect;  // HOST:PORT
  std::string nbd_uri;
};

// Parses an NBD URI into `target` (endpoint and export name).
Status ApplyNbdUri(const std::string& uri, ResourceTarget* target);
Status ApplyConnect(const std::string& host_port, ResourceTarget* target);

// Loads `config_file` (empty: the default path) for `node` and describes
// `resource`. Diagnostics go to `diagnostics`.
Result<ResourceTarget> ResolveTarget(const std::string& config_file, const std::string& node,
                                     const std::string& run_dir, const std::string& resource,
                                     const TargetOverrides& overrides, std::string* diagnostics);
// Every resource of the configuration for `node` (for `status` without names).
Result<std::vector<std::string>> ConfiguredResources(const std::string& config_file,
                                                     const std::string& node,
                                                     std::string* diagnostics);

}  // namespace tandem::shim
