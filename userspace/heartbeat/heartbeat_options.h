#pragma once
// Options of the tandem-heartbeat program.

#include <string>

#include "common/cli.h"
#include "heartbeat/heartbeat_config.h"

namespace tandem::heartbeat {

struct HeartbeatOptions {
  CommonOptions common;
  std::string config_dir = kDefaultConfigDir;  // holds ha.cf, haresources, authkeys, resource.d
  bool check = false;                          // validate and print the settings, then exit
  bool json = false;                           // print the settings as JSON
};

}  // namespace tandem::heartbeat
