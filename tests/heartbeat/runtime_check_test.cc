#include "heartbeat/runtime_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/mem_env.h"

namespace tandem::heartbeat {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A configuration whose ha.cf and haresources are `ha_cf` and `haresources`.
HeartbeatConfig Configured(MemEnv* env, const std::string& ha_cf,
                           const std::string& haresources = "alpha drbddisk::r0\n") {
  env->AddFile("/etc/ha.d/ha.cf", "node alpha bravo\nlogfacility daemon\n" + ha_cf);
  env->AddFile("/etc/ha.d/haresources", haresources);
  env->AddFile("/etc/ha.d/authkeys", "auth 1\n1 sha1 k\n");
  config::Diagnostics d;
  auto cfg = LoadHeartbeatConfig(env, "/etc/ha.d", "alpha", &d);
  EXPECT_TRUE(cfg.ok()) << d.Format();
  return cfg.ok() ? std::move(cfg).value() : HeartbeatConfig{};
}

std::string Warnings(MemEnv* env, const HeartbeatConfig& cfg) {
  config::Diagnostics d;
  CheckRuntimeEnvironment(env, cfg, &d);
  EXPECT_FALSE(d.has_errors()) << "the run-time check only warns";
  return d.Format();
}

void AddResourceScript(MemEnv* env, const std::string& name) {
  env->AddFile("/etc/ha.d/resource.d/" + name, "#!/bin/sh\n", 0100755);
}

TEST(RuntimeCheck, EverythingPresentMeansNoWarnings) {
  MemEnv env;
  auto cfg = Configured(&env,
                        "bcast eth0\nserial /dev/ttyS0\nucast eth0 10.0.0.2\n"
                        "respawn hacluster /usr/lib/heartbeat/ipfail\n");
  env.AddFile("/sys/class/net/eth0", "", 040755);
  env.AddFile("/dev/ttyS0", "", 020660);
  env.AddFile("/usr/lib/heartbeat/ipfail", "", 0100755);
  AddResourceScript(&env, "drbddisk");
  EXPECT_THAT(Warnings(&env, cfg), IsEmpty());
}

TEST(RuntimeCheck, AMissingInterfaceIsAWarningOncePerInterface) {
  MemEnv env;
  auto cfg = Configured(&env, "bcast eth1\nucast eth1 10.0.0.2\nmcast eth2 225.0.0.1 694 1 0\n");
  AddResourceScript(&env, "drbddisk");
  const std::string w = Warnings(&env, cfg);
  EXPECT_THAT(w, HasSubstr("/etc/ha.d/ha.cf:3:7: warning: interface [eth1] does not exist on this "
                           "machine (no /sys/class/net/eth1)"));
  EXPECT_THAT(w, HasSubstr("/etc/ha.d/ha.cf:5:1: warning: interface [eth2] does not exist"));
  EXPECT_THAT(w, Not(HasSubstr("ha.cf:4:1")));
}

TEST(RuntimeCheck, SerialDevices) {
  MemEnv env;
  auto cfg = Configured(&env, "serial /dev/ttyS0 /dev/ttyS1\n");
  env.AddFile("/dev/ttyS1", "", 0100644);
  AddResourceScript(&env, "drbddisk");
  const std::string w = Warnings(&env, cfg);
  EXPECT_THAT(w, HasSubstr("ha.cf:3:8: warning: serial device [/dev/ttyS0] does not exist"));
  EXPECT_THAT(w, HasSubstr("ha.cf:3:19: warning: serial device [/dev/ttyS1] is not a character "
                           "device"));
}

TEST(RuntimeCheck, RespawnPrograms) {
  MemEnv env;
  auto cfg = Configured(&env,
                        "serial /dev/ttyS0\nrespawn a /opt/missing\nrespawn b /opt/plain\n"
                        "respawn c /opt/dir\n");
  env.AddFile("/dev/ttyS0", "", 020660);
  env.AddFile("/opt/plain", "", 0100644);
  env.AddFile("/opt/dir", "", 040755);
  AddResourceScript(&env, "drbddisk");
  const std::string w = Warnings(&env, cfg);
  EXPECT_THAT(w, HasSubstr("ha.cf:4:1: warning: Client child command [/opt/missing] does not "
                           "exist on this machine"));
  EXPECT_THAT(w, HasSubstr("ha.cf:5:1: warning: Client child command [/opt/plain] is not "
                           "executable"));
  EXPECT_THAT(w, HasSubstr("ha.cf:6:1: warning: Client child command [/opt/dir] is not "
                           "executable"));
}

TEST(RuntimeCheck, ResourceScriptsInResourceDOrInitD) {
  MemEnv env;
  auto cfg = Configured(&env, "serial /dev/ttyS0\n",
                        "alpha drbddisk::r0 10.0.0.5 apache\nbravo missing apache missing\n");
  env.AddFile("/dev/ttyS0", "", 020660);
  AddResourceScript(&env, "drbddisk");
  AddResourceScript(&env, "IPaddr");
  env.AddFile("/etc/init.d/apache", "", 0100755);
  const std::string w = Warnings(&env, cfg);
  EXPECT_THAT(w, HasSubstr("/etc/ha.d/haresources:2:7: warning: resource script [missing] is in "
                           "neither /etc/ha.d/resource.d nor /etc/init.d on this machine"));
  EXPECT_THAT(w, Not(HasSubstr("haresources:2:22")));
  EXPECT_THAT(w, Not(HasSubstr("apache")));
  EXPECT_THAT(w, Not(HasSubstr("drbddisk")));
}

}  // namespace
}  // namespace tandem::heartbeat
