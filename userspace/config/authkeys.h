#pragma once
// Loads Heartbeat's authkeys: `auth N` selects the key that signs outgoing
// packets, and lines `N crc`, `N sha1 KEY` or `N md5 KEY` (N in 0..15) define
// the keys a node accepts.
//
// Contract: LoadAuthKeys refuses a file that its group or others may access in
// any way, before reading it, with Heartbeat's words "Bad permissions on
// keyfile [PATH], 600 recommended."; every other problem is reported with
// file:line:column. Any error yields no model. Key material is kept in the
// model for the daemon but no message ever contains it.
// Thread-safety: the functions share no state; a Diagnostics is owned by one load.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "config/diagnostics.h"

namespace tandem::config {

inline constexpr int kMaxAuthKeyIndex = 15;  // Heartbeat's MAXAUTH is 16

enum class AuthMethod { kCrc, kSha1, kMd5 };
const char* AuthMethodName(AuthMethod method);

struct AuthKey {
  int index = 0;
  AuthMethod method = AuthMethod::kSha1;
  std::string key;  // empty for crc
  SourceLocation where;
};

struct AuthKeys {
  std::string source_file;
  int active_index = 0;       // from `auth N`
  std::vector<AuthKey> keys;  // ascending index, each index once
  // The key `auth N` selects; always present in a loaded model.
  const AuthKey& active() const;
};

// Checks the file's mode through env (Env::Stat), then reads and parses it.
Result<AuthKeys> LoadAuthKeys(Env* env, const std::string& path, Diagnostics* diags);

// Parses text already in memory (no mode check); file_name labels the diagnostics.
Result<AuthKeys> ParseAuthKeys(std::string_view text, const std::string& file_name,
                               Diagnostics* diags);

}  // namespace tandem::config
