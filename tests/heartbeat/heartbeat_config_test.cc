#include "heartbeat/heartbeat_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/mem_env.h"
#include "testing/test_util.h"

namespace tandem::heartbeat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kDir = "/etc/ha.d";

void AddValidFiles(MemEnv* env) {
  env->AddFile("/etc/ha.d/ha.cf", "node alpha bravo\nbcast eth0\nlogfacility daemon\n");
  env->AddFile("/etc/ha.d/haresources", "alpha drbddisk::r0\n");
  env->AddFile("/etc/ha.d/authkeys", "auth 1\n1 sha1 key\n", 0100600);
}

TEST(HeartbeatConfig, LoadsTheThreeFiles) {
  MemEnv env;
  AddValidFiles(&env);
  config::Diagnostics d;
  auto cfg = LoadHeartbeatConfig(&env, kDir, "bravo", &d);
  ASSERT_TRUE(cfg.ok()) << d.Format();
  EXPECT_EQ(cfg->config_dir, kDir);
  EXPECT_EQ(cfg->ha_cf.local_node, "bravo");
  EXPECT_EQ(cfg->resources.groups.at(0).Key(), "drbddisk::r0");
  EXPECT_EQ(cfg->auth_keys.active_index, 1);
  EXPECT_EQ(cfg->ha_cf.source_file, "/etc/ha.d/ha.cf");
}

TEST(HeartbeatConfig, EveryFilesErrorsAreReportedInOneRun) {
  MemEnv env;
  env.AddFile("/etc/ha.d/ha.cf", "node alpha bravo\nbcast eth0\nlogfacility daemon\nkeepalive x\n");
  env.AddFile("/etc/ha.d/haresources", "alpha IPaddr::\n");
  env.AddFile("/etc/ha.d/authkeys", "auth 1\n", 0100600);
  config::Diagnostics d;
  auto cfg = LoadHeartbeatConfig(&env, kDir, "alpha", &d);
  EXPECT_FALSE(cfg.ok());
  const std::string t = d.Format();
  EXPECT_THAT(t, HasSubstr("/etc/ha.d/ha.cf:4:11: error:"));
  EXPECT_THAT(t, HasSubstr("/etc/ha.d/haresources:1:7: error:"));
  EXPECT_THAT(t, HasSubstr("/etc/ha.d/authkeys:1:1: error: Auth Key [1] not found"));
}

TEST(HeartbeatConfig, HaresourcesNodesAreCheckedAgainstHaCf) {
  MemEnv env;
  AddValidFiles(&env);
  env.AddFile("/etc/ha.d/haresources", "gamma drbddisk::r0\n");
  config::Diagnostics d;
  EXPECT_FALSE(LoadHeartbeatConfig(&env, kDir, "alpha", &d).ok());
  EXPECT_THAT(d.Format(), HasSubstr("/etc/ha.d/haresources:1:1: error: Bad nodename in "
                                    "haresources [gamma]"));
}

TEST(HeartbeatConfig, ABrokenHaCfDoesNotHideTheOtherFiles) {
  MemEnv env;
  AddValidFiles(&env);
  env.AddFile("/etc/ha.d/ha.cf", "node alpha bravo\n");  // no media
  env.AddFile("/etc/ha.d/haresources", "gamma bad//name\n");
  config::Diagnostics d;
  EXPECT_FALSE(LoadHeartbeatConfig(&env, kDir, "alpha", &d).ok());
  const std::string t = d.Format();
  EXPECT_THAT(t, HasSubstr("ha.cf:1: error: No heartbeat media defined"));
  EXPECT_THAT(t, HasSubstr("haresources:1:7: error: invalid resource name [bad//name]"));
  // Without a node list from ha.cf, haresources' nodes are not judged.
  EXPECT_THAT(t, Not(HasSubstr("Bad nodename")));
}

TEST(HeartbeatConfig, MissingFilesAndBadKeyfileMode) {
  MemEnv env;
  env.AddFile("/etc/ha.d/authkeys", "auth 1\n1 sha1 key\n", 0100644);
  config::Diagnostics d;
  EXPECT_FALSE(LoadHeartbeatConfig(&env, "/etc/ha.d/", "alpha", &d).ok());
  const std::string t = d.Format();
  EXPECT_THAT(t, HasSubstr("/etc/ha.d/ha.cf: error: cannot open /etc/ha.d/ha.cf"));
  EXPECT_THAT(t, HasSubstr("/etc/ha.d/haresources: error: cannot open /etc/ha.d/haresources"));
  EXPECT_THAT(t, HasSubstr("Bad permissions on keyfile [/etc/ha.d/authkeys], 600 recommended."));
}

TEST(HeartbeatConfig, PathInConfigDir) {
  EXPECT_EQ(PathInConfigDir("/etc/ha.d", "ha.cf"), "/etc/ha.d/ha.cf");
  EXPECT_EQ(PathInConfigDir("/etc/ha.d/", "ha.cf"), "/etc/ha.d/ha.cf");
  EXPECT_EQ(PathInConfigDir("", "ha.cf"), "ha.cf");
}

// The seed setups, as complete directories on disk.
TEST(HeartbeatConfig, SeedDirectoriesLoad) {
  struct Seed {
    const char* dir;
    const char* node;
    const char* authkeys;  // null: the seed's own
  } seeds[] = {{"001", "novanta.stat.unipd.it", nullptr},
               {"000", "ha-balancer-1", nullptr},
               {"003", "lvs1.domain.com", "auth 1\n1 sha1 lvs-key\n"}};
  for (const auto& s : seeds) {
    tandem::testing::ScratchDir dir;
    const std::string from = tandem::testing::SourcePath(std::string("tests/data/seeds/") + s.dir);
    for (const char* file : {"ha.cf", "haresources"}) {
      dir.Write(file, tandem::testing::ReadFileOrEmpty(from + "/" + file));
    }
    dir.Write("authkeys",
              s.authkeys ? s.authkeys : tandem::testing::ReadFileOrEmpty(from + "/authkeys"), 0600);
    config::Diagnostics d;
    auto cfg = LoadHeartbeatConfig(Env::Default(), dir.path(), s.node, &d);
    EXPECT_TRUE(cfg.ok()) << s.dir << "\n" << d.Format();
  }
}

}  // namespace
}  // namespace tandem::heartbeat
