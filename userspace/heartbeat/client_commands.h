#pragma once
// The operator verbs of tandem-heartbeat, run against the daemon of this node
// through its control socket (RUN_DIR/heartbeat.sock):
//
//   status [--json]              node, link and group states (cl_status-like)
//   takeover [all|foreign|local] take those groups from the other node
//   standby [all|foreign|local]  give those groups to the other node
//   stop                         graceful shutdown; waits until the daemon exits
//
// Exit status: 0 done; 1 bad usage; 2 refused or failed (the reason on
// stderr); 3 the daemon is not running (as an LSB `status` says "stopped").
// takeover and standby return once the daemon accepted the request; the
// groups move in the background (watch `status` or the log).
// Thread-safety: no shared state; blocking, every wait bounded.

#include <ostream>
#include <string>

namespace tandem::heartbeat {

inline constexpr int kExitNotRunning = 3;

struct ClientOptions {
  std::string run_dir;
  bool json = false;
  int stop_timeout_s = 600;  // how long `stop` waits for the groups to stop
};

int RunClientCommand(const std::string& verb, const std::string& which,
                     const ClientOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tandem::heartbeat
