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
// Usage: replication_bench [--seconds N] [--dir DIR] [--only ROW [--qd1-only yes]]
// --only runs one row (limit, standalone, A, B or C) and --qd1-only only its
// QD1 column, for profiling.
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

#include "common/log.h"
#include "common/memory.h"
#include "two_nodes.h"

namespace {

using namespace tandem;
using namespace tandem::bench;

constexpr uint64_t kDiskSize = 1ull << 30;

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

struct Row {
  std::string name;
  WriteStats qd1, qd32, seq;
};

Row RunProtocol(const std::string& dir, char protocol, double seconds, bool standalone,
                bool qd1_only) {
  Row row;
  row.name = standalone ? "standalone" : std::string("protocol ") + protocol;
  std::ofstream(dir + "/r.conf") << Config(dir, protocol);
  Node nodes[2];
  StartTwoNodes(nodes, dir + "/r.conf");
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
  if (!qd1_only) {
    row.qd32 = Drive(nodes[0], size, 4096, 32, false, seconds);
    row.seq = Drive(nodes[0], size, 1 << 20, 4, true, seconds);
  }
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
    WriteStats r;
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
  std::string only;
  bool qd1_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--seconds") seconds = std::stod(argv[i + 1]);
    if (a == "--dir") dir = argv[i + 1];
    if (a == "--only") only = argv[i + 1];
    if (a == "--qd1-only") qd1_only = std::string(argv[i + 1]) == "yes";
  }
  tandem::SetMinLogLevel(tandem::LogLevel::kWarning);
  tandem::RetainFreedIoBuffers();  // as tandemd
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
  if (only.empty()) {
    rows.push_back(FioLimit(dir, seconds));
    rows.push_back(RunProtocol(dir, 'C', seconds, /*standalone=*/true, qd1_only));
    for (char p : {'A', 'B', 'C'}) rows.push_back(RunProtocol(dir, p, seconds, false, qd1_only));
  } else if (only == "limit") {
    rows.push_back(FioLimit(dir, seconds));
  } else if (only == "standalone") {
    rows.push_back(RunProtocol(dir, 'C', seconds, /*standalone=*/true, qd1_only));
  } else if (only == "A" || only == "B" || only == "C") {
    rows.push_back(RunProtocol(dir, only[0], seconds, false, qd1_only));
  } else {
    std::fprintf(stderr, "--only takes limit, standalone, A, B or C\n");
    return 2;
  }
  std::printf("\n%-22s %12s %12s %14s %14s\n", "configuration", "QD1 p50 us", "QD1 p99 us",
              "4K QD32 IOPS", "1M seq MB/s");
  for (const auto& r : rows) {
    std::printf("%-22s %12.1f %12.1f %14.0f %14.1f\n", r.name.c_str(), r.qd1.p50_us,
                r.qd1.p99_us, r.qd32.iops, r.seq.mbps);
  }
  if (only.empty()) {
    const Row& limit = rows[0];
    const Row& c = rows[4];
    std::printf("\nprotocol C vs limit: QD32 IOPS %.0f%%, sequential %.0f%%; QD1 p50 over standalone: %+.1f us\n",
                100 * c.qd32.iops / std::max(1.0, limit.qd32.iops),
                100 * c.seq.mbps / std::max(1.0, limit.seq.mbps), c.qd1.p50_us - rows[1].qd1.p50_us);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
