#include "heartbeat/generation.h"

#include <algorithm>

#include "common/strings.h"

namespace tandem::heartbeat {

Result<NewGeneration> NextGeneration(HbEnv* env, const std::string& path) {
  NewGeneration out;
  uint64_t stored = 0;
  auto text = env->files()->ReadFile(path, 4096);
  if (text.ok()) {
    auto n = ParseInteger(TrimWhitespace(*text), 0, (1LL << 62));
    if (n) {
      stored = static_cast<uint64_t>(*n);
    } else {
      out.warning = "generation file " + path + " does not hold a number; starting afresh";
    }
  } else if (text.status().code() != Status::Code::kNotFound) {
    return text.status();
  }
  const int64_t wall = env->WallSeconds();
  out.generation = std::max<uint64_t>(stored + 1, wall > 0 ? static_cast<uint64_t>(wall) : 1);
  Status st = env->WriteFileAtomic(path, std::to_string(out.generation) + "\n", 0644);
  if (!st.ok()) {
    return Status::IoError("cannot record the new generation: " + st.message());
  }
  return out;
}

}  // namespace tandem::heartbeat
