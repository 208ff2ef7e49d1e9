#include "shim_state.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace tandem::shim {
namespace {

const char* const kModeNames[] = {"fuse", "kernel-netlink", "kernel-ioctl"};

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

const char* ModeName(Mode mode) {
  return kModeNames[static_cast<int>(mode)];
}

std::string ShimDir(const std::string& run_dir) {
  return run_dir + "/shim";
}

std::string StatePath(const std::string& run_dir, const std::string& resource) {
  return ShimDir(run_dir) + "/" + resource + ".state";
}

Status SaveState(const std::string& run_dir, const ShimState& s) {
  TANDEM_RETURN_IF_ERROR(MakeDirs(ShimDir(run_dir)));
  nlohmann::json j = {{"resource", s.resource},
                      {"mode", ModeName(s.mode)},
                      {"block_device", s.block_device},
                      {"link", s.link},
                      {"endpoint", s.endpoint},
                      {"size", s.size},
                      {"block_size", s.block_size},
                      {"nbd_index", s.nbd_index},
                      {"pid", s.pid},
                      {"pid_start", s.pid_start},
                      {"fuse_mount", s.fuse_mount},
                      {"fuse_file", s.fuse_file},
                      {"log_file", s.log_file}};
  const std::string path = StatePath(run_dir, s.resource);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << j.dump(2) << "\n";
    f.flush();
    if (!f) return Status::IoError("cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename " + tmp);
  return Status::Ok();
}

Result<ShimState> LoadState(const std::string& run_dir, const std::string& resource) {
  const std::string path = StatePath(run_dir, resource);
  std::ifstream f(path);
  if (!f) return Status::NotFound(resource + " is not attached (no " + path + ")");
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!j.is_object()) return Status::Corruption(path + ": not a JSON object");
  ShimState s;
  try {
    s.resource = j.at("resource").get<std::string>();
    const std::string mode = j.at("mode").get<std::string>();
    bool known = false;
    for (int m = 0; m < 3; ++m) {
      if (mode == kModeNames[m]) {
        s.mode = static_cast<Mode>(m);
        known = true;
      }
    }
    if (!known) return Status::Corruption(path + ": unknown mode '" + mode + "'");
    s.block_device = j.at("block_device").get<std::string>();
    s.link = j.at("link").get<std::string>();
    s.endpoint = j.value("endpoint", "");
    s.size = j.value("size", uint64_t{0});
    s.block_size = j.value("block_size", uint32_t{0});
    s.nbd_index = j.value("nbd_index", -1);
    s.pid = j.value("pid", 0);
    s.pid_start = j.value("pid_start", uint64_t{0});
    s.fuse_mount = j.value("fuse_mount", "");
    s.fuse_file = j.value("fuse_file", "");
    s.log_file = j.value("log_file", "");
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(path + ": " + e.what());
  }
  return s;
}

Status RemoveState(const std::string& run_dir, const std::string& resource) {
  const std::string path = StatePath(run_dir, resource);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status::FromErrno(errno, "unlink " + path);
  return Status::Ok();
}

std::vector<std::string> ListStates(const std::string& run_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(ShimDir(run_dir), ec)) {
    const std::string name = e.path().filename().string();
    const std::string suffix = ".state";
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      out.push_back(name.substr(0, name.size() - suffix.size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t ProcessStartTime(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return 0;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // rest starts at field 3 (state); field 22 is starttime.
  std::string state;
  rest >> state;
  if (state == "Z" || state == "X") return 0;
  for (int i = 4; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
  }
  return std::strtoull(field.c_str(), nullptr, 10);
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  const uint64_t now = ProcessStartTime(pid);
  return now != 0 && (start_time == 0 || now == start_time);
}

Result<ResourceLock> ResourceLock::Acquire(const std::string& run_dir, const std::string& resource,
                                           int timeout_ms) {
  TANDEM_RETURN_IF_ERROR(MakeDirs(ShimDir(run_dir)));
  const std::string path = ShimDir(run_dir) + "/" + resource + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "flock " + path);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::close(fd);
      return Status::Busy("another tandem-attach is working on " + resource + " (" + path +
                          " is locked)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ResourceLock(fd);
}

ResourceLock::~ResourceLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace tandem::shim
