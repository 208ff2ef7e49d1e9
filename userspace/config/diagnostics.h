#pragma once
// Where a configuration error is, and the list of errors and warnings a loader
// found. Loaders collect every problem they can (not just the first) so a user
// fixes a file in one pass. Not thread-safe: owned by one load.

#include <string>
#include <vector>

#include "common/status.h"

namespace tandem::config {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when the error concerns a whole line
  // "file:line:column", "file:line" or "file".
  std::string ToString() const;
  bool known() const { return !file.empty(); }
};

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity;
  SourceLocation where;
  std::string message;
  // "file:line:col: error: message" (or "warning:").
  std::string ToString() const;
};

class Diagnostics {
 public:
  void Error(const SourceLocation& where, std::string message);
  void Warning(const SourceLocation& where, std::string message);

  bool has_errors() const { return error_count_ > 0; }
  size_t error_count() const { return error_count_; }
  const std::vector<Diagnostic>& all() const { return items_; }
  std::vector<std::string> Warnings() const;
  // Every diagnostic, one per line.
  std::string Format() const;
  // InvalidArgument with the first error's text (and a count of the others), or OK.
  Status ToStatus() const;

 private:
  std::vector<Diagnostic> items_;
  size_t error_count_ = 0;
};

}  // namespace tandem::config
