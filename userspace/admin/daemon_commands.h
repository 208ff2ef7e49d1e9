#pragma once
// tandemadm verbs that act on the running daemon through its control socket
// (<run-dir>/tandemd.sock): up, down, attach, detach, connect, disconnect,
// primary, secondary, wait-connect, role, cstate, dstate, status, outdate,
// invalidate, invalidate-remote, new-current-uuid, adjust. Output and exit
// codes follow drbdadm's (docs/cli.md).

#include <ostream>
#include <string>
#include <vector>

#include "admin/admin_options.h"
#include "common/status.h"

namespace tandem::admin {

struct DaemonVerbFlags {
  bool force = false;
  bool discard_my_data = false;
  bool clear_bitmap = false;
  int timeout_s = -1;  // wait-connect: -1 = from the configuration
};

// `verb` is the canonical name ("wait-connect", "role", ...).
int RunDaemonVerb(const std::string& verb, const AdminOptions& options,
                  const std::vector<std::string>& resources, const DaemonVerbFlags& flags,
                  std::ostream& out, std::ostream& err);

// tandemadm sh-b-pri (DRBD's init-script helper): the names among
// `resources` whose become-primary-on names this node or `both`; the caller
// promotes them as `primary` does. Errors (printed to err): the
// configuration's, or an unknown resource name.
Result<std::vector<std::string>> BecomePrimaryHere(const AdminOptions& options,
                                                   const std::vector<std::string>& resources,
                                                   std::ostream& err);

}  // namespace tandem::admin
