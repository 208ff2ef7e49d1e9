// The client's reply stream machine (nbd/reply_decoder.h): data lands in the
// right buffer however the stream is split, completions carry the server's
// error and message, and every malformed stream is a protocol error.
#include "nbd/reply_decoder.h"

#include <gtest/gtest.h>

#include "nbd/reply.h"
#include "nbd/wire.h"
#include "nbd_test_util.h"

namespace tandem::nbd {
namespace {

using testing::Bytes;
using testing::Pattern;
using testing::Put32;
using testing::Put64;

Request Req(uint64_t handle, uint16_t type, uint64_t offset, uint32_t length) {
  return Request{0, type, handle, offset, length};
}

void AppendSimple(Bytes* s, uint64_t handle, uint32_t error, const Bytes& data = {}) {
  uint8_t h[kSimpleReplySize];
  EncodeSimpleReply(h, error, handle);
  s->insert(s->end(), h, h + sizeof h);
  s->insert(s->end(), data.begin(), data.end());
}

void AppendData(Bytes* s, uint64_t handle, uint64_t offset, const Bytes& data, bool done) {
  uint8_t h[kOffsetDataHeaderSize];
  EncodeOffsetDataHeader(h, handle, offset, static_cast<uint32_t>(data.size()), done);
  s->insert(s->end(), h, h + sizeof h);
  s->insert(s->end(), data.begin(), data.end());
}

void AppendNone(Bytes* s, uint64_t handle) {
  uint8_t h[kChunkHeaderSize];
  EncodeNoneChunk(h, handle);
  s->insert(s->end(), h, h + sizeof h);
}

void AppendChunk(Bytes* s, uint64_t handle, uint16_t flags, uint16_t type, const Bytes& payload) {
  uint8_t h[kChunkHeaderSize];
  EncodeChunkHeader(h, flags, type, handle, static_cast<uint32_t>(payload.size()));
  s->insert(s->end(), h, h + sizeof h);
  s->insert(s->end(), payload.begin(), payload.end());
}

// Feeds `stream` in pieces of `piece` bytes; returns the first error.
Status FeedInPieces(ReplyDecoder& d, const Bytes& stream, size_t piece,
                    std::vector<ReplyDecoder::Completion>* done) {
  for (size_t at = 0; at < stream.size(); at += piece) {
    const size_t n = std::min(piece, stream.size() - at);
    Status st = d.Feed({stream.data() + at, n}, done);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

TEST(ReplyDecoder, SimpleRepliesAtEverySplitPlaceReadData) {
  const Bytes data = Pattern(4096, 1);
  Bytes stream;
  AppendSimple(&stream, 2, 0);           // write ok
  AppendSimple(&stream, 1, 0, data);     // read ok, with data
  AppendSimple(&stream, 3, kEnospc);     // write refused
  for (size_t piece = 1; piece <= stream.size(); piece = piece < 64 ? piece + 1 : piece * 2) {
    ReplyDecoder d(false);
    Bytes buf(4096);
    d.Expect(Req(1, kCmdRead, 8192, 4096), buf.data());
    d.Expect(Req(2, kCmdWrite, 0, 512), nullptr);
    d.Expect(Req(3, kCmdWrite, 1 << 30, 512), nullptr);
    std::vector<ReplyDecoder::Completion> done;
    ASSERT_TRUE(FeedInPieces(d, stream, piece, &done).ok()) << piece;
    ASSERT_EQ(done.size(), 3u);
    EXPECT_EQ(done[0].handle, 2u);
    EXPECT_TRUE(done[0].status.ok());
    EXPECT_EQ(done[1].handle, 1u);
    EXPECT_TRUE(done[1].status.ok());
    EXPECT_EQ(done[2].handle, 3u);
    EXPECT_FALSE(done[2].status.ok());
    EXPECT_NE(done[2].status.message().find("ENOSPC"), std::string::npos);
    EXPECT_EQ(buf, data) << "piece " << piece;
    EXPECT_EQ(d.pending(), 0u);
  }
}

TEST(ReplyDecoder, StructuredChunksReassembleOutOfOrderWithHoles) {
  const Bytes data = Pattern(3 * 4096, 2);
  Bytes stream;
  // Third block first, a hole for the second, then the first; NONE ends it.
  AppendData(&stream, 5, 8192 + 2 * 4096, Bytes(data.begin() + 8192, data.end()), false);
  Bytes hole;
  Put64(&hole, 8192 + 4096);
  Put32(&hole, 4096);
  AppendChunk(&stream, 5, 0, kReplyTypeOffsetHole, hole);
  AppendData(&stream, 5, 8192, Bytes(data.begin(), data.begin() + 4096), false);
  AppendNone(&stream, 5);
  Bytes want = data;
  std::fill(want.begin() + 4096, want.begin() + 8192, 0);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{28}, size_t{4096}, stream.size()}) {
    ReplyDecoder d(true);
    Bytes buf(3 * 4096, 0xee);
    d.Expect(Req(5, kCmdRead, 8192, 3 * 4096), buf.data());
    std::vector<ReplyDecoder::Completion> done;
    ASSERT_TRUE(FeedInPieces(d, stream, piece, &done).ok()) << piece;
    ASSERT_EQ(done.size(), 1u);
    EXPECT_TRUE(done[0].status.ok());
    EXPECT_EQ(buf, want);
  }
}

TEST(ReplyDecoder, DirectTargetReceivesDataWithoutFeed) {
  ReplyDecoder d(true);
  Bytes buf(1 << 20);
  d.Expect(Req(1, kCmdRead, 0, 1 << 20), buf.data());
  uint8_t h[kOffsetDataHeaderSize];
  EncodeOffsetDataHeader(h, 1, 0, 1 << 20, true);
  std::vector<ReplyDecoder::Completion> done;
  ASSERT_TRUE(d.Feed({h, sizeof h}, &done).ok());
  std::span<uint8_t> target = d.DirectTarget();
  ASSERT_EQ(target.size(), 1u << 20);
  EXPECT_EQ(target.data(), buf.data());
  testing::FillPattern(target.data(), 1000, 3);
  ASSERT_TRUE(d.DirectFilled(1000, &done).ok());
  EXPECT_EQ(d.DirectTarget().size(), (1u << 20) - 1000);
  EXPECT_TRUE(done.empty());
  ASSERT_TRUE(d.DirectFilled((1 << 20) - 1000, &done).ok());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].status.ok());
  EXPECT_TRUE(d.DirectTarget().empty());
}

TEST(ReplyDecoder, ErrorChunkCompletesWithTheServersMessage) {
  ReplyDecoder d(true);
  Bytes buf(512);
  d.Expect(Req(1, kCmdRead, 0, 512), buf.data());
  Bytes stream;
  AppendErrorChunk(&stream, 1, kEio, "medium error at sector 0");
  std::vector<ReplyDecoder::Completion> done;
  ASSERT_TRUE(d.Feed(stream, &done).ok());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.code(), Status::Code::kIoError);
  EXPECT_NE(done[0].status.message().find("medium error at sector 0"), std::string::npos);
  EXPECT_NE(done[0].status.message().find("EIO"), std::string::npos);
}

TEST(ReplyDecoder, SimpleReplyToNonReadUnderStructuredRepliesIsAccepted) {
  ReplyDecoder d(true);
  d.Expect(Req(4, kCmdFlush, 0, 0), nullptr);
  Bytes stream;
  AppendSimple(&stream, 4, 0);
  std::vector<ReplyDecoder::Completion> done;
  ASSERT_TRUE(d.Feed(stream, &done).ok());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].status.ok());
}

struct BadStream {
  const char* name;
  bool structured;
  Request request;
  std::function<void(Bytes*)> build;
};

TEST(ReplyDecoder, MalformedStreamsAreProtocolErrors) {
  const Request read4k = Req(1, kCmdRead, 4096, 4096);
  const Request write = Req(1, kCmdWrite, 0, 512);
  const std::vector<BadStream> cases = {
      {"bad magic", false, write, [](Bytes* s) { Put32(s, 0xdeadbeef); }},
      {"unknown handle", false, write, [](Bytes* s) { AppendSimple(s, 99, 0); }},
      {"structured without negotiation", false, write, [](Bytes* s) { AppendNone(s, 1); }},
      {"NONE with payload", true, write,
       [](Bytes* s) { AppendChunk(s, 1, kReplyFlagDone, kReplyTypeNone, {1}); }},
      {"NONE not final", true, write,
       [](Bytes* s) { AppendChunk(s, 1, 0, kReplyTypeNone, {}); }},
      {"data for a write", true, write,
       [](Bytes* s) { AppendData(s, 1, 0, Bytes(512), true); }},
      {"data before the request", true, read4k,
       [](Bytes* s) { AppendData(s, 1, 0, Bytes(512), true); }},
      {"data past the request", true, read4k,
       [](Bytes* s) { AppendData(s, 1, 8192 - 256, Bytes(512), true); }},
      {"short OFFSET_DATA", true, read4k,
       [](Bytes* s) { AppendChunk(s, 1, kReplyFlagDone, kReplyTypeOffsetData, Bytes(8)); }},
      {"not enough data", true, read4k,
       [](Bytes* s) { AppendData(s, 1, 4096, Bytes(512), true); }},
      {"overlapping data", true, read4k,
       [](Bytes* s) {
         AppendData(s, 1, 4096, Bytes(4096), false);
         AppendData(s, 1, 4096, Bytes(512), true);
       }},
      {"hole of wrong size", true, read4k,
       [](Bytes* s) { AppendChunk(s, 1, kReplyFlagDone, kReplyTypeOffsetHole, Bytes(11)); }},
      {"error chunk too long", true, write,
       [](Bytes* s) {
         AppendChunk(s, 1, kReplyFlagDone, kReplyTypeError, Bytes(ReplyDecoder::kMaxErrorChunk + 1));
       }},
      {"error chunk with error 0", true, write,
       [](Bytes* s) { AppendChunk(s, 1, kReplyFlagDone, kReplyTypeError, Bytes(6)); }},
      {"error offset outside the request", true, read4k,
       [](Bytes* s) { AppendErrorChunk(s, 1, kEio, "x", 0); }},
      {"unknown chunk type", true, write,
       [](Bytes* s) { AppendChunk(s, 1, kReplyFlagDone, 77, {}); }},
  };
  for (const BadStream& c : cases) {
    ReplyDecoder d(c.structured);
    Bytes buf(8192);
    d.Expect(c.request, buf.data());
    Bytes stream;
    c.build(&stream);
    std::vector<ReplyDecoder::Completion> done;
    Status st = d.Feed(stream, &done);
    EXPECT_EQ(st.code(), Status::Code::kProtocolError) << c.name << ": " << st.ToString();
    // Once broken, it stays broken, and FailAll completes what was pending.
    EXPECT_FALSE(d.Feed(Bytes(1), &done).ok()) << c.name;
    d.FailAll(Status::IoError("gone"), &done);
    EXPECT_EQ(d.pending(), 0u);
  }
}

TEST(ReplyDecoder, TruncatedStreamLeavesTheRequestPendingUntilFailAll) {
  Bytes stream;
  AppendData(&stream, 1, 0, Pattern(4096, 4), true);
  for (size_t n = 0; n < stream.size(); ++n) {
    ReplyDecoder d(true);
    Bytes buf(4096);
    d.Expect(Req(1, kCmdRead, 0, 4096), buf.data());
    std::vector<ReplyDecoder::Completion> done;
    ASSERT_TRUE(d.Feed({stream.data(), n}, &done).ok()) << n;
    EXPECT_TRUE(done.empty()) << n;
    EXPECT_EQ(d.pending(), 1u);
    d.FailAll(Status::IoError("connection lost"), &done);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status.code(), Status::Code::kIoError);
  }
}

}  // namespace
}  // namespace tandem::nbd
