#pragma once
// Encoding and decoding of replication packets (docs/wire-protocol.md). Pure,
// synchronous code: no sockets, no allocation beyond the returned values.
// Every decoder validates lengths and ranges and returns ProtocolError with a
// reason on anything malformed, so a hostile peer can never crash or confuse
// the receiver. Thread-safe (no state).

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "net/wire.h"

namespace tandem::net {

struct Header {
  PacketType type;
  uint32_t length;  // payload bytes
};

struct Hello {
  uint32_t version_min = kProtocolVersion;
  uint32_t version_max = kProtocolVersion;
  uint64_t features = 0;
  std::string node;
  std::string resource;
};
struct AuthChallenge {
  std::string algorithm;
  std::array<uint8_t, kChallengeLength> challenge{};
};
struct AuthResponse {
  std::vector<uint8_t> digest;
};
struct AuthResult {
  bool accepted = false;
};
struct Established {};
struct Params {
  char protocol = 'C';
  bool two_primaries = false;
  std::string after_sb_0pri, after_sb_1pri, after_sb_2pri, integrity_alg;
};
struct Sizes {
  uint64_t usable = 0;
  uint64_t limit = 0;
};
struct Uuids {
  uint64_t current = 0, bitmap = 0, history1 = 0, history2 = 0;
  uint64_t out_of_sync_bits = 0;
  uint32_t flags = 0;
  uint64_t primary_since_ms = 0;
};
struct StatePacket {
  uint8_t role = 0, disk = 0, user_flags = 0;
};
struct StateRequest {
  uint32_t id = 0;
  uint8_t what = 0;
  uint64_t argument = 0;
};
struct StateReply {
  uint32_t id = 0;
  int32_t result = 0;
};
struct Ack {  // RECV_ACK, WRITE_ACK
  uint64_t id = 0;
};
struct NegAck {
  uint64_t id = 0;
  int32_t err = 0;
};
struct FlushPacket {
  uint64_t id = 0;
};
struct FlushAck {
  uint64_t id = 0;
  int32_t err = 0;
};
struct Zeroes {  // ZEROES: write zeroes (or discard) on the peer
  uint64_t id = 0, offset = 0;
  uint32_t length = 0;
  uint32_t epoch = 0;
  uint8_t flags = 0;
};
struct DataRequest {
  uint64_t id = 0, offset = 0;
  uint32_t length = 0;
};
struct Ping {  // PING, PING_ACK
  uint64_t nonce = 0;
};
struct Disconnect {};
struct BitmapChunk {
  uint64_t first_word = 0;
  std::vector<uint64_t> words;
};
struct SyncStart {
  uint8_t kind = 0;  // 1 bitmap-based, 2 full, 3 online verify
  uint64_t source_uuid = 0;
};
struct RsRequest {
  uint64_t id = 0, offset = 0;
  uint32_t length = 0;
  std::vector<uint8_t> digest;
};
struct RsNeg {
  uint64_t id = 0;
  int32_t err = 0;
};
struct SyncDone {
  uint64_t blocks = 0;
};
struct PauseSync {};
struct ResumeSync {};
struct VerifyRequest {
  uint64_t id = 0, offset = 0;
  uint32_t length = 0;
  std::vector<uint8_t> digest;
};
struct VerifyReply {
  uint64_t id = 0;
  bool equal = false;
};
struct ErrorPacket {
  uint32_t code = 0;
  std::string message;
};

// The prefix of the bulk packets; the data follows on the wire.
struct DataPrefix {  // DATA
  uint64_t id = 0, offset = 0;
  uint32_t length = 0, epoch = 0, flags = 0;
  std::vector<uint8_t> digest;
};
struct DataReplyPrefix {  // DATA_REPLY
  uint64_t id = 0;
  int32_t err = 0;
  uint32_t length = 0;
};
struct RsDataPrefix {  // RS_DATA
  uint64_t id = 0, offset = 0;
  uint32_t length = 0;
  uint8_t flags = 0;
};

// A complete non-bulk packet. (Monostate never appears after a successful decode.)
using ControlPacket =
    std::variant<Hello, AuthChallenge, AuthResponse, AuthResult, Established, Params, Sizes,
                 Uuids, StatePacket, StateRequest, StateReply, Ack, NegAck, FlushPacket,
                 FlushAck, Zeroes, DataRequest, Ping, Disconnect, BitmapChunk, SyncStart, RsRequest,
                 RsNeg, SyncDone, PauseSync, ResumeSync, VerifyRequest, VerifyReply, ErrorPacket>;

const char* PacketTypeName(PacketType t);

// Validates a 12-byte header: magic, flags, a known type, and a payload length
// within that type's limit.
Result<Header> DecodeHeader(std::span<const uint8_t> bytes);
void EncodeHeader(PacketType type, uint32_t length, uint8_t* out);

// Whole non-bulk packets (header included).
std::vector<uint8_t> EncodeControl(PacketType type, const ControlPacket& packet);
// Decodes the payload of a non-bulk packet of `type`.
Result<ControlPacket> DecodeControl(PacketType type, std::span<const uint8_t> payload);

// Bulk packets: the encoders return header + prefix; the caller sends `length`
// bytes of data right after them.
std::vector<uint8_t> EncodeDataPrefix(const DataPrefix& p);
std::vector<uint8_t> EncodeDataReplyPrefix(const DataReplyPrefix& p);
std::vector<uint8_t> EncodeRsDataPrefix(const RsDataPrefix& p);
// Bytes of prefix to read for a bulk packet, given its first kDataPrefix /
// fixed-prefix bytes (DATA's digest length sits at byte 28).
uint32_t BulkPrefixLength(PacketType type, std::span<const uint8_t> fixed);
// Decode a bulk prefix and check it against the header's payload length.
Result<DataPrefix> DecodeDataPrefix(std::span<const uint8_t> prefix, uint32_t payload_length);
Result<DataReplyPrefix> DecodeDataReplyPrefix(std::span<const uint8_t> prefix,
                                              uint32_t payload_length);
Result<RsDataPrefix> DecodeRsDataPrefix(std::span<const uint8_t> prefix, uint32_t payload_length);
uint32_t FixedBulkPrefix(PacketType type);

}  // namespace tandem::net
