// libFuzzer target for the drbd.conf grammar: lexer, statement parser (with an
// include), normalizer and validator. Property checked beyond "no crash": any
// configuration that loads must survive dump -> parse as the same model.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/mem_env.h"
#include "config/drbd_loader.h"
#include "config/drbd_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  tandem::MemEnv env;
  env.AddFile("/etc/drbd.d/common.conf", "common { net { protocol C; } }\n");
  tandem::config::Diagnostics diags;
  auto cfg = tandem::config::ParseDrbdConfig(&env, text, "/etc/drbd.conf", "alpha", &diags);
  if (!cfg.ok()) {
    if (!diags.has_errors()) std::abort();  // a refusal must say why
    return 0;
  }
  std::string dumped = tandem::config::WriteDrbdConfig(*cfg, {});
  tandem::config::Diagnostics again_diags;
  auto again =
      tandem::config::ParseDrbdConfig(&env, dumped, "/etc/drbd.conf", "alpha", &again_diags);
  if (!again.ok() || !cfg->SameAs(*again)) std::abort();
  return 0;
}
