#include "config/diagnostics.h"

namespace tandem::config {

std::string SourceLocation::ToString() const {
  std::string s = file.empty() ? "<input>" : file;
  if (line > 0) s += ":" + std::to_string(line);
  if (line > 0 && column > 0) s += ":" + std::to_string(column);
  return s;
}

std::string Diagnostic::ToString() const {
  return where.ToString() + (severity == Severity::kError ? ": error: " : ": warning: ") + message;
}

void Diagnostics::Error(const SourceLocation& where, std::string message) {
  items_.push_back({Diagnostic::Severity::kError, where, std::move(message)});
  ++error_count_;
}

void Diagnostics::Warning(const SourceLocation& where, std::string message) {
  items_.push_back({Diagnostic::Severity::kWarning, where, std::move(message)});
}

std::vector<std::string> Diagnostics::Warnings() const {
  std::vector<std::string> out;
  for (const auto& d : items_)
    if (d.severity == Diagnostic::Severity::kWarning) out.push_back(d.ToString());
  return out;
}

std::string Diagnostics::Format() const {
  std::string out;
  for (const auto& d : items_) out += d.ToString() + "\n";
  return out;
}

Status Diagnostics::ToStatus() const {
  for (const auto& d : items_) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    std::string msg = d.ToString();
    if (error_count_ > 1) msg += " (and " + std::to_string(error_count_ - 1) + " more errors)";
    return Status::InvalidArgument(msg);
  }
  return Status::Ok();
}

}  // namespace tandem::config
