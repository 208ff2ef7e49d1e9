#pragma once
// tandemadm's offline meta-data verbs (the daemon need not run): create-md,
// dump-md, show-gi, get-gi, apply-al, wipe-md. The meta-data location and all
// sizes come from the resource's configuration (docs/meta-data.md).

#include <ostream>
#include <string>
#include <vector>

#include "admin/admin_options.h"

namespace tandem::admin {

enum class MetaVerb { kCreateMd, kDumpMd, kShowGi, kGetGi, kApplyAl, kWipeMd };

// Runs `verb` on each selected resource; returns the exit code.
int RunMetaVerb(MetaVerb verb, const AdminOptions& options,
                const std::vector<std::string>& resources, bool force, std::ostream& out,
                std::ostream& err);

}  // namespace tandem::admin
