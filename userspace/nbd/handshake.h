#pragma once
// ServerHandshake: the server side of the NBD fixed newstyle handshake as a
// plain synchronous state machine - no sockets. The connection reads exactly
// want() bytes, passes them to Feed(), sends whatever Feed() appended to
// `out`, and acts on the returned Step.
//
// What it implements (docs/nbd.md):
// - Greeting with FIXED_NEWSTYLE | NO_ZEROES; client flags FIXED_NEWSTYLE and
//   NO_ZEROES (any other bit closes the connection, as the spec requires).
// - Options: EXPORT_NAME, ABORT, LIST, STARTTLS, INFO, GO, STRUCTURED_REPLY.
//   Every other option (including the meta-context ones) gets
//   NBD_REP_ERR_UNSUP and haggling continues.
// - INFO/GO answer NBD_INFO_EXPORT and NBD_INFO_BLOCK_SIZE always,
//   NBD_INFO_NAME and NBD_INFO_DESCRIPTION when asked for (the description
//   only if the backend has one).
// - Empty export name: the configured default export, else the only export
//   if exactly one exists; otherwise NBD_REP_ERR_UNKNOWN.
// - Option data longer than kMaxOptionData is never stored: want() asks for
//   it in pieces with skipping() true, the pieces are ignored, and the option
//   is answered NBD_REP_ERR_TOO_BIG (EXPORT_NAME cannot be answered with an
//   error, so an over-long one closes the connection).
// - TLS: kOff answers STARTTLS with NBD_REP_ERR_POLICY; kOptional and
//   kRequired answer it with NBD_REP_ACK and Step::kStartTls (the connection
//   then runs the TLS handshake and calls TlsEstablished(); option state such
//   as structured replies is forgotten, as the spec requires). kRequired,
//   until TLS is up, answers every option but STARTTLS and ABORT with
//   NBD_REP_ERR_TLS_REQD and closes on EXPORT_NAME.
// - After kMaxOptions options the client is deemed abusive and closed.
// Admission: the backend's Open() is called for GO/EXPORT_NAME (and for INFO,
// followed by Close()); a refusal becomes an NBD_REP_ERR_* reply carrying the
// backend's message (see nbd/backend.h). After Step::kTransmission the caller
// takes the opened backend with TakeSelected() and owns the Close(); if the
// machine is destroyed with a backend opened and not taken, it Close()s it.
// Failure behaviour: malformed input never throws or asserts; it produces an
// error reply (the session continues) or Step::kClose with close_reason().
// Thread-safety: one instance per connection, used from one thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nbd/export_params.h"
#include "nbd/export_registry.h"
#include "nbd/options.h"

namespace tandem::nbd {

enum class TlsMode { kOff, kOptional, kRequired };

struct HandshakeOptions {
  TlsMode tls = TlsMode::kOff;
  std::string default_export;  // what an empty export name selects ("" = see above)
};

class ServerHandshake {
 public:
  enum class Step { kContinue, kStartTls, kTransmission, kClose };

  static constexpr uint32_t kMaxOptionData = 8192;
  static constexpr uint32_t kMaxOptions = 4096;
  static constexpr size_t kSkipPiece = 64 * 1024;

  ServerHandshake(const ExportRegistry& exports, HandshakeOptions options);
  ~ServerHandshake();
  ServerHandshake(const ServerHandshake&) = delete;
  ServerHandshake& operator=(const ServerHandshake&) = delete;

  // Appends the greeting; call once, before anything else.
  void Start(Bytes* out);
  // Bytes Feed() needs next (0 when it needs none: after kStartTls until
  // TlsEstablished(), and once finished).
  size_t want() const;
  // True when the wanted bytes are being discarded (their content is ignored).
  bool skipping() const { return state_ == State::kSkipData; }
  // `bytes.size()` must equal want(). Appends replies to `out`.
  Step Feed(std::span<const uint8_t> bytes, Bytes* out);
  void TlsEstablished();

  struct Selected {
    std::string name;
    std::shared_ptr<Backend> backend;  // Open()ed; the caller must Close() it
    ExportParams params;
  };
  // After Step::kTransmission, once.
  Selected TakeSelected();

  const std::string& close_reason() const { return close_reason_; }
  bool tls_active() const { return tls_active_; }
  bool structured() const { return structured_; }
  bool no_zeroes() const { return no_zeroes_; }

 private:
  enum class State { kGreeting, kClientFlags, kOptionHeader, kOptionData, kSkipData, kTls, kDone };

  Step OnClientFlags(std::span<const uint8_t> bytes);
  Step OnOptionHeader(std::span<const uint8_t> bytes, Bytes* out);
  Step OnOption(std::span<const uint8_t> data, Bytes* out);
  Step OnInfoOrGo(std::span<const uint8_t> data, Bytes* out);
  Step OnExportName(std::span<const uint8_t> data, Bytes* out);
  Step OnList(std::span<const uint8_t> data, Bytes* out);
  Step OnStartTls(std::span<const uint8_t> data, Bytes* out);
  Step Close(std::string reason);
  Step Reply(Bytes* out, uint32_t type, const std::string& text = {});
  // Resolves a client-supplied name; nullptr with *error set when unknown.
  std::shared_ptr<Backend> Lookup(const std::string& name, std::string* canonical,
                                  std::string* error) const;
  bool tls_blocks_options() const { return options_.tls == TlsMode::kRequired && !tls_active_; }

  const ExportRegistry& exports_;
  HandshakeOptions options_;
  State state_ = State::kGreeting;
  uint32_t option_ = 0;         // option being handled
  uint64_t option_length_ = 0;  // its data length
  uint64_t skip_left_ = 0;
  uint32_t options_seen_ = 0;
  bool no_zeroes_ = false;
  bool structured_ = false;
  bool tls_active_ = false;
  std::string close_reason_;
  Selected selected_;
  bool taken_ = false;
};

}  // namespace tandem::nbd
