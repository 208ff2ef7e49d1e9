#include "net/packet.h"

#include <cstring>

namespace tandem::net {

namespace {

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) {
    U8(static_cast<uint8_t>(v >> 8));
    U8(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) U8(static_cast<uint8_t>(v >> s));
  }
  void U64(uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) U8(static_cast<uint8_t>(v >> s));
  }
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void Str(const std::string& s) {
    U16(static_cast<uint16_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void Bytes(const uint8_t* p, size_t n) { out_.insert(out_.end(), p, p + n); }
  std::vector<uint8_t>& out() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

// Bounds-checked big-endian reader; the first failure sticks.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  bool ok() const { return ok_; }
  bool AtEnd() const { return pos_ == in_.size(); }
  size_t left() const { return in_.size() - pos_; }
  const std::string& error() const { return error_; }

  uint8_t U8() {
    if (!Need(1, "u8")) return 0;
    return in_[pos_++];
  }
  uint16_t U16() {
    uint16_t hi = U8();
    return static_cast<uint16_t>((hi << 8) | U8());
  }
  uint32_t U32() {
    if (!Need(4, "u32")) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | in_[pos_++];
    return v;
  }
  uint64_t U64() {
    if (!Need(8, "u64")) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | in_[pos_++];
    return v;
  }
  int32_t I32() { return static_cast<int32_t>(U32()); }
  std::string Str(size_t max = kMaxStringLength) {
    uint16_t n = U16();
    if (!ok_) return {};
    if (n > max) return Fail("string of " + std::to_string(n) + " bytes is too long"), "";
    if (!Need(n, "string")) return {};
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::vector<uint8_t> Bytes(size_t n) {
    if (!Need(n, "bytes")) return {};
    std::vector<uint8_t> v(in_.begin() + static_cast<long>(pos_),
                           in_.begin() + static_cast<long>(pos_ + n));
    pos_ += n;
    return v;
  }
  void Fail(const std::string& why) {
    if (ok_) error_ = why;
    ok_ = false;
  }

 private:
  bool Need(size_t n, const char* what) {
    if (!ok_) return false;
    if (in_.size() - pos_ < n) {
      Fail(std::string("truncated ") + what);
      return false;
    }
    return true;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
  std::string error_;
};

uint32_t MaxPayload(PacketType t) {
  switch (t) {
    case PacketType::kData:
    case PacketType::kDataReply:
    case PacketType::kRsData:
      return kMaxBulkPayload;
    default:
      return kMaxControlPayload;
  }
}

bool KnownType(uint16_t t) {
  switch (static_cast<PacketType>(t)) {
    case PacketType::kHello: case PacketType::kAuthChallenge: case PacketType::kAuthResponse:
    case PacketType::kAuthResult: case PacketType::kEstablished: case PacketType::kParams:
    case PacketType::kSizes: case PacketType::kUuids: case PacketType::kState:
    case PacketType::kStateRequest: case PacketType::kStateReply: case PacketType::kData:
    case PacketType::kRecvAck: case PacketType::kWriteAck: case PacketType::kNegAck:
    case PacketType::kFlush: case PacketType::kFlushAck: case PacketType::kDataRequest:
    case PacketType::kDataReply: case PacketType::kZeroes: case PacketType::kPing:
    case PacketType::kPingAck:
    case PacketType::kDisconnect: case PacketType::kBitmap: case PacketType::kSyncStart:
    case PacketType::kRsRequest: case PacketType::kRsData: case PacketType::kRsNeg:
    case PacketType::kSyncDone: case PacketType::kPauseSync: case PacketType::kResumeSync:
    case PacketType::kVerifyRequest: case PacketType::kVerifyReply: case PacketType::kError:
      return true;
  }
  return false;
}

Status Bad(PacketType t, const std::string& why) {
  return Status::ProtocolError(std::string(PacketTypeName(t)) + ": " + why);
}

std::vector<uint8_t> Finish(PacketType type, Writer& w) {
  std::vector<uint8_t> out(kHeaderSize);
  EncodeHeader(type, static_cast<uint32_t>(w.out().size()), out.data());
  out.insert(out.end(), w.out().begin(), w.out().end());
  return out;
}

template <typename T>
const T& As(const ControlPacket& p) {
  return std::get<T>(p);
}

}  // namespace

const char* PacketTypeName(PacketType t) {
  switch (t) {
    case PacketType::kHello: return "HELLO";
    case PacketType::kAuthChallenge: return "AUTH_CHALLENGE";
    case PacketType::kAuthResponse: return "AUTH_RESPONSE";
    case PacketType::kAuthResult: return "AUTH_RESULT";
    case PacketType::kEstablished: return "ESTABLISHED";
    case PacketType::kParams: return "PARAMS";
    case PacketType::kSizes: return "SIZES";
    case PacketType::kUuids: return "UUIDS";
    case PacketType::kState: return "STATE";
    case PacketType::kStateRequest: return "STATE_REQUEST";
    case PacketType::kStateReply: return "STATE_REPLY";
    case PacketType::kData: return "DATA";
    case PacketType::kRecvAck: return "RECV_ACK";
    case PacketType::kWriteAck: return "WRITE_ACK";
    case PacketType::kNegAck: return "NEG_ACK";
    case PacketType::kFlush: return "FLUSH";
    case PacketType::kFlushAck: return "FLUSH_ACK";
    case PacketType::kDataRequest: return "DATA_REQUEST";
    case PacketType::kDataReply: return "DATA_REPLY";
    case PacketType::kZeroes: return "ZEROES";
    case PacketType::kPing: return "PING";
    case PacketType::kPingAck: return "PING_ACK";
    case PacketType::kDisconnect: return "DISCONNECT";
    case PacketType::kBitmap: return "BITMAP";
    case PacketType::kSyncStart: return "SYNC_START";
    case PacketType::kRsRequest: return "RS_REQUEST";
    case PacketType::kRsData: return "RS_DATA";
    case PacketType::kRsNeg: return "RS_NEG";
    case PacketType::kSyncDone: return "SYNC_DONE";
    case PacketType::kPauseSync: return "PAUSE_SYNC";
    case PacketType::kResumeSync: return "RESUME_SYNC";
    case PacketType::kVerifyRequest: return "VERIFY_REQUEST";
    case PacketType::kVerifyReply: return "VERIFY_REPLY";
    case PacketType::kError: return "ERROR";
  }
  return "UNKNOWN";
}

void EncodeHeader(PacketType type, uint32_t length, uint8_t* b) {
  uint32_t m = kWireMagic;
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(m >> (24 - 8 * i));
  uint16_t t = static_cast<uint16_t>(type);
  b[4] = static_cast<uint8_t>(t >> 8);
  b[5] = static_cast<uint8_t>(t);
  b[6] = b[7] = 0;
  for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
}

Result<Header> DecodeHeader(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  uint32_t magic = r.U32();
  uint16_t type = r.U16();
  uint16_t flags = r.U16();
  uint32_t length = r.U32();
  if (!r.ok()) return Status::ProtocolError("truncated header");
  if (magic != kWireMagic) return Status::ProtocolError("bad magic " + std::to_string(magic));
  if (!KnownType(type)) return Status::ProtocolError("unknown packet type " + std::to_string(type));
  if (flags != 0) return Status::ProtocolError("reserved header flags set");
  PacketType t = static_cast<PacketType>(type);
  if (length > MaxPayload(t)) {
    return Status::ProtocolError(std::string(PacketTypeName(t)) + " payload of " +
                                 std::to_string(length) + " bytes exceeds the limit of " +
                                 std::to_string(MaxPayload(t)));
  }
  return Header{t, length};
}

std::vector<uint8_t> EncodeControl(PacketType type, const ControlPacket& p) {
  Writer w;
  switch (type) {
    case PacketType::kHello: {
      const auto& h = As<Hello>(p);
      w.U32(h.version_min);
      w.U32(h.version_max);
      w.U64(h.features);
      w.Str(h.node);
      w.Str(h.resource);
      break;
    }
    case PacketType::kAuthChallenge: {
      const auto& c = As<AuthChallenge>(p);
      w.Str(c.algorithm);
      w.Bytes(c.challenge.data(), c.challenge.size());
      break;
    }
    case PacketType::kAuthResponse: {
      const auto& r = As<AuthResponse>(p);
      w.U8(static_cast<uint8_t>(r.digest.size()));
      w.Bytes(r.digest.data(), r.digest.size());
      break;
    }
    case PacketType::kAuthResult: w.U8(As<AuthResult>(p).accepted ? 1 : 0); break;
    case PacketType::kEstablished:
    case PacketType::kDisconnect:
    case PacketType::kPauseSync:
    case PacketType::kResumeSync:
      break;
    case PacketType::kParams: {
      const auto& q = As<Params>(p);
      w.U8(static_cast<uint8_t>(q.protocol));
      w.U8(q.two_primaries ? 1 : 0);
      w.Str(q.after_sb_0pri);
      w.Str(q.after_sb_1pri);
      w.Str(q.after_sb_2pri);
      w.Str(q.integrity_alg);
      break;
    }
    case PacketType::kSizes: {
      const auto& s = As<Sizes>(p);
      w.U64(s.usable);
      w.U64(s.limit);
      break;
    }
    case PacketType::kUuids: {
      const auto& u = As<Uuids>(p);
      w.U64(u.current);
      w.U64(u.bitmap);
      w.U64(u.history1);
      w.U64(u.history2);
      w.U64(u.out_of_sync_bits);
      w.U32(u.flags);
      w.U64(u.primary_since_ms);
      break;
    }
    case PacketType::kState: {
      const auto& s = As<StatePacket>(p);
      w.U8(s.role);
      w.U8(s.disk);
      w.U8(s.user_flags);
      break;
    }
    case PacketType::kStateRequest: {
      const auto& s = As<StateRequest>(p);
      w.U32(s.id);
      w.U8(s.what);
      w.U64(s.argument);
      break;
    }
    case PacketType::kStateReply: {
      const auto& s = As<StateReply>(p);
      w.U32(s.id);
      w.I32(s.result);
      break;
    }
    case PacketType::kRecvAck:
    case PacketType::kWriteAck: w.U64(As<Ack>(p).id); break;
    case PacketType::kNegAck: {
      const auto& n = As<NegAck>(p);
      w.U64(n.id);
      w.I32(n.err);
      break;
    }
    case PacketType::kFlush: w.U64(As<FlushPacket>(p).id); break;
    case PacketType::kFlushAck: {
      const auto& f = As<FlushAck>(p);
      w.U64(f.id);
      w.I32(f.err);
      break;
    }
    case PacketType::kZeroes: {
      const auto& z = As<Zeroes>(p);
      w.U64(z.id);
      w.U64(z.offset);
      w.U32(z.length);
      w.U32(z.epoch);
      w.U8(z.flags);
      break;
    }
    case PacketType::kDataRequest: {
      const auto& d = As<DataRequest>(p);
      w.U64(d.id);
      w.U64(d.offset);
      w.U32(d.length);
      break;
    }
    case PacketType::kPing:
    case PacketType::kPingAck: w.U64(As<Ping>(p).nonce); break;
    case PacketType::kBitmap: {
      const auto& b = As<BitmapChunk>(p);
      w.U64(b.first_word);
      w.U32(static_cast<uint32_t>(b.words.size()));
      for (uint64_t word : b.words) w.U64(word);
      break;
    }
    case PacketType::kSyncStart: {
      const auto& s = As<SyncStart>(p);
      w.U8(s.kind);
      w.U64(s.source_uuid);
      break;
    }
    case PacketType::kRsRequest: {
      const auto& r = As<RsRequest>(p);
      w.U64(r.id);
      w.U64(r.offset);
      w.U32(r.length);
      w.U8(static_cast<uint8_t>(r.digest.size()));
      w.Bytes(r.digest.data(), r.digest.size());
      break;
    }
    case PacketType::kRsNeg: {
      const auto& r = As<RsNeg>(p);
      w.U64(r.id);
      w.I32(r.err);
      break;
    }
    case PacketType::kSyncDone: w.U64(As<SyncDone>(p).blocks); break;
    case PacketType::kVerifyRequest: {
      const auto& v = As<VerifyRequest>(p);
      w.U64(v.id);
      w.U64(v.offset);
      w.U32(v.length);
      w.U8(static_cast<uint8_t>(v.digest.size()));
      w.Bytes(v.digest.data(), v.digest.size());
      break;
    }
    case PacketType::kVerifyReply: {
      const auto& v = As<VerifyReply>(p);
      w.U64(v.id);
      w.U8(v.equal ? 1 : 0);
      break;
    }
    case PacketType::kError: {
      const auto& e = As<ErrorPacket>(p);
      w.U32(e.code);
      w.Str(e.message);
      break;
    }
    case PacketType::kData:
    case PacketType::kDataReply:
    case PacketType::kRsData:
      break;  // bulk: use the prefix encoders
  }
  return Finish(type, w);
}

Result<ControlPacket> DecodeControl(PacketType type, std::span<const uint8_t> payload) {
  if (!KnownType(static_cast<uint16_t>(type))) {
    return Status::ProtocolError("unknown packet type " +
                                 std::to_string(static_cast<uint16_t>(type)));
  }
  Reader r(payload);
  ControlPacket out;
  auto digest = [&](std::vector<uint8_t>* d) {
    uint8_t n = r.U8();
    if (n > kMaxDigestLength) return r.Fail("digest of " + std::to_string(n) + " bytes");
    *d = r.Bytes(n);
  };
  switch (type) {
    case PacketType::kHello: {
      Hello h;
      h.version_min = r.U32();
      h.version_max = r.U32();
      h.features = r.U64();
      h.node = r.Str(255);
      h.resource = r.Str(255);
      if (r.ok() && h.version_min > h.version_max) r.Fail("version range is empty");
      out = std::move(h);
      break;
    }
    case PacketType::kAuthChallenge: {
      AuthChallenge c;
      c.algorithm = r.Str(64);
      auto bytes = r.Bytes(kChallengeLength);
      if (r.ok()) std::memcpy(c.challenge.data(), bytes.data(), kChallengeLength);
      out = std::move(c);
      break;
    }
    case PacketType::kAuthResponse: {
      AuthResponse a;
      digest(&a.digest);
      out = std::move(a);
      break;
    }
    case PacketType::kAuthResult: {
      uint8_t v = r.U8();
      if (r.ok() && v > 1) r.Fail("accepted flag " + std::to_string(v));
      out = AuthResult{v == 1};
      break;
    }
    case PacketType::kEstablished: out = Established{}; break;
    case PacketType::kDisconnect: out = Disconnect{}; break;
    case PacketType::kPauseSync: out = PauseSync{}; break;
    case PacketType::kResumeSync: out = ResumeSync{}; break;
    case PacketType::kParams: {
      Params q;
      q.protocol = static_cast<char>(r.U8());
      uint8_t two = r.U8();
      q.after_sb_0pri = r.Str(64);
      q.after_sb_1pri = r.Str(64);
      q.after_sb_2pri = r.Str(64);
      q.integrity_alg = r.Str(64);
      if (r.ok() && (q.protocol < 'A' || q.protocol > 'C')) r.Fail("protocol byte");
      if (r.ok() && two > 1) r.Fail("two-primaries flag");
      q.two_primaries = two == 1;
      out = std::move(q);
      break;
    }
    case PacketType::kSizes: {
      Sizes s;
      s.usable = r.U64();
      s.limit = r.U64();
      out = s;
      break;
    }
    case PacketType::kUuids: {
      Uuids u;
      u.current = r.U64();
      u.bitmap = r.U64();
      u.history1 = r.U64();
      u.history2 = r.U64();
      u.out_of_sync_bits = r.U64();
      u.flags = r.U32();
      u.primary_since_ms = r.U64();
      out = u;
      break;
    }
    case PacketType::kState: {
      StatePacket s;
      s.role = r.U8();
      s.disk = r.U8();
      s.user_flags = r.U8();
      if (r.ok() && (s.role < 1 || s.role > 2)) r.Fail("role " + std::to_string(s.role));
      if (r.ok() && s.disk > 8) r.Fail("disk state " + std::to_string(s.disk));
      out = s;
      break;
    }
    case PacketType::kStateRequest: {
      StateRequest s;
      s.id = r.U32();
      s.what = r.U8();
      s.argument = r.U64();
      if (r.ok() && (s.what < 1 || s.what > 4)) r.Fail("request kind " + std::to_string(s.what));
      out = s;
      break;
    }
    case PacketType::kStateReply: {
      StateReply s;
      s.id = r.U32();
      s.result = r.I32();
      out = s;
      break;
    }
    case PacketType::kRecvAck:
    case PacketType::kWriteAck: out = Ack{r.U64()}; break;
    case PacketType::kNegAck: {
      NegAck n;
      n.id = r.U64();
      n.err = r.I32();
      out = n;
      break;
    }
    case PacketType::kFlush: out = FlushPacket{r.U64()}; break;
    case PacketType::kFlushAck: {
      FlushAck f;
      f.id = r.U64();
      f.err = r.I32();
      out = f;
      break;
    }
    case PacketType::kZeroes: {
      Zeroes z;
      z.id = r.U64();
      z.offset = r.U64();
      z.length = r.U32();
      z.epoch = r.U32();
      z.flags = r.U8();
      if (r.ok() && (z.length == 0 || z.length > kMaxZeroesLength)) r.Fail("length");
      if (r.ok() && (z.flags & ~(kZeroesMayUnmap | kZeroesFua))) r.Fail("unknown flags");
      out = z;
      break;
    }
    case PacketType::kDataRequest: {
      DataRequest d;
      d.id = r.U64();
      d.offset = r.U64();
      d.length = r.U32();
      if (r.ok() && (d.length == 0 || d.length > kMaxDataLength)) r.Fail("length");
      out = d;
      break;
    }
    case PacketType::kPing:
    case PacketType::kPingAck: out = Ping{r.U64()}; break;
    case PacketType::kBitmap: {
      BitmapChunk b;
      b.first_word = r.U64();
      uint32_t n = r.U32();
      if (r.ok() && n > kMaxBitmapWordsPerPacket) r.Fail(std::to_string(n) + " words");
      if (r.ok() && r.left() != uint64_t{n} * 8) r.Fail("word count does not match the length");
      for (uint32_t i = 0; r.ok() && i < n; ++i) b.words.push_back(r.U64());
      out = std::move(b);
      break;
    }
    case PacketType::kSyncStart: {
      SyncStart s;
      s.kind = r.U8();
      s.source_uuid = r.U64();
      if (r.ok() && (s.kind < 1 || s.kind > 3)) r.Fail("sync kind " + std::to_string(s.kind));
      out = s;
      break;
    }
    case PacketType::kRsRequest: {
      RsRequest q;
      q.id = r.U64();
      q.offset = r.U64();
      q.length = r.U32();
      digest(&q.digest);
      if (r.ok() && (q.length == 0 || q.length > kMaxDataLength)) r.Fail("length");
      out = std::move(q);
      break;
    }
    case PacketType::kRsNeg: {
      RsNeg n;
      n.id = r.U64();
      n.err = r.I32();
      out = n;
      break;
    }
    case PacketType::kSyncDone: out = SyncDone{r.U64()}; break;
    case PacketType::kVerifyRequest: {
      VerifyRequest v;
      v.id = r.U64();
      v.offset = r.U64();
      v.length = r.U32();
      digest(&v.digest);
      if (r.ok() && (v.length == 0 || v.length > kMaxDataLength)) r.Fail("length");
      out = std::move(v);
      break;
    }
    case PacketType::kVerifyReply: {
      VerifyReply v;
      v.id = r.U64();
      uint8_t e = r.U8();
      if (r.ok() && e > 1) r.Fail("equal flag");
      v.equal = e == 1;
      out = v;
      break;
    }
    case PacketType::kError: {
      ErrorPacket e;
      e.code = r.U32();
      e.message = r.Str();
      out = std::move(e);
      break;
    }
    case PacketType::kData:
    case PacketType::kDataReply:
    case PacketType::kRsData:
      return Bad(type, "is a bulk packet");
  }
  if (!r.ok()) return Bad(type, r.error());
  if (!r.AtEnd()) return Bad(type, std::to_string(r.left()) + " trailing bytes");
  return out;
}

std::vector<uint8_t> EncodeDataPrefix(const DataPrefix& p) {
  Writer w;
  w.U64(p.id);
  w.U64(p.offset);
  w.U32(p.length);
  w.U32(p.epoch);
  w.U32(p.flags);
  w.U8(static_cast<uint8_t>(p.digest.size()));
  w.Bytes(p.digest.data(), p.digest.size());
  std::vector<uint8_t> out(kHeaderSize);
  EncodeHeader(PacketType::kData, static_cast<uint32_t>(w.out().size() + p.length), out.data());
  out.insert(out.end(), w.out().begin(), w.out().end());
  return out;
}

std::vector<uint8_t> EncodeDataReplyPrefix(const DataReplyPrefix& p) {
  Writer w;
  w.U64(p.id);
  w.I32(p.err);
  w.U32(p.length);
  std::vector<uint8_t> out(kHeaderSize);
  EncodeHeader(PacketType::kDataReply, static_cast<uint32_t>(w.out().size() + p.length),
               out.data());
  out.insert(out.end(), w.out().begin(), w.out().end());
  return out;
}

std::vector<uint8_t> EncodeRsDataPrefix(const RsDataPrefix& p) {
  Writer w;
  w.U64(p.id);
  w.U64(p.offset);
  w.U32(p.length);
  w.U8(p.flags);
  uint32_t data = (p.flags & kRsInSync) ? 0 : p.length;
  std::vector<uint8_t> out(kHeaderSize);
  EncodeHeader(PacketType::kRsData, static_cast<uint32_t>(w.out().size() + data), out.data());
  out.insert(out.end(), w.out().begin(), w.out().end());
  return out;
}

uint32_t FixedBulkPrefix(PacketType type) {
  switch (type) {
    case PacketType::kData: return kDataPrefix;
    case PacketType::kDataReply: return kDataReplyPrefix;
    case PacketType::kRsData: return kRsDataPrefix;
    default: return 0;
  }
}

uint32_t BulkPrefixLength(PacketType type, std::span<const uint8_t> fixed) {
  if (type == PacketType::kData && fixed.size() >= kDataPrefix) {
    return kDataPrefix + fixed[kDataPrefix - 1];
  }
  return FixedBulkPrefix(type);
}

Result<DataPrefix> DecodeDataPrefix(std::span<const uint8_t> prefix, uint32_t payload_length) {
  Reader r(prefix);
  DataPrefix p;
  p.id = r.U64();
  p.offset = r.U64();
  p.length = r.U32();
  p.epoch = r.U32();
  p.flags = r.U32();
  uint8_t n = r.U8();
  if (r.ok() && n > kMaxDigestLength) r.Fail("digest of " + std::to_string(n) + " bytes");
  p.digest = r.Bytes(n);
  if (!r.ok()) return Bad(PacketType::kData, r.error());
  if (!r.AtEnd()) return Bad(PacketType::kData, "prefix has trailing bytes");
  if (p.length == 0 || p.length > kMaxDataLength) return Bad(PacketType::kData, "length");
  if (p.flags & ~static_cast<uint32_t>(kDataFua)) return Bad(PacketType::kData, "unknown flags");
  if (uint64_t{kDataPrefix} + n + p.length != payload_length) {
    return Bad(PacketType::kData, "length does not match the payload");
  }
  return p;
}

Result<DataReplyPrefix> DecodeDataReplyPrefix(std::span<const uint8_t> prefix,
                                              uint32_t payload_length) {
  Reader r(prefix);
  DataReplyPrefix p;
  p.id = r.U64();
  p.err = r.I32();
  p.length = r.U32();
  if (!r.ok() || !r.AtEnd()) return Bad(PacketType::kDataReply, "bad prefix");
  if (p.length > kMaxDataLength) return Bad(PacketType::kDataReply, "length");
  if (uint64_t{kDataReplyPrefix} + p.length != payload_length) {
    return Bad(PacketType::kDataReply, "length does not match the payload");
  }
  return p;
}

Result<RsDataPrefix> DecodeRsDataPrefix(std::span<const uint8_t> prefix, uint32_t payload_length) {
  Reader r(prefix);
  RsDataPrefix p;
  p.id = r.U64();
  p.offset = r.U64();
  p.length = r.U32();
  p.flags = r.U8();
  if (!r.ok() || !r.AtEnd()) return Bad(PacketType::kRsData, "bad prefix");
  if (p.length == 0 || p.length > kMaxDataLength) return Bad(PacketType::kRsData, "length");
  if (p.flags & ~kRsInSync) return Bad(PacketType::kRsData, "unknown flags");
  uint32_t data = (p.flags & kRsInSync) ? 0 : p.length;
  if (uint64_t{kRsDataPrefix} + data != payload_length) {
    return Bad(PacketType::kRsData, "length does not match the payload");
  }
  return p;
}

}  // namespace tandem::net
