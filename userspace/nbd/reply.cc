#include "nbd/reply.h"

#include <algorithm>
#include <cassert>

#include "nbd/wire.h"

namespace tandem::nbd {

void EncodeSimpleReply(uint8_t* out, uint32_t error, uint64_t handle) {
  PutBe32(out, kSimpleReplyMagic);
  PutBe32(out + 4, error);
  PutBe64(out + 8, handle);
}

void EncodeChunkHeader(uint8_t* out, uint16_t flags, uint16_t type, uint64_t handle,
                       uint32_t length) {
  PutBe32(out, kStructuredReplyMagic);
  PutBe16(out + 4, flags);
  PutBe16(out + 6, type);
  PutBe64(out + 8, handle);
  PutBe32(out + 16, length);
}

void EncodeOffsetDataHeader(uint8_t* out, uint64_t handle, uint64_t offset, uint32_t data_length,
                            bool done) {
  assert(data_length >= 1 && data_length <= 0xffffffffu - 8);
  EncodeChunkHeader(out, done ? kReplyFlagDone : 0, kReplyTypeOffsetData, handle,
                    data_length + 8);
  PutBe64(out + kChunkHeaderSize, offset);
}

void EncodeNoneChunk(uint8_t* out, uint64_t handle) {
  EncodeChunkHeader(out, kReplyFlagDone, kReplyTypeNone, handle, 0);
}

void AppendErrorChunk(std::vector<uint8_t>* out, uint64_t handle, uint32_t error,
                      const std::string& message, std::optional<uint64_t> offset) {
  assert(error != 0);
  const size_t msg_len = std::min<size_t>(message.size(), kMaxStringLength);
  const size_t payload = 6 + msg_len + (offset ? 8 : 0);
  const size_t at = out->size();
  out->resize(at + kChunkHeaderSize + payload);
  uint8_t* p = out->data() + at;
  EncodeChunkHeader(p, kReplyFlagDone, offset ? kReplyTypeErrorOffset : kReplyTypeError, handle,
                    static_cast<uint32_t>(payload));
  p += kChunkHeaderSize;
  PutBe32(p, error);
  PutBe16(p + 4, static_cast<uint16_t>(msg_len));
  std::copy_n(message.data(), msg_len, p + 6);
  if (offset) PutBe64(p + 6 + msg_len, *offset);
}

Result<size_t> ReplyHeaderSize(std::span<const uint8_t> magic) {
  if (magic.size() < 4) return Status::InvalidArgument("need 4 bytes to read a reply magic");
  const uint32_t m = GetBe32(magic.data());
  if (m == kSimpleReplyMagic) return kSimpleReplySize;
  if (m == kStructuredReplyMagic) return kChunkHeaderSize;
  char hex[16];
  snprintf(hex, sizeof hex, "0x%08x", m);
  return Status::ProtocolError(std::string("reply has a bad magic ") + hex);
}

Result<ReplyHeader> DecodeReplyHeader(std::span<const uint8_t> bytes) {
  Result<size_t> size = ReplyHeaderSize(bytes);
  if (!size.ok()) return size.status();
  if (bytes.size() != *size) {
    return Status::InvalidArgument("reply header must be " + std::to_string(*size) +
                                   " bytes, got " + std::to_string(bytes.size()));
  }
  const uint8_t* p = bytes.data();
  ReplyHeader h;
  if (*size == kSimpleReplySize) {
    h.error = GetBe32(p + 4);
    h.handle = GetBe64(p + 8);
    return h;
  }
  h.structured = true;
  h.flags = GetBe16(p + 4);
  h.type = GetBe16(p + 6);
  h.handle = GetBe64(p + 8);
  h.length = GetBe32(p + 16);
  return h;
}

Result<ChunkError> DecodeErrorChunk(uint16_t type, std::span<const uint8_t> payload) {
  if ((type & kReplyTypeErrorBit) == 0) {
    return Status::ProtocolError("chunk type " + std::to_string(type) + " is not an error");
  }
  const size_t fixed = type == kReplyTypeErrorOffset ? 14 : 6;
  if (payload.size() < fixed) {
    return Status::ProtocolError("error chunk of " + std::to_string(payload.size()) +
                                 " bytes is shorter than " + std::to_string(fixed));
  }
  ChunkError e;
  e.error = GetBe32(payload.data());
  if (e.error == 0) return Status::ProtocolError("error chunk carries error 0");
  const uint16_t msg_len = GetBe16(payload.data() + 4);
  if (msg_len > payload.size() - fixed) {
    return Status::ProtocolError("error message length " + std::to_string(msg_len) +
                                 " exceeds the chunk");
  }
  if (type == kReplyTypeErrorOffset && payload.size() != fixed + msg_len) {
    return Status::ProtocolError("NBD_REPLY_TYPE_ERROR_OFFSET has " +
                                 std::to_string(payload.size() - fixed - msg_len) +
                                 " stray bytes");
  }
  e.message.assign(reinterpret_cast<const char*>(payload.data() + 6), msg_len);
  if (type == kReplyTypeErrorOffset) e.offset = GetBe64(payload.data() + 6 + msg_len);
  return e;
}

Result<OffsetHole> DecodeOffsetHole(std::span<const uint8_t> payload) {
  if (payload.size() != 12) {
    return Status::ProtocolError("NBD_REPLY_TYPE_OFFSET_HOLE must be 12 bytes, got " +
                                 std::to_string(payload.size()));
  }
  OffsetHole h{GetBe64(payload.data()), GetBe32(payload.data() + 8)};
  if (h.length == 0) return Status::ProtocolError("NBD_REPLY_TYPE_OFFSET_HOLE of 0 bytes");
  return h;
}

}  // namespace tandem::nbd
