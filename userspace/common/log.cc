#include "common/log.h"

#include <cstdio>
#include <mutex>

namespace tandem {

namespace {
struct LogState {
  std::mutex mu;
  std::string program = "tandem";
  LogSink sink;
  LogLevel min_level = LogLevel::kInfo;
};
LogState& State() {
  static LogState* s = new LogState();  // never destroyed: usable during exit
  return *s;
}
}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kNotice: return "notice";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}

void SetLogProgramName(std::string name) {
  std::lock_guard<std::mutex> l(State().mu);
  State().program = std::move(name);
}

void SetLogSink(LogSink sink) {
  std::lock_guard<std::mutex> l(State().mu);
  State().sink = std::move(sink);
}

void SetMinLogLevel(LogLevel level) {
  std::lock_guard<std::mutex> l(State().mu);
  State().min_level = level;
}

void Log(LogLevel level, const std::string& message) {
  LogState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  if (level < s.min_level) return;
  if (s.sink) {
    s.sink(level, message);
    return;
  }
  std::fprintf(stderr, "%s: %s: %s\n", s.program.c_str(), LogLevelName(level), message.c_str());
}

}  // namespace tandem
