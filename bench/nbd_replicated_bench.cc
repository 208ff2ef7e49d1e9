// nbd_replicated_bench: tandemd's NBD export as users reach it. Two tandemd
// processes on 127.0.0.2/127.0.0.3 (tests/daemon/cluster.h: protocol C,
// file-backed disks, direct I/O), fio's nbd engine as the one client, over the
// Unix socket and over TCP (nbd-address); replicated, then with the Primary
// disconnected (standalone). Next to them the same-machine limit measured in
// the same run: fio (io_uring, direct) writing both backing files at once,
// halved, because both replicas share this machine's one disk; for the read
// rows, fio reading one backing file; fio's buffers in huge pages
// (fio_huge_pages.h).
// Prints a Markdown table; never a timed test. The disks are files in a
// scratch directory under /tmp.
//
//   nbd_replicated_bench [--seconds 5] [--reps 3] [--disk-mib 1024] [--tandemd PATH]
//
// Workloads as in nbd_bench: 4 KiB randwrite QD1 and QD32, 4 KiB randread
// QD32, 1 MiB sequential write and read QD8, 4 KiB randwrite QD32 with a
// flush every 32 writes. IOPS for 4 KiB rows, MB/s for 1 MiB rows; each cell
// the median of --reps runs, the last column the median of the repetitions'
// replicated-Unix/limit ratios, each against the mean of the limit runs just
// before and just after that repetition (lowest and highest in brackets).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster.h"
#include "fio_huge_pages.h"
#include "fio_table.h"

namespace {

using tandem::bench::Cell;
using tandem::bench::Median;
using tandem::testing::Cluster;
using tandem::testing::ClusterOptions;
using tandem::testing::RunCommand;

struct Workload {
  std::string name, rw, bs;
  int depth;
  int fsync;  // 0: none
  bool bandwidth;
  bool writes() const { return rw.find("write") != std::string::npos; }
};

const std::vector<Workload> kWorkloads = {
    {"4k randwrite QD1", "randwrite", "4k", 1, 0, false},
    {"4k randwrite QD32", "randwrite", "4k", 32, 0, false},
    {"4k randread QD32", "randread", "4k", 32, 0, false},
    {"1M seq write QD8", "write", "1M", 8, 0, true},
    {"1M seq read QD8", "read", "1M", 8, 0, true},
    {"4k write+flush (fsync=32) QD32", "randwrite", "4k", 32, 32, false},
};

// One fio run over `targets` (one job each, reported as a group); the sum of
// their IOPS or MB/s, or a negative number when fio failed.
double Fio(const std::vector<std::vector<std::string>>& targets, const Workload& w, uint64_t size,
           int seconds, const std::string& label) {
  // fio's buffers in huge pages, as tandemd's (fio_huge_pages.h).
  std::vector<std::string> argv = {"/usr/bin/env",
                                   tandem::bench::kFioHugePages,
                                   "/usr/bin/fio",
                                   "--output-format=json",
                                   "--group_reporting",
                                   "--time_based=1",
                                   "--runtime=" + std::to_string(seconds),
                                   "--ramp_time=1",
                                   "--randrepeat=0",
                                   "--norandommap=1"};
  for (size_t i = 0; i < targets.size(); ++i) {
    argv.insert(argv.end(),
                {"--name=j" + std::to_string(i), "--rw=" + w.rw, "--bs=" + w.bs,
                 "--iodepth=" + std::to_string(w.depth), "--size=" + std::to_string(size)});
    if (w.fsync > 0) argv.push_back("--fsync=" + std::to_string(w.fsync));
    argv.insert(argv.end(), targets[i].begin(), targets[i].end());
  }
  auto r = RunCommand(argv, seconds + 90);
  return tandem::bench::FioRate(r, !w.writes(), w.bandwidth,
                                "nbd_replicated_bench (" + w.name + ", " + label + ")");
}

std::string Percent(double part, double whole) {
  if (part <= 0 || whole <= 0) return "-";
  return std::to_string(static_cast<int>(100 * part / whole + 0.5)) + "%";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "nbd_replicated_bench: tandemd's NBD export, replicated and standalone, vs the disk"};
  int seconds = 5, reps = 3, disk_mib = 1024;
  app.add_option("--seconds", seconds, "Seconds per fio run")->capture_default_str();
  app.add_option("--reps", reps, "Runs per cell (median)")->capture_default_str();
  app.add_option("--disk-mib", disk_mib, "Backing file size per node")->capture_default_str();
  int busy_poll_us = -1;
  app.add_option("--busy-poll-us", busy_poll_us, "tandemd --busy-poll-us (default: tandemd's)");
  std::string tandemd = tandem::testing::kTandemd;
  app.add_option("--tandemd", tandemd, "The tandemd binary to run (to compare two builds)")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  std::string only;
  app.add_option("--only", only, "Run only the workloads whose name contains this (profiling)");
  CLI11_PARSE(app, argc, argv);
  auto selected = [&](const Workload& w) { return w.name.find(only) != std::string::npos; };

  ClusterOptions o;
  o.disk_size[0] = o.disk_size[1] = uint64_t(disk_mib) << 20;
  o.nbd_tcp = true;
  o.busy_poll_us = busy_poll_us;
  o.tandemd = tandemd;
  Cluster c(o);
  // Allocate both backing files first, so neither the limit nor Tandem pays
  // for filling holes.
  for (int n = 0; n < 2; ++n) {
    auto fill = RunCommand({"/usr/bin/fio", "--name=fill", "--rw=write", "--bs=1M",
                            "--size=" + std::to_string(o.disk_size[n]), "--ioengine=io_uring",
                            "--direct=1", "--iodepth=8", "--filename=" + c.disk(n)},
                           600);
    if (fill.exit_code != 0) {
      std::cerr << "nbd_replicated_bench: cannot fill " << c.disk(n) << ": " << fill.err;
      return 2;
    }
  }
  c.BringUp();
  const uint64_t size = c.DataSize(0) & ~((uint64_t{1} << 20) - 1);
  if (size == 0) {
    std::cerr << "nbd_replicated_bench: the cluster did not come up\n";
    return 2;
  }
  const std::string unix_uri = "nbd+unix:///r0?socket=" + c.run_dir(0) + "/nbd/r0.sock";
  const std::string tcp_uri = "nbd://127.0.0.2:" + std::to_string(c.nbd_port(0)) + "/r0";
  auto nbd = [](const std::string& uri) {
    return std::vector<std::string>{"--ioengine=nbd", "--uri=" + uri};
  };
  auto file = [](const std::string& path) {
    return std::vector<std::string>{"--ioengine=io_uring", "--direct=1", "--filename=" + path};
  };

  struct Row {
    std::vector<double> rep_unix, rep_tcp, alone_unix, limit, ratio;
  };
  std::vector<Row> rows(kWorkloads.size());
  // Replicated first, then the same with the Primary disconnected. The limit
  // brackets Tandem's runs (limit, Tandem, limit, Tandem, ..., limit), and
  // each repetition's ratio is against the mean of the two limit runs on
  // either side of it: this disk's speed drifts by a factor of two within
  // minutes, and a ratio of two medians taken at different times, or against
  // one limit run on one side, mostly showed that drift.
  for (size_t i = 0; i < kWorkloads.size(); ++i) {
    const Workload& w = kWorkloads[i];
    if (!selected(w)) continue;
    auto limit_run = [&] {
      return w.writes() ? Fio({file(c.disk(0)), file(c.disk(1))}, w, size, seconds, "limit") / 2
                        : Fio({file(c.disk(0))}, w, size, seconds, "limit");
    };
    double before = limit_run();
    rows[i].limit.push_back(before);
    for (int r = 0; r < reps; ++r) {
      const double ru = Fio({nbd(unix_uri)}, w, size, seconds, "replicated unix");
      const double rt = Fio({nbd(tcp_uri)}, w, size, seconds, "replicated tcp");
      const double after = limit_run();
      rows[i].rep_unix.push_back(ru);
      rows[i].rep_tcp.push_back(rt);
      rows[i].limit.push_back(after);
      if (ru > 0 && before > 0 && after > 0) rows[i].ratio.push_back(ru / ((before + after) / 2));
      std::cerr << w.name << " rep " << r + 1 << ": replicated unix " << Cell(ru, w.bandwidth)
                << ", tcp " << Cell(rt, w.bandwidth) << ", limit before "
                << Cell(before, w.bandwidth) << ", after " << Cell(after, w.bandwidth) << "\n";
      before = after;
    }
  }
  auto d = c.Adm(0, {"disconnect", "r0"});
  if (d.exit_code != 0) std::cerr << "nbd_replicated_bench: disconnect failed: " << d.err;
  for (size_t i = 0; i < kWorkloads.size(); ++i) {
    if (!selected(kWorkloads[i])) continue;
    for (int r = 0; r < reps; ++r) {
      rows[i].alone_unix.push_back(
          Fio({nbd(unix_uri)}, kWorkloads[i], size, seconds, "standalone unix"));
    }
  }

  std::printf(
      "| workload | replicated C, Unix | replicated C, TCP | standalone, Unix | same-machine "
      "limit | replicated Unix / limit |\n|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < kWorkloads.size(); ++i) {
    const Workload& w = kWorkloads[i];
    if (!selected(w)) continue;
    const double ru = Median(rows[i].rep_unix), rt = Median(rows[i].rep_tcp),
                 su = Median(rows[i].alone_unix), l = Median(rows[i].limit);
    const auto& ratio = rows[i].ratio;
    const std::string spread =
        ratio.empty() ? ""
                      : " (" + Percent(*std::min_element(ratio.begin(), ratio.end()), 1) + "-" +
                            Percent(*std::max_element(ratio.begin(), ratio.end()), 1) + ")";
    std::printf("| %s | %s | %s | %s | %s | %s%s |\n", w.name.c_str(),
                Cell(ru, w.bandwidth).c_str(), Cell(rt, w.bandwidth).c_str(),
                Cell(su, w.bandwidth).c_str(), Cell(l, w.bandwidth).c_str(),
                Percent(Median(ratio), 1).c_str(), spread.c_str());
  }
  std::printf(
      "\nfio nbd engine, %llu MiB region, median of %d runs of %d s; 4k rows in IOPS. Limit: fio "
      "io_uring direct on both backing files at once, halved (write rows), on one (read rows), "
      "its buffers in huge pages (glibc.malloc.hugetlb=1), run before and after each of Tandem's "
      "repetitions; the last column is the median of the "
      "repetitions' ratios, each against the mean of the limit runs on either side (lowest and "
      "highest in brackets).\n",
      static_cast<unsigned long long>(size >> 20), reps, seconds);
  return 0;
}
