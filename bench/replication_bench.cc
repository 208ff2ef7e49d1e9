// Two-node replication benchmark on loopback: two replicated resources (each
// on its own event-loop thread, as two tandemd processes would be) replicate
// 1 GiB file-backed disks over TCP on 127.0.0.2/127.0.0.3. Measures, for
// protocols A, B, C and a standalone (disconnected) Primary:
//   4 KiB random write QD1: p50 / p99 latency
//   4 KiB random write QD32: IOPS
//   1 MiB sequential write (QD4): MB/s
// next to the same-machine limit: fio writing both backing files at once (two
// jobs, direct I/O like Tandem's default), halved, since both replicas share
// this machine's one disk. Prints a table.
//
// Usage: replication_bench [--seconds N] [--dir DIR]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/env.h"
#include "common/log.h"
#include "config/drbd_loader.h"
#include "io/device_factory.h"
#include "io/sync_io.h"
#include "meta/meta_data.h"
#include "meta/resource_meta.h"
#include "replication/resource.h"

namespace {

using namespace tandem;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;

constexpr uint64_t kDiskSize = 1ull << 30;

struct Node {
  asio::io_context io;
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
  std::unique_ptr<replication::Resource> res;

  void Start() {
    guard = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
        io.get_executor());
    thread = std::thread([this] { io.run(); });
  }
  // Runs fn on the node's loop and waits for it.
  template <typename F>
  void Run(F fn) {
    std::promise<void> p;
    asio::post(io, [&] {
      fn();
      p.set_value();
    });
    p.get_future().wait();
  }
  // Runs an asynchronous verb and waits for its status.
  Status Verb(const std::function<void(replication::Resource::Done)>& op) {
    std::promise<Status> p;
    asio::post(io, [&] { op([&](Status st) { p.set_value(st); }); });
    return p.get_future().get();
  }
  void Stop() {
    if (!thread.joinable()) return;
    Run([this] { res.reset(); });
    guard.reset();
    io.stop();
    thread.join();
  }
};

std::string Config(const std::string& dir, char protocol) {
  std::string c = "resource r0 {\n  net { protocol " + std::string(1, protocol) +
                  "; max-buffers 8192; }\n  disk { resync-rate 1G; al-extents 1237; }\n";
  const char* names[] = {"alpha", "bravo"};
  const char* ips[] = {"127.0.0.2", "127.0.0.3"};
  for (int n = 0; n < 2; ++n) {
    c += std::string("  on ") + names[n] + " { device /dev/drbd0 minor 0; disk " + dir + "/" +
         names[n] + ".img; address " + ips[n] + ":" + std::to_string(27789 + protocol) +
         "; meta-disk internal; }\n";
  }
  return c + "}\n";
}

bool WaitUntil(const std::function<bool()>& cond, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

struct Result {
  double p50_us = 0, p99_us = 0, iops = 0, mbps = 0;
};

// Issues writes with `depth` in flight for `seconds`, on the Primary's loop.
Result Drive(Node& primary, uint64_t size, size_t block, int depth, bool sequential,
             double seconds) {
  struct State {
    std::vector<io::AlignedBuffer> bufs;
    std::vector<double> lat_us;
    uint64_t done = 0, bytes = 0, next_seq = 0;
    bool stop = false;
    int in_flight = 0;
    std::mt19937_64 rng{42};
    Clock::time_point end;
    std::promise<void> finished;
  } s;
  for (int i = 0; i < depth; ++i) {
    s.bufs.emplace_back(block);
    std::memset(s.bufs.back().data(), 0x5A + i, block);
  }
  s.lat_us.reserve(2'000'000);
  const uint64_t slots = size / block;
  std::function<void(int)> issue = [&](int slot) {
    if (Clock::now() >= s.end) {
      if (--s.in_flight == 0) s.finished.set_value();
      return;
    }
    uint64_t off = sequential ? (s.next_seq++ % slots) * block : (s.rng() % slots) * block;
    io::AlignedBuffer b(block);
    std::memcpy(b.data(), s.bufs[static_cast<size_t>(slot)].data(), block);
    auto t0 = Clock::now();
    primary.res->Write(off, std::move(b), 0, [&, slot, t0](Status st) {
      if (!st.ok()) std::fprintf(stderr, "write failed: %s\n", st.ToString().c_str());
      s.lat_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      ++s.done;
      s.bytes += block;
      issue(slot);
    });
  };
  auto start = Clock::now();
  primary.Run([&] {
    s.end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(seconds));
    s.in_flight = depth;
    for (int i = 0; i < depth; ++i) issue(i);
  });
  s.finished.get_future().wait();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  Result r;
  std::sort(s.lat_us.begin(), s.lat_us.end());
  if (!s.lat_us.empty()) {
    r.p50_us = s.lat_us[s.lat_us.size() / 2];
    r.p99_us = s.lat_us[s.lat_us.size() * 99 / 100];
  }
  r.iops = s.done / elapsed;
  r.mbps = s.bytes / elapsed / 1e6;
  return r;
}

struct Row {
  std::string name;
  Result qd1, qd32, seq;
};

bool CreateMd(const config::DrbdConfig& cfg) {
  asio::io_context io;
  auto target = meta::MetaTargetFor(cfg.resources[0]);
  auto devs = meta::OpenMetaDevices(io::IoEnv::Default(), io, target, false);
  if (!devs.ok()) return false;
  bool done = false;
  Status st;
  meta::MetaData::Create(io, devs->md(), devs->layout, 1, [&](Status s) {
    st = s;
    done = true;
  });
  io::RunLoopUntil(io, &done, std::chrono::seconds(60));
  io::WaitUntilIdle(io, *devs->disk, std::chrono::seconds(10));
  return st.ok();
}

Row RunProtocol(const std::string& dir, char protocol, double seconds, bool standalone) {
  Row row;
  row.name = standalone ? "standalone" : std::string("protocol ") + protocol;
  std::ofstream(dir + "/r.conf") << Config(dir, protocol);
  Node nodes[2];
  const char* names[] = {"alpha", "bravo"};
  for (int n = 0; n < 2; ++n) {
    config::Diagnostics d;
    auto cfg = config::LoadDrbdConfig(Env::Default(), dir + "/r.conf", names[n], &d);
    if (!cfg.ok() || !CreateMd(*cfg)) {
      std::fprintf(stderr, "setup failed: %s\n", d.Format().c_str());
      std::exit(1);
    }
    nodes[n].Start();
    nodes[n].Run([&, n] {
      nodes[n].res = std::make_unique<replication::Resource>(
          nodes[n].io, cfg->resources[0], Env::Default(), io::IoEnv::Default());
    });
  }
  for (auto& n : nodes) {
    Status st = n.Verb([&](auto done) { n.res->Up(done); });
    if (!st.ok()) std::fprintf(stderr, "up: %s\n", st.ToString().c_str());
  }
  auto connected = [&] {
    replication::StateSnapshot s;
    nodes[0].Run([&] { s = nodes[0].res->state(); });
    return s.conn == replication::ConnState::kConnected;
  };
  if (!WaitUntil(connected, std::chrono::seconds(30))) {
    std::fprintf(stderr, "nodes did not connect\n");
    std::exit(1);
  }
  Status ncu = nodes[0].Verb([&](auto done) { nodes[0].res->NewCurrentUuid(true, done); });
  if (!ncu.ok()) std::fprintf(stderr, "new-current-uuid: %s\n", ncu.ToString().c_str());
  WaitUntil([&] {
    replication::StateSnapshot s;
    nodes[1].Run([&] { s = nodes[1].res->state(); });
    return s.disk == replication::DiskState::kUpToDate;
  }, std::chrono::seconds(30));
  Status st = nodes[0].Verb([&](auto done) { nodes[0].res->Primary(false, done); });
  if (!st.ok()) std::fprintf(stderr, "primary: %s\n", st.ToString().c_str());
  if (standalone) {
    Status dc = nodes[1].Verb([&](auto done) { nodes[1].res->Disconnect(done); });
    if (!dc.ok()) std::fprintf(stderr, "disconnect: %s\n", dc.ToString().c_str());
    WaitUntil([&] { return !connected(); }, std::chrono::seconds(10));
  }
  uint64_t size = 0;
  nodes[0].Run([&] { size = nodes[0].res->size(); });
  // Warm up: every activity-log extent hot, file blocks allocated.
  Drive(nodes[0], size, 1 << 20, 4, true, seconds / 2);
  row.qd1 = Drive(nodes[0], size, 4096, 1, false, seconds);
  row.qd32 = Drive(nodes[0], size, 4096, 32, false, seconds);
  row.seq = Drive(nodes[0], size, 1 << 20, 4, true, seconds);
  for (auto& n : nodes) n.Stop();
  return row;
}

// fio on both backing files at once: the machine's limit for two replicas.
Row FioLimit(const std::string& dir, double seconds) {
  Row row;
  row.name = "limit (fio 2 files)/2";
  auto run = [&](const std::string& rw, const std::string& bs, int depth) {
    std::string cmd = "fio --output-format=json --ioengine=io_uring --direct=1 --time_based "
                      "--runtime=" + std::to_string(static_cast<int>(seconds)) +
                      " --group_reporting --rw=" + rw + " --bs=" + bs +
                      " --iodepth=" + std::to_string(depth) + " --name=a --filename=" + dir +
                      "/alpha.img --name=b --filename=" + dir + "/bravo.img 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (p && fgets(buf, sizeof buf, p)) out += buf;
    if (p) pclose(p);
    auto j = nlohmann::json::parse(out, nullptr, false);
    Result r;
    if (j.is_discarded() || !j.contains("jobs")) return r;
    const auto& w = j["jobs"][0]["write"];
    r.iops = w.value("iops", 0.0) / 2;
    r.mbps = w.value("bw_bytes", 0.0) / 1e6 / 2;
    if (w.contains("clat_ns") && w["clat_ns"].contains("percentile")) {
      r.p50_us = w["clat_ns"]["percentile"].value("50.000000", 0.0) / 1000;
      r.p99_us = w["clat_ns"]["percentile"].value("99.000000", 0.0) / 1000;
    }
    return r;
  };
  row.qd1 = run("randwrite", "4k", 1);
  row.qd32 = run("randwrite", "4k", 32);
  row.seq = run("write", "1m", 4);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  std::string dir = "/var/tmp/tandem-replication-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--seconds") seconds = std::stod(argv[i + 1]);
    if (a == "--dir") dir = argv[i + 1];
  }
  tandem::SetMinLogLevel(tandem::LogLevel::kWarning);
  std::filesystem::create_directories(dir);
  for (const char* f : {"alpha.img", "bravo.img"}) {
    std::string path = dir + "/" + f;
    int fd = ::open(path.c_str(), O_CREAT | O_RDWR, 0644);
    if (fd < 0 || posix_fallocate(fd, 0, static_cast<off_t>(kDiskSize)) != 0) {
      std::fprintf(stderr, "cannot prepare %s\n", path.c_str());
      return 1;
    }
    ::close(fd);
  }
  std::vector<Row> rows;
  rows.push_back(FioLimit(dir, seconds));
  rows.push_back(RunProtocol(dir, 'C', seconds, /*standalone=*/true));
  for (char p : {'A', 'B', 'C'}) rows.push_back(RunProtocol(dir, p, seconds, false));
  std::printf("\n%-22s %12s %12s %14s %14s\n", "configuration", "QD1 p50 us", "QD1 p99 us",
              "4K QD32 IOPS", "1M seq MB/s");
  for (const auto& r : rows) {
    std::printf("%-22s %12.1f %12.1f %14.0f %14.1f\n", r.name.c_str(), r.qd1.p50_us,
                r.qd1.p99_us, r.qd32.iops, r.seq.mbps);
  }
  const Row& limit = rows[0];
  const Row& c = rows[4];
  std::printf("\nprotocol C vs limit: QD32 IOPS %.0f%%, sequential %.0f%%; QD1 p50 over standalone: %+.1f us\n",
              100 * c.qd32.iops / std::max(1.0, limit.qd32.iops),
              100 * c.seq.mbps / std::max(1.0, limit.seq.mbps), c.qd1.p50_us - rows[1].qd1.p50_us);
  std::filesystem::remove_all(dir);
  return 0;
}
