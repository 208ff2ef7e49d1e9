#include "net/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/crc32c.h"

namespace tandem::net {

Result<std::vector<uint8_t>> Hmac(const std::string& alg, std::span<const uint8_t> key,
                                  std::span<const uint8_t> data) {
  if (EVP_get_digestbyname(alg.c_str()) == nullptr) {
    return Status::InvalidArgument("unknown HMAC digest '" + alg + "'");
  }
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) return Status::NotSupported("OpenSSL has no HMAC");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  OSSL_PARAM params[2] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(alg.c_str()), 0),
      OSSL_PARAM_construct_end()};
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  size_t len = 0;
  bool ok = ctx && EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
            EVP_MAC_update(ctx, data.data(), data.size()) == 1 &&
            EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  if (!ok) return Status::InvalidArgument("HMAC with '" + alg + "' failed");
  out.resize(len);
  return out;
}

bool SecureEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

class EvpDigest final : public Digest {
 public:
  EvpDigest(const EVP_MD* md, std::string name) : md_(md), name_(std::move(name)) {}
  std::vector<uint8_t> Compute(std::span<const uint8_t> data) const override {
    std::vector<uint8_t> out(EVP_MD_get_size(md_));
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &len, md_, nullptr);
    out.resize(len);
    return out;
  }
  size_t size() const override { return static_cast<size_t>(EVP_MD_get_size(md_)); }
  const std::string& name() const override { return name_; }

 private:
  const EVP_MD* md_;
  std::string name_;
};

class Crc32cDigest final : public Digest {
 public:
  std::vector<uint8_t> Compute(std::span<const uint8_t> data) const override {
    uint32_t c = Crc32c(data.data(), data.size());
    return {static_cast<uint8_t>(c >> 24), static_cast<uint8_t>(c >> 16),
            static_cast<uint8_t>(c >> 8), static_cast<uint8_t>(c)};
  }
  size_t size() const override { return 4; }
  const std::string& name() const override { return name_; }

 private:
  std::string name_ = "crc32c";
};

}  // namespace

Result<std::unique_ptr<Digest>> Digest::Create(const std::string& name) {
  if (name == "crc32c") return std::unique_ptr<Digest>(new Crc32cDigest());
  const EVP_MD* md = EVP_get_digestbyname(name.c_str());
  if (!md) return Status::InvalidArgument("unknown digest algorithm '" + name + "'");
  if (EVP_MD_get_size(md) <= 0 || EVP_MD_get_size(md) > 64) {
    return Status::InvalidArgument("digest '" + name + "' has no fixed size up to 64 bytes");
  }
  return std::unique_ptr<Digest>(new EvpDigest(md, name));
}

}  // namespace tandem::net
