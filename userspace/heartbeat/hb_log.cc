#include "heartbeat/hb_log.h"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tandem::heartbeat {

namespace {

int FacilityCode(const std::string& name) {
  struct Entry {
    const char* name;
    int code;
  };
  static const Entry kFacilities[] = {
      {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
      {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},           {"kern", LOG_KERN},
      {"lpr", LOG_LPR},       {"mail", LOG_MAIL},         {"news", LOG_NEWS},
      {"syslog", LOG_SYSLOG}, {"user", LOG_USER},         {"uucp", LOG_UUCP},
      {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
      {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
      {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
  for (const auto& e : kFacilities) {
    if (name == e.name) return e.code;
  }
  return -1;
}

int SyslogPriority(HbLevel level) {
  switch (level) {
    case HbLevel::kDebug:
      return LOG_DEBUG;
    case HbLevel::kInfo:
      return LOG_INFO;
    case HbLevel::kWarn:
      return LOG_WARNING;
    case HbLevel::kError:
      return LOG_ERR;
    case HbLevel::kCrit:
      return LOG_CRIT;
  }
  return LOG_INFO;
}

}  // namespace

const char* HbLevelName(HbLevel level) {
  switch (level) {
    case HbLevel::kDebug:
      return "debug";
    case HbLevel::kInfo:
      return "info";
    case HbLevel::kWarn:
      return "WARN";
    case HbLevel::kError:
      return "ERROR";
    case HbLevel::kCrit:
      return "CRIT";
  }
  return "info";
}

std::string FormatHbLogLine(const std::string& program, int pid, std::time_t when,
                            HbLevel level, const std::string& message) {
  std::tm tm{};
  localtime_r(&when, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y/%m/%d_%H:%M:%S", &tm);
  return program + "[" + std::to_string(pid) + "]: " + stamp + " " + HbLevelName(level) + ": " +
         message;
}

HbLogger::~HbLogger() {
  if (syslog_open_) closelog();
}

void HbLogger::Configure(const HbLogOptions& options) {
  std::lock_guard<std::mutex> l(mu_);
  options_ = options;
  logfile_reported_ = debugfile_reported_ = false;
  if (syslog_open_) {
    closelog();
    syslog_open_ = false;
  }
  int facility = FacilityCode(options_.facility);
  if (facility >= 0) {
    openlog("heartbeat", LOG_PID | LOG_NDELAY, facility);
    syslog_open_ = true;
  }
}

void HbLogger::AppendTo(const std::string& path, const std::string& line, bool* reported) {
  // Opened per line, as Heartbeat does, so logrotate needs no signal.
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (!*reported) {
      std::fprintf(stderr, "heartbeat: cannot write log file %s: %s\n", path.c_str(),
                   std::strerror(errno));
      *reported = true;
    }
    return;
  }
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
}

void HbLogger::Write(HbLevel level, const std::string& message) {
  std::lock_guard<std::mutex> l(mu_);
  const std::string line =
      FormatHbLogLine("heartbeat", static_cast<int>(::getpid()), std::time(nullptr), level,
                      message) +
      "\n";
  const bool debug = level == HbLevel::kDebug;
  if (!options_.debugfile.empty()) AppendTo(options_.debugfile, line, &debugfile_reported_);
  if (!options_.logfile.empty() && (!debug || options_.debug)) {
    AppendTo(options_.logfile, line, &logfile_reported_);
  }
  if (syslog_open_ && (!debug || options_.debug)) {
    syslog(SyslogPriority(level), "%s: %s", HbLevelName(level), message.c_str());
  }
  if (options_.to_stderr && (!debug || options_.debug)) {
    std::fputs(line.c_str(), stderr);
  }
}

HbLogger& Logger() {
  static HbLogger* logger = new HbLogger();  // never destroyed: usable during exit
  return *logger;
}

}  // namespace tandem::heartbeat
