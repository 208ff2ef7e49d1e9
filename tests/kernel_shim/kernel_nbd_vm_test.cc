// The kernel nbd path against a real kernel: this machine's kernel has no nbd
// module, so Debian's 6.1 kernel boots under qemu (TCG) with a busybox
// initramfs holding our tandem-attach (tests/kernel_shim/vm/). Inside, the
// shim reaches the host's Primary through qemu's guestfwd (10.0.2.100:10809 ->
// socat -> the export's Unix socket), attaches /dev/nbd0 through generic
// netlink and then through ioctls, makes and mounts ext4, writes and reads
// back. The host then checks the files' bytes on both nodes' disks.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "shim_fixture.h"

namespace tandem::testing {
namespace {

using namespace std::chrono_literals;

const char* const kCacheDir = "/var/cache/tandem-test";

std::string VmToolMissing() {
  const char* tools[] = {"/usr/bin/qemu-system-x86_64", "/usr/bin/socat", "/usr/bin/cpio",
                         "/bin/busybox", "/sbin/debugfs"};
  for (const char* t : tools) {
    if (::access(t, X_OK) != 0) return t;
  }
  return "";
}

std::string Field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

TEST(KernelNbdVm, GuestAttachesThroughNetlinkAndIoctlAndTheBytesReachBothDisks) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::string missing = VmToolMissing();
  if (!missing.empty()) GTEST_SKIP() << "kernel nbd VM test needs " << missing;
  const auto t0 = std::chrono::steady_clock::now();
  ShimCluster sc;
  sc.c.BringUp();
  if (HasFatalFailure()) return;

  const ScratchDir work;
  const auto netlink_bytes = Pattern(31, 3 * 1000 * 1000 + 5);
  const auto ioctl_bytes = Pattern(32, 1 << 20);
  work.Write("payload/netlink.bin", std::string(netlink_bytes.begin(), netlink_bytes.end()));
  work.Write("payload/ioctl.bin", std::string(ioctl_bytes.begin(), ioctl_bytes.end()));
  // The guest's configuration: alpha's, with the device at /dev/drbd0.
  std::string conf = ReadFileOrEmpty(sc.c.conf(0));
  for (size_t at = conf.find(sc.link()); at != std::string::npos; at = conf.find(sc.link(), at)) {
    conf.replace(at, sc.link().size(), "/dev/drbd0");
  }
  const std::string guest_conf = work.Write("tandem.conf", conf);

  ::mkdir(kCacheDir, 0755);
  auto built = RunCommand({SourcePath("tests/kernel_shim/vm/build_initramfs.sh"), kCacheDir,
                           work.path(), kTandemAttach, guest_conf, work.path() + "/payload"},
                          600);
  if (built.exit_code == 77) GTEST_SKIP() << "kernel nbd VM test: " << built.err;
  ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
  const std::string kernel = Field(built.out, "KERNEL"), initrd = Field(built.out, "INITRD");
  ASSERT_FALSE(kernel.empty() || initrd.empty()) << built.out;
  const auto t_built = std::chrono::steady_clock::now();

  const std::string sock = sc.c.run_dir(0) + "/nbd/r0.sock";
  auto vm = RunCommand(
      {"/usr/bin/qemu-system-x86_64", "-accel", "tcg", "-m", "512", "-nographic", "-no-reboot",
       "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 loglevel=3", "-nic",
       "user,model=e1000,restrict=on,guestfwd=tcp:10.0.2.100:10809-cmd:"
       "/usr/bin/socat - UNIX-CONNECT:" +
           sock},
      240);
  const std::string console = vm.out + vm.err;
  std::istringstream lines(console);
  for (std::string l; std::getline(lines, l);) {
    if (l.find("TANDEM-VM:") != std::string::npos) std::cout << "[ guest ] " << l << "\n";
  }
  EXPECT_EQ(console.find("TANDEM-VM: FAIL"), std::string::npos) << console;
  ASSERT_NE(console.find("TANDEM-VM: DONE"), std::string::npos) << "exit " << vm.exit_code << "\n"
                                                                << console;
  EXPECT_NE(console.find("TANDEM-VM: detach refused while mounted"), std::string::npos);
  const auto t_vm = std::chrono::steady_clock::now();

  // Both replicas hold the guest's filesystem; the files in it are the bytes we sent.
  ASSERT_TRUE(WaitFor([&] { return sc.c.StatusJson(0)["counters"].value("pe", 1) == 0; }, 20s));
  const uint64_t size = sc.c.DataSize(0);
  const std::string d0 = sc.c.DataOf(0, size);
  EXPECT_TRUE(SameBytes(d0, sc.c.DataOf(1, size)));
  const std::string image = work.Write("image.ext4", d0);
  for (const auto& [name, bytes] :
       {std::pair{"netlink.bin", &netlink_bytes}, std::pair{"ioctl.bin", &ioctl_bytes}}) {
    const std::string out = work.path() + "/out-" + name;
    auto dump =
        RunCommand({"/sbin/debugfs", "-R", std::string("dump /") + name + " " + out, image}, 60);
    ASSERT_EQ(dump.exit_code, 0) << dump.out << dump.err;
    EXPECT_TRUE(SameBytes(ReadFileOrEmpty(out), std::string(bytes->begin(), bytes->end()))) << name;
  }
  auto fsck = RunCommand({"/sbin/e2fsck", "-n", "-f", image}, 60);
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::cout << "[ vm ] initramfs " << ms(t_built - t0) << " ms, VM run " << ms(t_vm - t_built)
            << " ms\n";
}

}  // namespace
}  // namespace tandem::testing
