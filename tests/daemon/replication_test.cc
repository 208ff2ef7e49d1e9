// Two real tandemd processes on 127.0.0.2 and 127.0.0.3 replicating file-backed
// disks: bring-up and full sync, byte-identical replicas, the drbdadm-style
// verbs and their refusals, protocol A/B/C acknowledgement with a slow peer
// disk, authentication (SIGKILL of the Primary: nbd_export_test.cc),
// a garbage-speaking fake peer, peers of different sizes, and the status file.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <regex>
#include <set>
#include <thread>

#include "cluster.h"

namespace tandem::testing {
namespace {

using namespace std::chrono_literals;

nlohmann::json WriteBlock(Cluster& c, int n, uint64_t offset, const std::vector<uint8_t>& data,
                          bool fua = false) {
  return c.Call(n, "write", {{"offset", offset}, {"data", B64(data)}, {"fua", fua}});
}

TEST(Replication, FullSyncThenWritesLeaveIdenticalReplicas) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  EXPECT_NE(c.Log(1).find("full sync, this node SyncTarget (rule 2)"), std::string::npos);
  EXPECT_NE(c.Log(1).find("Resync done"), std::string::npos);
  const uint64_t size = c.DataSize(0);
  ASSERT_GT(size, 60u << 20);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 300; ++i) {
    size_t len = 512 * (1 + rng() % 64);
    uint64_t off = (rng() % ((size - len) / 512)) * 512;
    auto r = WriteBlock(c, 0, off, Pattern(rng(), len), i % 7 == 0);
    ASSERT_EQ(r.value("ok", false), true) << r.dump();
  }
  ASSERT_EQ(c.Call(0, "flush").value("ok", false), true);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size))) << "replicas differ";
  // Reads on the Primary see what was written.
  auto rd = c.Call(0, "read", {{"offset", 0}, {"length", 4096}});
  EXPECT_EQ(rd.value("ok", false), true);
}

TEST(Replication, ZeroesAndDiscardsReachBothReplicas) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  // 8 MiB of patterns, 32 KiB per control request (the socket's requests are small).
  for (uint64_t mb = 0; mb < 8; ++mb) {
    auto p = Pattern(mb + 1, 1 << 20);
    for (uint64_t k = 0; k < 32; ++k) {
      std::vector<uint8_t> part(p.begin() + static_cast<long>(k << 15),
                                p.begin() + static_cast<long>((k + 1) << 15));
      ASSERT_EQ(WriteBlock(c, 0, (mb << 20) + (k << 15), part).value("ok", false), true);
    }
  }
  auto z = c.Call(0, "zeroes", {{"offset", 1 << 20}, {"length", 2 << 20}, {"may_unmap", false}});
  ASSERT_EQ(z.value("ok", false), true) << z.dump();
  auto d = c.Call(0, "zeroes", {{"offset", 5 << 20}, {"length", 1 << 20}, {"may_unmap", true},
                                {"fua", true}});
  ASSERT_EQ(d.value("ok", false), true) << d.dump();
  ASSERT_EQ(c.Call(0, "flush").value("ok", false), true);
  std::string a = c.DataOf(0, size);
  EXPECT_TRUE(SameBytes(a, c.DataOf(1, size)));
  EXPECT_EQ(a.substr(1 << 20, 2 << 20), std::string(2 << 20, '\0'));
  EXPECT_EQ(a.substr(5 << 20, 1 << 20), std::string(1 << 20, '\0'));
  auto keep = Pattern(4, 1 << 20);
  EXPECT_EQ(a.substr(3 << 20, 1 << 20), std::string(keep.begin(), keep.end()));
}

TEST(Replication, VerbsPrintLikeDrbdadm) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  EXPECT_EQ(c.Adm(0, {"role", "r0"}).out, "Primary/Secondary\n");
  EXPECT_EQ(c.Adm(1, {"role", "r0"}).out, "Secondary/Primary\n");
  EXPECT_EQ(c.Adm(1, {"state", "r0"}).out, "Secondary/Primary\n");
  EXPECT_EQ(c.Adm(0, {"cstate", "r0"}).out, "Connected\n");
  EXPECT_EQ(c.Adm(0, {"dstate", "r0"}).out, "UpToDate/UpToDate\n");
  auto st = c.Adm(0, {"status", "r0"});
  EXPECT_EQ(st.out,
            "r0 role:Primary\n  disk:UpToDate\n  peer role:Secondary\n"
            "    replication:Connected peer-disk:UpToDate\n");
  // One Primary at a time.
  auto second = c.Adm(1, {"primary", "r0"});
  EXPECT_EQ(second.exit_code, 11);
  EXPECT_EQ(second.err, "r0: State change failed: (-1) Multiple primaries not allowed by config\n");
  // Outdate while connected is refused.
  auto out = c.Adm(1, {"outdate", "r0"});
  EXPECT_EQ(out.exit_code, 11);
  EXPECT_NE(out.err.find("(-6) Refusing to be Outdated while Connected"), std::string::npos);
  // Disconnect then disconnect again.
  EXPECT_EQ(c.Adm(1, {"disconnect", "r0"}).exit_code, 0);
  EXPECT_EQ(c.Adm(1, {"cstate", "r0"}).out, "StandAlone\n");
  auto again = c.Adm(1, {"disconnect", "r0"});
  EXPECT_EQ(again.exit_code, 11);
  EXPECT_NE(again.err.find("(-9) Can not disconnect a StandAlone device"), std::string::npos);
  EXPECT_TRUE(WaitFor([&] { return c.Adm(0, {"role", "r0"}).out == "Primary/Unknown\n"; }, 10s));
  EXPECT_EQ(c.Adm(0, {"dstate", "r0"}).out, "UpToDate/DUnknown\n");
  // A wait-connect that cannot succeed times out with drbdadm's status.
  auto wc = c.Adm(1, {"wait-connect", "r0", "-t", "1"});
  EXPECT_EQ(wc.exit_code, 5);
}

TEST(Replication, SecondaryWithoutUpToDateDataRefusesPromotion) {
  Cluster c;
  for (int n = 0; n < 2; ++n) {
    ASSERT_EQ(c.Adm(n, {"create-md", "r0"}).exit_code, 0);
    c.Start(n);
    ASSERT_EQ(c.Adm(n, {"up", "r0"}).exit_code, 0);
  }
  ASSERT_EQ(c.Adm(0, {"wait-connect", "r0", "-t", "20"}).exit_code, 0);
  auto r = c.Adm(0, {"primary", "r0"});
  EXPECT_EQ(r.exit_code, 11);
  EXPECT_EQ(r.err, "r0: State change failed: (-2) Need access to UpToDate data\n");
  EXPECT_EQ(c.Adm(0, {"dstate", "r0"}).out, "Inconsistent/Inconsistent\n");
  // The fresh-disk shortcut: same new generation on both, no sync.
  auto ncu = c.Adm(0, {"new-current-uuid", "--clear-bitmap", "r0"});
  ASSERT_EQ(ncu.exit_code, 0) << ncu.err;
  EXPECT_TRUE(c.WaitForState(1, "Connected", "UpToDate/UpToDate", 10s)) << c.StatusFile(1);
  EXPECT_EQ(c.Adm(0, {"primary", "r0"}).exit_code, 0);
}

TEST(Replication, DisconnectedWritesAreResyncedFromTheBitmapOnly) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  ASSERT_EQ(c.Adm(1, {"disconnect", "r0"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return c.Adm(0, {"cstate", "r0"}).out == "WFConnection\n"; }, 10s));
  std::set<uint64_t> blocks;
  std::mt19937_64 rng(99);
  for (int i = 0; i < 50; ++i) {
    uint64_t block = rng() % (size / 4096);
    blocks.insert(block);
    ASSERT_EQ(WriteBlock(c, 0, block * 4096, Pattern(rng(), 4096)).value("ok", false), true);
  }
  auto s = c.StatusJson(0);
  EXPECT_EQ(s.value("out_of_sync_kib", uint64_t{0}), blocks.size() * 4);
  ASSERT_EQ(c.Adm(1, {"connect", "r0"}).exit_code, 0);
  ASSERT_TRUE(c.WaitForState(0, "Connected", "UpToDate/UpToDate", 30s)) << c.Log(0);
  EXPECT_NE(c.Log(0).find("bitmap-based resync, this node SyncSource (rule 6)"), std::string::npos);
  EXPECT_NE(c.Log(0).find("Began resync as SyncSource (will sync " +
                          std::to_string(blocks.size() * 4) + " KB)"),
            std::string::npos)
      << c.Log(0);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
}

// Time for one 4 KiB write to be acknowledged to the client.
std::chrono::milliseconds TimeOneWrite(Cluster& c) {
  auto start = std::chrono::steady_clock::now();
  auto r = WriteBlock(c, 0, 1 << 20, Pattern(1, 4096));
  EXPECT_EQ(r.value("ok", false), true) << r.dump();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

TEST(Replication, ProtocolsAcknowledgeAtTheRightMoment) {
  // The peer's disk takes 800 ms per write. Protocol C waits for it; A and B do not.
  for (char proto : {'A', 'B', 'C'}) {
    Cluster c(SlowPeerDisk(proto, 800));
    c.BringUpSkippingSync();
    if (HasFatalFailure()) return;
    auto t = TimeOneWrite(c);
    if (proto == 'C') {
      EXPECT_GE(t, 800ms) << "protocol C acknowledged before the peer's disk write finished";
    } else {
      EXPECT_LT(t, 600ms) << "protocol " << proto << " waited for the peer's disk";
    }
    // Whatever the protocol, the data reaches the peer.
    const uint64_t size = c.DataSize(0);
    ASSERT_TRUE(WaitFor([&] { return c.StatusJson(0)["counters"].value("pe", 1) == 0; }, 10s));
    EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size))) << "protocol " << proto;
  }
}

// The SIGKILL test (no acknowledged write lost) runs through NBD: nbd_export_test.cc.

TEST(Replication, DataIntegrityMismatchDropsTheLinkAndTheBlockIsResynced) {
  ClusterOptions o;
  o.proxied = true;
  o.extra_net = "    data-integrity-alg crc32c;\n";
  Cluster c(o);
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  c.CorruptFrom(0);
  for (int i = 0; i < 20 && c.corruptions() == 0; ++i) {
    ASSERT_EQ(WriteBlock(c, 0, (100 + i) * 4096, Pattern(i, 4096)).value("ok", false), true);
  }
  ASSERT_GE(c.corruptions(), 1);
  c.proxy(0).CorruptNext(false, SIZE_MAX);  // disarm whichever did not fire
  c.proxy(1).CorruptNext(true, SIZE_MAX);
  ASSERT_TRUE(WaitFor([&] { return c.Log(1).find("Digest integrity check FAILED at") !=
                                   std::string::npos; }, 20s))
      << c.Log(1);
  // The link comes back, the damaged block is resynced, nothing bad reached the disk.
  ASSERT_TRUE(c.WaitForState(0, "Connected", "UpToDate/UpToDate", 30s)) << c.Log(0);
  ASSERT_TRUE(WaitFor([&] { return c.StatusJson(0).value("out_of_sync_kib", 1) == 0; }, 30s));
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
}

TEST(Replication, WrongSharedSecretIsRefusedAndNothingFlows) {
  ClusterOptions o;
  o.secret[1] = "not-the-same";
  Cluster c(o);
  for (int n = 0; n < 2; ++n) {
    ASSERT_EQ(c.Adm(n, {"create-md", "r0"}).exit_code, 0);
    c.Start(n);
    ASSERT_EQ(c.Adm(n, {"up", "r0"}).exit_code, 0);
  }
  ASSERT_TRUE(WaitFor([&] {
    return c.Log(0).find("Authentication of peer failed") != std::string::npos &&
           c.Log(1).find("Authentication of peer failed") != std::string::npos;
  }, 20s)) << c.Log(0) << c.Log(1);
  EXPECT_EQ(c.Adm(0, {"cstate", "r0"}).out, "WFConnection\n");
  auto s = c.StatusJson(0)["counters"];
  EXPECT_EQ(s.value("ns", 1), 0);
  EXPECT_EQ(s.value("nr", 1), 0);
}

TEST(Replication, GarbageFromAFakePeerIsAProtocolErrorAndHarmless) {
  Cluster c;
  for (int n = 0; n < 2; ++n) ASSERT_EQ(c.Adm(n, {"create-md", "r0"}).exit_code, 0);
  c.Start(0);
  ASSERT_EQ(c.Adm(0, {"up", "r0"}).exit_code, 0);
  std::mt19937_64 rng(5);
  for (int round = 0; round < 20; ++round) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.2"), static_cast<uint16_t>(c.port(0))}, ec);
    ASSERT_FALSE(ec) << ec.message();
    std::vector<uint8_t> junk(1 + rng() % 4096);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    if (round % 2 == 0) {  // a valid magic with nonsense after it
      const uint8_t magic[] = {0x54, 0x4E, 0x44, 0x50, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF};
      std::copy(std::begin(magic), std::end(magic), junk.begin());
      if (junk.size() < 12) junk.resize(12);
    }
    boost::asio::write(s, boost::asio::buffer(junk), ec);
    s.close(ec);
  }
  ASSERT_TRUE(WaitFor([&] { return c.Log(0).find("protocol error") != std::string::npos ||
                                   c.Log(0).find("refused") != std::string::npos; }, 10s))
      << c.Log(0);
  // Still alive and still willing to talk to the real peer.
  c.Start(1);
  ASSERT_EQ(c.Adm(1, {"up", "r0"}).exit_code, 0);
  EXPECT_EQ(c.Adm(0, {"wait-connect", "r0", "-t", "20"}).exit_code, 0) << c.Log(0);
}

TEST(Replication, PeersOfDifferentSizesUseTheSmaller) {
  ClusterOptions o;
  o.disk_size[1] = 96ull << 20;
  Cluster c(o);
  c.BringUp();
  if (HasFatalFailure()) return;
  EXPECT_NE(c.Log(0).find("using the smaller"), std::string::npos) << c.Log(0);
  const uint64_t size = c.DataSize(0);
  EXPECT_LT(size, 64ull << 20);
  EXPECT_EQ(c.DataSize(1), size);
  // A write past the agreed size is refused.
  auto r = WriteBlock(c, 0, size, Pattern(1, 4096));
  EXPECT_EQ(r.value("ok", true), false);
}

TEST(StatusFile, FormatAndTheSeedConnectorGreps) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  std::string s = c.StatusFile(0);
  std::regex line1(R"(^ 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----$)",
                   std::regex::multiline);
  std::regex line2(R"(^    ns:\d+ nr:\d+ dw:\d+ dr:\d+ al:\d+ bm:\d+ lo:\d+ pe:\d+ ua:\d+ ap:\d+ ep:\d+ wo:f oos:0$)",
                   std::regex::multiline);
  EXPECT_TRUE(std::regex_search(s, line1)) << s;
  EXPECT_TRUE(std::regex_search(s, line2)) << s;
  EXPECT_EQ(s.rfind("version: ", 0), 0u);
  // The qmail seed's "connector" script decides what to do from these greps.
  auto grep = [&](int n, const std::string& a, const std::string& b) {
    return RunCommand({"/bin/sh", "-c",
                       "cat " + c.status_file(n) + " | grep " + a + " | grep " + b + " | wc -l"})
        .out;
  };
  EXPECT_EQ(grep(0, "StandAlone", "Primary"), "0\n");
  ASSERT_EQ(c.Adm(0, {"disconnect", "r0"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return grep(0, "StandAlone", "Primary") == "1\n"; }, 10s)) << c.StatusFile(0);
  ASSERT_TRUE(WaitFor([&] { return grep(1, "WFConnection", "Secondary") == "1\n"; }, 10s))
      << c.StatusFile(1);
  EXPECT_EQ(grep(1, "StandAlone", "Secondary"), "0\n");
  ASSERT_EQ(c.Adm(1, {"disconnect", "r0"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return grep(1, "StandAlone", "Secondary") == "1\n"; }, 10s));
  // The connector's remedy for a StandAlone Primary: connect.
  ASSERT_EQ(c.Adm(0, {"connect", "r0"}).exit_code, 0);
  ASSERT_EQ(c.Adm(1, {"connect", "r0"}).exit_code, 0);
  EXPECT_EQ(c.Adm(1, {"wait-connect", "r0", "-t", "20"}).exit_code, 0);
}

TEST(Replication, InvalidateResyncsEverythingFromThePeer) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  // Damage the Secondary's copy behind Tandem's back, then invalidate it.
  {
    std::fstream f(c.disk(1), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12345 * 4);
    f.write("corrupted by the test", 21);
  }
  ASSERT_FALSE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
  auto r = c.Adm(1, {"invalidate", "r0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(c.WaitForState(1, "Connected", "UpToDate/UpToDate", 60s)) << c.StatusFile(1);
  EXPECT_NE(c.Log(1).find("Began resync as SyncTarget"), std::string::npos);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
  // The Primary cannot invalidate itself while it is the only good copy... but
  // with an UpToDate peer it can.
  EXPECT_EQ(c.Adm(0, {"invalidate", "r0"}).exit_code, 0);
  ASSERT_TRUE(c.WaitForState(0, "Connected", "UpToDate/UpToDate", 60s))
      << c.StatusFile(0) << c.Log(0) << "--- node 1\n" << c.Log(1);
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
}

}  // namespace
}  // namespace tandem::testing
