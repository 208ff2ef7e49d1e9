#include "nbd/server.h"

#include "common/log.h"
#include "nbd/connection.h"
#include "nbd/tls.h"

namespace tandem::nbd {

Server::Server(boost::asio::io_context& loop, ServerOptions options)
    : loop_(loop), options_(std::move(options)) {}

Server::~Server() { Stop(); }

Status Server::Start() {
  if (options_.tls != TlsMode::kOff) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return Status::InvalidArgument("NBD TLS needs both a certificate file and a key file");
    }
    auto ctx = MakeServerTlsContext(options_.tls_cert_file, options_.tls_key_file);
    if (!ctx.ok()) return ctx.status();
    tls_ = std::move(*ctx);
  }
  started_ = true;
  return Status::Ok();
}

Result<const Acceptor*> Server::ListenUnix(const std::string& path,
                                           const std::string& default_export) {
  if (!started_) return Status::InvalidArgument("NBD server not started");
  return AddListener(Acceptor::ListenUnix(loop_, path, AcceptInto(default_export)));
}

Result<const Acceptor*> Server::ListenTcp(const boost::asio::ip::tcp::endpoint& endpoint,
                                          const std::string& default_export) {
  if (!started_) return Status::InvalidArgument("NBD server not started");
  return AddListener(Acceptor::ListenTcp(loop_, endpoint, AcceptInto(default_export)));
}

Acceptor::OnAccept Server::AcceptInto(const std::string& default_export) {
  return [this, default_export](Acceptor::Socket s, std::string peer) {
    OnAccept(std::move(s), std::move(peer), default_export);
  };
}

Result<const Acceptor*> Server::AddListener(Result<std::unique_ptr<Acceptor>> acceptor) {
  if (!acceptor.ok()) return acceptor.status();
  listeners_.push_back(std::move(*acceptor));
  Log(LogLevel::kInfo, "nbd: listening on " + listeners_.back()->address());
  return listeners_.back().get();
}

bool Server::StopListening(const std::string& address) {
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
    if ((*it)->address() == address) {
      listeners_.erase(it);
      return true;
    }
  }
  return false;
}

void Server::Stop() {
  listeners_.clear();
  connections_->StopAll();
}

void Server::OnAccept(Acceptor::Socket socket, std::string peer,
                      const std::string& default_export) {
  if (connections_->count() >= options_.max_connections) {
    Log(LogLevel::kWarning, "nbd: refusing client " + peer + ": already " +
                                std::to_string(options_.max_connections) + " connections");
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  ConnectionConfig config;
  config.handshake.tls = options_.tls;
  config.handshake.default_export = default_export;
  config.tls = tls_;
  config.handshake_timeout = options_.handshake_timeout;
  config.max_requests_in_flight = options_.max_requests_in_flight;
  config.max_bytes_in_flight = options_.max_bytes_in_flight;
  auto c = std::make_shared<Connection>(std::move(socket), std::move(peer), exports_, buffers_,
                                        std::move(config), connections_, next_id_++);
  connections_->Add(c);
  c->Start();
}

}  // namespace tandem::nbd
