// Linker over real loopback sockets: two nodes (127.0.0.2 and 127.0.0.3, on
// ports reserved by binding port 0) settle on exactly one connection; a wrong
// shared secret, another node name or another resource never yields a
// connection; a client sending garbage is dropped with a protocol error while
// the listener keeps serving the real peer. Both Linkers share one io_context,
// run in loops bounded by deadlines.
#include "net/linker.h"

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "net/net_test_util.h"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;
using testing::RecordingSink;
using testing::RunFor;
using testing::RunUntil;
namespace asio = boost::asio;

const asio::ip::address kAlphaAddr = asio::ip::make_address("127.0.0.2");
const asio::ip::address kBetaAddr = asio::ip::make_address("127.0.0.3");

// A free port on `addr`: bind port 0, read it back, release it.
uint16_t ReservePort(asio::io_context& loop, const asio::ip::address& addr) {
  tcp::acceptor a(loop);
  a.open(tcp::v4());
  a.bind(tcp::endpoint(addr, 0));
  return a.local_endpoint().port();
}

// One node: its Linker, what it logged and what it was handed.
struct Node {
  std::vector<std::pair<LogLevel, std::string>> log;
  std::vector<std::shared_ptr<PeerConnection>> established;
  RecordingSink sink;
  std::unique_ptr<Linker> linker;

  bool Logged(const std::string& needle) const {
    for (const auto& [level, line] : log) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::string LogText() const {
    std::string out;
    for (const auto& [level, line] : log)
      out += std::string(LogLevelName(level)) + ": " + line + "\n";
    return out;
  }
};

class LinkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alpha_ep_ = tcp::endpoint(kAlphaAddr, ReservePort(loop_, kAlphaAddr));
    beta_ep_ = tcp::endpoint(kBetaAddr, ReservePort(loop_, kBetaAddr));
  }
  void TearDown() override {
    for (Node* n : {&alpha_, &beta_, &other_}) {
      n->linker.reset();
      for (auto& c : n->established) {
        c->Detach();
        c->Close(Status::Aborted("test over"));
      }
      n->established.clear();
    }
    RunFor(loop_, 100ms);
  }

  LinkConfig Config(const std::string& node, const std::string& peer_node, tcp::endpoint local,
                    tcp::endpoint peer) {
    LinkConfig c;
    c.resource = "r0";
    c.node = node;
    c.peer_node = peer_node;
    c.local = local;
    c.peer = peer;
    c.hmac_alg = "sha256";
    c.secret = "shared-secret";
    c.connect_int = 100ms;
    c.handshake_timeout = 3s;
    return c;
  }

  void StartNode(Node* n, LinkConfig config) {
    n->linker = std::make_unique<Linker>(
        loop_, std::move(config), Env::Default(),
        [n](std::shared_ptr<PeerConnection> c) {
          c->Start(&n->sink);
          n->established.push_back(std::move(c));
        },
        [n](LogLevel level, const std::string& line) { n->log.emplace_back(level, line); });
    Status s = n->linker->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  asio::io_context loop_;
  tcp::endpoint alpha_ep_, beta_ep_;
  Node alpha_, beta_, other_;
};

TEST(LinkerEndpointLess, FamilyThenAddressBytesThenPort) {
  const tcp::endpoint a(asio::ip::make_address("127.0.0.2"), 7789);
  const tcp::endpoint b(asio::ip::make_address("127.0.0.3"), 7000);
  const tcp::endpoint c(asio::ip::make_address("127.0.0.2"), 7790);
  const tcp::endpoint d(asio::ip::make_address("10.0.0.1"), 9);
  const tcp::endpoint e(asio::ip::make_address("::1"), 1);
  const tcp::endpoint f(asio::ip::make_address("200.0.0.1"), 1);
  EXPECT_TRUE(EndpointLess(a, b));
  EXPECT_FALSE(EndpointLess(b, a));
  EXPECT_TRUE(EndpointLess(a, c));
  EXPECT_FALSE(EndpointLess(c, a));
  EXPECT_TRUE(EndpointLess(d, a));  // numerically, not as text
  EXPECT_TRUE(EndpointLess(a, f));
  EXPECT_TRUE(EndpointLess(f, e));  // IPv4 before IPv6
  EXPECT_FALSE(EndpointLess(e, f));
  EXPECT_FALSE(EndpointLess(a, a));
}

TEST_F(LinkerTest, SameSecretGivesExactlyOneConnectionOnEachSide) {
  StartNode(&alpha_, Config("alpha", "beta", alpha_ep_, beta_ep_));
  StartNode(&beta_, Config("beta", "alpha", beta_ep_, alpha_ep_));
  ASSERT_TRUE(
      RunUntil(loop_, [&] { return !alpha_.established.empty() && !beta_.established.empty(); }))
      << "alpha:\n"
      << alpha_.LogText() << "beta:\n"
      << beta_.LogText();
  // Several connect intervals later there is still exactly one each.
  RunFor(loop_, 600ms);
  ASSERT_EQ(alpha_.established.size(), 1u) << alpha_.LogText();
  ASSERT_EQ(beta_.established.size(), 1u) << beta_.LogText();
  auto& a = alpha_.established[0];
  auto& b = beta_.established[0];
  ASSERT_FALSE(a->closed());
  ASSERT_FALSE(b->closed());
  boost::system::error_code ec;
  EXPECT_EQ(a->socket().local_endpoint(ec), b->socket().remote_endpoint(ec));
  EXPECT_EQ(a->socket().remote_endpoint(ec), b->socket().local_endpoint(ec));
  EXPECT_EQ(a->socket().local_endpoint(ec).address(), kAlphaAddr);
  EXPECT_EQ(b->socket().local_endpoint(ec).address(), kBetaAddr);
  EXPECT_EQ(alpha_.linker->auth_failures(), 0u);
  EXPECT_EQ(beta_.linker->auth_failures(), 0u);

  // The handed-over connection carries packets both ways; the handshake
  // leaves nothing behind for the owner.
  a->SendControl(PacketType::kPing, Ping{42});
  b->SendControl(PacketType::kPingAck, Ping{43});
  ASSERT_TRUE(RunUntil(
      loop_, [&] { return !alpha_.sink.events.empty() && !beta_.sink.events.empty(); }, 5s));
  ASSERT_EQ(beta_.sink.events.size(), 1u);
  EXPECT_EQ(beta_.sink.events[0].type, PacketType::kPing);
  EXPECT_EQ(std::get<Ping>(beta_.sink.events[0].control).nonce, 42u);
  ASSERT_EQ(alpha_.sink.events.size(), 1u);
  EXPECT_EQ(alpha_.sink.events[0].type, PacketType::kPingAck);
  EXPECT_TRUE(alpha_.sink.closed.empty());
  EXPECT_TRUE(beta_.sink.closed.empty());
}

TEST_F(LinkerTest, WithoutAuthenticationToo) {
  auto ca = Config("alpha", "beta", alpha_ep_, beta_ep_);
  auto cb = Config("beta", "alpha", beta_ep_, alpha_ep_);
  ca.hmac_alg.clear();
  cb.hmac_alg.clear();
  StartNode(&beta_, cb);  // the higher node first this time
  StartNode(&alpha_, ca);
  ASSERT_TRUE(
      RunUntil(loop_, [&] { return !alpha_.established.empty() && !beta_.established.empty(); }))
      << alpha_.LogText() << beta_.LogText();
  RunFor(loop_, 500ms);
  ASSERT_EQ(alpha_.established.size(), 1u);
  ASSERT_EQ(beta_.established.size(), 1u);
  boost::system::error_code ec;
  EXPECT_EQ(alpha_.established[0]->socket().local_endpoint(ec),
            beta_.established[0]->socket().remote_endpoint(ec));
  EXPECT_FALSE(alpha_.established[0]->closed());
  EXPECT_FALSE(beta_.established[0]->closed());
}

TEST_F(LinkerTest, ResumeAfterTheConnectionEndedConnectsAgain) {
  StartNode(&alpha_, Config("alpha", "beta", alpha_ep_, beta_ep_));
  StartNode(&beta_, Config("beta", "alpha", beta_ep_, alpha_ep_));
  ASSERT_TRUE(RunUntil(
      loop_, [&] { return alpha_.established.size() == 1 && beta_.established.size() == 1; }));
  alpha_.established[0]->Close(Status::Aborted("link lost"));
  ASSERT_TRUE(RunUntil(
      loop_, [&] { return beta_.sink.closed.size() == 1; }, 5s));
  alpha_.linker->Resume();
  beta_.linker->Resume();
  ASSERT_TRUE(RunUntil(
      loop_, [&] { return alpha_.established.size() == 2 && beta_.established.size() == 2; }))
      << alpha_.LogText() << beta_.LogText();
  RunFor(loop_, 300ms);
  EXPECT_EQ(alpha_.established.size(), 2u);
  EXPECT_EQ(beta_.established.size(), 2u);
  boost::system::error_code ec;
  EXPECT_EQ(alpha_.established[1]->socket().local_endpoint(ec),
            beta_.established[1]->socket().remote_endpoint(ec));
}

TEST_F(LinkerTest, WrongSecretNeverHandsOverAConnection) {
  auto cb = Config("beta", "alpha", beta_ep_, alpha_ep_);
  cb.secret = "another-secret";
  StartNode(&alpha_, Config("alpha", "beta", alpha_ep_, beta_ep_));
  StartNode(&beta_, cb);
  ASSERT_TRUE(RunUntil(loop_,
                       [&] {
                         return alpha_.Logged("Authentication of peer failed") &&
                                beta_.Logged("Authentication of peer failed") &&
                                alpha_.linker->auth_failures() > 0 &&
                                beta_.linker->auth_failures() > 0;
                       }))
      << alpha_.LogText() << beta_.LogText();
  // Keep trying for a few connect intervals: still nothing.
  RunFor(loop_, 800ms);
  EXPECT_TRUE(alpha_.established.empty());
  EXPECT_TRUE(beta_.established.empty());
  EXPECT_TRUE(alpha_.linker->running());
  EXPECT_GT(alpha_.linker->auth_failures(), 0u);
  EXPECT_GT(beta_.linker->auth_failures(), 0u);
  bool logged_as_error = false;
  for (const auto& [level, line] : alpha_.log) {
    if (line.find("Authentication of peer failed") != std::string::npos) {
      logged_as_error |= level == LogLevel::kError;
    }
  }
  EXPECT_TRUE(logged_as_error);
}

TEST_F(LinkerTest, PeerWithAnotherNodeNameIsRefused) {
  // "gamma" speaks from beta's address but calls itself by another name.
  StartNode(&alpha_, Config("alpha", "beta", alpha_ep_, beta_ep_));
  StartNode(&other_, Config("gamma", "alpha", beta_ep_, alpha_ep_));
  ASSERT_TRUE(RunUntil(loop_, [&] {
    return alpha_.Logged("peer calls itself 'gamma', expected 'beta'");
  })) << alpha_.LogText();
  RunFor(loop_, 500ms);
  EXPECT_TRUE(alpha_.established.empty()) << alpha_.LogText();
  EXPECT_TRUE(other_.Logged("refused")) << other_.LogText();
}

TEST_F(LinkerTest, PeerWithAnotherResourceIsRefused) {
  auto co = Config("beta", "alpha", beta_ep_, alpha_ep_);
  co.resource = "r1";
  StartNode(&alpha_, Config("alpha", "beta", alpha_ep_, beta_ep_));
  StartNode(&other_, co);
  ASSERT_TRUE(RunUntil(loop_,
                       [&] {
                         return alpha_.Logged("peer offers resource 'r1', expected 'r0'") &&
                                other_.Logged("peer offers resource 'r0', expected 'r1'");
                       }))
      << alpha_.LogText() << other_.LogText();
  RunFor(loop_, 500ms);
  EXPECT_TRUE(alpha_.established.empty());
  EXPECT_TRUE(other_.established.empty());
}

// Reads from a raw socket until `done` or the peer closes; bounded by the loop runner.
struct RawReader {
  explicit RawReader(tcp::socket s) : socket(std::move(s)) {}
  void Start() {
    socket.async_read_some(asio::buffer(chunk),
                           [this](const boost::system::error_code& ec, size_t n) {
                             if (ec) {
                               eof = true;
                               return;
                             }
                             bytes.insert(bytes.end(), chunk, chunk + n);
                             Start();
                           });
  }
  tcp::socket socket;
  uint8_t chunk[4096];
  std::vector<uint8_t> bytes;
  bool eof = false;
};

TEST_F(LinkerTest, RefusedHelloStaysRefusedEvenIfACorrectHelloFollows) {
  // alpha is the lower node and decides on its own: a session that was refused
  // must not become the connection because the peer tried again on it.
  auto ca = Config("alpha", "beta", alpha_ep_, beta_ep_);
  ca.hmac_alg.clear();
  ca.connect_int = 10s;  // nobody listens at beta: keep the outgoing side quiet
  StartNode(&alpha_, ca);
  tcp::socket raw(loop_);
  raw.open(tcp::v4());
  raw.bind(tcp::endpoint(kBetaAddr, 0));
  raw.connect(alpha_ep_);
  Hello wrong;
  wrong.node = "mallory";
  wrong.resource = "r0";
  Hello right;
  right.node = "beta";
  right.resource = "r0";
  auto bytes = EncodeControl(PacketType::kHello, wrong);
  auto second = EncodeControl(PacketType::kHello, right);
  bytes.insert(bytes.end(), second.begin(), second.end());
  asio::write(raw, asio::buffer(bytes));
  RawReader reader(std::move(raw));
  reader.Start();
  ASSERT_TRUE(RunUntil(
      loop_, [&] { return reader.eof; }, 10s))
      << alpha_.LogText();
  RunFor(loop_, 100ms);
  EXPECT_TRUE(alpha_.Logged("peer calls itself 'mallory', expected 'beta'")) << alpha_.LogText();
  EXPECT_TRUE(alpha_.established.empty()) << alpha_.LogText();
}

TEST_F(LinkerTest, GarbageFromAClientIsAProtocolErrorAndTheListenerStays) {
  StartNode(&alpha_, Config("alpha", "beta", alpha_ep_, beta_ep_));
  tcp::socket raw(loop_);
  raw.connect(alpha_ep_);
  const std::string garbage = "GET / HTTP/1.0\r\nHost: tandem\r\n\r\n";
  asio::write(raw, asio::buffer(garbage));
  RawReader reader(std::move(raw));
  reader.Start();
  ASSERT_TRUE(RunUntil(
      loop_, [&] { return alpha_.Logged("protocol error"); }, 10s))
      << alpha_.LogText();
  ASSERT_TRUE(RunUntil(
      loop_, [&] { return reader.eof; }, 10s));
  // Before dropping it, alpha spoke first: its HELLO is what the client got.
  ASSERT_GE(reader.bytes.size(), kHeaderSize);
  auto h = DecodeHeader(std::span<const uint8_t>(reader.bytes.data(), kHeaderSize));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->type, PacketType::kHello);
  EXPECT_TRUE(alpha_.established.empty());
  EXPECT_TRUE(alpha_.linker->running());

  // The real peer still gets through.
  StartNode(&beta_, Config("beta", "alpha", beta_ep_, alpha_ep_));
  ASSERT_TRUE(RunUntil(
      loop_, [&] { return alpha_.established.size() == 1 && beta_.established.size() == 1; }))
      << alpha_.LogText() << beta_.LogText();
  boost::system::error_code ec;
  EXPECT_EQ(alpha_.established[0]->socket().local_endpoint(ec),
            beta_.established[0]->socket().remote_endpoint(ec));
}

TEST_F(LinkerTest, ListenErrorIsReturnedByStart) {
  // Someone else holds alpha's port.
  tcp::acceptor squatter(loop_, alpha_ep_);
  auto c = Config("alpha", "beta", alpha_ep_, beta_ep_);
  Linker linker(
      loop_, c, Env::Default(), [](std::shared_ptr<PeerConnection>) {},
      [](LogLevel, const std::string&) {});
  Status s = linker.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("127.0.0.2:" + std::to_string(alpha_ep_.port())), std::string::npos)
      << s.message();
  EXPECT_FALSE(linker.running());
}

}  // namespace
}  // namespace tandem::net
