// GroupOperation's call sequences and resource_script's lookup and status rules.
#include "heartbeat/group_operation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/mem_env.h"
#include "heartbeat/resource_script.h"

namespace tandem::heartbeat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using A = ScriptAction;

// Runs `op` to the end; `answer(step)` gives each call's exit code and
// status reading. Returns the calls made.
template <typename F>
std::vector<ScriptStep> Drive(GroupOperation* op, F answer) {
  std::vector<ScriptStep> calls;
  for (int guard = 0; !op->done() && guard < 1000; ++guard) {
    ScriptStep s = *op->next();
    calls.push_back(s);
    auto [code, running] = answer(s);
    op->Record(code, running);
  }
  EXPECT_TRUE(op->done());
  return calls;
}

ScriptStep S(int r, A a, int attempt = 1) { return ScriptStep{r, a, attempt}; }

TEST(GroupOperation, StartChecksStatusThenStartsLeftToRight) {
  GroupOperation op(OpKind::kStart, 3);
  auto calls = Drive(&op, [](const ScriptStep&) { return std::pair{0, false}; });
  EXPECT_THAT(calls, ElementsAre(S(0, A::kStatus), S(0, A::kStart), S(1, A::kStatus),
                                 S(1, A::kStart), S(2, A::kStatus), S(2, A::kStart)));
  EXPECT_EQ(op.outcome(), OpOutcome::kStarted);
}

TEST(GroupOperation, StartSkipsWhatIsAlreadyRunning) {
  GroupOperation op(OpKind::kStart, 2);
  auto calls = Drive(&op, [](const ScriptStep& s) {
    return std::pair{0, s.resource == 0};
  });
  EXPECT_THAT(calls, ElementsAre(S(0, A::kStatus), S(1, A::kStatus), S(1, A::kStart)));
  EXPECT_EQ(op.outcome(), OpOutcome::kStarted);
}

TEST(GroupOperation, AFailedStartReleasesTheGroupRightToLeft) {
  GroupOperation op(OpKind::kStart, 3);
  auto calls = Drive(&op, [](const ScriptStep& s) {
    return std::pair{s.action == A::kStart && s.resource == 1 ? 1 : 0, false};
  });
  EXPECT_THAT(calls, ElementsAre(S(0, A::kStatus), S(0, A::kStart), S(1, A::kStatus),
                                 S(1, A::kStart), S(1, A::kStop), S(0, A::kStop)));
  EXPECT_EQ(op.outcome(), OpOutcome::kStartFailed);
  EXPECT_EQ(op.failed_resource(), 1);
}

TEST(GroupOperation, StopRightToLeftRetryingAFailingStop) {
  GroupOperation op(OpKind::kStop, 3);
  int failures = 3;
  auto calls = Drive(&op, [&](const ScriptStep& s) {
    return std::pair{s.resource == 1 && failures-- > 0 ? 1 : 0, false};
  });
  EXPECT_THAT(calls, ElementsAre(S(2, A::kStop), S(1, A::kStop, 1), S(1, A::kStop, 2),
                                 S(1, A::kStop, 3), S(1, A::kStop, 4), S(0, A::kStop)));
  EXPECT_EQ(op.outcome(), OpOutcome::kStopped);
}

TEST(GroupOperation, TenFailedStopsLeaveTheRestRunning) {
  GroupOperation op(OpKind::kStop, 3);
  auto calls = Drive(&op, [](const ScriptStep& s) { return std::pair{s.resource == 1 ? 1 : 0, false}; });
  ASSERT_EQ(calls.size(), 11u);  // resource 2 once, resource 1 ten times
  EXPECT_EQ(calls.back(), S(1, A::kStop, 10));
  EXPECT_EQ(op.outcome(), OpOutcome::kStopFailed);
  EXPECT_EQ(op.failed_resource(), 1);
}

TEST(GroupOperation, AnUnwindThatCannotStopIsAStopFailure) {
  GroupOperation op(OpKind::kStart, 1, /*max_stop_attempts=*/2);
  auto calls = Drive(&op, [](const ScriptStep& s) { return std::pair{s.action == A::kStatus ? 0 : 1, false}; });
  EXPECT_THAT(calls, ElementsAre(S(0, A::kStatus), S(0, A::kStart), S(0, A::kStop, 1),
                                 S(0, A::kStop, 2)));
  EXPECT_EQ(op.outcome(), OpOutcome::kStopFailed);
}

TEST(GroupOperation, ProbeAsksEveryResource) {
  GroupOperation op(OpKind::kProbe, 3);
  auto calls = Drive(&op, [](const ScriptStep& s) { return std::pair{0, s.resource == 2}; });
  EXPECT_THAT(calls, ElementsAre(S(0, A::kStatus), S(1, A::kStatus), S(2, A::kStatus)));
  EXPECT_EQ(op.outcome(), OpOutcome::kProbedRunning);
  GroupOperation none(OpKind::kProbe, 1);
  Drive(&none, [](const ScriptStep&) { return std::pair{3, false}; });
  EXPECT_EQ(none.outcome(), OpOutcome::kProbedStopped);
}

TEST(ResourceScript, ResourceDirFirstThenInitDir) {
  MemEnv env;
  env.AddFile("/etc/ha.d/resource.d/drbddisk", "#!/bin/sh\n", 0100755);
  env.AddFile("/etc/init.d/drbddisk", "#!/bin/sh\n", 0100755);
  env.AddFile("/etc/init.d/cluster", "#!/bin/sh\n", 0100755);
  env.AddFile("/etc/ha.d/resource.d/notexec", "", 0100644);
  auto d = LocateResourceScript(&env, "/etc/ha.d/resource.d", "/etc/init.d", "drbddisk");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->path, "/etc/ha.d/resource.d/drbddisk");
  EXPECT_FALSE(d->lsb);
  auto c = LocateResourceScript(&env, "/etc/ha.d/resource.d", "/etc/init.d", "cluster");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->lsb);
  auto missing = LocateResourceScript(&env, "/etc/ha.d/resource.d", "/etc/init.d", "nope");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("Cannot locate resource script nope"));
  auto bad = LocateResourceScript(&env, "/etc/ha.d/resource.d", "/etc/init.d", "notexec");
  EXPECT_THAT(bad.status().message(), HasSubstr("not an executable file"));
}

TEST(ResourceScript, ArgumentsThenActionLsbGetsOnlyTheAction) {
  config::HaResource r;
  r.name = "Filesystem";
  r.args = {"/dev/drbd0", "/home", "ext4"};
  EXPECT_THAT(ResourceArgv({"/rd/Filesystem", false}, r, A::kStart),
              ElementsAre("/rd/Filesystem", "/dev/drbd0", "/home", "ext4", "start"));
  EXPECT_THAT(ResourceArgv({"/etc/init.d/Filesystem", true}, r, A::kStop),
              ElementsAre("/etc/init.d/Filesystem", "stop"));
}

TEST(ResourceScript, StatusReadsWordsThenExitCodes) {
  EXPECT_TRUE(StatusSaysRunning(0, "running (Primary)\n"));
  EXPECT_TRUE(StatusSaysRunning(1, "OK\n"));  // Heartbeat's words win over the exit code
  EXPECT_FALSE(StatusSaysRunning(0, "stopped (Secondary)\n"));
  EXPECT_FALSE(StatusSaysRunning(0, "qmail is not running\n"));
  EXPECT_FALSE(StatusSaysRunning(3, "running\n"));  // LSB: not running
  EXPECT_FALSE(StatusSaysRunning(7, ""));           // OCF: not running
  EXPECT_TRUE(StatusSaysRunning(0, ""));            // LSB: running
  EXPECT_FALSE(StatusSaysRunning(1, "Usage: cluster {start|stop}\n"));
}

}  // namespace
}  // namespace tandem::heartbeat
