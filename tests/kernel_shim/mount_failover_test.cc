// Mount end to end through the FUSE + loop path: the Primary attaches, makes
// an ext4 filesystem, writes files, unmounts, detaches and steps down; the
// other node is promoted, attaches (through tandemadm attach-device), mounts,
// finds the same bytes, and fsck -n finds the filesystem clean. Both nodes'
// backing data end identical.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>

#include "shim_fixture.h"

namespace tandem::testing {
namespace {

using namespace std::chrono_literals;

void WriteFile(const std::string& path, const std::vector<uint8_t>& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

TEST(ShimMount, FilesWrittenOnOneNodeAreThereAfterFailoverAndFsckIsClean) {
  const std::string missing = FuseLoopMissing();
  if (!missing.empty()) GTEST_SKIP() << "mount test needs " << missing;
  ShimCluster sc;
  sc.c.BringUp();
  if (HasFatalFailure()) return;
  const auto t0 = std::chrono::steady_clock::now();

  // alpha: attach, mkfs, mount, write.
  auto a = sc.c.Adm(0, {"attach-device", "r0"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  auto mk = RunCommand({"/usr/sbin/mkfs.ext4", "-q", "-F", "-L", "tandem-r0", sc.link()}, 120);
  ASSERT_EQ(mk.exit_code, 0) << mk.out << mk.err;
  std::string mp = sc.Mount(sc.link(), "mnt-alpha");
  std::map<std::string, std::vector<uint8_t>> files = {
      {"small.txt", std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', '\n'}},
      {"one-mib.bin", Pattern(11, 1 << 20)},
      {"odd-size.bin", Pattern(12, 3 * 1000 * 1000 + 17)},
      {"dir/nested/eight-mib.bin", Pattern(13, 8 << 20)},
  };
  ASSERT_EQ(::mkdir((mp + "/dir").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((mp + "/dir/nested").c_str(), 0755), 0);
  for (const auto& [name, data] : files) WriteFile(mp + "/" + name, data);
  ASSERT_TRUE(sc.Umount(mp));
  auto d = sc.c.Adm(0, {"detach-device", "r0"});
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  auto sec = sc.c.Adm(0, {"secondary", "r0"});
  ASSERT_EQ(sec.exit_code, 0) << sec.out << sec.err;

  // bravo: promote, attach, mount, read back.
  auto pri = sc.c.Adm(1, {"primary", "r0"});
  ASSERT_EQ(pri.exit_code, 0) << pri.out << pri.err << sc.c.Log(1);
  auto a1 = sc.c.Adm(1, {"attach-device", "r0"});
  ASSERT_EQ(a1.exit_code, 0) << a1.out << a1.err;
  mp = sc.Mount(sc.link(), "mnt-bravo");
  for (const auto& [name, data] : files) {
    EXPECT_TRUE(SameBytes(ReadFileOrEmpty(mp + "/" + name), std::string(data.begin(), data.end())))
        << name;
  }
  ASSERT_TRUE(sc.Umount(mp));
  auto fsck = RunCommand({"/usr/sbin/fsck.ext4", "-n", "-f", sc.link()}, 120);
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  auto d1 = sc.c.Adm(1, {"detach-device", "r0"});
  ASSERT_EQ(d1.exit_code, 0) << d1.out << d1.err;

  ASSERT_TRUE(WaitFor([&] { return sc.c.StatusJson(1)["counters"].value("pe", 1) == 0; }, 20s));
  const uint64_t size = sc.c.DataSize(1);
  EXPECT_TRUE(SameBytes(sc.c.DataOf(0, size), sc.c.DataOf(1, size)));
  std::cout << "[ mount ] failover round trip: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " ms\n";
}

}  // namespace
}  // namespace tandem::testing
