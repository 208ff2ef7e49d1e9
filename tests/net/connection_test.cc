// PeerConnection over real loopback TCP sockets: packets of every shape arrive
// intact and in order, large batches of queued sends all go out, and the end
// of the connection (peer close, Close(), malformed input) is reported to the
// sink exactly once with the right status.
#include "net/connection.h"

#include <gtest/gtest.h>

#include <boost/asio/write.hpp>
#include <deque>

#include "net/net_test_util.h"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
using testing::LoopbackPair;
using testing::RecordingSink;
using testing::RunFor;
using testing::RunUntil;
using Bytes = std::vector<uint8_t>;
namespace asio = boost::asio;

Bytes Pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    b[i] = static_cast<uint8_t>(x >> 16);
  }
  return b;
}

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto [a, b] = LoopbackPair(loop_);
    a_ = std::make_shared<PeerConnection>(std::move(a), "peer-b");
    b_ = std::make_shared<PeerConnection>(std::move(b), "peer-a");
  }
  void TearDown() override {
    for (auto* c : {&a_, &b_}) {
      if (*c) {
        (*c)->Detach();
        (*c)->Close(Status::Aborted("test over"));
      }
    }
    a_.reset();
    b_.reset();
    RunFor(loop_, 200ms);
  }

  // Runs the loop until `sink` has `n` events; fails if the connection
  // closed, more arrived, or `timeout` passed first.
  ::testing::AssertionResult ReceiveExactly(RecordingSink& sink, size_t n,
                                            std::chrono::seconds timeout = 30s) {
    RunUntil(
        loop_, [&] { return sink.events.size() >= n || !sink.closed.empty(); }, timeout);
    if (!sink.closed.empty()) {
      return ::testing::AssertionFailure() << "closed: " << sink.closed[0].ToString();
    }
    if (sink.events.size() != n) {
      return ::testing::AssertionFailure()
             << "received " << sink.events.size() << " packets, expected " << n;
    }
    return ::testing::AssertionSuccess();
  }

  asio::io_context loop_;
  RecordingSink sink_a_, sink_b_;
  std::shared_ptr<PeerConnection> a_, b_;
};

// What the test sent, to compare with what arrived.
struct Sent {
  PacketType type;
  ControlPacket control;
  DataPrefix data;
  DataReplyPrefix reply;
  RsDataPrefix rs;
  size_t payload = 0;  // index into the payload store, for bulk
};

TEST_F(ConnectionTest, MixedControlAndBulkPacketsArriveIntactAndInOrder) {
  a_->Start(&sink_a_);
  b_->Start(&sink_b_);
  std::deque<Bytes> payloads;  // must stay valid until sent
  std::vector<Sent> sent;
  int callbacks = 0;
  const int kPackets = 600;
  for (int i = 0; i < kPackets; ++i) {
    Sent s{};
    switch (i % 6) {
      case 0:
        s.type = PacketType::kPing;
        s.control = Ping{0x1000000000000000ull + static_cast<uint64_t>(i)};
        a_->SendControl(s.type, s.control, [&] { ++callbacks; });
        break;
      case 1: {
        s.type = PacketType::kData;
        const size_t len = 512u * static_cast<size_t>(1 + i % 17);
        payloads.push_back(Pattern(len, static_cast<uint32_t>(i)));
        s.payload = payloads.size() - 1;
        s.data = DataPrefix{static_cast<uint64_t>(i),
                            4096ull * static_cast<uint64_t>(i),
                            static_cast<uint32_t>(len),
                            static_cast<uint32_t>(i / 6),
                            (i % 12 == 1) ? uint32_t{kDataFua} : 0u,
                            (i % 4 == 1) ? Pattern(20, static_cast<uint32_t>(i) + 7) : Bytes{}};
        a_->SendBulk(EncodeDataPrefix(s.data), payloads.back().data(), len, [&] { ++callbacks; });
        break;
      }
      case 2:
        s.type = PacketType::kError;
        s.control = ErrorPacket{static_cast<uint32_t>(i), std::string(static_cast<size_t>(i), 'e')};
        a_->SendControl(s.type, s.control, [&] { ++callbacks; });
        break;
      case 3: {
        s.type = PacketType::kDataReply;
        const bool failed = i % 5 == 0;
        const size_t len = failed ? 0 : 4096;
        payloads.push_back(Pattern(len, static_cast<uint32_t>(i)));
        s.payload = payloads.size() - 1;
        s.reply =
            DataReplyPrefix{static_cast<uint64_t>(i), failed ? -5 : 0, static_cast<uint32_t>(len)};
        a_->SendBulk(EncodeDataReplyPrefix(s.reply), payloads.back().data(), len,
                     [&] { ++callbacks; });
        break;
      }
      case 4: {
        s.type = PacketType::kRsData;
        const bool in_sync = i % 8 == 4;
        s.rs = RsDataPrefix{static_cast<uint64_t>(i), 65536ull * static_cast<uint64_t>(i), 8192,
                            in_sync ? uint8_t{kRsInSync} : uint8_t{0}};
        payloads.push_back(in_sync ? Bytes{} : Pattern(8192, static_cast<uint32_t>(i)));
        s.payload = payloads.size() - 1;
        a_->SendBulk(EncodeRsDataPrefix(s.rs), payloads.back().data(), payloads.back().size(),
                     [&] { ++callbacks; });
        break;
      }
      case 5:
        s.type = PacketType::kBitmap;
        s.control = BitmapChunk{static_cast<uint64_t>(i),
                                std::vector<uint64_t>(static_cast<size_t>(i % 50), 0xF0F0ull + i)};
        a_->SendControl(s.type, s.control, [&] { ++callbacks; });
        break;
    }
    sent.push_back(std::move(s));
    // Let some go out while others are queued.
    if (i % 97 == 0) RunFor(loop_, 1ms);
  }
  ASSERT_TRUE(ReceiveExactly(sink_b_, sent.size()));
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE("packet " + std::to_string(i));
    const auto& e = sink_b_.events[i];
    const Sent& s = sent[i];
    ASSERT_EQ(e.type, s.type);
    switch (s.type) {
      case PacketType::kPing:
        EXPECT_EQ(std::get<Ping>(e.control).nonce, std::get<Ping>(s.control).nonce);
        break;
      case PacketType::kError:
        EXPECT_EQ(std::get<ErrorPacket>(e.control).code, std::get<ErrorPacket>(s.control).code);
        EXPECT_EQ(std::get<ErrorPacket>(e.control).message,
                  std::get<ErrorPacket>(s.control).message);
        break;
      case PacketType::kBitmap:
        EXPECT_EQ(std::get<BitmapChunk>(e.control).first_word,
                  std::get<BitmapChunk>(s.control).first_word);
        EXPECT_EQ(std::get<BitmapChunk>(e.control).words, std::get<BitmapChunk>(s.control).words);
        break;
      case PacketType::kData:
        ASSERT_EQ(e.kind, RecordingSink::Event::kData);
        EXPECT_EQ(e.data.id, s.data.id);
        EXPECT_EQ(e.data.offset, s.data.offset);
        EXPECT_EQ(e.data.length, s.data.length);
        EXPECT_EQ(e.data.epoch, s.data.epoch);
        EXPECT_EQ(e.data.flags, s.data.flags);
        EXPECT_EQ(e.data.digest, s.data.digest);
        EXPECT_EQ(e.bytes, payloads[s.payload]);
        break;
      case PacketType::kDataReply:
        ASSERT_EQ(e.kind, RecordingSink::Event::kDataReply);
        EXPECT_EQ(e.reply.id, s.reply.id);
        EXPECT_EQ(e.reply.err, s.reply.err);
        EXPECT_EQ(e.reply.length, s.reply.length);
        EXPECT_EQ(e.bytes, payloads[s.payload]);
        break;
      case PacketType::kRsData:
        ASSERT_EQ(e.kind, RecordingSink::Event::kRsData);
        EXPECT_EQ(e.rs.id, s.rs.id);
        EXPECT_EQ(e.rs.offset, s.rs.offset);
        EXPECT_EQ(e.rs.length, s.rs.length);
        EXPECT_EQ(e.rs.flags, s.rs.flags);
        EXPECT_EQ(e.bytes, payloads[s.payload]);
        break;
      default:
        FAIL() << "unexpected type";
    }
  }
  EXPECT_TRUE(RunUntil(loop_, [&] { return callbacks == kPackets; })) << callbacks;
  EXPECT_EQ(a_->queued_bytes(), 0u);
  EXPECT_EQ(a_->bytes_sent(), b_->bytes_received());
  EXPECT_TRUE(sink_a_.events.empty());
}

// Runs of large bulk packets (sizes around the 256 KiB receive buffer, with
// digests or none), each partly read with the packets before it and partly
// straight into its own buffer, mixed with 64 KiB control packets and small
// bulk packets: all arrive whole and in order.
TEST_F(ConnectionTest, RunsOfLargeBulkPacketsMixedWithOthersArriveIntact) {
  a_->Start(&sink_a_);
  b_->Start(&sink_b_);
  const uint32_t kBuffer = 256u << 10;  // PeerConnection's receive buffer
  const uint32_t sizes[] = {1u << 20,       kBuffer, kBuffer - 512,   3u << 20,
                            kBuffer + 4096, 4096,    (1u << 20) + 512};
  std::deque<Bytes> payloads;
  std::vector<std::pair<PacketType, size_t>> sent;  // type, payload index (bulk)
  for (int round = 0; round < 4; ++round) {
    for (size_t k = 0; k < std::size(sizes); ++k) {
      const uint32_t len = sizes[k];
      const uint32_t seed = static_cast<uint32_t>(payloads.size());
      payloads.push_back(Pattern(len, seed));
      if (k % 3 == 1) {
        RsDataPrefix rs{seed, uint64_t{seed} << 20, len, 0};
        a_->SendBulk(EncodeRsDataPrefix(rs), payloads.back().data(), len);
        sent.emplace_back(PacketType::kRsData, payloads.size() - 1);
      } else {
        DataPrefix d{seed, uint64_t{seed} << 20,
                     len,  1,
                     0,    (k % 2 == 0) ? Pattern(kMaxDigestLength, seed + 1) : Bytes{}};
        a_->SendBulk(EncodeDataPrefix(d), payloads.back().data(), len);
        sent.emplace_back(PacketType::kData, payloads.size() - 1);
      }
      if (k == 2) {  // a control packet of about 64 KiB right after a large one
        a_->SendControl(PacketType::kBitmap,
                        BitmapChunk{seed, std::vector<uint64_t>(kMaxBitmapWordsPerPacket, seed)});
        sent.emplace_back(PacketType::kBitmap, seed);
      }
      if (k == 4) {
        a_->SendControl(PacketType::kPing, Ping{seed});
        sent.emplace_back(PacketType::kPing, seed);
      }
    }
    if (round == 1) RunFor(loop_, 1ms);
  }
  ASSERT_TRUE(ReceiveExactly(sink_b_, sent.size()));
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE("packet " + std::to_string(i));
    const auto& e = sink_b_.events[i];
    ASSERT_EQ(e.type, sent[i].first);
    switch (sent[i].first) {
      case PacketType::kData:
        EXPECT_EQ(e.data.id, sent[i].second);
        EXPECT_EQ(e.data.digest.size(), (e.data.id % 7) % 2 == 0 ? kMaxDigestLength : 0u);
        EXPECT_TRUE(e.bytes == payloads[sent[i].second]);
        break;
      case PacketType::kRsData:
        EXPECT_EQ(e.rs.id, sent[i].second);
        EXPECT_TRUE(e.bytes == payloads[sent[i].second]);
        break;
      case PacketType::kBitmap:
        EXPECT_EQ(std::get<BitmapChunk>(e.control).words,
                  std::vector<uint64_t>(kMaxBitmapWordsPerPacket, sent[i].second));
        break;
      default:
        EXPECT_EQ(std::get<Ping>(e.control).nonce, sent[i].second);
    }
  }
  EXPECT_EQ(a_->bytes_sent(), b_->bytes_received());
}

// The packets after a large one (whose data was received straight into its
// buffer) arrive a few bytes at a time: each read adds to a partial header or
// prefix already held.
TEST_F(ConnectionTest, PacketsTricklingInAfterALargeOneArriveIntact) {
  a_->Start(&sink_a_);
  asio::ip::tcp::socket& raw = b_->socket();
  const Bytes first = Pattern(512u << 10, 1), second = Pattern((1u << 20) + 512, 2);
  auto packet = [](const DataPrefix& d, const Bytes& data) {
    Bytes p = EncodeDataPrefix(d);
    p.insert(p.end(), data.begin(), data.end());
    return p;
  };
  Bytes stream = packet(DataPrefix{1, 0, static_cast<uint32_t>(first.size()), 1, 0, {}}, first);
  const size_t second_at = stream.size();
  Bytes more = packet(
      DataPrefix{2, 1 << 20, static_cast<uint32_t>(second.size()), 1, 0, Pattern(32, 3)}, second);
  stream.insert(stream.end(), more.begin(), more.end());
  const size_t ping_at = stream.size();
  more = EncodeControl(PacketType::kPing, Ping{77});
  stream.insert(stream.end(), more.begin(), more.end());
  // The first packet whole; then the second's header and prefix, and the
  // ping, in pieces of 1 to 7 bytes with the receiver running in between.
  // The receiver reads on this thread: no blocking write may be larger than
  // the socket buffers can take, so large sends go 32 KiB at a time.
  size_t at = 0;
  auto send = [&](size_t n) {
    while (n > 0) {
      const size_t piece = std::min<size_t>(n, 32 << 10);
      asio::write(raw, asio::buffer(stream.data() + at, piece));
      at += piece;
      n -= piece;
      RunFor(loop_, 2ms);
    }
  };
  send(second_at);
  for (size_t step = 1; at < second_at + kHeaderSize + kDataPrefix + 32 + 20; step = step % 7 + 1) {
    send(step);
  }
  send(ping_at - at);
  while (at < stream.size()) send(std::min<size_t>(3, stream.size() - at));
  ASSERT_TRUE(ReceiveExactly(sink_a_, 3));
  EXPECT_EQ(sink_a_.events[0].data.id, 1u);
  EXPECT_TRUE(sink_a_.events[0].bytes == first);
  EXPECT_EQ(sink_a_.events[1].data.id, 2u);
  EXPECT_EQ(sink_a_.events[1].data.digest, Pattern(32, 3));
  EXPECT_TRUE(sink_a_.events[1].bytes == second);
  EXPECT_EQ(std::get<Ping>(sink_a_.events[2].control).nonce, 77u);
  EXPECT_EQ(a_->bytes_received(), stream.size());
}

TEST_F(ConnectionTest, BothDirectionsAtOnce) {
  a_->Start(&sink_a_);
  b_->Start(&sink_b_);
  for (uint64_t i = 0; i < 200; ++i) {
    a_->SendControl(PacketType::kPing, Ping{i});
    b_->SendControl(PacketType::kPingAck, Ping{1000 + i});
  }
  ASSERT_TRUE(RunUntil(
      loop_, [&] { return sink_a_.events.size() == 200 && sink_b_.events.size() == 200; }));
  for (uint64_t i = 0; i < 200; ++i) {
    EXPECT_EQ(sink_b_.events[i].type, PacketType::kPing);
    EXPECT_EQ(std::get<Ping>(sink_b_.events[i].control).nonce, i);
    EXPECT_EQ(sink_a_.events[i].type, PacketType::kPingAck);
    EXPECT_EQ(std::get<Ping>(sink_a_.events[i].control).nonce, 1000 + i);
  }
}

TEST_F(ConnectionTest, HugeGatherOfQueuedSendsAllArrive) {
  b_->Start(&sink_b_);
  a_->Start(&sink_a_);
  // Everything is queued before the loop runs once: many gathers of up to 64.
  const int kControl = 20000;
  const size_t kBig = 4u << 20;
  const Bytes big = Pattern(kBig, 99);
  int sent_callbacks = 0;
  size_t expected_bytes = 0;
  std::vector<int> order;
  for (int i = 0; i < kControl; ++i) {
    if (i % 5000 == 2500) {
      auto prefix = EncodeDataPrefix(
          DataPrefix{static_cast<uint64_t>(i), 0, static_cast<uint32_t>(kBig), 1, 0, {}});
      expected_bytes += prefix.size() + kBig;
      a_->SendBulk(std::move(prefix), big.data(), big.size(), [&, i] {
        ++sent_callbacks;
        order.push_back(i);
      });
    }
    ControlPacket p = SyncDone{static_cast<uint64_t>(i)};
    expected_bytes += EncodeControl(PacketType::kSyncDone, p).size();
    a_->SendControl(PacketType::kSyncDone, p, [&, i] {
      ++sent_callbacks;
      order.push_back(i);
    });
  }
  EXPECT_EQ(a_->queued_bytes(), expected_bytes);
  const int total = kControl + 4;
  ASSERT_TRUE(ReceiveExactly(sink_b_, static_cast<size_t>(total), 60s));
  uint64_t next = 0;
  int bulk = 0;
  for (const auto& e : sink_b_.events) {
    if (e.kind == RecordingSink::Event::kData) {
      ++bulk;
      EXPECT_EQ(e.data.id, next) << "DATA before SYNC_DONE " << next;
      ASSERT_EQ(e.bytes.size(), kBig);
      EXPECT_TRUE(e.bytes == big);
      continue;
    }
    ASSERT_EQ(e.type, PacketType::kSyncDone);
    ASSERT_EQ(std::get<SyncDone>(e.control).blocks, next);
    ++next;
  }
  EXPECT_EQ(bulk, 4);
  EXPECT_EQ(next, static_cast<uint64_t>(kControl));
  ASSERT_TRUE(RunUntil(loop_, [&] { return sent_callbacks == total; }));
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(a_->bytes_sent(), expected_bytes);
  EXPECT_EQ(b_->bytes_received(), expected_bytes);
  EXPECT_EQ(a_->queued_bytes(), 0u);
}

TEST_F(ConnectionTest, PeerClosingReportsOnClosedExactlyOnce) {
  a_->Start(&sink_a_);
  b_->Start(&sink_b_);
  a_->SendControl(PacketType::kPing, Ping{5});
  ASSERT_TRUE(RunUntil(loop_, [&] { return sink_b_.events.size() == 1; }));
  b_->Detach();
  b_->Close(Status::Aborted("bye"));
  ASSERT_TRUE(RunUntil(loop_, [&] { return !sink_a_.closed.empty(); }));
  EXPECT_EQ(sink_a_.closed[0].code(), Status::Code::kAborted) << sink_a_.closed[0].ToString();
  EXPECT_TRUE(a_->closed());
  // Closing again, sending after the end: nothing more is reported.
  a_->Close(Status::IoError("again"));
  a_->SendControl(PacketType::kPing, Ping{6});
  RunFor(loop_, 100ms);
  EXPECT_EQ(sink_a_.closed.size(), 1u);
  EXPECT_TRUE(sink_b_.closed.empty());  // detached before closing
}

TEST_F(ConnectionTest, PeerClosingMidPayloadIsReportedOnce) {
  a_->Start(&sink_a_);
  asio::ip::tcp::socket& raw = b_->socket();
  // Half a SIZES packet, then the socket goes away.
  Bytes whole = EncodeControl(PacketType::kSizes, Sizes{1, 2});
  asio::write(raw, asio::buffer(whole.data(), whole.size() - 5));
  RunFor(loop_, 20ms);
  b_->Detach();
  b_->Close(Status::Aborted("bye"));
  ASSERT_TRUE(RunUntil(loop_, [&] { return !sink_a_.closed.empty(); }));
  EXPECT_FALSE(sink_a_.closed[0].ok());
  EXPECT_TRUE(sink_a_.events.empty());
  RunFor(loop_, 50ms);
  EXPECT_EQ(sink_a_.closed.size(), 1u);
}

TEST_F(ConnectionTest, LocalCloseReportsItsStatusOnce) {
  a_->Start(&sink_a_);
  b_->Start(&sink_b_);
  a_->Close(Status::Aborted("shutting down"));
  a_->Close(Status::IoError("twice"));
  ASSERT_TRUE(RunUntil(loop_, [&] { return !sink_a_.closed.empty() && !sink_b_.closed.empty(); }));
  RunFor(loop_, 50ms);
  ASSERT_EQ(sink_a_.closed.size(), 1u);
  EXPECT_EQ(sink_a_.closed[0].code(), Status::Code::kAborted);
  EXPECT_EQ(sink_a_.closed[0].message(), "shutting down");
  EXPECT_EQ(sink_b_.closed.size(), 1u);
}

// Malformed input from the peer, written raw to b's socket; a must close with
// ProtocolError and deliver nothing of it.
class ConnectionMalformedInputTest : public ConnectionTest {
 protected:
  Status Feed(const Bytes& bytes) {
    a_->Start(&sink_a_);
    asio::write(b_->socket(), asio::buffer(bytes));
    EXPECT_TRUE(RunUntil(
        loop_, [&] { return !sink_a_.closed.empty(); }, 10s));
    RunFor(loop_, 20ms);
    EXPECT_EQ(sink_a_.closed.size(), 1u);
    return sink_a_.closed.empty() ? Status::Ok() : sink_a_.closed[0];
  }
};

Bytes RawHeader(uint32_t magic, uint16_t type, uint16_t flags, uint32_t length) {
  uint8_t b[kHeaderSize];
  EncodeHeader(static_cast<PacketType>(type), length, b);
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(magic >> (24 - 8 * i));
  b[6] = static_cast<uint8_t>(flags >> 8);
  b[7] = static_cast<uint8_t>(flags);
  return Bytes(b, b + kHeaderSize);
}

TEST_F(ConnectionMalformedInputTest, BadMagic) {
  Status s = Feed(RawHeader(0x47455420, 30, 0, 8));
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
  EXPECT_TRUE(sink_a_.events.empty());
}

TEST_F(ConnectionMalformedInputTest, GoodPacketThenUnknownType) {
  Bytes bytes = EncodeControl(PacketType::kPing, Ping{1});
  Bytes bad = RawHeader(0x544E4450, 77, 0, 0);
  bytes.insert(bytes.end(), bad.begin(), bad.end());
  Status s = Feed(bytes);
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
  ASSERT_EQ(sink_a_.events.size(), 1u);  // the good one before it
  EXPECT_EQ(sink_a_.events[0].type, PacketType::kPing);
}

TEST_F(ConnectionMalformedInputTest, ReservedFlags) {
  Status s = Feed(RawHeader(0x544E4450, 30, 0x0100, 8));
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
}

TEST_F(ConnectionMalformedInputTest, FourGigabyteLengthIsRefusedAtTheHeader) {
  Status s = Feed(RawHeader(0x544E4450, static_cast<uint16_t>(PacketType::kData), 0, 0xFFFFFFFF));
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
  EXPECT_EQ(a_->bytes_received(), kHeaderSize);
}

TEST_F(ConnectionMalformedInputTest, InvalidControlPayload) {
  Bytes bytes = EncodeControl(PacketType::kState, StatePacket{1, 8, 0});
  bytes[kHeaderSize] = 7;  // role 7
  Status s = Feed(bytes);
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
  EXPECT_TRUE(sink_a_.events.empty());
}

TEST_F(ConnectionMalformedInputTest, BulkShorterThanItsPrefix) {
  Status s = Feed(RawHeader(0x544E4450, static_cast<uint16_t>(PacketType::kRsData), 0, 5));
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
}

TEST_F(ConnectionMalformedInputTest, DataDigestLongerThanThePayload) {
  Bytes prefix = EncodeDataPrefix(DataPrefix{1, 0, 512, 1, 0, Bytes(40, 1)});
  // Header says prefix only (29 + 40 = 69 > 40).
  Bytes bytes = RawHeader(0x544E4450, static_cast<uint16_t>(PacketType::kData), 0, 40);
  bytes.insert(bytes.end(), prefix.begin() + kHeaderSize, prefix.end());
  Status s = Feed(bytes);
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
  EXPECT_TRUE(sink_a_.events.empty());
}

TEST_F(ConnectionMalformedInputTest, DataLengthDisagreesWithTheHeader) {
  Bytes prefix = EncodeDataPrefix(DataPrefix{1, 0, 512, 1, 0, {}});
  // Claims 29 + 1024 in the header while the prefix says 512.
  Bytes bytes = RawHeader(0x544E4450, static_cast<uint16_t>(PacketType::kData), 0, 29 + 1024);
  bytes.insert(bytes.end(), prefix.begin() + kHeaderSize, prefix.end());
  bytes.resize(bytes.size() + 1024, 0xAB);
  Status s = Feed(bytes);
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
  EXPECT_TRUE(sink_a_.events.empty());
}

}  // namespace
}  // namespace tandem::net
