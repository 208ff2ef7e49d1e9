#include "common/mem_env.h"

#include <fnmatch.h>

namespace tandem {

void MemEnv::AddFile(const std::string& path, std::string contents, mode_t mode) {
  files_[path] = File{std::move(contents), mode};
}

Result<std::string> MemEnv::ReadFile(const std::string& path, size_t max_bytes) {
  auto it = files_.find(path);
  if (it == files_.end()) return Status::FromErrno(ENOENT, "cannot open " + path);
  if (it->second.contents.size() > max_bytes) {
    return Status::InvalidArgument(path + ": file larger than " + std::to_string(max_bytes) +
                                   " bytes");
  }
  return it->second.contents;
}

Result<std::vector<std::string>> MemEnv::Glob(const std::string& pattern) {
  std::vector<std::string> out;
  for (const auto& [path, file] : files_) {
    if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) out.push_back(path);
  }
  return out;
}

Result<FileInfo> MemEnv::Stat(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) return Status::FromErrno(ENOENT, "cannot stat " + path);
  return FileInfo{it->second.mode, 0, 0, static_cast<off_t>(it->second.contents.size())};
}

uint64_t MemEnv::RandomU64() {
  // splitmix64
  uint64_t z = (random_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z == 0 ? 1 : z;
}

}  // namespace tandem
