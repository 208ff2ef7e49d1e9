#pragma once
// The status file: Tandem's /proc/drbd, in DRBD 8.4's format, so scripts that
// grep /proc/drbd (cs:, ro:, ds:, StandAlone, WFConnection, ...) work on it.
// Pure formatting; thread-safe.

#include <string>
#include <vector>

#include "replication/resource.h"

namespace tandem::daemon {

// The whole file: a version line, then two lines per resource (and two more
// while a resync or verify runs).
std::string FormatStatusFile(const std::vector<replication::ResourceStatus>& resources);

// "[==>.................] sync'ed: 12.3% (800/1000)M" and
// "finish: 0:00:10 speed: 51,200 (48,000) K/sec".
std::string FormatSyncLines(const replication::ResourceStatus& r);

// "51,200"
std::string WithThousands(uint64_t v);

}  // namespace tandem::daemon
