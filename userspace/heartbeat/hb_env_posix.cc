// The real HbEnv on Linux.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "heartbeat/hb_env.h"

namespace tandem::heartbeat {
namespace {

Status Errno(const std::string& what) { return Status::FromErrno(errno, what); }

speed_t BaudConstant(int baud) {
  switch (baud) {
    case 9600:
      return B9600;
    case 19200:
      return B19200;
    case 38400:
      return B38400;
    case 57600:
      return B57600;
    case 115200:
      return B115200;
    case 230400:
      return B230400;
    case 460800:
      return B460800;
    default:
      return B19200;
  }
}

// Numeric sockaddr for `address` (v4 or v6) and `port`.
bool MakeAddress(const std::string& address, int port, bool ipv6, sockaddr_storage* out,
                 socklen_t* len) {
  std::memset(out, 0, sizeof *out);
  if (!ipv6) {
    auto* a = reinterpret_cast<sockaddr_in*>(out);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    if (!address.empty() && inet_pton(AF_INET, address.c_str(), &a->sin_addr) != 1) return false;
    *len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    if (!address.empty() && inet_pton(AF_INET6, address.c_str(), &a->sin6_addr) != 1) {
      return false;
    }
    *len = sizeof(sockaddr_in6);
  }
  return true;
}

class PosixHbEnv final : public HbEnv {
 public:
  Env* files() override { return Env::Default(); }

  int64_t MonotonicMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  int64_t WallSeconds() override { return static_cast<int64_t>(std::time(nullptr)); }

  Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) override {
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    static_cast<mode_t>(mode));
    if (fd < 0) return Errno("cannot create " + tmp);
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Status st = Errno("cannot write " + tmp);
        ::close(fd);
        return st;
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
      Status st = Errno("cannot sync " + tmp);
      ::close(fd);
      return st;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename " + tmp);
    std::string dir = path.substr(0, path.find_last_of('/') + 1);
    if (dir.empty()) dir = ".";
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    return Status::Ok();
  }

  Status MakeDirectory(const std::string& path, int mode) override {
    if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0 || errno == EEXIST) {
      return Status::Ok();
    }
    return Errno("cannot create directory " + path);
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) == 0 || errno == ENOENT) return Status::Ok();
    return Errno("cannot remove " + path);
  }

  Result<Spawned> Spawn(const SpawnOptions& o) override {
    if (o.argv.empty()) return Status::InvalidArgument("nothing to run");
    uid_t uid = 0;
    gid_t gid = 0;
    if (!o.user.empty()) {
      passwd pw{};
      passwd* found = nullptr;
      char buf[4096];
      if (getpwnam_r(o.user.c_str(), &pw, buf, sizeof buf, &found) != 0 || found == nullptr) {
        return Status::NotFound("no such user [" + o.user + "]");
      }
      uid = pw.pw_uid;
      gid = pw.pw_gid;
    }
    int pipefd[2] = {-1, -1};
    if (o.capture_output && ::pipe2(pipefd, O_CLOEXEC) != 0) return Errno("pipe");
    // Everything the child needs is prepared before fork: after it, only
    // async-signal-safe calls.
    std::vector<char*> argv;
    for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const char* user = o.user.empty() ? nullptr : o.user.c_str();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = ::fork();
    if (pid == 0) {
      // Child: default signal handling, nothing blocked.
      for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      pthread_sigmask(SIG_SETMASK, &none, nullptr);
      if (o.new_process_group) ::setpgid(0, 0);
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      if (o.capture_output) {
        ::dup2(pipefd[1], 1);
        ::dup2(pipefd[1], 2);
      } else {
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      if (user != nullptr) {
        if (::initgroups(user, gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) _exit(126);
      }
      ::execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    const int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (o.capture_output) ::close(pipefd[1]);
    if (pid < 0) {
      if (o.capture_output) ::close(pipefd[0]);
      errno = fork_errno;
      return Errno("fork");
    }
    if (o.capture_output) ::fcntl(pipefd[0], F_SETFL, ::fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);
    return Spawned{pid, o.capture_output ? pipefd[0] : -1};
  }

  Status Signal(pid_t pid, int sig, bool group) override {
    if (::kill(group ? -pid : pid, sig) == 0 || errno == ESRCH) return Status::Ok();
    return Errno("kill " + std::to_string(pid));
  }

  std::optional<ChildExit> ReapChild() override {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return std::nullopt;
    return ChildExit{pid, status};
  }

  Result<int> OpenUdpSocket(const UdpSocketOptions& o) override {
    const int family = o.ipv6 ? AF_INET6 : AF_INET;
    int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Errno("socket");
    auto fail = [fd](const std::string& what) -> Status {
      Status st = Errno(what);
      ::close(fd);
      return st;
    };
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!o.device.empty() &&
        ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o.device.c_str(),
                     static_cast<socklen_t>(o.device.size())) != 0) {
      return fail("cannot bind to interface " + o.device);
    }
    if (o.broadcast && ::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) {
      return fail("cannot enable broadcast");
    }
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (!MakeAddress(o.bind_address, o.port, o.ipv6, &addr, &len)) {
      ::close(fd);
      return Status::InvalidArgument("bad address [" + o.bind_address + "]");
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      return fail("cannot bind UDP " + (o.bind_address.empty() ? "*" : o.bind_address) + ":" +
                  std::to_string(o.port));
    }
    if (!o.multicast_group.empty()) {
      const unsigned index = o.device.empty() ? 0 : if_nametoindex(o.device.c_str());
      unsigned char loop = o.multicast_loop ? 1 : 0;
      if (!o.ipv6) {
        ip_mreqn req{};
        inet_pton(AF_INET, o.multicast_group.c_str(), &req.imr_multiaddr);
        req.imr_ifindex = static_cast<int>(index);
        if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof req) != 0) {
          return fail("cannot join multicast group " + o.multicast_group);
        }
        ip_mreqn out{};
        out.imr_ifindex = static_cast<int>(index);
        ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof out);
        unsigned char ttl = static_cast<unsigned char>(o.multicast_ttl);
        ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
        ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
      } else {
        ipv6_mreq req{};
        inet_pton(AF_INET6, o.multicast_group.c_str(), &req.ipv6mr_multiaddr);
        req.ipv6mr_interface = index;
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &req, sizeof req) != 0) {
          return fail("cannot join multicast group " + o.multicast_group);
        }
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index);
        int hops = o.multicast_ttl;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops);
        unsigned int loop6 = loop;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop6, sizeof loop6);
      }
    }
    return fd;
  }

  Result<int> OpenSerial(const std::string& device, int baud) override {
    int fd = ::open(device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open serial device " + device);
    termios t{};
    if (::tcgetattr(fd, &t) != 0) {
      Status st = Errno(device + " is not a terminal");
      ::close(fd);
      return st;
    }
    ::cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag &= ~static_cast<tcflag_t>(CRTSCTS | CSTOPB | PARENB);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    ::cfsetispeed(&t, BaudConstant(baud));
    ::cfsetospeed(&t, BaudConstant(baud));
    if (::tcsetattr(fd, TCSANOW, &t) != 0) {
      Status st = Errno("cannot set up " + device);
      ::close(fd);
      return st;
    }
    ::tcflush(fd, TCIOFLUSH);
    return fd;
  }

  Result<int> OpenIcmpSocket(bool ipv6, const std::string& bind_address) override {
    int fd = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ipv6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP));
    if (fd < 0) return Errno("cannot open a raw ICMP socket (needs root or CAP_NET_RAW)");
    if (!bind_address.empty()) {
      sockaddr_storage addr{};
      socklen_t len = 0;
      if (!MakeAddress(bind_address, 0, ipv6, &addr, &len) ||
          ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        Status st = Errno("cannot bind ICMP socket to " + bind_address);
        ::close(fd);
        return st;
      }
    }
    return fd;
  }

  Result<std::vector<InterfaceAddress>> InterfaceAddresses() override {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return Errno("getifaddrs");
    std::vector<InterfaceAddress> out;
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr) continue;
      const int family = i->ifa_addr->sa_family;
      if (family != AF_INET && family != AF_INET6) continue;
      char buf[INET6_ADDRSTRLEN] = {};
      InterfaceAddress a;
      a.interface = i->ifa_name;
      a.index = if_nametoindex(i->ifa_name);
      if (family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf,
                  sizeof buf);
        a.address = buf;
        if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr != nullptr) {
          inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_broadaddr)->sin_addr, buf,
                    sizeof buf);
          a.broadcast = buf;
        }
      } else {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf,
                  sizeof buf);
        a.address = buf;
      }
      out.push_back(std::move(a));
    }
    ::freeifaddrs(list);
    return out;
  }

  Result<int> LockPidFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("cannot open " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      char buf[32] = {};
      ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      ::close(fd);
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      return Status::Busy("heartbeat is already running (pid " + pid + ", " + path + ")");
    }
    const std::string text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
      Status st = Errno("cannot write " + path);
      ::close(fd);
      return st;
    }
    return fd;
  }
};

}  // namespace

HbEnv* HbEnv::Default() {
  static PosixHbEnv* env = new PosixHbEnv();  // never destroyed: usable during exit
  return env;
}

}  // namespace tandem::heartbeat
