#pragma once
// Heartbeat's log: the levels and the line format its users grep for,
//
//   heartbeat[4271]: 2008/09/01_09:50:37 info: Configuration validated.
//   heartbeat[4271]: 2008/09/15_10:48:31 WARN: node ha-balancer-1: is dead
//
// and where lines go, as ha.cf says: `logfile` (everything but debug),
// `debugfile` (everything), `logfacility` (syslog with that facility, ident
// "heartbeat"), and stderr when running in the foreground.
//
// Contract: a sink that cannot be written is reported once on stderr and then
// skipped; logging never fails and never throws.
// Thread-safety: HbLogger is used from the daemon's event loop only, but
// Write is also safe from other threads (it takes a lock), for the common/log
// messages of code that runs elsewhere.

#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>

namespace tandem::heartbeat {

enum class HbLevel { kDebug, kInfo, kWarn, kError, kCrit };
// "debug", "info", "WARN", "ERROR", "CRIT": Heartbeat's spellings.
const char* HbLevelName(HbLevel level);

// One line without its newline. `when` is wall-clock seconds (local time).
std::string FormatHbLogLine(const std::string& program, int pid, std::time_t when,
                            HbLevel level, const std::string& message);

struct HbLogOptions {
  std::string logfile;
  std::string debugfile;
  std::string facility;  // a syslog facility name, "" or "none" for no syslog
  bool to_stderr = false;
  bool debug = false;  // debug lines also go to logfile and stderr
};

class HbLogger {
 public:
  HbLogger() = default;
  ~HbLogger();
  HbLogger(const HbLogger&) = delete;
  HbLogger& operator=(const HbLogger&) = delete;

  void Configure(const HbLogOptions& options);
  void Write(HbLevel level, const std::string& message);

 private:
  void AppendTo(const std::string& path, const std::string& line, bool* reported);

  std::mutex mu_;
  HbLogOptions options_;
  bool syslog_open_ = false;
  bool logfile_reported_ = false;
  bool debugfile_reported_ = false;
};

// The process-wide logger of tandem-heartbeat.
HbLogger& Logger();
inline void HbLog(HbLevel level, const std::string& message) { Logger().Write(level, message); }

}  // namespace tandem::heartbeat
