#pragma once
// ClientHandshake: the client side of the NBD handshake as a plain state
// machine (no sockets), driven like ServerHandshake: read want() bytes, Feed()
// them, send what it appended to `out`, act on the Step.
//
// Sequence: read the greeting; send client flags (FIXED_NEWSTYLE, and
// NO_ZEROES when offered); if TLS is wanted, NBD_OPT_STARTTLS first (any
// answer but NBD_REP_ACK fails the handshake - no silent downgrade); then
// either NBD_OPT_LIST (list mode: collect the exports, then NBD_OPT_ABORT) or
// NBD_OPT_STRUCTURED_REPLY (when wanted; NBD_REP_ERR_UNSUP just means simple
// replies) followed by NBD_OPT_GO asking for NBD_INFO_BLOCK_SIZE, NAME and
// DESCRIPTION. A server that answers GO with NBD_REP_ERR_UNSUP, or does not
// speak fixed newstyle, gets NBD_OPT_EXPORT_NAME instead.
// By asking for NBD_INFO_BLOCK_SIZE the client promises to honour the block
// sizes in info(); a server that sends none gets the spec's defaults with the
// maximum capped at 32 MiB (minimum 1, preferred 4096).
// Failure behaviour: a refusal (NBD_REP_ERR_*) or a protocol violation ends
// in Step::kFailed with error() saying what the server said or did wrong;
// option reply payloads over kMaxReplyPayload are a violation (never stored).
// Thread-safety: one instance per connection, one thread.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "nbd/options.h"

namespace tandem::nbd {

struct ClientHandshakeOptions {
  std::string export_name;
  bool structured_replies = true;
  bool tls = false;
  bool list_exports = false;  // only list the exports, then abort
};

struct ExportInfo {
  std::string name;
  std::string description;
  uint64_t size = 0;
  uint16_t flags = 0;  // transmission flags
  BlockSizes block_sizes{1, 4096, 32u << 20};
  bool structured = false;
};

class ClientHandshake {
 public:
  enum class Step { kContinue, kStartTls, kDone, kFailed };
  static constexpr uint32_t kMaxReplyPayload = 16 * 1024;

  explicit ClientHandshake(ClientHandshakeOptions options);

  size_t want() const;
  Step Feed(std::span<const uint8_t> bytes, Bytes* out);
  // After Step::kStartTls, once the TLS handshake succeeded.
  void TlsEstablished(Bytes* out);

  const ExportInfo& info() const { return info_; }
  const std::vector<ServerEntry>& exports() const { return exports_; }
  const Status& error() const { return error_; }

 private:
  enum class State {
    kGreeting, kReplyHeader, kReplyPayload, kExportNameReply, kTls, kDone
  };

  Step OnGreeting(std::span<const uint8_t> bytes, Bytes* out);
  Step OnReply(std::span<const uint8_t> payload, Bytes* out);
  Step OnExportNameReply(std::span<const uint8_t> bytes);
  void SendOption(Bytes* out, uint32_t option, std::span<const uint8_t> data = {});
  // The options that follow STARTTLS (or the flags when there is no TLS).
  void SendNext(Bytes* out);
  void SendGo(Bytes* out);
  void SendExportName(Bytes* out);
  Step Fail(Status why);
  Step Refused(const std::string& what, std::span<const uint8_t> payload);

  ClientHandshakeOptions options_;
  State state_ = State::kGreeting;
  bool fixed_ = false;
  bool no_zeroes_ = false;
  uint32_t sent_option_ = 0;
  OptionReplyHeader reply_;
  bool got_export_ = false;
  ExportInfo info_;
  std::vector<ServerEntry> exports_;
  Status error_;
};

}  // namespace tandem::nbd
