#pragma once
// Acceptor: one listening socket of the NBD server - a Unix socket (a path)
// or TCP (an IP address and port) - handing each accepted connection to a
// callback as a generic stream socket (TCP ones with TCP_NODELAY set, as the
// NBD spec recommends).
//
// Unix sockets: the socket file is created with mode 0600. A leftover socket
// file nobody listens on (a stale file from a crashed server) is removed
// first; a socket somebody still answers on is left alone (Busy), and a path
// that exists but is not a socket is never removed (InvalidArgument).
// Close() (and the destructor) stop listening and remove the socket file.
// Failure: errors are Status values naming the address; accept errors other
// than cancellation are logged and accepting resumes 100 ms later.
// Thread-safety: the event loop's thread only.

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace tandem::nbd {

class Acceptor {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  // `peer` describes the other end for logs ("unix", "127.0.0.1:5000").
  using OnAccept = std::function<void(Socket socket, std::string peer)>;

  static Result<std::unique_ptr<Acceptor>> ListenUnix(boost::asio::io_context& loop,
                                                      const std::string& path, OnAccept on_accept);
  static Result<std::unique_ptr<Acceptor>> ListenTcp(boost::asio::io_context& loop,
                                                     const boost::asio::ip::tcp::endpoint& endpoint,
                                                     OnAccept on_accept);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void Close();
  // "unix:/run/tandem/nbd/r0.sock" or "tcp:127.0.0.1:10809" (the bound port
  // when port 0 was asked for).
  const std::string& address() const { return address_; }
  bool is_tcp() const { return tcp_; }
  uint16_t port() const { return port_; }

 private:
  Acceptor(boost::asio::io_context& loop, OnAccept on_accept);
  void Accept();

  boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol> acceptor_;
  boost::asio::steady_timer retry_timer_;  // pause after an accept error (EMFILE...)
  OnAccept on_accept_;
  std::string address_;
  std::string unix_path_;
  bool tcp_ = false;
  uint16_t port_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tandem::nbd
