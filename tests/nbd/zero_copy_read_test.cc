// Zero-copy READs: bytes the page cache holds go from the file to the socket
// with sendfile instead of through a buffer. What the client receives must be
// exactly what was written, whether a reply goes out at once or waits for
// room many times, mixed with small gathered replies, with simple and
// structured replies, over Unix and TCP. Ranges not in the page cache take
// the ordinary path, TLS never uses this one, and a client leaving in the
// middle of such a reply disturbs nothing (in particular, no SIGPIPE: these
// tests would die of it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "io/mem_block_device.h"
#include "io/page_cache.h"
#include "nbd/blocking_client.h"
#include "nbd/client.h"
#include "nbd/wire.h"
#include "nbd_test_util.h"
#include "testing/test_util.h"

namespace tandem::nbd {
namespace {

using testing::Bytes;
using testing::ConnectClient;
using testing::Pattern;
using testing::RawSocket;
using testing::RequestBytes;
using testing::RunClientLoopUntil;
using testing::TestServer;

constexpr uint64_t kSize = 64 << 20;
constexpr uint64_t kFilled = 40 << 20;  // written through NBD in SetUp
constexpr uint64_t kSeed = 5;

class ZeroCopyRead : public testing::TransportFixture {
 protected:
  void SetUp() override {
    Serve(kSize, io::CacheMode::kBuffered);
    if (HasFatalFailure()) return;
    // Written through the server, so the page cache holds every byte.
    expected_ = Pattern(kFilled, kSeed);
    BlockingClient c;
    ASSERT_TRUE(c.Connect(Endpoint(), Options()).ok());
    for (uint64_t off = 0; off < kFilled; off += 1 << 20) {
      ASSERT_TRUE(c.Write(off, 1 << 20, expected_.data() + off).ok());
    }
    ASSERT_TRUE(c.Disconnect().ok());
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    const io::Residency r = io::RangeResidency(fd, 0, kFilled);
    ::close(fd);
    if (r == io::Residency::kUnknown) {
      GTEST_SKIP() << "the kernel has no cachestat(2) (Linux 6.5+): reads never take this path";
    }
  }

  uint64_t ZeroCopyReads() { return server_.OnLoop([&] { return backend_->zero_copy_reads(); }); }
  Bytes Expected(uint64_t off, size_t len) const {
    return Bytes(expected_.begin() + off, expected_.begin() + off + len);
  }

  Bytes expected_;
};

TEST_P(ZeroCopyRead, ManyReadsInFlightReturnTheWrittenBytes) {
  boost::asio::io_context loop;
  std::shared_ptr<Client> client = ConnectClient(loop, Endpoint(), Options());
  ASSERT_NE(client, nullptr);

  // All at once: 1 MiB and 64 KiB reads (from the page cache) between 4 KiB
  // reads (through a buffer, gathered), and one 32 MiB read, far more than a
  // socket buffer holds, so its data waits for room many times.
  struct Want {
    uint64_t off;
    uint32_t len;
  };
  std::vector<Want> wants;
  for (uint64_t i = 0; i < 24; ++i) {
    wants.push_back({i * (1 << 20) + i * 4096, 1u << 20});
    wants.push_back({i * 65536 + 512, 4096});
    wants.push_back({(i + 7) * 65536, 65536});
  }
  wants.push_back({3 * 4096, kMaxBlockSize});
  uint64_t big = 0;
  for (const Want& w : wants) big += w.len >= DeviceBackend::kZeroCopyMinimum;
  const uint64_t before = ZeroCopyReads();

  std::vector<Bytes> got(wants.size());
  size_t done = 0;
  for (size_t i = 0; i < wants.size(); ++i) {
    got[i].resize(wants[i].len);
    client->Read(wants[i].off, wants[i].len, got[i].data(), [&, i](Status st) {
      EXPECT_TRUE(st.ok()) << i << ": " << st.ToString();
      ++done;
    });
  }
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] { return done == wants.size(); }));
  for (size_t i = 0; i < wants.size(); ++i) {
    ASSERT_TRUE(got[i] == Expected(wants[i].off, wants[i].len))
        << wants[i].len << " bytes at " << wants[i].off;
  }
  EXPECT_EQ(ZeroCopyReads() - before, big) << "every read of 64 KiB or more came from the cache";

  // A write, then a read of the same bytes: the read sees the write.
  const Bytes fresh = Pattern(1 << 20, 99);
  bool written = false, read = false;
  client->Write(5 << 20, 1 << 20, fresh.data(), false, [&](Status st) {
    ASSERT_TRUE(st.ok());
    written = true;
  });
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] { return written; }));
  Bytes back(1 << 20);
  client->Read(5 << 20, 1 << 20, back.data(), [&](Status st) {
    ASSERT_TRUE(st.ok());
    read = true;
  });
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] { return read; }));
  EXPECT_TRUE(back == fresh);
  EXPECT_EQ(ZeroCopyReads() - before, big + 1);

  bool gone = false;
  client->Disconnect([&](Status) { gone = true; });
  ASSERT_TRUE(RunClientLoopUntil(loop, [&] { return gone; }));
  EXPECT_TRUE(server_.WaitFor([&] { return backend_->openers() == 0; }));
}

TEST_P(ZeroCopyRead, RangesNotInThePageCacheAreReadFromTheDevice) {
  // Written back (the pages are clean), then dropped from the cache.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fdatasync(fd), 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ::close(fd);
  BlockingClient c;
  ASSERT_TRUE(c.Connect(Endpoint(), Options()).ok());
  const uint64_t before = ZeroCopyReads();
  Bytes back(1 << 20);
  ASSERT_TRUE(c.Read(9 << 20, 1 << 20, back.data()).ok());
  EXPECT_TRUE(back == Expected(9 << 20, 1 << 20));
  EXPECT_EQ(ZeroCopyReads(), before) << "a range not in the cache goes through the device";
  // That read brought the range into the cache; the next one is sent from it.
  Bytes again(1 << 20);
  ASSERT_TRUE(c.Read(9 << 20, 1 << 20, again.data()).ok());
  EXPECT_TRUE(again == Expected(9 << 20, 1 << 20));
  EXPECT_EQ(ZeroCopyReads(), before + 1);
}

TEST_P(ZeroCopyRead, AClientLeavingMidReplyDisturbsNothing) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto raw = GetParam().tcp ? RawSocket::ConnectTcp("127.0.0.2", port_)
                              : RawSocket::ConnectUnix(socket_);
    ASSERT_NE(raw, nullptr);
    ASSERT_TRUE(raw->Handshake("r0", GetParam().structured));
    const uint64_t before = ZeroCopyReads();
    ASSERT_TRUE(raw->Send(RequestBytes(kCmdRead, 0, kMaxBlockSize)));
    // The header and the start of the data arrive; then the client is gone.
    EXPECT_EQ(raw->Recv(64 << 10).size(), size_t{64} << 10);
    EXPECT_EQ(ZeroCopyReads(), before + 1);
    raw->Close();
    EXPECT_TRUE(server_.WaitFor([&] { return server_.server().connections().count() == 0; }));
  }
  EXPECT_TRUE(server_.WaitFor([&] { return backend_->openers() == 0; }));
  // The server goes on serving, the same bytes.
  BlockingClient c;
  ASSERT_TRUE(c.Connect(Endpoint(), Options()).ok());
  Bytes back(kMaxBlockSize);
  ASSERT_TRUE(c.Read(0, kMaxBlockSize, back.data()).ok());
  EXPECT_TRUE(back == Expected(0, kMaxBlockSize));
}

// The data a zero-copy header promised cannot be sent (the file ends, as when
// it shrank underneath): the connection is closed, since no reply can follow
// a short one, and nothing else is disturbed. The backend here offers a file
// of 64 KiB for every large read; small reads go to its (memory) device.
class ShortFileBackend : public DeviceBackend {
 public:
  ShortFileBackend(std::unique_ptr<io::BlockDevice> device, int short_file)
      : DeviceBackend(std::move(device), {}), short_file_(short_file) {}
  int ZeroCopyReadFd(uint64_t, uint32_t len) override {
    if (len < kZeroCopyMinimum) return -1;
    ++offered;
    return short_file_;
  }
  int offered = 0;  // on the loop thread

 private:
  int short_file_;
};

TEST(ZeroCopyReadFailure, AFileEndingMidReplyClosesOnlyThatConnection) {
  tandem::testing::ScratchDir dir;
  const std::string short_path = dir.path() + "/short.img";
  testing::MakeFile(short_path, 64 << 10);
  const int short_fd = ::open(short_path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(short_fd, 0);
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto backend = std::make_shared<ShortFileBackend>(
      std::make_unique<io::MemBlockDevice>(server.loop(), 16 << 20), short_fd);
  ASSERT_TRUE(server.server().exports().Add("r0", backend).ok());
  const std::string sock = server.ListenUnix(dir.path() + "/r0.sock");
  server.Run();
  ClientOptions options;
  options.export_name = "r0";

  BlockingClient bystander;
  ASSERT_TRUE(bystander.Connect(ClientEndpoint::Unix(sock), options).ok());
  const Bytes data = Pattern(4096, 7);
  ASSERT_TRUE(bystander.Write(8192, 4096, data.data()).ok());

  BlockingClient victim(std::chrono::seconds(10));  // a hang fails, not blocks
  ASSERT_TRUE(victim.Connect(ClientEndpoint::Unix(sock), options).ok());
  Bytes big(1 << 20);
  const Status st = victim.Read(0, 1 << 20, big.data());
  EXPECT_FALSE(st.ok()) << "a reply cut short must not look like a successful read";
  EXPECT_TRUE(server.WaitFor([&] { return server.server().connections().count() == 1; }))
      << "the connection whose reply could not be completed is closed";
  EXPECT_EQ(server.OnLoop([&] { return backend->offered; }), 1);

  // The other client still works, with its bytes.
  Bytes back(4096);
  ASSERT_TRUE(bystander.Read(8192, 4096, back.data()).ok());
  EXPECT_EQ(back, data);
  ASSERT_TRUE(bystander.Disconnect().ok());
  server.Shutdown();
  ::close(short_fd);
}

INSTANTIATE_TEST_SUITE_P(Modes, ZeroCopyRead,
                         testing::AllTransportModes(), testing::TransportModeName);

}  // namespace
}  // namespace tandem::nbd
