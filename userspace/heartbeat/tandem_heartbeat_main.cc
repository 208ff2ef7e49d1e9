// tandem-heartbeat: Heartbeat's daemon rebuilt on Tandem. Without a verb it
// runs the failover daemon for this node (in the background unless
// --foreground); with one it talks to the running daemon; --check validates
// the configuration.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "common/cli.h"
#include "common/env.h"
#include "heartbeat/check_command.h"
#include "heartbeat/client_commands.h"
#include "heartbeat/hb_daemon.h"
#include "heartbeat/hb_env.h"
#include "heartbeat/hb_log.h"
#include "heartbeat/heartbeat_options.h"

namespace {

using tandem::heartbeat::HbLevel;
using tandem::heartbeat::HbLog;

// Runs the daemon. `ready_fd` (daemon mode) gets "OK\n" once it is up, or the
// reason it could not start.
int RunDaemon(const tandem::heartbeat::HeartbeatOptions& options, int ready_fd) {
  auto* env = tandem::heartbeat::HbEnv::Default();
  auto tell = [ready_fd](const std::string& text) {
    if (ready_fd < 0) return;
    ssize_t n = ::write(ready_fd, text.data(), text.size());
    (void)n;
    ::close(ready_fd);
  };
  tandem::config::Diagnostics diags;
  auto cfg = tandem::heartbeat::LoadHeartbeatConfig(env->files(), options.config_dir,
                                                    options.common.node, &diags);
  if (!cfg.ok()) {
    std::cerr << diags.Format();
    tell("configuration invalid\n");
    return tandem::kExitConfigInvalid;
  }
  tandem::heartbeat::HbLogOptions log;
  log.logfile = cfg->ha_cf.logfile;
  log.debugfile = cfg->ha_cf.debugfile;
  log.facility = cfg->ha_cf.log_facility;
  log.to_stderr = options.foreground;
  log.debug = options.debug;
  if (log.logfile.empty() && log.debugfile.empty() &&
      (log.facility.empty() || log.facility == "none")) {
    log.facility = "daemon";  // Heartbeat's use_logd default: syslog
  }
  tandem::heartbeat::Logger().Configure(log);
  for (const auto& w : diags.Warnings()) HbLog(HbLevel::kWarn, "configuration: " + w);

  const std::string pid_file =
      tandem::heartbeat::PathInConfigDir(options.common.run_dir, tandem::heartbeat::kPidFileName);
  if (auto st = env->MakeDirectory(options.common.run_dir, 0755); !st.ok()) {
    std::cerr << "tandem-heartbeat: " << st.message() << "\n";
    tell(st.message() + "\n");
    return tandem::kExitFailed;
  }
  auto lock = env->LockPidFile(pid_file);
  if (!lock.ok()) {
    std::cerr << "tandem-heartbeat: " << lock.status().message() << "\n";
    tell(lock.status().message() + "\n");
    return tandem::kExitFailed;
  }

  tandem::heartbeat::DaemonOptions d;
  d.node = cfg->ha_cf.local_node;
  d.run_dir = options.common.run_dir;
  d.config_dir = options.config_dir;
  d.state_dir = options.state_dir;
  d.init_dir = options.init_dir;
  d.bind_address = options.bind_address;
  d.log_to_stderr = options.foreground;
  d.debug = options.debug;

  ::signal(SIGPIPE, SIG_IGN);
  boost::asio::io_context loop;
  tandem::heartbeat::HeartbeatDaemon daemon(loop, env, d, std::move(cfg).value());
  if (auto st = daemon.Start(); !st.ok()) {
    HbLog(HbLevel::kError, "Cannot start heartbeat: " + st.message());
    if (!options.foreground) std::cerr << "tandem-heartbeat: " << st.message() << "\n";
    tell(st.message() + "\n");
    (void)env->RemoveFile(pid_file);
    return tandem::kExitFailed;
  }
  tell("OK\n");
  if (ready_fd >= 0) {
    // In the background from now on: nothing may hold the caller's terminal or pipes.
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) ::dup2(devnull, 2);
  }
  loop.run();
  (void)env->RemoveFile(pid_file);
  return tandem::kExitOk;
}

// Forks; the parent waits for the child's word and exits with it.
int Daemonize(const tandem::heartbeat::HeartbeatOptions& options) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("tandem-heartbeat: pipe");
    return tandem::kExitFailed;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("tandem-heartbeat: fork");
    return tandem::kExitFailed;
  }
  if (pid > 0) {
    ::close(fds[1]);
    std::string word;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) word.append(buf, static_cast<size_t>(n));
    if (word == "OK\n") return tandem::kExitOk;
    std::cerr << "tandem-heartbeat: did not start"
              << (word.empty() ? std::string(" (see the log)\n") : ": " + word);
    return tandem::kExitFailed;
  }
  ::close(fds[0]);
  ::setsid();
  if (::chdir("/") != 0) {
    // Not fatal: every path the daemon uses is absolute.
  }
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
  }
  // stderr stays until the daemon is up, so a start-up failure can be seen;
  // RunDaemon's word to the parent carries it too.
  int rc = RunDaemon(options, fds[1]);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tandem-heartbeat: two-node cluster membership and resource failover "
      "(Heartbeat's ha.cf, haresources and authkeys).\n"
      "Without a verb: run the daemon. Verbs: status, takeover [all|foreign|local], "
      "standby [all|foreign|local], stop.",
      "tandem-heartbeat"};
  tandem::heartbeat::HeartbeatOptions options;
  tandem::AddCommonOptions(app, &options.common);
  app.add_option("--config-dir", options.config_dir,
                 "Directory holding ha.cf, haresources, authkeys and resource.d")
      ->capture_default_str();
  app.add_flag("--check", options.check,
               "Validate the configuration and print the settings in effect, then exit");
  app.add_flag("--json", options.json, "With --check or status: print JSON");
  app.add_flag("-f,--foreground", options.foreground,
               "Run the daemon in the foreground, logging to stderr too");
  app.add_flag("--debug", options.debug, "Log debug lines too");
  app.add_option("--bind", options.bind_address,
                 "This node's own address: ucast lines naming it are the other node's, and "
                 "heartbeats and pings leave from it (for several nodes on one machine)");
  app.add_option("--state-dir", options.state_dir,
                 "Where the generation number is kept across restarts")
      ->capture_default_str();
  app.add_option("--init-dir", options.init_dir,
                 "Where resource scripts not in resource.d are looked up")
      ->capture_default_str();
  app.add_option("--timeout", options.stop_timeout_s, "stop: seconds to wait for the daemon")
      ->capture_default_str();
  app.add_option("verb", options.verb, "status | takeover | standby | stop")
      ->check(CLI::IsMember({"status", "takeover", "standby", "stop"}));
  app.add_option("which", options.which, "takeover/standby: all (default), foreign or local");

  int rc = tandem::ParseCommandLine(app, argc, argv, &options.common);
  if (rc >= 0) return rc;
  if (options.check) {
    if (!options.verb.empty()) {
      std::cerr << "tandem-heartbeat: --check takes no verb (see --help)\n";
      return tandem::kExitUsage;
    }
    return tandem::heartbeat::RunCheck(options, tandem::Env::Default(), std::cout, std::cerr);
  }
  if (!options.verb.empty()) {
    tandem::heartbeat::ClientOptions c;
    c.run_dir = options.common.run_dir;
    c.json = options.json;
    c.stop_timeout_s = options.stop_timeout_s;
    return tandem::heartbeat::RunClientCommand(options.verb, options.which, c, std::cout,
                                               std::cerr);
  }
  if (options.json) {
    std::cerr << "tandem-heartbeat: --json goes with --check or status (see --help)\n";
    return tandem::kExitUsage;
  }
  if (options.foreground) return RunDaemon(options, -1);
  return Daemonize(options);
}
