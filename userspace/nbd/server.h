#pragma once
// Server: Tandem's NBD server - the exports (ExportRegistry), the listening
// sockets (Acceptor: Unix and TCP), the live connections (ConnectionManager)
// and the TLS set-up. The daemon creates one per process and adds an export
// per resource it serves; tests and benchmarks use it directly.
//
// Contract:
// - Start() loads the TLS certificate and key when TLS is configured
//   (ServerOptions::tls != kOff); it fails with a Status naming the file.
// - ListenUnix()/ListenTcp() may be called any number of times after Start().
//   `default_export` is what an empty export name selects on that listener
//   (empty: the only export, when there is exactly one).
// - More than max_connections simultaneous clients: further ones are closed
//   right after accept, with a log line.
// - Stop() stops listening and hard-disconnects every client (see
//   ConnectionManager); connections finish their in-flight requests on the
//   loop afterwards. The destructor calls Stop(). The loop must keep running
//   until connections().count() is 0 before backends are destroyed.
// Thread-safety: the event loop's thread only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "nbd/acceptor.h"
#include "nbd/buffer_cache.h"
#include "nbd/connection_manager.h"
#include "nbd/export_registry.h"
#include "nbd/handshake.h"

namespace tandem::nbd {

struct ServerOptions {
  TlsMode tls = TlsMode::kOff;
  std::string tls_cert_file;  // PEM certificate (chain)
  std::string tls_key_file;   // PEM private key
  std::chrono::milliseconds handshake_timeout{30000};
  size_t max_connections = 256;
  size_t max_requests_in_flight = 256;             // per connection
  size_t max_bytes_in_flight = size_t{128} << 20;  // per connection
};

class Server {
 public:
  Server(boost::asio::io_context& loop, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Status Start();
  Result<const Acceptor*> ListenUnix(const std::string& path, const std::string& default_export = "");
  Result<const Acceptor*> ListenTcp(const boost::asio::ip::tcp::endpoint& endpoint,
                                    const std::string& default_export = "");
  // Closes the listener with this address() (see Acceptor); false if none.
  bool StopListening(const std::string& address);
  void Stop();

  ExportRegistry& exports() { return exports_; }
  ConnectionManager& connections() { return *connections_; }
  const std::vector<std::unique_ptr<Acceptor>>& listeners() const { return listeners_; }

 private:
  void OnAccept(Acceptor::Socket socket, std::string peer, const std::string& default_export);
  Acceptor::OnAccept AcceptInto(const std::string& default_export);
  Result<const Acceptor*> AddListener(Result<std::unique_ptr<Acceptor>> acceptor);

  boost::asio::io_context& loop_;
  ServerOptions options_;
  ExportRegistry exports_;
  std::shared_ptr<ConnectionManager> connections_ = std::make_shared<ConnectionManager>();
  std::shared_ptr<BufferCache> buffers_ = std::make_shared<BufferCache>();
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::vector<std::unique_ptr<Acceptor>> listeners_;
  uint64_t next_id_ = 1;
  bool started_ = false;
};

}  // namespace tandem::nbd
