#pragma once
// Env: every touch of the operating system that Tandem's logic makes goes through
// this interface (leveldb's Env idea), so tests can substitute an in-memory or
// fault-injecting implementation. This first cut covers what the configuration
// loaders need; the storage and network layers extend it.
//
// Thread-safety: Env::Default() is safe to use from any thread. Implementations
// used by tests document their own rules.
// Failure: every call reports errors as a Status naming the path; none throws.

#include <sys/types.h>

#include <cstdint>

#include <string>
#include <vector>

#include "common/status.h"

namespace tandem {

struct FileInfo {
  mode_t mode = 0;  // st_mode: type and permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  off_t size = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide real environment. Never null, never deleted.
  static Env* Default();

  // Whole contents of a (small) file. Refuses files larger than max_bytes.
  virtual Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 16 << 20) = 0;
  // Paths matching a shell glob pattern, sorted; an empty list when nothing matches.
  virtual Result<std::vector<std::string>> Glob(const std::string& pattern) = 0;
  // stat(2) of a path (following symlinks).
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // A random 64-bit value that is never 0 (generation UUIDs, challenges).
  virtual uint64_t RandomU64() = 0;
};

// Forwards every call to another Env; tests derive from it and override what
// they want to change (leveldb's EnvWrapper).
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override {
    return target_->ReadFile(path, max_bytes);
  }
  Result<std::vector<std::string>> Glob(const std::string& pattern) override {
    return target_->Glob(pattern);
  }
  Result<FileInfo> Stat(const std::string& path) override { return target_->Stat(path); }
  uint64_t RandomU64() override { return target_->RandomU64(); }

 private:
  Env* target_;
};

}  // namespace tandem
