#include "heartbeat/check_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/mem_env.h"

namespace tandem::heartbeat {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Run Check(MemEnv* env, const std::string& node, bool json = false) {
  HeartbeatOptions options;
  options.common.node = node;
  options.config_dir = "/cfg";
  options.check = true;
  options.json = json;
  std::ostringstream out, err;
  Run r;
  r.exit_code = RunCheck(options, env, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

void AddFiles(MemEnv* env, const std::string& ha_cf) {
  env->AddFile("/cfg/ha.cf", ha_cf);
  env->AddFile("/cfg/haresources", "alpha drbddisk::r0\n");
  env->AddFile("/cfg/authkeys", "auth 1\n1 sha1 secret\n");
}

TEST(CheckCommand, ValidConfigurationPrintsSettingsAndRuntimeWarnings) {
  MemEnv env;
  AddFiles(&env, "node alpha bravo\nbcast eth9\nlogfacility daemon\nauto_failback off\n");
  auto r = Check(&env, "alpha");
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("bcast          eth9\n"));
  EXPECT_THAT(r.err, HasSubstr("/cfg/ha.cf:2:7: warning: interface [eth9] does not exist"));
  EXPECT_THAT(r.err, HasSubstr("/cfg/haresources:1:7: warning: resource script [drbddisk]"));
}

TEST(CheckCommand, JsonOutputParses) {
  MemEnv env;
  AddFiles(&env, "node alpha bravo\nbcast eth0\nlogfacility daemon\n");
  auto r = Check(&env, "bravo", /*json=*/true);
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["node"], "bravo");
  EXPECT_EQ(j["ha_cf"]["media"][0]["interface"], "eth0");
}

TEST(CheckCommand, InvalidConfigurationExitsTenWithErrorsOnly) {
  MemEnv env;
  AddFiles(&env, "node alpha bravo\nbcast eth0\nlogfacility daemon\ndeadtime 1\n");
  auto r = Check(&env, "alpha");
  EXPECT_EQ(r.exit_code, kExitConfigInvalid);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, HasSubstr("/cfg/ha.cf:4:1: error: Dead time [1000 ms] is too small compared "
                               "to keeplive [1000 ms]"));
  // Run-time looks are only taken for a valid configuration.
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("does not exist")));
}

TEST(CheckCommand, NodeNotInTheFileIsInvalid) {
  MemEnv env;
  AddFiles(&env, "node alpha bravo\nbcast eth0\nlogfacility daemon\n");
  auto r = Check(&env, "charlie");
  EXPECT_EQ(r.exit_code, kExitConfigInvalid);
  EXPECT_THAT(r.err, HasSubstr("error: Current node [charlie] not in configuration!"));
}

}  // namespace
}  // namespace tandem::heartbeat
