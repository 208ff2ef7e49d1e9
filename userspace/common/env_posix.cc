// The real Env on Linux.
#include <fcntl.h>
#include <glob.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/env.h"

namespace tandem {
namespace {

class PosixEnv final : public Env {
 public:
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "cannot open " + path);
    std::string data;
    char buf[8192];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return Status::FromErrno(err, "cannot read " + path);
      }
      if (n == 0) break;
      if (data.size() + static_cast<size_t>(n) > max_bytes) {
        ::close(fd);
        return Status::InvalidArgument(path + ": file larger than " + std::to_string(max_bytes) +
                                       " bytes");
      }
      data.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return data;
  }

  Result<std::vector<std::string>> Glob(const std::string& pattern) override {
    glob_t g{};
    int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
    std::vector<std::string> out;
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    }
    ::globfree(&g);
    if (rc == GLOB_NOMATCH || rc == 0) return out;
    if (rc == GLOB_NOSPACE) return Status::IoError("glob " + pattern + ": out of memory");
    return Status::IoError("glob " + pattern + ": read error");
  }

  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "cannot stat " + path);
    return FileInfo{st.st_mode, st.st_uid, st.st_gid, st.st_size};
  }

  uint64_t RandomU64() override {
    uint64_t v = 0;
    while (v == 0) {
      ssize_t n = ::getrandom(&v, sizeof v, 0);
      if (n != static_cast<ssize_t>(sizeof v)) v = 0;  // EINTR: try again
    }
    return v;
  }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();  // never destroyed: usable during exit
  return env;
}

}  // namespace tandem
