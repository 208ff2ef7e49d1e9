#pragma once
// A two-node Tandem cluster on this machine for tests: nodes "alpha"
// (127.0.0.2) and "bravo" (127.0.0.3), each a real tandemd process with its own
// run directory and a file-backed disk in a scratch directory. Every process is
// killed and reaped by the destructor, even when the test fails. Every wait is
// bounded.

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <chrono>
#include <gtest/gtest.h>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ctl/client.h"
#include "tcp_proxy.h"
#include "testing/test_util.h"

namespace tandem::testing {

inline const std::string kTandemd = TANDEMD_PATH;
inline const std::string kTandemadm = TANDEMADM_PATH;

// A free TCP port on `ip` (bound and released; good enough on a test machine).
inline int FreePort(const char* ip) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &a.sin_addr);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

struct ClusterOptions {
  char protocol = 'C';
  std::string secret[2] = {"tandem-test-secret", "tandem-test-secret"};
  uint64_t disk_size[2] = {64ull << 20, 64ull << 20};
  int disk_delay_ms[2] = {0, 0};
  std::string resync_rate = "1G";
  bool proxied = false;  // each node reaches the other through a TcpProxy
  std::string extra_net;   // more statements for the net section
  std::string extra_disk;  // more statements for the disk section
  std::string handlers;    // statements for a handlers section
  std::string startup;     // statements for a startup section
  bool test_hooks = false; // tandemd --test-hooks (test-io-error)
  bool nbd_tcp = false;    // each node also exports on nbd-address <its ip>:<free port>
  int busy_poll_us = -1;   // tandemd --busy-poll-us; -1: its default
  std::string tandemd = kTandemd;  // the daemon's binary (benchmarks compare builds)
};

// Protocol `proto` with bravo's disk completing every operation `delay_ms` late.
inline ClusterOptions SlowPeerDisk(char proto, int delay_ms) {
  ClusterOptions o;
  o.protocol = proto;
  o.disk_delay_ms[1] = delay_ms;
  return o;
}

class Cluster {
 public:
  static constexpr const char* kNames[2] = {"alpha", "bravo"};
  static constexpr const char* kIps[2] = {"127.0.0.2", "127.0.0.3"};

  explicit Cluster(ClusterOptions o = {}) : o_(std::move(o)) {
    for (int n = 0; n < 2; ++n) {
      port_[n] = FreePort(kIps[n]);
      if (o_.nbd_tcp) nbd_port_[n] = FreePort(kIps[n]);
      proxy_port_[n] = o_.proxied ? FreePort(kIps[n]) : port_[n];
      Truncate(disk(n), o_.disk_size[n]);
      std::string run = dir_.path() + "/run-" + kNames[n];
      ::mkdir(run.c_str(), 0755);
    }
    WriteConfig();
    if (o_.proxied) {
      for (int n = 0; n < 2; ++n) {
        proxy_[n] = std::make_unique<TcpProxy>(kIps[n], proxy_port_[n], kIps[n], port_[n]);
      }
    }
  }

  // The proxy in front of node n (connections initiated by the other node).
  TcpProxy& proxy(int n) { return *proxy_[n]; }
  // Cut or restore the link between the nodes (both proxies).
  void CutLink(bool cut) {
    for (auto& p : proxy_) p->SetCut(cut);
  }
  // Corrupt the next large chunk travelling from node `from` to the other.
  void CorruptFrom(int from) {
    proxy_[1 - from]->CorruptNext(true);
    proxy_[from]->CorruptNext(false);
  }
  int corruptions() const { return proxy_[0]->corruptions() + proxy_[1]->corruptions(); }

  ~Cluster() {
    for (int n = 0; n < 2; ++n) Kill(n);
  }

  void WriteConfig() {
    auto body = [&](int self) {
    std::string c = "resource r0 {\n  net {\n    protocol " + std::string(1, o_.protocol) +
                    ";\n    cram-hmac-alg sha256;\n    shared-secret \"SECRET\";\n" +
                    "    connect-int 1;\n    ping-int 1;\n    ping-timeout 5;\n" + o_.extra_net +
                    "  }\n  disk {\n    resync-rate " + o_.resync_rate + ";\n" + o_.extra_disk + "  }\n" +
                    (o_.handlers.empty() ? "" : "  handlers {\n" + o_.handlers + "  }\n") +
                    (o_.startup.empty() ? "" : "  startup {\n" + o_.startup + "  }\n");
    for (int n = 0; n < 2; ++n) {
      int port = n == self ? port_[n] : proxy_port_[n];
      c += "  on " + std::string(kNames[n]) + " {\n    device /dev/drbd0 minor 0;\n    disk " +
           disk(n) + ";\n    address " + kIps[n] + ":" + std::to_string(port) +
           ";\n    meta-disk internal;\n" +
           (o_.nbd_tcp ? "    nbd-address " + std::string(kIps[n]) + ":" +
                             std::to_string(nbd_port_[n]) + ";\n"
                       : "") +
           "  }\n";
    }
    c += "}\n";
    return c;
    };
    // Placeholders in handler commands: this cluster's own paths.
    auto expand = [&](std::string t) {
      const std::pair<std::string, std::string> subs[] = {
          {"@DIR@", dir_.path()}, {"@RUN0@", run_dir(0)}, {"@RUN1@", run_dir(1)},
          {"@CONF0@", conf(0)},   {"@CONF1@", conf(1)},   {"@TANDEMADM@", kTandemadm}};
      for (const auto& [from, to] : subs) {
        for (size_t at = t.find(from); at != std::string::npos; at = t.find(from, at + to.size())) {
          t.replace(at, from.size(), to);
        }
      }
      return t;
    };
    for (int n = 0; n < 2; ++n) {
      std::string mine = expand(body(n));
      mine.replace(mine.find("SECRET"), 6, o_.secret[n]);
      dir_.Write(std::string("node-") + kNames[n] + ".conf", mine);
    }
  }

  std::string disk(int n) const { return dir_.path() + "/disk-" + kNames[n] + ".img"; }
  std::string conf(int n) const { return dir_.path() + "/node-" + kNames[n] + ".conf"; }
  std::string run_dir(int n) const { return dir_.path() + "/run-" + kNames[n]; }
  std::string log(int n) const { return dir_.path() + "/tandemd-" + kNames[n] + ".log"; }
  std::string status_file(int n) const { return run_dir(n) + "/status"; }
  std::string Log(int n) const { return ReadFileOrEmpty(log(n)); }
  std::string StatusFile(int n) const { return ReadFileOrEmpty(status_file(n)); }
  const ScratchDir& dir() const { return dir_; }
  int port(int n) const { return port_[n]; }
  int nbd_port(int n) const { return nbd_port_[n]; }

  CommandResult Adm(int n, std::vector<std::string> args, int timeout_s = 60) {
    std::vector<std::string> argv = {kTandemadm, "-c", conf(n), "--node", kNames[n], "--run-dir",
                                     run_dir(n)};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, timeout_s);
  }

  // Starts tandemd for node n (foreground, logging to its log file).
  void Start(int n) {
    ::unlink((run_dir(n) + "/tandemd.sock").c_str());  // a stale one from a killed daemon
    std::vector<std::string> argv = {o_.tandemd, "-f",        "-c",       conf(n),      "--node",
                                     kNames[n],  "--run-dir", run_dir(n), "--log-file", log(n)};
    if (o_.test_hooks) argv.push_back("--test-hooks");
    if (o_.busy_poll_us >= 0) {
      argv.push_back("--busy-poll-us");
      argv.push_back(std::to_string(o_.busy_poll_us));
    }
    if (o_.disk_delay_ms[n] > 0) {
      argv.push_back("--test-disk-delay-ms");
      argv.push_back(std::to_string(o_.disk_delay_ms[n]));
    }
    pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    pid_[n] = pid;
    WaitFor([&] { return ::access((run_dir(n) + "/tandemd.sock").c_str(), F_OK) == 0; },
            std::chrono::seconds(10));
  }

  void Kill(int n, int sig = SIGKILL) {
    if (pid_[n] <= 0) return;
    ::kill(pid_[n], sig);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (::waitpid(pid_[n], &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_[n], SIGKILL);
        ::waitpid(pid_[n], &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_[n] = -1;
  }
  bool running(int n) const { return pid_[n] > 0; }

  // create-md on both, start both, up, connected, alpha forced Primary, full sync done.
  // Creates both nodes' meta-data, starts them and waits until they connect
  // (both Inconsistent, both Secondary).
  void StartAndConnect() {
    for (int n = 0; n < 2; ++n) {
      auto r = Adm(n, {"create-md", "--force", "r0"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      Start(n);
    }
    for (int n = 0; n < 2; ++n) ASSERT_EQ(Adm(n, {"up", "r0"}).exit_code, 0) << Log(n);
    ASSERT_EQ(Adm(0, {"wait-connect", "r0", "-t", "20"}).exit_code, 0) << Log(0) << Log(1);
  }

  // StartAndConnect, then alpha Primary without an initial sync (both disks
  // declared UpToDate with new-current-uuid --clear-bitmap): for tests whose
  // peer disk is slowed down.
  void BringUpSkippingSync() {
    StartAndConnect();
    if (::testing::Test::HasFatalFailure()) return;
    ASSERT_EQ(Adm(0, {"new-current-uuid", "--clear-bitmap", "r0"}).exit_code, 0);
    ASSERT_TRUE(WaitForState(0, "Connected", "UpToDate/UpToDate", std::chrono::seconds(20)));
    ASSERT_EQ(Adm(0, {"primary", "r0"}).exit_code, 0);
  }

  void BringUp() {
    StartAndConnect();
    if (::testing::Test::HasFatalFailure()) return;
    auto p = Adm(0, {"primary", "--force", "r0"});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    ASSERT_TRUE(WaitForState(0, "Connected", "UpToDate/UpToDate", std::chrono::seconds(60)))
        << StatusFile(0) << Log(0) << Log(1);
  }

  nlohmann::json StatusJson(int n) {
    auto r = Adm(n, {"--json", "status", "r0"});
    if (r.exit_code != 0) return nlohmann::json::object();
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  bool WaitForState(int n, const std::string& cstate, const std::string& dpair,
                    std::chrono::milliseconds timeout) {
    return WaitFor(
        [&] {
          auto s = StatusJson(n);
          return s.is_object() && s.value("cstate", "") == cstate &&
                 s.value("disk", "") + "/" + s.value("peer_disk", "") == dpair;
        },
        timeout);
  }

  // Restart a node's daemon and bring its resource up again.
  void Restart(int n) {
    Start(n);
    auto r = Adm(n, {"up", "r0"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }

  // One control-socket call (data hooks: write/read/flush).
  nlohmann::json Call(int n, const std::string& cmd, nlohmann::json args = nlohmann::json::object()) {
    ctl::ControlClient c;
    if (!c.Connect(run_dir(n) + "/tandemd.sock").ok()) return {{"ok", false}, {"error", "connect"}};
    auto r = c.Call({cmd, "r0", std::move(args)}, std::chrono::seconds(60));
    if (!r.ok()) return {{"ok", false}, {"error", r.status().message()}};
    return *r;
  }

  // The replicated area of a backing file (internal meta-data sits after it).
  std::string DataOf(int n, uint64_t size) const {
    std::string all = ReadFileOrEmpty(disk(n));
    return all.substr(0, std::min<uint64_t>(size, all.size()));
  }
  uint64_t DataSize(int n) {
    auto s = StatusJson(n);
    return s.value("size", uint64_t{0});
  }

 private:
  static void Truncate(const std::string& path, uint64_t size) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.close();
    ::truncate(path.c_str(), static_cast<off_t>(size));
  }

  ClusterOptions o_;
  ScratchDir dir_;
  int nbd_port_[2] = {0, 0};
  int port_[2] = {0, 0};
  int proxy_port_[2] = {0, 0};
  std::unique_ptr<TcpProxy> proxy_[2];
  pid_t pid_[2] = {-1, -1};
};

// Base64 for the control socket's data hooks.
inline std::string B64(const std::vector<uint8_t>& d) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < d.size(); i += 3) {
    uint32_t v = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i < d.size()) {
    uint32_t v = d[i] << 16;
    if (i + 1 < d.size()) v |= d[i + 1] << 8;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += (i + 1 < d.size()) ? t[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Byte equality with a short explanation instead of megabytes of diff.
inline ::testing::AssertionResult SameBytes(const std::string& a, const std::string& b) {
  if (a == b) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  size_t diff_blocks = 0;
  for (size_t k = 0; k < std::min(a.size(), b.size()); k += 4096) {
    if (a.compare(k, 4096, b, k, 4096) != 0) ++diff_blocks;
  }
  return ::testing::AssertionFailure() << "sizes " << a.size() << "/" << b.size()
                                       << ", first difference at byte " << i << ", "
                                       << diff_blocks << " 4 KiB blocks differ";
}

inline std::vector<uint8_t> Pattern(uint64_t seed, size_t len) {
  std::vector<uint8_t> v(len);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t x = rng();
    for (size_t k = 0; k < 8 && i + k < len; ++k) v[i + k] = static_cast<uint8_t>(x >> (8 * k));
  }
  return v;
}

}  // namespace tandem::testing
