#include "heartbeat/settings_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/mem_env.h"

namespace tandem::heartbeat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kKey = "do-not-print-this-key";
constexpr const char* kStonithPassword = "do-not-print-this-password";

HeartbeatConfig Load(const std::string& ha_cf) {
  MemEnv env;
  env.AddFile("/etc/ha.d/ha.cf", ha_cf);
  env.AddFile("/etc/ha.d/haresources", "alpha drbddisk::r0 10.0.0.5/24 fs\n");
  env.AddFile("/etc/ha.d/authkeys",
              "auth 2\n1 md5 " + std::string(kKey) + "\n2 sha1 " + kKey + "\n3 crc\n");
  config::Diagnostics d;
  auto cfg = LoadHeartbeatConfig(&env, "/etc/ha.d", "alpha", &d);
  EXPECT_TRUE(cfg.ok()) << d.Format();
  return cfg.ok() ? std::move(cfg).value() : HeartbeatConfig{};
}

const char* kFull =
    "keepalive 500ms\ndeadtime 5\nudpport 7000\nauto_failback on\nnode alpha bravo\n"
    "ucast eth1 10.0.0.2\nmcast eth2 225.0.0.1 694 1 0\nserial /dev/ttyS0\nbcast eth0\n"
    "ping 10.0.0.254\nping_group lan 10.0.1.1 10.0.1.2\nrespawn hacluster /usr/lib/hb/ipfail -v\n"
    "apiauth ipfail uid=hacluster gid=haclient\nuse_logd off\nlogfile /var/log/ha.log\n"
    "debugfile /var/log/ha-debug\nlogfacility local0\nwatchdog /dev/watchdog\n"
    "stonith_host * baytech 10.0.0.3 admin do-not-print-this-password\n";

TEST(SettingsText, PrintsEveryDirectiveInHaCfSyntax) {
  const std::string text = FormatSettings(Load(kFull));
  for (const char* line : {"keepalive      500ms\n",
                           "deadtime       5s\n",
                           "udpport        7000\n",
                           "auto_failback  on\n",
                           "ucast          eth1 10.0.0.2",
                           "mcast          eth2 225.0.0.1 694 1 0\n",
                           "serial         /dev/ttyS0\n",
                           "bcast          eth0\n",
                           "ping           10.0.0.254\n",
                           "ping_group     lan 10.0.1.1 10.0.1.2\n",
                           "respawn        hacluster /usr/lib/hb/ipfail -v\n",
                           "apiauth        ipfail uid=hacluster gid=haclient\n",
                           "use_logd       off\n",
                           "logfile        /var/log/ha.log\n",
                           "debugfile      /var/log/ha-debug\n",
                           "logfacility    local0\n",
                           "alpha drbddisk::r0 IPaddr::10.0.0.5/24 fs\n",
                           "auth 2\n",
                           "1 md5\n",
                           "2 sha1\n",
                           "3 crc\n"}) {
    EXPECT_THAT(text, HasSubstr(line)) << line;
  }
  EXPECT_THAT(text, HasSubstr("# Heartbeat settings in effect on node alpha, from /etc/ha.d\n"));
  EXPECT_THAT(text, HasSubstr("node           alpha                      # this node\n"));
  EXPECT_THAT(text, HasSubstr("stonith_host   * baytech                  # 3 parameters not "
                              "shown\n"));
  EXPECT_THAT(text, HasSubstr("watchdog       /dev/watchdog              # no effect in Tandem\n"));
}

TEST(SettingsText, DefaultsAreMarked) {
  const std::string text =
      FormatSettings(Load("node alpha bravo\nbcast eth0\nlogfacility daemon\n"
                          "deadtime 10\n"));
  EXPECT_THAT(text, HasSubstr("keepalive      1s                         # default\n"));
  EXPECT_THAT(text, HasSubstr("deadtime       10s\n"));
  EXPECT_THAT(text,
              HasSubstr("warntime       5s                         # default: deadtime / 2\n"));
  EXPECT_THAT(text,
              HasSubstr("initdead       20s                        # default, from deadtime\n"));
  EXPECT_THAT(text, HasSubstr("deadping       10s                        # default: deadtime\n"));
  EXPECT_THAT(text, HasSubstr("udpport        694                        # default\n"));
  EXPECT_THAT(text, HasSubstr("baud           19200                      # default\n"));
  EXPECT_THAT(text, HasSubstr("auto_failback  legacy                     # default\n"));
}

TEST(SettingsText, NeverPrintsSecrets) {
  const std::string text = FormatSettings(Load(kFull));
  EXPECT_THAT(text, Not(HasSubstr(kKey)));
  EXPECT_THAT(text, Not(HasSubstr(kStonithPassword)));
}

TEST(SettingsJson, HoldsTheSettingsAndNoSecrets) {
  nlohmann::json j = SettingsToJson(Load(kFull));
  EXPECT_EQ(j["node"], "alpha");
  EXPECT_EQ(j["config_dir"], "/etc/ha.d");
  const auto& cf = j["ha_cf"];
  EXPECT_EQ(cf["keepalive_ms"], 500);
  EXPECT_EQ(cf["deadtime_ms"], 5000);
  EXPECT_EQ(cf["warntime_ms"], 2500);
  EXPECT_EQ(cf["initdead_ms"], 12000);
  EXPECT_EQ(cf["udpport"], 7000);
  EXPECT_EQ(cf["auto_failback"], "on");
  EXPECT_EQ(cf["use_logd"], false);
  EXPECT_EQ(cf["logfacility"], "local0");
  EXPECT_EQ(cf["defaulted"],
            nlohmann::json({"warntime", "initdead", "deadping", "baud", "hopfudge"}));
  EXPECT_EQ(cf["nodes"][0], nlohmann::json({{"name", "alpha"}, {"local", true}}));
  EXPECT_EQ(cf["nodes"][1]["local"], false);
  ASSERT_EQ(cf["media"].size(), 4u);
  EXPECT_EQ(cf["media"][0],
            nlohmann::json({{"type", "ucast"}, {"interface", "eth1"}, {"address", "10.0.0.2"}}));
  EXPECT_EQ(cf["media"][1]["group"], "225.0.0.1");
  EXPECT_EQ(cf["media"][1]["loop"], false);
  EXPECT_EQ(cf["media"][2], nlohmann::json({{"type", "serial"}, {"device", "/dev/ttyS0"}}));
  EXPECT_EQ(cf["ping_nodes"][1]["addresses"], nlohmann::json({"10.0.1.1", "10.0.1.2"}));
  EXPECT_EQ(cf["respawn"][0]["args"], nlohmann::json({"-v"}));
  EXPECT_EQ(cf["apiauth"][0]["gid"], "haclient");
  EXPECT_EQ(cf["stonith_hosts"][0]["param_count"], 3);
  EXPECT_EQ(cf["no_effect"][0]["directive"], "watchdog");
  const auto& res = j["haresources"]["groups"][0];
  EXPECT_EQ(res["key"], "drbddisk::r0");
  EXPECT_EQ(
      res["resources"][1],
      nlohmann::json({{"name", "IPaddr"}, {"args", {"10.0.0.5/24"}}, {"written", "10.0.0.5/24"}}));
  EXPECT_EQ(j["authkeys"]["auth"], 2);
  EXPECT_EQ(j["authkeys"]["method"], "sha1");
  EXPECT_EQ(j["authkeys"]["keys"].size(), 3u);
  const std::string dumped = j.dump();
  EXPECT_THAT(dumped, Not(HasSubstr(kKey)));
  EXPECT_THAT(dumped, Not(HasSubstr(kStonithPassword)));
}

TEST(SettingsJson, UnsetOptionalValuesAreNull) {
  nlohmann::json j = SettingsToJson(Load("node alpha bravo\nbcast eth0\nlogfacility daemon\n"));
  EXPECT_TRUE(j["ha_cf"]["use_logd"].is_null());
  EXPECT_TRUE(j["ha_cf"]["logfile"].is_null());
  EXPECT_TRUE(j["ha_cf"]["debugfile"].is_null());
  EXPECT_EQ(j["ha_cf"]["auto_failback"], "legacy");
}

TEST(SettingsJson, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  const std::string text = FormatSettingsJson(
      Load("node alpha bravo\nbcast eth0\nlogfacility daemon\nlogfile /var/log/h\xff\xfe.log\n"));
  ASSERT_TRUE(nlohmann::json::accept(text)) << text;
  EXPECT_EQ(nlohmann::json::parse(text)["ha_cf"]["logfile"], "/var/log/h\uFFFD\uFFFD.log");
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace tandem::heartbeat
