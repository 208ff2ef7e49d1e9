#pragma once
// Two tandem-heartbeat daemons on this machine for tests: nodes "alpha"
// (127.0.0.2) and "bravo" (127.0.0.3) with a ucast link and, optionally, a
// serial link through a socat pty pair. Each has its own ha.d, run and state
// directories in a scratch directory. Their resources are test scripts
// ("rec::NAME") that append "NODE ACTION NAME MS" lines to one record file,
// so tests see exactly which node started and stopped what, in which order,
// and when (wall-clock milliseconds).
//
// Optionally everything runs inside a network namespace the harness creates
// (the ping tests, which change routing). The destructor SIGKILLs and reaps
// every process it started and deletes the namespace and the scratch
// directory, even when the test fails. Every wait is bounded.

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"

namespace tandem::testing {

inline const std::string kHeartbeatBin = TANDEM_HEARTBEAT_PATH;

inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

// A UDP port free on both test addresses (bound and released).
inline int FreeUdpPort() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const int port = ntohs(a.sin_port);
    int fd2 = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in b = a;
    inet_pton(AF_INET, "127.0.0.3", &b.sin_addr);
    const bool ok = ::bind(fd2, reinterpret_cast<sockaddr*>(&b), sizeof b) == 0;
    ::close(fd);
    ::close(fd2);
    if (ok) return port;
  }
  return 0;
}

// Forks and execs argv with stdout and stderr appended to `log`.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& log,
                   const std::vector<std::string>& extra_env = {}) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    for (const auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for `pid` (bounded), SIGKILLing its process group when time is up.
inline int Reap(pid_t pid, std::chrono::milliseconds timeout) {
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status;
}

struct HbClusterOptions {
  int keepalive_ms = 200;
  int deadtime_ms = 2000;
  int warntime_ms = 1000;
  int initdead_ms = 4000;
  std::string auto_failback = "off";
  std::string haresources = "alpha rec::a rec::b\n";
  bool serial = true;
  bool ucast = true;
  std::string extra_ha_cf;                   // for both nodes
  std::string authkeys = "auth 1\n1 sha1 tandem-heartbeat-test-key\n";
  bool netns = false;                        // run both daemons in a fresh namespace
};

class HbCluster {
 public:
  static constexpr const char* kNames[2] = {"alpha", "bravo"};
  static constexpr const char* kIps[2] = {"127.0.0.2", "127.0.0.3"};

  explicit HbCluster(HbClusterOptions o = {}) : o_(std::move(o)) {
    port_ = FreeUdpPort();
    if (o_.netns) {
      netns_ = "tandem-hb-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++);
      Ip({"netns", "add", netns_});
      Ip({"netns", "exec", netns_, "ip", "link", "set", "lo", "up"});
    }
    if (o_.serial) StartSocat();
    for (int n = 0; n < 2; ++n) WriteNode(n);
    WriteRecorder();
  }

  ~HbCluster() {
    for (int n = 0; n < 2; ++n) Kill(n);
    StopSocat();
    if (!netns_.empty()) Ip({"netns", "del", netns_});
  }

  // --- files ---------------------------------------------------------------
  std::string node_dir(int n) const { return dir_.path() + "/" + kNames[n]; }
  std::string ha_dir(int n) const { return node_dir(n) + "/ha.d"; }
  std::string run_dir(int n) const { return node_dir(n) + "/run"; }
  std::string log_file(int n) const { return node_dir(n) + "/ha.log"; }
  std::string console_file(int n) const { return node_dir(n) + "/console.log"; }
  std::string record_file() const { return dir_.path() + "/record"; }
  std::string tty(int n) const { return dir_.path() + (n == 0 ? "/ttyA" : "/ttyB"); }
  const ScratchDir& dir() const { return dir_; }
  int port() const { return port_; }
  const std::string& netns() const { return netns_; }

  std::string HaCf(int n) const {
    std::ostringstream c;
    c << "keepalive " << o_.keepalive_ms << "ms\n"
      << "deadtime " << o_.deadtime_ms << "ms\n"
      << "warntime " << o_.warntime_ms << "ms\n"
      << "initdead " << o_.initdead_ms << "ms\n"
      << "udpport " << port_ << "\n";
    if (o_.ucast) c << "ucast lo 127.0.0.2\nucast lo 127.0.0.3\n";
    if (o_.serial) c << "serial " << tty(n) << "\nbaud 115200\n";
    c << "auto_failback " << o_.auto_failback << "\n"
      << "node alpha\nnode bravo\n"
      << "logfile " << log_file(n) << "\n"
      << o_.extra_ha_cf;
    return c.str();
  }

  // Writes a resource script into both nodes' resource.d.
  void AddScript(const std::string& name, const std::string& body) {
    for (int n = 0; n < 2; ++n) dir_.Write(std::string(kNames[n]) + "/ha.d/resource.d/" + name, body, 0755);
  }

  // Makes `node`'s start of rec::NAME fail (exit 1) from now on.
  void FailStart(int n, const std::string& name) {
    dir_.Write(std::string("fail.") + kNames[n] + "." + name, "");
  }
  // Forgets what ran on node n, as a reboot would.
  void ForgetState(int n) {
    for (const char* r : {"a", "b", "c"}) {
      ::unlink((dir_.path() + "/state." + kNames[n] + "." + r).c_str());
    }
  }

  // --- processes ------------------------------------------------------------
  void Start(int n, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv;
    if (!netns_.empty()) argv = {"/usr/sbin/ip", "netns", "exec", netns_};
    std::vector<std::string> hb = {kHeartbeatBin, "--foreground", "--node", kNames[n],
                                   "--config-dir", ha_dir(n), "--run-dir", run_dir(n),
                                   "--state-dir", node_dir(n) + "/state", "--bind", kIps[n]};
    argv.insert(argv.end(), hb.begin(), hb.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_[n] = Spawn(argv, console_file(n));
  }

  void Kill(int n) {
    if (pid_[n] <= 0) return;
    ::kill(pid_[n], SIGKILL);
    Reap(pid_[n], std::chrono::seconds(10));
    // Scripts it was running die with it (they are in their own groups).
    pid_[n] = -1;
  }

  // `tandem-heartbeat stop`, then reaps the daemon.
  CommandResult Stop(int n) {
    auto r = Cli(n, {"stop", "--timeout", "60"});
    if (pid_[n] > 0) {
      Reap(pid_[n], std::chrono::seconds(60));
      pid_[n] = -1;
    }
    return r;
  }

  bool running(int n) const { return pid_[n] > 0; }
  pid_t pid(int n) const { return pid_[n]; }

  CommandResult Cli(int n, std::vector<std::string> args, int timeout_s = 60) {
    std::vector<std::string> argv;
    if (!netns_.empty()) argv = {"/usr/sbin/ip", "netns", "exec", netns_};
    argv.push_back(kHeartbeatBin);
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--run-dir");
    argv.push_back(run_dir(n));
    return RunCommand(argv, timeout_s);
  }

  nlohmann::json Status(int n) {
    auto r = Cli(n, {"status", "--json"});
    if (r.exit_code != 0) return nlohmann::json::object();
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  // The node holding group `g` according to node n ("none", a name, or "?").
  std::string Holder(int n, int g = 0) {
    auto s = Status(n);
    if (!s.is_object() || !s.contains("groups") || s["groups"].size() <= static_cast<size_t>(g)) {
      return "?";
    }
    return s["groups"][g].value("holder", "?");
  }

  std::string Log(int n) const { return ReadFileOrEmpty(log_file(n)); }
  std::string Console(int n) const { return ReadFileOrEmpty(console_file(n)); }
  std::string Logs() const {
    return "--- alpha log\n" + Log(0) + "--- bravo log\n" + Log(1) + "--- alpha console\n" +
           Console(0) + "--- bravo console\n" + Console(1) + "--- record\n" +
           ReadFileOrEmpty(record_file());
  }

  bool WaitForLog(int n, const std::string& text, std::chrono::milliseconds timeout) {
    return WaitUntil([&] { return Log(n).find(text) != std::string::npos; }, timeout);
  }

  struct Record {
    std::string node, action, resource;
    int64_t ms = 0;
  };
  std::vector<Record> Records() const {
    std::vector<Record> out;
    std::istringstream in(ReadFileOrEmpty(record_file()));
    Record r;
    while (in >> r.node >> r.action >> r.resource >> r.ms) out.push_back(r);
    return out;
  }
  // "alpha start a" lines, in order.
  std::vector<std::string> RecordLines() const {
    std::vector<std::string> out;
    for (const auto& r : Records()) out.push_back(r.node + " " + r.action + " " + r.resource);
    return out;
  }
  std::optional<Record> FindRecord(const std::string& line) const {
    for (const auto& r : Records()) {
      if (r.node + " " + r.action + " " + r.resource == line) return r;
    }
    return std::nullopt;
  }
  bool WaitForRecord(const std::string& line, std::chrono::milliseconds timeout) {
    return WaitUntil([&] { return FindRecord(line).has_value(); }, timeout);
  }

  // Both daemons up, alpha running group 0 (alpha's) to the end, both agreeing.
  bool BringUp() {
    Start(0);
    Start(1);
    return WaitUntil(
        [&] {
          auto s = Status(0);
          return s.contains("groups") && !s["groups"].empty() &&
                 s["groups"][0].value("here", "") == "running" && Holder(1) == "alpha";
        },
        std::chrono::seconds(20));
  }

  // --- the serial link --------------------------------------------------------
  void StartSocat() {
    ::unlink(tty(0).c_str());
    ::unlink(tty(1).c_str());
    socat_ = Spawn({"/usr/bin/socat", "pty,raw,echo=0,link=" + tty(0),
                    "pty,raw,echo=0,link=" + tty(1)},
                   dir_.path() + "/socat.log");
    WaitUntil([&] { return ::access(tty(0).c_str(), F_OK) == 0 && ::access(tty(1).c_str(), F_OK) == 0; },
              std::chrono::seconds(10));
  }
  void StopSocat() {
    if (socat_ <= 0) return;
    ::kill(socat_, SIGKILL);
    Reap(socat_, std::chrono::seconds(10));
    socat_ = -1;
  }

  // `ip ARGS...` (for the namespace and its routing).
  static CommandResult Ip(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/sbin/ip");
    return RunCommand(args, 30);
  }
  CommandResult InNetns(std::vector<std::string> args) {
    std::vector<std::string> argv = {"netns", "exec", netns_};
    argv.insert(argv.end(), args.begin(), args.end());
    return Ip(argv);
  }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }

  void WriteNode(int n) {
    const std::string base = kNames[n];
    dir_.Write(base + "/ha.d/ha.cf", HaCf(n));
    dir_.Write(base + "/ha.d/haresources", o_.haresources);
    dir_.Write(base + "/ha.d/authkeys", o_.authkeys, 0600);
    ::mkdir((node_dir(n) + "/run").c_str(), 0755);
    ::mkdir((node_dir(n) + "/state").c_str(), 0755);
  }

  // rec NAME ACTION: records what it is asked, keeps a state file per node.
  void WriteRecorder() {
    const std::string d = dir_.path();
    AddScript("rec",
              "#!/bin/sh\n"
              "name=$1; action=$2\n"
              "state=" + d + "/state.$TANDEM_NODE.$name\n"
              "case $action in\n"
              "start)\n"
              "  if [ -e " + d + "/fail.$TANDEM_NODE.$name ]; then echo \"rec: $name refuses to start\"; exit 1; fi\n"
              "  echo \"$TANDEM_NODE start $name $(date +%s%3N)\" >> " + d + "/record; touch $state;;\n"
              "stop) echo \"$TANDEM_NODE stop $name $(date +%s%3N)\" >> " + d + "/record; rm -f $state;;\n"
              "status) if [ -e $state ]; then echo running; else echo stopped; fi;;\n"
              "*) echo \"usage: rec NAME {start|stop|status}\"; exit 2;;\n"
              "esac\n");
  }

  HbClusterOptions o_;
  ScratchDir dir_;
  int port_ = 0;
  pid_t pid_[2] = {-1, -1};
  pid_t socat_ = -1;
  std::string netns_;
};

}  // namespace tandem::testing
