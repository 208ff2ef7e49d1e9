// The example setups in configs/*/ha.d load, for both of their nodes, through
// the real loaders. Each folder is copied into a scratch directory and its
// authkeys made mode 600, as the configs README tells an administrator to.
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
using ::testing::HasSubstr;

struct Setup {
  Diagnostics diags;
  Result<HaCf> cf = Status::NotFound("not loaded");
  Result<HaResources> res = Status::NotFound("not loaded");
  Result<AuthKeys> keys = Status::NotFound("not loaded");
  bool ok() const { return cf.ok() && res.ok() && keys.ok(); }
};

Setup LoadExample(const std::string& name, const std::string& node) {
  ScratchDir dir;
  for (const char* file : {"ha.cf", "haresources", "authkeys"}) {
    dir.Write(file, ReadFileOrEmpty(SourcePath("configs/" + name + "/ha.d/" + file)), 0600);
  }
  Setup s;
  s.cf = LoadHaCf(Env::Default(), dir.path() + "/ha.cf", node, &s.diags);
  if (s.cf.ok()) {
    s.res =
        LoadHaResources(Env::Default(), dir.path() + "/haresources", s.cf->NodeNames(), &s.diags);
  }
  s.keys = LoadAuthKeys(Env::Default(), dir.path() + "/authkeys", &s.diags);
  return s;
}

TEST(HaConfigs, EveryExampleLoadsForBothNodes) {
  const std::pair<const char*, const char*> examples[][2] = {
      {{"vserver-cluster", "vs-a.example.org"}, {"vserver-cluster", "vs-b.example.org"}},
      {{"qmail-cluster", "mx-a"}, {"qmail-cluster", "mx-b"}},
      {{"virtual-ip", "lb-1"}, {"virtual-ip", "lb-2"}},
      {{"demo", "alpha"}, {"demo", "bravo"}},
  };
  for (const auto& pair : examples) {
    for (const auto& [name, node] : pair) {
      auto s = LoadExample(name, node);
      EXPECT_TRUE(s.ok()) << name << " as " << node << "\n" << s.diags.Format();
      EXPECT_FALSE(s.diags.has_errors()) << name;
    }
  }
}

TEST(HaConfigs, VserverClusterHeartbeatsOverSerialAndTwoLinks) {
  auto s = LoadExample("vserver-cluster", "vs-a.example.org");
  ASSERT_TRUE(s.ok()) << s.diags.Format();
  ASSERT_EQ(s.cf->media.size(), 3u);
  EXPECT_EQ(s.cf->media[0].kind, HaMedium::Kind::kSerial);
  EXPECT_EQ(s.cf->baud, 19200);
  EXPECT_EQ(s.cf->auto_failback, AutoFailback::kOff);
  EXPECT_EQ(s.res->groups[0].resources.size(), 3u);
  EXPECT_EQ(s.res->groups[0].resources[1].Canonical(), "Filesystem::/dev/nb0::/vservers::ext4");
  EXPECT_EQ(s.keys->active_index, 2);
}

TEST(HaConfigs, QmailClusterGroupIsContinuedOverTwoLines) {
  auto s = LoadExample("qmail-cluster", "mx-a");
  ASSERT_TRUE(s.ok()) << s.diags.Format();
  const HaResourceGroup& g = s.res->groups.at(0);
  ASSERT_EQ(g.resources.size(), 4u);
  EXPECT_EQ(g.resources[2].Canonical(), "IPaddr::10.10.20.25/24/eth0");
  EXPECT_EQ(g.resources[2].where.line, 3);
  EXPECT_EQ(s.cf->ping_nodes.at(0).name, "10.10.20.254");
}

TEST(HaConfigs, VirtualIpListsEveryAddressOnBothNodes) {
  auto s = LoadExample("virtual-ip", "lb-2");
  ASSERT_TRUE(s.ok()) << s.diags.Format();
  EXPECT_EQ(s.cf->media.size(), 4u);
  EXPECT_EQ(s.cf->local_node, "lb-2");
  EXPECT_EQ(s.res->groups.at(0).node, "lb-1");
}

TEST(HaConfigs, DemoRunsOnLoopbackWithShortTimes) {
  auto s = LoadExample("demo", "alpha");
  ASSERT_TRUE(s.ok()) << s.diags.Format();
  EXPECT_EQ(s.cf->keepalive_ms, 200);
  EXPECT_EQ(s.cf->warntime_ms, 500);
  EXPECT_EQ(s.cf->udp_port, 6940);
  EXPECT_THAT(s.diags.Format(),
              HasSubstr("warning: Initial dead time [2000 ms] may be too small!"));
}

}  // namespace
}  // namespace tandem::config
