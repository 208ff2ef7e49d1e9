// How fast the three backing-disk engines are, next to fio as the physical
// reference (its io_uring engine, same file, same access pattern, run as a
// subprocess with --output-format=json). Prints a table; never a timed test.
//
// Patterns: 4 KiB random writes at QD1 (IOPS, p50/p99 latency) and QD32
// (IOPS), 1 MiB sequential writes and reads at QD8 (MB/s), in direct and
// buffered mode. Each cell is the median of --reps runs of --seconds each.
// Before every run the file is synced and dropped from the page cache, for us
// and for fio alike (fio itself is told not to invalidate: it would do so again
// each time a timed run wraps around the file, which we do not).
// `--flush-every N` adds a column where every N writes the engine drains and
// issues Flush (a journalling file system's pattern; not run for fio, whose
// --fdatasync does not drain); the caching default in docs/io.md rests on it.
//
// The target is overwritten. A regular file is created (and filled, so no
// extent is unwritten) when missing; a block device needs --destroy-data.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "fio_huge_pages.h"
#include "io/aligned_buffer.h"
#include "io/device_factory.h"
#include "median.h"

namespace {

using Clock = std::chrono::steady_clock;
using tandem::bench::Median;
using tandem::io::AlignedBuffer;
using tandem::io::BlockDevice;
using tandem::io::CacheMode;
using tandem::io::Engine;

struct Pattern {
  std::string name;
  bool write;
  bool random;
  size_t block;
  unsigned depth;
  unsigned flush_every;  // 0: never
};

struct Measurement {
  double iops = 0;
  double mb_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  bool ok = false;
};

struct Options {
  std::string path;
  uint64_t size = uint64_t{1} << 30;
  int seconds = 5;
  int reps = 3;
  std::vector<std::string> engines = {"uring", "aio", "sync", "fio"};
  std::vector<std::string> modes = {"direct", "buffered"};
  unsigned flush_every = 0;
  bool destroy_data = false;
  bool keep = false;
  std::string only;          // run only patterns whose name contains this
  uint64_t backlog_mib = 0;  // also: Flush latency after this much sequential writing
};

// Keeps `depth` requests of one pattern in flight on one device until the
// deadline, from the event loop, recording each request's latency.
class Driver {
 public:
  Driver(boost::asio::io_context& loop, BlockDevice& dev, const Pattern& p, uint64_t size,
         Clock::time_point deadline)
      : loop_(loop), dev_(dev), p_(p), blocks_(size / p.block), deadline_(deadline) {
    for (unsigned i = 0; i < p.depth; ++i) {
      buffers_.emplace_back(p.block);
      std::fill(buffers_.back().data(), buffers_.back().data() + p.block, uint8_t(0x5a + i));
    }
    starts_.resize(p.depth);
    latencies_ns_.reserve(1 << 20);
  }

  Measurement Run() {
    const auto begin = Clock::now();
    for (unsigned slot = 0; slot < p_.depth; ++slot) Issue(slot);
    loop_.run();
    const double secs = std::chrono::duration<double>(Clock::now() - begin).count();
    Measurement m;
    m.ok = !failed_;
    m.iops = static_cast<double>(completed_) / secs;
    m.mb_per_s = m.iops * static_cast<double>(p_.block) / 1e6;
    if (!latencies_ns_.empty()) {
      std::sort(latencies_ns_.begin(), latencies_ns_.end());
      m.p50_us = static_cast<double>(latencies_ns_[latencies_ns_.size() / 2]) / 1e3;
      m.p99_us = static_cast<double>(latencies_ns_[latencies_ns_.size() * 99 / 100]) / 1e3;
    }
    return m;
  }

 private:
  void Issue(unsigned slot) {
    if (failed_ || Clock::now() >= deadline_) return;
    if (p_.flush_every != 0 && since_flush_ == p_.flush_every) {
      idle_.push_back(slot);
      if (idle_.size() == p_.depth) StartFlush();
      return;
    }
    ++since_flush_;
    uint64_t index;
    if (p_.random) {
      index = rng_() % blocks_;
    } else {
      index = next_++ % blocks_;
    }
    starts_[slot] = Clock::now();
    auto done = [this, slot](tandem::Status st) { Done(slot, std::move(st)); };
    if (p_.write) {
      dev_.Write(index * p_.block, buffers_[slot].data(), p_.block, tandem::io::kWriteNone, done);
    } else {
      dev_.Read(index * p_.block, buffers_[slot].data(), p_.block, done);
    }
  }

  void Done(unsigned slot, tandem::Status st) {
    if (!st.ok()) {
      std::fprintf(stderr, "io_engine_bench: %s\n", st.ToString().c_str());
      failed_ = true;
      return;
    }
    latencies_ns_.push_back(static_cast<uint32_t>(std::min<int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - starts_[slot]).count(),
        UINT32_MAX)));
    ++completed_;
    Issue(slot);
  }

  void StartFlush() {
    dev_.Flush([this](tandem::Status st) {
      if (!st.ok()) {
        std::fprintf(stderr, "io_engine_bench: %s\n", st.ToString().c_str());
        failed_ = true;
        return;
      }
      since_flush_ = 0;
      std::vector<unsigned> slots;
      slots.swap(idle_);
      for (unsigned s : slots) Issue(s);
    });
  }

  boost::asio::io_context& loop_;
  BlockDevice& dev_;
  const Pattern& p_;
  const uint64_t blocks_;
  const Clock::time_point deadline_;
  std::vector<AlignedBuffer> buffers_;
  std::vector<Clock::time_point> starts_;
  std::vector<uint32_t> latencies_ns_;
  std::vector<unsigned> idle_;  // slots waiting for a flush
  std::mt19937_64 rng_{12345};
  uint64_t next_ = 0;
  uint64_t completed_ = 0;
  unsigned since_flush_ = 0;
  bool failed_ = false;
};

// Syncs the target and drops it from the page cache, so every run starts cold.
void Settle(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  fdatasync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
}

// Writes `bytes` sequentially (1 MiB, QD8) as fast as the engine takes them,
// then times one Flush: how long a barrier waits behind that much unflushed
// data. Returns milliseconds, or a negative value on error.
double FlushAfterBacklog(const Options& o, bool direct, uint64_t bytes) {
  boost::asio::io_context loop;
  tandem::io::OpenOptions open{.engine = Engine::kUring,
                               .cache = direct ? CacheMode::kDirect : CacheMode::kBuffered,
                               .allow_fallback = false};
  auto dev = tandem::io::IoEnv::Default()->Open(loop, o.path, open);
  if (!dev.ok()) return -1;
  constexpr size_t kBlock = 1 << 20;
  constexpr unsigned kDepth = 8;
  std::vector<AlignedBuffer> buffers;
  for (unsigned i = 0; i < kDepth; ++i) buffers.emplace_back(kBlock);
  const uint64_t blocks = std::min(bytes, (*dev)->info().size_bytes) / kBlock;
  uint64_t next = 0;
  bool failed = false;
  std::function<void(unsigned)> issue = [&](unsigned slot) {
    if (failed || next == blocks) return;
    (*dev)->Write(next++ * kBlock, buffers[slot].data(), kBlock, tandem::io::kWriteNone,
                  [&, slot](tandem::Status st) {
                    if (!st.ok()) failed = true;
                    issue(slot);
                  });
  };
  for (unsigned slot = 0; slot < kDepth; ++slot) issue(slot);
  loop.run();
  loop.restart();
  const auto start = Clock::now();
  (*dev)->Flush([&](tandem::Status st) {
    if (!st.ok()) failed = true;
  });
  loop.run();
  if (failed) return -1;
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Measurement RunEngine(const Options& o, Engine engine, bool direct, const Pattern& p) {
  boost::asio::io_context loop;
  tandem::io::OpenOptions open{.engine = engine,
                               .cache = direct ? CacheMode::kDirect : CacheMode::kBuffered,
                               .allow_fallback = false,
                               .queue_depth = std::max(32u, p.depth)};
  auto dev = tandem::io::IoEnv::Default()->Open(loop, o.path, open);
  if (!dev.ok()) {
    std::fprintf(stderr, "io_engine_bench: %s\n", dev.status().ToString().c_str());
    return {};
  }
  const uint64_t size = std::min(o.size, (*dev)->info().size_bytes);
  Driver driver(loop, **dev, p, size, Clock::now() + std::chrono::seconds(o.seconds));
  return driver.Run();
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Measurement RunFio(const Options& o, bool direct, const Pattern& p) {
  // fio's --fdatasync=N does not wait for the writes in flight: not this pattern.
  if (p.flush_every != 0) return {};
  std::string rw = p.write ? (p.random ? "randwrite" : "write") : (p.random ? "randread" : "read");
  // fio's buffers in huge pages, as the engines' large ones (fio_huge_pages.h).
  std::string cmd = std::string(tandem::bench::kFioHugePages) +
                    " fio --name=ref --filename=" + Quote(o.path) +
                    " --ioengine=io_uring --direct=" + (direct ? "1" : "0") + " --rw=" + rw +
                    " --bs=" + std::to_string(p.block) + " --iodepth=" + std::to_string(p.depth) +
                    " --size=" + std::to_string(o.size) +
                    " --time_based=1 --runtime=" + std::to_string(o.seconds) +
                    " --norandommap=1 --randrepeat=0 --invalidate=0 --lat_percentiles=1"
                    " --output-format=json";
  cmd += " 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return {};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  if (pclose(f) != 0) {
    std::fprintf(stderr,
                 "io_engine_bench: fio failed (is it installed? scripts/install-deps.sh)\n");
    return {};
  }
  size_t brace = out.find('{');
  auto json =
      nlohmann::json::parse(out.substr(brace == std::string::npos ? 0 : brace), nullptr, false);
  if (json.is_discarded() || !json.contains("jobs") || json["jobs"].empty()) return {};
  const auto& side = json["jobs"][0][p.write ? "write" : "read"];
  Measurement m;
  m.ok = true;
  m.iops = side["iops"].get<double>();
  m.mb_per_s = side["bw_bytes"].get<double>() / 1e6;
  // Total latency (submission to completion), as the engines measure it.
  const auto& pct = side["lat_ns"]["percentile"];
  if (pct.contains("50.000000")) m.p50_us = pct["50.000000"].get<double>() / 1e3;
  if (pct.contains("99.000000")) m.p99_us = pct["99.000000"].get<double>() / 1e3;
  return m;
}

Measurement MedianOf(const std::vector<Measurement>& runs) {
  std::vector<double> iops, mbs, p50, p99;
  for (const Measurement& m : runs) {
    if (!m.ok) return {};
    iops.push_back(m.iops);
    mbs.push_back(m.mb_per_s);
    p50.push_back(m.p50_us);
    p99.push_back(m.p99_us);
  }
  return {Median(iops), Median(mbs), Median(p50), Median(p99), !runs.empty()};
}

// Creates and fills a regular file; checks a block device is big enough.
bool Prepare(const Options& o) {
  struct stat st {};
  if (stat(o.path.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
    if (!o.destroy_data) {
      std::fprintf(stderr,
                   "io_engine_bench: %s is a block device; its contents would be "
                   "overwritten: pass --destroy-data\n",
                   o.path.c_str());
      return false;
    }
    return true;
  }
  if (stat(o.path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == o.size) return true;
  std::fprintf(stderr, "io_engine_bench: filling %s (%llu MiB)\n", o.path.c_str(),
               static_cast<unsigned long long>(o.size >> 20));
  int fd = open(o.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::vector<uint8_t> chunk(1 << 20, 0xa5);
  bool ok = true;
  for (uint64_t off = 0; ok && off < o.size; off += chunk.size()) {
    ok = pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(off)) ==
         static_cast<ssize_t>(chunk.size());
  }
  ok = ok && fsync(fd) == 0;
  close(fd);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const char* tmp = std::getenv("TMPDIR");
  o.path = std::string(tmp && *tmp ? tmp : "/tmp") + "/tandem-io-bench.img";
  CLI::App app{"Backing-disk I/O engines next to fio"};
  app.add_option("--file", o.path, "target file or block device (overwritten)");
  app.add_option("--size-mib", o.size, "bytes of the target to use")->transform([](std::string s) {
    return std::to_string(std::stoull(s) << 20);
  });
  app.add_option("--seconds", o.seconds, "length of each run");
  app.add_option("--reps", o.reps, "runs per cell (the median is printed)");
  app.add_option("--engines", o.engines, "uring aio sync fio")->delimiter(',');
  app.add_option("--modes", o.modes, "direct buffered")->delimiter(',');
  app.add_option("--flush-every", o.flush_every, "also: 4K QD32 writes with a flush every N");
  app.add_flag("--destroy-data", o.destroy_data, "allow overwriting a block device");
  app.add_flag("--keep", o.keep, "keep the file created for the run");
  app.add_option("--backlog-mib", o.backlog_mib,
                 "also: Flush latency after writing this many MiB (uring)");
  app.add_option("--only", o.only, "run only the patterns whose name contains this (others: 0)");
  CLI11_PARSE(app, argc, argv);
  if (!Prepare(o)) return 2;

  std::vector<Pattern> patterns = {
      {"4k randwrite QD1", true, true, 4096, 1, 0},
      {"4k randwrite QD32", true, true, 4096, 32, 0},
      {"1M seq write QD8", true, false, 1 << 20, 8, 0},
      {"1M seq read QD8", false, false, 1 << 20, 8, 0},
  };
  if (o.flush_every != 0) {
    patterns.push_back({"4k randwrite QD32 flush/" + std::to_string(o.flush_every), true, true,
                        4096, 32, o.flush_every});
  }

  std::printf("target %s, %llu MiB, %d s per run, median of %d\n", o.path.c_str(),
              static_cast<unsigned long long>(o.size >> 20), o.seconds, o.reps);
  std::printf("%-9s %-9s | %10s %8s %8s | %10s | %9s | %9s", "mode", "engine", "QD1 IOPS", "p50 us",
              "p99 us", "QD32 IOPS", "wr MB/s", "rd MB/s");
  if (o.flush_every != 0) std::printf(" | %12s", "flush IOPS");
  std::printf("\n");
  for (const std::string& name : o.engines) {
    if (name != "fio" && !tandem::io::ParseEngine(name).ok()) {
      std::fprintf(stderr, "io_engine_bench: unknown engine %s\n", name.c_str());
      return 1;
    }
  }
  for (const std::string& mode : o.modes) {
    const bool direct = mode == "direct";
    // runs[engine][pattern]: repetitions are the outer loop and engines take
    // turns inside it, so load from other processes and the host's caches
    // drift over all engines alike instead of favouring one of them.
    std::map<std::string, std::vector<std::vector<Measurement>>> runs;
    for (const std::string& name : o.engines) runs[name].resize(patterns.size());
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (patterns[i].name.find(o.only) == std::string::npos) continue;
      for (int rep = 0; rep < o.reps; ++rep) {
        // The order rotates too: after a write-heavy pattern the host keeps
        // writing back for a while, so a fixed order favours whoever runs last.
        for (size_t k = 0; k < o.engines.size(); ++k) {
          const std::string& name = o.engines[(k + static_cast<size_t>(rep)) % o.engines.size()];
          Settle(o.path);
          runs[name][i].push_back(
              name == "fio" ? RunFio(o, direct, patterns[i])
                            : RunEngine(o, *tandem::io::ParseEngine(name), direct, patterns[i]));
        }
      }
    }
    std::map<std::string, std::vector<Measurement>> rows;
    for (const std::string& name : o.engines) {
      std::vector<Measurement>& row = rows[name];
      for (const auto& cell : runs[name]) row.push_back(MedianOf(cell));
      std::printf("%-9s %-9s | %10.0f %8.1f %8.1f | %10.0f | %9.1f | %9.1f", mode.c_str(),
                  name.c_str(), row[0].iops, row[0].p50_us, row[0].p99_us, row[1].iops,
                  row[2].mb_per_s, row[3].mb_per_s);
      if (o.flush_every != 0) {
        if (row[4].ok) {
          std::printf(" | %12.0f", row[4].iops);
        } else {
          std::printf(" | %12s", "n/a");
        }
      }
      std::printf("\n");
    }
    if (rows.count("uring") && rows.count("fio")) {
      auto pct = [&](size_t i, bool bw) {
        const double f = bw ? rows["fio"][i].mb_per_s : rows["fio"][i].iops;
        const double u = bw ? rows["uring"][i].mb_per_s : rows["uring"][i].iops;
        return f > 0 ? 100.0 * u / f : 0.0;
      };
      std::printf("%-9s %-9s | %9.0f%% %8s %8s | %9.0f%% | %8.0f%% | %8.0f%%", mode.c_str(),
                  "uring/fio", pct(0, false), "", "", pct(1, false), pct(2, true), pct(3, true));
      std::printf("\n");
    }
    std::fflush(stdout);
  }
  if (o.backlog_mib != 0) {
    std::printf("\nFlush after %llu MiB of sequential writes (uring, median of %d)\n",
                static_cast<unsigned long long>(o.backlog_mib), o.reps);
    for (const std::string& mode : o.modes) {
      std::vector<double> ms;
      for (int rep = 0; rep < o.reps; ++rep) {
        Settle(o.path);
        ms.push_back(FlushAfterBacklog(o, mode == "direct", o.backlog_mib << 20));
      }
      std::printf("%-9s flush %8.1f ms\n", mode.c_str(), Median(ms));
    }
  }
  struct stat st {};
  if (!o.keep && stat(o.path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) unlink(o.path.c_str());
  return 0;
}
