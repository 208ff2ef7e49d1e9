#pragma once
// Daemon: tandemd's core. Loads the configuration for this node, keeps one
// replication::Resource per resource, serves the control socket
// (<run-dir>/tandemd.sock), exports every resource over NBD (ResourceExport:
// <run-dir>/nbd/<resource>.sock, and nbd-address when configured; only a
// Primary admits clients) and keeps the status file (<run-dir>/status) current.
// Resources start down (StandAlone, Diskless), as DRBD's do after modprobe;
// `tandemadm up all` (or --up) brings them up.
//
// Thread-safety: everything on one event loop. Failure: Start() returns a
// Status for fatal start-up problems (bad config, run directory, socket).

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/env.h"
#include "config/drbd_model.h"
#include "daemon/resource_export.h"
#include "ctl/server.h"
#include "io/device_factory.h"
#include "io/fault_plan_device.h"
#include "replication/resource.h"

namespace tandem::daemon {

struct DaemonOptions {
  std::string node;
  std::string config_path;
  std::string run_dir;
  // --test-hooks: the control socket also accepts `test-io-error` (and the
  // io_env given to the Daemon must then be this FaultPlanIoEnv).
  io::FaultPlanIoEnv* fault_plans = nullptr;
};

class Daemon {
 public:
  Daemon(boost::asio::io_context& loop, DaemonOptions options, Env* env, io::IoEnv* io_env);
  ~Daemon();

  Status Start();
  // SIGTERM: every resource down (Secondary, meta-data clean, disconnected), then `done`.
  void Shutdown(std::function<void()> done);
  // SIGHUP / adjust: re-read the configuration and apply it.
  Status Reload();

  replication::Resource* Find(const std::string& name);
  const std::map<std::string, std::unique_ptr<replication::Resource>>& resources() const {
    return resources_;
  }
  const DaemonOptions& options() const { return options_; }
  std::string status_path() const { return options_.run_dir + "/status"; }

 private:
  void Handle(const ctl::Request& req, ctl::ControlServer::Reply reply);
  void HandleResource(replication::Resource* r, const ctl::Request& req,
                      ctl::ControlServer::Reply reply);
  Status AddResource(const config::ResourceConfig& cfg);
  // Disconnects the resource's NBD clients and calls `done` once their
  // requests have completed and they let go of the device (bounded wait).
  void DropClients(const std::string& name, std::function<void()> done);
  void ScheduleStatusWrite();
  void WriteStatusFile();

  boost::asio::io_context& loop_;
  DaemonOptions options_;
  Env* env_;
  io::IoEnv* io_env_;
  std::unique_ptr<config::DrbdConfig> config_;
  std::map<std::string, std::unique_ptr<replication::Resource>> resources_;
  // Declared after resources_: destroyed first, as they refer to them.
  std::map<std::string, std::unique_ptr<ResourceExport>> exports_;
  std::unique_ptr<ctl::ControlServer> control_;
  bool status_write_scheduled_ = false;
  boost::asio::steady_timer status_timer_;
  std::shared_ptr<bool> alive_;
};

// The JSON form of a resource's status (tandemadm status --json, the control socket).
nlohmann::json StatusToJson(const replication::ResourceStatus& s);

}  // namespace tandem::daemon
