#pragma once
// Constants of the NBD protocol as the NBD project's specification
// (NetworkBlockDevice/nbd, doc/proto.md) defines them, and the only helpers
// that turn integers into wire bytes and back.
//
// Byte order: every integer the NBD protocol puts on the wire is big-endian
// (network byte order). GetBe*/PutBe* below are the only code that knows it.
//
// Message layouts (sizes in bytes), for reference by the codecs:
//   server greeting      NBDMAGIC(8) IHAVEOPT(8) handshake flags(2)       = 18
//   client flags         flags(4)                                          = 4
//   option request       IHAVEOPT(8) option(4) length(4) data(length)      = 16 + n
//   option reply         reply magic(8) option(4) type(4) length(4) data   = 20 + n
//   EXPORT_NAME answer   size(8) transmission flags(2) [zeroes(124)]       = 10 or 134
//   request              magic(4) flags(2) type(2) handle(8) offset(8) length(4) = 28
//   simple reply         magic(4) error(4) handle(8) [data]                = 16 + n
//   structured chunk     magic(4) flags(2) type(2) handle(8) length(4) payload = 20 + n
// Thread-safety: constants and pure functions only.

#include <cstddef>
#include <cstdint>

namespace tandem::nbd {

// --- byte order -------------------------------------------------------------
inline uint16_t GetBe16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t GetBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t GetBe64(const uint8_t* p) {
  return (uint64_t{GetBe32(p)} << 32) | GetBe32(p + 4);
}
inline void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutBe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
inline void PutBe64(uint8_t* p, uint64_t v) {
  PutBe32(p, static_cast<uint32_t>(v >> 32));
  PutBe32(p + 4, static_cast<uint32_t>(v));
}

// --- magics -----------------------------------------------------------------
inline constexpr uint64_t kNbdMagic = 0x4e42444d41474943;     // "NBDMAGIC"
inline constexpr uint64_t kOptionMagic = 0x49484156454F5054;  // "IHAVEOPT"
inline constexpr uint64_t kOptionReplyMagic = 0x0003e889045565a9;
inline constexpr uint32_t kRequestMagic = 0x25609513;
inline constexpr uint32_t kSimpleReplyMagic = 0x67446698;
inline constexpr uint32_t kStructuredReplyMagic = 0x668e33ef;

// --- message sizes ----------------------------------------------------------
inline constexpr size_t kGreetingSize = 18;
inline constexpr size_t kClientFlagsSize = 4;
inline constexpr size_t kOptionHeaderSize = 16;
inline constexpr size_t kOptionReplyHeaderSize = 20;
inline constexpr size_t kExportNameReplySize = 10;  // without the 124 zeroes
inline constexpr size_t kExportNameZeroes = 124;
inline constexpr size_t kRequestSize = 28;
inline constexpr size_t kSimpleReplySize = 16;
inline constexpr size_t kChunkHeaderSize = 20;

// --- limits -----------------------------------------------------------------
// Strings (export names, descriptions, error messages) MUST be <= 4096 bytes.
inline constexpr uint32_t kMaxStringLength = 4096;
// Largest READ/WRITE/WRITE_ZEROES payload Tandem accepts (the spec's
// interoperable maximum, 2^25), advertised as the maximum block size.
inline constexpr uint32_t kMaxBlockSize = 32u << 20;
inline constexpr uint32_t kPreferredBlockSize = 4096;
inline constexpr uint32_t kMinBlockSizeFloor = 512;
// The spec caps an advertised minimum block size at 2^16.
inline constexpr uint32_t kMaxMinimumBlockSize = 64u << 10;

// --- handshake flags (server, 16 bits) --------------------------------------
inline constexpr uint16_t kFlagFixedNewstyle = 1u << 0;
inline constexpr uint16_t kFlagNoZeroes = 1u << 1;

// --- client flags (32 bits) -------------------------------------------------
inline constexpr uint32_t kClientFlagFixedNewstyle = 1u << 0;
inline constexpr uint32_t kClientFlagNoZeroes = 1u << 1;

// --- transmission flags (16 bits) -------------------------------------------
inline constexpr uint16_t kFlagHasFlags = 1u << 0;
inline constexpr uint16_t kFlagReadOnly = 1u << 1;
inline constexpr uint16_t kFlagSendFlush = 1u << 2;
inline constexpr uint16_t kFlagSendFua = 1u << 3;
inline constexpr uint16_t kFlagRotational = 1u << 4;
inline constexpr uint16_t kFlagSendTrim = 1u << 5;
inline constexpr uint16_t kFlagSendWriteZeroes = 1u << 6;
inline constexpr uint16_t kFlagSendDf = 1u << 7;
inline constexpr uint16_t kFlagCanMultiConn = 1u << 8;
inline constexpr uint16_t kFlagSendResize = 1u << 9;
inline constexpr uint16_t kFlagSendCache = 1u << 10;
inline constexpr uint16_t kFlagSendFastZero = 1u << 11;

// --- option types -----------------------------------------------------------
inline constexpr uint32_t kOptExportName = 1;
inline constexpr uint32_t kOptAbort = 2;
inline constexpr uint32_t kOptList = 3;
inline constexpr uint32_t kOptPeekExport = 4;  // withdrawn
inline constexpr uint32_t kOptStartTls = 5;
inline constexpr uint32_t kOptInfo = 6;
inline constexpr uint32_t kOptGo = 7;
inline constexpr uint32_t kOptStructuredReply = 8;
inline constexpr uint32_t kOptListMetaContext = 9;
inline constexpr uint32_t kOptSetMetaContext = 10;

// --- option reply types -----------------------------------------------------
inline constexpr uint32_t kRepAck = 1;
inline constexpr uint32_t kRepServer = 2;
inline constexpr uint32_t kRepInfo = 3;
inline constexpr uint32_t kRepMetaContext = 4;
inline constexpr uint32_t kRepErrorBit = 1u << 31;
inline constexpr uint32_t kRepErrUnsup = kRepErrorBit + 1;
inline constexpr uint32_t kRepErrPolicy = kRepErrorBit + 2;
inline constexpr uint32_t kRepErrInvalid = kRepErrorBit + 3;
inline constexpr uint32_t kRepErrPlatform = kRepErrorBit + 4;
inline constexpr uint32_t kRepErrTlsReqd = kRepErrorBit + 5;
inline constexpr uint32_t kRepErrUnknown = kRepErrorBit + 6;
inline constexpr uint32_t kRepErrShutdown = kRepErrorBit + 7;
inline constexpr uint32_t kRepErrBlockSizeReqd = kRepErrorBit + 8;
inline constexpr uint32_t kRepErrTooBig = kRepErrorBit + 9;

// --- information types (NBD_REP_INFO, 16 bits) -------------------------------
inline constexpr uint16_t kInfoExport = 0;
inline constexpr uint16_t kInfoName = 1;
inline constexpr uint16_t kInfoDescription = 2;
inline constexpr uint16_t kInfoBlockSize = 3;
// Payload lengths including the 2-byte type.
inline constexpr uint32_t kInfoExportLength = 12;
inline constexpr uint32_t kInfoBlockSizeLength = 14;

// --- command types (16 bits) ------------------------------------------------
inline constexpr uint16_t kCmdRead = 0;
inline constexpr uint16_t kCmdWrite = 1;
inline constexpr uint16_t kCmdDisc = 2;
inline constexpr uint16_t kCmdFlush = 3;
inline constexpr uint16_t kCmdTrim = 4;
inline constexpr uint16_t kCmdCache = 5;
inline constexpr uint16_t kCmdWriteZeroes = 6;
inline constexpr uint16_t kCmdBlockStatus = 7;
inline constexpr uint16_t kCmdResize = 8;

// --- command flags (16 bits) ------------------------------------------------
inline constexpr uint16_t kCmdFlagFua = 1u << 0;
inline constexpr uint16_t kCmdFlagNoHole = 1u << 1;
inline constexpr uint16_t kCmdFlagDf = 1u << 2;
inline constexpr uint16_t kCmdFlagReqOne = 1u << 3;
inline constexpr uint16_t kCmdFlagFastZero = 1u << 4;

// --- structured reply flags and types ---------------------------------------
inline constexpr uint16_t kReplyFlagDone = 1u << 0;
inline constexpr uint16_t kReplyTypeNone = 0;
inline constexpr uint16_t kReplyTypeOffsetData = 1;
inline constexpr uint16_t kReplyTypeOffsetHole = 2;
inline constexpr uint16_t kReplyTypeBlockStatus = 5;
inline constexpr uint16_t kReplyTypeErrorBit = 1u << 15;
inline constexpr uint16_t kReplyTypeError = kReplyTypeErrorBit + 1;
inline constexpr uint16_t kReplyTypeErrorOffset = kReplyTypeErrorBit + 2;

// --- error values (the spec fixes these; they equal Linux errno values) -----
inline constexpr uint32_t kEperm = 1;
inline constexpr uint32_t kEio = 5;
inline constexpr uint32_t kEnomem = 12;
inline constexpr uint32_t kEinval = 22;
inline constexpr uint32_t kEnospc = 28;
inline constexpr uint32_t kEoverflow = 75;
inline constexpr uint32_t kEnotsup = 95;
inline constexpr uint32_t kEshutdown = 108;

}  // namespace tandem::nbd
