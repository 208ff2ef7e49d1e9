// Encoding and decoding of replication packets (docs/wire-protocol.md): the
// header checks, a round trip of every control packet, the bulk prefixes,
// truncation at every byte, trailing bytes, the length and value limits, and
// the exact big-endian layout of a few packets.
#include "net/packet.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <set>
#include <tuple>

// The largest single allocation made while tracking is on: proves that an
// absurd length on the wire is refused before anything is allocated for it.
namespace {
std::atomic<bool> g_track_allocations{false};
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_track_allocations.load(std::memory_order_relaxed)) {
    size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// The replaced operator new above allocates with malloc: free is the match.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace tandem::net {
namespace {

using Bytes = std::vector<uint8_t>;

// Every packet type of the table in docs/wire-protocol.md.
const std::vector<uint16_t> kDocumentedTypes = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 20,
                                                21, 22, 23, 24, 25, 26, 27, 28, 30, 31, 32, 40,
                                                41, 42, 43, 44, 45, 46, 47, 48, 49, 50};

// Field-by-field comparison of decoded packets.
auto Fields(const Hello& x) {
  return std::tie(x.version_min, x.version_max, x.features, x.node, x.resource);
}
auto Fields(const AuthChallenge& x) {
  return std::tie(x.algorithm, x.challenge);
}
auto Fields(const AuthResponse& x) {
  return std::tie(x.digest);
}
auto Fields(const AuthResult& x) {
  return std::tie(x.accepted);
}
auto Fields(const Established&) {
  return std::tuple<>();
}
auto Fields(const Params& x) {
  return std::tie(x.protocol, x.two_primaries, x.after_sb_0pri, x.after_sb_1pri, x.after_sb_2pri,
                  x.integrity_alg);
}
auto Fields(const Sizes& x) {
  return std::tie(x.usable, x.limit);
}
auto Fields(const Uuids& x) {
  return std::tie(x.current, x.bitmap, x.history1, x.history2, x.out_of_sync_bits, x.flags,
                  x.primary_since_ms);
}
auto Fields(const StatePacket& x) {
  return std::tie(x.role, x.disk, x.user_flags);
}
auto Fields(const StateRequest& x) {
  return std::tie(x.id, x.what, x.argument);
}
auto Fields(const StateReply& x) {
  return std::tie(x.id, x.result);
}
auto Fields(const Ack& x) {
  return std::tie(x.id);
}
auto Fields(const NegAck& x) {
  return std::tie(x.id, x.err);
}
auto Fields(const FlushPacket& x) {
  return std::tie(x.id);
}
auto Fields(const FlushAck& x) {
  return std::tie(x.id, x.err);
}
auto Fields(const Zeroes& x) {
  return std::tie(x.id, x.offset, x.length, x.epoch, x.flags);
}
auto Fields(const DataRequest& x) {
  return std::tie(x.id, x.offset, x.length);
}
auto Fields(const Ping& x) {
  return std::tie(x.nonce);
}
auto Fields(const Disconnect&) {
  return std::tuple<>();
}
auto Fields(const BitmapChunk& x) {
  return std::tie(x.first_word, x.words);
}
auto Fields(const SyncStart& x) {
  return std::tie(x.kind, x.source_uuid);
}
auto Fields(const RsRequest& x) {
  return std::tie(x.id, x.offset, x.length, x.digest);
}
auto Fields(const RsNeg& x) {
  return std::tie(x.id, x.err);
}
auto Fields(const SyncDone& x) {
  return std::tie(x.blocks);
}
auto Fields(const PauseSync&) {
  return std::tuple<>();
}
auto Fields(const ResumeSync&) {
  return std::tuple<>();
}
auto Fields(const VerifyRequest& x) {
  return std::tie(x.id, x.offset, x.length, x.digest);
}
auto Fields(const VerifyReply& x) {
  return std::tie(x.id, x.equal);
}
auto Fields(const ErrorPacket& x) {
  return std::tie(x.code, x.message);
}

bool SamePacket(const ControlPacket& a, const ControlPacket& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return Fields(x) == Fields(std::get<T>(b));
      },
      a);
}

Bytes Seq(size_t n, uint8_t start, uint8_t step) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(start + i * step);
  return b;
}

struct Sample {
  PacketType type;
  ControlPacket packet;
};

// Every control packet type with non-trivial values, plus a few with the
// "other" value of their booleans and empty strings.
std::vector<Sample> ControlSamples() {
  std::vector<Sample> v;
  Hello h;
  h.version_min = 1;
  h.version_max = 7;
  h.features = 0x8000000000000001ull;
  h.node = "alpha.example";
  h.resource = "r0";
  v.push_back({PacketType::kHello, h});
  v.push_back({PacketType::kHello, Hello{3, 3, 0, "", ""}});
  AuthChallenge c;
  c.algorithm = "sha256";
  for (size_t i = 0; i < kChallengeLength; ++i) c.challenge[i] = static_cast<uint8_t>(i * 7 + 3);
  v.push_back({PacketType::kAuthChallenge, c});
  v.push_back({PacketType::kAuthResponse, AuthResponse{Seq(32, 0xA5, 3)}});
  v.push_back({PacketType::kAuthResponse, AuthResponse{}});
  v.push_back({PacketType::kAuthResult, AuthResult{true}});
  v.push_back({PacketType::kAuthResult, AuthResult{false}});
  v.push_back({PacketType::kEstablished, Established{}});
  v.push_back({PacketType::kParams,
               Params{'B', true, "discard-younger-primary", "consensus", "disconnect", "crc32c"}});
  v.push_back({PacketType::kParams, Params{'A', false, "", "", "", ""}});
  v.push_back({PacketType::kParams, Params{'C', false, "x", "", "y", ""}});
  v.push_back({PacketType::kSizes, Sizes{0x0000010000000000ull, 0xFFFFFFFFFFFFFFFFull}});
  v.push_back({PacketType::kUuids,
               Uuids{0x1122334455667788ull, 0x99AABBCCDDEEFF00ull, 1, 0x8000000000000000ull,
                     123456789, kUuidCrashedPrimary | kUuidDiscardMyData, 1732240000123ull}});
  v.push_back({PacketType::kState, StatePacket{1, 8, 1}});
  v.push_back({PacketType::kState, StatePacket{2, 0, 0}});
  v.push_back({PacketType::kStateRequest, StateRequest{0xDEADBEEF, 4, 0xFEDCBA9876543210ull}});
  v.push_back({PacketType::kStateRequest, StateRequest{1, 1, 0}});
  v.push_back({PacketType::kStateReply, StateReply{7, -16}});
  v.push_back({PacketType::kRecvAck, Ack{0x0102030405060708ull}});
  v.push_back({PacketType::kWriteAck, Ack{0xFFFFFFFFFFFFFFFFull}});
  v.push_back({PacketType::kNegAck, NegAck{42, -5}});
  v.push_back({PacketType::kFlush, FlushPacket{77}});
  v.push_back({PacketType::kFlushAck, FlushAck{78, -28}});
  v.push_back({PacketType::kZeroes, Zeroes{0x0A0B0C0D0E0F1011ull, 1ull << 40, 1u << 30, 0x80000001u,
                                           kZeroesMayUnmap | kZeroesFua}});
  v.push_back({PacketType::kZeroes, Zeroes{1, 0, 512, 0, 0}});
  v.push_back({PacketType::kDataRequest, DataRequest{9, 4096ull * 1000000, 65536}});
  v.push_back({PacketType::kPing, Ping{0xCAFEBABE12345678ull}});
  v.push_back({PacketType::kPingAck, Ping{1}});
  v.push_back({PacketType::kDisconnect, Disconnect{}});
  v.push_back({PacketType::kBitmap, BitmapChunk{1000, {0, ~0ull, 0x0123456789ABCDEFull, 1}}});
  v.push_back({PacketType::kBitmap, BitmapChunk{5, {}}});
  v.push_back({PacketType::kSyncStart, SyncStart{2, 0xABCDEF0123456789ull}});
  v.push_back({PacketType::kSyncStart, SyncStart{1, 4}});
  v.push_back({PacketType::kSyncStart, SyncStart{3, 0x55}});
  v.push_back({PacketType::kRsRequest, RsRequest{5, 8192, 4096, Seq(20, 1, 1)}});
  v.push_back({PacketType::kRsNeg, RsNeg{6, -61}});
  v.push_back({PacketType::kSyncDone, SyncDone{123456}});
  v.push_back({PacketType::kPauseSync, PauseSync{}});
  v.push_back({PacketType::kResumeSync, ResumeSync{}});
  v.push_back({PacketType::kVerifyRequest,
               VerifyRequest{7, 0x7FFFFFFF000ull, kMaxDataLength, Seq(64, 0xFF, 0xFF)}});
  v.push_back({PacketType::kVerifyRequest, VerifyRequest{8, 0, 1, {}}});
  v.push_back({PacketType::kVerifyReply, VerifyReply{8, true}});
  v.push_back({PacketType::kVerifyReply, VerifyReply{9, false}});
  v.push_back({PacketType::kError, ErrorPacket{2, "peer offers resource 'x', expected 'y'"}});
  return v;
}

Bytes PayloadOf(const Bytes& whole) {
  return Bytes(whole.begin() + kHeaderSize, whole.end());
}

Result<ControlPacket> Decode(PacketType t, const Bytes& payload) {
  return DecodeControl(t, std::span<const uint8_t>(payload.data(), payload.size()));
}

void ExpectProtocolError(const Status& s, const std::string& context) {
  EXPECT_FALSE(s.ok()) << context;
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << context << ": " << s.ToString();
}

Bytes RawHeader(uint32_t magic, uint16_t type, uint16_t flags, uint32_t length) {
  Bytes b;
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(magic >> s));
  b.push_back(static_cast<uint8_t>(type >> 8));
  b.push_back(static_cast<uint8_t>(type));
  b.push_back(static_cast<uint8_t>(flags >> 8));
  b.push_back(static_cast<uint8_t>(flags));
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(length >> s));
  return b;
}

// --- header -----------------------------------------------------------------

TEST(PacketHeader, EncodesBigEndianAndDecodesEveryDocumentedType) {
  for (uint16_t t : kDocumentedTypes) {
    uint8_t b[kHeaderSize];
    EncodeHeader(static_cast<PacketType>(t), 0x01020304u & 0xFFFF, b);
    const Bytes expected = RawHeader(0x544E4450, t, 0, 0x0304);
    EXPECT_EQ(Bytes(b, b + kHeaderSize), expected) << "type " << t;
    auto h = DecodeHeader(expected);
    ASSERT_TRUE(h.ok()) << "type " << t << ": " << h.status().ToString();
    EXPECT_EQ(static_cast<uint16_t>(h->type), t);
    EXPECT_EQ(h->length, 0x0304u);
    EXPECT_STRNE(PacketTypeName(static_cast<PacketType>(t)), "UNKNOWN") << t;
  }
  EXPECT_STREQ(PacketTypeName(PacketType::kHello), "HELLO");
  EXPECT_STREQ(PacketTypeName(PacketType::kRsData), "RS_DATA");
  EXPECT_STREQ(PacketTypeName(PacketType::kError), "ERROR");
  EXPECT_STREQ(PacketTypeName(static_cast<PacketType>(99)), "UNKNOWN");
}

TEST(PacketHeader, MagicIsTNDP) {
  uint8_t b[kHeaderSize];
  EncodeHeader(PacketType::kPing, 8, b);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(b), 4), "TNDP");
}

TEST(PacketHeader, RejectsWrongMagic) {
  for (uint32_t magic : {0u, 0x504E4454u, 0x544E4451u, 0xFFFFFFFFu, 0x44504E54u}) {
    auto h = DecodeHeader(RawHeader(magic, 30, 0, 8));
    ExpectProtocolError(h.status(), "magic " + std::to_string(magic));
  }
}

TEST(PacketHeader, RejectsUnknownTypes) {
  const std::set<uint16_t> known(kDocumentedTypes.begin(), kDocumentedTypes.end());
  int unknown = 0;
  for (uint32_t t = 0; t <= 0xFFFF; ++t) {
    if (known.count(static_cast<uint16_t>(t))) continue;
    ++unknown;
    auto h = DecodeHeader(RawHeader(0x544E4450, static_cast<uint16_t>(t), 0, 0));
    ASSERT_FALSE(h.ok()) << "type " << t;
    ASSERT_EQ(h.status().code(), Status::Code::kProtocolError) << t;
  }
  EXPECT_EQ(unknown, 65536 - 34);
}

TEST(PacketHeader, RejectsReservedFlags) {
  for (int bit = 0; bit < 16; ++bit) {
    auto h = DecodeHeader(RawHeader(0x544E4450, 30, static_cast<uint16_t>(1u << bit), 8));
    ExpectProtocolError(h.status(), "flag bit " + std::to_string(bit));
  }
  ExpectProtocolError(DecodeHeader(RawHeader(0x544E4450, 1, 0xFFFF, 8)).status(), "all flags");
}

TEST(PacketHeader, TruncatedHeaderIsAnError) {
  const Bytes good = RawHeader(0x544E4450, 30, 0, 8);
  ASSERT_TRUE(DecodeHeader(good).ok());
  for (size_t cut = 0; cut < kHeaderSize; ++cut) {
    auto h = DecodeHeader(std::span<const uint8_t>(good.data(), cut));
    ExpectProtocolError(h.status(), "cut " + std::to_string(cut));
  }
}

TEST(PacketHeader, PerTypeLengthLimits) {
  for (uint16_t t : kDocumentedTypes) {
    const bool bulk = IsBulk(static_cast<PacketType>(t));
    const uint32_t limit = bulk ? kMaxBulkPayload : kMaxControlPayload;
    auto at = DecodeHeader(RawHeader(0x544E4450, t, 0, limit));
    ASSERT_TRUE(at.ok()) << t << ": " << at.status().ToString();
    EXPECT_EQ(at->length, limit);
    ExpectProtocolError(DecodeHeader(RawHeader(0x544E4450, t, 0, limit + 1)).status(),
                        "type " + std::to_string(t) + " over its limit");
    ExpectProtocolError(DecodeHeader(RawHeader(0x544E4450, t, 0, 0xFFFFFFFFu)).status(),
                        "type " + std::to_string(t) + " with 4 GiB");
  }
  EXPECT_EQ(kMaxBulkPayload, (32u << 20) + 4096u);
  // A control packet may not claim a data-sized payload.
  ExpectProtocolError(DecodeHeader(RawHeader(0x544E4450, 8, 0, kMaxBulkPayload)).status(), "UUIDS");
}

TEST(PacketHeader, HugeLengthsAreRefusedWithoutAllocating) {
  Bytes bitmap = {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};  // 2^32-1 words
  Bytes error = {0, 0, 0, 1, 0xFF, 0xFF, 'x'};                      // 64 KiB string
  Bytes data_prefix(kDataPrefix, 0xFF);                             // length 4 GiB - 1
  data_prefix[kDataPrefix - 1] = 0;
  Bytes reply_prefix(kDataReplyPrefix, 0xFF);
  Bytes rs_prefix(kRsDataPrefix, 0xFF);
  rs_prefix[kRsDataPrefix - 1] = 0;

  g_largest_allocation = 0;
  g_track_allocations = true;
  bool all_refused = true;
  for (uint16_t t : kDocumentedTypes) {
    all_refused &= !DecodeHeader(RawHeader(0x544E4450, t, 0, 0xFFFFFFFFu)).ok();
  }
  all_refused &= !Decode(PacketType::kBitmap, bitmap).ok();
  all_refused &= !Decode(PacketType::kError, error).ok();
  all_refused &= !DecodeDataPrefix(data_prefix, 0xFFFFFFFFu).ok();
  all_refused &= !DecodeDataReplyPrefix(reply_prefix, 0xFFFFFFFFu).ok();
  all_refused &= !DecodeRsDataPrefix(rs_prefix, 0xFFFFFFFFu).ok();
  g_track_allocations = false;
  EXPECT_TRUE(all_refused);
  // Error messages only; nothing sized by the claimed lengths.
  EXPECT_LT(g_largest_allocation.load(), 4096u);
}

// --- control packets ----------------------------------------------------------

TEST(PacketControl, SamplesCoverEveryControlType) {
  std::set<uint16_t> covered;
  for (const auto& s : ControlSamples()) covered.insert(static_cast<uint16_t>(s.type));
  for (uint16_t t : kDocumentedTypes) {
    if (IsBulk(static_cast<PacketType>(t))) {
      EXPECT_FALSE(covered.count(t)) << t;
    } else {
      EXPECT_TRUE(covered.count(t)) << "no sample of type " << t;
    }
  }
  EXPECT_EQ(covered.size(), 31u);
}

TEST(PacketControl, EveryTypeRoundTrips) {
  for (const auto& s : ControlSamples()) {
    SCOPED_TRACE(PacketTypeName(s.type));
    const Bytes whole = EncodeControl(s.type, s.packet);
    ASSERT_GE(whole.size(), kHeaderSize);
    auto h = DecodeHeader(whole);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(h->type, s.type);
    EXPECT_EQ(h->length, whole.size() - kHeaderSize);
    auto p = Decode(s.type, PayloadOf(whole));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_TRUE(SamePacket(*p, s.packet));
    EXPECT_EQ(EncodeControl(s.type, *p), whole);
  }
}

TEST(PacketControl, PayloadSizesMatchTheDocumentedLayout) {
  auto size = [](PacketType t, const ControlPacket& p) {
    return EncodeControl(t, p).size() - kHeaderSize;
  };
  EXPECT_EQ(size(PacketType::kHello, Hello{1, 1, 0, "ab", "c"}), 4u + 4 + 8 + 2 + 2 + 2 + 1);
  EXPECT_EQ(size(PacketType::kAuthChallenge, AuthChallenge{"md5", {}}), 2u + 3 + 32);
  EXPECT_EQ(size(PacketType::kAuthResponse, AuthResponse{Bytes(20)}), 1u + 20);
  EXPECT_EQ(size(PacketType::kAuthResult, AuthResult{}), 1u);
  EXPECT_EQ(size(PacketType::kEstablished, Established{}), 0u);
  EXPECT_EQ(size(PacketType::kParams, Params{}), 1u + 1 + 4 * 2);
  EXPECT_EQ(size(PacketType::kSizes, Sizes{}), 16u);
  EXPECT_EQ(size(PacketType::kUuids, Uuids{}), 5u * 8 + 4 + 8);
  EXPECT_EQ(size(PacketType::kState, StatePacket{1, 0, 0}), 3u);
  EXPECT_EQ(size(PacketType::kStateRequest, StateRequest{}), 4u + 1 + 8);
  EXPECT_EQ(size(PacketType::kStateReply, StateReply{}), 8u);
  EXPECT_EQ(size(PacketType::kWriteAck, Ack{}), 8u);
  EXPECT_EQ(size(PacketType::kNegAck, NegAck{}), 12u);
  EXPECT_EQ(size(PacketType::kFlushAck, FlushAck{}), 12u);
  EXPECT_EQ(size(PacketType::kZeroes, Zeroes{}), 8u + 8 + 4 + 4 + 1);
  EXPECT_EQ(size(PacketType::kDataRequest, DataRequest{}), 20u);
  EXPECT_EQ(size(PacketType::kBitmap, BitmapChunk{0, {1, 2}}), 12u + 16);
  EXPECT_EQ(size(PacketType::kSyncStart, SyncStart{}), 9u);
  EXPECT_EQ(size(PacketType::kRsRequest, RsRequest{0, 0, 1, Bytes(4)}), 21u + 4);
  EXPECT_EQ(size(PacketType::kVerifyReply, VerifyReply{}), 9u);
  EXPECT_EQ(size(PacketType::kError, ErrorPacket{1, "abc"}), 4u + 2 + 3);
}

TEST(PacketControl, ExactBigEndianBytes) {
  const Bytes hello =
      EncodeControl(PacketType::kHello, Hello{1, 2, 0x0102030405060708ull, "ab", "r"});
  const Bytes want_hello = {0x54, 0x4E, 0x44, 0x50, 0x00, 0x01, 0x00, 0x00,
                            0x00, 0x00, 0x00, 0x17,                          // header, 23
                            0x00, 0x00, 0x00, 0x01,                          // version min
                            0x00, 0x00, 0x00, 0x02,                          // version max
                            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // features
                            0x00, 0x02, 'a',  'b',                           // node
                            0x00, 0x01, 'r'};                                // resource
  EXPECT_EQ(hello, want_hello);

  const Bytes reply = EncodeControl(PacketType::kStateReply, StateReply{0x0A0B0C0D, -2});
  const Bytes want_reply = {0x54, 0x4E, 0x44, 0x50, 0x00, 0x0B, 0x00, 0x00, 0x00, 0x00,
                            0x00, 0x08, 0x0A, 0x0B, 0x0C, 0x0D, 0xFF, 0xFF, 0xFF, 0xFE};
  EXPECT_EQ(reply, want_reply);

  const Bytes uuids = EncodeControl(
      PacketType::kUuids,
      Uuids{0x1122334455667788ull, 2, 3, 4, 5, kUuidCrashedPrimary, 0x0000019345678ABCull});
  ASSERT_EQ(uuids.size(), kHeaderSize + 52);
  EXPECT_EQ(Bytes(uuids.begin() + 12, uuids.begin() + 20),
            (Bytes{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}));
  EXPECT_EQ(Bytes(uuids.begin() + 52, uuids.begin() + 56), (Bytes{0, 0, 0, 1}));  // flags
  EXPECT_EQ(Bytes(uuids.end() - 8, uuids.end()),
            (Bytes{0x00, 0x00, 0x01, 0x93, 0x45, 0x67, 0x8A, 0xBC}));  // last promotion

  const Bytes data = EncodeDataPrefix(
      DataPrefix{0x0102030405060708ull, 0x1000, 0x200, 9, kDataFua, Bytes{0xAA, 0xBB}});
  const Bytes want_data = {0x54, 0x4E, 0x44, 0x50, 0x00, 0x14, 0x00, 0x00,
                           0x00, 0x00, 0x02, 0x1F,                          // 29+2+512
                           0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // id
                           0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,  // offset
                           0x00, 0x00, 0x02, 0x00,                          // length
                           0x00, 0x00, 0x00, 0x09,                          // epoch
                           0x00, 0x00, 0x00, 0x01,                          // flags
                           0x02, 0xAA, 0xBB};                               // digest
  EXPECT_EQ(data, want_data);
}

TEST(PacketControl, TruncationAtEveryByteIsAProtocolError) {
  for (const auto& s : ControlSamples()) {
    const Bytes payload = PayloadOf(EncodeControl(s.type, s.packet));
    for (size_t cut = 0; cut < payload.size(); ++cut) {
      auto p = DecodeControl(s.type, std::span<const uint8_t>(payload.data(), cut));
      ASSERT_FALSE(p.ok()) << PacketTypeName(s.type) << " cut at " << cut << " of "
                           << payload.size();
      ASSERT_EQ(p.status().code(), Status::Code::kProtocolError)
          << PacketTypeName(s.type) << " cut at " << cut;
    }
  }
}

TEST(PacketControl, TrailingBytesAreRejected) {
  for (const auto& s : ControlSamples()) {
    for (uint8_t extra : {0x00, 0x01, 0xFF}) {
      Bytes payload = PayloadOf(EncodeControl(s.type, s.packet));
      payload.push_back(extra);
      auto p = Decode(s.type, payload);
      ExpectProtocolError(p.status(), std::string(PacketTypeName(s.type)) + " + 1 byte");
    }
    Bytes payload = PayloadOf(EncodeControl(s.type, s.packet));
    payload.insert(payload.end(), 8, 0);
    ExpectProtocolError(Decode(s.type, payload).status(),
                        std::string(PacketTypeName(s.type)) + " + 8 bytes");
  }
}

TEST(PacketControl, BulkTypesAreNotControlPackets) {
  for (PacketType t : {PacketType::kData, PacketType::kDataReply, PacketType::kRsData}) {
    EXPECT_TRUE(IsBulk(t));
    ExpectProtocolError(Decode(t, Bytes(40, 0)).status(), PacketTypeName(t));
    ExpectProtocolError(Decode(t, Bytes{}).status(), PacketTypeName(t));
  }
  for (const auto& s : ControlSamples()) EXPECT_FALSE(IsBulk(s.type));
}

TEST(PacketControl, UnknownTypeIsNotDecodedAsAnything) {
  for (uint16_t t : {0, 12, 19, 29, 33, 51, 0xFFFF}) {
    ExpectProtocolError(Decode(static_cast<PacketType>(t), Bytes{}).status(),
                        "type " + std::to_string(t) + ", empty payload");
    ExpectProtocolError(Decode(static_cast<PacketType>(t), Bytes(8, 1)).status(),
                        "type " + std::to_string(t) + ", 8 bytes");
  }
}

// --- limits -------------------------------------------------------------------

TEST(PacketLimits, HelloNamesUpTo255Bytes) {
  Hello h;
  h.node = std::string(255, 'n');
  h.resource = std::string(255, 'r');
  EXPECT_TRUE(Decode(PacketType::kHello, PayloadOf(EncodeControl(PacketType::kHello, h))).ok());
  h.node = std::string(256, 'n');
  ExpectProtocolError(
      Decode(PacketType::kHello, PayloadOf(EncodeControl(PacketType::kHello, h))).status(),
      "node of 256");
  h.node = "a";
  h.resource = std::string(256, 'r');
  ExpectProtocolError(
      Decode(PacketType::kHello, PayloadOf(EncodeControl(PacketType::kHello, h))).status(),
      "resource of 256");
}

TEST(PacketLimits, HelloVersionRangeMustNotBeEmpty) {
  ExpectProtocolError(Decode(PacketType::kHello,
                             PayloadOf(EncodeControl(PacketType::kHello, Hello{3, 2, 0, "a", "b"})))
                          .status(),
                      "3..2");
  EXPECT_TRUE(Decode(PacketType::kHello,
                     PayloadOf(EncodeControl(PacketType::kHello, Hello{2, 2, 0, "a", "b"})))
                  .ok());
}

TEST(PacketLimits, ShortStringNamesAreLimitedTo64Bytes) {
  AuthChallenge c;
  c.algorithm = std::string(64, 'a');
  EXPECT_TRUE(
      Decode(PacketType::kAuthChallenge, PayloadOf(EncodeControl(PacketType::kAuthChallenge, c)))
          .ok());
  c.algorithm = std::string(65, 'a');
  ExpectProtocolError(
      Decode(PacketType::kAuthChallenge, PayloadOf(EncodeControl(PacketType::kAuthChallenge, c)))
          .status(),
      "algorithm of 65");
  for (int field = 0; field < 4; ++field) {
    Params q;
    std::string* f[] = {&q.after_sb_0pri, &q.after_sb_1pri, &q.after_sb_2pri, &q.integrity_alg};
    *f[field] = std::string(64, 'p');
    EXPECT_TRUE(Decode(PacketType::kParams, PayloadOf(EncodeControl(PacketType::kParams, q))).ok())
        << field;
    *f[field] = std::string(65, 'p');
    ExpectProtocolError(
        Decode(PacketType::kParams, PayloadOf(EncodeControl(PacketType::kParams, q))).status(),
        "params field " + std::to_string(field));
  }
}

TEST(PacketLimits, ErrorMessageUpToMaxStringLength) {
  ErrorPacket e{7, std::string(kMaxStringLength, 'm')};
  auto p = Decode(PacketType::kError, PayloadOf(EncodeControl(PacketType::kError, e)));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(std::get<ErrorPacket>(*p).message.size(), kMaxStringLength);
  e.message.push_back('m');
  ExpectProtocolError(
      Decode(PacketType::kError, PayloadOf(EncodeControl(PacketType::kError, e))).status(),
      "message of 4097");
}

TEST(PacketLimits, StringLongerThanItsPayloadIsAnError) {
  // ERROR: code, then a string that claims 10 bytes and has 3.
  ExpectProtocolError(Decode(PacketType::kError, Bytes{0, 0, 0, 1, 0, 10, 'a', 'b', 'c'}).status(),
                      "short string");
}

TEST(PacketLimits, DigestsUpTo64Bytes) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{64}}) {
    EXPECT_TRUE(
        Decode(PacketType::kAuthResponse,
               PayloadOf(EncodeControl(PacketType::kAuthResponse, AuthResponse{Bytes(n, 1)})))
            .ok())
        << n;
    EXPECT_TRUE(
        Decode(PacketType::kRsRequest,
               PayloadOf(EncodeControl(PacketType::kRsRequest, RsRequest{1, 0, 4096, Bytes(n, 2)})))
            .ok())
        << n;
    EXPECT_TRUE(Decode(PacketType::kVerifyRequest,
                       PayloadOf(EncodeControl(PacketType::kVerifyRequest,
                                               VerifyRequest{1, 0, 4096, Bytes(n, 3)})))
                    .ok())
        << n;
  }
  ExpectProtocolError(
      Decode(PacketType::kAuthResponse,
             PayloadOf(EncodeControl(PacketType::kAuthResponse, AuthResponse{Bytes(65, 1)})))
          .status(),
      "AUTH_RESPONSE 65");
  ExpectProtocolError(
      Decode(PacketType::kRsRequest,
             PayloadOf(EncodeControl(PacketType::kRsRequest, RsRequest{1, 0, 4096, Bytes(65, 2)})))
          .status(),
      "RS_REQUEST 65");
  ExpectProtocolError(Decode(PacketType::kVerifyRequest,
                             PayloadOf(EncodeControl(PacketType::kVerifyRequest,
                                                     VerifyRequest{1, 0, 4096, Bytes(65, 3)})))
                          .status(),
                      "VERIFY_REQUEST 65");
  // A digest length byte of 255 with the bytes present is still refused.
  Bytes resp(256, 0);
  resp[0] = 255;
  ExpectProtocolError(Decode(PacketType::kAuthResponse, resp).status(), "255-byte digest");
}

TEST(PacketLimits, BitmapWordsLimitAndCount) {
  BitmapChunk b;
  b.first_word = 3;
  b.words.assign(kMaxBitmapWordsPerPacket, 0x5555555555555555ull);
  const Bytes max = EncodeControl(PacketType::kBitmap, b);
  ASSERT_TRUE(DecodeHeader(max).ok());
  auto p = Decode(PacketType::kBitmap, PayloadOf(max));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(std::get<BitmapChunk>(*p).words.size(), kMaxBitmapWordsPerPacket);

  b.words.push_back(1);
  const Bytes over = EncodeControl(PacketType::kBitmap, b);
  ASSERT_TRUE(DecodeHeader(over).ok());  // still within the control payload limit
  ExpectProtocolError(Decode(PacketType::kBitmap, PayloadOf(over)).status(), "8001 words");

  // The count disagrees with the bytes present, both ways.
  Bytes two = PayloadOf(EncodeControl(PacketType::kBitmap, BitmapChunk{0, {1, 2}}));
  Bytes more = two;
  more.insert(more.end(), 8, 0);  // 3 words present, count says 2
  ExpectProtocolError(Decode(PacketType::kBitmap, more).status(), "extra word");
  Bytes fewer(two.begin(), two.end() - 8);  // 1 word present, count says 2
  ExpectProtocolError(Decode(PacketType::kBitmap, fewer).status(), "missing word");
}

TEST(PacketLimits, RequestLengthsWithinOneToMaxData) {
  for (uint32_t len : {1u, 4096u, kMaxDataLength}) {
    EXPECT_TRUE(Decode(PacketType::kDataRequest,
                       PayloadOf(EncodeControl(PacketType::kDataRequest, DataRequest{1, 0, len})))
                    .ok())
        << len;
    EXPECT_TRUE(Decode(PacketType::kRsRequest,
                       PayloadOf(EncodeControl(PacketType::kRsRequest, RsRequest{1, 0, len, {}})))
                    .ok())
        << len;
  }
  for (uint32_t len : {0u, kMaxDataLength + 1, 0xFFFFFFFFu}) {
    const std::string l = std::to_string(len);
    ExpectProtocolError(
        Decode(PacketType::kDataRequest,
               PayloadOf(EncodeControl(PacketType::kDataRequest, DataRequest{1, 0, len})))
            .status(),
        "DATA_REQUEST " + l);
    ExpectProtocolError(
        Decode(PacketType::kRsRequest,
               PayloadOf(EncodeControl(PacketType::kRsRequest, RsRequest{1, 0, len, {}})))
            .status(),
        "RS_REQUEST " + l);
    ExpectProtocolError(
        Decode(PacketType::kVerifyRequest,
               PayloadOf(EncodeControl(PacketType::kVerifyRequest, VerifyRequest{1, 0, len, {}})))
            .status(),
        "VERIFY_REQUEST " + l);
  }
}

TEST(PacketLimits, ZeroesLengthAndFlags) {
  auto decode = [](const Zeroes& z) {
    return Decode(PacketType::kZeroes, PayloadOf(EncodeControl(PacketType::kZeroes, z)));
  };
  for (uint32_t len : {1u, kMaxDataLength + 1, static_cast<uint32_t>(kMaxZeroesLength)}) {
    EXPECT_TRUE(decode(Zeroes{1, 0, len, 0, 0}).ok()) << len;
  }
  for (uint32_t len : {0u, static_cast<uint32_t>(kMaxZeroesLength) + 1, 0xFFFFFFFFu}) {
    ExpectProtocolError(decode(Zeroes{1, 0, len, 0, 0}).status(), "length " + std::to_string(len));
  }
  for (int flags = 0; flags < 256; ++flags) {
    auto p = decode(Zeroes{1, 0, 4096, 0, static_cast<uint8_t>(flags)});
    EXPECT_EQ(p.ok(), flags <= 3) << "flags " << flags;
  }
}

// --- value ranges ---------------------------------------------------------------

// Decodes `sample` with the byte at `offset` of its payload replaced by `value`.
Result<ControlPacket> WithByte(PacketType t, const ControlPacket& sample, size_t offset,
                               uint8_t value) {
  Bytes payload = PayloadOf(EncodeControl(t, sample));
  payload.at(offset) = value;
  return Decode(t, payload);
}

TEST(PacketRanges, StateRoleAndDisk) {
  const StatePacket base{1, 8, 0};
  for (int role = 0; role < 256; ++role) {
    auto p = WithByte(PacketType::kState, base, 0, static_cast<uint8_t>(role));
    EXPECT_EQ(p.ok(), role == 1 || role == 2) << "role " << role;
    if (p.ok()) {
      EXPECT_EQ(std::get<StatePacket>(*p).role, role);
    }
  }
  for (int disk = 0; disk < 256; ++disk) {
    auto p = WithByte(PacketType::kState, base, 1, static_cast<uint8_t>(disk));
    EXPECT_EQ(p.ok(), disk <= 8) << "disk " << disk;
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), Status::Code::kProtocolError);
    }
  }
}

TEST(PacketRanges, ParamsProtocolAndTwoPrimaries) {
  const Params base{'C', false, "a", "b", "c", "d"};
  for (int c = 0; c < 256; ++c) {
    auto p = WithByte(PacketType::kParams, base, 0, static_cast<uint8_t>(c));
    EXPECT_EQ(p.ok(), c == 'A' || c == 'B' || c == 'C') << "protocol byte " << c;
    if (p.ok()) {
      EXPECT_EQ(std::get<Params>(*p).protocol, static_cast<char>(c));
    }
  }
  for (int two = 0; two < 256; ++two) {
    auto p = WithByte(PacketType::kParams, base, 1, static_cast<uint8_t>(two));
    EXPECT_EQ(p.ok(), two <= 1) << "two-primaries byte " << two;
    if (p.ok()) {
      EXPECT_EQ(std::get<Params>(*p).two_primaries, two == 1);
    }
  }
}

TEST(PacketRanges, StateRequestKinds) {
  const StateRequest base{5, 1, 9};
  for (int what = 0; what < 256; ++what) {
    auto p = WithByte(PacketType::kStateRequest, base, 4, static_cast<uint8_t>(what));
    EXPECT_EQ(p.ok(), what >= 1 && what <= 4) << "what " << what;
  }
}

TEST(PacketRanges, SyncStartKind) {
  const SyncStart base{1, 77};
  for (int kind = 0; kind < 256; ++kind) {
    auto p = WithByte(PacketType::kSyncStart, base, 0, static_cast<uint8_t>(kind));
    // 1 bitmap-based, 2 full, 3 online verify.
    EXPECT_EQ(p.ok(), kind >= 1 && kind <= 3) << "kind " << kind;
  }
}

TEST(PacketRanges, BoolBytes) {
  for (int v = 0; v < 256; ++v) {
    auto a = WithByte(PacketType::kAuthResult, AuthResult{false}, 0, static_cast<uint8_t>(v));
    EXPECT_EQ(a.ok(), v <= 1) << "AUTH_RESULT " << v;
    if (a.ok()) {
      EXPECT_EQ(std::get<AuthResult>(*a).accepted, v == 1);
    }
    auto e = WithByte(PacketType::kVerifyReply, VerifyReply{3, false}, 8, static_cast<uint8_t>(v));
    EXPECT_EQ(e.ok(), v <= 1) << "VERIFY_REPLY " << v;
    if (e.ok()) {
      EXPECT_EQ(std::get<VerifyReply>(*e).equal, v == 1);
    }
  }
}

TEST(PacketRanges, UnconstrainedFieldsTakeAnyValue) {
  // STATE_REPLY carries any result code, UUIDS any flags: no false refusals.
  for (int32_t r : {0, -1, -18, 1, INT32_MIN, INT32_MAX}) {
    auto p = Decode(PacketType::kStateReply,
                    PayloadOf(EncodeControl(PacketType::kStateReply, StateReply{1, r})));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(std::get<StateReply>(*p).result, r);
  }
  auto u = Decode(PacketType::kUuids,
                  PayloadOf(EncodeControl(PacketType::kUuids, Uuids{1, 2, 3, 4, 5, 0xFFFFFFFF})));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(std::get<Uuids>(*u).flags, 0xFFFFFFFFu);
}

// --- bulk prefixes ------------------------------------------------------------------

struct SplitBulk {
  Header header;
  Bytes prefix;  // after the header
};

SplitBulk Split(const Bytes& whole) {
  auto h = DecodeHeader(whole);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return {h.ok() ? *h : Header{PacketType::kPing, 0}, PayloadOf(whole)};
}

// Every proper prefix of `s.prefix`, and the prefix plus one byte, must be
// refused by `decode` (a bulk prefix decoder).
template <typename Decoder>
void ExpectCutsAndTrailingRefused(const SplitBulk& s, Decoder decode) {
  for (size_t cut = 0; cut < s.prefix.size(); ++cut) {
    ExpectProtocolError(
        decode(std::span<const uint8_t>(s.prefix.data(), cut), s.header.length).status(),
        "cut " + std::to_string(cut));
  }
  Bytes longer = s.prefix;
  longer.push_back(0);
  ExpectProtocolError(decode(longer, s.header.length + 1).status(), "trailing byte");
}

TEST(PacketBulkPrefix, DataWithoutDigest) {
  const DataPrefix in{0x1111222233334444ull, 0x40000000ull, 4096, 17, kDataFua, {}};
  const Bytes whole = EncodeDataPrefix(in);
  ASSERT_EQ(whole.size(), kHeaderSize + kDataPrefix);
  const SplitBulk s = Split(whole);
  EXPECT_EQ(s.header.type, PacketType::kData);
  EXPECT_EQ(s.header.length, kDataPrefix + 4096);
  EXPECT_EQ(FixedBulkPrefix(PacketType::kData), kDataPrefix);
  EXPECT_EQ(BulkPrefixLength(PacketType::kData, s.prefix), kDataPrefix);
  auto p = DecodeDataPrefix(s.prefix, s.header.length);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->id, in.id);
  EXPECT_EQ(p->offset, in.offset);
  EXPECT_EQ(p->length, 4096u);
  EXPECT_EQ(p->epoch, 17u);
  EXPECT_EQ(p->flags, static_cast<uint32_t>(kDataFua));
  EXPECT_TRUE(p->digest.empty());
}

TEST(PacketBulkPrefix, DataWithDigest) {
  const DataPrefix in{7, 512, 512, 0xFFFFFFFF, 0, Seq(32, 9, 5)};
  const Bytes whole = EncodeDataPrefix(in);
  const SplitBulk s = Split(whole);
  ASSERT_EQ(s.prefix.size(), kDataPrefix + 32);
  EXPECT_EQ(s.header.length, kDataPrefix + 32 + 512);
  // The reader first sees only the fixed part and learns the digest length from it.
  EXPECT_EQ(
      BulkPrefixLength(PacketType::kData, std::span<const uint8_t>(s.prefix.data(), kDataPrefix)),
      kDataPrefix + 32);
  // Less than the fixed part: fall back to the fixed length.
  EXPECT_EQ(BulkPrefixLength(PacketType::kData, std::span<const uint8_t>(s.prefix.data(), 10)),
            kDataPrefix);
  auto p = DecodeDataPrefix(s.prefix, s.header.length);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->digest, in.digest);
  EXPECT_EQ(p->epoch, 0xFFFFFFFFu);
  EXPECT_EQ(p->flags, 0u);
}

TEST(PacketBulkPrefix, DataLengthMustMatchThePayload) {
  const DataPrefix in{1, 0, 4096, 1, 0, Seq(4, 1, 1)};
  const SplitBulk s = Split(EncodeDataPrefix(in));
  ASSERT_TRUE(DecodeDataPrefix(s.prefix, s.header.length).ok());
  for (int64_t delta : {-4096, -5, -1, 1, 4, 4096}) {
    ExpectProtocolError(
        DecodeDataPrefix(s.prefix, static_cast<uint32_t>(s.header.length + delta)).status(),
        "delta " + std::to_string(delta));
  }
  ExpectProtocolError(DecodeDataPrefix(s.prefix, 0xFFFFFFFFu).status(), "4 GiB payload");
}

TEST(PacketBulkPrefix, DataFieldLimits) {
  auto decode = [](const DataPrefix& in) {
    const SplitBulk s = Split(EncodeDataPrefix(in));
    return DecodeDataPrefix(s.prefix, s.header.length);
  };
  EXPECT_TRUE(decode(DataPrefix{1, 0, kMaxDataLength, 0, 0, Bytes(64, 1)}).ok());
  ExpectProtocolError(decode(DataPrefix{1, 0, 0, 0, 0, {}}).status(), "length 0");
  ExpectProtocolError(decode(DataPrefix{1, 0, kMaxDataLength + 1, 0, 0, {}}).status(), "too long");
  ExpectProtocolError(decode(DataPrefix{1, 0, 512, 0, 2, {}}).status(), "unknown flag");
  ExpectProtocolError(decode(DataPrefix{1, 0, 512, 0, 0x80000001u, {}}).status(), "high flag");
  ExpectProtocolError(decode(DataPrefix{1, 0, 512, 0, 0, Bytes(65, 1)}).status(), "65-byte digest");
}

TEST(PacketBulkPrefix, DataPrefixTruncatedOrTooLong) {
  const DataPrefix in{1, 0, 4096, 1, kDataFua, Seq(16, 1, 1)};
  const SplitBulk s = Split(EncodeDataPrefix(in));
  ExpectCutsAndTrailingRefused(s, DecodeDataPrefix);
}

TEST(PacketBulkPrefix, DataReply) {
  const DataReplyPrefix ok_in{0x0102030405060708ull, 0, 8192};
  SplitBulk s = Split(EncodeDataReplyPrefix(ok_in));
  EXPECT_EQ(s.header.type, PacketType::kDataReply);
  ASSERT_EQ(s.prefix.size(), kDataReplyPrefix);
  EXPECT_EQ(s.header.length, kDataReplyPrefix + 8192);
  EXPECT_EQ(BulkPrefixLength(PacketType::kDataReply, s.prefix), kDataReplyPrefix);
  EXPECT_EQ(FixedBulkPrefix(PacketType::kDataReply), kDataReplyPrefix);
  auto p = DecodeDataReplyPrefix(s.prefix, s.header.length);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->id, ok_in.id);
  EXPECT_EQ(p->err, 0);
  EXPECT_EQ(p->length, 8192u);
  ExpectProtocolError(DecodeDataReplyPrefix(s.prefix, s.header.length - 1).status(), "short");
  ExpectProtocolError(DecodeDataReplyPrefix(s.prefix, s.header.length + 1).status(), "long");

  // An error reply carries no data.
  s = Split(EncodeDataReplyPrefix(DataReplyPrefix{9, -5, 0}));
  EXPECT_EQ(s.header.length, kDataReplyPrefix);
  p = DecodeDataReplyPrefix(s.prefix, s.header.length);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->err, -5);
  EXPECT_EQ(p->length, 0u);

  s = Split(EncodeDataReplyPrefix(DataReplyPrefix{9, 0, kMaxDataLength}));
  EXPECT_TRUE(DecodeDataReplyPrefix(s.prefix, s.header.length).ok());
  Bytes over = s.prefix;
  over[15] += 1;  // length kMaxDataLength + 1
  ExpectProtocolError(DecodeDataReplyPrefix(over, s.header.length + 1).status(), "too long");

  ExpectCutsAndTrailingRefused(s, DecodeDataReplyPrefix);
}

TEST(PacketBulkPrefix, RsDataWithAndWithoutInSync) {
  const RsDataPrefix data_in{11, 1 << 20, 4096, 0};
  SplitBulk s = Split(EncodeRsDataPrefix(data_in));
  EXPECT_EQ(s.header.type, PacketType::kRsData);
  ASSERT_EQ(s.prefix.size(), kRsDataPrefix);
  EXPECT_EQ(s.header.length, kRsDataPrefix + 4096);
  EXPECT_EQ(BulkPrefixLength(PacketType::kRsData, s.prefix), kRsDataPrefix);
  EXPECT_EQ(FixedBulkPrefix(PacketType::kRsData), kRsDataPrefix);
  auto p = DecodeRsDataPrefix(s.prefix, s.header.length);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->id, 11u);
  EXPECT_EQ(p->offset, 1u << 20);
  EXPECT_EQ(p->length, 4096u);
  EXPECT_EQ(p->flags, 0);
  ExpectProtocolError(DecodeRsDataPrefix(s.prefix, kRsDataPrefix).status(), "data missing");

  // In sync: the length names the range, no data follows.
  const RsDataPrefix in_sync{12, 0, 65536, kRsInSync};
  s = Split(EncodeRsDataPrefix(in_sync));
  EXPECT_EQ(s.header.length, kRsDataPrefix);
  p = DecodeRsDataPrefix(s.prefix, s.header.length);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->flags, kRsInSync);
  EXPECT_EQ(p->length, 65536u);
  ExpectProtocolError(DecodeRsDataPrefix(s.prefix, kRsDataPrefix + 65536).status(),
                      "in-sync with data");

  Bytes bad = s.prefix;
  bad[20] = 0x02;  // unknown flag
  ExpectProtocolError(DecodeRsDataPrefix(bad, kRsDataPrefix + 65536).status(), "flag 2");
  bad[20] = 0x03;
  ExpectProtocolError(DecodeRsDataPrefix(bad, kRsDataPrefix).status(), "flags 3");

  s = Split(EncodeRsDataPrefix(RsDataPrefix{1, 0, 0, kRsInSync}));
  ExpectProtocolError(DecodeRsDataPrefix(s.prefix, s.header.length).status(), "length 0");
  s = Split(EncodeRsDataPrefix(RsDataPrefix{1, 0, kMaxDataLength + 1, kRsInSync}));
  ExpectProtocolError(DecodeRsDataPrefix(s.prefix, s.header.length).status(), "too long");

  s = Split(EncodeRsDataPrefix(data_in));
  ExpectCutsAndTrailingRefused(s, DecodeRsDataPrefix);
}

TEST(PacketBulkPrefix, FixedPrefixOfControlTypesIsZero) {
  for (const auto& s : ControlSamples()) EXPECT_EQ(FixedBulkPrefix(s.type), 0u);
}

}  // namespace
}  // namespace tandem::net
