#include "heartbeat/respawner.h"

#include <signal.h>

#include <boost/asio/post.hpp>

#include "common/strings.h"
#include "heartbeat/hb_log.h"

namespace tandem::heartbeat {

namespace asio = boost::asio;

bool IsIpfail(const config::HaRespawn& r) {
  const size_t slash = r.program.find_last_of('/');
  return r.program.substr(slash == std::string::npos ? 0 : slash + 1) == "ipfail";
}

Respawner::Respawner(asio::io_context& loop, HbEnv* env, ChildProcesses* children,
                     std::vector<config::HaRespawn> programs,
                     std::vector<std::string> environment)
    : loop_(loop), env_(env), children_(children), environment_(std::move(environment)),
      stop_timer_(loop), alive_(std::make_shared<bool>(true)) {
  for (auto& p : programs) {
    if (IsIpfail(p)) {
      HbLog(HbLevel::kInfo, "respawn " + p.program +
                                ": ipfail is built into tandem-heartbeat; not starting it");
      continue;
    }
    auto c = std::make_unique<Child>(loop_);
    c->program = std::move(p);
    kids_.push_back(std::move(c));
  }
}

Respawner::~Respawner() { *alive_ = false; }

void Respawner::Start() {
  for (auto& c : kids_) Launch(*c);
}

int Respawner::running() const {
  int n = 0;
  for (const auto& c : kids_) n += c->pid > 0 ? 1 : 0;
  return n;
}

void Respawner::Launch(Child& c) {
  if (stopping_) return;
  SpawnOptions o;
  o.argv = {c.program.program};
  o.argv.insert(o.argv.end(), c.program.args.begin(), c.program.args.end());
  o.env = environment_;
  o.capture_output = false;
  o.user = c.program.user;
  auto spawned = env_->Spawn(o);
  c.policy.Started(env_->MonotonicMs());
  if (!spawned.ok()) {
    HbLog(HbLevel::kError, "cannot start client " + c.program.program + ": " +
                               spawned.status().message());
    // Counts as a death at once, so a program that cannot start is given up
    // on as "respawning too fast" rather than retried for ever.
    Exited(c, 127 << 8);
    return;
  }
  c.pid = spawned->pid;
  HbLog(HbLevel::kInfo, "Starting \"" + Join(o.argv, " ") + "\" as uid " + c.program.user +
                            " (pid " + std::to_string(c.pid) + ")");
  auto alive = alive_;
  Child* cp = &c;
  children_->Watch(c.pid, [this, alive, cp](int status) {
    if (*alive) Exited(*cp, status);
  });
}

void Respawner::Exited(Child& c, int wait_status) {
  const pid_t old_pid = c.pid;
  c.pid = -1;
  if (stopping_) {
    CheckStopped();
    return;
  }
  const int code = ExitCodeOf(wait_status);
  switch (c.policy.Exited(env_->MonotonicMs(), code)) {
    case RespawnPolicy::Decision::kExit100:
      HbLog(HbLevel::kInfo, "Client \"" + c.program.program +
                                "\" exited with return code 100: not respawning it");
      c.given_up = true;
      return;
    case RespawnPolicy::Decision::kTooFast:
      HbLog(HbLevel::kError, "Client \"" + c.program.program + "\" respawning too fast (" +
                                 std::to_string(c.policy.fast_deaths()) +
                                 " quick deaths in a row): not respawning it any more");
      c.given_up = true;
      return;
    case RespawnPolicy::Decision::kRestart:
      break;
  }
  HbLog(HbLevel::kWarn, "Managed client \"" + c.program.program + "\" process " +
                            std::to_string(old_pid) + " died (" + DescribeWaitStatus(wait_status) +
                            "); respawning");
  auto alive = alive_;
  Child* cp = &c;
  c.timer.expires_after(std::chrono::milliseconds(kRestartDelayMs));
  c.timer.async_wait([this, alive, cp](const boost::system::error_code& ec) {
    if (*alive && !ec) Launch(*cp);
  });
}

void Respawner::StopAll(std::function<void()> done) {
  stopping_ = true;
  stopped_ = std::move(done);
  for (auto& c : kids_) {
    c->timer.cancel();
    if (c->pid > 0) (void)env_->Signal(c->pid, SIGTERM, /*group=*/true);
  }
  auto alive = alive_;
  stop_timer_.expires_after(std::chrono::milliseconds(kStopGraceMs));
  stop_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (!*alive || ec) return;
    for (auto& c : kids_) {
      if (c->pid > 0) {
        HbLog(HbLevel::kWarn, "Client \"" + c->program.program + "\" ignored SIGTERM: killing it");
        (void)env_->Signal(c->pid, SIGKILL, /*group=*/true);
        c->pid = -1;
      }
    }
    CheckStopped();
  });
  CheckStopped();
}

void Respawner::CheckStopped() {
  if (!stopping_ || !stopped_ || running() > 0) return;
  stop_timer_.cancel();
  auto done = std::move(stopped_);
  stopped_ = nullptr;
  asio::post(loop_, [alive = alive_, done = std::move(done)] {
    if (*alive) done();
  });
}

}  // namespace tandem::heartbeat
