#pragma once
// The generation: a number a node raises at every start and keeps on disk
// (STATE_DIR/hb_generation), sent in every message (`hg`). The other node
// refuses anything from an older generation, so messages recorded before a
// restart cannot be replayed after it (docs/heartbeat-protocol.md).
//
// The new generation is max(stored + 1, the wall clock in seconds): it keeps
// growing even if the file is lost, as long as the clock is sane. A file that
// cannot be read as a number is treated as missing, with a warning.
// Contract: the new value is on disk (written atomically and synced) before
// it is returned; if that fails the daemon must not start.
// Thread-safety: no shared state.

#include <cstdint>
#include <string>

#include "common/status.h"
#include "heartbeat/hb_env.h"

namespace tandem::heartbeat {

struct NewGeneration {
  uint64_t generation = 0;
  std::string warning;  // "" when the stored value was fine (or absent)
};

Result<NewGeneration> NextGeneration(HbEnv* env, const std::string& path);

}  // namespace tandem::heartbeat
