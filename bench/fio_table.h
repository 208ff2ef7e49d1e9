#pragma once
// What the benchmarks that drive fio as a program share: reading one fio
// result and a table cell (the median of repeated runs is median.h's).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "median.h"
#include "testing/test_util.h"

namespace tandem::bench {

// The rate of one `fio --output-format=json` run (group reporting: jobs[0]):
// IOPS, or MB/s when `bandwidth`; of its read side when `read`. Negative when
// fio failed, which is reported on stderr with `what`.
inline double FioRate(const tandem::testing::CommandResult& r, bool read, bool bandwidth,
                      const std::string& what) {
  auto j =
      nlohmann::json::parse(r.out.substr(std::min(r.out.find('{'), r.out.size())), nullptr, false);
  if (r.exit_code != 0 || !j.is_object() || !j.contains("jobs")) {
    std::cerr << what << ": fio failed: " << r.err << "\n";
    return -1;
  }
  const auto& io = j["jobs"][0][read ? "read" : "write"];
  if (std::getenv("TANDEM_FIO_LATENCY") != nullptr && io.contains("clat_ns")) {
    // Completion latency percentiles on stderr, for finding where time goes.
    const auto& pct = io["clat_ns"].value("percentile", nlohmann::json::object());
    auto us = [&](const char* p) { return pct.value(p, 0.0) / 1000; };
    std::fprintf(stderr, "%s: clat p10 %.0f p50 %.0f p90 %.0f p99 %.0f us\n", what.c_str(),
                 us("10.000000"), us("50.000000"), us("90.000000"), us("99.000000"));
    const auto& sync = j["jobs"][0].value("sync", nlohmann::json::object());
    const long long flushes = sync.value("total_ios", 0LL);
    if (flushes > 0) {
      const auto& lat = sync["lat_ns"];
      std::fprintf(stderr, "%s: %lld flushes, latency mean %.0f us, max %.0f us\n", what.c_str(),
                   flushes, lat.value("mean", 0.0) / 1000, lat.value("max", 0.0) / 1000);
    }
  }
  return bandwidth ? io.value("bw_bytes", 0.0) / 1e6 : io.value("iops", 0.0);
}

// "812 MB/s", or thousands of IOPS ("21.0k" followed by `iops_unit`);
// "failed" for a failed run.
inline std::string Cell(double v, bool bandwidth, const char* iops_unit = "") {
  if (v < 0) return "failed";
  char buf[64];
  if (bandwidth) {
    std::snprintf(buf, sizeof buf, "%.0f MB/s", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fk%s", v / 1000, iops_unit);
  }
  return buf;
}

}  // namespace tandem::bench
