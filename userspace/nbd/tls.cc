#include "nbd/tls.h"

#include <openssl/ssl.h>

#include <boost/asio/ssl/host_name_verification.hpp>

namespace tandem::nbd {

namespace ssl = boost::asio::ssl;

namespace {
Status TlsError(const std::string& what, const boost::system::error_code& ec) {
  return Status::InvalidArgument("TLS: " + what + ": " + ec.message());
}

std::shared_ptr<ssl::context> BaseContext(ssl::context::method method) {
  auto ctx = std::make_shared<ssl::context>(method);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ignored;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       ssl::context::single_dh_use,
                   ignored);
  return ctx;
}
}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(const std::string& cert_file,
                                                           const std::string& key_file) {
  auto ctx = BaseContext(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) return TlsError("certificate " + cert_file, ec);
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return TlsError("private key " + key_file, ec);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Status::InvalidArgument("TLS: private key " + key_file + " does not match certificate " +
                                   cert_file);
  }
  return ctx;
}

Result<std::shared_ptr<ssl::context>> MakeClientTlsContext(const std::string& ca_file,
                                                           const std::string& server_name) {
  auto ctx = BaseContext(ssl::context::tls_client);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    ctx->set_verify_mode(ssl::verify_none, ec);
    return ctx;
  }
  ctx->load_verify_file(ca_file, ec);
  if (ec) return TlsError("CA file " + ca_file, ec);
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (!server_name.empty()) ctx->set_verify_callback(ssl::host_name_verification(server_name), ec);
  if (ec) return TlsError("verification set-up", ec);
  return ctx;
}

}  // namespace tandem::nbd
