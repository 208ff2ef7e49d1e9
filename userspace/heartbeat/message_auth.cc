#include "heartbeat/message_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>

#include "common/crc32c.h"
#include "common/strings.h"

namespace tandem::heartbeat {

namespace {

std::string Hex(const unsigned char* data, size_t len) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

}  // namespace

std::string SignedText(const Message& message) {
  std::string text;
  const auto& fields = message.fields();
  size_t n = fields.size();
  if (n > 0 && fields.back().name == "auth") --n;
  for (size_t i = 0; i < n; ++i) {
    text += EncodeField(fields[i]);
    text += '\n';
  }
  return text;
}

MessageSigner::MessageSigner(const config::AuthKeys& keys) : active_(keys.active_index) {
  for (const auto& k : keys.keys) {
    keys_.push_back(Key{k.index, k.method, k.key});
    if (k.index == active_) active_method_ = k.method;
  }
}

const MessageSigner::Key* MessageSigner::Find(int index) const {
  for (const auto& k : keys_) {
    if (k.index == index) return &k;
  }
  return nullptr;
}

std::string MessageSigner::Digest(int index, const std::string& text) const {
  const Key* key = Find(index);
  if (key == nullptr) return "";
  if (key->method == config::AuthMethod::kCrc) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", Crc32c(text.data(), text.size()));
    return buf;
  }
  const EVP_MD* md = key->method == config::AuthMethod::kSha1 ? EVP_sha1() : EVP_md5();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key->secret.data(), static_cast<int>(key->secret.size()),
           reinterpret_cast<const unsigned char*>(text.data()), text.size(), out, &len) ==
      nullptr) {
    return "";
  }
  return Hex(out, len);
}

void MessageSigner::Sign(Message* message) const {
  message->Remove("auth");
  const std::string digest = Digest(active_, SignedText(*message));
  message->Add("auth", std::to_string(active_) + " " + digest);
}

Status MessageSigner::Verify(const Message& message) const {
  const auto& fields = message.fields();
  if (fields.empty() || fields.back().name != "auth") {
    return Status::PermissionDenied("not signed (no auth field at the end)");
  }
  const std::string& auth = fields.back().value;
  size_t space = auth.find(' ');
  if (space == std::string::npos) return Status::PermissionDenied("auth field is not 'N HEX'");
  auto index = ParseInteger(std::string_view(auth).substr(0, space), 0, config::kMaxAuthKeyIndex);
  if (!index) return Status::PermissionDenied("auth field names no valid key index");
  if (Find(static_cast<int>(*index)) == nullptr) {
    return Status::PermissionDenied("signed with key " + std::to_string(*index) +
                                    ", which our authkeys does not have");
  }
  const std::string expected = Digest(static_cast<int>(*index), SignedText(message));
  const std::string given = auth.substr(space + 1);
  if (expected.empty() || given.size() != expected.size() ||
      CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    return Status::PermissionDenied("bad signature for key " + std::to_string(*index));
  }
  return Status::Ok();
}

}  // namespace tandem::heartbeat
