#include "common/units.h"

#include <cctype>
#include <limits>

namespace tandem {

namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Multiplies with overflow detection.
bool MulOk(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

bool ParseDigits(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  for (char c : s) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (!MulOk(v, 10, &v) || v > std::numeric_limits<uint64_t>::max() - d) return false;
    v += d;
  }
  *out = v;
  return true;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text, uint64_t bare_unit) {
  if (text.empty()) return Status::InvalidArgument("empty size");
  uint64_t unit = bare_unit;
  std::string_view digits = text;
  switch (text.back()) {
    case 's': case 'S': unit = 512; break;
    case 'k': case 'K': unit = 1ull << 10; break;
    case 'm': case 'M': unit = 1ull << 20; break;
    case 'g': case 'G': unit = 1ull << 30; break;
    case 't': case 'T': unit = 1ull << 40; break;
    default: unit = 0; break;
  }
  if (unit != 0) {
    digits.remove_suffix(1);
  } else {
    unit = bare_unit;
  }
  if (!AllDigits(digits)) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a size (a number with an optional s/K/M/G/T suffix)");
  }
  uint64_t n = 0, bytes = 0;
  if (!ParseDigits(digits, &n) || !MulOk(n, unit, &bytes)) {
    return Status::InvalidArgument("size '" + std::string(text) + "' is too large");
  }
  return bytes;
}

std::string FormatSize(uint64_t bytes, uint64_t bare_unit) {
  static constexpr struct {
    uint64_t unit;
    char suffix;
  } kUnits[] = {{1ull << 40, 'T'}, {1ull << 30, 'G'}, {1ull << 20, 'M'}, {1ull << 10, 'K'},
                {512, 's'}};
  if (bytes == 0) return bare_unit == 1 ? "0" : "0K";
  for (const auto& u : kUnits) {
    if (bytes % u.unit == 0) return std::to_string(bytes / u.unit) + u.suffix;
  }
  // Not a multiple of 512: only representable where a bare number means bytes.
  return std::to_string(bytes);
}

Result<int64_t> ParseDurationMs(std::string_view text) {
  std::string_view num = text;
  // Scale from the number's unit to microseconds.
  uint64_t us_per_unit = 1'000'000;
  if (num.size() > 2 && num.substr(num.size() - 2) == "ms") {
    us_per_unit = 1000;
    num.remove_suffix(2);
  } else if (num.size() > 2 && num.substr(num.size() - 2) == "us") {
    us_per_unit = 1;
    num.remove_suffix(2);
  } else if (num.size() > 1 && num.back() == 's') {
    num.remove_suffix(1);
  }
  auto bad = [&] {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a time (seconds, decimals allowed, or with an "
                                   "'ms' suffix)");
  };
  size_t dot = num.find('.');
  std::string_view whole = num.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : num.substr(dot + 1);
  if (whole.empty() && frac.empty()) return bad();
  if (!whole.empty() && !AllDigits(whole)) return bad();
  if (dot != std::string_view::npos && !AllDigits(frac)) return bad();
  if (whole.size() > 12 || frac.size() > 9) return bad();
  uint64_t w = 0, f = 0;
  ParseDigits(whole.empty() ? "0" : whole, &w);
  ParseDigits(frac.empty() ? "0" : frac, &f);
  uint64_t frac_scale = 1;
  for (size_t i = 0; i < frac.size(); ++i) frac_scale *= 10;
  // Total microseconds = w * us_per_unit + f * us_per_unit / frac_scale.
  uint64_t us = w * us_per_unit + (f * us_per_unit + frac_scale - 1) / frac_scale;
  return static_cast<int64_t>((us + 999) / 1000);
}

std::string FormatDurationMs(int64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace tandem
