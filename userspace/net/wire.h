#pragma once
// Constants of the replication wire protocol (docs/wire-protocol.md, version 1).
// Byte order: every integer on the wire is big-endian. This header and
// packet.cc are the only places that know the layout.

#include <cstdint>

namespace tandem::net {

inline constexpr uint32_t kWireMagic = 0x544E4450;  // "TNDP"
inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr uint32_t kHeaderSize = 12;
inline constexpr uint32_t kMaxDataLength = 32u << 20;          // largest write/read payload
inline constexpr uint32_t kMaxControlPayload = 64u << 10;      // every non-bulk packet
inline constexpr uint32_t kMaxBulkPayload = kMaxDataLength + 4096;
inline constexpr uint32_t kMaxStringLength = 4096;
inline constexpr uint32_t kMaxDigestLength = 64;
inline constexpr uint32_t kChallengeLength = 32;
inline constexpr uint32_t kMaxBitmapWordsPerPacket = 8000;  // 64000 bytes

enum class PacketType : uint16_t {
  kHello = 1,
  kAuthChallenge = 2,
  kAuthResponse = 3,
  kAuthResult = 4,
  kEstablished = 5,
  kParams = 6,
  kSizes = 7,
  kUuids = 8,
  kState = 9,
  kStateRequest = 10,
  kStateReply = 11,
  kData = 20,
  kRecvAck = 21,
  kWriteAck = 22,
  kNegAck = 23,
  kFlush = 24,
  kFlushAck = 25,
  kDataRequest = 26,
  kDataReply = 27,
  kZeroes = 28,
  kPing = 30,
  kPingAck = 31,
  kDisconnect = 32,
  kBitmap = 40,
  kSyncStart = 41,
  kRsRequest = 42,
  kRsData = 43,
  kRsNeg = 44,
  kSyncDone = 45,
  kPauseSync = 46,
  kResumeSync = 47,
  kVerifyRequest = 48,
  kVerifyReply = 49,
  kError = 50,
};

// Bulk packets carry a fixed prefix and then raw data (read into an aligned
// buffer without copying); every other packet is read whole.
inline bool IsBulk(PacketType t) {
  return t == PacketType::kData || t == PacketType::kDataReply || t == PacketType::kRsData;
}

// Fixed prefix sizes of the bulk packets (DATA adds its digest after the prefix).
inline constexpr uint32_t kDataPrefix = 29;       // id, offset, length, epoch, flags, digest len
inline constexpr uint32_t kDataReplyPrefix = 16;  // id, errno, length
inline constexpr uint32_t kRsDataPrefix = 21;     // id, offset, length, flags

enum DataFlags : uint32_t { kDataFua = 1u << 0 };
enum ZeroesFlags : uint8_t { kZeroesMayUnmap = 1u << 0, kZeroesFua = 1u << 1 };
inline constexpr uint64_t kMaxZeroesLength = 1ull << 30;  // one ZEROES packet
enum RsDataFlags : uint8_t { kRsInSync = 1u << 0 };
enum UuidFlags : uint32_t { kUuidCrashedPrimary = 1u << 0, kUuidDiscardMyData = 1u << 1 };

}  // namespace tandem::net
