#include "config/ha_cf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/mem_env.h"
#include "common/strings.h"
#include "config/ha_line_reader.h"

namespace tandem::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kPath = "/etc/ha.d/ha.cf";

struct Loaded {
  Diagnostics diags;
  Result<HaCf> cf = Status::NotFound("not loaded");
  std::string text() const { return diags.Format(); }
};

Loaded Load(const std::string& text, const std::string& node = "alpha") {
  Loaded l;
  l.cf = ParseHaCf(text, kPath, node, &l.diags);
  return l;
}

// The smallest valid file: two nodes and one medium, then `extra`.
std::string Minimal(const std::string& extra = "") {
  return "node alpha\nnode bravo\nbcast eth0\nlogfacility daemon\n" + extra;
}

// Lines 1-4 are Minimal(); the line under test is line 5.
std::string At5(const std::string& what) {
  return std::string(kPath) + ":5" + what;
}

// --- defaults ----------------------------------------------------------------

TEST(HaCfDefaults, MinimalFileGetsHeartbeatsDefaults) {
  auto l = Load(Minimal());
  ASSERT_TRUE(l.cf.ok()) << l.text();
  const HaCf& cf = *l.cf;
  EXPECT_EQ(cf.keepalive_ms, 1000);
  EXPECT_EQ(cf.deadtime_ms, 30000);
  EXPECT_EQ(cf.warntime_ms, 15000);
  EXPECT_EQ(cf.initdead_ms, 30000);
  EXPECT_EQ(cf.deadping_ms, 30000);
  EXPECT_EQ(cf.udp_port, 694);
  EXPECT_EQ(cf.baud, 19200);
  EXPECT_EQ(cf.hopfudge, 1);
  EXPECT_EQ(cf.auto_failback, AutoFailback::kLegacy);
  EXPECT_FALSE(cf.use_logd.has_value());
  EXPECT_EQ(cf.local_node, "alpha");
  EXPECT_EQ(cf.NodeNames(), (std::vector<std::string>{"alpha", "bravo"}));
  EXPECT_FALSE(cf.IsWritten("keepalive"));
  EXPECT_TRUE(cf.IsWritten("logfacility"));
}

TEST(HaCfDefaults, LegacyAutoFailbackDrawsHeartbeatsWarningAtTheEnd) {
  auto l = Load(Minimal());
  ASSERT_TRUE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) +
                                  ":4: warning: Deprecated 'legacy' auto_failback option "
                                  "selected. Please convert to 'auto_failback on'"));
  auto written = Load(Minimal("auto_failback legacy\n"));
  EXPECT_THAT(written.text(), HasSubstr(At5(":1: warning: Deprecated 'legacy'")));
  auto off = Load(Minimal("auto_failback off\n"));
  EXPECT_THAT(off.text(), Not(HasSubstr("legacy")));
}

TEST(HaCfDefaults, InitdeadFollowsDeadtimeAsHeartbeatDoes) {
  struct Case {
    const char* deadtime;
    int64_t initdead;
  } cases[] = {{"30", 30000}, {"11", 11000},  {"10.5", 10500}, {"10", 20000},
               {"6", 12000},  {"5.9", 12000}, {"3", 12000}};
  for (const auto& c : cases) {
    auto l = Load(Minimal("keepalive 500ms\ndeadtime " + std::string(c.deadtime) + "\n"));
    ASSERT_TRUE(l.cf.ok()) << c.deadtime << "\n" << l.text();
    EXPECT_EQ(l.cf->initdead_ms, c.initdead) << "deadtime " << c.deadtime;
    // A computed initdead never draws the "too small" warning.
    EXPECT_THAT(l.text(), Not(HasSubstr("Initial dead time"))) << c.deadtime;
  }
}

TEST(HaCfDefaults, WarntimeAndDeadpingFollowDeadtime) {
  auto l = Load(Minimal("keepalive 250ms\ndeadtime 1.5\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->warntime_ms, 750);
  EXPECT_EQ(l.cf->deadping_ms, 1500);
}

// --- times -------------------------------------------------------------------

TEST(HaCfTimes, SecondsDecimalsAndSuffixes) {
  struct Case {
    const char* text;
    int64_t ms;
  } cases[] = {{"2", 2000},  {"1.5", 1500}, {"500ms", 500},
               {"2s", 2000}, {"0.25", 250}, {"1500ms", 1500}};
  for (const auto& c : cases) {
    auto l = Load(Minimal("keepalive " + std::string(c.text) + "\ndeadtime 60\n"));
    ASSERT_TRUE(l.cf.ok()) << c.text << "\n" << l.text();
    EXPECT_EQ(l.cf->keepalive_ms, c.ms) << c.text;
  }
}

TEST(HaCfTimes, EachTimeDirectiveIsRead) {
  auto l =
      Load(Minimal("keepalive 2\ndeadtime 12\nwarntime 8\ninitdead 60\ndeadping 20\n"
                   "ping 10.0.0.254\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->keepalive_ms, 2000);
  EXPECT_EQ(l.cf->deadtime_ms, 12000);
  EXPECT_EQ(l.cf->warntime_ms, 8000);
  EXPECT_EQ(l.cf->initdead_ms, 60000);
  EXPECT_EQ(l.cf->deadping_ms, 20000);
  EXPECT_FALSE(l.diags.has_errors());
}

TEST(HaCfTimes, BadTimesAreErrorsAtTheValue) {
  struct Case {
    const char* line;
    const char* expected;
  } cases[] = {
      {"keepalive abc",
       ":11: error: 'keepalive': 'abc' is not a time: seconds, decimals allowed, or with an "
       "'ms' suffix"},
      {"keepalive -1", ":11: error: 'keepalive': '-1' is not a time"},
      {"keepalive 0", ":11: error: 'keepalive' must be more than 0"},
      {"warntime 0ms", ":10: error: 'warntime' must be more than 0"},
      {"deadtime 100000", ":10: error: 'deadtime' '100000' is longer than a day"},
      {"keepalive 1 2", ":13: error: 'keepalive' takes one value"},
      {"initdead", ":1: error: 'initdead' needs a value"},
      {"deadping 5m", ":10: error: 'deadping': '5m' is not a time"},
  };
  for (const auto& c : cases) {
    auto l = Load(Minimal(std::string(c.line) + "\n"));
    EXPECT_FALSE(l.cf.ok()) << c.line;
    EXPECT_THAT(l.text(), HasSubstr(At5(c.expected))) << c.line;
  }
}

TEST(HaCfTimes, SettingATimeTwiceIsAnError) {
  auto l = Load(Minimal("keepalive 1\nkeepalive 2\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) +
                                  ":6:1: error: 'keepalive' is set twice "
                                  "(first at " +
                                  kPath + ":5:1)"));
}

TEST(HaCfTimes, DeadtimeMustExceedTwiceKeepalive) {
  auto l = Load(Minimal("keepalive 2\ndeadtime 4\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) +
                                  ":6:1: error: Dead time [4000 ms] is too small compared to "
                                  "keeplive [2000 ms]"));
  EXPECT_TRUE(Load(Minimal("keepalive 2\ndeadtime 4001ms\n")).cf.ok());
}

TEST(HaCfTimes, DefaultDeadtimeBlamesTheKeepaliveLine) {
  auto l = Load(Minimal("keepalive 15\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(At5(":1: error: Dead time [30000 ms] is too small compared to "
                                      "keeplive [15000 ms]")));
}

TEST(HaCfTimes, InitdeadBelowDeadtimeIsAnError) {
  auto l = Load(Minimal("deadtime 10\ninitdead 5\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) +
                                  ":6:1: error: Initial dead time [5000 ms] is smaller than "
                                  "deadtime [10000 ms]"));
}

TEST(HaCfTimes, InitdeadUnderTenSecondsIsOnlyAWarning) {
  auto l = Load(Minimal("keepalive 500ms\ndeadtime 2\ninitdead 5\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->initdead_ms, 5000);
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) +
                                  ":7:1: warning: Initial dead time [5000 ms] may be too small!"));
  auto ten = Load(Minimal("keepalive 500ms\ndeadtime 2\ninitdead 10\n"));
  EXPECT_THAT(ten.text(), Not(HasSubstr("may be too small")));
}

TEST(HaCfTimes, DeadpingMustExceedTwiceKeepalive) {
  auto l = Load(Minimal("keepalive 2\ndeadtime 10\ndeadping 4\nping 10.0.0.254\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) +
                                  ":7:1: error: Ping dead time [4000 ms] is too small compared "
                                  "to keeplive [2000 ms]"));
}

TEST(HaCfTimes, DeadpingWithoutPingNodesIsAWarning) {
  auto l = Load(Minimal("deadping 40\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_THAT(l.text(), HasSubstr(At5(":1: warning: deadping has no effect without ping")));
}

TEST(HaCfTimes, WarntimeNotBelowDeadtimeIsAWarning) {
  auto l = Load(Minimal("deadtime 10\nwarntime 10\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + ":6:1: warning: Warn time [10000 ms] is "
                                                       "not below deadtime [10000 ms]"));
}

// --- nodes -------------------------------------------------------------------

TEST(HaCfNodes, NoNodesIsAnErrorAtTheLastLine) {
  auto l = Load("bcast eth0\nlogfacility daemon\n");
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + ":2: error: no nodes defined"));
}

TEST(HaCfNodes, ThisNodeMustBeListed) {
  auto l = Load(Minimal(), "gamma");
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) +
                                  ":1:6: error: Current node [gamma] not in configuration!"));
}

TEST(HaCfNodes, NamesAreFoldedToLowerCase) {
  auto l = Load("node Alpha BRAVO\nbcast eth0\nlogfacility daemon\n", "ALPHA");
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->NodeNames(), (std::vector<std::string>{"alpha", "bravo"}));
  EXPECT_EQ(l.cf->local_node, "alpha");
  EXPECT_NE(l.cf->FindNode("Bravo"), nullptr);
  EXPECT_EQ(l.cf->FindNode("gamma"), nullptr);
}

TEST(HaCfNodes, ThreeNodesAreAnError) {
  auto l = Load("node alpha bravo charlie\nbcast eth0\nlogfacility daemon\n");
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + ":1:18: error: Tandem is a two-node "
                                                       "cluster; node [charlie] is a third node"));
}

TEST(HaCfNodes, OneNodeIsAWarning) {
  auto l = Load("node alpha\nbcast eth0\nlogfacility daemon\n");
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_THAT(l.text(), HasSubstr(":1:6: warning: only one node is listed"));
}

TEST(HaCfNodes, DuplicateAndInvalidNames) {
  auto dup = Load(Minimal("node ALPHA\n"));
  EXPECT_FALSE(dup.cf.ok());
  EXPECT_THAT(dup.text(), HasSubstr(At5(":6: error: node name [alpha] is already used at " +
                                        std::string(kPath) + ":1:6")));
  auto bad = Load(Minimal("node a/b\n"));
  EXPECT_THAT(bad.text(), HasSubstr(At5(":6: error: invalid node name 'a/b'")));
  auto none = Load(Minimal("node\n"));
  EXPECT_THAT(none.text(), HasSubstr(At5(":1: error: 'node' needs at least one node name")));
}

// --- media -------------------------------------------------------------------

TEST(HaCfMedia, NoMediaIsAnError) {
  auto l = Load("node alpha bravo\nlogfacility daemon\n");
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + ":2: error: No heartbeat media defined"));
}

TEST(HaCfMedia, BcastTakesSeveralInterfaces) {
  auto l = Load("node alpha bravo\nlogfacility daemon\nbcast eth0 eth1\n");
  ASSERT_TRUE(l.cf.ok()) << l.text();
  ASSERT_EQ(l.cf->media.size(), 2u);
  EXPECT_EQ(l.cf->media[0].kind, HaMedium::Kind::kBcast);
  EXPECT_EQ(l.cf->media[0].interface, "eth0");
  EXPECT_EQ(l.cf->media[1].interface, "eth1");
  EXPECT_EQ(l.cf->media[1].where.ToString(), std::string(kPath) + ":3:12");
}

TEST(HaCfMedia, UdpIsBcastWithAWarning) {
  auto l = Load("node alpha bravo\nlogfacility daemon\nudp eth1\n");
  ASSERT_TRUE(l.cf.ok()) << l.text();
  ASSERT_EQ(l.cf->media.size(), 1u);
  EXPECT_EQ(l.cf->media[0].kind, HaMedium::Kind::kBcast);
  EXPECT_THAT(l.text(),
              HasSubstr(std::string(kPath) + ":3:1: warning: directive 'udp' replaced by 'bcast'"));
}

TEST(HaCfMedia, BcastErrors) {
  EXPECT_THAT(Load(Minimal("bcast\n")).text(),
              HasSubstr(At5(":1: error: 'bcast' needs at least one interface name")));
  EXPECT_THAT(Load(Minimal("bcast averyveryverylongname0\n")).text(),
              HasSubstr(At5(":7: error: 'averyveryverylongname0' is not a valid interface name")));
  EXPECT_THAT(Load(Minimal("bcast eth0:1\n")).text(),
              HasSubstr(At5(":7: error: 'eth0:1' is not a valid interface name")));
}

TEST(HaCfMedia, UcastRecordsInterfaceAndAddress) {
  auto l = Load(Minimal("ucast eth1 10.0.0.2\nucast eth2 fe80::1\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  ASSERT_EQ(l.cf->media.size(), 3u);
  EXPECT_EQ(l.cf->media[1].kind, HaMedium::Kind::kUcast);
  EXPECT_EQ(l.cf->media[1].interface, "eth1");
  EXPECT_EQ(l.cf->media[1].address, "10.0.0.2");
  EXPECT_EQ(l.cf->media[2].address, "fe80::1");
}

TEST(HaCfMedia, UcastErrors) {
  EXPECT_THAT(Load(Minimal("ucast eth1 peer.example.org\n")).text(),
              HasSubstr(At5(":12: error: ucast: [peer.example.org] is not a numeric IPv4 or "
                            "IPv6 address")));
  EXPECT_THAT(Load(Minimal("ucast eth1 10.0.0.256\n")).text(),
              HasSubstr(At5(":12: error: ucast: [10.0.0.256]")));
  EXPECT_THAT(Load(Minimal("ucast eth1\n")).text(),
              HasSubstr(At5(":1: error: 'ucast' takes an interface and an IP address: ucast "
                            "IFACE IP (found 1 values)")));
  EXPECT_THAT(Load(Minimal("ucast eth1 10.0.0.1 10.0.0.2\n")).text(),
              HasSubstr(At5(":1: error: 'ucast' takes an interface and an IP address")));
}

TEST(HaCfMedia, McastReadsAllFiveValues) {
  auto l = Load(Minimal("mcast eth0 225.0.0.1 694 1 0\nmcast eth1 ff02::1:2 695 255 1\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  const HaMedium& m = l.cf->media[1];
  EXPECT_EQ(m.kind, HaMedium::Kind::kMcast);
  EXPECT_EQ(m.interface, "eth0");
  EXPECT_EQ(m.address, "225.0.0.1");
  EXPECT_EQ(m.port, 694);
  EXPECT_EQ(m.ttl, 1);
  EXPECT_FALSE(m.loop);
  EXPECT_EQ(l.cf->media[2].ttl, 255);
  EXPECT_TRUE(l.cf->media[2].loop);
}

TEST(HaCfMedia, McastErrorsNameEachBadValue) {
  auto l = Load(Minimal("mcast eth0 10.0.0.1 0 256 2\n"));
  EXPECT_FALSE(l.cf.ok());
  const std::string t = l.text();
  EXPECT_THAT(t, HasSubstr(At5(":12: error: mcast: [10.0.0.1] is not a multicast group")));
  EXPECT_THAT(t, HasSubstr(At5(":21: error: mcast: port '0' is not a number in 1..65535")));
  EXPECT_THAT(t, HasSubstr(At5(":23: error: mcast: ttl '256' is not a number in 0..255")));
  EXPECT_THAT(t, HasSubstr(At5(":27: error: mcast: loop '2' must be 0 or 1")));
  EXPECT_THAT(Load(Minimal("mcast eth0 225.0.0.1 694\n")).text(),
              HasSubstr(At5(":1: error: 'mcast' takes five values: mcast IFACE GROUP PORT TTL "
                            "LOOP (found 3)")));
}

TEST(HaCfMedia, SerialTakesAbsoluteDevicePaths) {
  auto l = Load("node alpha bravo\nlogfacility daemon\nserial /dev/ttyS0 /dev/ttyS1\n");
  ASSERT_TRUE(l.cf.ok()) << l.text();
  ASSERT_EQ(l.cf->media.size(), 2u);
  EXPECT_EQ(l.cf->media[0].kind, HaMedium::Kind::kSerial);
  EXPECT_EQ(l.cf->media[1].device, "/dev/ttyS1");
  EXPECT_FALSE(l.cf->media[0].uses_udp());
  EXPECT_THAT(Load(Minimal("serial ttyS0\n")).text(),
              HasSubstr(At5(":8: error: serial device [ttyS0] is not an absolute path")));
  EXPECT_THAT(Load(Minimal("serial\n")).text(),
              HasSubstr(At5(":1: error: 'serial' needs at least one device")));
}

TEST(HaCfMedia, BaudValuesAndPlacement) {
  auto l = Load("node alpha bravo\nlogfacility daemon\nserial /dev/ttyS0\nbaud 115200\n");
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->baud, 115200);
  EXPECT_FALSE(l.diags.has_errors());
  EXPECT_THAT(Load(Minimal("baud 12345\n")).text(),
              HasSubstr(At5(":6: error: invalid baudrate [12345] specified")));
  EXPECT_THAT(Load(Minimal("baud 9600\nbaud 19200\n")).text(),
              HasSubstr(":6:1: error: 'baud' is set twice"));
}

TEST(HaCfMedia, UdpPortValuesAndDefault) {
  auto l = Load("udpport 1001\n" + Minimal());
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->udp_port, 1001);
  EXPECT_THAT(Load(Minimal("udpport 0\n")).text(),
              HasSubstr(At5(":9: error: invalid port [0] specified (1..65535)")));
  EXPECT_THAT(Load(Minimal("udpport 65536\n")).text(),
              HasSubstr(At5(":9: error: invalid port [65536]")));
}

TEST(HaCfMedia, UdpPortAfterAUdpMediumIsAnError) {
  for (const char* medium :
       {"bcast eth1", "ucast eth1 10.0.0.2", "mcast eth1 225.0.0.1 694 1 0", "udp eth1"}) {
    auto l =
        Load("node alpha bravo\nlogfacility daemon\n" + std::string(medium) + "\nudpport 1001\n");
    EXPECT_FALSE(l.cf.ok()) << medium;
    EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) +
                                    ":4:1: error: udpport must come before the media lines that "
                                    "use it (the first is at " +
                                    kPath + ":3:"))
        << medium;
  }
  // A serial line does not use the port.
  auto serial = Load(
      "node alpha bravo\nlogfacility daemon\nserial /dev/ttyS0\nudpport 1001\n"
      "bcast eth0\n");
  EXPECT_TRUE(serial.cf.ok()) << serial.text();
}

TEST(HaCfMedia, TheSameMediumTwiceIsAWarning) {
  auto l = Load(Minimal("bcast eth0\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_THAT(l.text(), HasSubstr(At5(":7: warning: the same medium is already listed at " +
                                      std::string(kPath) + ":3:7")));
}

// --- ping nodes ----------------------------------------------------------------

TEST(HaCfPing, PingTakesOneOrMoreAddresses) {
  auto l =
      Load(Minimal("ping 10.0.0.254 10.0.1.254\nping_group lan 192.168.0.50 "
                   "192.168.0.51\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  ASSERT_EQ(l.cf->ping_nodes.size(), 3u);
  EXPECT_EQ(l.cf->ping_nodes[1].name, "10.0.1.254");
  EXPECT_FALSE(l.cf->ping_nodes[1].is_group);
  EXPECT_EQ(l.cf->ping_nodes[2].name, "lan");
  EXPECT_TRUE(l.cf->ping_nodes[2].is_group);
  EXPECT_EQ(l.cf->ping_nodes[2].addresses,
            (std::vector<std::string>{"192.168.0.50", "192.168.0.51"}));
}

TEST(HaCfPing, PingErrors) {
  EXPECT_THAT(Load(Minimal("ping\n")).text(),
              HasSubstr(At5(":1: error: 'ping' needs at least one address to ping")));
  EXPECT_THAT(Load(Minimal("ping router\n")).text(),
              HasSubstr(At5(":6: error: ping: [router] is not a numeric IPv4 or IPv6 address")));
  EXPECT_THAT(Load(Minimal("ping_group lan\n")).text(),
              HasSubstr(At5(":1: error: 'ping_group' needs a group name and at least one "
                            "address")));
  EXPECT_THAT(Load(Minimal("ping_group lan 1.2.3.4 gw\n")).text(),
              HasSubstr(At5(":24: error: ping_group: [gw] is not a numeric")));
  EXPECT_THAT(Load(Minimal("ping_group alpha 1.2.3.4\n")).text(),
              HasSubstr(At5(":12: error: node name [alpha] is already used")));
  EXPECT_THAT(Load(Minimal("ping 1.2.3.4\nping 1.2.3.4\n")).text(),
              HasSubstr(":6:6: error: node name [1.2.3.4] is already used"));
}

// --- respawn, apiauth, stonith_host ------------------------------------------------

TEST(HaCfClients, RespawnRecordsUserProgramAndArguments) {
  auto l =
      Load(Minimal("respawn hacluster /usr/lib/heartbeat/ipfail\n"
                   "respawn root /usr/sbin/watcher -v --once\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  ASSERT_EQ(l.cf->respawns.size(), 2u);
  EXPECT_EQ(l.cf->respawns[0].user, "hacluster");
  EXPECT_EQ(l.cf->respawns[0].program, "/usr/lib/heartbeat/ipfail");
  EXPECT_TRUE(l.cf->respawns[0].args.empty());
  EXPECT_EQ(l.cf->respawns[1].args, (std::vector<std::string>{"-v", "--once"}));
}

TEST(HaCfClients, RespawnErrors) {
  EXPECT_THAT(Load(Minimal("respawn hacluster ipfail\n")).text(),
              HasSubstr(At5(":19: error: Client child command [ipfail] is not full pathname")));
  EXPECT_THAT(Load(Minimal("respawn hacluster\n")).text(),
              HasSubstr(At5(":1: error: 'respawn' needs a user and a program")));
}

TEST(HaCfClients, ApiAuthRecordsTheLists) {
  auto l = Load(Minimal("apiauth ipfail gid=haclient uid=hacluster\napiauth ping gid=a,b\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  ASSERT_EQ(l.cf->api_auth.size(), 2u);
  EXPECT_EQ(l.cf->api_auth[0].client, "ipfail");
  EXPECT_EQ(l.cf->api_auth[0].uids, "hacluster");
  EXPECT_EQ(l.cf->api_auth[0].gids, "haclient");
  EXPECT_EQ(l.cf->api_auth[1].uids, "");
  EXPECT_EQ(l.cf->api_auth[1].gids, "a,b");
}

TEST(HaCfClients, ApiAuthErrors) {
  EXPECT_THAT(Load(Minimal("apiauth ipfail\n")).text(),
              HasSubstr(At5(":1: error: 'apiauth' needs a client and uid= or gid= lists")));
  EXPECT_THAT(Load(Minimal("apiauth ipfail hacluster\n")).text(),
              HasSubstr(At5(":16: error: Missing uid or gid in apiauth: 'hacluster'")));
  EXPECT_THAT(Load(Minimal("apiauth ipfail uid=a uid=b\n")).text(),
              HasSubstr(At5(":22: error: Duplicate uid list in apiauth")));
  EXPECT_THAT(Load(Minimal("apiauth ipfail gid=\n")).text(),
              HasSubstr(At5(":16: error: empty gid list in apiauth")));
  EXPECT_THAT(Load(Minimal("apiauth ipfail uid=a\napiauth ipfail uid=b\n")).text(),
              HasSubstr(":6:9: error: Duplicate apiauth directive for API client ipfail"));
}

TEST(HaCfClients, StonithHostIsRecordedAndChecked) {
  auto l =
      Load(Minimal("stonith_host * baytech 10.0.0.3 admin secret\n"
                   "stonith_host Bravo null bravo\nstonith_host gamma null gamma\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  ASSERT_EQ(l.cf->stonith_hosts.size(), 3u);
  EXPECT_EQ(l.cf->stonith_hosts[0].host, "*");
  EXPECT_EQ(l.cf->stonith_hosts[0].type, "baytech");
  EXPECT_EQ(l.cf->stonith_hosts[0].params.size(), 3u);
  EXPECT_EQ(l.cf->stonith_hosts[1].host, "bravo");
  EXPECT_THAT(l.text(), HasSubstr(":7:1: warning: stonith_host names [gamma], which is not a "
                                  "node of this ha.cf"));
  EXPECT_THAT(Load(Minimal("stonith_host *\n")).text(),
              HasSubstr(At5(":1: error: 'stonith_host' needs a host and a STONITH type")));
}

// --- failback, logging, hopfudge ------------------------------------------------

TEST(HaCfFailback, AutoFailbackValues) {
  struct Case {
    const char* value;
    AutoFailback expected;
  } cases[] = {{"on", AutoFailback::kOn},         {"off", AutoFailback::kOff},
               {"yes", AutoFailback::kOn},        {"no", AutoFailback::kOff},
               {"true", AutoFailback::kOn},       {"false", AutoFailback::kOff},
               {"legacy", AutoFailback::kLegacy}, {"OFF", AutoFailback::kOff}};
  for (const auto& c : cases) {
    auto l = Load(Minimal("auto_failback " + std::string(c.value) + "\n"));
    ASSERT_TRUE(l.cf.ok()) << c.value << "\n" << l.text();
    EXPECT_EQ(l.cf->auto_failback, c.expected) << c.value;
  }
  EXPECT_THAT(Load(Minimal("auto_failback sometimes\n")).text(),
              HasSubstr(At5(":15: error: auto_failback 'sometimes' must be on, off or legacy")));
}

TEST(HaCfFailback, NiceFailbackIsTheObsoleteSpelling) {
  auto on = Load(Minimal("nice_failback on\n"));
  ASSERT_TRUE(on.cf.ok()) << on.text();
  EXPECT_EQ(on.cf->auto_failback, AutoFailback::kOff);
  EXPECT_THAT(on.text(), HasSubstr(At5(":1: warning: nice_failback flag is obsolete; read as "
                                       "'auto_failback off'")));
  auto off = Load(Minimal("nice_failback off\n"));
  ASSERT_TRUE(off.cf.ok());
  EXPECT_EQ(off.cf->auto_failback, AutoFailback::kLegacy);
  auto both = Load(Minimal("auto_failback on\nnice_failback on\n"));
  EXPECT_FALSE(both.cf.ok());
  EXPECT_THAT(both.text(), HasSubstr(":6:1: error: 'nice_failback' sets 'auto_failback', which is "
                                     "already set at " +
                                     std::string(kPath) + ":5:1"));
}

TEST(HaCfLogging, LogDirectivesAreRecorded) {
  auto l = Load(
      "node alpha bravo\nbcast eth0\nuse_logd yes\nlogfile /var/log/ha-log\n"
      "debugfile /var/log/ha-debug\nlogfacility LOCAL7\n");
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->use_logd, std::optional<bool>(true));
  EXPECT_EQ(l.cf->logfile, "/var/log/ha-log");
  EXPECT_EQ(l.cf->debugfile, "/var/log/ha-debug");
  EXPECT_EQ(l.cf->log_facility, "local7");
}

TEST(HaCfLogging, LoggingErrorsAndWarnings) {
  EXPECT_THAT(Load(Minimal("use_logd maybe\n")).text(),
              HasSubstr(At5(":10: error: use_logd 'maybe' must be on or off")));
  EXPECT_THAT(Load(Minimal("logfile ha.log\n")).text(),
              HasSubstr(At5(":9: warning: 'logfile' 'ha.log' is not an absolute path")));
  EXPECT_THAT(Load("node alpha bravo\nbcast eth0\nlogfacility locl0\n").text(),
              HasSubstr(":3:13: error: Log facility(locl0) not valid (did you mean 'local0'?)"));
  auto none = Load("node alpha bravo\nbcast eth0\nuse_logd off\n");
  EXPECT_FALSE(none.cf.ok());
  EXPECT_THAT(none.text(), HasSubstr(":3:1: error: No log entry found in ha.cf and use_logd is "
                                     "set to off"));
  auto facility_none = Load("node alpha bravo\nbcast eth0\nlogfacility none\nuse_logd off\n");
  EXPECT_FALSE(facility_none.cf.ok());
}

TEST(HaCfMisc, Hopfudge) {
  auto l = Load(Minimal("hopfudge 0\n"));
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->hopfudge, 0);
  EXPECT_THAT(Load(Minimal("hopfudge 256\n")).text(),
              HasSubstr(At5(":10: error: 'hopfudge' '256' is not a hop count in 0..255")));
}

// --- directives Tandem does not act on, and unknown ones ----------------------------

TEST(HaCfInert, RealHeartbeatDirectivesAreAcceptedWithAWarning) {
  for (const char* line : {"watchdog /dev/watchdog", "debug 1", "realtime on", "coredumps true",
                           "compression bz2", "traditional_compression false", "msgfmt netstring",
                           "uuidfrom nodename", "conn_logd_time 60", "max_rexmit_delay 250",
                           "hbgenmethod file", "rtprio 5", "stonith baytech /etc/stonith.cfg",
                           "cluster linux-ha", "crm off", "crm no", "autojoin none"}) {
    auto l = Load(Minimal(std::string(line) + "\n"));
    ASSERT_TRUE(l.cf.ok()) << line << "\n" << l.text();
    const std::string name = SplitWords(line)[0];
    EXPECT_THAT(l.text(),
                HasSubstr(At5(":1: warning: '" + name + "' is accepted, has no effect in Tandem")))
        << line;
    ASSERT_EQ(l.cf->inert.size(), 1u);
    EXPECT_EQ(l.cf->inert[0].name, name);
  }
}

TEST(HaCfInert, CrmOnAndAutojoinAreRefused) {
  for (const char* value : {"on", "yes", "respawn"}) {
    auto l = Load(Minimal("crm " + std::string(value) + "\n"));
    EXPECT_FALSE(l.cf.ok()) << value;
    EXPECT_THAT(l.text(), HasSubstr(At5(":5: error: crm '" + std::string(value) +
                                        "': Tandem runs haresources (v1) mode only")));
  }
  EXPECT_THAT(Load(Minimal("autojoin any\n")).text(),
              HasSubstr(At5(":10: error: autojoin 'any': Tandem's cluster is the nodes listed")));
  EXPECT_THAT(Load(Minimal("watchdog\n")).text(),
              HasSubstr(At5(":1: error: 'watchdog' needs a value")));
}

TEST(HaCfUnknown, UnknownDirectiveIsAnErrorWithASuggestion) {
  auto l = Load(Minimal("keepalvie 2\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(At5(":1: error: Illegal directive [keepalvie] in " +
                                      std::string(kPath) + " (did you mean 'keepalive'?)")));
  auto far = Load(Minimal("frobnicate 2\n"));
  EXPECT_THAT(far.text(), HasSubstr(At5(":1: error: Illegal directive [frobnicate] in " +
                                        std::string(kPath) + "\n")));
}

// --- line structure -----------------------------------------------------------------

TEST(HaCfLines, HashStartsACommentAnywhere) {
  auto l = Load(
      "# comment\n  node alpha bravo # the two\nbcast eth0#no space\n"
      "logfacility daemon\t# tab\n#\n");
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->media[0].interface, "eth0");
  EXPECT_EQ(l.cf->nodes[0].where.ToString(), std::string(kPath) + ":2:8");
}

TEST(HaCfLines, CrLfAndMissingFinalNewline) {
  auto l = Load("node alpha bravo\r\nbcast eth0\r\nlogfacility daemon");
  ASSERT_TRUE(l.cf.ok()) << l.text();
  EXPECT_EQ(l.cf->log_facility, "daemon");
}

TEST(HaCfLines, ABackslashIsNotAContinuationInHaCf) {
  auto l = Load(Minimal("node \\\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(At5(":6: error: invalid node name '\\'")));
}

// --- damaged files ---------------------------------------------------------------

TEST(HaCfDamage, NulByteIsACleanErrorAndNoModel) {
  std::string text = Minimal("keepalive 2\n");
  text.insert(text.find("2\n"), 1, '\0');
  auto l = Load(text);
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(At5(":11: error: invalid control character 0x00")));
}

TEST(HaCfDamage, GarbageBytesAreEscapedInMessages) {
  auto l = Load(Minimal("\xff\xfe\x80garbage 1\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(At5(":1: error: Illegal directive [\\xff\\xfe\\x80garbage]")));
}

TEST(HaCfDamage, VeryLongLineIsRejected) {
  auto l = Load(Minimal("logfile /" + std::string(20000, 'x') + "\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_THAT(l.text(), HasSubstr(At5(": error: line is longer than 8192 bytes")));
  // Long words that fit are shown cut short.
  auto word = Load(Minimal(std::string(5000, 'k') + " 1\n"));
  EXPECT_THAT(word.text(), HasSubstr("[" + std::string(64, 'k') + "...]"));
}

TEST(HaCfDamage, FileCutMidLine) {
  const std::string whole = Minimal("ucast eth1 10.0.0.2\n");
  auto cut_address = Load(whole.substr(0, whole.size() - 4));  // "ucast eth1 10.0."
  EXPECT_FALSE(cut_address.cf.ok());
  EXPECT_THAT(cut_address.text(), HasSubstr(At5(":12: error: ucast: [10.0.] is not a numeric")));
  auto cut_directive = Load("node alpha bravo\nbcast eth0\nlogfac");
  EXPECT_FALSE(cut_directive.cf.ok());
  EXPECT_THAT(cut_directive.text(),
              HasSubstr(":3:1: error: Illegal directive [logfac] in " + std::string(kPath)));
  auto cut_node = Load("node alpha bravo\nbcast eth0\nlogfacility daemon\nnode");
  EXPECT_FALSE(cut_node.cf.ok());
}

TEST(HaCfDamage, ABinaryFileStopsAfterTooManyErrors) {
  std::string binary;
  for (int i = 0; i < 5000; ++i) binary += "\x01\x02\x03\n";
  auto l = Load(binary);
  EXPECT_FALSE(l.cf.ok());
  EXPECT_EQ(l.diags.error_count(), kMaxHaErrorsPerFile + 1);
  EXPECT_THAT(l.text(), HasSubstr("error: too many errors; stopped reading " + std::string(kPath)));
}

TEST(HaCfDamage, AnErrorLeavesNoModelEvenWhenTheRestIsFine) {
  auto l = Load(Minimal("keepalive 2\ndeadtime 20\nbogus\n"));
  EXPECT_FALSE(l.cf.ok());
  EXPECT_EQ(l.diags.error_count(), 1u);
  EXPECT_THAT(l.cf.status().message(), HasSubstr(":7:1: error: Illegal directive [bogus]"));
}

// --- loading through Env -------------------------------------------------------------

TEST(HaCfLoad, ReadsThroughEnv) {
  MemEnv env;
  env.AddFile(kPath, Minimal("keepalive 3\ndeadtime 30\n"), 0100644);
  Diagnostics d;
  auto cf = LoadHaCf(&env, kPath, "bravo", &d);
  ASSERT_TRUE(cf.ok()) << d.Format();
  EXPECT_EQ(cf->keepalive_ms, 3000);
  EXPECT_EQ(cf->local_node, "bravo");
  EXPECT_EQ(cf->source_file, kPath);
}

TEST(HaCfLoad, MissingFileIsAnErrorNamingIt) {
  MemEnv env;
  Diagnostics d;
  auto cf = LoadHaCf(&env, kPath, "alpha", &d);
  EXPECT_FALSE(cf.ok());
  EXPECT_THAT(d.Format(), HasSubstr(std::string(kPath) + ": error: cannot open " + kPath));
}

TEST(HaCfValues, AddressAndInterfaceSyntax) {
  EXPECT_TRUE(IsNumericIpAddress("192.168.0.1"));
  EXPECT_TRUE(IsNumericIpAddress("::1"));
  EXPECT_FALSE(IsNumericIpAddress("192.168.0"));
  EXPECT_FALSE(IsNumericIpAddress(std::string("1.2.3.4\0x", 9)));
  EXPECT_FALSE(IsIpv4Address("::1"));
  EXPECT_TRUE(IsValidInterfaceName("eth0"));
  EXPECT_TRUE(IsValidInterfaceName("enp0s31f6"));
  EXPECT_FALSE(IsValidInterfaceName(""));
  EXPECT_FALSE(IsValidInterfaceName(".."));
  EXPECT_FALSE(IsValidInterfaceName("a/b"));
  EXPECT_FALSE(IsValidInterfaceName("sixteen_chars_xx"));
  EXPECT_EQ(ParseHaBoolean("Y"), std::optional<bool>(true));
  EXPECT_EQ(ParseHaBoolean("0"), std::optional<bool>(false));
  EXPECT_EQ(ParseHaBoolean("2"), std::nullopt);
}

}  // namespace
}  // namespace tandem::config
