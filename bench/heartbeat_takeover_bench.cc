// heartbeat_takeover_bench: how long failover takes with real daemons.
//
// Two tandem-heartbeat daemons on 127.0.0.2/127.0.0.3 (ucast + a socat serial
// link), keepalive 200 ms, deadtime 1 s, one resource group preferred by
// alpha. Each round brings both up, waits a random part of a keepalive, then
// either SIGKILLs alpha (the machine dies) or stops it gracefully, and
// measures the time from that moment to bravo's resource script starting the
// group (its own timestamp). Prints the distribution over the rounds:
//
//   heartbeat_takeover_bench [--rounds 20]
//
// A kill cannot be noticed before deadtime has passed since alpha's last
// heartbeat, so takeover lands between deadtime - keepalive and deadtime
// (+ scheduling); Heartbeat's promise is "within deadtime".
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "common/cli.h"
#include "heartbeat/cluster/hb_cluster.h"

namespace {

using tandem::testing::HbCluster;
using tandem::testing::HbClusterOptions;

struct Row {
  std::string what;
  std::vector<int64_t> ms;
  int failed = 0;
};

int64_t Percentile(std::vector<int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void Print(const Row& r, int64_t bound) {
  if (r.ms.empty()) {
    std::printf("| %-22s | %5d | %5s | %5s | %5s | %5s | %5s | %-14s |\n", r.what.c_str(), 0, "-",
                "-", "-", "-", "-", "-");
    return;
  }
  const double mean = static_cast<double>(std::accumulate(r.ms.begin(), r.ms.end(), int64_t{0})) /
                      static_cast<double>(r.ms.size());
  const auto within = std::count_if(r.ms.begin(), r.ms.end(), [&](int64_t v) { return v <= bound; });
  char inb[32];
  std::snprintf(inb, sizeof inb, "%ld/%zu", static_cast<long>(within), r.ms.size());
  std::printf("| %-22s | %5zu | %5ld | %5ld | %5ld | %5ld | %5.0f | %-14s |\n", r.what.c_str(),
              r.ms.size(), static_cast<long>(*std::min_element(r.ms.begin(), r.ms.end())),
              static_cast<long>(Percentile(r.ms, 0.5)), static_cast<long>(Percentile(r.ms, 0.9)),
              static_cast<long>(*std::max_element(r.ms.begin(), r.ms.end())), mean, inb);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Takeover latency of tandem-heartbeat (kill -9 and graceful stop)",
               "heartbeat_takeover_bench"};
  int rounds = 20;
  app.add_option("--rounds", rounds, "Rounds of each kind")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  HbClusterOptions o;
  o.keepalive_ms = 200;
  o.deadtime_ms = 1000;
  o.warntime_ms = 500;
  o.initdead_ms = 2000;
  o.haresources = "alpha rec::a\n";
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> phase(0, o.keepalive_ms);

  Row killed{"kill -9 of the holder", {}, 0};
  Row stopped{"graceful stop", {}, 0};
  for (Row* row : {&killed, &stopped}) {
    for (int i = 0; i < rounds; ++i) {
      HbCluster c(o);
      if (!c.BringUp()) {
        ++row->failed;
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(phase(rng)));
      const int64_t t0 = tandem::testing::WallMs();
      if (row == &killed) {
        c.Kill(0);
      } else {
        c.Cli(0, {"stop"});
      }
      if (!c.WaitForRecord("bravo start a", std::chrono::seconds(20))) {
        ++row->failed;
        continue;
      }
      row->ms.push_back(c.FindRecord("bravo start a")->ms - t0);
      std::fprintf(stderr, "%s round %d: %ld ms\n", row->what.c_str(), i + 1,
                   static_cast<long>(row->ms.back()));
    }
  }
  const int64_t bound = o.deadtime_ms + o.keepalive_ms;
  std::printf("\ntandem-heartbeat takeover latency (ms), keepalive %d ms, deadtime %d ms\n\n",
              o.keepalive_ms, o.deadtime_ms);
  std::printf("| %-22s | %5s | %5s | %5s | %5s | %5s | %5s | %-14s |\n", "event", "n", "min",
              "p50", "p90", "max", "mean", "<= dt+ka");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(24, '-').c_str(),
              std::string(7, '-').c_str(), std::string(7, '-').c_str(),
              std::string(7, '-').c_str(), std::string(7, '-').c_str(),
              std::string(7, '-').c_str(), std::string(7, '-').c_str(),
              std::string(16, '-').c_str());
  Print(killed, bound);
  Print(stopped, bound);
  if (killed.failed + stopped.failed > 0) {
    std::printf("\n%d round(s) failed to bring up or take over\n", killed.failed + stopped.failed);
    return 1;
  }
  return 0;
}
