#pragma once
// HbEnv: every operating-system touch tandem-heartbeat makes, behind one
// interface so tests can substitute failures (a serial device that will not
// open, a generation file that cannot be written, a spawn that fails). The
// file operations the configuration loaders need stay in common/env.h; this
// adds what only the failover daemon needs: clocks, child processes, sockets,
// serial lines and the interface list. Descriptors it returns are
// non-blocking and close-on-exec; the caller owns them.
//
// Failure: every call reports errors as a Status naming what failed; none
// throws. Thread-safety: HbEnv::Default() may be used from any thread; the
// daemon uses it from its event loop only.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace tandem::heartbeat {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> env;   // the whole environment, "NAME=value"
  bool capture_output = true;     // stdout and stderr into one pipe (else /dev/null)
  std::string user;               // run as this user (respawn); "" = as ourselves
  bool new_process_group = true;  // so a timeout can kill what it started too
};

struct Spawned {
  pid_t pid = -1;
  int output_fd = -1;  // read end of the output pipe, or -1
};

struct ChildExit {
  pid_t pid = -1;
  int wait_status = 0;  // as waitpid(2) reports it
};

struct UdpSocketOptions {
  bool ipv6 = false;
  std::string bind_address;  // "" = any address
  int port = 0;
  std::string device;        // SO_BINDTODEVICE; "" = none
  bool broadcast = false;
  // Multicast: join `group` on `device`, set TTL and loopback.
  std::string multicast_group;
  int multicast_ttl = 1;
  bool multicast_loop = false;
};

struct InterfaceAddress {
  std::string interface;
  std::string address;    // numeric
  std::string broadcast;  // numeric, "" when none
  unsigned index = 0;     // interface index
};

class HbEnv {
 public:
  virtual ~HbEnv() = default;
  static HbEnv* Default();

  // The file Env (configuration, stat of scripts).
  virtual Env* files() = 0;

  virtual int64_t MonotonicMs() = 0;
  virtual int64_t WallSeconds() = 0;

  // Writes `data` to a temporary file beside `path`, syncs it and renames it
  // over `path` (then syncs the directory): all or nothing.
  virtual Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) = 0;
  virtual Status MakeDirectory(const std::string& path, int mode) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;

  virtual Result<Spawned> Spawn(const SpawnOptions& options) = 0;
  // kill(2) of `pid`, or of its process group when `group`.
  virtual Status Signal(pid_t pid, int signal, bool group) = 0;
  // One exited child (waitpid with WNOHANG), or nullopt when none is waiting.
  virtual std::optional<ChildExit> ReapChild() = 0;

  virtual Result<int> OpenUdpSocket(const UdpSocketOptions& options) = 0;
  // A tty in raw mode at `baud` (8N1, no flow control).
  virtual Result<int> OpenSerial(const std::string& device, int baud) = 0;
  // A raw ICMP (or ICMPv6) socket; sends from `bind_address` when not "".
  virtual Result<int> OpenIcmpSocket(bool ipv6, const std::string& bind_address) = 0;
  virtual Result<std::vector<InterfaceAddress>> InterfaceAddresses() = 0;
  // Creates or opens `path`, locks it (one daemon per run directory) and
  // writes our pid into it; the descriptor stays open for the daemon's life.
  // Busy, naming the pid inside, when another process holds the lock.
  virtual Result<int> LockPidFile(const std::string& path) = 0;
};

// Forwards every call; tests derive from it and override what they break.
class HbEnvWrapper : public HbEnv {
 public:
  explicit HbEnvWrapper(HbEnv* target) : t_(target) {}
  Env* files() override { return t_->files(); }
  int64_t MonotonicMs() override { return t_->MonotonicMs(); }
  int64_t WallSeconds() override { return t_->WallSeconds(); }
  Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) override {
    return t_->WriteFileAtomic(path, data, mode);
  }
  Status MakeDirectory(const std::string& path, int mode) override {
    return t_->MakeDirectory(path, mode);
  }
  Status RemoveFile(const std::string& path) override { return t_->RemoveFile(path); }
  Result<Spawned> Spawn(const SpawnOptions& options) override { return t_->Spawn(options); }
  Status Signal(pid_t pid, int signal, bool group) override {
    return t_->Signal(pid, signal, group);
  }
  std::optional<ChildExit> ReapChild() override { return t_->ReapChild(); }
  Result<int> OpenUdpSocket(const UdpSocketOptions& options) override {
    return t_->OpenUdpSocket(options);
  }
  Result<int> OpenSerial(const std::string& device, int baud) override {
    return t_->OpenSerial(device, baud);
  }
  Result<int> OpenIcmpSocket(bool ipv6, const std::string& bind_address) override {
    return t_->OpenIcmpSocket(ipv6, bind_address);
  }
  Result<std::vector<InterfaceAddress>> InterfaceAddresses() override {
    return t_->InterfaceAddresses();
  }
  Result<int> LockPidFile(const std::string& path) override { return t_->LockPidFile(path); }

 private:
  HbEnv* t_;
};

}  // namespace tandem::heartbeat
