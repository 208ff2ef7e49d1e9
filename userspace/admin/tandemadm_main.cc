// tandemadm: the admin tool, speaking drbdadm's verbs.
#include <iostream>

#include "admin/daemon_commands.h"
#include "admin/device_commands.h"
#include "admin/dump_command.h"
#include "admin/meta_commands.h"
#include "common/cli.h"

int main(int argc, char** argv) {
  CLI::App app{"tandemadm: administer Tandem resources (drbdadm-compatible verbs)", "tandemadm"};
  app.fallthrough();
  app.require_subcommand(1);
  tandem::CommonOptions common;
  tandem::AddCommonOptions(app, &common);
  tandem::admin::AdminOptions admin;
  app.add_option("-c,--config", admin.config_file,
                 "drbd.conf-style file (default /etc/tandem/tandem.conf, else /etc/drbd.conf)");
  app.add_flag("--json", admin.json, "Machine-readable output where the output is data");

  std::vector<std::string> resources;
  bool force = false;
  auto* dump = app.add_subcommand("dump", "Print the normalized configuration (8.4 syntax)");
  dump->add_option("resources", resources, "Resource names, or all (default)");

  struct MetaVerbSpec {
    const char* name;
    const char* alias;
    tandem::admin::MetaVerb verb;
    const char* help;
    bool has_force;
  };
  const MetaVerbSpec meta_verbs[] = {
      {"create-md", "create_md", tandem::admin::MetaVerb::kCreateMd,
       "Write fresh meta-data (refuses to overwrite valid meta-data without --force)", true},
      {"dump-md", "dump_md", tandem::admin::MetaVerb::kDumpMd,
       "Print the meta-data: superblock, activity log, out-of-sync ranges", false},
      {"show-gi", "show_gi", tandem::admin::MetaVerb::kShowGi,
       "Show the generation UUIDs and flags, explained", false},
      {"get-gi", "get_gi", tandem::admin::MetaVerb::kGetGi,
       "Print the generation UUIDs and flags on one line", false},
      {"apply-al", "apply_al", tandem::admin::MetaVerb::kApplyAl,
       "Mark every activity-log extent out of sync and clear the log", false},
      {"wipe-md", "wipe_md", tandem::admin::MetaVerb::kWipeMd,
       "Destroy the meta-data (needs --force)", true},
  };
  std::vector<std::pair<CLI::App*, tandem::admin::MetaVerb>> meta_commands;
  for (const auto& spec : meta_verbs) {
    auto* cmd = app.add_subcommand(spec.name, spec.help);
    cmd->alias(spec.alias);
    cmd->add_option("resources", resources, "Resource names, or all")->required();
    if (spec.has_force) cmd->add_flag("--force", force, "Do it even though it destroys data");
    meta_commands.emplace_back(cmd, spec.verb);
  }

  struct DaemonVerbSpec {
    const char* name;
    const char* alias;
    const char* help;
  };
  const DaemonVerbSpec daemon_verbs[] = {
      {"up", nullptr, "Attach the disk and connect to the peer"},
      {"down", nullptr, "Secondary, disconnect, detach"},
      {"attach", nullptr, "Attach the backing disk"},
      {"detach", nullptr, "Detach the backing disk"},
      {"connect", nullptr, "Connect to the peer"},
      {"disconnect", nullptr, "Disconnect from the peer (StandAlone)"},
      {"primary", nullptr, "Promote to Primary"},
      {"secondary", nullptr, "Demote to Secondary"},
      {"wait-connect", "wait_connect", "Wait until connected (wfc-timeout / degr-wfc-timeout)"},
      {"role", "state", "Print Local/Peer role"},
      {"cstate", nullptr, "Print the connection state"},
      {"dstate", nullptr, "Print Local/Peer disk state"},
      {"status", nullptr, "Print the resource status"},
      {"outdate", nullptr, "Mark this node's data Outdated"},
      {"pause-sync", "pause_sync", "Pause the resync (user flag)"},
      {"resume-sync", "resume_sync", "Resume a paused resync"},
      {"verify", nullptr, "Start an online verify (verify-alg) against the peer"},
      {"invalidate", nullptr, "Mark all local data out of sync (become SyncTarget)"},
      {"invalidate-remote", "invalidate_remote", "Mark all of the peer's data out of sync"},
      {"new-current-uuid", "new_current_uuid", "Start a new data generation"},
      {"adjust", nullptr, "Apply the configuration file to the running resources"},
      {"show-export", "show_export", "Print the NBD URIs of the resource's export (Unix socket, TCP)"},
      {"sh-b-pri", nullptr,
       "Promote the resources whose become-primary-on names this node or both"},
  };
  tandem::admin::DaemonVerbFlags dflags;
  std::vector<std::pair<CLI::App*, std::string>> daemon_commands;
  for (const auto& spec : daemon_verbs) {
    auto* cmd = app.add_subcommand(spec.name, spec.help);
    if (spec.alias) cmd->alias(spec.alias);
    cmd->add_option("resources", resources, "Resource names, or all")->required();
    std::string n = spec.name;
    if (n == "primary" || n == "secondary") {
      cmd->add_flag("--force", dflags.force, n == "primary"
                                                 ? "Promote even without UpToDate data"
                                                 : "Demote even while the device is open");
    }
    if (n == "connect") {
      cmd->add_flag("--discard-my-data", dflags.discard_my_data,
                    "Resolve a split brain by becoming SyncTarget");
    }
    if (n == "new-current-uuid") {
      cmd->add_flag("--clear-bitmap", dflags.clear_bitmap,
                    "Skip the initial sync of fresh, identical disks");
    }
    if (n == "wait-connect") {
      cmd->add_option("-t,--wfc-timeout", dflags.timeout_s,
                      "Seconds to wait (default: the configured wfc-timeout; 0 forever)");
    }
    daemon_commands.emplace_back(cmd, n);
  }

  // The block device at the configured `device` path (kernel-shim's tandem-attach).
  std::vector<std::pair<CLI::App*, std::string>> device_commands;
  for (const char* verb : {"attach-device", "detach-device"}) {
    auto* cmd = app.add_subcommand(verb, std::string(verb) == "attach-device"
                                             ? "Make the export the block device at `device`"
                                             : "Remove that block device (refused while mounted)");
    cmd->add_option("resources", resources, "Resource names, or all")->required();
    device_commands.emplace_back(cmd, verb);
  }

  int rc = tandem::ParseCommandLine(app, argc, argv, &common);
  if (rc >= 0) return rc;
  admin.common = common;
  if (dump->parsed()) return tandem::admin::RunDump(admin, resources, std::cout, std::cerr);
  for (const auto& [cmd, verb] : daemon_commands) {
    if (cmd->parsed()) {
      if (verb == "sh-b-pri") {
        // `primary` on the resources that name this node, devices included.
        auto names = tandem::admin::BecomePrimaryHere(admin, resources, std::cerr);
        if (!names.ok()) return tandem::kExitConfigInvalid;
        if (names->empty()) return 0;
        int rc_pri = tandem::admin::RunDaemonVerb("primary", admin, *names, dflags, std::cout,
                                                  std::cerr);
        if (rc_pri != 0) return rc_pri;
        return tandem::admin::AttachDevicesAfterPromotion(admin, *names, std::cerr);
      }
      if (verb == "secondary") {
        int rc_detach =
            tandem::admin::DetachDevicesBeforeDemotion(admin, resources, dflags.force, std::cerr);
        if (rc_detach != 0) return rc_detach;
      }
      int rc_verb =
          tandem::admin::RunDaemonVerb(verb, admin, resources, dflags, std::cout, std::cerr);
      if (verb == "primary" && rc_verb == 0) {
        return tandem::admin::AttachDevicesAfterPromotion(admin, resources, std::cerr);
      }
      return rc_verb;
    }
  }
  for (const auto& [cmd, verb] : device_commands) {
    if (cmd->parsed()) return tandem::admin::RunDeviceVerb(verb, admin, resources, std::cerr);
  }
  for (const auto& [cmd, verb] : meta_commands) {
    if (cmd->parsed()) {
      return tandem::admin::RunMetaVerb(verb, admin, resources, force, std::cout, std::cerr);
    }
  }
  return tandem::kExitUsage;
}
