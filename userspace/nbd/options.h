#pragma once
// Codecs for the handshake's option haggling, both directions: option
// requests (client -> server) and option replies (server -> client), with the
// payloads of NBD_OPT_INFO/NBD_OPT_GO, NBD_REP_INFO and NBD_REP_SERVER.
// Layouts and byte order: nbd/wire.h.
//
// Contract: decoders take exactly the bytes of one message part (a header, or
// a payload whose length the header gave) and either return the decoded value
// or a ProtocolError/InvalidArgument Status saying what is wrong; they never
// read outside the span and never allocate more than the span's size.
// Encoders append to a byte vector.
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace tandem::nbd {

using Bytes = std::vector<uint8_t>;

// --- option requests ---------------------------------------------------------
struct OptionHeader {
  uint32_t option = 0;
  uint32_t length = 0;  // of the data that follows
};
void AppendOption(Bytes* out, uint32_t option, std::span<const uint8_t> data);
// 16 bytes; ProtocolError when the magic is not IHAVEOPT.
Result<OptionHeader> DecodeOptionHeader(std::span<const uint8_t> bytes);

// Data of NBD_OPT_INFO / NBD_OPT_GO.
struct InfoRequest {
  std::string name;
  std::vector<uint16_t> requests;  // NBD_INFO_* the client asked for, in its order
};
Bytes EncodeInfoRequest(const InfoRequest& request);
// InvalidArgument when the lengths inside do not add up to the data's size.
Result<InfoRequest> DecodeInfoRequest(std::span<const uint8_t> data);

// --- option replies ----------------------------------------------------------
struct OptionReplyHeader {
  uint32_t option = 0;
  uint32_t type = 0;
  uint32_t length = 0;
  bool is_error() const { return (type & (1u << 31)) != 0; }
};
void AppendOptionReply(Bytes* out, uint32_t option, uint32_t type,
                       std::span<const uint8_t> data = {});
void AppendOptionReply(Bytes* out, uint32_t option, uint32_t type, const std::string& text);
// 20 bytes; ProtocolError when the magic is wrong.
Result<OptionReplyHeader> DecodeOptionReplyHeader(std::span<const uint8_t> bytes);

// NBD_REP_SERVER payload.
struct ServerEntry {
  std::string name;
  std::string details;  // free text after the name (may be empty)
};
Bytes EncodeServerEntry(const ServerEntry& entry);
Result<ServerEntry> DecodeServerEntry(std::span<const uint8_t> data);

// NBD_REP_INFO payloads.
struct BlockSizes {
  uint32_t minimum = 0;
  uint32_t preferred = 0;
  uint32_t maximum = 0;
};
struct InfoReply {
  uint16_t type = 0;  // NBD_INFO_*
  // Set according to type; an unknown type leaves all unset (clients ignore it).
  std::optional<uint64_t> size;   // NBD_INFO_EXPORT
  std::optional<uint16_t> flags;  // NBD_INFO_EXPORT
  std::optional<std::string> text;  // NBD_INFO_NAME / NBD_INFO_DESCRIPTION
  std::optional<BlockSizes> block_sizes;
};
Bytes EncodeInfoExport(uint64_t size, uint16_t flags);
Bytes EncodeInfoText(uint16_t type, const std::string& text);
Bytes EncodeInfoBlockSize(const BlockSizes& sizes);
// InvalidArgument for a known type with the wrong length, or block sizes that
// break the spec's rules (minimum a power of two <= 64 KiB, preferred a power
// of two >= max(minimum, 512), maximum a multiple of minimum or 0xffffffff).
Result<InfoReply> DecodeInfoReply(std::span<const uint8_t> data);

// Makes client-supplied text safe to quote in messages and logs: at most
// `limit` bytes, bytes outside printable ASCII shown as '?'.
std::string Printable(std::string_view text, size_t limit = 256);

}  // namespace tandem::nbd
