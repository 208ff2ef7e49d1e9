#include "config/ha_line_reader.h"

#include <cstdio>

namespace tandem::config {

namespace {

bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}

bool IsControl(unsigned char c) {
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

// The part of a physical line that is not comment.
std::string_view StripComment(std::string_view line, HaCommentStyle style) {
  switch (style) {
    case HaCommentStyle::kAnywhere: {
      size_t hash = line.find('#');
      return hash == std::string_view::npos ? line : line.substr(0, hash);
    }
    case HaCommentStyle::kWordStart:
      for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '#' && (i == 0 || IsBlank(line[i - 1]))) return line.substr(0, i);
      }
      return line;
    case HaCommentStyle::kLineStart: {
      size_t first = line.find_first_not_of(" \t");
      if (first != std::string_view::npos && line[first] == '#') return {};
      return line;
    }
  }
  return line;
}

void AppendWords(std::string_view text, const std::string& file_name, int line_number,
                 std::vector<HaWord>* words) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsBlank(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsBlank(text[i])) ++i;
    if (i > start) {
      words->push_back(HaWord{std::string(text.substr(start, i - start)),
                              SourceLocation{file_name, line_number, static_cast<int>(start) + 1}});
    }
  }
}

}  // namespace

std::vector<HaLine> SplitHaLines(std::string_view text, const std::string& file_name,
                                 const HaLineOptions& options, Diagnostics* diags) {
  std::vector<HaLine> lines;
  HaLine pending;            // the logical line being assembled
  bool pending_bad = false;  // one of its physical lines was rejected
  bool continues = false;    // the previous physical line ended with '\'
  int continued_from = 0;    // the line number of that '\'
  int line_number = 0;
  size_t pos = 0;
  const size_t errors_before = diags->error_count();

  auto finish = [&] {
    if (!pending_bad && !pending.words.empty()) lines.push_back(std::move(pending));
    pending = HaLine{};
    pending_bad = false;
  };

  while (pos < text.size()) {
    ++line_number;
    if (TooManyHaErrors(diags, errors_before, SourceLocation{file_name, line_number, 0})) {
      return lines;
    }
    size_t newline = text.find('\n', pos);
    size_t end = newline == std::string_view::npos ? text.size() : newline;
    std::string_view raw = text.substr(pos, end - pos);
    pos = newline == std::string_view::npos ? text.size() : newline + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);

    if (!continues) pending.where = SourceLocation{file_name, line_number, 0};
    bool line_bad = false;
    if (raw.size() > kMaxHaLineBytes) {
      diags->Error(SourceLocation{file_name, line_number, 0},
                   "line is longer than " + std::to_string(kMaxHaLineBytes) + " bytes");
      line_bad = true;
    } else {
      for (size_t i = 0; i < raw.size(); ++i) {
        auto c = static_cast<unsigned char>(raw[i]);
        if (IsControl(c)) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", c);
          diags->Error(SourceLocation{file_name, line_number, static_cast<int>(i) + 1},
                       std::string("invalid control character ") + hex + " (is this a text file?)");
          line_bad = true;
          break;
        }
      }
    }

    bool ends_with_backslash = false;
    if (!line_bad) {
      std::string_view body = StripComment(raw, options.comments);
      size_t last = body.find_last_not_of(" \t");
      body = last == std::string_view::npos ? std::string_view{} : body.substr(0, last + 1);
      if (options.continuation && !body.empty() && body.back() == '\\') {
        ends_with_backslash = true;
        body.remove_suffix(1);
      }
      AppendWords(body, file_name, line_number, &pending.words);
    } else {
      pending_bad = true;
      // The rest of a rejected logical line is skipped with it.
      if (options.continuation) {
        std::string_view trimmed = raw.substr(0, raw.find_last_not_of(" \t\r") + 1);
        ends_with_backslash = !trimmed.empty() && trimmed.back() == '\\';
      }
    }

    continues = ends_with_backslash;
    if (continues) {
      continued_from = line_number;
    } else {
      finish();
    }
  }
  if (continues) {
    diags->Error(SourceLocation{file_name, continued_from, 0},
                 "the file ends right after a '\\' continuation (is it cut short?)");
  }
  return lines;
}

int LastLineNumber(std::string_view text) {
  int lines = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && i + 1 < text.size()) ++lines;
  }
  return lines;
}

std::string Printable(std::string_view word) {
  constexpr size_t kMaxShown = 64;
  std::string out;
  size_t shown = 0;
  for (char ch : word) {
    if (shown == kMaxShown) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
    ++shown;
  }
  return out;
}

std::optional<std::string> ReadHaFile(Env* env, const std::string& path, Diagnostics* diags) {
  auto text = env->ReadFile(path, kMaxHaFileBytes);
  if (!text.ok()) {
    diags->Error(SourceLocation{path, 0, 0}, text.status().message());
    return std::nullopt;
  }
  return std::move(*text);
}

bool TooManyHaErrors(Diagnostics* diags, size_t errors_before, const SourceLocation& where) {
  const size_t errors = diags->error_count() - errors_before;
  if (errors < kMaxHaErrorsPerFile) return false;
  // Only the first call past the limit says so; later calls just agree.
  if (errors == kMaxHaErrorsPerFile) {
    diags->Error(where, "too many errors; stopped reading " + where.file);
  }
  return true;
}

}  // namespace tandem::config
