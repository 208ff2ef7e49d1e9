// `startup { attach-device yes; }`: the block device at the configured
// `device` path follows the role. `tandemadm primary` (what drbddisk runs on
// a takeover) and `tandemadm sh-b-pri` (what the init script runs at start,
// for `become-primary-on`) attach it after the promotion; `secondary`
// detaches it first. Bytes written through the device reach both disks.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "shim_fixture.h"

namespace tandem::testing {
namespace {

using namespace std::chrono_literals;

bool IsBlockDeviceLink(const std::string& path) {
  struct stat l {
  }, t{};
  return ::lstat(path.c_str(), &l) == 0 && S_ISLNK(l.st_mode) && ::stat(path.c_str(), &t) == 0 &&
         S_ISBLK(t.st_mode);
}

bool Exists(const std::string& path) {
  struct stat l {};
  return ::lstat(path.c_str(), &l) == 0;
}

std::string Role(Cluster& c, int n) {
  return c.StatusJson(n).value("role", "?");
}

TEST(ShimDeviceFollowsRole, ShBPriAndPrimaryAttachSecondaryDetaches) {
  const std::string missing = FuseLoopMissing();
  if (!missing.empty()) GTEST_SKIP() << "device test needs " << missing;
  ClusterOptions o;
  o.startup = "    attach-device yes;\n    become-primary-on alpha;\n";
  ShimCluster sc(o);
  sc.c.StartAndConnect();
  if (HasFatalFailure()) return;
  ASSERT_EQ(sc.c.Adm(0, {"new-current-uuid", "--clear-bitmap", "r0"}).exit_code, 0);
  ASSERT_TRUE(sc.c.WaitForState(0, "Connected", "UpToDate/UpToDate", 20s)) << sc.c.StatusFile(0);

  // bravo is not named: sh-b-pri leaves it Secondary, with no device.
  auto none = sc.c.Adm(1, {"sh-b-pri", "all"});
  EXPECT_EQ(none.exit_code, 0) << none.out << none.err;
  EXPECT_EQ(Role(sc.c, 1), "Secondary");
  EXPECT_FALSE(Exists(sc.link()));

  // alpha is: promoted, and the device is there.
  auto pri = sc.c.Adm(0, {"sh-b-pri", "all"});
  ASSERT_EQ(pri.exit_code, 0) << pri.out << pri.err << sc.c.Log(0);
  EXPECT_EQ(Role(sc.c, 0), "Primary");
  ASSERT_TRUE(IsBlockDeviceLink(sc.link())) << sc.link();
  const std::vector<uint8_t> first = Pattern(21, 1 << 20);
  ASSERT_TRUE(WriteDevice(sc.link(), 0, first)) << std::strerror(errno);

  // secondary detaches first; then bravo's plain `primary` attaches.
  auto sec = sc.c.Adm(0, {"secondary", "r0"});
  ASSERT_EQ(sec.exit_code, 0) << sec.out << sec.err;
  EXPECT_FALSE(Exists(sc.link()));
  EXPECT_FALSE(sc.State(0).ok());
  auto pri1 = sc.c.Adm(1, {"primary", "r0"});
  ASSERT_EQ(pri1.exit_code, 0) << pri1.out << pri1.err << sc.c.Log(1);
  ASSERT_TRUE(IsBlockDeviceLink(sc.link())) << sc.link();
  const std::vector<uint8_t> second = Pattern(22, 1 << 20);
  ASSERT_TRUE(WriteDevice(sc.link(), 0, second)) << std::strerror(errno);
  auto sec1 = sc.c.Adm(1, {"secondary", "r0"});
  ASSERT_EQ(sec1.exit_code, 0) << sec1.out << sec1.err;
  EXPECT_FALSE(Exists(sc.link()));

  // The second write replaced the first on both disks.
  ASSERT_TRUE(WaitFor([&] { return sc.c.StatusJson(0)["counters"].value("pe", 1) == 0; }, 20s));
  const std::string want(second.begin(), second.end());
  EXPECT_TRUE(SameBytes(sc.c.DataOf(0, want.size()), want));
  EXPECT_TRUE(SameBytes(sc.c.DataOf(1, want.size()), want));
}

}  // namespace
}  // namespace tandem::testing
