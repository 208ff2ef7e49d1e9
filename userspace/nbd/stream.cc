#include "nbd/stream.h"

namespace tandem::nbd {

void Stream::EnableTls(std::shared_ptr<boost::asio::ssl::context> context) {
  tls_context_ = std::move(context);
  tls_ = std::make_unique<TlsStream>(socket_, *tls_context_);
}

void Stream::Close() {
  if (!socket_.is_open()) return;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace tandem::nbd
