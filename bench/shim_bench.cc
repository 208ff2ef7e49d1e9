// shim_bench: what the FUSE + loop shim costs. fio on the loop block device
// that tandem-attach makes (direct I/O, io_uring) next to fio speaking NBD to
// the same export directly (fio's nbd engine, Unix socket), against a real
// tandemd export: replicated (protocol C, both nodes connected) and
// standalone (the Primary disconnected from its peer). Prints a Markdown
// table (docs/kernel-shim.md); never a timed test. Needs root, /dev/fuse and
// loop devices.
//
//   shim_bench [--seconds 5] [--reps 3] [--disk-mib 512]
// Workloads: 4 KiB randwrite QD1 and QD32, 4 KiB randread QD32, 1 MiB
// sequential write and read QD8. IOPS for 4 KiB rows, MB/s for 1 MiB rows;
// each cell is the median of --reps runs.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fio_table.h"
#include "kernel_shim/shim_fixture.h"

namespace {

using tandem::bench::Cell;
using tandem::bench::Median;
using tandem::testing::Cluster;
using tandem::testing::ClusterOptions;
using tandem::testing::RunCommand;
using tandem::testing::ShimCluster;

struct Workload {
  std::string name, rw, bs;
  int depth;
  bool bandwidth;
};

const std::vector<Workload> kWorkloads = {
    {"4k randwrite QD1", "randwrite", "4k", 1, false},
    {"4k randwrite QD32", "randwrite", "4k", 32, false},
    {"4k randread QD32", "randread", "4k", 32, false},
    {"1M seq write QD8", "write", "1M", 8, true},
    {"1M seq read QD8", "read", "1M", 8, true},
};

// One fio run; IOPS or MB/s, or a negative number when fio failed.
double Fio(const std::vector<std::string>& target, const Workload& w, int seconds) {
  std::vector<std::string> argv = {"/usr/bin/fio",         "--name=shim",
                                   "--output-format=json", "--rw=" + w.rw,
                                   "--bs=" + w.bs,         "--iodepth=" + std::to_string(w.depth),
                                   "--time_based=1",       "--runtime=" + std::to_string(seconds),
                                   "--ramp_time=1",        "--size=128M",
                                   "--randrepeat=0",       "--norandommap=1"};
  argv.insert(argv.end(), target.begin(), target.end());
  auto r = RunCommand(argv, seconds + 60);
  return tandem::bench::FioRate(r, w.rw.find("read") != std::string::npos, w.bandwidth,
                                "shim_bench (" + w.name + ")");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shim_bench: FUSE + loop shim vs NBD directly"};
  int seconds = 5, reps = 3, disk_mib = 512;
  app.add_option("--seconds", seconds, "Seconds per fio run")->capture_default_str();
  app.add_option("--reps", reps, "Runs per cell (median)")->capture_default_str();
  app.add_option("--disk-mib", disk_mib, "Backing file size per node")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const std::string missing = tandem::testing::FuseLoopMissing();
  if (!missing.empty()) {
    std::cerr << "shim_bench: needs " << missing << "\n";
    return 2;
  }
  ClusterOptions o;
  o.disk_size[0] = o.disk_size[1] = uint64_t(disk_mib) << 20;
  ShimCluster sc(o);
  sc.c.BringUp();
  auto a = sc.Attach(0, {"--mode", "fuse"});
  if (a.exit_code != 0) {
    std::cerr << "shim_bench: attach failed: " << a.err;
    return 2;
  }
  const std::string dev = sc.State(0)->block_device;
  const std::string uri = "nbd+unix:///r0?socket=" + sc.c.run_dir(0) + "/nbd/r0.sock";
  const std::vector<std::string> via_nbd = {"--ioengine=nbd", "--uri=" + uri};
  const std::vector<std::string> via_loop = {"--ioengine=io_uring", "--direct=1",
                                             "--filename=" + dev};
  // Fill the area the reads use, so they read data and not holes.
  RunCommand({"/usr/bin/fio", "--name=fill", "--rw=write", "--bs=1M", "--size=128M",
              "--ioengine=io_uring", "--direct=1", "--iodepth=8", "--filename=" + dev},
             300);

  std::printf(
      "| workload | export | fio nbd engine (NBD directly) | fio on /dev/loopN (FUSE + loop) | "
      "shim / direct |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const char* mode : {"replicated (protocol C)", "standalone"}) {
    if (std::string(mode) == "standalone") {
      auto d = sc.c.Adm(0, {"disconnect", "r0"});
      if (d.exit_code != 0) std::cerr << "shim_bench: disconnect failed: " << d.err;
    }
    for (const Workload& w : kWorkloads) {
      std::vector<double> direct, shim;
      for (int r = 0; r < reps; ++r) {
        direct.push_back(Fio(via_nbd, w, seconds));
        shim.push_back(Fio(via_loop, w, seconds));
      }
      const double d = Median(direct), s = Median(shim);
      std::printf("| %s | %s | %s | %s | %s |\n", w.name.c_str(), mode,
                  Cell(d, w.bandwidth, " IOPS").c_str(), Cell(s, w.bandwidth, " IOPS").c_str(),
                  d > 0 && s > 0 ? (std::to_string(int(100 * s / d + 0.5)) + "%").c_str() : "-");
      std::fflush(stdout);
    }
  }
  return 0;
}
