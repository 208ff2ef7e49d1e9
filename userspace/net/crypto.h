#pragma once
// OpenSSL-backed primitives for the replication link: HMAC for peer
// authentication (cram-hmac-alg) and digests for data-integrity-alg (any
// OpenSSL digest name, or crc32c). Thread-safe: no shared state.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace tandem::net {

// HMAC(alg, key, data). Errors: unknown algorithm name.
Result<std::vector<uint8_t>> Hmac(const std::string& alg, std::span<const uint8_t> key,
                                  std::span<const uint8_t> data);

// Constant-time comparison, for MACs.
bool SecureEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

// A digest algorithm chosen by name ("sha1", "sha256", "md5", ... or "crc32c").
class Digest {
 public:
  static Result<std::unique_ptr<Digest>> Create(const std::string& name);
  virtual ~Digest() = default;
  virtual std::vector<uint8_t> Compute(std::span<const uint8_t> data) const = 0;
  virtual size_t size() const = 0;
  virtual const std::string& name() const = 0;
};

}  // namespace tandem::net
