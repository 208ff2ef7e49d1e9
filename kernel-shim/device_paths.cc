#include "device_paths.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tandem::shim {
namespace {

std::string DevString(dev_t d) {
  return std::to_string(major(d)) + ":" + std::to_string(minor(d));
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct = s.substr(i + 1, 3);
      if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(oct, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  if (!f) return s;
  std::getline(f, s, '\0');
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<dev_t> BlockDeviceNumber(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  if (!S_ISBLK(st.st_mode)) return Status::InvalidArgument(path + " is not a block device");
  return st.st_rdev;
}

std::vector<dev_t> DeviceAndPartitions(dev_t dev) {
  std::vector<dev_t> out = {dev};
  const std::string sys = "/sys/dev/block/" + DevString(dev);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(sys, ec)) {
    if (!std::filesystem::exists(e.path() / "partition", ec)) continue;
    const std::string d = ReadSmallFile((e.path() / "dev").string());
    unsigned maj = 0, min = 0;
    if (std::sscanf(d.c_str(), "%u:%u", &maj, &min) == 2) out.push_back(makedev(maj, min));
  }
  return out;
}

std::vector<MountUse> FindMounts(dev_t dev, const std::string& mountinfo) {
  std::vector<MountUse> out;
  const std::vector<dev_t> devs = DeviceAndPartitions(dev);
  std::ifstream f(mountinfo);
  std::string line;
  while (std::getline(f, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    std::istringstream in(line);
    std::string id, parent, majmin, root, point;
    if (!(in >> id >> parent >> majmin >> root >> point)) continue;
    std::string source;
    const size_t dash = line.find(" - ");
    if (dash != std::string::npos) {
      std::istringstream tail(line.substr(dash + 3));
      std::string fstype;
      tail >> fstype >> source;
    }
    for (dev_t d : devs) {
      if (majmin == DevString(d)) out.push_back({Unescape(point), Unescape(source), majmin});
    }
  }
  return out;
}

Status MakeDeviceLink(const std::string& link, const std::string& target) {
  struct stat st {};
  if (::lstat(link.c_str(), &st) == 0) {
    if (!S_ISLNK(st.st_mode)) {
      return Status::Busy(link +
                          " exists and is not a symlink (a real device or file is never "
                          "replaced)");
    }
    char buf[4096];
    const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    const std::string old = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    struct stat tst {};
    if (old != target && ::stat(link.c_str(), &tst) == 0) {
      return Status::Busy(link + " already points to " + old + " (attached elsewhere?)");
    }
  }
  const std::string tmp = link + ".tandem-tmp";
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0) {
    return Status::FromErrno(errno, "symlink " + tmp + " -> " + target);
  }
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::FromErrno(err, "rename " + tmp + " to " + link);
  }
  return Status::Ok();
}

Status RemoveDeviceLink(const std::string& link, const std::string& target) {
  char buf[4096];
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n < 0)
    return errno == ENOENT || errno == EINVAL ? Status::Ok()
                                              : Status::FromErrno(errno, "readlink " + link);
  if (std::string(buf, static_cast<size_t>(n)) != target) return Status::Ok();
  if (::unlink(link.c_str()) != 0 && errno != ENOENT)
    return Status::FromErrno(errno, "unlink " + link);
  return Status::Ok();
}

}  // namespace tandem::shim
