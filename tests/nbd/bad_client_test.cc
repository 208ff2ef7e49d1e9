// Clients that misbehave, spoken by hand over raw sockets: garbage, bad
// magics, truncated headers, oversized lengths, unknown commands, requests
// past the end, and clients that hang up in the middle of a write. After each,
// the server still serves, and the data is exactly what was acknowledged.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "nbd/blocking_client.h"
#include "nbd/reply.h"
#include "nbd/wire.h"
#include "nbd_test_util.h"
#include "testing/test_util.h"

namespace tandem::nbd {
namespace {

using testing::Bytes;
using testing::Pattern;
using testing::RawSocket;
using testing::RequestBytes;

constexpr uint64_t kSize = 16 << 20;

class BadClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/disk.img";
    testing::MakeFile(path_, kSize);
    original_ = Pattern(kSize, 1);
    testing::WriteFileRange(path_, 0, original_);
    ASSERT_TRUE(server_.Start().ok());
    backend_ = server_.AddFileExport("r0", path_, io::CacheMode::kDirect);
    sock_ = server_.ListenUnix(dir_.path() + "/r0.sock");
    server_.Run();
  }

  std::unique_ptr<RawSocket> Connect(bool structured = false) {
    auto s = RawSocket::ConnectUnix(sock_);
    EXPECT_TRUE(s);
    if (s) {
      EXPECT_TRUE(s->Handshake("r0", structured));
    }
    return s;
  }

  // Reads one simple reply; returns its error (or -1 if none arrived). A
  // successful reply's `data` bytes are read too, and kept in `*out` if given.
  static int64_t SimpleReply(RawSocket& s, uint64_t handle, size_t data = 0, Bytes* out = nullptr) {
    Bytes r = s.Recv(kSimpleReplySize);
    if (r.size() != kSimpleReplySize) return -1;
    EXPECT_EQ(GetBe32(r.data()), kSimpleReplyMagic);
    EXPECT_EQ(GetBe64(r.data() + 8), handle);
    const uint32_t error = GetBe32(r.data() + 4);
    if (error == 0 && data > 0) {
      Bytes d = s.Recv(data);
      EXPECT_EQ(d.size(), data);
      if (out != nullptr) *out = std::move(d);
    }
    return error;
  }

  // The server still works: a fresh client reads what the file holds.
  void ExpectServerHealthyAndDataUnchanged() {
    BlockingClient c;
    ClientOptions o;
    o.export_name = "r0";
    ASSERT_TRUE(c.Connect(ClientEndpoint::Unix(sock_), o).ok());
    Bytes back(1 << 20);
    ASSERT_TRUE(c.Read(0, 1 << 20, back.data()).ok());
    EXPECT_TRUE(std::equal(back.begin(), back.end(), original_.begin()));
    EXPECT_EQ(testing::ReadFileRange(path_, 0, kSize), original_) << "the data changed";
    ASSERT_TRUE(c.Disconnect().ok());
    EXPECT_TRUE(server_.WaitFor([&] { return server_.server().connections().count() == 0; }));
    EXPECT_EQ(server_.OnLoop([&] { return backend_->openers(); }), 0u);
  }

  tandem::testing::ScratchDir dir_;
  std::string path_, sock_;
  Bytes original_;
  testing::TestServer server_;
  std::shared_ptr<DeviceBackend> backend_;
};

TEST_F(BadClientTest, GarbageInsteadOfClientFlagsIsDisconnected) {
  auto s = RawSocket::ConnectUnix(sock_);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->Recv(kGreetingSize).size(), kGreetingSize);
  ASSERT_TRUE(s->Send(Bytes{0xde, 0xad, 0xbe, 0xef, 1, 2, 3}));
  EXPECT_TRUE(s->PeerClosed());
  ExpectServerHealthyAndDataUnchanged();
}

// A slow client: after a large write (its payload received straight into its
// buffer), the following requests arrive a few bytes at a time, one of them a
// refused write whose payload the server must skip. Each reply is awaited
// before the next request, so the replies' order is fixed.
TEST_F(BadClientTest, RequestsTricklingInAfterALargeWriteAreDecoded) {
  auto s = Connect();
  auto trickle = [&](const Bytes& b) {
    for (size_t at = 0, step = 1; at < b.size(); at += step, step = step % 5 + 1) {
      step = std::min(step, b.size() - at);
      if (!s->Send(Bytes(b.begin() + at, b.begin() + at + step))) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  };
  const Bytes first = Pattern(256 << 10, 7), second = Pattern((1 << 20) + 512, 8);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWrite, 0, first.size(), 0, 1)));
  ASSERT_TRUE(s->Send(first));
  ASSERT_EQ(SimpleReply(*s, 1), 0);
  // Past the end: refused, and its payload skipped.
  ASSERT_TRUE(trickle(RequestBytes(kCmdWrite, kSize - 4096, 256 << 10, 0, 2)));
  ASSERT_TRUE(s->Send(Pattern(256 << 10, 9)));
  ASSERT_GT(SimpleReply(*s, 2), 0) << "the write past the end must fail";
  ASSERT_TRUE(trickle(RequestBytes(kCmdWrite, 2 << 20, second.size(), 0, 3)));
  ASSERT_TRUE(s->Send(Bytes(second.begin(), second.begin() + 100)));
  ASSERT_TRUE(s->Send(Bytes(second.begin() + 100, second.end())));
  ASSERT_EQ(SimpleReply(*s, 3), 0);
  ASSERT_TRUE(trickle(RequestBytes(kCmdRead, (2 << 20) + 4096, 4096, 0, 4)));
  Bytes read;
  ASSERT_EQ(SimpleReply(*s, 4, 4096, &read), 0);
  EXPECT_TRUE(read == Bytes(second.begin() + 4096, second.begin() + 8192));
  s.reset();
  std::copy(first.begin(), first.end(), original_.begin());
  std::copy(second.begin(), second.end(), original_.begin() + (2 << 20));
  ExpectServerHealthyAndDataUnchanged();
}

TEST_F(BadClientTest, BadRequestMagicClosesTheConnection) {
  auto s = Connect();
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWrite, 0, 4096, 0, 1, 0x12345678)));
  // The server may have closed already (it needs only the header): the
  // payload's send is allowed to fail.
  (void)s->Send(Pattern(4096, 99));
  EXPECT_TRUE(s->PeerClosed());
  ExpectServerHealthyAndDataUnchanged();
}

TEST_F(BadClientTest, RandomGarbageAfterTheHandshakeNeverChangesData) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    auto s = Connect(round % 2 == 1);
    Bytes junk(1 + rng() % 5000);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    s->Send(junk);
    EXPECT_TRUE(s->PeerClosed()) << round;
  }
  ExpectServerHealthyAndDataUnchanged();
}

TEST_F(BadClientTest, TruncatedHeaderThenHangUp) {
  for (size_t n = 1; n < kRequestSize; n += 3) {
    auto s = Connect();
    Bytes header = RequestBytes(kCmdWrite, 0, 4096);
    header.resize(n);
    ASSERT_TRUE(s->Send(header));
    s->Close();
  }
  ExpectServerHealthyAndDataUnchanged();
}

TEST_F(BadClientTest, OversizedLengthsAreEinvalAndTheSessionContinues) {
  auto s = Connect();
  // A READ over the 32 MiB maximum: refused, no data follows.
  ASSERT_TRUE(s->Send(RequestBytes(kCmdRead, 0, (32u << 20) + 512, 0, 1)));
  EXPECT_EQ(SimpleReply(*s, 1), kEinval);
  // A WRITE over the maximum: refused; its 40 MiB payload is read and thrown away.
  const uint32_t big = 40u << 20;
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWrite, 0, big, 0, 2)));
  std::thread sender([&] { s->Send(Bytes(big, 0x5a)); });
  EXPECT_EQ(SimpleReply(*s, 2, 0), kEinval);
  sender.join();
  // WRITE_ZEROES over the maximum: refused too.
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWriteZeroes, 0, 0xfffffe00, 0, 3)));
  EXPECT_EQ(SimpleReply(*s, 3), kEinval);
  // The stream is still in step: a normal read works.
  ASSERT_TRUE(s->Send(RequestBytes(kCmdRead, 0, 4096, 0, 4)));
  EXPECT_EQ(SimpleReply(*s, 4, 4096), 0);
  s->Close();
  ExpectServerHealthyAndDataUnchanged();
}

TEST_F(BadClientTest, UnknownCommandsAndFlagsAreEinval) {
  auto s = Connect();
  uint64_t h = 1;
  for (uint16_t type : {kCmdCache, kCmdBlockStatus, kCmdResize, uint16_t{42}}) {
    ASSERT_TRUE(s->Send(RequestBytes(type, 0, 4096, 0, h)));
    EXPECT_EQ(SimpleReply(*s, h), kEinval) << type;
    ++h;
  }
  ASSERT_TRUE(s->Send(RequestBytes(kCmdRead, 0, 4096, kCmdFlagNoHole, h)));
  EXPECT_EQ(SimpleReply(*s, h++), kEinval);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWriteZeroes, 0, 4096, kCmdFlagFastZero, h)));
  EXPECT_EQ(SimpleReply(*s, h++), kEinval);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdFlush, 512, 0, 0, h)));
  EXPECT_EQ(SimpleReply(*s, h++), kEinval);
  s->Close();
  ExpectServerHealthyAndDataUnchanged();
}

TEST_F(BadClientTest, PastTheEndAndMisalignedRequestsChangeNothing) {
  auto s = Connect();
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWrite, kSize - 512, 4096, 0, 1)));
  ASSERT_TRUE(s->Send(Pattern(4096, 5)));
  EXPECT_EQ(SimpleReply(*s, 1), kEnospc);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWrite, 0xfffffffffffff000ull, 4096, 0, 2)));
  ASSERT_TRUE(s->Send(Pattern(4096, 6)));
  EXPECT_EQ(SimpleReply(*s, 2), kEnospc) << "offset + length wraps around";
  ASSERT_TRUE(s->Send(RequestBytes(kCmdRead, kSize, 512, 0, 3)));
  EXPECT_EQ(SimpleReply(*s, 3), kEinval);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdTrim, kSize - 4096, 8192, 0, 4)));
  EXPECT_EQ(SimpleReply(*s, 4), kEinval);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWriteZeroes, kSize, 512, 0, 5)));
  EXPECT_EQ(SimpleReply(*s, 5), kEnospc);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWrite, 100, 512, 0, 6)));
  ASSERT_TRUE(s->Send(Pattern(512, 7)));
  EXPECT_EQ(SimpleReply(*s, 6), kEinval) << "not aligned to 512";
  s->Close();
  ExpectServerHealthyAndDataUnchanged();
}

TEST_F(BadClientTest, StructuredErrorsCarryAMessage) {
  auto s = Connect(/*structured=*/true);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdRead, kSize, 4096, 0, 9)));
  Bytes h = s->Recv(kChunkHeaderSize);
  ASSERT_EQ(h.size(), kChunkHeaderSize);
  auto header = DecodeReplyHeader(h);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->type, kReplyTypeError);
  EXPECT_TRUE(header->done());
  EXPECT_EQ(header->handle, 9u);
  Bytes payload = s->Recv(header->length);
  auto e = DecodeErrorChunk(header->type, payload);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->error, kEinval);
  EXPECT_NE(e->message.find("beyond the end"), std::string::npos) << e->message;
}

TEST_F(BadClientTest, HangingUpMidWriteWritesNothingOfThatWrite) {
  auto s = Connect();
  // One complete write, acknowledged; then a write cut off halfway.
  const Bytes first = Pattern(65536, 11);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWrite, 1 << 20, 65536, 0, 1)));
  ASSERT_TRUE(s->Send(first));
  ASSERT_EQ(SimpleReply(*s, 1), 0);
  ASSERT_TRUE(s->Send(RequestBytes(kCmdWrite, 2 << 20, 1 << 20, 0, 2)));
  ASSERT_TRUE(s->Send(Pattern(300000, 12)));
  s->Close();
  EXPECT_TRUE(server_.WaitFor([&] { return server_.server().connections().count() == 0; }));
  EXPECT_EQ(testing::ReadFileRange(path_, 1 << 20, 65536), first) << "acknowledged write lost";
  EXPECT_EQ(testing::ReadFileRange(path_, 2 << 20, 1 << 20),
            Bytes(original_.begin() + (2 << 20), original_.begin() + (3 << 20)))
      << "part of an incomplete write reached the disk";
  std::copy(first.begin(), first.end(), original_.begin() + (1 << 20));
  ExpectServerHealthyAndDataUnchanged();
}

TEST_F(BadClientTest, HangingUpWithManyWritesInFlightLosesNoCompleteWrite) {
  auto s = Connect();
  constexpr int kWrites = 64;
  Bytes stream;
  for (int i = 0; i < kWrites; ++i) {
    Bytes h = RequestBytes(kCmdWrite, uint64_t(i) * 65536, 65536, i % 3 == 0 ? kCmdFlagFua : 0,
                           uint64_t(i) + 1);
    stream.insert(stream.end(), h.begin(), h.end());
    Bytes d = Pattern(65536, 1000 + i);
    stream.insert(stream.end(), d.begin(), d.end());
    std::copy(d.begin(), d.end(), original_.begin() + i * 65536);
  }
  std::thread sender([&] { s->Send(stream); });
  sender.join();
  s->Close();  // without reading a single reply
  EXPECT_TRUE(server_.WaitFor([&] { return server_.server().connections().count() == 0; }));
  ExpectServerHealthyAndDataUnchanged();
}

TEST_F(BadClientTest, DisconnectAnswersOutstandingRequestsFirst) {
  auto s = Connect();
  Bytes stream;
  for (int i = 0; i < 16; ++i) {
    Bytes h = RequestBytes(kCmdWrite, uint64_t(i) * 4096, 4096, 0, uint64_t(i) + 1);
    stream.insert(stream.end(), h.begin(), h.end());
    Bytes d = Pattern(4096, 2000 + i);
    stream.insert(stream.end(), d.begin(), d.end());
    std::copy(d.begin(), d.end(), original_.begin() + i * 4096);
  }
  Bytes disc = RequestBytes(kCmdDisc, 0, 0, 0, 99);
  stream.insert(stream.end(), disc.begin(), disc.end());
  ASSERT_TRUE(s->Send(stream));
  Bytes replies = s->Recv(16 * kSimpleReplySize);
  EXPECT_EQ(replies.size(), 16 * kSimpleReplySize);
  EXPECT_TRUE(s->PeerClosed());
  ExpectServerHealthyAndDataUnchanged();
}

}  // namespace
}  // namespace tandem::nbd
