#pragma once
// The layout of a node's run directory (--run-dir, default /run/tandem), in
// one place so the daemons, tandemadm and scripts agree:
//   tandemd.sock          tandemd's control socket
//   status                the /proc/drbd-style status file
//   nbd/<resource>.sock   the resource's NBD export (Unix socket)
// Thread-safety: pure functions.

#include <string>

namespace tandem {

inline std::string ControlSocketPath(const std::string& run_dir) { return run_dir + "/tandemd.sock"; }

inline std::string ExportSocketPath(const std::string& run_dir, const std::string& resource) {
  return run_dir + "/nbd/" + resource + ".sock";
}

// The NBD URI of the export (as nbdinfo, nbdsh, qemu and nbdcopy take it).
inline std::string ExportUnixUri(const std::string& run_dir, const std::string& resource) {
  return "nbd+unix:///" + resource + "?socket=" + ExportSocketPath(run_dir, resource);
}

}  // namespace tandem
