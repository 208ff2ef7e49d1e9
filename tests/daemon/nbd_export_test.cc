// The Primary's NBD export, end to end: two tandemd processes, clients that
// speak NBD (our client library and qemu-io/nbdinfo), bytes compared on both
// backing files.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "cluster_nbd.h"

namespace tandem::testing {
namespace {

using namespace std::chrono_literals;

std::string UriOf(Cluster& c, int n) { return "nbd+unix:///r0?socket=" + NbdSocketOf(c, n); }

bool WaitForPeerIdle(Cluster& c) {
  return WaitFor([&] { return c.StatusJson(0)["counters"].value("pe", 1) == 0; }, 10s);
}

TEST(NbdExport, PrimaryServesAndWritesReachBothDisks) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);

  nbd::BlockingClient client;
  ASSERT_TRUE(ConnectNbd(client, c, 0).ok());
  EXPECT_EQ(client.info().size, size);
  EXPECT_EQ(c.StatusJson(0).value("open_count", 0), 1);
  EXPECT_EQ(c.StatusJson(0).value("nbd_clients", 0), 1);

  // Writes of several sizes (FUA and not), a flush, zeroes and a trim.
  const auto a = Pattern(1, 1 << 20);
  ASSERT_TRUE(client.Write(0, a.size(), a.data()).ok());
  const auto b = Pattern(2, 4096);
  ASSERT_TRUE(client.Write(8 << 20, b.size(), b.data(), /*fua=*/true).ok());
  const auto big = Pattern(3, 32 << 20);
  ASSERT_TRUE(client.Write(16 << 20, big.size(), big.data()).ok());
  ASSERT_TRUE(client.WriteZeroes(16 << 20, 1 << 20).ok());
  ASSERT_TRUE(client.Trim(17 << 20, 1 << 20).ok());
  ASSERT_TRUE(client.Flush().ok());

  std::vector<uint8_t> back(1 << 20);
  ASSERT_TRUE(client.Read(0, back.size(), back.data()).ok());
  EXPECT_EQ(back, a);
  ASSERT_TRUE(client.Read(16 << 20, back.size(), back.data()).ok());
  EXPECT_EQ(back, std::vector<uint8_t>(1 << 20, 0));

  // A request past the end is refused and changes nothing.
  EXPECT_FALSE(client.Write(size, 4096, b.data()).ok());

  ASSERT_TRUE(WaitForPeerIdle(c));
  const std::string d0 = c.DataOf(0, size), d1 = c.DataOf(1, size);
  EXPECT_TRUE(SameBytes(d0, d1));
  EXPECT_EQ(d0.substr(0, a.size()), std::string(a.begin(), a.end()));
  EXPECT_EQ(d0.substr(17 << 20, 1 << 20), std::string(1 << 20, '\0'))
      << "a trim makes both replicas read zeroes";
  EXPECT_EQ(d0.substr(18 << 20, 1 << 20), std::string(big.begin() + (2 << 20), big.begin() + (3 << 20)));
  ASSERT_TRUE(client.Disconnect().ok());
  EXPECT_TRUE(WaitFor([&] { return c.StatusJson(0).value("open_count", 1) == 0; }, 5s));
}

// A client FLUSH covers the writes completed before it, on both disks. The
// peer's disk takes 800 ms per write and per flush. Under A and B a write
// completes before the peer wrote it, so the peer's flush must wait for that
// write: write + flush take at least two peer operations. Under C the peer
// wrote a completed write already, so a flush sent while another write is
// still running does not wait for that one.
TEST(NbdExport, FlushCoversCompletedWritesOnThePeerUnderEveryProtocol) {
  for (char proto : {'A', 'B', 'C'}) {
    SCOPED_TRACE(std::string("protocol ") + proto);
    Cluster c(SlowPeerDisk(proto, 800));
    c.BringUpSkippingSync();
    if (HasFatalFailure()) return;
    nbd::BlockingClient writer, flusher;
    ASSERT_TRUE(ConnectNbd(writer, c, 0).ok());
    ASSERT_TRUE(ConnectNbd(flusher, c, 0).ok());
    const std::vector<uint8_t> block(4096, 0x5c);
    const auto start = std::chrono::steady_clock::now();
    auto since_start = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    };
    if (proto != 'C') {
      ASSERT_TRUE(writer.Write(0, block.size(), block.data()).ok());
      EXPECT_LT(since_start(), 600ms) << "the write waited for the peer's disk";
      ASSERT_TRUE(flusher.Flush().ok());
      EXPECT_GE(since_start(), 1500ms) << "the flush did not wait for the peer's write";
    } else {
      std::thread w([&] { EXPECT_TRUE(writer.Write(0, block.size(), block.data()).ok()); });
      std::this_thread::sleep_for(100ms);  // the write is on its way to the peer's disk
      const auto flush_start = std::chrono::steady_clock::now();
      EXPECT_TRUE(flusher.Flush().ok());
      const auto flush_took = std::chrono::steady_clock::now() - flush_start;
      w.join();
      EXPECT_LT(flush_took, 1400ms) << "the flush waited for a write nobody had completed";
    }
    ASSERT_TRUE(WaitForPeerIdle(c));
    const uint64_t size = c.DataSize(0);
    EXPECT_TRUE(SameBytes(c.DataOf(0, size), c.DataOf(1, size)));
  }
}

TEST(NbdExport, SecondaryRefusesClientsWithAClearMessage) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  nbd::BlockingClient client;
  Status st = ConnectNbd(client, c, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("r0 is Secondary on node bravo: only the Primary serves r0"),
            std::string::npos)
      << st.message();
  // Third-party client: qemu-io shows the server's reason too.
  auto r = RunCommand({"/usr/bin/qemu-io", "-f", "raw", UriOf(c, 1), "-c", "read 0 4k"}, 30);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("only the Primary serves r0"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(c.StatusJson(1).value("open_count", 1), 0);
}

TEST(NbdExport, SecondaryIsRefusedWhileOpenAndForceDisconnectsClients) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  nbd::BlockingClient client;
  ASSERT_TRUE(ConnectNbd(client, c, 0).ok());
  const auto a = Pattern(4, 65536);
  ASSERT_TRUE(client.Write(0, a.size(), a.data()).ok());

  auto refused = c.Adm(0, {"secondary", "r0"});
  EXPECT_EQ(refused.exit_code, 11);
  EXPECT_NE(refused.err.find("held open"), std::string::npos) << refused.err;
  EXPECT_EQ(c.Adm(0, {"role", "r0"}).out, "Primary/Secondary\n");

  auto forced = c.Adm(0, {"secondary", "--force", "r0"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err << c.Log(0);
  EXPECT_EQ(c.Adm(0, {"role", "r0"}).out, "Secondary/Secondary\n");
  EXPECT_FALSE(client.Write(65536, a.size(), a.data()).ok()) << "the client was not disconnected";
  EXPECT_NE(c.Log(0).find("disconnecting 1 NBD client"), std::string::npos);

  // The other node takes over and serves what was written.
  ASSERT_EQ(c.Adm(1, {"primary", "r0"}).exit_code, 0);
  nbd::BlockingClient on_bravo;
  ASSERT_TRUE(ConnectNbd(on_bravo, c, 1).ok());
  std::vector<uint8_t> back(a.size());
  ASSERT_TRUE(on_bravo.Read(0, back.size(), back.data()).ok());
  EXPECT_EQ(back, a);
}

TEST(NbdExport, ShowExportPrintsTheUriAndThirdPartyClientsUseIt) {
  Cluster c;
  c.BringUp();
  if (HasFatalFailure()) return;
  auto show = c.Adm(0, {"show-export", "r0"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(show.out, UriOf(c, 0) + "\n");

  auto info = RunCommand({"/usr/bin/nbdinfo", "--json", UriOf(c, 0)}, 30);
  ASSERT_EQ(info.exit_code, 0) << info.err;
  auto j = nlohmann::json::parse(info.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << info.out;
  const auto& e = j["exports"][0];
  EXPECT_EQ(e.value("export-size", uint64_t{0}), c.DataSize(0));
  EXPECT_EQ(e.value("can_multi_conn", false), true);
  EXPECT_EQ(e.value("block_size_preferred", 0), 4096);

  auto io = RunCommand({"/usr/bin/qemu-io", "-f", "raw", UriOf(c, 0), "-c", "write -P 0x5a 1M 256k",
                        "-c", "write -z 2M 64k", "-c", "read -P 0x5a 1M 256k"},
                       60);
  ASSERT_EQ(io.exit_code, 0) << io.out << io.err;
  EXPECT_EQ(io.out.find("Pattern verification failed"), std::string::npos) << io.out;
  ASSERT_TRUE(WaitForPeerIdle(c));
  const uint64_t size = c.DataSize(0);
  const std::string d1 = c.DataOf(1, size);
  EXPECT_EQ(d1.substr(1 << 20, 256 << 10), std::string(256 << 10, '\x5a'));
  EXPECT_TRUE(SameBytes(c.DataOf(0, size), d1));
}

// nbd-address adds a TCP listener; with `nbd-tls required` both listeners
// refuse a client that skips STARTTLS and serve one that does.
TEST(NbdExport, TcpListenerAndRequiredTls) {
  ScratchDir keys;
  const std::string cert = keys.path() + "/cert.pem", key = keys.path() + "/key.pem";
  auto gen = RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                         "-days", "2", "-subj", "/CN=alpha", "-addext",
                         "subjectAltName=DNS:alpha"},
                        60);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  ClusterOptions o;
  o.nbd_tcp = true;
  o.extra_net = "    nbd-tls required;\n    nbd-tls-cert " + cert + ";\n    nbd-tls-key " + key +
                ";\n";
  Cluster c(o);
  c.BringUp();
  if (HasFatalFailure()) return;
  const std::string tcp_uri =
      "nbd://127.0.0.2:" + std::to_string(c.nbd_port(0)) + "/r0";
  auto show = c.Adm(0, {"show-export", "r0"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find(tcp_uri), std::string::npos) << show.out;

  const auto tcp = nbd::ClientEndpoint::Tcp("127.0.0.2", static_cast<uint16_t>(c.nbd_port(0)));
  nbd::ClientOptions plain;
  plain.export_name = "r0";
  {
    nbd::BlockingClient client;
    Status st = client.Connect(tcp, plain);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("TLS"), std::string::npos) << st.ToString();
  }
  {
    nbd::BlockingClient client;
    EXPECT_FALSE(client.Connect(nbd::ClientEndpoint::Unix(NbdSocketOf(c, 0)), plain).ok());
  }
  auto info = RunCommand({"/usr/bin/nbdinfo", tcp_uri}, 30);
  EXPECT_NE(info.exit_code, 0) << info.out;

  nbd::ClientOptions secure = plain;
  secure.tls = true;
  secure.tls_ca_file = cert;
  secure.tls_server_name = "alpha";
  nbd::BlockingClient client;
  ASSERT_TRUE(client.Connect(tcp, secure).ok());
  const auto data = Pattern(7, 256 << 10);
  ASSERT_TRUE(client.Write(4 << 20, data.size(), data.data(), /*fua=*/true).ok());
  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(client.Read(4 << 20, back.size(), back.data()).ok());
  EXPECT_EQ(back, data);
  EXPECT_TRUE(client.Disconnect().ok());
  ASSERT_TRUE(WaitForPeerIdle(c));
  EXPECT_EQ(c.DataOf(1, c.DataSize(0)).substr(4 << 20, data.size()),
            std::string(data.begin(), data.end()));
}

// SIGKILL the Primary while NBD clients write; every write the client saw
// acknowledged must be on the Secondary's disk. Writers: four connections of
// our client library (their own threads), and qemu-io as a third-party one.
void KillPrimaryDuringNbdWrites(uint64_t seed) {
  Cluster c;
  c.BringUp();
  if (::testing::Test::HasFatalFailure()) return;
  const uint64_t size = c.DataSize(0);
  const uint64_t blocks = size / 4096;
  std::mutex mu;
  std::map<uint64_t, uint64_t> acked;  // block -> pattern seed
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> next{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      nbd::BlockingClient client(10s);
      if (!ConnectNbd(client, c, 0).ok()) return;
      while (!stop) {
        uint64_t i = next++;
        // The lower half; writes a period apart (below) share a block.
        uint64_t block = (i * 7919 + seed) % (blocks / 2);
        uint64_t pseed = seed * 1000003 + i;
        auto data = Pattern(pseed, 4096);
        if (!client.Write(block * 4096, 4096, data.data()).ok()) return;
        std::lock_guard<std::mutex> l(mu);
        acked[block] = pseed;
      }
    });
  }
  // qemu-io writes the upper half, 64 KiB at a time; it prints a line for
  // each write once it completed.
  std::vector<std::string> qargs = {"/usr/bin/qemu-io", "-f", "raw", UriOf(c, 0)};
  const uint64_t upper = size / 2;
  const int qwrites = static_cast<int>(std::min<uint64_t>(2000, upper / 65536));
  for (int i = 0; i < qwrites; ++i) {
    qargs.push_back("-c");
    qargs.push_back("write -P " + std::to_string(1 + (i + seed) % 250) + " " +
                    std::to_string(upper + uint64_t(i) * 65536) + " 64k");
  }
  CommandResult qemu;
  std::thread qemu_thread([&] { qemu = RunCommand(qargs, 60); });

  std::mt19937_64 rng(seed);
  std::this_thread::sleep_for(std::chrono::milliseconds(400 + rng() % 800));
  c.Kill(0);
  stop = true;
  for (auto& t : writers) t.join();
  qemu_thread.join();
  std::map<uint64_t, uint64_t> snapshot;
  {
    std::lock_guard<std::mutex> l(mu);
    snapshot = acked;
  }
  ASSERT_GT(snapshot.size(), 20u) << "the writers made no progress";
  ASSERT_TRUE(WaitFor([&] { return c.Adm(1, {"cstate", "r0"}).out == "WFConnection\n"; }, 20s));
  auto p = c.Adm(1, {"primary", "r0"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  std::string data = c.DataOf(1, size);
  // A block holds its last acknowledged write, or a later write to it that
  // was issued and not acknowledged before the kill (it may have landed).
  const uint64_t issued = next.load();
  const uint64_t period = (blocks / 2) / std::gcd(uint64_t{7919}, blocks / 2);
  size_t missing = 0;
  for (const auto& [block, pseed] : snapshot) {
    bool found = false;
    for (uint64_t i = pseed - seed * 1000003; i < issued && !found; i += period) {
      auto want = Pattern(seed * 1000003 + i, 4096);
      found = data.compare(block * 4096, 4096, std::string(want.begin(), want.end())) == 0;
    }
    if (!found) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << snapshot.size() << " acknowledged writes (seed " << seed << ")";

  // qemu-io's acknowledged writes: "wrote 65536/65536 bytes at offset N".
  size_t qacked = 0, qmissing = 0;
  for (size_t at = qemu.out.find("wrote "); at != std::string::npos;
       at = qemu.out.find("wrote ", at + 1)) {
    size_t off_at = qemu.out.find("at offset ", at);
    if (off_at == std::string::npos) break;
    uint64_t offset = std::stoull(qemu.out.substr(off_at + 10));
    int i = static_cast<int>((offset - upper) / 65536);
    char want = static_cast<char>(1 + (i + seed) % 250);
    ++qacked;
    if (data.substr(offset, 65536) != std::string(65536, want)) ++qmissing;
  }
  EXPECT_GT(qacked, 0u) << "qemu-io made no progress: " << qemu.err;
  EXPECT_EQ(qmissing, 0u) << "of " << qacked << " writes qemu-io saw acknowledged";
}

TEST(NbdExport, ProtocolCLosesNoAcknowledgedWriteWhenThePrimaryIsKilled) {
  for (uint64_t seed : {1, 2, 3}) {
    KillPrimaryDuringNbdWrites(seed);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace tandem::testing
