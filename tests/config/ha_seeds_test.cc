// The Heartbeat files of the seed documents (tests/data/seeds/), loaded
// unchanged through the real loaders. authkeys files are copied into a scratch
// directory with mode 600 first: git does not keep file modes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/env.h"
#include "config/authkeys.h"
#include "config/ha_cf.h"
#include "config/haresources.h"
#include "testing/test_util.h"

namespace tandem::config {
namespace {

using tandem::testing::ReadFileOrEmpty;
using tandem::testing::ScratchDir;
using tandem::testing::SourcePath;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Seed(const std::string& relative) {
  return SourcePath("tests/data/seeds/" + relative);
}

Result<HaCf> LoadSeedHaCf(const std::string& dir, const std::string& node, Diagnostics* d) {
  return LoadHaCf(Env::Default(), Seed(dir + "/ha.cf"), node, d);
}

// A private copy of `text` as authkeys with mode 600, loaded through the real loader.
Result<AuthKeys> LoadAsAuthKeys(const ScratchDir& dir, const std::string& text, Diagnostics* d) {
  return LoadAuthKeys(Env::Default(), dir.Write("authkeys", text, 0600), d);
}

TEST(HaSeeds, Seed001VserverClusterOverSerialAndUdp) {
  for (const char* node : {"novanta.stat.unipd.it", "novantuno.stat.unipd.it"}) {
    Diagnostics d;
    auto cf = LoadSeedHaCf("001", node, &d);
    ASSERT_TRUE(cf.ok()) << node << "\n" << d.Format();
    EXPECT_EQ(cf->keepalive_ms, 2000);
    EXPECT_EQ(cf->deadtime_ms, 10000);
    EXPECT_EQ(cf->warntime_ms, 5000);
    EXPECT_EQ(cf->initdead_ms, 120000);
    EXPECT_EQ(cf->udp_port, 694);
    EXPECT_EQ(cf->baud, 19200);
    EXPECT_EQ(cf->log_facility, "local0");
    ASSERT_EQ(cf->media.size(), 3u);
    EXPECT_EQ(cf->media[0].device, "/dev/ttyS0");
    EXPECT_EQ(cf->media[1].kind, HaMedium::Kind::kBcast);
    EXPECT_EQ(cf->media[1].interface, "eth1");
    EXPECT_EQ(cf->media[2].interface, "eth0");
    EXPECT_EQ(cf->NodeNames(),
              (std::vector<std::string>{"novantuno.stat.unipd.it", "novanta.stat.unipd.it"}));
    EXPECT_THAT(d.Format(),
                HasSubstr("001/ha.cf:9:2: warning: directive 'udp' replaced by 'bcast'"));
    EXPECT_THAT(d.Format(), HasSubstr("001/ha.cf:10:2: warning: directive 'udp' replaced by "
                                      "'bcast'"));
  }
  Diagnostics d;
  auto cf = LoadSeedHaCf("001", "novanta.stat.unipd.it", &d);
  ASSERT_TRUE(cf.ok());
  auto res = LoadHaResources(Env::Default(), Seed("001/haresources"), cf->NodeNames(), &d);
  ASSERT_TRUE(res.ok()) << d.Format();
  ASSERT_EQ(res->groups.size(), 1u);
  EXPECT_EQ(res->groups[0].node, "novanta.stat.unipd.it");
  EXPECT_EQ(res->groups[0].Key(), "drbddisk::drbd0");
  EXPECT_EQ(res->groups[0].resources[1].Canonical(), "cluster");

  ScratchDir dir;
  auto keys = LoadAsAuthKeys(dir, ReadFileOrEmpty(Seed("001/authkeys")), &d);
  ASSERT_TRUE(keys.ok()) << d.Format();
  EXPECT_EQ(keys->active_index, 3);
  EXPECT_EQ(keys->active().method, AuthMethod::kMd5);
  EXPECT_EQ(keys->active().key, "PASSWORD");
}

TEST(HaSeeds, Seed000VirtualIpWithUcastPingGroupAndIpfail) {
  Diagnostics d;
  auto cf = LoadSeedHaCf("000", "ha-balancer-1", &d);
  ASSERT_TRUE(cf.ok()) << d.Format();
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(cf->keepalive_ms, 1000);
  EXPECT_EQ(cf->deadtime_ms, 14000);
  EXPECT_EQ(cf->warntime_ms, 7000);
  EXPECT_EQ(cf->initdead_ms, 120000);
  EXPECT_EQ(cf->deadping_ms, 30000);
  EXPECT_EQ(cf->auto_failback, AutoFailback::kOff);
  EXPECT_EQ(cf->use_logd, std::optional<bool>(false));
  EXPECT_EQ(cf->logfile, "/var/log/ha.log");
  ASSERT_EQ(cf->media.size(), 4u);
  EXPECT_EQ(cf->media[3].interface, "eth0");
  EXPECT_EQ(cf->media[3].address, "192.168.0.2");
  ASSERT_EQ(cf->ping_nodes.size(), 1u);
  EXPECT_EQ(cf->ping_nodes[0].name, "dmz");
  EXPECT_EQ(cf->ping_nodes[0].addresses.size(), 3u);
  ASSERT_EQ(cf->respawns.size(), 1u);
  EXPECT_EQ(cf->respawns[0].program, "/usr/lib/heartbeat/ipfail");
  ASSERT_EQ(cf->api_auth.size(), 1u);
  EXPECT_EQ(cf->api_auth[0].uids, "hacluster");
  EXPECT_EQ(cf->api_auth[0].gids, "haclient");

  auto res = LoadHaResources(Env::Default(), Seed("000/haresources"), cf->NodeNames(), &d);
  ASSERT_TRUE(res.ok()) << d.Format();
  EXPECT_EQ(res->groups[0].Key(), "IPaddr::192.168.0.100/24/eth0");

  ScratchDir dir;
  auto keys = LoadAsAuthKeys(dir, ReadFileOrEmpty(Seed("000/authkeys")), &d);
  ASSERT_TRUE(keys.ok()) << d.Format();
  EXPECT_EQ(keys->active().method, AuthMethod::kSha1);
  EXPECT_EQ(keys->active().key, "aea572119260bbe6b87c0386c3cc0f75");
}

TEST(HaSeeds, Seed003LvsBalancerAndLdirectordGroup) {
  Diagnostics d;
  auto cf = LoadSeedHaCf("003", "lvs1.domain.com", &d);
  ASSERT_TRUE(cf.ok()) << d.Format();
  EXPECT_EQ(cf->udp_port, 1001);
  EXPECT_EQ(cf->hopfudge, 1);
  EXPECT_EQ(cf->initdead_ms, 20000);
  ASSERT_EQ(cf->media.size(), 1u);
  EXPECT_EQ(cf->media[0].interface, "eth0");

  for (const char* file : {"003/haresources", "003/haresources.ldirectord"}) {
    auto res = LoadHaResources(Env::Default(), Seed(file), cf->NodeNames(), &d);
    ASSERT_TRUE(res.ok()) << file << "\n" << d.Format();
    ASSERT_EQ(res->groups.size(), 1u);
    EXPECT_EQ(res->groups[0].node, "lvs1.domain.com");
    EXPECT_EQ(res->groups[0].Key(), "IPaddr::10.0.0.3") << file;
  }
  auto res =
      LoadHaResources(Env::Default(), Seed("003/haresources.ldirectord"), cf->NodeNames(), &d);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->groups[0].resources[1].name, "ldirectord");
  EXPECT_THAT(res->groups[0].resources[1].args, ElementsAre("www"));

  // 003 has no authkeys; any valid one completes the setup.
  ScratchDir dir;
  EXPECT_TRUE(LoadAsAuthKeys(dir, "auth 1\n1 sha1 lvs-key\n", &d).ok()) << d.Format();
}

TEST(HaSeeds, Seed004SlidePingLineLostItsAddressAndIsRejected) {
  Diagnostics d;
  auto cf = LoadSeedHaCf("004", "linuxclm", &d);
  EXPECT_FALSE(cf.ok());
  EXPECT_EQ(d.error_count(), 1u) << d.Format();
  EXPECT_THAT(d.Format(), HasSubstr("004/ha.cf:8:1: error: 'ping' needs at least one address to "
                                    "ping"));
}

TEST(HaSeeds, Seed004LoadsOnceThePingLineHasAnAddress) {
  std::string text = ReadFileOrEmpty(Seed("004/ha.cf"));
  const std::string lost = "ping # Ping our mate";
  ASSERT_NE(text.find(lost), std::string::npos);
  text.replace(text.find(lost), 4, "ping 192.168.1.2");
  Diagnostics d;
  auto cf = ParseHaCf(text, "004/ha.cf", "linuxclm", &d);
  ASSERT_TRUE(cf.ok()) << d.Format();
  EXPECT_EQ(cf->NodeNames(), (std::vector<std::string>{"linuxclm", "linuxcls"}));
  EXPECT_EQ(cf->keepalive_ms, 1000);
  EXPECT_EQ(cf->deadtime_ms, 10000);
  EXPECT_EQ(cf->auto_failback, AutoFailback::kOff);
  EXPECT_EQ(cf->log_facility, "daemon");
  EXPECT_EQ(cf->debugfile, "/var/log/ha-debug");
  ASSERT_EQ(cf->ping_nodes.size(), 1u);
  EXPECT_EQ(cf->respawns.at(0).program, "/usr/lib/heartbeat/ipfail");

  auto res = LoadHaResources(Env::Default(), Seed("004/haresources"), cf->NodeNames(), &d);
  ASSERT_TRUE(res.ok()) << d.Format();
  EXPECT_EQ(res->groups[0].node, "linuxclm");
  EXPECT_EQ(res->groups[0].Key(), "cluster");
  EXPECT_EQ(res->groups[0].resources[1].name, "services");
}

}  // namespace
}  // namespace tandem::config
