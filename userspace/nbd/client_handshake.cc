#include "nbd/client_handshake.h"

#include <cassert>

#include "nbd/errors.h"
#include "nbd/wire.h"

namespace tandem::nbd {

ClientHandshake::ClientHandshake(ClientHandshakeOptions options) : options_(std::move(options)) {
  info_.name = options_.export_name;
}

size_t ClientHandshake::want() const {
  switch (state_) {
    case State::kGreeting:
      return kGreetingSize;
    case State::kReplyHeader:
      return kOptionReplyHeaderSize;
    case State::kReplyPayload:
      return reply_.length;
    case State::kExportNameReply:
      return kExportNameReplySize + (no_zeroes_ ? 0 : kExportNameZeroes);
    default:
      return 0;
  }
}

ClientHandshake::Step ClientHandshake::Fail(Status why) {
  state_ = State::kDone;
  error_ = std::move(why);
  return Step::kFailed;
}

void ClientHandshake::SendOption(Bytes* out, uint32_t option, std::span<const uint8_t> data) {
  AppendOption(out, option, data);
  sent_option_ = option;
  state_ = State::kReplyHeader;
}

ClientHandshake::Step ClientHandshake::Feed(std::span<const uint8_t> bytes, Bytes* out) {
  assert(bytes.size() == want());
  switch (state_) {
    case State::kGreeting:
      return OnGreeting(bytes, out);
    case State::kReplyHeader: {
      Result<OptionReplyHeader> h = DecodeOptionReplyHeader(bytes);
      if (!h.ok()) return Fail(h.status());
      reply_ = *h;
      if (reply_.option != sent_option_) {
        return Fail(Status::ProtocolError("server answered " + OptionName(reply_.option) +
                                          " while " + OptionName(sent_option_) + " was asked"));
      }
      if (reply_.length > kMaxReplyPayload) {
        return Fail(Status::ProtocolError(OptionReplyName(reply_.type) + " of " +
                                          std::to_string(reply_.length) + " bytes (limit " +
                                          std::to_string(kMaxReplyPayload) + ")"));
      }
      if (reply_.length > 0) {
        state_ = State::kReplyPayload;
        return Step::kContinue;
      }
      return OnReply({}, out);
    }
    case State::kReplyPayload:
      return OnReply(bytes, out);
    case State::kExportNameReply:
      return OnExportNameReply(bytes);
    default:
      assert(false && "Feed() when no input is wanted");
      return Step::kFailed;
  }
}

ClientHandshake::Step ClientHandshake::OnGreeting(std::span<const uint8_t> bytes, Bytes* out) {
  if (GetBe64(bytes.data()) != kNbdMagic) {
    return Fail(Status::ProtocolError("not an NBD server (no NBDMAGIC)"));
  }
  if (GetBe64(bytes.data() + 8) != kOptionMagic) {
    return Fail(Status::NotSupported("server speaks only the oldstyle handshake"));
  }
  const uint16_t flags = GetBe16(bytes.data() + 16);
  fixed_ = (flags & kFlagFixedNewstyle) != 0;
  no_zeroes_ = (flags & kFlagNoZeroes) != 0;
  uint8_t reply[4];
  PutBe32(reply, (fixed_ ? kClientFlagFixedNewstyle : 0) | (no_zeroes_ ? kClientFlagNoZeroes : 0));
  out->insert(out->end(), reply, reply + 4);
  if (!fixed_) {
    if (options_.tls || options_.list_exports) {
      return Fail(Status::NotSupported("server does not speak fixed newstyle (needed for " +
                                       std::string(options_.tls ? "TLS" : "listing") + ")"));
    }
    SendExportName(out);
    return Step::kContinue;
  }
  if (options_.tls) {
    SendOption(out, kOptStartTls);
    return Step::kContinue;
  }
  SendNext(out);
  return Step::kContinue;
}

void ClientHandshake::TlsEstablished(Bytes* out) {
  assert(state_ == State::kTls);
  SendNext(out);
}

void ClientHandshake::SendNext(Bytes* out) {
  if (options_.list_exports) {
    SendOption(out, kOptList);
  } else if (options_.structured_replies) {
    SendOption(out, kOptStructuredReply);
  } else {
    SendGo(out);
  }
}

void ClientHandshake::SendGo(Bytes* out) {
  const Bytes data = EncodeInfoRequest(
      {options_.export_name, {kInfoBlockSize, kInfoName, kInfoDescription}});
  SendOption(out, kOptGo, data);
}

void ClientHandshake::SendExportName(Bytes* out) {
  const std::string& n = options_.export_name;
  AppendOption(out, kOptExportName,
               std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(n.data()), n.size()));
  sent_option_ = kOptExportName;
  state_ = State::kExportNameReply;
}

ClientHandshake::Step ClientHandshake::Refused(const std::string& what,
                                               std::span<const uint8_t> payload) {
  std::string text(reinterpret_cast<const char*>(payload.data()), payload.size());
  std::string msg = what + ": " + OptionReplyName(reply_.type);
  if (!text.empty()) msg += ": " + Printable(text, kMaxStringLength);
  switch (reply_.type) {
    case kRepErrUnknown:
      return Fail(Status::NotFound(std::move(msg)));
    case kRepErrPolicy:
    case kRepErrTlsReqd:
      return Fail(Status::PermissionDenied(std::move(msg)));
    case kRepErrShutdown:
      return Fail(Status::Aborted(std::move(msg)));
    case kRepErrUnsup:
    case kRepErrPlatform:
      return Fail(Status::NotSupported(std::move(msg)));
    default:
      return Fail(Status::ProtocolError(std::move(msg)));
  }
}

ClientHandshake::Step ClientHandshake::OnReply(std::span<const uint8_t> payload, Bytes* out) {
  state_ = State::kReplyHeader;
  const uint32_t type = reply_.type;
  switch (sent_option_) {
    case kOptStartTls:
      if (type != kRepAck) return Refused("server refused TLS", payload);
      state_ = State::kTls;
      return Step::kStartTls;

    case kOptList:
      if (type == kRepServer) {
        Result<ServerEntry> e = DecodeServerEntry(payload);
        if (!e.ok()) return Fail(Status::ProtocolError(e.status().message()));
        exports_.push_back(std::move(*e));
        return Step::kContinue;
      }
      if (type != kRepAck) return Refused("server refused to list its exports", payload);
      AppendOption(out, kOptAbort, {});  // soft disconnect; the ACK need not be awaited
      state_ = State::kDone;
      return Step::kDone;

    case kOptStructuredReply:
      if (type == kRepAck) {
        info_.structured = true;
      } else if (!reply_.is_error()) {
        return Fail(Status::ProtocolError("unexpected " + OptionReplyName(type) +
                                          " to NBD_OPT_STRUCTURED_REPLY"));
      }
      SendGo(out);
      return Step::kContinue;

    case kOptGo:
      if (type == kRepInfo) {
        Result<InfoReply> r = DecodeInfoReply(payload);
        if (!r.ok()) return Fail(Status::ProtocolError(r.status().message()));
        if (r->size) {
          info_.size = *r->size;
          info_.flags = *r->flags;
          got_export_ = true;
        }
        if (r->type == kInfoName && r->text) info_.name = *r->text;
        if (r->type == kInfoDescription && r->text) info_.description = *r->text;
        if (r->block_sizes) info_.block_sizes = *r->block_sizes;
        return Step::kContinue;
      }
      if (type == kRepAck) {
        if (!got_export_) {
          return Fail(Status::ProtocolError("NBD_OPT_GO succeeded without NBD_INFO_EXPORT"));
        }
        state_ = State::kDone;
        return Step::kDone;
      }
      if (type == kRepErrUnsup) {
        // An older server: no errors, no block sizes, no structured replies.
        info_.structured = false;
        SendExportName(out);
        return Step::kContinue;
      }
      return Refused("export '" + Printable(options_.export_name) + "'", payload);

    default:
      return Fail(Status::ProtocolError("reply to an option never sent"));
  }
}

ClientHandshake::Step ClientHandshake::OnExportNameReply(std::span<const uint8_t> bytes) {
  info_.size = GetBe64(bytes.data());
  info_.flags = GetBe16(bytes.data() + 8);
  info_.structured = false;
  state_ = State::kDone;
  return Step::kDone;
}

}  // namespace tandem::nbd
