// Ping nodes (ipfail), STONITH before takeover, respawned clients, and the
// broadcast and multicast links, with real daemons. The ping and multicast
// tests run both daemons in a network namespace they create, whose routing
// they may change; everything else stays on the machine's loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "heartbeat/cluster/hb_cluster.h"

namespace tandem::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kAlpha = 0;
constexpr int kBravo = 1;

// The process exists and is not a zombie.
bool Alive(int pid) {
  if (::kill(pid, 0) != 0) return false;
  const std::string stat = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

// The ping node is 127.0.0.9, answered by the namespace's loopback. To take it
// away from alpha alone, a policy rule blackholes 127.0.0.2 -> 127.0.0.9
// (alpha's pings leave from its --bind address): a real routing failure seen
// by one node only. The local table's rule is moved after it first, as the
// loopback route would otherwise win.
TEST(HeartbeatPing, APingNodeLostOnOneSideMovesItsResources) {
  HbClusterOptions o;
  o.netns = true;
  o.serial = false;
  o.extra_ha_cf =
      "ping 127.0.0.9\ndeadping 1000ms\nrespawn hacluster /usr/lib/heartbeat/ipfail\n";
  HbCluster c(o);
  ASSERT_EQ(c.InNetns({"ip", "rule", "del", "pref", "0"}).exit_code, 0);
  ASSERT_EQ(c.InNetns({"ip", "rule", "add", "pref", "100", "lookup", "local"}).exit_code, 0);
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  ASSERT_TRUE(c.WaitForLog(kAlpha, "Status update for ping node 127.0.0.9: status ping", seconds(5)))
      << c.Logs();
  EXPECT_THAT(c.Log(kAlpha), HasSubstr("ipfail is built into tandem-heartbeat; not starting it"));

  auto rule = c.InNetns({"ip", "rule", "add", "pref", "10", "from", "127.0.0.2", "to",
                         "127.0.0.9", "blackhole"});
  ASSERT_EQ(rule.exit_code, 0) << rule.err;
  ASSERT_TRUE(c.WaitForRecord("bravo start b", seconds(15))) << c.Logs();
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha start b", "alpha stop b",
                                           "alpha stop a", "bravo start a", "bravo start b"));
  EXPECT_THAT(c.Log(kAlpha), HasSubstr("WARN: ping node 127.0.0.9: is dead"));
  EXPECT_THAT(c.Log(kAlpha),
              HasSubstr("WARN: We see 0 ping node(s), node bravo sees 1: giving up our resources"));
  EXPECT_THAT(c.Log(kBravo), Not(HasSubstr("ping node 127.0.0.9: is dead")));
  auto s = c.Status(kAlpha);
  EXPECT_EQ(s["ping_up"], 0);
  EXPECT_EQ(s["peer"]["ping_up"], 1);

  // Reachable again: with auto_failback off the resources stay where they are.
  ASSERT_EQ(c.InNetns({"ip", "rule", "del", "pref", "10"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return c.Status(kAlpha).value("ping_up", -1) == 1; }, seconds(10)));
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_EQ(c.RecordLines().size(), 6u) << c.Logs();
}

TEST(HeartbeatPing, BroadcastAndMulticastLinks) {
  HbClusterOptions o;
  o.netns = true;
  o.serial = false;
  o.ucast = false;
  HbCluster c(o);
  const std::string mport = std::to_string(c.port() + 1);
  // Loopback carries multicast once told to.
  ASSERT_EQ(c.InNetns({"ip", "link", "set", "lo", "multicast", "on"}).exit_code, 0);
  ASSERT_EQ(c.InNetns({"ip", "route", "add", "239.0.0.0/8", "dev", "lo"}).exit_code, 0);
  for (int n = 0; n < 2; ++n) {
    c.dir().Write(std::string(HbCluster::kNames[n]) + "/ha.d/ha.cf",
                  c.HaCf(n) + "bcast lo\nmcast lo 239.0.0.42 " + mport + " 1 1\n");
  }
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto s = c.Status(kBravo);
        return s.contains("links") && s["links"].size() == 2 && s["links"][0]["status"] == "up" &&
               s["links"][1]["status"] == "up";
      },
      seconds(5)))
      << c.Status(kBravo).dump(2) << c.Logs();
  EXPECT_THAT(c.Log(kBravo), HasSubstr("info: Link alpha:lo up."));
  // Our own broadcasts come back to us; that is not worth a log line.
  EXPECT_THAT(c.Log(kBravo), Not(HasSubstr("Dropped")));
  EXPECT_EQ(c.Status(kBravo)["dropped"]["self"], 0);
}

TEST(HeartbeatStonith, TheDeadNodeIsResetBeforeTheTakeover) {
  HbClusterOptions o;
  o.serial = false;
  HbCluster c(o);
  const std::string fence = c.dir().Write(
      "fence", "#!/bin/sh\n# fence reset NODE DEVICE\n"
               "[ -e " + c.dir().path() + "/fence-broken ] && { echo \"power switch $3 not answering\"; exit 1; }\n"
               "echo \"$TANDEM_NODE $1 $2 $(date +%s%3N)\" >> " + c.record_file() + "\n",
      0755);
  for (int n = 0; n < 2; ++n) {
    c.dir().Write(std::string(HbCluster::kNames[n]) + "/ha.d/ha.cf",
                  c.HaCf(n) + "stonith_host * " + fence + " pdu-1\n");
  }
  c.dir().Write("fence-broken", "");
  ASSERT_TRUE(c.BringUp()) << c.Logs();
  c.Kill(kAlpha);
  ASSERT_TRUE(c.WaitForLog(kBravo, "CRIT: STONITH of node alpha failed: not taking over", seconds(10)))
      << c.Logs();
  EXPECT_THAT(c.Log(kBravo), HasSubstr("stonith: power switch pdu-1 not answering"));
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_FALSE(c.FindRecord("bravo start a").has_value()) << "no takeover without a successful STONITH";
  // The switch answers again: the next attempt (deadtime later) succeeds.
  ::unlink((c.dir().path() + "/fence-broken").c_str());
  ASSERT_TRUE(c.WaitForRecord("bravo start b", seconds(15))) << c.Logs();
  EXPECT_THAT(c.RecordLines(), ElementsAre("alpha start a", "alpha start b", "bravo reset alpha",
                                           "bravo start a", "bravo start b"));
  EXPECT_THAT(c.Log(kBravo), HasSubstr("node alpha now reset (STONITH succeeded)"));
}

TEST(HeartbeatRespawn, ClientsAreKeptRunningWithinLimits) {
  HbClusterOptions o;
  o.serial = false;
  o.haresources = "";
  HbCluster c(o);
  const std::string d = c.dir().path();
  const std::string crasher = c.dir().Write("crasher", "#!/bin/sh\nexit 1\n", 0755);
  const std::string quitter = c.dir().Write("quitter", "#!/bin/sh\nexit 100\n", 0755);
  const std::string sleeper = c.dir().Write(
      "sleeper", "#!/bin/sh\necho $$ >> " + d + "/sleeper.pids\nexec sleep 600\n", 0755);
  c.dir().Write("alpha/ha.d/ha.cf", c.HaCf(kAlpha) + "respawn root " + crasher +
                                        "\nrespawn root " + quitter + "\nrespawn root " +
                                        sleeper + " --flag\n");
  c.Start(kAlpha);
  ASSERT_TRUE(c.WaitForLog(kAlpha, "Client \"" + crasher + "\" respawning too fast", seconds(15)))
      << c.Logs();
  EXPECT_THAT(c.Log(kAlpha),
              HasSubstr("Client \"" + quitter + "\" exited with return code 100: not respawning"));
  ASSERT_TRUE(WaitUntil([&] { return !ReadFileOrEmpty(d + "/sleeper.pids").empty(); }, seconds(5)));
  const int pid = std::stoi(ReadFileOrEmpty(d + "/sleeper.pids"));
  EXPECT_TRUE(Alive(pid));
  // Killed: it comes back.
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::istringstream in(ReadFileOrEmpty(d + "/sleeper.pids"));
        int a = 0, b = 0;
        return static_cast<bool>(in >> a >> b);
      },
      seconds(5)))
      << c.Logs();
  EXPECT_THAT(c.Log(kAlpha), HasSubstr("Managed client \"" + sleeper + "\" process " +
                                       std::to_string(pid) + " died (killed by signal 9); respawning"));
  std::istringstream in(ReadFileOrEmpty(d + "/sleeper.pids"));
  int first = 0, second = 0;
  in >> first >> second;
  // Stopping heartbeat stops its clients.
  auto r = c.Stop(kAlpha);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitUntil([&] { return !Alive(second); }, seconds(10)));
}

}  // namespace
}  // namespace tandem::testing
