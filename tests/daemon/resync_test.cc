// Resync and safety with real daemons: link cuts through a fault-injecting
// proxy, SIGKILL of the Primary and of a SyncTarget, split brain (detection,
// manual and automatic recovery by every after-sb policy), rate limits,
// checksum resync, online verify, I/O errors with on-io-error detach, fencing
// and the degraded start-up handler. Every check compares bytes.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "cluster_nbd.h"

namespace tandem::testing {
namespace {

using namespace std::chrono_literals;

nlohmann::json WriteBlock(Cluster& c, int n, uint64_t offset, const std::vector<uint8_t>& data) {
  return c.Call(n, "write", {{"offset", offset}, {"data", B64(data)}});
}

// Writes `count` distinct 4 KiB blocks out of `total_blocks`, block b with
// Pattern(seed * 100000 + b), through `write`; returns the block numbers.
std::set<uint64_t> WriteBlocksWith(
    uint64_t total_blocks, uint64_t seed, int count,
    const std::function<void(uint64_t block, const std::vector<uint8_t>& data)>& write) {
  std::set<uint64_t> blocks;
  std::mt19937_64 rng(seed);
  while (static_cast<int>(blocks.size()) < count) {
    uint64_t b = rng() % total_blocks;
    if (!blocks.insert(b).second) continue;
    write(b, Pattern(seed * 100000 + b, 4096));
  }
  return blocks;
}

// The same through node n's control socket.
std::set<uint64_t> WriteBlocks(Cluster& c, int n, uint64_t seed, int count) {
  return WriteBlocksWith(c.DataSize(n) / 4096, seed, count,
                         [&](uint64_t b, const std::vector<uint8_t>& data) {
                           auto r = WriteBlock(c, n, b * 4096, data);
                           EXPECT_EQ(r.value("ok", false), true) << r.dump();
                         });
}

uint64_t WillSyncKb(const std::string& log, size_t from = 0) {
  std::regex re(R"(will sync (\d+) KB)");
  std::smatch m;
  std::string tail = log.substr(from);
  uint64_t last = UINT64_MAX;
  for (auto it = std::sregex_iterator(tail.begin(), tail.end(), re); it != std::sregex_iterator(); ++it) {
    last = std::stoull((*it)[1]);
  }
  return last;
}

bool WaitStandAlone(Cluster& c, int n) {
  return WaitFor([&] { return c.Adm(n, {"cstate", "r0"}).out == "StandAlone\n"; }, 20s);
}

TEST(Resync, LinkCutThenOnlyTheWrittenBlocksAreResynced) {
  ClusterOptions o;
  o.proxied = true;
  Cluster c(o);
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  c.CutLink(true);
  ASSERT_TRUE(WaitFor([&] { return c.Adm(0, {"cstate", "r0"}).out == "WFConnection\n"; }, 20s));
  size_t log_mark = c.Log(0).size();
  auto blocks = WriteBlocks(c, 0, 11, 40);
  EXPECT_EQ(c.StatusJson(0).value("out_of_sync_kib", uint64_t{0}), blocks.size() * 4);
  c.CutLink(false);
  ASSERT_TRUE(c.WaitForState(0, "Connected", "UpToDate/UpToDate", 30s)) << c.Log(0);
  // The resync moved exactly the dirty set.
  EXPECT_EQ(WillSyncKb(c.Log(0), log_mark), blocks.size() * 4) << c.Log(0).substr(log_mark);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
}

TEST(Resync, KilledPrimaryComesBackAsSyncTargetAndLosesItsUnacknowledgedWrites) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  // Writes in flight while the Primary dies.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    ctl::ControlClient client;
    if (!client.Connect(c.run_dir(0) + "/tandemd.sock").ok()) return;
    for (uint64_t i = 0; !stop; ++i) {
      auto r = client.Call({"write", "r0", {{"offset", (i % 2000) * 4096}, {"data", B64(Pattern(i, 4096))}}},
                           std::chrono::seconds(5));
      if (!r.ok()) return;
    }
  });
  std::this_thread::sleep_for(400ms);
  c.Kill(0);
  stop = true;
  writer.join();
  ASSERT_TRUE(WaitFor([&] { return c.Adm(1, {"cstate", "r0"}).out == "WFConnection\n"; }, 20s));
  ASSERT_EQ(c.Adm(1, {"primary", "r0"}).exit_code, 0);
  auto later = WriteBlocks(c, 1, 77, 30);  // the new Primary's own changes
  size_t mark = c.Log(0).size();
  c.Restart(0);
  ASSERT_TRUE(c.WaitForState(1, "Connected", "UpToDate/UpToDate", 60s)) << c.Log(0) << c.Log(1);
  std::string log0 = c.Log(0).substr(mark);
  EXPECT_NE(log0.find("crashed while Primary"), std::string::npos) << log0;
  EXPECT_NE(log0.find("this node SyncTarget"), std::string::npos) << log0;
  // Everything the old Primary had and the new one did not was rolled back.
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
  EXPECT_EQ(c.Adm(0, {"role", "r0"}).out, "Secondary/Primary\n");
}

// Cut the link with alpha Primary, promote bravo too, write on both.
void MakeSplitBrain(Cluster& c, int writes_alpha, int writes_bravo) {
  c.BringUp();
  if (::testing::Test::HasFatalFailure()) return;
  c.CutLink(true);
  ASSERT_TRUE(WaitFor([&] { return c.Adm(1, {"cstate", "r0"}).out == "WFConnection\n"; }, 20s));
  std::this_thread::sleep_for(20ms);  // distinct promotion times
  ASSERT_EQ(c.Adm(1, {"primary", "r0"}).exit_code, 0);
  if (writes_alpha) WriteBlocks(c, 0, 1, writes_alpha);
  if (writes_bravo) WriteBlocks(c, 1, 2, writes_bravo);
}

TEST(Resync, SplitBrainIsDetectedChangesNothingAndRecoversByHand) {
  ClusterOptions o;
  o.proxied = true;
  Cluster c(o);
  MakeSplitBrain(c, 10, 20);
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  std::string alpha_data = c.DataOf(0, size), bravo_data = c.DataOf(1, size);
  ASSERT_FALSE(SameBytes(alpha_data, bravo_data));
  c.CutLink(false);
  ASSERT_TRUE(WaitStandAlone(c, 0) && WaitStandAlone(c, 1)) << c.Log(0) << c.Log(1);
  EXPECT_NE(c.Log(0).find("Split-Brain detected but unresolved, dropping connection!"),
            std::string::npos);
  EXPECT_NE(c.Log(1).find("Split-Brain detected"), std::string::npos);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), alpha_data));
  EXPECT_TRUE(SameBytes(c.DataOf(1, size), bravo_data));
  // Manual recovery, as with DRBD: bravo is the victim.
  size_t mark = c.Log(1).size();
  ASSERT_EQ(c.Adm(1, {"secondary", "r0"}).exit_code, 0);
  ASSERT_EQ(c.Adm(1, {"connect", "--discard-my-data", "r0"}).exit_code, 0);
  ASSERT_EQ(c.Adm(0, {"connect", "r0"}).exit_code, 0);
  ASSERT_TRUE(c.WaitForState(1, "Connected", "UpToDate/UpToDate", 60s)) << c.Log(1);
  EXPECT_TRUE(SameBytes(c.DataOf(1, size), alpha_data));
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), alpha_data));
  // A bitmap-based rollback of both sides' changes, not a full sync.
  uint64_t kb = WillSyncKb(c.Log(1), mark);
  EXPECT_LE(kb, 30u * 4) << c.Log(1).substr(mark);
  EXPECT_GE(kb, 20u * 4);
}

struct SbCase {
  const char* name;
  std::string net;          // after-sb settings
  bool alpha_primary_at_reconnect;
  bool bravo_primary_at_reconnect;
  int writes_alpha, writes_bravo;
  int victim;               // 0 alpha, 1 bravo, -1 unresolved
  int pri_lost_on = -1;     // node expected to run pri-lost-after-sb
};

class AfterSbPolicy : public ::testing::TestWithParam<SbCase> {};

TEST_P(AfterSbPolicy, HasItsDocumentedOutcome) {
  const SbCase& k = GetParam();
  ClusterOptions o;
  o.proxied = true;
  o.extra_net = k.net;
  o.handlers = "    pri-lost-after-sb \"echo $TANDEM_NODE >> @DIR@/pri-lost\";\n"
               "    split-brain \"echo $TANDEM_NODE >> @DIR@/split-brain\";\n";
  Cluster cl(o);
  const std::string marker = cl.dir().path() + "/pri-lost";
  const std::string sb_marker = cl.dir().path() + "/split-brain";
  MakeSplitBrain(cl, k.writes_alpha, k.writes_bravo);
  if (HasFatalFailure()) return;
  const uint64_t size = cl.DataSize(0);
  std::string data[2] = {cl.DataOf(0, size), cl.DataOf(1, size)};
  if (!k.alpha_primary_at_reconnect) {
    ASSERT_EQ(cl.Adm(0, {"secondary", "r0"}).exit_code, 0);
  }
  if (!k.bravo_primary_at_reconnect) {
    ASSERT_EQ(cl.Adm(1, {"secondary", "r0"}).exit_code, 0);
  }
  cl.CutLink(false);
  if (k.victim < 0) {
    ASSERT_TRUE(WaitStandAlone(cl, 0) && WaitStandAlone(cl, 1)) << cl.Log(0) << cl.Log(1);
    EXPECT_TRUE(SameBytes(cl.DataOf(0, size), data[0]));
    EXPECT_TRUE(SameBytes(cl.DataOf(1, size), data[1]));
    std::string lost = ReadFileOrEmpty(marker);
    if (k.pri_lost_on >= 0) {
      EXPECT_TRUE(WaitFor([&] { return !ReadFileOrEmpty(marker).empty(); }, 10s));
      EXPECT_EQ(ReadFileOrEmpty(marker), std::string(Cluster::kNames[k.pri_lost_on]) + "\n");
    } else {
      EXPECT_TRUE(WaitFor([&] { return !ReadFileOrEmpty(sb_marker).empty(); }, 10s))
          << "the split-brain handler did not run";
    }
    return;
  }
  const int survivor = 1 - k.victim;
  ASSERT_TRUE(cl.WaitForState(survivor, "Connected", "UpToDate/UpToDate", 60s))
      << cl.Log(0) << cl.Log(1);
  EXPECT_NE(cl.Log(k.victim).find("automatically solved"), std::string::npos) << cl.Log(k.victim);
  EXPECT_TRUE(SameBytes(cl.DataOf(k.victim, size), data[survivor]));
  EXPECT_TRUE(SameBytes(cl.DataOf(survivor, size), data[survivor]));
}

INSTANTIATE_TEST_SUITE_P(
    Policies, AfterSbPolicy,
    ::testing::Values(
        // No Primary at reconnect.
        SbCase{"zero_disconnect", "", false, false, 5, 5, -1},
        SbCase{"discard_younger_primary", "    after-sb-0pri discard-younger-primary;\n", false, false, 5, 5, 1},
        SbCase{"discard_older_primary", "    after-sb-0pri discard-older-primary;\n", false, false, 5, 5, 0},
        SbCase{"discard_zero_changes", "    after-sb-0pri discard-zero-changes;\n", false, false, 0, 7, 0},
        SbCase{"discard_zero_changes_both", "    after-sb-0pri discard-zero-changes;\n", false, false, 3, 7, -1},
        SbCase{"discard_least_changes", "    after-sb-0pri discard-least-changes;\n", false, false, 4, 9, 0},
        SbCase{"discard_node", "    after-sb-0pri discard-node-bravo;\n", false, false, 9, 4, 1},
        // One Primary (alpha) at reconnect.
        SbCase{"one_disconnect", "    after-sb-0pri discard-younger-primary;\n", true, false, 5, 5, -1},
        SbCase{"discard_secondary", "    after-sb-1pri discard-secondary;\n", true, false, 5, 5, 1},
        SbCase{"consensus_agrees",
               "    after-sb-0pri discard-younger-primary;\n    after-sb-1pri consensus;\n", true,
               false, 5, 5, 1},
        SbCase{"consensus_refuses",
               "    after-sb-0pri discard-older-primary;\n    after-sb-1pri consensus;\n", true,
               false, 5, 5, -1},
        SbCase{"call_pri_lost",
               "    after-sb-0pri discard-older-primary;\n    after-sb-1pri call-pri-lost-after-sb;\n",
               true, false, 5, 5, -1, 0},
        // Two Primaries.
        SbCase{"two_disconnect", "    after-sb-0pri discard-node-alpha;\n", true, true, 5, 5, -1},
        SbCase{"two_call_pri_lost",
               "    after-sb-0pri discard-node-bravo;\n    after-sb-2pri call-pri-lost-after-sb;\n",
               true, true, 5, 5, -1, 1}),
    [](const ::testing::TestParamInfo<SbCase>& p) { return std::string(p.param.name); });

TEST(Resync, RateLimitHolds) {
  ClusterOptions o;
  o.resync_rate = "16M";
  Cluster c(o);
  for (int n = 0; n < 2; ++n) {
    ASSERT_EQ(c.Adm(n, {"create-md", "r0"}).exit_code, 0);
    c.Start(n);
    ASSERT_EQ(c.Adm(n, {"up", "r0"}).exit_code, 0);
  }
  ASSERT_EQ(c.Adm(0, {"wait-connect", "r0", "-t", "20"}).exit_code, 0);
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(c.Adm(0, {"primary", "--force", "r0"}).exit_code, 0);
  // The status file shows progress while it runs.
  bool progress = WaitFor([&] { return c.StatusFile(1).find("sync'ed:") != std::string::npos; }, 5s);
  EXPECT_TRUE(progress) << c.StatusFile(1);
  ASSERT_TRUE(c.WaitForState(1, "Connected", "UpToDate/UpToDate", 60s));
  auto took = std::chrono::steady_clock::now() - start;
  // 64 MiB at 16 MiB/s: about 4 s, never less than 3.5 s.
  EXPECT_GE(took, 3500ms);
  const uint64_t size = c.DataSize(0);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
}

TEST(Resync, InterruptedResyncResumesWhereItStopped) {
  ClusterOptions o;
  o.resync_rate = "16M";
  Cluster c(o);
  c.StartAndConnect();
  if (HasFatalFailure()) return;
  ASSERT_EQ(c.Adm(0, {"primary", "--force", "r0"}).exit_code, 0);
  std::this_thread::sleep_for(2000ms);  // about half of it
  c.Kill(1);
  c.Restart(1);
  ASSERT_TRUE(c.WaitForState(1, "Connected", "UpToDate/UpToDate", 60s)) << c.Log(1);
  const uint64_t size = c.DataSize(0);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
  // Bytes sent for the resync, both attempts together: < 1.2 x the dirty set.
  uint64_t sent_kib = c.StatusJson(0)["counters"].value("ns", uint64_t{0});
  EXPECT_LT(sent_kib, size / 1024 * 12 / 10) << "resent too much: " << sent_kib << " KiB";
  EXPECT_GT(sent_kib, size / 1024 * 9 / 10);
}

TEST(Resync, ApplicationWritesDuringTheResyncAreNeverOverwritten) {
  ClusterOptions o;
  o.resync_rate = "8M";
  Cluster c(o);
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  ASSERT_EQ(c.Adm(1, {"invalidate", "r0"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return c.Adm(0, {"cstate", "r0"}).out == "SyncSource\n"; }, 20s));
  // Hammer blocks all over the device while the resync copies them.
  std::mt19937_64 rng(3);
  std::map<uint64_t, uint64_t> last;
  for (int i = 0; i < 400; ++i) {
    uint64_t b = rng() % (size / 4096);
    uint64_t seed = 5000000 + i;
    ASSERT_EQ(WriteBlock(c, 0, b * 4096, Pattern(seed, 4096)).value("ok", false), true);
    last[b] = seed;
  }
  ASSERT_TRUE(c.WaitForState(1, "Connected", "UpToDate/UpToDate", 60s));
  std::string d1 = c.DataOf(1, size);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), d1));
  for (const auto& [b, seed] : last) {
    auto want = Pattern(seed, 4096);
    EXPECT_EQ(d1.compare(b * 4096, 4096, std::string(want.begin(), want.end())), 0) << "block " << b;
  }
}

// c-min-rate: while the application writes, an unthrottled resync steps back
// to c-min-rate (250 KiB/s by default) and leaves the disks to the
// application; when the writes stop it runs at full speed again. Any
// application I/O counts: bravo's disk completes every write 50 ms late, so
// the application manages about 20 writes (80 KiB) a second, as an
// application starved by a full-speed resync does; that rate is below
// c-min-rate, and the resync used to ignore it.
TEST(Resync, ApplicationWritesHoldAnUnthrottledResyncAtCMinRate) {
  ClusterOptions o = SlowPeerDisk('C', 50);
  o.resync_rate = "4G";
  o.disk_size[0] = o.disk_size[1] = 512ull << 20;
  Cluster c(o);
  c.BringUpSkippingSync();
  if (HasFatalFailure()) return;
  nbd::BlockingClient client;
  Status connected = ConnectNbd(client, c, 0);
  ASSERT_TRUE(connected.ok()) << connected.ToString();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0};
  std::thread writer([&] {
    std::vector<uint8_t> block(4096, 0x6b);
    for (int i = 0; i < 100000 && !stop; ++i) {  // bounded; stopped long before
      if (!client.Write((static_cast<uint64_t>(i) % 1024) * 4096, 4096, block.data()).ok()) break;
      ++writes;
    }
  });
  std::this_thread::sleep_for(1s);  // both nodes have seen the application
  ASSERT_EQ(c.Adm(1, {"invalidate", "r0"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return c.Adm(1, {"cstate", "r0"}).out == "SyncTarget\n"; }, 20s));
  std::this_thread::sleep_for(2s);
  const uint64_t copied_kib = c.StatusJson(1)["sync"].value("copied_kib", uint64_t{0});
  const std::string cstate = c.Adm(1, {"cstate", "r0"}).out;
  const uint64_t writes_during = writes.load();
  stop = true;
  writer.join();
  // 2 s at 250 KiB/s, in 1 MiB requests: a few MiB at most. Unthrottled, this
  // slow disk still takes 8 MiB every 50 ms (the resync window).
  EXPECT_EQ(cstate, "SyncTarget\n") << "the resync did not yield";
  EXPECT_LT(copied_kib, 8u << 10) << "KiB copied by the resync during application writes";
  EXPECT_GT(writes_during, 20u);
  // Without the application the resync finishes at full speed.
  ASSERT_TRUE(c.WaitForState(1, "Connected", "UpToDate/UpToDate", 60s)) << c.StatusFile(1);
  const uint64_t size = c.DataSize(0);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
}

TEST(Resync, ChecksumResyncSkipsBlocksThatAlreadyMatch) {
  ClusterOptions o;
  o.extra_net = "    csums-alg sha256;\n";
  Cluster c(o);
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  size_t mark = c.Log(1).size();
  // Everything marked out of sync, but the data is identical: nothing to send.
  ASSERT_EQ(c.Adm(1, {"invalidate", "r0"}).exit_code, 0);
  ASSERT_TRUE(c.WaitForState(1, "Connected", "UpToDate/UpToDate", 60s));
  std::string log = c.Log(1).substr(mark);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"((\d+) K were equal by checksum)"))) << log;
  EXPECT_GE(std::stoull(m[1]), size / 1024 * 99 / 100);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
}

TEST(Resync, OnlineVerifyFindsExactlyTheCorruptedBlocks) {
  ClusterOptions o;
  o.extra_net = "    verify-alg sha1;\n";
  o.handlers = "    out-of-sync \"echo found >> @DIR@/oos\";\n";
  Cluster cl(o);
  const std::string marker = cl.dir().path() + "/oos";
  cl.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = cl.DataSize(0);
  const std::set<uint64_t> damaged = {17, 4242, 10000};
  {
    std::fstream f(cl.disk(1), std::ios::in | std::ios::out | std::ios::binary);
    for (uint64_t b : damaged) {
      f.seekp(static_cast<std::streamoff>(b * 4096 + 100));
      f.write("behind tandem's back", 20);
    }
  }
  ASSERT_EQ(cl.Adm(0, {"verify", "r0"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return cl.Log(0).find("Online verify done") != std::string::npos; }, 60s))
      << cl.Log(0).substr(cl.Log(0).size() > 3000 ? cl.Log(0).size() - 3000 : 0) << cl.Log(1);
  ASSERT_TRUE(cl.WaitForState(0, "Connected", "UpToDate/UpToDate", 20s));
  std::string log = cl.Log(0);
  EXPECT_NE(log.find("Online verify found 3 4k blocks out of sync!"), std::string::npos) << log;
  for (uint64_t b : damaged) {
    EXPECT_NE(log.find("Out of sync: start=" + std::to_string(b * 8) + ", size=8 (sectors)"),
              std::string::npos)
        << b;
  }
  EXPECT_EQ(cl.StatusJson(0).value("out_of_sync_kib", uint64_t{0}), 12u);
  EXPECT_TRUE(WaitFor([&] { return !ReadFileOrEmpty(marker).empty(); }, 10s));
  // A disconnect/connect resyncs them.
  ASSERT_EQ(cl.Adm(1, {"disconnect", "r0"}).exit_code, 0);
  ASSERT_EQ(cl.Adm(1, {"connect", "r0"}).exit_code, 0);
  ASSERT_TRUE(cl.WaitForState(0, "Connected", "UpToDate/UpToDate", 30s));
  ASSERT_TRUE(WaitFor([&] { return cl.StatusJson(1).value("out_of_sync_kib", 1) == 0; }, 20s));
  EXPECT_TRUE(SameBytes(cl.DataOf(0, size), cl.DataOf(1, size)));
  // Without verify-alg: refused with DRBD's words.
  Cluster plain;
  plain.BringUp();
  if (HasFatalFailure()) return;
  auto r = plain.Adm(0, {"verify", "r0"});
  EXPECT_EQ(r.exit_code, 11);
  EXPECT_NE(r.err.find("(-14) Need a verify algorithm to start online verify"), std::string::npos);
}

// The NBD client of the Primary, as an application would reach it.
std::unique_ptr<nbd::BlockingClient> NbdClientOf(Cluster& c, int n) {
  auto client = std::make_unique<nbd::BlockingClient>();
  Status st = ConnectNbd(*client, c, n);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return st.ok() ? std::move(client) : nullptr;
}

TEST(Resync, IoErrorOnThePrimaryDetachesAndThePeerCarriesOn) {
  ClusterOptions o;
  o.test_hooks = true;
  o.extra_disk = "    on-io-error detach;\n";
  Cluster c(o);
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  auto client = NbdClientOf(c, 0);
  ASSERT_TRUE(client);
  auto write_blocks = [&](uint64_t seed, int count) {
    return WriteBlocksWith(size / 4096, seed, count,
                           [&](uint64_t b, const std::vector<uint8_t>& data) {
                             Status st = client->Write(b * 4096, 4096, data.data());
                             EXPECT_TRUE(st.ok()) << "block " << b << ": " << st.ToString();
                           });
  };
  write_blocks(5, 10);
  ASSERT_EQ(c.Call(0, "test-io-error", {{"mode", "all"}}).value("ok", false), true);
  // The NBD client sees no error: the peer has the data.
  auto after = write_blocks(6, 20);
  ASSERT_TRUE(client->Flush().ok());
  ASSERT_TRUE(WaitFor([&] { return c.Adm(0, {"dstate", "r0"}).out == "Diskless/UpToDate\n"; }, 10s))
      << c.Log(0);
  EXPECT_NE(c.Log(0).find("on-io-error detach: detaching"), std::string::npos);
  // Reads come from the peer too, with the bytes just written.
  for (uint64_t b : after) {
    std::vector<uint8_t> back(4096);
    ASSERT_TRUE(client->Read(b * 4096, 4096, back.data()).ok()) << "block " << b;
    auto want = Pattern(6 * 100000 + b, 4096);
    EXPECT_TRUE(std::equal(back.begin(), back.end(), want.begin())) << "block " << b;
  }
  std::string bravo = c.DataOf(1, size);
  for (uint64_t b : after) {
    auto want = Pattern(6 * 100000 + b, 4096);
    EXPECT_EQ(bravo.compare(b * 4096, 4096, std::string(want.begin(), want.end())), 0);
  }
  // The disk is repaired and attached again (the client stays connected): a
  // resync brings it up to date.
  ASSERT_EQ(c.Call(0, "test-io-error", {{"mode", "off"}}).value("ok", false), true);
  auto a = c.Adm(0, {"attach", "r0"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_TRUE(c.WaitForState(0, "Connected", "UpToDate/UpToDate", 60s)) << c.Log(0);
  EXPECT_TRUE(client->Disconnect().ok());
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
}

TEST(Resync, PassOnReportsTheErrorToTheClient) {
  ClusterOptions o;
  o.test_hooks = true;
  o.extra_disk = "    on-io-error pass_on;\n";
  Cluster c(o);
  c.BringUp();
  if (HasFatalFailure()) return;
  auto client = NbdClientOf(c, 0);
  ASSERT_TRUE(client);
  ASSERT_EQ(c.Call(0, "test-io-error", {{"mode", "reads"}}).value("ok", false), true);
  std::vector<uint8_t> back(4096);
  Status st = client->Read(0, 4096, back.data());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("Input/output error"), std::string::npos) << st.ToString();
  EXPECT_EQ(c.Adm(0, {"dstate", "r0"}).out, "UpToDate/UpToDate\n");
}

TEST(Resync, FencingOutdatesTheDisconnectedPeer) {
  ClusterOptions o;
  o.proxied = true;
  o.extra_disk = "    fencing resource-only;\n";
  // alpha's handler reaches bravo's tandemd through bravo's run directory.
  o.handlers = "    fence-peer \"TANDEMADM=@TANDEMADM@ TANDEM_PEER_RUN_DIR=@RUN1@ "
               "TANDEM_PEER_CONFIG=@CONF1@ " + SourcePath("initscripts/tandem-fence-peer") + "\";\n";
  Cluster f(o);
  f.BringUp();
  if (HasFatalFailure()) return;
  f.CutLink(true);
  ASSERT_TRUE(WaitFor([&] { return f.Log(0).find("fence-peer: the peer was outdated") != std::string::npos; },
                      20s))
      << f.Log(0);
  EXPECT_EQ(f.Adm(1, {"dstate", "r0"}).out, "Outdated/DUnknown\n");
  auto p = f.Adm(1, {"primary", "r0"});
  EXPECT_EQ(p.exit_code, 11);
  EXPECT_NE(p.err.find("(-2) Need access to UpToDate data"), std::string::npos);
}

TEST(Resync, DegradedStartWithInconsistentDataRunsTheHandler) {
  ClusterOptions o;
  o.handlers = "    pri-on-incon-degr \"echo degraded >> @DIR@/incon\";\n";
  Cluster cl(o);
  const std::string marker = cl.dir().path() + "/incon";
  ASSERT_EQ(cl.Adm(0, {"create-md", "r0"}).exit_code, 0);
  cl.Start(0);
  ASSERT_EQ(cl.Adm(0, {"up", "r0"}).exit_code, 0);
  auto r = cl.Adm(0, {"wait-connect", "r0", "-t", "1"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_TRUE(WaitFor([&] { return ReadFileOrEmpty(marker).find("degraded") != std::string::npos; },
                      10s))
      << cl.Log(0);
}

}  // namespace
}  // namespace tandem::testing
