#include "heartbeat/respawn_policy.h"

namespace tandem::heartbeat {

RespawnPolicy::Decision RespawnPolicy::Exited(int64_t now_ms, int exit_code) {
  if (exit_code == kDoNotRestartExitCode) return Decision::kExit100;
  if (now_ms - started_ms_ < kFastDeathMs) {
    ++fast_deaths_;
  } else {
    fast_deaths_ = 0;
  }
  return fast_deaths_ >= kMaxFastDeaths ? Decision::kTooFast : Decision::kRestart;
}

}  // namespace tandem::heartbeat
