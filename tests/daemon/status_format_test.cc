// The /proc/drbd-style status file, byte for byte.
#include "daemon/status_format.h"

#include <gtest/gtest.h>

namespace tandem::daemon {
namespace {

using replication::ConnState;
using replication::DiskState;
using replication::Role;

replication::ResourceStatus Sample() {
  replication::ResourceStatus r;
  r.name = "r0";
  r.minor = 0;
  r.attached = true;
  r.protocol = 'C';
  r.state.role = Role::kPrimary;
  r.state.peer_role = Role::kSecondary;
  r.state.disk = DiskState::kUpToDate;
  r.state.peer_disk = DiskState::kUpToDate;
  r.state.conn = ConnState::kConnected;
  r.counters = {12, 34, 56, 7, 8, 9, 1, 2, 3, 4, 5};
  r.out_of_sync_kib = 0;
  return r;
}

TEST(StatusFormat, ConnectedResource) {
  std::string s = FormatStatusFile({Sample()});
  EXPECT_EQ(s.substr(s.find('\n') + 1),
            " 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n"
            "    ns:12 nr:34 dw:56 dr:7 al:8 bm:9 lo:1 pe:2 ua:3 ap:4 ep:5 wo:f oos:0\n");
  EXPECT_EQ(s.rfind("version: ", 0), 0u);
}

TEST(StatusFormat, UnconfiguredAndPausedFlags) {
  replication::ResourceStatus down;
  down.minor = 3;
  auto paused = Sample();
  paused.minor = 1;
  paused.state.user_paused = true;
  paused.state.peer_paused = true;
  paused.state.conn = ConnState::kPausedSyncS;
  std::string s = FormatStatusFile({down, paused});
  EXPECT_NE(s.find("3: cs:Unconfigured\n"), std::string::npos) << s;
  EXPECT_NE(s.find(" 1: cs:PausedSyncS ro:Primary/Secondary ds:UpToDate/UpToDate C r-pu--\n"),
            std::string::npos)
      << s;
}

TEST(StatusFormat, SyncProgressLines) {
  auto r = Sample();
  r.state.conn = ConnState::kSyncSource;
  r.state.peer_disk = DiskState::kInconsistent;
  r.sync.active = true;
  r.sync.total_bits = 1000000 / 4;  // 1,000,000 K
  r.sync.left_bits = 800000 / 4;
  r.sync.copied_bytes = 200000ull * 1024;
  r.sync.started = std::chrono::steady_clock::now() - std::chrono::seconds(4);
  r.sync.recent_kib_per_s = 51200;
  std::string lines = FormatSyncLines(r);
  EXPECT_EQ(lines.substr(0, lines.find('\n') + 1),
            "\t[====>...............] sync'ed: 20.0% (800000/1000000)K\n");
  // 800,000 K left at 51,200 K/s: 15 s. Average about 50,000 K/s.
  EXPECT_EQ(lines.substr(lines.find('\n') + 1, 31), "\tfinish: 0:00:15 speed: 51,200 ");
  auto big = r;
  big.sync.total_bits = 256000000;  // 1,000,000 MiB in 4 KiB bits
  big.sync.left_bits = 204800000;
  std::string bl = FormatSyncLines(big);
  EXPECT_NE(bl.find("sync'ed: 20.0% (800000/1000000)M"), std::string::npos) << bl;
  EXPECT_NE(FormatStatusFile({r}).find("sync'ed:"), std::string::npos);
}

TEST(StatusFormat, Thousands) {
  EXPECT_EQ(WithThousands(0), "0");
  EXPECT_EQ(WithThousands(999), "999");
  EXPECT_EQ(WithThousands(51200), "51,200");
  EXPECT_EQ(WithThousands(1234567), "1,234,567");
}

}  // namespace
}  // namespace tandem::daemon
