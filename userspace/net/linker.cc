#include "net/linker.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <cstring>

#include "net/crypto.h"

namespace tandem::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool EndpointLess(const tcp::endpoint& a, const tcp::endpoint& b) {
  if (a.address().is_v4() != b.address().is_v4()) return a.address().is_v4();
  if (a.address().is_v4()) {
    auto x = a.address().to_v4().to_bytes(), y = b.address().to_v4().to_bytes();
    if (x != y) return x < y;
  } else {
    auto x = a.address().to_v6().to_bytes(), y = b.address().to_v6().to_bytes();
    if (x != y) return x < y;
  }
  return a.port() < b.port();
}

class Linker::Session : public PacketSink, public std::enable_shared_from_this<Session> {
 public:
  Session(Linker* linker, std::shared_ptr<PeerConnection> conn, bool outgoing)
      : linker_(linker), conn_(std::move(conn)), outgoing_(outgoing),
        timer_(linker->loop_) {}

  void Begin() {
    conn_->Start(this);
    const LinkConfig& c = linker_->config_;
    Hello h;
    h.node = c.node;
    h.resource = c.resource;
    conn_->SendControl(PacketType::kHello, h);
    if (!c.hmac_alg.empty()) {
      AuthChallenge ch;
      ch.algorithm = c.hmac_alg;
      for (size_t i = 0; i < kChallengeLength; i += 8) {
        uint64_t r = linker_->env_->RandomU64();
        std::memcpy(ch.challenge.data() + i, &r, 8);
      }
      my_challenge_ = ch.challenge;
      conn_->SendControl(PacketType::kAuthChallenge, ch);
    }
    auto weak = std::weak_ptr<Session>(shared_from_this());
    timer_.expires_after(c.handshake_timeout);
    timer_.async_wait([weak](const boost::system::error_code& ec) {
      auto s = weak.lock();
      if (!ec && s && !s->handed_over_) s->Abort("handshake timed out");
    });
  }

  void OnControl(PacketType type, ControlPacket packet) override {
    // Refused: the verdict is on its way and the connection closes after it;
    // nothing the peer sent meanwhile counts.
    if (refused_) return;
    const LinkConfig& c = linker_->config_;
    switch (type) {
      case PacketType::kHello: {
        const auto& h = std::get<Hello>(packet);
        if (h.version_min > kProtocolVersion || h.version_max < kProtocolVersion) {
          return Refuse("no common protocol version (peer speaks " +
                        std::to_string(h.version_min) + ".." + std::to_string(h.version_max) +
                        ", we speak " + std::to_string(kProtocolVersion) + ")");
        }
        if (h.resource != c.resource) {
          return Refuse("peer offers resource '" + h.resource + "', expected '" + c.resource + "'");
        }
        if (h.node != c.peer_node) {
          return Refuse("peer calls itself '" + h.node + "', expected '" + c.peer_node + "'");
        }
        hello_ok_ = true;
        break;
      }
      case PacketType::kAuthChallenge: {
        const auto& ch = std::get<AuthChallenge>(packet);
        if (c.hmac_alg.empty()) return Refuse("peer wants authentication, we have no cram-hmac-alg");
        if (ch.algorithm != c.hmac_alg) {
          return Refuse("peer uses cram-hmac-alg '" + ch.algorithm + "', we use '" + c.hmac_alg +
                        "'");
        }
        auto mac = Mac(ch.challenge, c.node);
        if (!mac.ok()) return Refuse(mac.status().message());
        conn_->SendControl(PacketType::kAuthResponse, AuthResponse{*mac});
        break;
      }
      case PacketType::kAuthResponse: {
        if (c.hmac_alg.empty()) return Refuse("unexpected AUTH_RESPONSE");
        auto want = Mac(my_challenge_, c.peer_node);
        bool good = want.ok() && SecureEqual(*want, std::get<AuthResponse>(packet).digest);
        conn_->SendControl(PacketType::kAuthResult, AuthResult{good});
        if (!good) {
          ++linker_->auth_failures_;
          linker_->log_(LogLevel::kError, "Authentication of peer failed (" + conn_->peer() + ")");
          // Let the verdict reach the peer, then close.
          refused_ = true;
          auto self = shared_from_this();
          conn_->SendControl(PacketType::kError, ErrorPacket{1, "authentication failed"},
                             [self] { self->Abort(""); });
          return;
        }
        peer_verified_ = true;
        break;
      }
      case PacketType::kAuthResult: {
        if (!std::get<AuthResult>(packet).accepted) {
          ++linker_->auth_failures_;
          linker_->log_(LogLevel::kError,
                        "Authentication of peer failed: " + conn_->peer() +
                            " rejected our response (different shared-secret?)");
          return Abort("");
        }
        we_accepted_ = true;
        break;
      }
      case PacketType::kEstablished:
        if (linker_->local_is_lower_) return Refuse("unexpected ESTABLISHED from the higher node");
        if (!Ready()) return Refuse("ESTABLISHED before the handshake finished");
        established_received_ = true;
        break;
      case PacketType::kError: {
        const auto& e = std::get<ErrorPacket>(packet);
        if (e.code != 1) {
          linker_->log_(LogLevel::kWarning, "peer " + conn_->peer() + " refused: " + e.message);
        }
        return Abort("");
      }
      default:
        return Refuse(std::string("unexpected ") + PacketTypeName(type) + " during the handshake");
    }
    if (Ready()) linker_->SessionReady(shared_from_this());
  }

  void OnData(DataPrefix, io::AlignedBuffer) override { Refuse("DATA during the handshake"); }
  void OnDataReply(DataReplyPrefix, io::AlignedBuffer) override {
    Refuse("DATA_REPLY during the handshake");
  }
  void OnRsData(RsDataPrefix, io::AlignedBuffer) override { Refuse("RS_DATA during the handshake"); }
  // (Refuse() ignores a second refusal, so these need no check of their own.)
  void OnClosed(Status why) override {
    auto self = shared_from_this();  // SessionEnded drops the Linker's reference
    if (handed_over_) return;
    if (!why.ok() && why.code() == Status::Code::kProtocolError) {
      linker_->log_(LogLevel::kError, "protocol error from " + conn_->peer() + ": " + why.message());
    }
    timer_.cancel();
    linker_->SessionEnded(this);
  }

  bool Ready() const {
    return hello_ok_ && (linker_->config_.hmac_alg.empty() || (peer_verified_ && we_accepted_));
  }
  bool outgoing() const { return outgoing_; }
  bool established_received() const { return established_received_; }
  std::shared_ptr<PeerConnection> Take() {
    handed_over_ = true;
    timer_.cancel();
    conn_->Detach();
    return conn_;
  }
  void Abort(const std::string& why) {
    if (!why.empty()) linker_->log_(LogLevel::kWarning, conn_->peer() + ": " + why);
    conn_->Close(Status::Aborted(why));
  }
  // The Linker is going away: close without calling back.
  void Shutdown() {
    timer_.cancel();
    conn_->Detach();
    conn_->Close(Status::Aborted("stopped"));
  }

 private:
  Result<std::vector<uint8_t>> Mac(const std::array<uint8_t, kChallengeLength>& challenge,
                                   const std::string& responder) {
    std::vector<uint8_t> msg(challenge.begin(), challenge.end());
    msg.insert(msg.end(), responder.begin(), responder.end());
    const std::string& secret = linker_->config_.secret;
    return Hmac(linker_->config_.hmac_alg,
                {reinterpret_cast<const uint8_t*>(secret.data()), secret.size()}, msg);
  }
  void Refuse(const std::string& why) {
    if (refused_) return;
    refused_ = true;
    linker_->log_(LogLevel::kError, "connection from " + conn_->peer() + " refused: " + why);
    auto self = shared_from_this();
    conn_->SendControl(PacketType::kError, ErrorPacket{2, why}, [self] { self->Abort(""); });
  }

  Linker* linker_;
  std::shared_ptr<PeerConnection> conn_;
  bool outgoing_;
  asio::steady_timer timer_;
  bool refused_ = false;  // a refusal is being sent; the session is over
  std::array<uint8_t, kChallengeLength> my_challenge_{};
  bool hello_ok_ = false;
  bool peer_verified_ = false;
  bool we_accepted_ = false;
  bool established_received_ = false;
  bool handed_over_ = false;
};

Linker::Linker(asio::io_context& loop, LinkConfig config, Env* env, EstablishedFn established,
               LogFn log)
    : loop_(loop),
      config_(std::move(config)),
      env_(env),
      established_(std::move(established)),
      log_(std::move(log)),
      local_is_lower_(EndpointLess(config_.local, config_.peer)),
      connect_timer_(loop),
      alive_(std::make_shared<bool>(true)) {}

Linker::~Linker() {
  *alive_ = false;
  Stop();
}

Status Linker::Start() {
  if (running_) return Status::Ok();
  auto acc = std::make_unique<tcp::acceptor>(loop_);
  boost::system::error_code ec;
  acc->open(config_.local.protocol(), ec);
  if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc->bind(config_.local, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IoError("cannot listen on " + config_.local.address().to_string() + ":" +
                           std::to_string(config_.local.port()) + ": " + ec.message());
  }
  acceptor_ = std::move(acc);
  running_ = true;
  linked_ = false;
  Accept();
  ScheduleConnect(std::chrono::milliseconds(0));
  return Status::Ok();
}

void Linker::Stop() {
  running_ = false;
  connect_timer_.cancel();
  if (acceptor_) {
    boost::system::error_code ec;
    acceptor_->close(ec);
    acceptor_.reset();
  }
  if (connecting_) {
    boost::system::error_code ec;
    connecting_->close(ec);
    connecting_.reset();
  }
  auto sessions = std::move(sessions_);
  sessions_.clear();
  for (const auto& s : sessions) s->Shutdown();
}

void Linker::Resume() {
  linked_ = false;
  if (running_) ScheduleConnect(std::chrono::milliseconds(0));
}

void Linker::ApplyBufferSizes(tcp::socket& socket) {
  boost::system::error_code ec;
  if (config_.sndbuf > 0) socket.set_option(asio::socket_base::send_buffer_size(config_.sndbuf), ec);
  if (config_.rcvbuf > 0) {
    socket.set_option(asio::socket_base::receive_buffer_size(config_.rcvbuf), ec);
  }
}

void Linker::Accept() {
  if (!acceptor_) return;
  auto alive = alive_;
  acceptor_->async_accept([this, alive](const boost::system::error_code& ec, tcp::socket socket) {
    if (!*alive || !running_) return;
    if (!ec) {
      if (linked_) {
        boost::system::error_code ignored;
        socket.close(ignored);  // we already have our connection
      } else {
        StartSession(std::move(socket), /*outgoing=*/false);
      }
    }
    Accept();
  });
}

void Linker::ScheduleConnect(std::chrono::milliseconds delay) {
  auto alive = alive_;
  connect_timer_.expires_after(delay);
  connect_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || !*alive || !running_) return;
    Connect();
  });
}

void Linker::Connect() {
  if (linked_ || connecting_) return;
  bool outgoing_in_setup = false;
  for (const auto& s : sessions_) outgoing_in_setup |= s->outgoing();
  if (!outgoing_in_setup) {
    auto sock = std::make_shared<tcp::socket>(loop_);
    boost::system::error_code ec;
    sock->open(config_.peer.protocol(), ec);
    // Connect from our own address, so several nodes can share one machine.
    if (!ec) sock->bind(tcp::endpoint(config_.local.address(), 0), ec);
    if (!ec) {
      ApplyBufferSizes(*sock);
      connecting_ = sock;
      auto alive = alive_;
      sock->async_connect(config_.peer, [this, alive, sock](const boost::system::error_code& e) {
        if (!*alive) return;
        if (connecting_ == sock) connecting_.reset();
        if (!running_) return;
        if (!e && !linked_) StartSession(std::move(*sock), /*outgoing=*/true);
      });
    }
  }
  ScheduleConnect(config_.connect_int);
}

void Linker::StartSession(tcp::socket socket, bool outgoing) {
  ApplyBufferSizes(socket);
  boost::system::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  std::string who = config_.peer_node + " (" +
                    (ec ? std::string("?") : remote.address().to_string() + ":" +
                                                 std::to_string(remote.port())) +
                    ")";
  auto conn = std::make_shared<PeerConnection>(std::move(socket), who);
  auto session = std::make_shared<Session>(this, conn, outgoing);
  sessions_.insert(session);
  session->Begin();
}

void Linker::SessionReady(const std::shared_ptr<Session>& s) {
  if (linked_) return s->Abort("");
  if (local_is_lower_) {
    // The lower node decides: the first connection to get here wins.
    HandOver(s);
    return;
  }
  if (s->established_received()) HandOver(s);
}

void Linker::HandOver(const std::shared_ptr<Session>& s) {
  linked_ = true;
  connect_timer_.cancel();
  std::shared_ptr<PeerConnection> conn = s->Take();
  sessions_.erase(s);
  auto others = sessions_;
  for (const auto& o : others) o->Abort("");
  if (local_is_lower_) conn->SendControl(PacketType::kEstablished, Established{});
  established_(conn);
}

void Linker::SessionEnded(Session* s) {
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->get() == s) {
      sessions_.erase(it);
      break;
    }
  }
}

}  // namespace tandem::net
