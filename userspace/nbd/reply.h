#pragma once
// Transmission-phase replies: encoders the server uses and decoders the
// client uses, for simple replies and structured reply chunks
// (NBD_REPLY_TYPE_NONE, OFFSET_DATA, OFFSET_HOLE, ERROR, ERROR_OFFSET).
// Layouts and byte order: nbd/wire.h.
//
// Contract: encoders write into caller buffers of the stated size (or append
// to a vector); decoders take exactly the bytes of one header or payload and
// return the value or a ProtocolError saying what is wrong, never reading
// outside the span.
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace tandem::nbd {

// --- server side ---------------------------------------------------------------
// kSimpleReplySize bytes.
void EncodeSimpleReply(uint8_t* out, uint32_t error, uint64_t handle);
// kChunkHeaderSize bytes.
void EncodeChunkHeader(uint8_t* out, uint16_t flags, uint16_t type, uint64_t handle,
                       uint32_t length);
// Chunk header + 8-byte offset (28 bytes) announcing `data_length` bytes of data
// that the caller sends next; requires 1 <= data_length <= 2^32 - 9.
inline constexpr size_t kOffsetDataHeaderSize = 28;
void EncodeOffsetDataHeader(uint8_t* out, uint64_t handle, uint64_t offset, uint32_t data_length,
                            bool done);
// NBD_REPLY_TYPE_NONE with NBD_REPLY_FLAG_DONE (kChunkHeaderSize bytes).
void EncodeNoneChunk(uint8_t* out, uint64_t handle);
// A final NBD_REPLY_TYPE_ERROR chunk (or ERROR_OFFSET when `offset` is given),
// message truncated to 4096 bytes. `error` must be nonzero.
void AppendErrorChunk(std::vector<uint8_t>* out, uint64_t handle, uint32_t error,
                      const std::string& message, std::optional<uint64_t> offset = {});

// --- client side ---------------------------------------------------------------
struct ReplyHeader {
  bool structured = false;
  uint64_t handle = 0;
  uint32_t error = 0;   // simple replies
  uint16_t flags = 0;   // structured chunks
  uint16_t type = 0;    // structured chunks
  uint32_t length = 0;  // structured chunks: payload bytes that follow
  bool done() const { return !structured || (flags & 1u) != 0; }
};
// From the first 4 bytes: 16 (simple) or 20 (structured); ProtocolError otherwise.
Result<size_t> ReplyHeaderSize(std::span<const uint8_t> magic);
// Exactly 16 or 20 bytes, matching the magic.
Result<ReplyHeader> DecodeReplyHeader(std::span<const uint8_t> bytes);

struct ChunkError {
  uint32_t error = 0;
  std::string message;
  std::optional<uint64_t> offset;  // ERROR_OFFSET
};
// Payload of a chunk whose type has bit 15 set (ERROR, ERROR_OFFSET, or an
// unknown error type, read like ERROR).
Result<ChunkError> DecodeErrorChunk(uint16_t type, std::span<const uint8_t> payload);

struct OffsetHole {
  uint64_t offset = 0;
  uint32_t length = 0;
};
// Exactly 12 bytes; the hole size must be nonzero.
Result<OffsetHole> DecodeOffsetHole(std::span<const uint8_t> payload);

}  // namespace tandem::nbd
