#include "config/drbd_loader.h"

#include <gtest/gtest.h>

#include "drbd_test_util.h"

namespace tandem::config {
namespace {

using testing::LoadText;
using testing::Resource;
using testing::TwoHosts;

// Asserts that loading fails and that one diagnostic line is exactly `line`.
void ExpectError(const testing::Loaded& l, const std::string& line) {
  EXPECT_FALSE(l.ok());
  EXPECT_NE(("\n" + l.errors()).find("\n" + line + "\n"), std::string::npos)
      << "expected: " << line << "\ngot:\n"
      << l.errors();
}

TEST(DrbdLoader, The07FormMapsToCanonicalOptions) {
  auto l = LoadText(Resource("protocol A;\nincon-degr-cmd \"halt -f\";\n"
                             "syncer { rate 10M; al-extents 257; group 1; }\n"
                             "net { on-disconnect stand_alone; }"));
  ASSERT_TRUE(l.ok()) << l.errors();
  const auto& o = l.r0().options;
  EXPECT_EQ(o.Str("protocol"), "A");
  EXPECT_EQ(o.Str("pri-on-incon-degr"), "halt -f");
  EXPECT_EQ(o.Int("resync-rate"), 10 << 20);
  EXPECT_EQ(o.Int("al-extents"), 257);
  EXPECT_EQ(o.Int("group"), 1);
  EXPECT_EQ(o.Str("on-disconnect"), "stand_alone");
}

TEST(DrbdLoader, The84FormAndRenamesBothWays) {
  auto l = LoadText(Resource("net { protocol B; verify-alg sha1; }\n"
                             "disk { resync-rate 20M; }"));
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().options.Str("protocol"), "B");
  EXPECT_EQ(l.r0().options.Int("resync-rate"), 20 << 20);
  EXPECT_EQ(l.r0().options.Str("verify-alg"), "sha1");
  // The old name in the new place and the new name in the old place.
  l = LoadText(Resource("disk { rate 30M; } syncer { verify-alg md5; }"));
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().options.Int("resync-rate"), 30 << 20);
  l = LoadText(Resource("syncer { resync-rate 40M; }"));
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().options.Int("resync-rate"), 40 << 20);
}

TEST(DrbdLoader, SettingTheSameOptionTwiceIsAnError) {
  auto l = LoadText("resource r0 {\n  protocol C;\n  net { protocol A; }\n" + TwoHosts() + "}\n");
  ExpectError(l, "/etc/drbd.conf:3:9: error: 'protocol' is set twice (first at "
                 "/etc/drbd.conf:2:3)");
  l = LoadText("resource r0 {\n  syncer { rate 1M; }\n  disk { resync-rate 2M; }\n" + TwoHosts() +
               "}\n");
  ExpectError(l, "/etc/drbd.conf:3:10: error: 'resync-rate' is set twice (first at "
                 "/etc/drbd.conf:2:12)");
}

TEST(DrbdLoader, CommonIsInheritedAndResourcesOverride) {
  auto l = LoadText("common { net { protocol A; timeout 30; } disk { on-io-error pass_on; } }\n" +
               Resource("net { timeout 90; }") +
               "resource r1 {\n on alpha { device /dev/drbd1; disk /dev/vg/c; "
               "address 10.0.0.1:7789; meta-disk internal; }\n"
               " on bravo { device /dev/drbd1; disk /dev/vg/d; address 10.0.0.2:7789; "
               "meta-disk internal; }\n}\n");
  ASSERT_TRUE(l.ok()) << l.errors();
  const auto& r0 = l.config->resources[0].options;
  const auto& r1 = l.config->resources[1].options;
  EXPECT_EQ(r0.Str("protocol"), "A");
  EXPECT_EQ(r0.Int("timeout"), 90);
  EXPECT_EQ(r1.Int("timeout"), 30);
  EXPECT_EQ(r1.Str("on-io-error"), "pass_on");
  EXPECT_EQ(r1.Int("ko-count"), 7);
}

TEST(DrbdLoader, UnknownKeywordsGetSuggestions) {
  ExpectError(LoadText(Resource("net {\n  conect-int 10;\n}")),
              "/etc/drbd.conf:3:3: error: unknown keyword 'conect-int' in section 'net' (did you "
              "mean 'connect-int'?)");
  ExpectError(LoadText(Resource("startup { wfc-timout 10; }")),
              "/etc/drbd.conf:2:11: error: unknown keyword 'wfc-timout' in section 'startup' "
              "(did you mean 'wfc-timeout'?)");
  ExpectError(LoadText("resorce r0 { }\n"),
              "/etc/drbd.conf:1:1: error: unknown top-level keyword 'resorce' (did you mean "
              "'resource'?)");
  ExpectError(LoadText(Resource("sycner { rate 1M; }")),
              "/etc/drbd.conf:2:1: error: unknown section 'sycner' in a resource (did you mean "
              "'syncer'?)");
  ExpectError(LoadText(Resource("protocl C;")),
              "/etc/drbd.conf:2:1: error: unknown keyword 'protocl' in a resource (did you mean "
              "'protocol'?)");
  ExpectError(LoadText("resource r0 {\n on alpha { device /dev/drbd0; disk /dev/a; "
                       "adress 10.0.0.1:1; meta-disk internal; }\n}\n"),
              "/etc/drbd.conf:2:45: error: unknown keyword 'adress' in an 'on' section (did you "
              "mean 'address'?)");
  ExpectError(LoadText("global { usage-cont no; }\n"),
              "/etc/drbd.conf:1:10: error: unknown keyword 'usage-cont' in section 'global' "
              "(did you mean 'usage-count'?)");
}

TEST(DrbdLoader, SectionsNeedBlocks) {
  ExpectError(LoadText(Resource("net;")),
              "/etc/drbd.conf:2:1: error: 'net' must be followed by a { block }");
  ExpectError(LoadText("resource r0;\n"),
              "/etc/drbd.conf:1:1: error: 'resource' must be followed by a { block }");
}

TEST(DrbdLoader, ResourceNeedsTwoHostsOneOfThemThisNode) {
  ExpectError(LoadText("resource r0 {\n on alpha { device /dev/drbd0; disk /dev/a; "
                       "address 10.0.0.1:1; meta-disk internal; }\n}\n"),
              "/etc/drbd.conf:1:1: error: resource 'r0' needs exactly two 'on' sections (Tandem "
              "replicates between two nodes), found 1");
  ExpectError(LoadText(Resource(""), "charlie"),
              "/etc/drbd.conf:1:1: error: resource 'r0' has no 'on' section for this node "
              "'charlie' (hosts: alpha, bravo); give the node name with --node");
  auto l = LoadText(Resource(""), "bravo");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.r0().local().name, "bravo");
  EXPECT_EQ(l.r0().peer().name, "alpha");
  std::string three = Resource("on charlie { device /dev/drbd0; disk /dev/c; address "
                               "10.0.0.3:7788; meta-disk internal; }");
  EXPECT_NE(LoadText(three).errors().find("found 3"), std::string::npos);
}

TEST(DrbdLoader, HostsNeedEveryRequiredOption) {
  ExpectError(LoadText("resource r0 {\n  on alpha { device /dev/drbd0; disk /dev/a; "
                       "meta-disk internal; }\n  on bravo { device /dev/drbd0; disk /dev/b; "
                       "address 10.0.0.2:1; meta-disk internal; }\n}\n"),
              "/etc/drbd.conf:2:3: error: host 'alpha' of resource 'r0' has no 'address'");
}

TEST(DrbdLoader, AddressWithoutIpIsRejected) {
  ExpectError(LoadText("resource r0 {\n on alpha {\n  address :7788;\n }\n}\n"),
              "/etc/drbd.conf:3:11: error: 'address :7788' has no IP address (expected IP:port, "
              "e.g. 192.168.1.1:7788)");
}

TEST(DrbdLoader, AddressForms) {
  auto hosts = [](const std::string& a, const std::string& b) {
    return "resource r0 {\n on alpha { device /dev/drbd0; disk /dev/a; address " + a +
           "; meta-disk internal; }\n on bravo { device /dev/drbd0; disk /dev/b; address " + b +
           "; meta-disk internal; }\n}\n";
  };
  auto l = LoadText(hosts("ipv4 10.1.1.1:7788", "10.1.1.2:7788"));
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().hosts[0].address().ToConfigString(), "ipv4 10.1.1.1:7788");
  l = LoadText(hosts("ipv6 [fd00::1]:7788", "ipv6 [fd00::2]:7788"));
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().hosts[0].address().family, Address::Family::kIpv6);
  EXPECT_EQ(l.r0().hosts[0].address().host, "fd00::1");
  EXPECT_EQ(l.r0().hosts[1].address().ToEndpointString(), "[fd00::2]:7788");
  EXPECT_NE(LoadText(hosts("node-a:7788", "10.1.1.2:7788")).errors().find(
                "'node-a' is not a numeric ipv4 address"),
            std::string::npos);
  EXPECT_NE(LoadText(hosts("10.1.1.1", "10.1.1.2:7788")).errors().find("has no port"),
            std::string::npos);
  EXPECT_NE(LoadText(hosts("10.1.1.1:70000", "10.1.1.2:7788")).errors().find(
                "port '70000' is not a number in 1..65535"),
            std::string::npos);
  EXPECT_NE(LoadText(hosts("sdp 10.1.1.1:7788", "10.1.1.2:7788")).errors().find(
                "address family 'sdp' is not supported"),
            std::string::npos);
  EXPECT_NE(LoadText(hosts("fd00::1:7788", "10.1.1.2:7788")).errors().find(
                "write IPv6 as: address ipv6 [addr]:port"),
            std::string::npos);
  ExpectError(LoadText(hosts("10.1.1.1:7788", "10.1.1.1:7788")),
              "/etc/drbd.conf:3:45: error: resource 'r0': both hosts use the same address "
              "10.1.1.1:7788");
}

TEST(DrbdLoader, MetaDiskForms) {
  auto meta = [](const std::string& m) {
    auto l = LoadText("resource r0 {\n on alpha { device /dev/drbd0; disk /dev/a; address "
                      "10.0.0.1:1; " + m + "; }\n on bravo { device /dev/drbd0; disk /dev/b; "
                      "address 10.0.0.2:1; meta-disk internal; }\n}\n");
    return l;
  };
  auto l = meta("meta-disk internal");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.r0().hosts[0].meta_disk().kind, MetaDisk::Kind::kInternal);
  l = meta("meta-disk /dev/sda3[0]");
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().hosts[0].meta_disk(), (MetaDisk{MetaDisk::Kind::kIndexed, "/dev/sda3", 0}));
  l = meta("meta-disk /dev/sda3 [2]");
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().hosts[0].meta_disk(), (MetaDisk{MetaDisk::Kind::kIndexed, "/dev/sda3", 2}));
  l = meta("meta-disk /dev/sdb");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.r0().hosts[0].meta_disk(), (MetaDisk{MetaDisk::Kind::kFlexible, "/dev/sdb", -1}));
  l = meta("flexible-meta-disk /dev/sdb");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.r0().hosts[0].meta_disk().kind, MetaDisk::Kind::kFlexible);
  EXPECT_NE(meta("flexible-meta-disk /dev/sdb[1]").errors().find("takes no index"),
            std::string::npos);
  EXPECT_NE(meta("meta-disk /dev/sdb[x]").errors().find("is not a number in 0..255"),
            std::string::npos);
  EXPECT_NE(meta("meta-disk sdb").errors().find("absolute device path"), std::string::npos);
  EXPECT_NE(meta("meta-disk /dev/sdb (1)").errors().find("expected a meta-data index like [0]"),
            std::string::npos);
  EXPECT_NE(meta("meta-disk internal; meta-disk internal").errors().find("is set twice"),
            std::string::npos);
}

TEST(DrbdLoader, DeviceForms) {
  auto dev = [](const std::string& d) {
    return LoadText("resource r0 {\n on alpha { device " + d +
                    "; disk /dev/a; address 10.0.0.1:1; meta-disk internal; }\n on bravo { "
                    "device /dev/drbd0; disk /dev/b; address 10.0.0.2:1; meta-disk internal; "
                    "}\n}\n");
  };
  auto l = dev("/dev/drbd7");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.r0().hosts[0].device(), (Device{"/dev/drbd7", 7}));
  l = dev("/dev/nb0");
  EXPECT_EQ(l.r0().hosts[0].device(), (Device{"/dev/nb0", 0}));
  l = dev("minor 4");
  EXPECT_EQ(l.r0().hosts[0].device(), (Device{"/dev/drbd4", 4}));
  l = dev("/dev/replicated minor 5");
  EXPECT_EQ(l.r0().hosts[0].device(), (Device{"/dev/replicated", 5}));
  EXPECT_NE(dev("/dev/replicated").errors().find(
                "cannot tell the minor number of '/dev/replicated'; write 'device "
                "/dev/replicated minor N'"),
            std::string::npos);
  EXPECT_NE(dev("drbd0").errors().find("absolute path"), std::string::npos);
  EXPECT_NE(dev("/dev/drbd0 minor x").errors().find("is not a number"), std::string::npos);
  EXPECT_NE(dev("/dev/drbd0 major 1").errors().find("expected 'device [PATH] [minor N]'"),
            std::string::npos);
}

TEST(DrbdLoader, ResourceLevelHostDefaults) {
  auto l = LoadText("resource r0 {\n device /dev/drbd3; disk /dev/vg/r0; meta-disk internal;\n"
                    " on alpha { address 10.0.0.1:7788; }\n"
                    " on bravo { address 10.0.0.2:7788; disk /dev/vg/other; }\n}\n");
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().hosts[0].disk(), "/dev/vg/r0");
  EXPECT_EQ(l.r0().hosts[1].disk(), "/dev/vg/other");
  EXPECT_EQ(l.r0().hosts[1].device().minor, 3);
  ExpectError(LoadText("common { device /dev/drbd0; }\n"),
              "/etc/drbd.conf:1:10: error: 'device' belongs in a resource or an 'on' section, "
              "not in 'common'");
}

TEST(DrbdLoader, OneVolumePerResource) {
  auto l = LoadText("resource r0 {\n on alpha { volume 0 { device /dev/drbd0; disk /dev/a; "
                    "meta-disk internal; } address 10.0.0.1:1; }\n on bravo { volume 0 { device "
                    "/dev/drbd0; disk /dev/b; meta-disk internal; } address 10.0.0.2:1; }\n}\n");
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().hosts[0].disk(), "/dev/a");
  l = LoadText("resource r0 {\n on alpha { volume 0 { device /dev/drbd0; disk /dev/a; "
               "meta-disk internal; } volume 1 { device /dev/drbd1; } address 10.0.0.1:1; }\n}\n");
  EXPECT_NE(l.errors().find("Tandem replicates one volume per resource"), std::string::npos);
  l = LoadText("resource r0 {\n on alpha { volume 0 { address 10.0.0.1:1; } }\n}\n");
  EXPECT_NE(l.errors().find("'address' is not allowed inside 'volume'"), std::string::npos);
}

TEST(DrbdLoader, DevicesMinorsAndAddressesAreUniquePerHost) {
  std::string r1 = "resource r1 {\n on alpha { device /dev/drbd0; disk /dev/vg/c; "
                   "address 10.0.0.1:7789; meta-disk internal; }\n on bravo { device /dev/drbd1; "
                   "disk /dev/vg/d; address 10.0.0.2:7789; meta-disk internal; }\n}\n";
  auto l = LoadText(Resource("") + r1);
  EXPECT_NE(l.errors().find("device /dev/drbd0 on alpha is used by resources 'r0'"),
            std::string::npos)
      << l.errors();
  EXPECT_NE(l.errors().find("minor 0 on alpha is used by resources 'r0'"), std::string::npos);
  std::string r2 = "resource r2 {\n on alpha { device /dev/drbd2; disk /dev/vg/c; "
                   "address 10.0.0.1:7788; meta-disk internal; }\n on bravo { device /dev/drbd2; "
                   "disk /dev/vg/d; address 10.0.0.2:7790; meta-disk internal; }\n}\n";
  EXPECT_NE(LoadText(Resource("") + r2).errors().find(
                "address 10.0.0.1:7788 on alpha is used by resources 'r0'"),
            std::string::npos);
}

TEST(DrbdLoader, ResourceNamesAreValidAndUnique) {
  EXPECT_NE(LoadText(Resource("", "r/0")).errors().find("invalid resource name 'r/0'"),
            std::string::npos);
  EXPECT_NE(LoadText(Resource("") + Resource("")).errors().find("resource 'r0' is defined twice"),
            std::string::npos);
  ExpectError(LoadText("resource { }\n"),
              "/etc/drbd.conf:1:1: error: 'resource' takes exactly one name");
}

TEST(DrbdLoader, GlobalAndCommonOnlyOnce) {
  EXPECT_NE(LoadText("global { }\nglobal { }\n").errors().find(
                "/etc/drbd.conf:2:1: error: second 'global' section (the first is at "
                "/etc/drbd.conf:1:1)"),
            std::string::npos);
  EXPECT_NE(LoadText("common { }\ncommon { }\n").errors().find("second 'common' section"),
            std::string::npos);
}

TEST(DrbdLoader, AuthenticationNeedsASecret) {
  EXPECT_NE(LoadText(Resource("net { cram-hmac-alg sha1; }")).errors().find(
                "cram-hmac-alg is set but shared-secret is not"),
            std::string::npos);
  EXPECT_NE(LoadText(Resource("net { cram-hmac-alg sha1; shared-secret \"" +
                              std::string(65, 'x') + "\"; }"))
                .errors()
                .find("shared-secret is longer than 64 characters"),
            std::string::npos);
  auto l = LoadText(Resource("net { cram-hmac-alg sha1; shared-secret \"s3cr#t;{}\"; }"));
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().options.Str("shared-secret"), "s3cr#t;{}");
}

TEST(DrbdLoader, DiscardNodeMustNameAHost) {
  EXPECT_TRUE(LoadText(Resource("net { after-sb-0pri discard-node-bravo; }")).ok());
  EXPECT_NE(LoadText(Resource("net { after-sb-0pri discard-node-zulu; }")).errors().find(
                "after-sb-0pri names 'zulu', which is not one of its hosts"),
            std::string::npos);
}

TEST(DrbdLoader, ErrorsAreAllReportedAndNoModelIsReturned) {
  auto l = LoadText(Resource("net { timeout 0; ko-count 999; }\ndisk { on-io-error x; }"));
  EXPECT_FALSE(l.ok());
  EXPECT_EQ(l.diags.error_count(), 3u) << l.errors();
  EXPECT_NE(l.config.status().message().find("(and 2 more errors)"), std::string::npos);
}

TEST(DrbdLoader, MissingFileNamesThePath) {
  MemEnv env;
  Diagnostics d;
  auto r = LoadDrbdConfig(&env, "/etc/nope.conf", "alpha", &d);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(d.Format().find("/etc/nope.conf: error: cannot open /etc/nope.conf"),
            std::string::npos)
      << d.Format();
}

TEST(DrbdLoader, DefaultPathPrefersTandemConf) {
  MemEnv env;
  EXPECT_EQ(DefaultDrbdConfigPath(&env), "/etc/drbd.conf");
  env.AddFile("/etc/tandem/tandem.conf", "");
  EXPECT_EQ(DefaultDrbdConfigPath(&env), "/etc/tandem/tandem.conf");
}

}  // namespace
}  // namespace tandem::config
