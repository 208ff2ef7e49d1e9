#include "heartbeat/stonith_plan.h"

#include "heartbeat/heartbeat_config.h"

namespace tandem::heartbeat {

std::vector<StonithCommand> PlanStonith(const config::HaCf& cf, const std::string& config_dir,
                                        const std::string& peer) {
  std::vector<StonithCommand> out;
  if (peer.empty()) return out;
  for (const auto& s : cf.stonith_hosts) {
    if (s.host != "*" && s.host != cf.local_node) continue;
    std::string program = s.type;
    if (program.empty() || program[0] != '/') {
      const std::string prefix = "external/";
      if (program.rfind(prefix, 0) == 0) program = program.substr(prefix.size());
      program = PathInConfigDir(config_dir, "stonith.d/" + program);
    }
    StonithCommand c;
    c.argv = {program, "reset", peer};
    c.argv.insert(c.argv.end(), s.params.begin(), s.params.end());
    c.where = s.where;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace tandem::heartbeat
