// The NBD server and Tandem's own client together, over real sockets: Unix
// and TCP on 127.0.0.x, simple and structured replies, many requests in
// flight with replies in completion order, refusals with messages, TLS,
// disconnecting clients, limits, and the listening socket's rules.
#include "nbd/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "io/delayed_device.h"
#include "io/fault_injecting_device.h"
#include "io/mem_block_device.h"
#include "nbd/blocking_client.h"
#include "nbd/client.h"
#include "nbd/connection.h"
#include "nbd/wire.h"
#include "nbd_test_util.h"
#include "testing/test_util.h"

namespace tandem::nbd {
namespace {

using testing::Bytes;
using testing::ConnectClient;
using testing::Pattern;
using testing::ReadFileRange;
using testing::RunClientLoopUntil;
using testing::TestServer;

constexpr uint64_t kSize = 64 << 20;

class ServerRoundTrip : public testing::TransportFixture {
 protected:
  void SetUp() override { Serve(kSize, io::CacheMode::kDirect, {"test export", 0}); }
};

TEST_P(ServerRoundTrip, EveryCommandReachesTheFile) {
  BlockingClient c;
  ASSERT_TRUE(c.Connect(Endpoint(), Options()).ok());
  EXPECT_EQ(c.info().size, kSize);
  EXPECT_EQ(c.info().structured, GetParam().structured);
  EXPECT_EQ(c.info().description, "test export");
  EXPECT_TRUE(c.info().flags & kFlagCanMultiConn);
  uint64_t seed = 10;
  for (uint32_t len : {512u, 4096u, 65536u, 1u << 20, 32u << 20}) {
    for (uint64_t off : {uint64_t{0}, uint64_t{1} << 20, kSize - len}) {
      SCOPED_TRACE(std::to_string(len) + "@" + std::to_string(off));
      const Bytes data = Pattern(len, ++seed);
      ASSERT_TRUE(c.Write(off, len, data.data(), seed % 2 == 0).ok());
      Bytes back(len);
      ASSERT_TRUE(c.Read(off, len, back.data()).ok());
      EXPECT_EQ(back, data);
      EXPECT_EQ(ReadFileRange(path_, off, len), data) << "the file itself";
    }
  }
  ASSERT_TRUE(c.Flush().ok());
  ASSERT_TRUE(c.WriteZeroes(4096, 8192, /*no_hole=*/true, /*fua=*/true).ok());
  EXPECT_EQ(ReadFileRange(path_, 4096, 8192), Bytes(8192, 0));
  ASSERT_TRUE(c.WriteZeroes(1 << 20, 1 << 20, false, false).ok());
  EXPECT_EQ(ReadFileRange(path_, 1 << 20, 1 << 20), Bytes(1 << 20, 0));
  ASSERT_TRUE(c.Trim(2 << 20, 1 << 20, true).ok());
  ASSERT_TRUE(c.Read(0, 0, nullptr).ok()) << "an empty read";
  ASSERT_TRUE(c.Disconnect().ok());
  EXPECT_TRUE(server_.WaitFor([&] { return server_.server().connections().count() == 0; }));
  EXPECT_EQ(server_.OnLoop([&] { return backend_->openers(); }), 0u);
}

// Large writes pipelined with small ones and flushes: payloads larger and
// smaller than the server's receive buffer, some partly read with the headers
// before them and partly straight into their own buffers, are all decoded in
// order with every byte in place.
TEST_P(ServerRoundTrip, PipelinedLargeAndSmallRequestsKeepEveryByte) {
  boost::asio::io_context loop;
  std::shared_ptr<Client> client = ConnectClient(loop, Endpoint(), Options());
  ASSERT_NE(client, nullptr);

  constexpr uint32_t kBuffer = Connection::kReceiveBuffer;
  const uint32_t sizes[] = {1u << 20,          4096,     kBuffer,      kBuffer - 512, 512,
                            (1u << 20) + 3584, 3u << 20, kBuffer + 512};
  struct Sent {
    uint64_t offset;
    Bytes data;
  };
  std::vector<Sent> sent;
  uint64_t offset = 0;
  int done = 0, ok = 0, expected = 0;
  auto count = [&](Status st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    ok += st.ok();
    ++done;
  };
  for (int round = 0; round < 3; ++round) {
    for (uint32_t len : sizes) {
      sent.push_back({offset, Pattern(len, static_cast<uint64_t>(sent.size()) + 500)});
      client->Write(offset, len, sent.back().data.data(), len % 3 == 0, count);
      ++expected;
      offset += len + 4096;
      if (len == 512) {
        client->Flush(count);
        ++expected;
      }
    }
  }
  ASSERT_LT(offset, kSize);
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] { return done == expected; }));
  EXPECT_EQ(ok, expected);

  // Read back the same way: large reads pipelined with small ones.
  std::vector<Bytes> back;
  back.reserve(sent.size());
  done = 0;
  for (const Sent& s : sent) {
    back.emplace_back(s.data.size());
    client->Read(s.offset, static_cast<uint32_t>(s.data.size()), back.back().data(), count);
  }
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] { return done == static_cast<int>(sent.size()); }));
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_TRUE(back[i] == sent[i].data) << "request " << i;
    EXPECT_TRUE(ReadFileRange(path_, sent[i].offset, sent[i].data.size()) == sent[i].data)
        << "the file itself, request " << i;
  }
  bool gone = false;
  client->Disconnect([&](Status st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    gone = true;
  });
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] { return gone; }));
}

TEST_P(ServerRoundTrip, BackendErrorsReachTheClient) {
  auto faulty = std::make_unique<io::FaultInjectingDevice>(
      server_.loop(), std::make_unique<io::MemBlockDevice>(server_.loop(), 1 << 20));
  io::FaultInjectingDevice* f = faulty.get();
  server_.OnLoop([&] {
    f->FailRange(65536, 4096);
    server_.AddExport("faulty", std::move(faulty));
    return 0;
  });
  BlockingClient c;
  ClientOptions o = Options();
  o.export_name = "faulty";
  ASSERT_TRUE(c.Connect(Endpoint(), o).ok());
  Bytes buf(4096);
  Status st = c.Read(65536, 4096, buf.data());
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_NE(st.message().find("EIO"), std::string::npos);
  if (GetParam().structured) {
    EXPECT_NE(st.message().find("injected"), std::string::npos) << "the server's message: " << st.ToString();
  }
  st = c.Write(65536, 4096, buf.data());
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_TRUE(c.Read(0, 4096, buf.data()).ok()) << "the connection survives errors";
}

INSTANTIATE_TEST_SUITE_P(Modes, ServerRoundTrip,
                         testing::AllTransportModes(), testing::TransportModeName);

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    server_ = std::make_unique<TestServer>(std::move(options));
    ASSERT_TRUE(server_->Start().ok());
  }
  // A running server with one in-memory export, "mem"; returns its Unix socket.
  std::string ServeMemory(uint64_t size) {
    StartServer();
    server_->AddExport("mem", std::make_unique<io::MemBlockDevice>(server_->loop(), size));
    const std::string sock = server_->ListenUnix(dir_.path() + "/s.sock");
    server_->Run();
    return sock;
  }
  ClientOptions Options(const std::string& name) {
    ClientOptions o;
    o.export_name = name;
    return o;
  }

  tandem::testing::ScratchDir dir_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(ServerTest, ManyRequestsInFlightRepliedInCompletionOrder) {
  StartServer();
  // Writes take 50 ms; reads are immediate: replies must overtake each other.
  auto slow = std::make_unique<io::DelayedDevice>(
      server_->loop(), std::make_unique<io::MemBlockDevice>(server_->loop(), 16 << 20),
      std::chrono::milliseconds(50));
  io::DelayedDevice* dev = slow.get();
  auto backend = server_->AddExport("slow", std::move(slow));
  const std::string sock = server_->ListenUnix(dir_.path() + "/s.sock");
  server_->Run();

  boost::asio::io_context loop;
  std::shared_ptr<Client> client = ConnectClient(loop, ClientEndpoint::Unix(sock), Options("slow"));
  ASSERT_NE(client, nullptr);

  constexpr int kWrites = 200;
  std::vector<Bytes> data;
  std::vector<int> order;
  int ok = 0;
  for (int i = 0; i < kWrites; ++i) data.push_back(Pattern(4096, 100 + i));
  for (int i = 0; i < kWrites; ++i) {
    client->Write(uint64_t(i) * 4096, 4096, data[i].data(), false, [&, i](Status st) {
      EXPECT_TRUE(st.ok()) << st.ToString();
      ok += st.ok();
      order.push_back(i);
    });
  }
  Bytes early(4096);
  client->Read(15 << 20, 4096, early.data(), [&](Status st) {
    EXPECT_TRUE(st.ok());
    order.push_back(-1);
  });
  size_t peak = 0;
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] {
    peak = std::max(peak, server_->OnLoop([&] { return dev->in_flight(); }));
    return order.size() == kWrites + 1;
  }));
  EXPECT_EQ(ok, kWrites);
  EXPECT_GT(peak, 50u) << "the server should have had many writes in flight at once";
  EXPECT_NE(order.back(), -1) << "the read, sent last, must not wait behind the slow writes";
  EXPECT_LT(std::find(order.begin(), order.end(), -1) - order.begin(), kWrites);

  std::vector<Bytes> back(kWrites, Bytes(4096));
  int reads = 0;
  for (int i = 0; i < kWrites; ++i) {
    client->Read(uint64_t(i) * 4096, 4096, back[i].data(), [&](Status st) {
      EXPECT_TRUE(st.ok());
      ++reads;
    });
  }
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] { return reads == kWrites; }));
  for (int i = 0; i < kWrites; ++i) EXPECT_EQ(back[i], data[i]) << i;
  bool gone = false;
  client->Disconnect([&](Status st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    gone = true;
  });
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] { return gone; }));
  EXPECT_TRUE(server_->WaitFor([&] { return backend->openers() == 0; }));
}

TEST_F(ServerTest, BlockingClientIsSafeFromManyThreads) {
  BlockingClient c;
  ASSERT_TRUE(c.Connect(ClientEndpoint::Unix(ServeMemory(8 << 20)), Options("mem")).ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const uint64_t off = (uint64_t(t) * 64 + i) * 4096;
        const Bytes data = Pattern(4096, off);
        Bytes back(4096);
        if (!c.Write(off, 4096, data.data()).ok() || !c.Read(off, 4096, back.data()).ok() ||
            back != data) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(ServerTest, BlockingClientStartAsyncAnswersOnItsLoopFromManyThreads) {
  BlockingClient c;
  ASSERT_TRUE(c.Connect(ClientEndpoint::Unix(ServeMemory(8 << 20)), Options("mem")).ok());
  constexpr int kThreads = 4, kEach = 64;
  std::vector<Bytes> data(kThreads * kEach), back(kThreads * kEach, Bytes(4096));
  std::mutex mu;
  std::condition_variable cv;
  int writes_done = 0, reads_done = 0, failures = 0;
  auto finished = [&](int& counter, const Status& st) {
    std::lock_guard<std::mutex> lock(mu);
    if (!st.ok()) ++failures;
    ++counter;
    cv.notify_all();
  };
  auto wait_for = [&](int& counter) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30),
                       [&] { return counter == kThreads * kEach; });
  };
  // Every request is started before any is answered: none waits for another.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int k = t * kEach + i;
        data[k] = Pattern(4096, 1000 + k);
        c.StartAsync(
            [&, k](Client& cl, Client::Callback done) {
              cl.Write(uint64_t(k) * 4096, 4096, data[k].data(), false, std::move(done));
            },
            [&](Status st) { finished(writes_done, st); });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(wait_for(writes_done));
  for (int k = 0; k < kThreads * kEach; ++k) {
    c.StartAsync(
        [&, k](Client& cl, Client::Callback done) {
          cl.Read(uint64_t(k) * 4096, 4096, back[k].data(), std::move(done));
        },
        [&](Status st) { finished(reads_done, st); });
  }
  ASSERT_TRUE(wait_for(reads_done));
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(back, data);
}

TEST_F(ServerTest, BlockingClientStartAsyncFailsARequestPastTheTimeout) {
  StartServer();
  // Writes take 3 s; the client waits 200 ms, then closes the connection.
  auto slow = std::make_unique<io::DelayedDevice>(
      server_->loop(), std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20),
      std::chrono::milliseconds(3000));
  auto backend = server_->AddExport("slow", std::move(slow));
  const std::string sock = server_->ListenUnix(dir_.path() + "/s.sock");
  server_->Run();
  BlockingClient c(std::chrono::milliseconds(200));
  ASSERT_TRUE(c.Connect(ClientEndpoint::Unix(sock), Options("slow")).ok());
  const Bytes data = Pattern(4096, 7);
  std::promise<Status> answer;
  const auto start = std::chrono::steady_clock::now();
  c.StartAsync(
      [&](Client& cl, Client::Callback done) {
        cl.Write(0, 4096, data.data(), false, std::move(done));
      },
      [&](Status st) { answer.set_value(std::move(st)); });
  std::future<Status> result = answer.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(result.get().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500))
      << "failed by the watchdog, not by the slow write finishing";
  // The connection is closed: later requests fail at once instead of hanging.
  EXPECT_FALSE(c.Read(0, 4096, Bytes(4096).data()).ok());
}

TEST_F(ServerTest, RefusedExportReportsTheBackendsMessage) {
  StartServer();
  server_->AddExport("r0", std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20),
                     {"", /*max_openers=*/1});
  const std::string sock = server_->ListenUnix(dir_.path() + "/s.sock");
  server_->Run();
  BlockingClient first;
  ASSERT_TRUE(first.Connect(ClientEndpoint::Unix(sock), Options("r0")).ok());
  BlockingClient second;
  Status st = second.Connect(ClientEndpoint::Unix(sock), Options("r0"));
  EXPECT_EQ(st.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(st.message().find("NBD_REP_ERR_POLICY"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("in use by 1 client"), std::string::npos) << st.ToString();
  BlockingClient third;
  st = third.Connect(ClientEndpoint::Unix(sock), Options("r9"));
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_NE(st.message().find("exports: r0"), std::string::npos) << st.ToString();
}

TEST_F(ServerTest, ListShowsExportsWithDescriptions) {
  StartServer();
  server_->AddExport("r0", std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20),
                     {"the first", 0});
  server_->AddExport("r1", std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20));
  const uint16_t port = server_->ListenTcp("127.0.0.3");
  server_->Run();
  auto list = BlockingClient::ListExports(ClientEndpoint::Tcp("127.0.0.3", port), {});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "r0");
  EXPECT_EQ((*list)[0].details, "the first");
  EXPECT_EQ((*list)[1].name, "r1");
}

TEST_F(ServerTest, StopExportDisconnectsOnlyThatExportsClients) {
  StartServer();
  auto b0 = server_->AddExport("r0", std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20));
  auto b1 = server_->AddExport("r1", std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20));
  const std::string sock = server_->ListenUnix(dir_.path() + "/s.sock");
  server_->Run();
  BlockingClient c0, c0b, c1;
  ASSERT_TRUE(c0.Connect(ClientEndpoint::Unix(sock), Options("r0")).ok());
  ASSERT_TRUE(c0b.Connect(ClientEndpoint::Unix(sock), Options("r0")).ok());
  ASSERT_TRUE(c1.Connect(ClientEndpoint::Unix(sock), Options("r1")).ok());
  EXPECT_TRUE(server_->WaitFor([&] { return server_->server().connections().count("r0") == 2; }));
  server_->OnLoop([&] {
    server_->server().connections().StopExport("r0");
    return 0;
  });
  EXPECT_TRUE(server_->WaitFor([&] {
    return server_->server().connections().count("r0") == 0 && b0->openers() == 0;
  }));
  Bytes buf(512);
  EXPECT_FALSE(c0.Read(0, 512, buf.data()).ok());
  EXPECT_FALSE(c0b.Read(0, 512, buf.data()).ok());
  EXPECT_TRUE(c1.Read(0, 512, buf.data()).ok());
  EXPECT_EQ(server_->OnLoop([&] { return b1->openers(); }), 1u);
}

TEST_F(ServerTest, AbandonedHandshakeIsCutOff) {
  ServerOptions o;
  o.handshake_timeout = std::chrono::milliseconds(200);
  StartServer(o);
  server_->AddExport("r0", std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20));
  const std::string sock = server_->ListenUnix(dir_.path() + "/s.sock");
  server_->Run();
  auto raw = testing::RawSocket::ConnectUnix(sock);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->Recv(kGreetingSize).size(), kGreetingSize);
  EXPECT_TRUE(raw->PeerClosed(5000));
  EXPECT_TRUE(server_->WaitFor([&] { return server_->server().connections().count() == 0; }));
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitAreClosed) {
  ServerOptions o;
  o.max_connections = 2;
  StartServer(o);
  server_->AddExport("r0", std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20));
  const std::string sock = server_->ListenUnix(dir_.path() + "/s.sock");
  server_->Run();
  BlockingClient a, b;
  ASSERT_TRUE(a.Connect(ClientEndpoint::Unix(sock), Options("r0")).ok());
  ASSERT_TRUE(b.Connect(ClientEndpoint::Unix(sock), Options("r0")).ok());
  BlockingClient c;
  EXPECT_FALSE(c.Connect(ClientEndpoint::Unix(sock), Options("r0")).ok());
  ASSERT_TRUE(a.Disconnect().ok());
  EXPECT_TRUE(server_->WaitFor([&] { return server_->server().connections().count() == 1; }));
  BlockingClient d;
  EXPECT_TRUE(d.Connect(ClientEndpoint::Unix(sock), Options("r0")).ok());
}

TEST_F(ServerTest, UnixSocketIsPrivateAndStaleFilesAreReplaced) {
  StartServer();
  server_->AddExport("r0", std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20));
  // A stale socket file: bound, never listened on, left behind.
  const std::string stale = dir_.path() + "/stale.sock";
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, stale.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(fd);
  }
  auto l = server_->server().ListenUnix(stale);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  struct stat st{};
  ASSERT_EQ(::stat(stale.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Somebody listens there now: a second server must not steal the path.
  auto again = server_->server().ListenUnix(stale);
  EXPECT_EQ(again.status().code(), Status::Code::kBusy);
  // Never remove something that is not a socket.
  const std::string regular = dir_.Write("not-a-socket", "data");
  auto refused = server_->server().ListenUnix(regular);
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(tandem::testing::ReadFileOrEmpty(regular), "data");
  server_->Run();
  BlockingClient c;
  EXPECT_TRUE(c.Connect(ClientEndpoint::Unix(stale), Options("r0")).ok());
  ASSERT_TRUE(c.Disconnect().ok());
  server_->Shutdown();
  EXPECT_NE(::access(stale.c_str(), F_OK), 0) << "the socket file is removed on stop";
}

// --- TLS ----------------------------------------------------------------------

class TlsTest : public ServerTest {
 protected:
  void SetUp() override {
    cert_ = dir_.path() + "/cert.pem";
    key_ = dir_.path() + "/key.pem";
    auto r = tandem::testing::RunCommand(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key_, "-out", cert_, "-days", "2",
         "-subj", "/CN=tandem-test", "-addext", "subjectAltName=DNS:tandem-test"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void StartTls(TlsMode mode) {
    ServerOptions o;
    o.tls = mode;
    o.tls_cert_file = cert_;
    o.tls_key_file = key_;
    StartServer(o);
    server_->AddExport("r0", std::make_unique<io::MemBlockDevice>(server_->loop(), 1 << 20));
    sock_ = server_->ListenUnix(dir_.path() + "/s.sock");
    port_ = server_->ListenTcp("127.0.0.4");
    server_->Run();
  }
  ClientOptions TlsOptions(const std::string& ca = "", const std::string& name = "") {
    ClientOptions o = Options("r0");
    o.tls = true;
    o.tls_ca_file = ca;
    o.tls_server_name = name;
    return o;
  }
  std::string cert_, key_, sock_;
  uint16_t port_ = 0;
};

TEST_F(TlsTest, RequiredTlsServesTlsClientsAndRefusesOthers) {
  StartTls(TlsMode::kRequired);
  for (const ClientEndpoint& ep :
       {ClientEndpoint::Unix(sock_), ClientEndpoint::Tcp("127.0.0.4", port_)}) {
    BlockingClient c;
    ASSERT_TRUE(c.Connect(ep, TlsOptions(cert_, "tandem-test")).ok());
    const Bytes data = Pattern(65536, 7);
    ASSERT_TRUE(c.Write(0, 65536, data.data(), true).ok());
    Bytes back(65536);
    ASSERT_TRUE(c.Read(0, 65536, back.data()).ok());
    EXPECT_EQ(back, data);
    ASSERT_TRUE(c.Disconnect().ok());

    BlockingClient plain;
    Status st = plain.Connect(ep, Options("r0"));
    EXPECT_EQ(st.code(), Status::Code::kPermissionDenied) << st.ToString();
    EXPECT_NE(st.message().find("NBD_REP_ERR_TLS_REQD"), std::string::npos) << st.ToString();
  }
}

TEST_F(TlsTest, OptionalTlsServesBoth) {
  StartTls(TlsMode::kOptional);
  BlockingClient secure, plain;
  ASSERT_TRUE(secure.Connect(ClientEndpoint::Unix(sock_), TlsOptions()).ok());
  ASSERT_TRUE(plain.Connect(ClientEndpoint::Unix(sock_), Options("r0")).ok());
  const Bytes data = Pattern(4096, 8);
  ASSERT_TRUE(secure.Write(4096, 4096, data.data()).ok());
  Bytes back(4096);
  ASSERT_TRUE(plain.Read(4096, 4096, back.data()).ok());
  EXPECT_EQ(back, data);
}

// TLS encrypts in user space, so reads never go from the page cache to the
// socket directly, even where a plain connection would send them that way.
TEST_F(TlsTest, ReadsOverTlsNeverSkipTheEncryption) {
  ServerOptions o;
  o.tls = TlsMode::kOptional;
  o.tls_cert_file = cert_;
  o.tls_key_file = key_;
  StartServer(o);
  const std::string path = dir_.path() + "/disk.img";
  testing::MakeFile(path, 8 << 20);
  auto backend = server_->AddFileExport("r0", path, io::CacheMode::kBuffered);
  sock_ = server_->ListenUnix(dir_.path() + "/s.sock");
  server_->Run();
  const Bytes data = Pattern(1 << 20, 9);
  for (bool tls : {true, false}) {
    SCOPED_TRACE(tls ? "TLS" : "plain");
    BlockingClient c;
    ASSERT_TRUE(c.Connect(ClientEndpoint::Unix(sock_), tls ? TlsOptions() : Options("r0")).ok());
    ASSERT_TRUE(c.Write(0, 1 << 20, data.data()).ok());
    const uint64_t before = server_->OnLoop([&] { return backend->zero_copy_reads(); });
    Bytes back(1 << 20);
    ASSERT_TRUE(c.Read(0, 1 << 20, back.data()).ok());
    EXPECT_EQ(back, data);
    const uint64_t zero_copy = server_->OnLoop([&] { return backend->zero_copy_reads(); }) - before;
    if (tls) {
      EXPECT_EQ(zero_copy, 0u);
    }
    // The plain connection shows the same range was eligible (where the
    // kernel can say what is cached).
    if (!tls && zero_copy == 0) GTEST_SKIP() << "the kernel cannot report page cache residency";
  }
}

TEST_F(TlsTest, ClientRefusesACertificateForAnotherName) {
  StartTls(TlsMode::kRequired);
  BlockingClient c;
  Status st = c.Connect(ClientEndpoint::Unix(sock_), TlsOptions(cert_, "someone-else"));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("TLS handshake"), std::string::npos) << st.ToString();
  EXPECT_TRUE(server_->WaitFor([&] { return server_->server().connections().count() == 0; }));
}

TEST_F(TlsTest, BadCertificateFilesFailAtStart) {
  ServerOptions o;
  o.tls = TlsMode::kRequired;
  o.tls_cert_file = dir_.path() + "/missing.pem";
  o.tls_key_file = key_;
  boost::asio::io_context loop;  // never run: Start() only loads the files
  Server s(loop, o);
  Status st = s.Start();
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("missing.pem"), std::string::npos);
  ServerOptions swapped = o;
  swapped.tls_cert_file = key_;
  swapped.tls_key_file = cert_;
  Server s2(loop, swapped);
  EXPECT_FALSE(s2.Start().ok());
}

}  // namespace
}  // namespace tandem::nbd
