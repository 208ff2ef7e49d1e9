#pragma once
// An Env that keeps files in memory, for tests and fuzzers (leveldb's MemEnv).
// Not thread-safe: one test owns it.

#include <map>

#include "common/env.h"

namespace tandem {

class MemEnv : public Env {
 public:
  void AddFile(const std::string& path, std::string contents, mode_t mode = 0100600);
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override;
  // Supports '*' and '?' through fnmatch(3) over the stored paths.
  Result<std::vector<std::string>> Glob(const std::string& pattern) override;
  Result<FileInfo> Stat(const std::string& path) override;
  // Deterministic: a fixed sequence, so tests are repeatable.
  uint64_t RandomU64() override;

 private:
  struct File {
    std::string contents;
    mode_t mode;
  };
  std::map<std::string, File> files_;
  uint64_t random_state_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace tandem
