// libFuzzer target for the replication wire format (docs/wire-protocol.md),
// the bytes a hostile peer controls. Beyond "no crash, no leak":
//  - a header that decodes re-encodes to the same 12 bytes;
//  - a control payload that decodes, for any type, re-encodes to exactly the
//    input bytes (the encoding is canonical), and that encoding decodes again
//    to a packet that re-encodes identically;
//  - a bulk prefix that decodes (checked against the header's length)
//    re-encodes to the same header and prefix bytes;
//  - every refusal is a ProtocolError with a reason.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "net/packet.h"

namespace {

using tandem::Status;
using namespace tandem::net;

constexpr PacketType kControlTypes[] = {
    PacketType::kHello,        PacketType::kAuthChallenge, PacketType::kAuthResponse,
    PacketType::kAuthResult,   PacketType::kEstablished,   PacketType::kParams,
    PacketType::kSizes,        PacketType::kUuids,         PacketType::kState,
    PacketType::kStateRequest, PacketType::kStateReply,    PacketType::kRecvAck,
    PacketType::kWriteAck,     PacketType::kNegAck,        PacketType::kFlush,
    PacketType::kFlushAck,     PacketType::kZeroes,        PacketType::kDataRequest,
    PacketType::kPing,         PacketType::kPingAck,       PacketType::kDisconnect,
    PacketType::kBitmap,       PacketType::kSyncStart,     PacketType::kRsRequest,
    PacketType::kRsNeg,        PacketType::kSyncDone,      PacketType::kPauseSync,
    PacketType::kResumeSync,   PacketType::kVerifyRequest, PacketType::kVerifyReply,
    PacketType::kError};

void CheckRefusal(const Status& s) {
  if (s.ok() || s.code() != Status::Code::kProtocolError || s.message().empty()) std::abort();
}

void CheckControl(PacketType type, std::span<const uint8_t> payload) {
  auto p = DecodeControl(type, payload);
  if (!p.ok()) return CheckRefusal(p.status());
  if (IsBulk(type)) std::abort();
  const std::vector<uint8_t> first = EncodeControl(type, *p);
  if (first.size() != kHeaderSize + payload.size()) std::abort();
  if (!std::equal(payload.begin(), payload.end(), first.begin() + kHeaderSize)) std::abort();
  auto h = DecodeHeader(first);
  if (!h.ok() || h->type != type || h->length != payload.size()) std::abort();
  auto again = DecodeControl(type, std::span<const uint8_t>(first).subspan(kHeaderSize));
  if (!again.ok()) std::abort();
  if (EncodeControl(type, *again) != first) std::abort();
}

// Header + bulk prefix, read the way PeerConnection reads it.
void CheckBulk(const Header& h, std::span<const uint8_t> whole) {
  std::span<const uint8_t> rest = whole.subspan(kHeaderSize);
  const uint32_t fixed = FixedBulkPrefix(h.type);
  if (fixed == 0 || h.length < fixed || rest.size() < fixed) return;
  const uint32_t prefix_len = BulkPrefixLength(h.type, rest.first(fixed));
  if (prefix_len < fixed || prefix_len > h.length || rest.size() < prefix_len) return;
  std::span<const uint8_t> prefix = rest.first(prefix_len);
  std::vector<uint8_t> encoded;
  if (h.type == PacketType::kData) {
    auto p = DecodeDataPrefix(prefix, h.length);
    if (!p.ok()) return CheckRefusal(p.status());
    if (p->length == 0 || p->length > kMaxDataLength) std::abort();
    encoded = EncodeDataPrefix(*p);
  } else if (h.type == PacketType::kDataReply) {
    auto p = DecodeDataReplyPrefix(prefix, h.length);
    if (!p.ok()) return CheckRefusal(p.status());
    encoded = EncodeDataReplyPrefix(*p);
  } else {
    auto p = DecodeRsDataPrefix(prefix, h.length);
    if (!p.ok()) return CheckRefusal(p.status());
    encoded = EncodeRsDataPrefix(*p);
  }
  if (encoded.size() != kHeaderSize + prefix_len) std::abort();
  if (!std::equal(encoded.begin(), encoded.end(), whole.begin())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);

  // As a stream: header, then its payload.
  auto h = DecodeHeader(in);
  if (size < kHeaderSize) {
    if (h.ok()) std::abort();
    CheckRefusal(h.status());
  } else if (!h.ok()) {
    CheckRefusal(h.status());
  } else {
    uint8_t again[kHeaderSize];
    EncodeHeader(h->type, h->length, again);
    if (std::memcmp(again, data, kHeaderSize) != 0) std::abort();
    if (IsBulk(h->type)) {
      CheckBulk(*h, in);
    } else {
      std::span<const uint8_t> rest = in.subspan(kHeaderSize);
      CheckControl(h->type, rest.first(std::min<size_t>(rest.size(), h->length)));
    }
  }

  // The whole input as the payload of every control type, and as each bulk
  // prefix (with the payload length the prefix itself implies, and a wrong one).
  for (PacketType t : kControlTypes) CheckControl(t, in);
  for (PacketType t : {PacketType::kData, PacketType::kDataReply, PacketType::kRsData}) {
    CheckRefusal(DecodeControl(t, in).status());
  }
  const uint32_t data_prefix = BulkPrefixLength(PacketType::kData, in);
  if (in.size() >= data_prefix) {
    auto p = DecodeDataPrefix(in.first(data_prefix), static_cast<uint32_t>(size) * 977u);
    if (!p.ok()) CheckRefusal(p.status());
  }
  if (in.size() >= kDataReplyPrefix) {
    auto p = DecodeDataReplyPrefix(in.first(kDataReplyPrefix), static_cast<uint32_t>(size) << 4);
    if (!p.ok()) CheckRefusal(p.status());
  }
  if (in.size() >= kRsDataPrefix) {
    auto p = DecodeRsDataPrefix(in.first(kRsDataPrefix), kRsDataPrefix);
    if (!p.ok()) CheckRefusal(p.status());
  }
  return 0;
}
