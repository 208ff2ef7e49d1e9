// The daemon's pure helpers: media plan, serial framing, ICMP packets,
// respawn policy, STONITH plan, generation file, status view, log format and
// the scripts' environment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/mem_env.h"
#include "heartbeat/generation.h"
#include "heartbeat/hb_daemon.h"
#include "heartbeat/hb_log.h"
#include "heartbeat/icmp.h"
#include "heartbeat/media_plan.h"
#include "heartbeat/respawn_policy.h"
#include "heartbeat/serial_framer.h"
#include "heartbeat/status_view.h"
#include "heartbeat/stonith_plan.h"

namespace tandem::heartbeat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

config::HaCf Cf(const std::string& text, const std::string& node = "alpha") {
  config::Diagnostics d;
  auto cf = config::ParseHaCf("node alpha bravo\nlogfile /tmp/ha.log\n" + text, "ha.cf", node, &d);
  EXPECT_TRUE(cf.ok()) << d.Format();
  return cf.ok() ? std::move(cf).value() : config::HaCf{};
}

TEST(MediaPlan, OneHaCfServesBothNodesThroughBind) {
  config::HaCf cf = Cf("udpport 7000\nucast lo 127.0.0.2\nucast lo 127.0.0.3\nserial /dev/ttyS0\n");
  auto a = PlanMedia(cf, {}, "127.0.0.2");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].tag, "ucast:lo");
  EXPECT_EQ((*a)[0].destination, "127.0.0.3");
  EXPECT_EQ((*a)[0].bind_address, "127.0.0.2");
  EXPECT_EQ((*a)[0].port, 7000);
  EXPECT_EQ((*a)[1].tag, "serial:0");
  EXPECT_EQ((*a)[1].label, "/dev/ttyS0");
  EXPECT_EQ((*a)[1].baud, 19200);
  auto b = PlanMedia(cf, {}, "127.0.0.3");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].destination, "127.0.0.2");
  EXPECT_EQ((*a)[0].tag, (*b)[0].tag);  // both name the link alike
}

TEST(MediaPlan, WithoutBindEveryLocalAddressIsOurs) {
  config::HaCf cf = Cf("ucast eth1 10.0.0.1\nucast eth1 10.0.0.2\nucast eth0 192.168.0.1\n"
                       "ucast eth0 192.168.0.2\n");
  std::vector<InterfaceAddress> local = {{"eth1", "10.0.0.1", "10.0.0.255", 2},
                                         {"eth0", "192.168.0.1", "192.168.0.255", 3}};
  auto plan = PlanMedia(cf, local, "");
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_EQ((*plan)[0].destination, "10.0.0.2");
  EXPECT_EQ((*plan)[0].bind_address, "");
  EXPECT_EQ((*plan)[1].destination, "192.168.0.2");
}

TEST(MediaPlan, BroadcastAndMulticast) {
  config::HaCf cf = Cf("udpport 694\nbcast eth1 lo\nmcast eth1 225.0.0.1 6940 1 0\n");
  std::vector<InterfaceAddress> local = {{"eth1", "10.0.0.1", "10.0.0.255", 2}};
  auto plan = PlanMedia(cf, local, "");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->size(), 3u);
  EXPECT_EQ((*plan)[0].tag, "bcast:eth1");
  EXPECT_EQ((*plan)[0].destination, "10.0.0.255");
  EXPECT_EQ((*plan)[1].destination, "255.255.255.255");
  EXPECT_EQ((*plan)[2].tag, "mcast:eth1");
  EXPECT_EQ((*plan)[2].group, "225.0.0.1");
  EXPECT_EQ((*plan)[2].port, 6940);
}

TEST(MediaPlan, RefusesNoLinksAndDoubledLinks) {
  auto none = PlanMedia(Cf("ucast lo 127.0.0.2\n"), {}, "127.0.0.2");
  EXPECT_THAT(none.status().message(), HasSubstr("no heartbeat link left for this node"));
  auto doubled = PlanMedia(Cf("ucast lo 127.0.0.3\nucast lo 127.0.0.4\n"), {}, "127.0.0.2");
  EXPECT_THAT(doubled.status().message(), HasSubstr("a second ucast link on [lo]"));
}

TEST(SerialFramer, CutsFramesAcrossReadsAndSkipsNoise) {
  SerialFramer f;
  auto a = f.Feed("noise>>>\nt=a\n<<");
  EXPECT_THAT(a.frames, IsEmpty());
  EXPECT_EQ(a.skipped_bytes, 5u);
  auto b = f.Feed("<\n>>>\nt=b\n<<<\n>>");
  EXPECT_THAT(b.frames, ElementsAre(">>>\nt=a\n<<<\n", ">>>\nt=b\n<<<\n"));
  EXPECT_EQ(f.buffered(), 2u);
}

TEST(SerialFramer, ACutMessageIsDroppedAtTheNextBegin) {
  SerialFramer f;
  auto out = f.Feed(">>>\nt=cut\n>>>\nt=whole\n<<<\n");
  EXPECT_THAT(out.frames, ElementsAre(">>>\nt=whole\n<<<\n"));
  EXPECT_EQ(out.skipped_bytes, 10u);
}

TEST(SerialFramer, MemoryIsBoundedWithoutAnEndMarker) {
  SerialFramer f;
  std::string junk = ">>>\n" + std::string(3 * kMaxMessageBytes, 'x');
  auto out = f.Feed(junk);
  EXPECT_THAT(out.frames, IsEmpty());
  EXPECT_LE(f.buffered(), kMaxMessageBytes);
  out = f.Feed(">>>\nt=ok\n<<<\n");
  EXPECT_THAT(out.frames, ElementsAre(">>>\nt=ok\n<<<\n"));
}

TEST(Icmp, EchoRequestAndReply) {
  EchoId id{0x1234, 0x0102030405060708ull};
  std::string req = BuildEchoRequest(false, id, 7);
  ASSERT_EQ(req.size(), 16u);
  EXPECT_EQ(static_cast<uint8_t>(req[0]), 8);
  EXPECT_EQ(InternetChecksum(req), 0);  // a correct checksum sums to zero
  // The reply as a raw IPv4 socket sees it: a 20-byte header, then type 0.
  std::string reply = std::string(1, '\x45') + std::string(19, '\0') + req;
  reply[20] = 0;
  EXPECT_TRUE(IsOurEchoReply(false, reply, id));
  EXPECT_FALSE(IsOurEchoReply(false, reply, EchoId{0x1234, 9}));
  EXPECT_FALSE(IsOurEchoReply(false, reply, EchoId{0x4321, id.token}));
  EXPECT_FALSE(IsOurEchoReply(false, reply.substr(0, 30), id));
  std::string req6 = BuildEchoRequest(true, id, 7);
  EXPECT_EQ(static_cast<uint8_t>(req6[0]), 128);
  req6[0] = static_cast<char>(129);
  EXPECT_TRUE(IsOurEchoReply(true, req6, id));
}

TEST(RespawnPolicy, ExitHundredTooFastAndLongLives) {
  RespawnPolicy p;
  p.Started(0);
  EXPECT_EQ(p.Exited(10, 100), RespawnPolicy::Decision::kExit100);
  for (int i = 1; i < RespawnPolicy::kMaxFastDeaths; ++i) {
    p.Started(i * 100);
    EXPECT_EQ(p.Exited(i * 100 + 50, 1), RespawnPolicy::Decision::kRestart) << i;
  }
  p.Started(2000);
  EXPECT_EQ(p.Exited(2050, -1), RespawnPolicy::Decision::kTooFast);
  RespawnPolicy q;
  for (int i = 0; i < 20; ++i) {
    q.Started(i * 100000);
    EXPECT_EQ(q.Exited(i * 100000 + RespawnPolicy::kFastDeathMs, 1),
              RespawnPolicy::Decision::kRestart);
  }
}

TEST(StonithPlan, LinesForThisNodeOrAnyInOrder) {
  config::HaCf cf = Cf(
      "ucast lo 127.0.0.3\nstonith_host alpha /usr/sbin/fence ipmi 10.0.0.9\n"
      "stonith_host bravo /usr/sbin/never\nstonith_host * external/ssh key\n");
  auto plan = PlanStonith(cf, "/etc/ha.d", "bravo");
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_THAT(plan[0].argv, ElementsAre("/usr/sbin/fence", "reset", "bravo", "ipmi", "10.0.0.9"));
  EXPECT_THAT(plan[1].argv, ElementsAre("/etc/ha.d/stonith.d/ssh", "reset", "bravo", "key"));
  EXPECT_THAT(PlanStonith(cf, "/etc/ha.d", ""), IsEmpty());
}

// Files in memory; the clock and the writes under the test's control.
class FakeEnv : public HbEnvWrapper {
 public:
  FakeEnv() : HbEnvWrapper(HbEnv::Default()) {}
  Env* files() override { return &mem; }
  int64_t WallSeconds() override { return wall; }
  Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) override {
    if (fail_writes) return Status::IoError("disk full");
    mem.AddFile(path, data, static_cast<mode_t>(0100000 | mode));
    return Status::Ok();
  }
  MemEnv mem;
  int64_t wall = 1000;
  bool fail_writes = false;
};

TEST(Generation, GrowsAndIsWrittenFirst) {
  FakeEnv env;
  auto g1 = NextGeneration(&env, "/var/lib/tandem/hb_generation");
  ASSERT_TRUE(g1.ok());
  EXPECT_EQ(g1->generation, 1000u);  // no file: the clock
  auto g2 = NextGeneration(&env, "/var/lib/tandem/hb_generation");
  EXPECT_EQ(g2->generation, 1001u);  // same second: one more
  env.wall = 5000;
  EXPECT_EQ(NextGeneration(&env, "/var/lib/tandem/hb_generation")->generation, 5000u);
  env.wall = 10;  // the clock went back: the file still wins
  EXPECT_EQ(NextGeneration(&env, "/var/lib/tandem/hb_generation")->generation, 5001u);
  EXPECT_EQ(*env.mem.ReadFile("/var/lib/tandem/hb_generation", 100), "5001\n");
}

TEST(Generation, AGarbledFileIsAWarningAFailedWriteIsFatal) {
  FakeEnv env;
  env.mem.AddFile("/s/hb_generation", "garbage");
  auto g = NextGeneration(&env, "/s/hb_generation");
  ASSERT_TRUE(g.ok());
  EXPECT_THAT(g->warning, HasSubstr("does not hold a number"));
  env.fail_writes = true;
  auto bad = NextGeneration(&env, "/s/hb_generation");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("cannot record the new generation: disk full"));
}

TEST(StatusView, JsonAndTextShowTheSameFacts) {
  StatusSnapshot s;
  s.node = "alpha";
  s.status = "active";
  s.peer = "bravo";
  s.peer_status = "dead";
  s.links = {{"ucast:lo", "lo", true, "dead"}, {"serial:0", "/dev/ttyS0", false, "dead"}};
  s.ping_nodes = {{"127.0.0.9", {"127.0.0.9"}, "up"}};
  s.ping_up = 1;
  s.groups = {{"drbddisk::r0", "alpha", "running", "alpha", false},
              {"IPaddr::10.0.0.3", "bravo", "stopped", "none", true}};
  s.dropped = {{"auth", 3}};
  nlohmann::json j = StatusToJson(s);
  EXPECT_EQ(j["peer"]["status"], "dead");
  EXPECT_EQ(j["groups"][1]["failed_here"], true);
  EXPECT_EQ(j["dropped"]["auth"], 3);
  const std::string text = FormatStatusText(j);
  EXPECT_THAT(text, HasSubstr("Node alpha (local): active\n"));
  EXPECT_THAT(text, HasSubstr("Node bravo: dead\n"));
  EXPECT_THAT(text, HasSubstr("link serial:0 (/dev/ttyS0): dead, not open here\n"));
  EXPECT_THAT(text, HasSubstr("Ping node 127.0.0.9: up\n"));
  EXPECT_THAT(text, HasSubstr("drbddisk::r0  preferred alpha, held by alpha (here: running)"));
  EXPECT_THAT(text, HasSubstr("failed to start here"));
  EXPECT_THAT(text, HasSubstr("Dropped messages: auth=3"));
  EXPECT_EQ(FormatStatusText(nlohmann::json::object()), "Node ? (local): ?\n");
}

TEST(HbLog, HeartbeatsLineFormat) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(FormatHbLogLine("heartbeat", 4271, 1220262637, HbLevel::kInfo,
                            "Configuration validated."),
            "heartbeat[4271]: 2008/09/01_09:50:37 info: Configuration validated.");
  EXPECT_EQ(FormatHbLogLine("heartbeat", 1, 0, HbLevel::kWarn, "node x: is dead"),
            "heartbeat[1]: 1970/01/01_00:00:00 WARN: node x: is dead");
  EXPECT_STREQ(HbLevelName(HbLevel::kCrit), "CRIT");
  EXPECT_STREQ(HbLevelName(HbLevel::kError), "ERROR");
}

TEST(ScriptEnvironment, ExportsHeartbeatAndTandemVariables) {
  DaemonOptions o;
  o.node = "alpha";
  o.config_dir = "/etc/ha.d";
  o.run_dir = "/run/tandem";
  config::HaCf cf = Cf("ucast lo 127.0.0.3\nlogfacility local0\n");
  auto env = ScriptEnvironment({"PATH=/bin", "HA_OLD=x", "TANDEM_NODE=stale", "HOME=/root"}, o, cf);
  EXPECT_THAT(env, ::testing::IsSupersetOf({"PATH=/bin", "HOME=/root", "HA_D=/etc/ha.d",
                                            "HA_RESOURCEDIR=/etc/ha.d/resource.d",
                                            "HA_CURHOST=alpha", "HA_RSCTMP=/run/tandem/rsctmp",
                                            "HA_LOGFILE=/tmp/ha.log", "HA_LOGFACILITY=local0",
                                            "TANDEM_NODE=alpha", "TANDEM_RUN_DIR=/run/tandem"}));
  EXPECT_THAT(env, ::testing::Not(::testing::Contains("HA_OLD=x")));
  EXPECT_THAT(env, ::testing::Not(::testing::Contains("TANDEM_NODE=stale")));
  // tandemd's run directory, when the caller names it, is kept.
  auto kept = ScriptEnvironment({"TANDEM_RUN_DIR=/run/other"}, o, cf);
  EXPECT_THAT(kept, ::testing::Contains("TANDEM_RUN_DIR=/run/other"));
  EXPECT_THAT(kept, ::testing::Not(::testing::Contains("TANDEM_RUN_DIR=/run/tandem")));
  EXPECT_THAT(kept, ::testing::Contains(::testing::StartsWith("PATH=")));
}

}  // namespace
}  // namespace tandem::heartbeat
