#pragma once
// When a `respawn` child exits, is it started again? Heartbeat's rules:
// never after exit status 100 (the program's way of saying "do not restart
// me"); otherwise yes, unless it keeps dying young: after kMaxFastDeaths
// deaths in a row, each less than kFastDeathMs after its start, it is
// "respawning too fast" and is left stopped until heartbeat restarts.
// Thread-safety: a plain value; one owner.

#include <cstdint>

namespace tandem::heartbeat {

class RespawnPolicy {
 public:
  static constexpr int kMaxFastDeaths = 10;
  static constexpr int64_t kFastDeathMs = 60000;
  static constexpr int kDoNotRestartExitCode = 100;

  enum class Decision { kRestart, kExit100, kTooFast };

  void Started(int64_t now_ms) { started_ms_ = now_ms; }
  // exit_code: -1 when killed by a signal.
  Decision Exited(int64_t now_ms, int exit_code);
  int fast_deaths() const { return fast_deaths_; }

 private:
  int64_t started_ms_ = 0;
  int fast_deaths_ = 0;
};

}  // namespace tandem::heartbeat
