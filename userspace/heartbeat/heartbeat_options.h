#pragma once
// Options of the tandem-heartbeat program (docs/cli.md, docs/failover.md).

#include <string>

#include "common/cli.h"
#include "heartbeat/heartbeat_config.h"

namespace tandem::heartbeat {

struct HeartbeatOptions {
  CommonOptions common;
  std::string config_dir = kDefaultConfigDir;  // holds ha.cf, haresources, authkeys, resource.d
  bool check = false;                          // validate and print the settings, then exit
  bool json = false;                           // --check / status: JSON output
  // The daemon.
  bool foreground = false;
  bool debug = false;
  std::string bind_address;  // this node's own address, when nodes share a machine
  std::string state_dir = "/var/lib/tandem";
  std::string init_dir = "/etc/init.d";
  // An operator verb instead of the daemon: status, takeover, standby, stop.
  std::string verb;
  std::string which;
  int stop_timeout_s = 600;
};

}  // namespace tandem::heartbeat
