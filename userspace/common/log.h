#pragma once
// Minimal leveled logging. Daemons replace the sink (syslog, a log file, the
// Heartbeat line format); by default lines go to stderr as "<program>: <level>: msg".
// Thread-safety: Log() may be called from any thread; SetLogSink is for start-up.

#include <functional>
#include <string>

namespace tandem {

enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError };
const char* LogLevelName(LogLevel level);

using LogSink = std::function<void(LogLevel, const std::string&)>;

void SetLogProgramName(std::string name);
// Replaces the sink; an empty function restores the stderr default.
void SetLogSink(LogSink sink);
void SetMinLogLevel(LogLevel level);
void Log(LogLevel level, const std::string& message);

}  // namespace tandem
