#pragma once
// The script calls that start, stop or probe one resource group, in order,
// as a plain state machine: the daemon asks for the next call, runs it, and
// records the result.
//
//   start: left to right, each resource's `status` first; a resource already
//          running is skipped, otherwise `start` runs. If a start fails the
//          group is released: `stop` on the failed resource and every one
//          before it, right to left (outcome kStartFailed).
//   stop:  right to left; a failing stop is retried, up to max_stop_attempts
//          in all (the daemon waits between attempts). A resource that will
//          not stop ends the operation with kStopFailed: the resources to its
//          left are left running, since they are what it runs on.
//   probe: `status` of every resource (at start-up: is anything still running?)
//
// Thread-safety: a plain value; one owner.

#include <optional>

#include "heartbeat/resource_script.h"

namespace tandem::heartbeat {

enum class OpKind { kStart, kStop, kProbe };
const char* OpKindName(OpKind kind);

enum class OpOutcome {
  kStarted,
  kStartFailed,  // released again: nothing of it runs here
  kStopped,
  kStopFailed,   // something still runs here and would not stop
  kProbedRunning,
  kProbedStopped,
};

struct ScriptStep {
  int resource = 0;
  ScriptAction action = ScriptAction::kStatus;
  int attempt = 1;  // > 1 for a retried stop: wait before running it
  bool operator==(const ScriptStep&) const = default;
};

class GroupOperation {
 public:
  static constexpr int kDefaultStopAttempts = 10;

  GroupOperation(OpKind kind, int resource_count, int max_stop_attempts = kDefaultStopAttempts);

  OpKind kind() const { return kind_; }
  // The call to run now; nullopt once the operation is over.
  const std::optional<ScriptStep>& next() const { return next_; }
  // The result of next(): its exit status and, for a status call, whether the
  // answer means running (resource_script.h).
  void Record(int exit_code, bool running);

  bool done() const { return !next_.has_value(); }
  OpOutcome outcome() const { return outcome_; }
  // The resource whose start failed (kStartFailed) or whose stop failed
  // (kStopFailed); -1 otherwise.
  int failed_resource() const { return failed_; }
  // Whether any resource reported running (probe).
  bool any_running() const { return any_running_; }

 private:
  void Finish(OpOutcome outcome) {
    outcome_ = outcome;
    next_.reset();
  }
  void BeginUnwind(int from);

  OpKind kind_;
  int count_;
  int max_stop_attempts_;
  std::optional<ScriptStep> next_;
  OpOutcome outcome_ = OpOutcome::kStopped;
  int failed_ = -1;
  bool unwinding_ = false;
  bool any_running_ = false;
};

}  // namespace tandem::heartbeat
