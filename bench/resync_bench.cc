// Resync benchmark: two replicated resources in one process (bench/two_nodes.h)
// on file-backed disks; the Primary's disk holds real (non-zero) data and the
// peer's is fresh, so `primary --force` starts a full resync of every block.
// Measures:
//   - unthrottled resync throughput (resync-rate at its 8G maximum) next to
//     the same-machine limit: copying one backing file to the other with direct
//     I/O, reader and writer pipelined, measured in the same run;
//   - rate-limit accuracy at resync-rate 10M, 50M and 200M (DRBD units: MiB/s)
//     over a 20 s window starting 2 s into the resync (shorter when the resync
//     ends first; the window is printed), from copied-bytes samples every 50 ms;
//   - application write latency (4 KiB random, QD1, p50/p99) while a resync
//     runs at 50M and unthrottled, next to the same with no resync, and the
//     resync's rate meanwhile (it yields to application I/O down to c-min-rate).
// Prints tables.
//
// Usage: resync_bench [--size-gib N] [--window S] [--dir DIR]
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "common/log.h"
#include "two_nodes.h"

namespace {

using namespace tandem;
using namespace tandem::bench;

std::string Config(const std::string& dir, const std::string& rate) {
  std::string c = "resource r0 {\n  net { protocol C; max-buffers 8192; }\n"
                  "  disk { resync-rate " + rate + "; c-plan-ahead 0; al-extents 1237; }\n";
  const char* names[] = {"alpha", "bravo"};
  const char* ips[] = {"127.0.0.2", "127.0.0.3"};
  for (int n = 0; n < 2; ++n) {
    c += std::string("  on ") + names[n] + " { device /dev/drbd0 minor 0; disk " + dir + "/" +
         names[n] + ".img; address " + ips[n] + ":27900; meta-disk internal; }\n";
  }
  return c + "}\n";
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Fills `path` with `size` bytes of pseudo-random data (the resync source).
bool FillRandom(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return false;
  std::vector<uint64_t> buf((4 << 20) / 8);
  std::mt19937_64 rng(7);
  for (uint64_t at = 0; at < size; at += buf.size() * 8) {
    for (auto& w : buf) w = rng();
    if (::pwrite(fd, buf.data(), buf.size() * 8, static_cast<off_t>(at)) < 0) {
      ::close(fd);
      return false;
    }
  }
  ::fsync(fd);
  ::close(fd);
  return true;
}

bool FreshFile(const std::string& path, uint64_t size) {
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR, 0644);
  if (fd < 0) return false;
  bool ok = posix_fallocate(fd, 0, static_cast<off_t>(size)) == 0;
  ::close(fd);
  return ok;
}

// The same-machine limit: copy `bytes` of `from` into `to` with direct I/O,
// 4 MiB chunks, a reader and a writer thread with up to 8 chunks between them.
double CopyLimitMBps(const std::string& from, const std::string& to, uint64_t bytes) {
  constexpr size_t kChunk = 4 << 20;
  int in = ::open(from.c_str(), O_RDONLY | O_DIRECT);
  int out = ::open(to.c_str(), O_WRONLY | O_DIRECT);
  if (in < 0 || out < 0) return 0;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<uint64_t, io::AlignedBuffer>> queue;
  bool reading_done = false;
  auto t0 = Clock::now();
  std::thread writer([&] {
    for (;;) {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return !queue.empty() || reading_done; });
      if (queue.empty()) return;
      auto item = std::move(queue.front());
      queue.pop_front();
      l.unlock();
      cv.notify_all();
      if (::pwrite(out, item.second.data(), kChunk, static_cast<off_t>(item.first)) < 0) return;
    }
  });
  for (uint64_t at = 0; at + kChunk <= bytes; at += kChunk) {
    io::AlignedBuffer b = io::AlignedBuffer::Uninitialized(kChunk);
    if (::pread(in, b.data(), kChunk, static_cast<off_t>(at)) < 0) break;
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return queue.size() < 8; });
    queue.emplace_back(at, std::move(b));
    cv.notify_all();
  }
  {
    std::lock_guard<std::mutex> l(mu);
    reading_done = true;
  }
  cv.notify_all();
  writer.join();
  ::fdatasync(out);
  double s = Seconds(Clock::now() - t0);
  ::close(in);
  ::close(out);
  return bytes / s / 1e6;
}

struct SyncRun {
  double mbps = 0;          // bytes copied / time, over the measured window
  double window_s = 0;
  double total_s = 0;       // whole resync, start to Connected/UpToDate
  WriteStats app;               // application writes during the resync (if asked)
  double mbps_during_app = 0;
};

// Starts both nodes with `rate`, forces alpha Primary (full resync of bravo)
// and measures. app_seconds > 0: drive QD1 4 KiB writes for that long, starting
// 2 s in, and report their latency and the resync rate meanwhile.
SyncRun RunSync(const std::string& dir, const std::string& rate, double window,
                double app_seconds) {
  std::ofstream(dir + "/r.conf") << Config(dir, rate);
  FreshFile(dir + "/bravo.img", std::filesystem::file_size(dir + "/alpha.img"));
  Node nodes[2];
  StartTwoNodes(nodes, dir + "/r.conf");
  if (!WaitUntil([&] { return StateOf(nodes[0]).conn == replication::ConnState::kConnected; },
                 std::chrono::seconds(30))) {
    std::fprintf(stderr, "nodes did not connect\n");
    std::exit(1);
  }
  Status st = nodes[0].Verb([&](auto done) { nodes[0].res->Primary(true, done); });
  if (!st.ok()) std::fprintf(stderr, "primary --force: %s\n", st.ToString().c_str());
  WaitUntil([&] { return ReportOf(nodes[0]).sync.active; }, std::chrono::seconds(30));
  const auto start = Clock::now();
  const uint64_t total = ReportOf(nodes[0]).sync.total_bits * 4096;
  auto synced = [&] {
    auto s = StateOf(nodes[0]);
    return s.conn == replication::ConnState::kConnected &&
           s.peer_disk == replication::DiskState::kUpToDate;
  };
  SyncRun run;
  auto copied = [&] { return ReportOf(nodes[0]).sync.copied_bytes; };
  if (app_seconds > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const uint64_t b0 = copied();
    const auto t0 = Clock::now();
    uint64_t size = 0;
    nodes[0].Run([&] { size = nodes[0].res->size(); });
    run.app = Drive(nodes[0], size, 4096, 1, false, app_seconds);
    run.mbps_during_app = (copied() - b0) / Seconds(Clock::now() - t0) / 1e6;
  } else {
    // Samples every 50 ms while the resync runs; the rate is taken between the
    // first sample 2 s in (or the first one, for a short resync) and the last
    // sample still inside the window while the resync was active.
    struct Sample {
      Clock::time_point at;
      uint64_t bytes;
    };
    std::vector<Sample> samples;
    const auto end = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(2 + window));
    while (Clock::now() < end) {
      auto rep = ReportOf(nodes[0]);
      if (!rep.sync.active) break;
      samples.push_back({Clock::now(), rep.sync.copied_bytes});
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    size_t first = 0;
    while (first + 2 < samples.size() && samples[first].at < start + std::chrono::seconds(2)) ++first;
    if (samples.size() >= 2 && first + 1 < samples.size()) {
      const auto& s0 = samples[first];
      const auto& s1 = samples.back();
      run.window_s = Seconds(s1.at - s0.at);
      run.mbps = (s1.bytes - s0.bytes) / run.window_s / 1e6;
    }
  }
  if (window > 1e6) WaitUntil(synced, std::chrono::seconds(600));
  run.total_s = Seconds(Clock::now() - start);
  if (window > 1e6) run.mbps = total / run.total_s / 1e6;  // whole-resync throughput
  for (auto& n : nodes) n.Stop();
  return run;
}

// Application latency with nothing else going on (connected, in sync).
WriteStats QuietLatency(const std::string& dir, double seconds) {
  std::ofstream(dir + "/r.conf") << Config(dir, "8G");
  Node nodes[2];
  StartTwoNodes(nodes, dir + "/r.conf");
  WaitUntil([&] { return StateOf(nodes[0]).conn == replication::ConnState::kConnected; },
            std::chrono::seconds(30));
  // Both replicas hold the same data after the previous runs' syncs.
  Status ncu = nodes[0].Verb([&](auto done) { nodes[0].res->NewCurrentUuid(true, done); });
  if (!ncu.ok()) std::fprintf(stderr, "new-current-uuid: %s\n", ncu.ToString().c_str());
  WaitUntil([&] { return StateOf(nodes[1]).disk == replication::DiskState::kUpToDate; },
            std::chrono::seconds(30));
  Status pr = nodes[0].Verb([&](auto done) { nodes[0].res->Primary(false, done); });
  if (!pr.ok()) std::fprintf(stderr, "primary: %s\n", pr.ToString().c_str());
  uint64_t size = 0;
  nodes[0].Run([&] { size = nodes[0].res->size(); });
  WriteStats r = Drive(nodes[0], size, 4096, 1, false, seconds);
  for (auto& n : nodes) n.Stop();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  double size_gib = 4, window = 20;
  std::string dir = "/var/tmp/tandem-resync-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--size-gib") size_gib = std::stod(argv[i + 1]);
    if (a == "--window") window = std::stod(argv[i + 1]);
    if (a == "--dir") dir = argv[i + 1];
  }
  tandem::SetMinLogLevel(getenv("TANDEM_BENCH_VERBOSE") ? tandem::LogLevel::kInfo : tandem::LogLevel::kWarning);
  std::filesystem::create_directories(dir);
  const uint64_t size = static_cast<uint64_t>(size_gib * (1ull << 30));
  if (!FillRandom(dir + "/alpha.img", size) || !FreshFile(dir + "/bravo.img", size)) {
    std::fprintf(stderr, "cannot prepare the backing files in %s\n", dir.c_str());
    return 1;
  }
  // The copy limit over the data area (the meta-data at the end is not copied).
  const double limit = CopyLimitMBps(dir + "/alpha.img", dir + "/bravo.img", size - (256ull << 20));
  SyncRun fast = RunSync(dir, "8G", 1e9, 0);
  std::printf("\nResync throughput (%.1f GiB, full resync)\n", size_gib);
  std::printf("%-34s %10s %10s\n", "", "MB/s", "of limit");
  std::printf("%-34s %10.0f %10s\n", "copy limit (direct I/O, pipelined)", limit, "100%");
  std::printf("%-34s %10.0f %9.0f%%   (whole resync %.1f s)\n", "resync unthrottled", fast.mbps,
              100 * fast.mbps / std::max(1.0, limit), fast.total_s);

  std::printf("\nRate-limit accuracy (window from 2 s into the resync)\n");
  std::printf("%-12s %12s %12s %10s %10s\n", "resync-rate", "target MiB/s", "got MiB/s", "error",
              "window s");
  for (const char* rate : {"10M", "50M", "200M"}) {
    SyncRun r = RunSync(dir, rate, window, 0);
    const double target = std::stod(rate);
    const double got = r.mbps * 1e6 / (1 << 20);
    std::printf("%-12s %12.0f %12.1f %9.1f%% %10.1f\n", rate, target, got,
                100 * (got - target) / target, r.window_s);
  }

  const double app_s = 5;
  WriteStats quiet = QuietLatency(dir, app_s);
  SyncRun at50 = RunSync(dir, "50M", 0, app_s);
  SyncRun atmax = RunSync(dir, "8G", 0, app_s);
  std::printf("\nApplication writes (4 KiB random, QD1, protocol C) during a resync\n");
  std::printf("%-26s %10s %10s %10s %16s\n", "", "p50 us", "p99 us", "IOPS", "resync MB/s");
  std::printf("%-26s %10.1f %10.1f %10.0f %16s\n", "no resync", quiet.p50_us, quiet.p99_us,
              quiet.iops, "-");
  std::printf("%-26s %10.1f %10.1f %10.0f %16.1f\n", "resync at 50M", at50.app.p50_us,
              at50.app.p99_us, at50.app.iops, at50.mbps_during_app);
  std::printf("%-26s %10.1f %10.1f %10.0f %16.1f\n", "resync unthrottled", atmax.app.p50_us,
              atmax.app.p99_us, atmax.app.iops, atmax.mbps_during_app);
  std::filesystem::remove_all(dir);
  return 0;
}
