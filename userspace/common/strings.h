#pragma once
// Small string helpers shared by every module. Pure functions, thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

std::string_view TrimWhitespace(std::string_view s);
// Splits on runs of spaces and tabs; no empty fields.
std::vector<std::string> SplitWords(std::string_view s);
std::vector<std::string> SplitOn(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string ToLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);
// The candidate closest to `word` if it is close enough to be a plausible typo.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "" when nothing is close.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// Parses a whole string as a decimal integer in [min, max]; no sign for unsigned use.
std::optional<long long> ParseInteger(std::string_view s, long long min, long long max);

}  // namespace tandem
