// Conformance with real third-party NBD clients: qemu-io, qemu-img, nbdinfo,
// nbdsh (libnbd's Python shell) and nbdcopy, each against Tandem's server
// serving a file through DeviceBackend, over a Unix socket and over TCP on
// 127.0.0.5. Every check also looks at the backing file itself.
// The tools come from scripts/install-deps.sh (qemu-utils, libnbd-bin,
// python3-libnbd); a missing tool fails the test with that hint.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "nbd/wire.h"
#include "nbd_test_util.h"
#include "testing/test_util.h"

namespace tandem::nbd {
namespace {

using tandem::testing::CommandResult;
using tandem::testing::RunCommand;
using testing::Bytes;
using testing::Pattern;
using testing::ReadFileRange;

constexpr uint64_t kSize = 64 << 20;
constexpr uint64_t kBigSize = 256 << 20;

bool Exists(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

class ConformanceTest : public ::testing::TestWithParam<bool /*tcp*/> {
 protected:
  void SetUp() override {
    for (const char* tool : {"/usr/bin/qemu-io", "/usr/bin/qemu-img", "/usr/bin/nbdinfo",
                             "/usr/bin/nbdsh", "/usr/bin/nbdcopy", "/usr/bin/python3"}) {
      ASSERT_TRUE(Exists(tool)) << tool << " missing: run scripts/install-deps.sh";
    }
    path_ = dir_.path() + "/disk.img";
    testing::MakeFile(path_, kSize);
    ASSERT_TRUE(server_.Start().ok());
    server_.AddFileExport("r0", path_, io::CacheMode::kDirect, {"Tandem test export", 0});
    sock_ = server_.ListenUnix(dir_.path() + "/r0.sock");
    port_ = server_.ListenTcp("127.0.0.5");
    server_.Run();
  }

  std::string Uri(const std::string& name = "r0") const {
    if (GetParam()) return "nbd://127.0.0.5:" + std::to_string(port_) + "/" + name;
    return "nbd+unix:///" + name + "?socket=" + sock_;
  }

  static std::string Describe(const CommandResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
  }

  // nbdsh with Debian's Python first on PATH (another python3 may shadow it).
  CommandResult Nbdsh(const std::string& uri, const std::string& script) {
    return RunCommand({"/usr/bin/env", "PATH=/usr/bin:/bin", "/usr/bin/nbdsh", "-u", uri, "-c",
                       script},
                      120);
  }

  tandem::testing::ScratchDir dir_;
  std::string path_, sock_;
  uint16_t port_ = 0;
  testing::TestServer server_;
};

TEST_P(ConformanceTest, QemuIoReadsWritesZeroesDiscardsAndAio) {
  const CommandResult r = RunCommand(
      {"/usr/bin/qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", "-c", "read -P 0xab 0 1M",
       "-c", "write -f -P 0x5c 1M 64k", "-c", "read -P 0x5c 1M 64k",  // -f: FUA
       "-c", "aio_write -P 0xcd 2M 64k", "-c", "aio_write -P 0xce 3M 128k", "-c", "aio_flush",
       "-c", "read -P 0xcd 2M 64k", "-c", "read -P 0xce 3M 128k",
       "-c", "write -P 0x11 4M 1M", "-c", "write -z 4M 512k", "-c", "read -P 0 4M 512k",
       "-c", "read -P 0x11 4608k 512k", "-c", "write -z -u 5M 1M", "-c", "read -P 0 5M 1M",
       "-c", "discard 6M 1M", "-c", "write -P 0x22 100 1000", "-c", "read -P 0x22 100 1000",
       "-c", "flush", Uri()},
      120);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out.find("verification failed"), std::string::npos) << Describe(r);
  EXPECT_EQ(r.err.find("error"), std::string::npos) << Describe(r);
  // The file holds what qemu-io wrote (the unaligned write was read-modify-written by qemu).
  EXPECT_EQ(ReadFileRange(path_, 2 << 20, 65536), Bytes(65536, 0xcd));
  EXPECT_EQ(ReadFileRange(path_, 4 << 20, 512 << 10), Bytes(512 << 10, 0));
  EXPECT_EQ(ReadFileRange(path_, (4 << 20) + (512 << 10), 512 << 10), Bytes(512 << 10, 0x11));
  Bytes head = ReadFileRange(path_, 0, 4096);
  EXPECT_EQ(Bytes(head.begin() + 100, head.begin() + 1100), Bytes(1000, 0x22));
  EXPECT_EQ(Bytes(head.begin(), head.begin() + 100), Bytes(100, 0xab));
  EXPECT_EQ(Bytes(head.begin() + 1100, head.end()), Bytes(4096 - 1100, 0xab));
}

TEST_P(ConformanceTest, QemuImgInfoAndConvertInAndOut) {
  const CommandResult info =
      RunCommand({"/usr/bin/qemu-img", "info", "--output=json", Uri()}, 60);
  ASSERT_EQ(info.exit_code, 0) << Describe(info);
  auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["virtual-size"].get<uint64_t>(), kSize);
  EXPECT_EQ(j["format"], "raw");

  const std::string src = dir_.path() + "/src.img";
  testing::MakeFile(src, kSize);
  const Bytes data = Pattern(8 << 20, 77);
  testing::WriteFileRange(src, 16 << 20, data);
  const CommandResult in = RunCommand(
      {"/usr/bin/qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src, Uri()}, 120);
  ASSERT_EQ(in.exit_code, 0) << Describe(in);
  EXPECT_EQ(ReadFileRange(path_, 16 << 20, 8 << 20), data);
  EXPECT_EQ(ReadFileRange(path_, 0, 1 << 20), Bytes(1 << 20, 0));

  const std::string out = dir_.path() + "/out.img";
  const CommandResult back =
      RunCommand({"/usr/bin/qemu-img", "convert", "-f", "raw", "-O", "raw", Uri(), out}, 120);
  ASSERT_EQ(back.exit_code, 0) << Describe(back);
  EXPECT_EQ(ReadFileRange(out, 0, kSize), ReadFileRange(path_, 0, kSize));
}

TEST_P(ConformanceTest, NbdinfoReportsSizeFlagsAndBlockSizes) {
  const CommandResult r = RunCommand({"/usr/bin/nbdinfo", "--json", Uri()}, 60);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["protocol"], "newstyle-fixed");
  EXPECT_EQ(j["TLS"], false);
  ASSERT_EQ(j["exports"].size(), 1u);
  const auto& e = j["exports"][0];
  EXPECT_EQ(e["export-name"], "r0");
  EXPECT_EQ(e["description"], "Tandem test export");
  EXPECT_EQ(e["export-size"].get<uint64_t>(), kSize);
  EXPECT_EQ(e["is_read_only"], false);
  EXPECT_EQ(e["can_flush"], true);
  EXPECT_EQ(e["can_fua"], true);
  EXPECT_EQ(e["can_trim"], true);
  EXPECT_EQ(e["can_zero"], true);
  EXPECT_EQ(e["can_multi_conn"], true);
  EXPECT_EQ(e["can_df"], true);
  EXPECT_EQ(e["can_fast_zero"], false);
  EXPECT_EQ(e["can_cache"], false);
  EXPECT_GE(e["block_size_minimum"].get<uint32_t>(), 512u);
  EXPECT_EQ(e["block_size_preferred"].get<uint32_t>(), 4096u);
  EXPECT_EQ(e["block_size_maximum"].get<uint32_t>(), 32u << 20);
}

TEST_P(ConformanceTest, NbdinfoListsEveryExport) {
  server_.OnLoop([&] {
    server_.AddExport("r1", std::make_unique<io::MemBlockDevice>(server_.loop(), 1 << 20),
                      {"second", 0});
    return 0;
  });
  const CommandResult r = RunCommand({"/usr/bin/nbdinfo", "--list", "--json", Uri("")}, 60);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["exports"].size(), 2u) << r.out;
  EXPECT_EQ(j["exports"][0]["export-name"], "r0");
  EXPECT_EQ(j["exports"][0]["export-size"].get<uint64_t>(), kSize);
  EXPECT_EQ(j["exports"][1]["export-name"], "r1");
  EXPECT_EQ(j["exports"][1]["description"], "second");
  const CommandResult plain = RunCommand({"/usr/bin/nbdinfo", "--list", Uri("")}, 60);
  ASSERT_EQ(plain.exit_code, 0) << Describe(plain);
  EXPECT_NE(plain.out.find("export=\"r1\""), std::string::npos) << plain.out;
}

TEST_P(ConformanceTest, NbdshScriptedChecks) {
  const std::string script = R"PY(
import errno
assert h.get_structured_replies_negotiated(), "structured replies"
assert h.can_fua() and h.can_flush() and h.can_trim() and h.can_zero()
assert h.can_multi_conn() and h.can_df() and not h.is_read_only()
assert h.get_block_size(nbd.SIZE_MINIMUM) >= 512
assert h.get_block_size(nbd.SIZE_PREFERRED) == 4096
assert h.get_block_size(nbd.SIZE_MAXIMUM) == 32 * 1024 * 1024
size = h.get_size()
data = bytes(range(256)) * 256
h.pwrite(data, 65536, nbd.CMD_FLAG_FUA)
assert h.pread(65536, 65536) == data
chunks = []
def chunk(*args):
    chunks.append(args)
    return 0
assert h.pread_structured(65536, 65536, chunk, nbd.CMD_FLAG_DF) == data
assert len(chunks) == 1, "DF: one data chunk"
h.zero(65536, 65536, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA)
assert h.pread(65536, 65536) == bytearray(65536)
h.pwrite(data, 131072)
h.zero(65536, 131072)
assert h.pread(65536, 131072) == bytearray(65536)
h.pwrite(data, 196608)
h.trim(65536, 196608, nbd.CMD_FLAG_FUA)
h.flush()
h.pwrite(b"\x77" * 4096, 1048576)
# Past the end, with libnbd's own checks off so the server has to answer.
h.set_strict_mode(0)
for call, want in ((lambda: h.pread(4096, size), errno.EINVAL),
                   (lambda: h.pread(4096, size - 512), errno.EINVAL),
                   (lambda: h.pwrite(b"x" * 4096, size), errno.ENOSPC),
                   (lambda: h.zero(4096, size), errno.ENOSPC),
                   (lambda: h.trim(4096, size), errno.EINVAL),
                   (lambda: h.pread(100, 0), errno.EINVAL),
                   (lambda: h.pread(33554432 + 512, 0), errno.EINVAL)):
    try:
        call()
    except nbd.Error as e:
        assert e.errnum == want, (e.errnum, want, e.string)
    else:
        raise AssertionError("no error for a bad request")
assert h.pread(4096, 1048576) == b"\x77" * 4096, "the session survives errors"
print("ALL-CHECKS-PASSED")
)PY";
  const CommandResult r = Nbdsh(Uri(), script);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("ALL-CHECKS-PASSED"), std::string::npos) << Describe(r);
  EXPECT_EQ(ReadFileRange(path_, 1 << 20, 4096), Bytes(4096, 0x77));
  EXPECT_EQ(ReadFileRange(path_, 65536, 65536), Bytes(65536, 0));
}

TEST_P(ConformanceTest, NbdcopyOf256MiBInAndOutKeepsEveryByte) {
  const std::string big = dir_.path() + "/big.img";
  testing::MakeFile(big, kBigSize);
  server_.OnLoop([&] {
    server_.AddFileExport("big", big, io::CacheMode::kDirect);
    return 0;
  });
  const std::string src = dir_.path() + "/src.img";
  const CommandResult gen = RunCommand(
      {"/usr/bin/dd", "if=/dev/urandom", "of=" + src, "bs=1M", "count=256", "status=none"}, 120);
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  const CommandResult in = RunCommand({"/usr/bin/nbdcopy", src, Uri("big")}, 300);
  ASSERT_EQ(in.exit_code, 0) << Describe(in);
  const std::string out = dir_.path() + "/out.img";
  const CommandResult back = RunCommand({"/usr/bin/nbdcopy", Uri("big"), out}, 300);
  ASSERT_EQ(back.exit_code, 0) << Describe(back);
  const CommandResult sums =
      RunCommand({"/usr/bin/sha256sum", src, big, out}, 120);
  ASSERT_EQ(sums.exit_code, 0) << Describe(sums);
  std::vector<std::string> hashes;
  for (size_t at = 0; at < sums.out.size();) {
    hashes.push_back(sums.out.substr(at, 64));
    at = sums.out.find('\n', at);
    if (at == std::string::npos) break;
    ++at;
  }
  ASSERT_EQ(hashes.size(), 3u) << sums.out;
  EXPECT_EQ(hashes[0], hashes[1]) << "the export's file differs from the source";
  EXPECT_EQ(hashes[0], hashes[2]) << "the copy out differs from the source";
}

INSTANTIATE_TEST_SUITE_P(Transport, ConformanceTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return std::string(i.param ? "Tcp" : "Unix");
                         });

// TLS with GnuTLS-based clients (libnbd's nbdinfo, qemu): a server that
// requires TLS serves them, and refuses a client that skips it.
class TlsConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = dir_.path() + "/pki";
    ASSERT_EQ(::mkdir(pki_.c_str(), 0700), 0);
    const std::string cert = pki_ + "/ca-cert.pem", key = dir_.path() + "/key.pem";
    const CommandResult r = RunCommand(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    path_ = dir_.path() + "/disk.img";
    testing::MakeFile(path_, 16 << 20);
    ServerOptions o;
    o.tls = TlsMode::kRequired;
    o.tls_cert_file = cert;
    o.tls_key_file = key;
    server_ = std::make_unique<testing::TestServer>(o);
    ASSERT_TRUE(server_->Start().ok());
    backend_ = server_->AddFileExport("r0", path_, io::CacheMode::kDirect);
    sock_ = server_->ListenUnix(dir_.path() + "/r0.sock");
    server_->Run();
  }

  tandem::testing::ScratchDir dir_;
  std::string pki_, path_, sock_;
  std::unique_ptr<testing::TestServer> server_;
  std::shared_ptr<DeviceBackend> backend_;
};

TEST_F(TlsConformanceTest, LibnbdAndQemuUseTlsAndPlainClientsAreRefused) {
  const std::string uri = "nbds+unix:///r0?socket=" + sock_ + "&tls-certificates=" + pki_ +
                          "&tls-hostname=localhost";
  const CommandResult info = RunCommand({"/usr/bin/nbdinfo", "--json", uri}, 60);
  ASSERT_EQ(info.exit_code, 0) << info.out << info.err;
  auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["TLS"], true);
  EXPECT_EQ(j["exports"][0]["export-size"].get<uint64_t>(), 16u << 20);

  const CommandResult io = RunCommand(
      {"/usr/bin/qemu-io", "--object",
       "tls-creds-x509,id=tls0,dir=" + pki_ + ",endpoint=client", "--image-opts",
       "-c", "write -P 0x3c 0 64k", "-c", "read -P 0x3c 0 64k",
       "driver=nbd,path=" + sock_ + ",export=r0,tls-creds=tls0,tls-hostname=localhost"},
      60);
  ASSERT_EQ(io.exit_code, 0) << io.out << io.err;
  EXPECT_EQ(ReadFileRange(path_, 0, 65536), Bytes(65536, 0x3c));

  const CommandResult plain =
      RunCommand({"/usr/bin/nbdinfo", "nbd+unix:///r0?socket=" + sock_}, 60);
  EXPECT_NE(plain.exit_code, 0) << plain.out;
  EXPECT_TRUE(server_->WaitFor([&] { return server_->server().connections().count() == 0; }));
  EXPECT_EQ(server_->OnLoop([&] { return backend_->openers(); }), 0u);
}

}  // namespace
}  // namespace tandem::nbd
