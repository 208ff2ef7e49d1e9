#pragma once
// CRC-32C (Castagnoli), as used by iSCSI, ext4 and DRBD's crc32c option.
// Hardware-accelerated with SSE4.2 where the CPU has it, table-driven otherwise.
// Hand-written because no Debian 12 library offers it (OpenSSL has no CRC-32C;
// zlib's crc32 uses another polynomial). Pure functions, thread-safe.

#include <cstddef>
#include <cstdint>

namespace tandem {

// Extends `crc` (0 for a fresh checksum) over data[0..len).
uint32_t Crc32c(uint32_t crc, const void* data, size_t len);
inline uint32_t Crc32c(const void* data, size_t len) { return Crc32c(0, data, len); }

}  // namespace tandem
