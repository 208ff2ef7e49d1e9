#include "daemon/status_format.h"

#include <chrono>
#include <cstdio>

#include "common/version.h"

namespace tandem::daemon {

using replication::ConnState;

std::string WithThousands(uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatSyncLines(const replication::ResourceStatus& r) {
  const uint64_t total_k = r.sync.total_bits * 4;
  const uint64_t left_k = std::min(r.sync.left_bits, r.sync.total_bits) * 4;
  const double done = total_k ? 100.0 * static_cast<double>(total_k - left_k) / total_k : 100.0;
  // 20 characters: '=' done, '>' the current position, '.' to go.
  int filled = static_cast<int>(done / 5.0);
  if (filled > 19) filled = 19;
  std::string bar = "[" + std::string(static_cast<size_t>(filled), '=') + ">" +
                    std::string(static_cast<size_t>(19 - filled), '.') + "]";
  const bool in_m = total_k >= (1u << 20);  // from 1 GiB on, in MiB as DRBD does for big ones
  char line1[160];
  std::snprintf(line1, sizeof line1, "\t%s sync'ed: %4.1f%% (%llu/%llu)%s\n", bar.c_str(), done,
                static_cast<unsigned long long>(in_m ? left_k / 1024 : left_k),
                static_cast<unsigned long long>(in_m ? total_k / 1024 : total_k),
                in_m ? "M" : "K");
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                       r.sync.started)
                             .count();
  const uint64_t copied_k = r.sync.copied_bytes / 1024;
  const uint64_t avg = elapsed > 0 ? static_cast<uint64_t>(copied_k / elapsed) : 0;
  const uint64_t now_rate = static_cast<uint64_t>(r.sync.recent_kib_per_s);
  const uint64_t rate_for_eta = now_rate ? now_rate : avg;
  uint64_t eta = rate_for_eta ? left_k / rate_for_eta : 0;
  char line2[160];
  std::snprintf(line2, sizeof line2, "\tfinish: %llu:%02llu:%02llu speed: %s (%s) K/sec\n",
                static_cast<unsigned long long>(eta / 3600),
                static_cast<unsigned long long>(eta / 60 % 60),
                static_cast<unsigned long long>(eta % 60), WithThousands(now_rate).c_str(),
                WithThousands(avg).c_str());
  return std::string(line1) + line2;
}

std::string FormatStatusFile(const std::vector<replication::ResourceStatus>& resources) {
  std::string out = std::string("version: ") + kVersion + " (api:1/proto:1) tandem\n";
  for (const auto& r : resources) {
    const auto& s = r.state;
    // Unconfigured resources show as DRBD shows an unconfigured minor.
    if (s.conn == ConnState::kStandAlone && !r.attached &&
        s.role == replication::Role::kSecondary) {
      out += std::to_string(r.minor) + ": cs:Unconfigured\n";
      continue;
    }
    char flags[8] = {'r', '-', '-', '-', '-', '-', 0};
    if (s.peer_paused) flags[2] = 'p';
    if (s.user_paused) flags[3] = 'u';
    out += " " + std::to_string(r.minor) + ": cs:" + replication::ConnStateName(s.conn) +
           " ro:" + replication::RolePair(s) + " ds:" + replication::DiskPair(s) + " " +
           std::string(1, r.protocol) + " " + flags + "\n";
    const auto& c = r.counters;
    out += "    ns:" + std::to_string(c.ns) + " nr:" + std::to_string(c.nr) +
           " dw:" + std::to_string(c.dw) + " dr:" + std::to_string(c.dr) +
           " al:" + std::to_string(c.al) + " bm:" + std::to_string(c.bm) +
           " lo:" + std::to_string(c.lo) + " pe:" + std::to_string(c.pe) +
           " ua:" + std::to_string(c.ua) + " ap:" + std::to_string(c.ap) +
           " ep:" + std::to_string(c.ep) + " wo:f oos:" + std::to_string(r.out_of_sync_kib) + "\n";
    if (r.sync.active || replication::IsSyncing(s.conn)) out += FormatSyncLines(r);
  }
  return out;
}

}  // namespace tandem::daemon
