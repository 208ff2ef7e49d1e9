// nbd_bench: Tandem's standalone NBD export (nbd_bench_server: nbd::Server +
// nbd::DeviceBackend) next to nbdkit's file plugin and qemu-nbd, with fio's
// nbd engine as the one client for every row. Prints a Markdown table; never
// a timed test.
//
// Tandem runs with io-engine aio for buffered rows and uring for direct rows
// (--engine-buffered/--engine-direct): on ext4, io_uring hands every buffered
// write to a kernel worker thread, which costs about twice the CPU per 4 KiB
// write that libaio's inline buffered write does (docs/performance.md).
// Modes: "buffered" compares Tandem (--cache buffered) with nbdkit file and
// qemu-nbd (default cache, writeback); "direct" compares Tandem (--cache
// direct, O_DIRECT) with qemu-nbd --cache=none (nbdkit's file plugin has no
// O_DIRECT mode in this version, so its cell stays empty). Every server
// serves the same backing file, over a Unix socket and over TCP on
// 127.0.0.1.
// Workloads: 4 KiB randwrite QD1 and QD32, 4 KiB randread QD32, 1 MiB
// sequential write and read (QD8), and a write+flush mix (4 KiB randwrite
// QD32 with fio fsync=32, i.e. a flush after every 32 writes). IOPS for the
// 4 KiB rows, MB/s for the 1 MiB rows; each cell is the median of --reps runs
// of --seconds each (after a 1 s ramp), the servers taking turns within each
// repetition so that background noise spreads evenly. Before each run the
// file's dirty pages are written back, so no run inherits another's writeback.
//
//   nbd_bench [--file /var/tmp/tandem-nbd-bench.img] [--seconds 10] [--reps 3]
//             [--modes buffered,direct] [--transports unix,tcp] [--rows ...]
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "median.h"

namespace {

using tandem::bench::Median;

struct Workload {
  std::string name;
  std::string rw;
  std::string bs;
  int depth;
  int fsync;      // 0: none
  bool bandwidth; // report MB/s instead of IOPS
};

const std::vector<Workload> kWorkloads = {
    {"4k randwrite QD1", "randwrite", "4k", 1, 0, false},
    {"4k randwrite QD32", "randwrite", "4k", 32, 0, false},
    {"4k randread QD32", "randread", "4k", 32, 0, false},
    {"1M seq write QD8", "write", "1M", 8, 0, true},
    {"1M seq read QD8", "read", "1M", 8, 0, true},
    {"4k write+flush (fsync=32) QD32", "randwrite", "4k", 32, 32, false},
};

struct Options {
  std::string file = "/var/tmp/tandem-nbd-bench.img";
  uint64_t size = uint64_t{1} << 30;
  int seconds = 10;
  int reps = 3;
  std::vector<std::string> modes = {"buffered", "direct"};
  std::vector<std::string> transports = {"unix", "tcp"};
  std::vector<std::string> rows;  // empty: all
  std::string server_bin;
  std::string work_dir;
  // Tandem's io-engine per caching mode (config `disk { io-engine ...; }`).
  std::string engine_buffered = "aio";
  std::string engine_direct = "uring";
};

// A child process, ended by its pid (SIGTERM, then SIGKILL) when destroyed.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv, const std::string& log) {
    pid_ = fork();
    if (pid_ == 0) {
      const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int in = open("/dev/null", O_RDONLY);
      dup2(in, 0);
      dup2(out, 1);
      dup2(out, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  bool alive() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

bool CanConnectUnix(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

bool CanConnectTcp(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Server {
  std::string name;  // "tandem", "nbdkit", "qemu-nbd"
  std::unique_ptr<Child> child;
  std::string uri;
};

// Starts `who` serving the file in `mode` over `transport`; nullopt if that
// combination is not offered (nbdkit in direct mode) or it failed to start.
std::optional<Server> StartServer(const Options& o, const std::string& who,
                                  const std::string& mode, const std::string& transport) {
  const bool tcp = transport == "tcp";
  const std::string sock = o.work_dir + "/" + who + ".sock";
  const uint16_t port = tcp ? FreePort() : 0;
  std::filesystem::remove(sock);
  std::vector<std::string> argv;
  if (who == "tandem") {
    argv = {o.server_bin, "--file", o.file, "--name", "disk", "--cache", mode, "--engine",
            mode == "direct" ? o.engine_direct : o.engine_buffered};
    if (tcp) {
      argv.insert(argv.end(), {"--tcp", "127.0.0.1:" + std::to_string(port)});
    } else {
      argv.insert(argv.end(), {"--socket", sock});
    }
  } else if (who == "nbdkit") {
    if (mode != "buffered") return std::nullopt;
    argv = {"nbdkit", "--foreground", "--exportname", "disk"};
    if (tcp) {
      argv.insert(argv.end(), {"--ipaddr", "127.0.0.1", "--port", std::to_string(port)});
    } else {
      argv.insert(argv.end(), {"--unix", sock});
    }
    argv.insert(argv.end(), {"file", "file=" + o.file});
  } else {
    argv = {"qemu-nbd", "--format=raw", "--export-name=disk", "--persistent", "--shared=8"};
    if (mode == "direct") argv.push_back("--cache=none");
    if (tcp) {
      argv.insert(argv.end(), {"--bind=127.0.0.1", "--port=" + std::to_string(port)});
    } else {
      argv.push_back("--socket=" + sock);
    }
    argv.push_back(o.file);
  }
  Server s;
  s.name = who;
  s.child = std::make_unique<Child>(argv, o.work_dir + "/" + who + ".log");
  s.uri = tcp ? "nbd://127.0.0.1:" + std::to_string(port) + "/disk"
              : "nbd+unix:///disk?socket=" + sock;
  for (int i = 0; i < 200; ++i) {
    if (tcp ? CanConnectTcp(port) : CanConnectUnix(sock)) return s;
    if (!s.child->alive()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  std::cerr << "nbd_bench: " << who << " (" << mode << ", " << transport
            << ") did not start; see " << o.work_dir << "/" << who << ".log\n";
  return std::nullopt;
}

void WriteBack(const std::string& file) {
  const int fd = open(file.c_str(), O_RDONLY);
  if (fd >= 0) {
    fdatasync(fd);
    close(fd);
  }
}

// Runs fio once; returns IOPS or MB/s (0 on failure).
double RunFio(const Options& o, const std::string& uri, const Workload& w) {
  const std::string out = o.work_dir + "/fio.json";
  std::vector<std::string> argv = {
      "fio", "--name=nbd", "--ioengine=nbd", "--uri=" + uri, "--rw=" + w.rw, "--bs=" + w.bs,
      "--iodepth=" + std::to_string(w.depth), "--size=" + std::to_string(o.size),
      "--runtime=" + std::to_string(o.seconds), "--time_based", "--ramp_time=1",
      "--output-format=json", "--output=" + out};
  if (w.fsync > 0) argv.push_back("--fsync=" + std::to_string(w.fsync));
  std::filesystem::remove(out);
  {
    Child fio(argv, o.work_dir + "/fio.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.seconds + 60);
    while (fio.alive() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::ifstream f(out);
  if (!f) return 0;
  try {
    std::stringstream ss;
    ss << f.rdbuf();
    std::string text = ss.str();
    const size_t brace = text.find('{');  // fio may print notes before the JSON
    if (brace == std::string::npos) return 0;
    auto j = nlohmann::json::parse(text.substr(brace));
    const auto& job = j["jobs"][0];
    const auto& side = (w.rw == "randread" || w.rw == "read") ? job["read"] : job["write"];
    if (job["error"].get<int>() != 0) return 0;
    return w.bandwidth ? side["bw_bytes"].get<double>() / 1e6 : side["iops"].get<double>();
  } catch (...) {
    return 0;
  }
}

std::string Cell(double v, bool bandwidth) {
  if (v <= 0) return "-";
  char b[32];
  if (bandwidth) {
    std::snprintf(b, sizeof b, "%.0f MB/s", v);
  } else if (v >= 1000) {
    std::snprintf(b, sizeof b, "%.1fk", v / 1000);
  } else {
    std::snprintf(b, sizeof b, "%.0f", v);
  }
  return b;
}

bool PrepareFile(const Options& o) {
  struct stat st{};
  if (stat(o.file.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == o.size) return true;
  std::cerr << "nbd_bench: writing " << o.file << " (" << (o.size >> 20) << " MiB)\n";
  const int fd = open(o.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  std::vector<char> block(1 << 20);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 131 + 7);
  for (uint64_t off = 0; off < o.size; off += block.size()) {
    if (pwrite(fd, block.data(), block.size(), static_cast<off_t>(off)) !=
        static_cast<ssize_t>(block.size())) {
      close(fd);
      return false;
    }
  }
  fsync(fd);
  close(fd);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Tandem's NBD export vs nbdkit and qemu-nbd, measured with fio's nbd engine"};
  app.add_option("--file", o.file, "backing file (created, filled, when missing)");
  app.add_option("--size", o.size, "backing file size in bytes");
  app.add_option("--seconds", o.seconds, "length of each fio run");
  app.add_option("--reps", o.reps, "runs per cell (the median is shown)");
  app.add_option("--modes", o.modes, "buffered and/or direct")->delimiter(',');
  app.add_option("--transports", o.transports, "unix and/or tcp")->delimiter(',');
  app.add_option("--rows", o.rows, "workload names to run (default: all)")->delimiter(',');
  app.add_option("--server", o.server_bin, "nbd_bench_server binary (default: next to this one)");
  app.add_option("--engine-buffered", o.engine_buffered, "Tandem's io-engine for buffered rows");
  app.add_option("--engine-direct", o.engine_direct, "Tandem's io-engine for direct rows");
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  if (o.server_bin.empty()) {
    o.server_bin = (std::filesystem::canonical("/proc/self/exe").parent_path() /
                    "nbd_bench_server").string();
  }
  char tmpl[] = "/tmp/tandem-nbd-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 2;
  o.work_dir = tmpl;
  if (!PrepareFile(o)) {
    std::cerr << "nbd_bench: cannot create " << o.file << "\n";
    return 2;
  }

  const std::vector<std::string> servers = {"tandem", "nbdkit", "qemu-nbd"};
  // results[mode][transport][workload][server] = runs
  std::map<std::string, std::map<std::string, std::map<std::string,
                                                        std::map<std::string, std::vector<double>>>>>
      results;
  for (int rep = 0; rep < o.reps; ++rep) {
    for (const auto& mode : o.modes) {
      for (const auto& transport : o.transports) {
        for (const auto& who : servers) {
          auto s = StartServer(o, who, mode, transport);
          if (!s) continue;
          for (const Workload& w : kWorkloads) {
            if (!o.rows.empty() && std::find(o.rows.begin(), o.rows.end(), w.name) == o.rows.end()) {
              continue;
            }
            WriteBack(o.file);
            const double v = RunFio(o, s->uri, w);
            results[mode][transport][w.name][who].push_back(v);
            std::cerr << "rep " << rep + 1 << " " << mode << " " << transport << " " << who
                      << " " << w.name << ": " << Cell(v, w.bandwidth) << "\n";
          }
        }
      }
    }
  }

  std::cout << "| mode | transport | workload | Tandem | nbdkit file | qemu-nbd | Tandem / best peer |\n"
            << "|---|---|---|---|---|---|---|\n";
  for (const auto& mode : o.modes) {
    for (const auto& transport : o.transports) {
      for (const Workload& w : kWorkloads) {
        auto& row = results[mode][transport][w.name];
        if (row.empty()) continue;
        const double t = Median(row["tandem"]);
        const double k = Median(row["nbdkit"]);
        const double q = Median(row["qemu-nbd"]);
        const double best = std::max(k, q);
        char ratio[32] = "-";
        if (t > 0 && best > 0) std::snprintf(ratio, sizeof ratio, "%.2f", t / best);
        std::cout << "| " << mode << " | " << transport << " | " << w.name << " | "
                  << Cell(t, w.bandwidth) << " | " << Cell(k, w.bandwidth) << " | "
                  << Cell(q, w.bandwidth) << " | " << ratio << " |\n";
      }
    }
  }
  std::cout << "\nTandem: nbd_bench_server, io-engine " << o.engine_buffered << " (buffered), "
            << o.engine_direct << " (direct). Median of " << o.reps << " runs of " << o.seconds
            << " s; 4k rows in IOPS.\n";
  std::filesystem::remove_all(o.work_dir);
  return 0;
}
