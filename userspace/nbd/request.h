#pragma once
// Transmission-phase requests: decoding the 28-byte header and deciding, from
// the export's parameters alone, whether a request may run. Pure code, no I/O.
//
// CheckRequest's rules, in order (docs/nbd.md, "Errors"):
//  1. Unknown command type                         -> EINVAL
//  2. A flag not valid for the command, or unknown -> EINVAL
//     (FUA is accepted on every command; NO_HOLE only on WRITE_ZEROES; DF
//     only on READ and only with structured replies; FAST_ZERO, REQ_ONE and
//     unknown bits never, as Tandem does not advertise them)
//  3. FLUSH with nonzero offset or length          -> EINVAL
//  4. WRITE/TRIM/WRITE_ZEROES on a read-only export -> EPERM
//  5. READ/WRITE/WRITE_ZEROES longer than the maximum block size (32 MiB)
//                                                  -> EINVAL (TRIM may be longer)
//  6. offset or length not a multiple of the minimum block size -> EINVAL
//  7. offset + length past the end (or overflowing 64 bits): WRITE and
//     WRITE_ZEROES -> ENOSPC, READ and TRIM -> EINVAL (as the spec advises)
// DISC is always accepted (it has no reply). Zero-length READ, WRITE, TRIM and
// WRITE_ZEROES within the export succeed without touching the backend.
// A refused WRITE still has `length` payload bytes on the wire; the connection
// reads and discards them (never allocating them) so the stream stays in step.
// Thread-safety: pure functions.

#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"
#include "nbd/export_params.h"

namespace tandem::nbd {

struct Request {
  uint16_t flags = 0;
  uint16_t type = 0;
  uint64_t handle = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
};

// Exactly kRequestSize bytes. InvalidArgument when the span has another size;
// ProtocolError when the magic is wrong (the connection must then close).
Result<Request> DecodeRequest(std::span<const uint8_t> bytes);
// Writes kRequestSize bytes.
void EncodeRequest(const Request& request, uint8_t* out);

struct Verdict {
  uint32_t error = 0;  // 0: run it; else the NBD error to answer with
  std::string message;
  bool ok() const { return error == 0; }
};
Verdict CheckRequest(const Request& request, const ExportParams& params);

// Bytes that follow the header on the wire (WRITE: length; others: 0).
inline uint64_t PayloadLength(const Request& r) { return r.type == 1 ? r.length : 0; }

// "NBD_CMD_WRITE of 4096 bytes at 8192" for messages.
std::string Describe(const Request& request);

}  // namespace tandem::nbd
