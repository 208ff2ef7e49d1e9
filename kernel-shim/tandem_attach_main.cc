// tandem-attach: makes a resource's NBD export a local block device at the
// configured `device` path (docs/kernel-shim.md).
//   tandem-attach attach RES [--mode auto|kernel|fuse] [--kernel-api auto|netlink|ioctl]
//   tandem-attach detach RES
//   tandem-attach status [RES...] [--json]
//   tandem-attach reconnect RES        (kernel netlink path: replace a dead connection)
// Common options: --node, --run-dir, -c/--config; --connect HOST:PORT or
// --nbd-uri URI override where the export is.
#include <iostream>

#include "attach.h"
#include "common/cli.h"
#include "common/log.h"
#include "shim_state.h"
#include "target.h"

namespace {

int Fail(const tandem::Status& st) {
  std::cerr << "tandem-attach: " << st.message() << "\n";
  return tandem::kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  CLI::App app{"tandem-attach: turn a resource's NBD export into a block device", "tandem-attach"};
  app.fallthrough();
  app.require_subcommand(1);
  CommonOptions common;
  AddCommonOptions(app, &common);
  std::string config_file;
  bool json = false;
  shim::AttachOptions o;
  shim::TargetOverrides overrides;
  app.add_option("-c,--config", config_file,
                 "drbd.conf-style file (default /etc/tandem/tandem.conf, else /etc/drbd.conf)");
  app.add_flag("--json", json, "Machine-readable status");
  app.add_option("--mode", o.mode, "auto (kernel nbd if available, else FUSE + loop), kernel, fuse")
      ->check(CLI::IsMember({"auto", "kernel", "fuse"}))
      ->capture_default_str();
  app.add_option("--kernel-api", o.kernel_api, "Kernel path: auto, netlink, ioctl")
      ->check(CLI::IsMember({"auto", "netlink", "ioctl"}))
      ->capture_default_str();
  app.add_option("--connect", overrides.connect, "Reach the export over TCP at HOST:PORT");
  app.add_option("--nbd-uri", overrides.nbd_uri,
                 "Reach the export at nbd://HOST[:PORT]/NAME or nbd+unix:///NAME?socket=PATH");
  app.add_option("--timeout", o.timeout_s, "Seconds any one wait may take")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--block-size", o.block_size,
                 "Logical block size of the device (default: the export's minimum, at least 512)");
  app.add_option("--fuse-threads", o.fuse_threads, "FUSE worker threads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--fuse-busy-poll-us", o.fuse_busy_poll_us,
                 "FUSE path: microseconds the NBD client polls after each event before "
                 "sleeping, while no request over 128 KiB is in flight (0: never polls)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--connections", o.connections,
                 "Kernel path: sockets per device when the export allows multi-conn")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option(
      "--dead-conn-timeout", o.dead_conn_timeout_s,
      "Kernel netlink path: seconds I/O waits for `reconnect` after the connection dies");

  std::string resource;
  std::vector<std::string> resources;
  auto* attach = app.add_subcommand("attach", "Attach RES's export as a block device");
  attach->add_option("resource", resource, "Resource name")->required();
  auto* detach = app.add_subcommand("detach", "Detach RES (refused while mounted)");
  detach->add_option("resource", resource, "Resource name")->required();
  auto* status = app.add_subcommand("status", "Show attached devices");
  status->add_option("resources", resources, "Resource names (default: all configured)");
  auto* reconnect =
      app.add_subcommand("reconnect", "Kernel netlink path: hand the kernel a new connection");
  reconnect->add_option("resource", resource, "Resource name")->required();

  int rc = ParseCommandLine(app, argc, argv, &common);
  if (rc >= 0) return rc;
  SetLogProgramName("tandem-attach");
  o.run_dir = common.run_dir;

  if (status->parsed()) {
    if (resources.empty()) {
      std::string diags;
      auto names = shim::ConfiguredResources(config_file, common.node, &diags);
      if (names.ok()) {
        resources = *names;
      } else {
        resources = shim::ListStates(o.run_dir);  // no configuration: what is recorded
      }
      for (const auto& s : shim::ListStates(o.run_dir)) {
        if (std::find(resources.begin(), resources.end(), s) == resources.end())
          resources.push_back(s);
      }
    }
    shim::PrintStatus(resources, o, json, std::cout);
    return kExitOk;
  }
  if (detach->parsed()) {
    Status st = shim::Detach(resource, o, std::cout);
    return st.ok() ? kExitOk : Fail(st);
  }
  std::string diags;
  auto target =
      shim::ResolveTarget(config_file, common.node, o.run_dir, resource, overrides, &diags);
  std::cerr << diags;
  if (!target.ok()) {
    if (target.status().code() == Status::Code::kNotFound) return Fail(target.status());
    if (!diags.empty()) return kExitConfigInvalid;
    return Fail(target.status());
  }
  if (reconnect->parsed()) {
    Status st = shim::Reconnect(*target, o);
    if (!st.ok()) return Fail(st);
    std::cout << resource << ": reconnected\n";
    return kExitOk;
  }
  auto s = shim::Attach(*target, o, std::cerr);
  if (!s.ok()) return Fail(s.status());
  std::cout << resource << ": attached " << s->link << " -> " << s->block_device << " ("
            << shim::ModeName(s->mode) << ", " << s->size << " bytes, block size " << s->block_size
            << ")\n";
  return kExitOk;
}
