#pragma once
// ExportParams: what a client learns about an export when it enters
// transmission (size, transmission flags, block size constraints), computed
// once from the Backend so the handshake's answers and the request checks
// agree.
//
// Block sizes: minimum = max(512, backend logical block size) (a power of two
// <= 64 KiB, asserted); preferred = max(4096, minimum); maximum = 32 MiB.
// Transmission flags: HAS_FLAGS, SEND_FLUSH, SEND_FUA always; SEND_TRIM and
// SEND_WRITE_ZEROES unless read-only (then READ_ONLY); CAN_MULTI_CONN when the
// backend says so; SEND_DF when structured replies were negotiated (every
// read is answered with one data chunk, so "don't fragment" always holds).
// Thread-safety: plain values and a pure function.

#include <cstdint>

#include "nbd/backend.h"

namespace tandem::nbd {

struct ExportParams {
  uint64_t size = 0;
  uint16_t flags = 0;  // transmission flags
  uint32_t min_block = 512;
  uint32_t preferred_block = 4096;
  uint32_t max_block = 32u << 20;
  bool structured = false;  // structured replies negotiated
};

ExportParams MakeExportParams(const Backend& backend, bool structured);

}  // namespace tandem::nbd
