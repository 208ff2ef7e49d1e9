#pragma once
// Signing and checking heartbeat messages with the keys of authkeys.
//
// The signature is the last field, `auth=N HEX`: N is the index of the key
// that signed, HEX the lower-case digest of every field before it, each
// written as on the wire followed by a newline ("t=status\nsrc=alpha\n...").
// sha1 and md5 keys sign with HMAC-SHA1 / HMAC-MD5 (OpenSSL); a crc key with
// CRC-32C, which only detects corruption: anyone can forge it.
//
// A receiver accepts a message signed with any key of its authkeys, as
// Heartbeat does, so keys can be changed one node at a time; it signs with the
// `auth N` key only.
// Contract: Verify never throws and says why a message is refused. Key bytes
// never appear in a Status.
// Thread-safety: const methods only after construction; safe to share.

#include <string>
#include <vector>

#include "common/status.h"
#include "config/authkeys.h"
#include "heartbeat/message.h"

namespace tandem::heartbeat {

class MessageSigner {
 public:
  explicit MessageSigner(const config::AuthKeys& keys);

  // Removes any auth field and appends a fresh one made with the active key.
  void Sign(Message* message) const;
  // OK when the last field is auth, naming a known key, with the right digest.
  Status Verify(const Message& message) const;

  // The digest of `text` with key `index` (lower-case hex), or "" for an
  // unknown index. Exposed for tests and the protocol document's examples.
  std::string Digest(int index, const std::string& text) const;
  bool active_is_crc() const { return active_method_ == config::AuthMethod::kCrc; }

 private:
  struct Key {
    int index;
    config::AuthMethod method;
    std::string secret;
  };
  const Key* Find(int index) const;

  std::vector<Key> keys_;
  int active_ = 0;
  config::AuthMethod active_method_ = config::AuthMethod::kSha1;
};

// The text a signature covers: every field before a trailing auth field.
std::string SignedText(const Message& message);

}  // namespace tandem::heartbeat
