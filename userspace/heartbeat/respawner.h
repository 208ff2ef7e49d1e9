#pragma once
// Runs ha.cf's `respawn USER PATH ARGS...` programs and keeps them running
// (respawn_policy.h decides). Each runs as USER in its own process group with
// the resource scripts' environment; its output goes to /dev/null, since the
// Heartbeat clients of old log through syslog themselves.
//
// ipfail is built into tandem-heartbeat (cluster_brain.h): a respawn line
// whose program is named ipfail is not run; it switches the ping-node
// failover on instead.
//
// StopAll sends SIGTERM to every child's process group, then SIGKILL to what
// is left after kStopGraceMs, and reports when all are reaped or given up on.
// Thread-safety: event-loop only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/ha_cf.h"
#include "heartbeat/child_processes.h"
#include "heartbeat/hb_env.h"
#include "heartbeat/respawn_policy.h"

namespace tandem::heartbeat {

// True for the respawn lines that ask for ipfail.
bool IsIpfail(const config::HaRespawn& r);

class Respawner {
 public:
  static constexpr int64_t kRestartDelayMs = 200;
  static constexpr int64_t kStopGraceMs = 5000;

  Respawner(boost::asio::io_context& loop, HbEnv* env, ChildProcesses* children,
            std::vector<config::HaRespawn> programs, std::vector<std::string> environment);
  ~Respawner();

  void Start();
  void StopAll(std::function<void()> done);
  // Children running now.
  int running() const;

 private:
  struct Child {
    explicit Child(boost::asio::io_context& loop) : timer(loop) {}
    config::HaRespawn program;
    RespawnPolicy policy;
    pid_t pid = -1;
    boost::asio::steady_timer timer;
    bool given_up = false;
  };
  void Launch(Child& c);
  void Exited(Child& c, int wait_status);
  void CheckStopped();

  boost::asio::io_context& loop_;
  HbEnv* env_;
  ChildProcesses* children_;
  std::vector<std::string> environment_;
  std::vector<std::unique_ptr<Child>> kids_;
  bool stopping_ = false;
  std::function<void()> stopped_;
  boost::asio::steady_timer stop_timer_;
  std::shared_ptr<bool> alive_;
};

}  // namespace tandem::heartbeat
