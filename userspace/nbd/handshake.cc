#include "nbd/handshake.h"

#include <algorithm>
#include <cassert>

#include "nbd/errors.h"
#include "nbd/wire.h"

namespace tandem::nbd {

namespace {

uint32_t OpenErrorReply(const Status& st) {
  switch (st.code()) {
    case Status::Code::kNotFound:
      return kRepErrUnknown;
    case Status::Code::kAborted:
      return kRepErrShutdown;
    default:
      return kRepErrPolicy;
  }
}

std::string Join(const std::vector<std::string>& names, size_t limit) {
  std::string s;
  for (const auto& n : names) {
    if (!s.empty()) s += ", ";
    s += Printable(n, 64);
    if (s.size() > limit) {
      s += ", ...";
      break;
    }
  }
  return s;
}

}  // namespace

ServerHandshake::ServerHandshake(const ExportRegistry& exports, HandshakeOptions options)
    : exports_(exports), options_(std::move(options)) {}

ServerHandshake::~ServerHandshake() {
  if (selected_.backend && !taken_) selected_.backend->Close();
}

void ServerHandshake::Start(Bytes* out) {
  assert(state_ == State::kGreeting);
  uint8_t g[kGreetingSize];
  PutBe64(g, kNbdMagic);
  PutBe64(g + 8, kOptionMagic);
  PutBe16(g + 16, kFlagFixedNewstyle | kFlagNoZeroes);
  out->insert(out->end(), g, g + kGreetingSize);
  state_ = State::kClientFlags;
}

size_t ServerHandshake::want() const {
  switch (state_) {
    case State::kClientFlags:
      return kClientFlagsSize;
    case State::kOptionHeader:
      return kOptionHeaderSize;
    case State::kOptionData:
      return static_cast<size_t>(option_length_);
    case State::kSkipData:
      return static_cast<size_t>(std::min<uint64_t>(skip_left_, kSkipPiece));
    default:
      return 0;
  }
}

ServerHandshake::Step ServerHandshake::Feed(std::span<const uint8_t> bytes, Bytes* out) {
  assert(bytes.size() == want());
  switch (state_) {
    case State::kClientFlags:
      return OnClientFlags(bytes);
    case State::kOptionHeader:
      return OnOptionHeader(bytes, out);
    case State::kOptionData:
      return OnOption(bytes, out);
    case State::kSkipData:
      skip_left_ -= bytes.size();
      if (skip_left_ > 0) return Step::kContinue;
      state_ = State::kOptionHeader;
      return Reply(out, kRepErrTooBig,
                   OptionName(option_) + " data of " + std::to_string(option_length_) +
                       " bytes exceeds the limit of " + std::to_string(kMaxOptionData));
    default:
      assert(false && "Feed() when no input is wanted");
      return Step::kClose;
  }
}

ServerHandshake::Step ServerHandshake::Close(std::string reason) {
  state_ = State::kDone;
  close_reason_ = std::move(reason);
  return Step::kClose;
}

ServerHandshake::Step ServerHandshake::Reply(Bytes* out, uint32_t type, const std::string& text) {
  AppendOptionReply(out, option_, type, text);
  return Step::kContinue;
}

ServerHandshake::Step ServerHandshake::OnClientFlags(std::span<const uint8_t> bytes) {
  const uint32_t flags = GetBe32(bytes.data());
  const uint32_t known = kClientFlagFixedNewstyle | kClientFlagNoZeroes;
  if ((flags & ~known) != 0) {
    return Close("client flags 0x" + [&] {
      char b[16];
      snprintf(b, sizeof b, "%x", flags);
      return std::string(b);
    }() + " include unknown bits");
  }
  if (options_.tls == TlsMode::kRequired && (flags & kClientFlagFixedNewstyle) == 0) {
    return Close("TLS is required and the client does not speak fixed newstyle");
  }
  no_zeroes_ = (flags & kClientFlagNoZeroes) != 0;
  state_ = State::kOptionHeader;
  return Step::kContinue;
}

ServerHandshake::Step ServerHandshake::OnOptionHeader(std::span<const uint8_t> bytes, Bytes* out) {
  Result<OptionHeader> h = DecodeOptionHeader(bytes);
  if (!h.ok()) return Close(h.status().message());
  if (++options_seen_ > kMaxOptions) {
    return Close("more than " + std::to_string(kMaxOptions) + " options");
  }
  option_ = h->option;
  option_length_ = h->length;
  if (option_length_ > kMaxOptionData) {
    if (option_ == kOptExportName) {
      return Close("NBD_OPT_EXPORT_NAME of " + std::to_string(option_length_) +
                   " bytes (names are at most " + std::to_string(kMaxStringLength) + ")");
    }
    skip_left_ = option_length_;
    state_ = State::kSkipData;
    return Step::kContinue;
  }
  if (option_length_ == 0) return OnOption({}, out);
  state_ = State::kOptionData;
  return Step::kContinue;
}

ServerHandshake::Step ServerHandshake::OnOption(std::span<const uint8_t> data, Bytes* out) {
  state_ = State::kOptionHeader;
  if (option_ == kOptExportName) return OnExportName(data, out);
  if (option_ == kOptAbort) {
    // The client hangs up after the ACK; the data (which it should not send) is ignored.
    Reply(out, kRepAck);
    return Close("client sent NBD_OPT_ABORT");
  }
  if (option_ == kOptStartTls) return OnStartTls(data, out);
  if (tls_blocks_options()) {
    return Reply(out, kRepErrTlsReqd,
                 "this server requires TLS: send NBD_OPT_STARTTLS before " + OptionName(option_));
  }
  switch (option_) {
    case kOptList:
      return OnList(data, out);
    case kOptInfo:
    case kOptGo:
      return OnInfoOrGo(data, out);
    case kOptStructuredReply:
      if (!data.empty()) return Reply(out, kRepErrInvalid, "NBD_OPT_STRUCTURED_REPLY takes no data");
      if (structured_) return Reply(out, kRepErrInvalid, "structured replies already negotiated");
      structured_ = true;
      return Reply(out, kRepAck);
    default:
      return Reply(out, kRepErrUnsup, OptionName(option_) + " is not supported by this server");
  }
}

ServerHandshake::Step ServerHandshake::OnStartTls(std::span<const uint8_t> data, Bytes* out) {
  if (!data.empty()) return Reply(out, kRepErrInvalid, "NBD_OPT_STARTTLS takes no data");
  if (options_.tls == TlsMode::kOff) {
    return Reply(out, kRepErrPolicy, "TLS is not configured on this server");
  }
  if (tls_active_) return Reply(out, kRepErrInvalid, "TLS is already active");
  Reply(out, kRepAck);
  state_ = State::kTls;
  return Step::kStartTls;
}

void ServerHandshake::TlsEstablished() {
  assert(state_ == State::kTls);
  tls_active_ = true;
  structured_ = false;  // nothing negotiated in plain text survives the upgrade
  state_ = State::kOptionHeader;
}

ServerHandshake::Step ServerHandshake::OnList(std::span<const uint8_t> data, Bytes* out) {
  if (!data.empty()) return Reply(out, kRepErrInvalid, "NBD_OPT_LIST takes no data");
  for (const std::string& name : exports_.Names()) {
    std::shared_ptr<Backend> b = exports_.Find(name);
    AppendOptionReply(out, option_, kRepServer, EncodeServerEntry({name, b->description()}));
  }
  return Reply(out, kRepAck);
}

std::shared_ptr<Backend> ServerHandshake::Lookup(const std::string& name, std::string* canonical,
                                                 std::string* error) const {
  std::string wanted = name;
  if (wanted.empty()) {
    if (!options_.default_export.empty()) {
      wanted = options_.default_export;
    } else if (exports_.size() == 1) {
      wanted = exports_.Names().front();
    } else {
      *error = exports_.size() == 0
                   ? "this server has no exports"
                   : "no default export here; name one of: " + Join(exports_.Names(), 1024);
      return nullptr;
    }
  }
  std::shared_ptr<Backend> b = exports_.Find(wanted);
  if (!b) {
    *error = "no export named '" + Printable(wanted) + "'" +
             (exports_.size() == 0 ? "; this server has no exports"
                                   : "; exports: " + Join(exports_.Names(), 1024));
    return nullptr;
  }
  *canonical = wanted;
  return b;
}

ServerHandshake::Step ServerHandshake::OnInfoOrGo(std::span<const uint8_t> data, Bytes* out) {
  Result<InfoRequest> req = DecodeInfoRequest(data);
  if (!req.ok()) return Reply(out, kRepErrInvalid, req.status().message());
  std::string name, error;
  std::shared_ptr<Backend> backend = Lookup(req->name, &name, &error);
  if (!backend) return Reply(out, kRepErrUnknown, error);
  Status admitted = backend->Open();
  if (!admitted.ok()) return Reply(out, OpenErrorReply(admitted), admitted.message());

  const ExportParams p = MakeExportParams(*backend, structured_);
  const auto wants = [&](uint16_t type) {
    return std::find(req->requests.begin(), req->requests.end(), type) != req->requests.end();
  };
  AppendOptionReply(out, option_, kRepInfo, EncodeInfoExport(p.size, p.flags));
  if (wants(kInfoName)) AppendOptionReply(out, option_, kRepInfo, EncodeInfoText(kInfoName, name));
  const std::string description = backend->description();
  if (wants(kInfoDescription) && !description.empty()) {
    AppendOptionReply(out, option_, kRepInfo, EncodeInfoText(kInfoDescription, description));
  }
  // Sent whether asked for or not: Tandem enforces non-default constraints.
  AppendOptionReply(out, option_, kRepInfo,
                    EncodeInfoBlockSize({p.min_block, p.preferred_block, p.max_block}));
  Reply(out, kRepAck);
  if (option_ == kOptInfo) {
    backend->Close();
    return Step::kContinue;
  }
  selected_ = Selected{std::move(name), std::move(backend), p};
  state_ = State::kDone;
  return Step::kTransmission;
}

ServerHandshake::Step ServerHandshake::OnExportName(std::span<const uint8_t> data, Bytes* out) {
  if (tls_blocks_options()) return Close("NBD_OPT_EXPORT_NAME before TLS, which is required");
  const std::string requested(reinterpret_cast<const char*>(data.data()), data.size());
  std::string name, error;
  std::shared_ptr<Backend> backend = Lookup(requested, &name, &error);
  if (!backend) return Close("NBD_OPT_EXPORT_NAME: " + error);
  Status admitted = backend->Open();
  if (!admitted.ok()) return Close("NBD_OPT_EXPORT_NAME: " + admitted.message());
  const ExportParams p = MakeExportParams(*backend, structured_);
  uint8_t reply[kExportNameReplySize];
  PutBe64(reply, p.size);
  PutBe16(reply + 8, p.flags);
  out->insert(out->end(), reply, reply + kExportNameReplySize);
  if (!no_zeroes_) out->insert(out->end(), kExportNameZeroes, 0);
  selected_ = Selected{std::move(name), std::move(backend), p};
  state_ = State::kDone;
  return Step::kTransmission;
}

ServerHandshake::Selected ServerHandshake::TakeSelected() {
  assert(selected_.backend && !taken_);
  taken_ = true;
  return std::move(selected_);
}

}  // namespace tandem::nbd
