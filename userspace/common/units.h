#pragma once
// Sizes and durations as DRBD and Heartbeat write them. Pure functions.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tandem {

// DRBD size syntax: digits with an optional binary suffix: s (512-byte sectors),
// k/K, m/M, g/G, t/T (powers of 1024). A bare number is multiplied by
// `bare_unit` (1 for bytes, 1024 for "KiB by default" options such as rates,
// 512 for sector-scaled options). Overflow is an error.
Result<uint64_t> ParseSize(std::string_view text, uint64_t bare_unit);

// Inverse of ParseSize: the shortest exact spelling, with the largest suffix that
// divides the value ("512M", "1536s", "3K"); a bare number only when no suffix
// fits and bare_unit is 1.
std::string FormatSize(uint64_t bytes, uint64_t bare_unit);

// Heartbeat time syntax: "2" or "1.5" (seconds), "500ms", "2s", "250000us".
// Returns whole milliseconds (sub-millisecond precision is rounded up).
Result<int64_t> ParseDurationMs(std::string_view text);
// "2s", "500ms", "1500ms": what ParseDurationMs reads back to the same value.
std::string FormatDurationMs(int64_t ms);

}  // namespace tandem
