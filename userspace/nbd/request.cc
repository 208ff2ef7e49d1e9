#include "nbd/request.h"

#include "nbd/errors.h"
#include "nbd/wire.h"

namespace tandem::nbd {

static_assert(kCmdWrite == 1, "PayloadLength() in request.h spells NBD_CMD_WRITE as 1");

Result<Request> DecodeRequest(std::span<const uint8_t> bytes) {
  if (bytes.size() != kRequestSize) {
    return Status::InvalidArgument("a request header is " + std::to_string(kRequestSize) +
                                   " bytes, got " + std::to_string(bytes.size()));
  }
  const uint8_t* p = bytes.data();
  const uint32_t magic = GetBe32(p);
  if (magic != kRequestMagic) {
    char hex[16];
    snprintf(hex, sizeof hex, "0x%08x", magic);
    return Status::ProtocolError(std::string("request has a bad magic ") + hex);
  }
  Request r;
  r.flags = GetBe16(p + 4);
  r.type = GetBe16(p + 6);
  r.handle = GetBe64(p + 8);
  r.offset = GetBe64(p + 16);
  r.length = GetBe32(p + 24);
  return r;
}

void EncodeRequest(const Request& r, uint8_t* out) {
  PutBe32(out, kRequestMagic);
  PutBe16(out + 4, r.flags);
  PutBe16(out + 6, r.type);
  PutBe64(out + 8, r.handle);
  PutBe64(out + 16, r.offset);
  PutBe32(out + 24, r.length);
}

std::string Describe(const Request& r) {
  std::string s = CommandName(r.type);
  if (r.type != kCmdFlush && r.type != kCmdDisc) {
    s += " of " + std::to_string(r.length) + " bytes at " + std::to_string(r.offset);
  }
  return s;
}

namespace {

Verdict Refuse(uint32_t error, std::string message) { return Verdict{error, std::move(message)}; }

uint16_t AllowedFlags(uint16_t type, const ExportParams& p) {
  switch (type) {
    case kCmdRead:
      return kCmdFlagFua | (p.structured ? kCmdFlagDf : 0);
    case kCmdWriteZeroes:
      return kCmdFlagFua | kCmdFlagNoHole;
    default:
      return kCmdFlagFua;
  }
}

}  // namespace

Verdict CheckRequest(const Request& r, const ExportParams& p) {
  switch (r.type) {
    case kCmdRead:
    case kCmdWrite:
    case kCmdDisc:
    case kCmdFlush:
    case kCmdTrim:
    case kCmdWriteZeroes:
      break;
    default:
      return Refuse(kEinval, CommandName(r.type) + " is not supported by this server");
  }
  if (r.type == kCmdDisc) return {};
  const uint16_t bad = r.flags & ~AllowedFlags(r.type, p);
  if (bad != 0) {
    return Refuse(kEinval, CommandName(r.type) + ": command flags 0x" + [bad] {
      char b[8];
      snprintf(b, sizeof b, "%x", bad);
      return std::string(b);
    }() + " are not valid here");
  }
  if (r.type == kCmdFlush) {
    if (r.offset != 0 || r.length != 0) {
      return Refuse(kEinval, "NBD_CMD_FLUSH must have offset and length 0");
    }
    return {};
  }
  const bool writes = r.type == kCmdWrite || r.type == kCmdTrim || r.type == kCmdWriteZeroes;
  if (writes && (p.flags & kFlagReadOnly) != 0) {
    return Refuse(kEperm, Describe(r) + ": the export is read-only");
  }
  if (r.type != kCmdTrim && r.length > p.max_block) {
    return Refuse(kEinval, Describe(r) + ": longer than the maximum block size " +
                               std::to_string(p.max_block));
  }
  if (r.offset % p.min_block != 0 || r.length % p.min_block != 0) {
    return Refuse(kEinval, Describe(r) + ": not aligned to the minimum block size " +
                               std::to_string(p.min_block));
  }
  if (r.offset > p.size || r.length > p.size - r.offset) {
    const uint32_t err = (r.type == kCmdWrite || r.type == kCmdWriteZeroes) ? kEnospc : kEinval;
    return Refuse(err, Describe(r) + ": beyond the end of the export (" + std::to_string(p.size) +
                           " bytes)");
  }
  return {};
}

}  // namespace tandem::nbd
