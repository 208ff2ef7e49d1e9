#pragma once
// Stream: one connection's byte stream, plain or TLS, over a Unix or TCP
// socket (a generic stream socket, so both families share all code). It
// models Asio's AsyncReadStream/AsyncWriteStream, so asio::async_read and
// asio::async_write work on it, and can be upgraded to TLS in mid-session
// (NBD_OPT_STARTTLS) with EnableTls() followed by the TLS handshake.
//
// Contract: callers pass completion handlers (not other completion tokens);
// at most one read and one write are outstanding at a time (asio's rule for
// TLS streams, kept for both). Close() cancels outstanding operations (their
// handlers see an error) and is idempotent.
// Thread-safety: the event loop's thread only.

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <utility>

namespace tandem::nbd {

class Stream {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  using TlsStream = boost::asio::ssl::stream<Socket&>;
  using executor_type = Socket::executor_type;

  explicit Stream(Socket socket) : socket_(std::move(socket)) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  Socket& socket() { return socket_; }
  bool tls() const { return tls_ != nullptr; }
  bool is_open() const { return socket_.is_open(); }

  // Wraps the socket in TLS (`context` must outlive the stream: hold the
  // shared_ptr). The caller then runs tls_stream().async_handshake().
  void EnableTls(std::shared_ptr<boost::asio::ssl::context> context);
  TlsStream& tls_stream() { return *tls_; }

  template <typename MutableBuffers, typename Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <typename ConstBuffers, typename Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      socket_.async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

  // Hard close: shuts the socket down both ways and closes it.
  void Close();

 private:
  Socket socket_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<TlsStream> tls_;
};

}  // namespace tandem::nbd
