// libFuzzer target for authkeys, loaded with its mode check (the MemEnv file
// is mode 600) as `tandem-heartbeat --check` loads it. Properties beyond "no
// crash": a refusal always says why, with a file and line; a file that loads
// has its `auth` key, keys only where the method needs one, indexes in 0..15
// in ascending order; and no diagnostic quotes a key that was loaded.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/mem_env.h"
#include "config/authkeys.h"
#include "config/ha_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tandem::config::AuthMethod;
  tandem::MemEnv env;
  env.AddFile("/etc/ha.d/authkeys", std::string(reinterpret_cast<const char*>(data), size),
              0100600);
  tandem::config::Diagnostics diags;
  auto keys = tandem::config::LoadAuthKeys(&env, "/etc/ha.d/authkeys", &diags);
  if (keys.ok() == diags.has_errors()) std::abort();
  for (const auto& d : diags.all()) {
    if (d.where.file != "/etc/ha.d/authkeys" || d.where.line < 1) std::abort();
  }
  if (!keys.ok()) return 0;

  int previous = -1;
  for (const auto& k : keys->keys) {
    if (k.index <= previous || k.index > tandem::config::kMaxAuthKeyIndex) std::abort();
    previous = k.index;
    if ((k.method == AuthMethod::kCrc) != k.key.empty()) std::abort();
    // Long keys only: a short one may match a message by chance.
    if (k.key.size() >= 16 && diags.Format().find(k.key) != std::string::npos) std::abort();
  }
  if (keys->active().index != keys->active_index) std::abort();
  tandem::config::AuthKeysToJson(*keys).dump(-1, ' ', false,
                                             nlohmann::json::error_handler_t::replace);
  return 0;
}
