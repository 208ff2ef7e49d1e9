#include "nbd/options.h"

#include <algorithm>

#include "nbd/wire.h"

namespace tandem::nbd {

namespace {
void Append16(Bytes* out, uint16_t v) {
  uint8_t b[2];
  PutBe16(b, v);
  out->insert(out->end(), b, b + 2);
}
void Append32(Bytes* out, uint32_t v) {
  uint8_t b[4];
  PutBe32(b, v);
  out->insert(out->end(), b, b + 4);
}
void Append64(Bytes* out, uint64_t v) {
  uint8_t b[8];
  PutBe64(b, v);
  out->insert(out->end(), b, b + 8);
}
void AppendText(Bytes* out, std::string_view s) { out->insert(out->end(), s.begin(), s.end()); }

Status SizeMismatch(const char* what, size_t want, size_t got) {
  return Status::InvalidArgument(std::string(what) + " must be " + std::to_string(want) +
                                 " bytes, got " + std::to_string(got));
}
bool PowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }
}  // namespace

void AppendOption(Bytes* out, uint32_t option, std::span<const uint8_t> data) {
  Append64(out, kOptionMagic);
  Append32(out, option);
  Append32(out, static_cast<uint32_t>(data.size()));
  out->insert(out->end(), data.begin(), data.end());
}

Result<OptionHeader> DecodeOptionHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() != kOptionHeaderSize) {
    return SizeMismatch("an option header", kOptionHeaderSize, bytes.size());
  }
  const uint64_t magic = GetBe64(bytes.data());
  if (magic != kOptionMagic) {
    return Status::ProtocolError("option header has a bad magic (not IHAVEOPT)");
  }
  return OptionHeader{GetBe32(bytes.data() + 8), GetBe32(bytes.data() + 12)};
}

Bytes EncodeInfoRequest(const InfoRequest& request) {
  Bytes out;
  Append32(&out, static_cast<uint32_t>(request.name.size()));
  AppendText(&out, request.name);
  Append16(&out, static_cast<uint16_t>(request.requests.size()));
  for (uint16_t r : request.requests) Append16(&out, r);
  return out;
}

Result<InfoRequest> DecodeInfoRequest(std::span<const uint8_t> data) {
  if (data.size() < 6) {
    return Status::InvalidArgument("option data of " + std::to_string(data.size()) +
                                   " bytes is too short (at least 6)");
  }
  const uint32_t name_len = GetBe32(data.data());
  if (name_len > data.size() - 6) {
    return Status::InvalidArgument("export name length " + std::to_string(name_len) +
                                   " does not fit in " + std::to_string(data.size()) +
                                   " bytes of option data");
  }
  InfoRequest req;
  req.name.assign(reinterpret_cast<const char*>(data.data() + 4), name_len);
  const size_t at = 4 + size_t{name_len};
  const uint16_t count = GetBe16(data.data() + at);
  const size_t rest = data.size() - at - 2;
  if (rest != size_t{count} * 2) {
    return Status::InvalidArgument(std::to_string(count) + " information requests need " +
                                   std::to_string(size_t{count} * 2) + " bytes, option has " +
                                   std::to_string(rest));
  }
  req.requests.reserve(count);
  for (size_t i = 0; i < count; ++i) req.requests.push_back(GetBe16(data.data() + at + 2 + 2 * i));
  return req;
}

void AppendOptionReply(Bytes* out, uint32_t option, uint32_t type,
                       std::span<const uint8_t> data) {
  Append64(out, kOptionReplyMagic);
  Append32(out, option);
  Append32(out, type);
  Append32(out, static_cast<uint32_t>(data.size()));
  out->insert(out->end(), data.begin(), data.end());
}

void AppendOptionReply(Bytes* out, uint32_t option, uint32_t type, const std::string& text) {
  const std::string_view t(text.data(), std::min<size_t>(text.size(), kMaxStringLength));
  AppendOptionReply(out, option, type,
                    std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(t.data()), t.size()));
}

Result<OptionReplyHeader> DecodeOptionReplyHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() != kOptionReplyHeaderSize) {
    return SizeMismatch("an option reply header", kOptionReplyHeaderSize, bytes.size());
  }
  if (GetBe64(bytes.data()) != kOptionReplyMagic) {
    return Status::ProtocolError("option reply has a bad magic");
  }
  return OptionReplyHeader{GetBe32(bytes.data() + 8), GetBe32(bytes.data() + 12),
                           GetBe32(bytes.data() + 16)};
}

Bytes EncodeServerEntry(const ServerEntry& entry) {
  Bytes out;
  Append32(&out, static_cast<uint32_t>(entry.name.size()));
  AppendText(&out, entry.name);
  AppendText(&out, entry.details);
  return out;
}

Result<ServerEntry> DecodeServerEntry(std::span<const uint8_t> data) {
  if (data.size() < 4) return Status::InvalidArgument("NBD_REP_SERVER shorter than 4 bytes");
  const uint32_t name_len = GetBe32(data.data());
  if (name_len > data.size() - 4) {
    return Status::InvalidArgument("NBD_REP_SERVER name length " + std::to_string(name_len) +
                                   " exceeds its " + std::to_string(data.size() - 4) + " bytes");
  }
  ServerEntry e;
  e.name.assign(reinterpret_cast<const char*>(data.data() + 4), name_len);
  e.details.assign(reinterpret_cast<const char*>(data.data() + 4 + name_len),
                   data.size() - 4 - name_len);
  return e;
}

Bytes EncodeInfoExport(uint64_t size, uint16_t flags) {
  Bytes out;
  Append16(&out, kInfoExport);
  Append64(&out, size);
  Append16(&out, flags);
  return out;
}

Bytes EncodeInfoText(uint16_t type, const std::string& text) {
  Bytes out;
  Append16(&out, type);
  AppendText(&out, std::string_view(text).substr(0, kMaxStringLength));
  return out;
}

Bytes EncodeInfoBlockSize(const BlockSizes& sizes) {
  Bytes out;
  Append16(&out, kInfoBlockSize);
  Append32(&out, sizes.minimum);
  Append32(&out, sizes.preferred);
  Append32(&out, sizes.maximum);
  return out;
}

Result<InfoReply> DecodeInfoReply(std::span<const uint8_t> data) {
  if (data.size() < 2) return Status::InvalidArgument("NBD_REP_INFO shorter than 2 bytes");
  InfoReply r;
  r.type = GetBe16(data.data());
  const uint8_t* p = data.data() + 2;
  switch (r.type) {
    case kInfoExport:
      if (data.size() != kInfoExportLength) {
        return SizeMismatch("NBD_INFO_EXPORT", kInfoExportLength, data.size());
      }
      r.size = GetBe64(p);
      r.flags = GetBe16(p + 8);
      break;
    case kInfoName:
    case kInfoDescription:
      r.text = std::string(reinterpret_cast<const char*>(p), data.size() - 2);
      break;
    case kInfoBlockSize: {
      if (data.size() != kInfoBlockSizeLength) {
        return SizeMismatch("NBD_INFO_BLOCK_SIZE", kInfoBlockSizeLength, data.size());
      }
      BlockSizes b{GetBe32(p), GetBe32(p + 4), GetBe32(p + 8)};
      if (!PowerOfTwo(b.minimum) || b.minimum > kMaxMinimumBlockSize) {
        return Status::InvalidArgument("minimum block size " + std::to_string(b.minimum) +
                                       " is not a power of two <= 65536");
      }
      if (!PowerOfTwo(b.preferred) || b.preferred < std::max(b.minimum, kMinBlockSizeFloor)) {
        return Status::InvalidArgument("preferred block size " + std::to_string(b.preferred) +
                                       " is not a power of two >= max(minimum, 512)");
      }
      if (b.maximum != 0xffffffffu && b.maximum % b.minimum != 0) {
        return Status::InvalidArgument("maximum block size " + std::to_string(b.maximum) +
                                       " is not a multiple of the minimum " +
                                       std::to_string(b.minimum));
      }
      r.block_sizes = b;
      break;
    }
    default:
      break;  // unknown information: the client ignores it
  }
  return r;
}

std::string Printable(std::string_view text, size_t limit) {
  std::string out;
  const size_t n = std::min(text.size(), limit);
  out.reserve(n + 3);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (text.size() > limit) out += "...";
  return out;
}

}  // namespace tandem::nbd
