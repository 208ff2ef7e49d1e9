#pragma once
// TLS contexts for NBD (OpenSSL through Asio): the server's, from a PEM
// certificate (chain) file and a PEM private key file, and the client's,
// optionally verifying the server against a CA file. Both allow TLS 1.2 and
// newer only, as the NBD spec asks.
// Failure: unreadable or mismatched files are a Status naming the file and
// OpenSSL's reason; nothing throws.
// Thread-safety: a context is built once at start-up and then only read.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/status.h"

namespace tandem::nbd {

Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const std::string& cert_file, const std::string& key_file);

// ca_file empty: the server's certificate is not verified (encryption only).
// Otherwise it must chain to ca_file and, when server_name is not empty, name it.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    const std::string& ca_file, const std::string& server_name);

}  // namespace tandem::nbd
