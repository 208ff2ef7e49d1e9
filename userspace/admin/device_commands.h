#pragma once
// tandemadm attach-device / detach-device: run tandem-attach (kernel-shim)
// for each selected resource with this invocation's --node, --run-dir and
// -c, so the resource's export becomes (or stops being) the block device at
// its configured `device` path. tandem-attach is $TANDEM_ATTACH when set,
// else the one next to tandemadm, else the one on PATH.
// Output: tandem-attach's own (inherited stdout/stderr). Exit: the first
// non-zero exit of tandem-attach (2 when it cannot be run), else 0.
// Thread-safety: forks; call from the main thread.

#include <ostream>
#include <string>
#include <vector>

#include "admin/admin_options.h"

namespace tandem::admin {

// `verb` is "attach-device" or "detach-device".
int RunDeviceVerb(const std::string& verb, const AdminOptions& options,
                  const std::vector<std::string>& resources, std::ostream& err);

// `startup { attach-device yes; }`: the block device follows the role.
// After a successful `primary`, attach the device of every selected resource
// that asks for it; before `secondary`, detach it (refused while mounted: the
// demotion is then not attempted, unless `force`). Exit as RunDeviceVerb.
int AttachDevicesAfterPromotion(const AdminOptions& options,
                                const std::vector<std::string>& resources, std::ostream& err);
int DetachDevicesBeforeDemotion(const AdminOptions& options,
                                const std::vector<std::string>& resources, bool force,
                                std::ostream& err);

// Where tandem-attach is (see above).
std::string TandemAttachPath();

}  // namespace tandem::admin
