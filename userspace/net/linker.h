#pragma once
// Linker: establishes the replication connection of one resource
// (docs/wire-protocol.md, "Connection set-up"): listens on the local address,
// connects to the peer every connect-int, runs HELLO and the cram-hmac
// challenge-response on every TCP connection, and applies the tie-break so that
// both nodes settle on the same single connection, which it hands to the owner.
//
// Thread-safety: runs on one io_context; all callbacks there.
// Failure: a listen error is returned by Start(); handshake failures are logged
// (naming the peer) and the connection closed; attempts continue.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "common/env.h"
#include "common/log.h"
#include "net/connection.h"

namespace tandem::net {

struct LinkConfig {
  std::string resource;
  std::string node;       // this node
  std::string peer_node;  // the other `on` section
  boost::asio::ip::tcp::endpoint local;
  boost::asio::ip::tcp::endpoint peer;
  std::string hmac_alg;  // empty: no authentication
  std::string secret;
  std::chrono::milliseconds connect_int{10000};
  std::chrono::milliseconds handshake_timeout{10000};
  int sndbuf = 0;  // bytes; 0: kernel auto-tuning
  int rcvbuf = 0;
};

// True when `a` sorts before `b` (family, address bytes, port): the tie-break.
bool EndpointLess(const boost::asio::ip::tcp::endpoint& a,
                  const boost::asio::ip::tcp::endpoint& b);

class Linker {
 public:
  using EstablishedFn = std::function<void(std::shared_ptr<PeerConnection>)>;
  // Log lines for the owner to prefix and emit.
  using LogFn = std::function<void(LogLevel, const std::string&)>;

  Linker(boost::asio::io_context& loop, LinkConfig config, Env* env, EstablishedFn established,
         LogFn log);
  ~Linker();
  Linker(const Linker&) = delete;
  Linker& operator=(const Linker&) = delete;

  Status Start();  // listen and start connecting
  void Stop();     // close the listener and every connection in set-up
  // After the handed-over connection ended: connect again.
  void Resume();
  bool running() const { return running_; }
  uint64_t auth_failures() const { return auth_failures_; }

  class Session;  // one TCP connection in set-up (internal)

 private:
  friend class Session;
  void Accept();
  void ScheduleConnect(std::chrono::milliseconds delay);
  void Connect();
  void StartSession(boost::asio::ip::tcp::socket socket, bool outgoing);
  void SessionReady(const std::shared_ptr<Session>& s);
  void SessionEnded(Session* s);
  void HandOver(const std::shared_ptr<Session>& s);
  void ApplyBufferSizes(boost::asio::ip::tcp::socket& socket);

  boost::asio::io_context& loop_;
  LinkConfig config_;
  Env* env_;
  EstablishedFn established_;
  LogFn log_;
  bool local_is_lower_;
  bool running_ = false;
  bool linked_ = false;  // a connection was handed over and is in use
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  boost::asio::steady_timer connect_timer_;
  std::shared_ptr<boost::asio::ip::tcp::socket> connecting_;
  std::set<std::shared_ptr<Session>> sessions_;
  uint64_t auth_failures_ = 0;
  std::shared_ptr<bool> alive_;  // guards callbacks after destruction
};

}  // namespace tandem::net
