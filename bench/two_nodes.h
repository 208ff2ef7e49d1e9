#pragma once
// Two replicated resources in one benchmark process, each on its own
// event-loop thread as two tandemd processes would be, replicating file-backed
// disks over TCP on 127.0.0.2/127.0.0.3; and a closed-loop write driver.
// Shared by replication_bench and resync_bench. Benchmarks only: failures
// print a message and exit.
#include <utility>
#include <boost/asio.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/env.h"
#include "config/drbd_loader.h"
#include "io/device_factory.h"
#include "io/event_loop.h"
#include "io/sync_io.h"
#include "meta/meta_data.h"
#include "meta/resource_meta.h"
#include "replication/resource.h"

namespace tandem::bench {

using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;

// The nodes' loops poll like tandemd's (TANDEM_BUSY_POLL_US overrides, 0 = sleep).
inline std::chrono::microseconds BusyPoll() {
  const char* env = std::getenv("TANDEM_BUSY_POLL_US");
  return env != nullptr ? std::chrono::microseconds(std::atoll(env)) : io::kDefaultBusyPoll;
}

struct Node {
  asio::io_context io{1};  // as tandemd: one thread runs it
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
  std::unique_ptr<replication::Resource> res;

  void Start() {
    guard = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
        io.get_executor());
    thread = std::thread([this] { io::RunEventLoop(io, BusyPoll()); });
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
  // Takes the resource down (Secondary, disconnected, detached: its I/O
  // drained, a running resync stopped), then destroys it and the loop.
  void Stop() {
    if (!thread.joinable()) return;
    if (res) {
      Status st = Verb([this](auto done) { res->Down(done); });
      if (!st.ok()) std::fprintf(stderr, "down: %s\n", st.ToString().c_str());
    }
    Run([this] { res.reset(); });
    guard.reset();
    io.stop();
    thread.join();
  }
};

inline bool WaitUntil(const std::function<bool()>& cond, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

struct WriteStats {
  double p50_us = 0, p99_us = 0, iops = 0, mbps = 0;
};

// Issues writes with `depth` in flight for `seconds`, on the Primary's loop.
inline WriteStats Drive(Node& primary, uint64_t size, size_t block, int depth, bool sequential,
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
  WriteStats r;
  std::sort(s.lat_us.begin(), s.lat_us.end());
  if (!s.lat_us.empty()) {
    r.p50_us = s.lat_us[s.lat_us.size() / 2];
    r.p99_us = s.lat_us[s.lat_us.size() * 99 / 100];
  }
  r.iops = s.done / elapsed;
  r.mbps = s.bytes / elapsed / 1e6;
  return r;
}

inline bool CreateMd(const config::DrbdConfig& cfg) {
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


// Loads `conf` for both nodes, creates their meta-data, starts both resources
// and brings them up (connecting). Exits on failure.
inline void StartTwoNodes(Node (&nodes)[2], const std::string& conf) {
  const char* names[] = {"alpha", "bravo"};
  for (int n = 0; n < 2; ++n) {
    config::Diagnostics d;
    auto cfg = config::LoadDrbdConfig(Env::Default(), conf, names[n], &d);
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
}

inline replication::StateSnapshot StateOf(Node& n) {
  replication::StateSnapshot s;
  n.Run([&] { s = n.res->state(); });
  return s;
}

inline replication::ResourceStatus ReportOf(Node& n) {
  replication::ResourceStatus r;
  n.Run([&] { r = n.res->Report(); });
  return r;
}

}  // namespace tandem::bench
