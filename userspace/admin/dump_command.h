#pragma once
// `tandemadm dump [RES|all]`: load the configuration for this node and print
// it normalized (8.4 syntax, or JSON with --json).

#include <ostream>
#include <string>
#include <vector>

#include "admin/admin_options.h"

namespace tandem::admin {

// Returns the process exit code; diagnostics go to err.
int RunDump(const AdminOptions& options, const std::vector<std::string>& resources,
            std::ostream& out, std::ostream& err);

}  // namespace tandem::admin
