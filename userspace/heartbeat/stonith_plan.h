#pragma once
// Which command fences the other node before this one takes over.
//
// `stonith_host HOST TYPE PARAMS...` applies on this node when HOST is this
// node or `*`. Tandem runs an external command rather than Heartbeat's STONITH
// plugins: TYPE is the program, an absolute path or a name in
// CONFIG_DIR/stonith.d/ (a leading "external/" is dropped, so lines written
// for Heartbeat's external plugins need only the script copied there). It runs
// as `PROGRAM reset PEER PARAMS...`; exit status 0 means the peer is down.
// Every applicable line is tried in order until one succeeds.
// Thread-safety: pure functions.

#include <string>
#include <vector>

#include "config/ha_cf.h"

namespace tandem::heartbeat {

struct StonithCommand {
  std::vector<std::string> argv;
  config::SourceLocation where;
};

std::vector<StonithCommand> PlanStonith(const config::HaCf& cf, const std::string& config_dir,
                                        const std::string& peer);

}  // namespace tandem::heartbeat
