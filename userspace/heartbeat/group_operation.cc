#include "heartbeat/group_operation.h"

#include <cassert>

namespace tandem::heartbeat {

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kStart:
      return "start";
    case OpKind::kStop:
      return "stop";
    case OpKind::kProbe:
      return "probe";
  }
  return "probe";
}

GroupOperation::GroupOperation(OpKind kind, int resource_count, int max_stop_attempts)
    : kind_(kind), count_(resource_count), max_stop_attempts_(max_stop_attempts) {
  assert(resource_count > 0 && max_stop_attempts > 0);
  switch (kind) {
    case OpKind::kStart:
    case OpKind::kProbe:
      next_ = ScriptStep{0, ScriptAction::kStatus, 1};
      break;
    case OpKind::kStop:
      next_ = ScriptStep{count_ - 1, ScriptAction::kStop, 1};
      break;
  }
}

void GroupOperation::BeginUnwind(int from) {
  unwinding_ = true;
  next_ = ScriptStep{from, ScriptAction::kStop, 1};
}

void GroupOperation::Record(int exit_code, bool running) {
  assert(next_.has_value());
  const ScriptStep step = *next_;
  switch (step.action) {
    case ScriptAction::kStatus:
      any_running_ = any_running_ || running;
      if (kind_ == OpKind::kProbe) {
        if (step.resource + 1 < count_) {
          next_ = ScriptStep{step.resource + 1, ScriptAction::kStatus, 1};
        } else {
          Finish(any_running_ ? OpOutcome::kProbedRunning : OpOutcome::kProbedStopped);
        }
        return;
      }
      if (!running) {
        next_ = ScriptStep{step.resource, ScriptAction::kStart, 1};
        return;
      }
      [[fallthrough]];  // already running: as if started
    case ScriptAction::kStart:
      if (step.action == ScriptAction::kStart && exit_code != 0) {
        failed_ = step.resource;
        BeginUnwind(step.resource);
        return;
      }
      if (step.resource + 1 < count_) {
        next_ = ScriptStep{step.resource + 1, ScriptAction::kStatus, 1};
      } else {
        Finish(OpOutcome::kStarted);
      }
      return;
    case ScriptAction::kStop:
      if (exit_code != 0) {
        if (step.attempt < max_stop_attempts_) {
          next_ = ScriptStep{step.resource, ScriptAction::kStop, step.attempt + 1};
          return;
        }
        failed_ = step.resource;
        Finish(OpOutcome::kStopFailed);
        return;
      }
      if (step.resource > 0) {
        next_ = ScriptStep{step.resource - 1, ScriptAction::kStop, 1};
      } else {
        Finish(unwinding_ ? OpOutcome::kStartFailed : OpOutcome::kStopped);
      }
      return;
  }
}

}  // namespace tandem::heartbeat
