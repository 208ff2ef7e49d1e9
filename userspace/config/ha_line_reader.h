#pragma once
// The line structure shared by Heartbeat's three configuration files (ha.cf,
// haresources, authkeys): each logical line is a list of words separated by
// spaces or tabs, every word carrying the file:line:column it came from.
//
// Contract: SplitHaLines never fails as a whole. A physical line holding a
// control byte (anything below 0x20 but tab, or 0x7f; a CR just before the
// newline is part of the newline) or longer than kMaxHaLineBytes is reported
// and dropped, together with the logical line it belongs to; so is a '\'
// continuation that the file ends right after (a file cut short). Callers
// never see half a line.
// Thread-safety: pure functions over their arguments.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "config/diagnostics.h"

namespace tandem::config {

// Heartbeat keeps lines in fixed buffers; Tandem refuses what no real file has.
inline constexpr size_t kMaxHaLineBytes = 8192;
inline constexpr size_t kMaxHaFileBytes = 1 << 20;
// After this many errors in one file the loaders stop reading it: a binary
// file given by mistake should produce a screenful, not a megabyte, of errors.
inline constexpr size_t kMaxHaErrorsPerFile = 50;

struct HaWord {
  std::string text;
  SourceLocation where;
};

struct HaLine {
  SourceLocation where;       // the first physical line of it, column 0
  std::vector<HaWord> words;  // never empty
};

// Where a '#' starts a comment. The three files differ because Heartbeat reads
// them differently: ha.cf cuts every line at its first '#'; authkeys only skips
// whole comment lines, since a key may contain '#'.
enum class HaCommentStyle {
  kAnywhere,   // ha.cf: from any '#' to the end of the line
  kWordStart,  // haresources: from a '#' that begins a word
  kLineStart,  // authkeys: only a line whose first non-blank byte is '#'
};

struct HaLineOptions {
  HaCommentStyle comments = HaCommentStyle::kAnywhere;
  // A '\' ending a line (after comments are removed) joins the next physical
  // line to it, as a word separator.
  bool continuation = false;
};

// Every logical line that has at least one word, in file order.
std::vector<HaLine> SplitHaLines(std::string_view text, const std::string& file_name,
                                 const HaLineOptions& options, Diagnostics* diags);

// The number of the file's last line (1 for an empty file): where errors about
// something missing from the whole file point.
int LastLineNumber(std::string_view text);

// A word as quoted inside a message: bytes that are not printable ASCII become
// \xNN and anything past 64 characters is cut to "...", so garbage input
// yields readable, bounded messages.
std::string Printable(std::string_view word);

// Reads one of the three files through env (at most kMaxHaFileBytes). On
// failure records "path: error: <reason>" and returns nullopt.
std::optional<std::string> ReadHaFile(Env* env, const std::string& path, Diagnostics* diags);

// True once the file being read has produced kMaxHaErrorsPerFile errors since
// `errors_before`; the first such call records a last "too many errors" error
// at `where`, later calls add nothing. SplitHaLines stops by the same rule, so
// a loader passing the count from before its SplitHaLines call stops with it.
bool TooManyHaErrors(Diagnostics* diags, size_t errors_before, const SourceLocation& where);

}  // namespace tandem::config
