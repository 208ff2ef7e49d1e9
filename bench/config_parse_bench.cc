// How long loading a large drbd.conf takes: tandemadm and the daemons parse the
// configuration on every start and every `adjust`, so it must stay cheap even
// for hosts with hundreds of resources.
#include <benchmark/benchmark.h>

#include <string>

#include "common/mem_env.h"
#include "config/drbd_loader.h"
#include "config/drbd_writer.h"

namespace {

std::string ManyResources(int n) {
  std::string text = "global { usage-count no; }\ncommon { net { protocol C; } }\n";
  for (int i = 0; i < n; ++i) {
    std::string id = std::to_string(i);
    text += "resource r" + id + " {\n  net { timeout 60; ko-count 5; }\n"
            "  disk { resync-rate 100M; on-io-error detach; }\n"
            "  on alpha { device /dev/drbd" + id + "; disk /dev/vg/a" + id +
            "; address 10.0.0.1:" + std::to_string(7000 + i) + "; meta-disk internal; }\n"
            "  on bravo { device /dev/drbd" + id + "; disk /dev/vg/b" + id +
            "; address 10.0.0.2:" + std::to_string(7000 + i) + "; meta-disk internal; }\n}\n";
  }
  return text;
}

void BM_LoadDrbdConf(benchmark::State& state) {
  const std::string text = ManyResources(static_cast<int>(state.range(0)));
  tandem::MemEnv env;
  for (auto _ : state) {
    tandem::config::Diagnostics d;
    auto cfg = tandem::config::ParseDrbdConfig(&env, text, "/etc/drbd.conf", "alpha", &d);
    if (!cfg.ok()) state.SkipWithError("config did not load");
    benchmark::DoNotOptimize(cfg);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["resources"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_LoadDrbdConf)->Arg(1)->Arg(16)->Arg(256);

void BM_DumpDrbdConf(benchmark::State& state) {
  const std::string text = ManyResources(static_cast<int>(state.range(0)));
  tandem::MemEnv env;
  tandem::config::Diagnostics d;
  auto cfg = tandem::config::ParseDrbdConfig(&env, text, "/etc/drbd.conf", "alpha", &d);
  for (auto _ : state) {
    benchmark::DoNotOptimize(tandem::config::WriteDrbdConfig(*cfg, {}));
  }
}
BENCHMARK(BM_DumpDrbdConf)->Arg(1)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
