// Reply codecs (nbd/reply.h) and the NBD error mapping (nbd/errors.h).
#include "nbd/reply.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "nbd/errors.h"
#include "nbd/wire.h"
#include "nbd_test_util.h"

namespace tandem::nbd {
namespace {

using testing::Bytes;
using testing::Put16;
using testing::Put32;
using testing::Put64;

TEST(ReplyCodec, SimpleReplyBytesAndRoundTrip) {
  uint8_t b[kSimpleReplySize];
  EncodeSimpleReply(b, kEnospc, 0x1122334455667788ull);
  Bytes want;
  Put32(&want, 0x67446698);
  Put32(&want, 28);
  Put64(&want, 0x1122334455667788ull);
  EXPECT_EQ(Bytes(b, b + sizeof b), want);
  auto h = DecodeReplyHeader({b, sizeof b});
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->structured);
  EXPECT_EQ(h->error, kEnospc);
  EXPECT_EQ(h->handle, 0x1122334455667788ull);
  EXPECT_TRUE(h->done());
}

TEST(ReplyCodec, OffsetDataHeaderAnnouncesDataPlusOffset) {
  uint8_t b[kOffsetDataHeaderSize];
  EncodeOffsetDataHeader(b, 9, 1 << 20, 4096, true);
  auto h = DecodeReplyHeader({b, kChunkHeaderSize});
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->structured);
  EXPECT_EQ(h->type, kReplyTypeOffsetData);
  EXPECT_EQ(h->flags, kReplyFlagDone);
  EXPECT_EQ(h->handle, 9u);
  EXPECT_EQ(h->length, 4096u + 8);
  EXPECT_EQ(GetBe64(b + kChunkHeaderSize), 1u << 20);
  EncodeOffsetDataHeader(b, 9, 0, 1, false);
  EXPECT_FALSE(DecodeReplyHeader({b, kChunkHeaderSize})->done());
}

TEST(ReplyCodec, NoneChunkIsFinalAndEmpty) {
  uint8_t b[kChunkHeaderSize];
  EncodeNoneChunk(b, 5);
  auto h = DecodeReplyHeader({b, sizeof b});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->type, kReplyTypeNone);
  EXPECT_EQ(h->length, 0u);
  EXPECT_TRUE(h->done());
}

TEST(ReplyCodec, ErrorChunksRoundTripWithMessageAndOffset) {
  Bytes out;
  AppendErrorChunk(&out, 3, kEio, "disk on fire");
  auto h = DecodeReplyHeader({out.data(), kChunkHeaderSize});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->type, kReplyTypeError);
  EXPECT_EQ(h->length, 6u + 12);
  auto e = DecodeErrorChunk(h->type, {out.data() + kChunkHeaderSize, h->length});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->error, kEio);
  EXPECT_EQ(e->message, "disk on fire");
  EXPECT_FALSE(e->offset);

  Bytes out2;
  AppendErrorChunk(&out2, 3, kEio, "here", 4096);
  auto h2 = DecodeReplyHeader({out2.data(), kChunkHeaderSize});
  ASSERT_TRUE(h2.ok());
  EXPECT_EQ(h2->type, kReplyTypeErrorOffset);
  auto e2 = DecodeErrorChunk(h2->type, {out2.data() + kChunkHeaderSize, h2->length});
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(*e2->offset, 4096u);
  EXPECT_EQ(e2->message, "here");
}

TEST(ReplyCodec, ErrorChunkMessagesAreCappedAtTheStringLimit) {
  Bytes out;
  AppendErrorChunk(&out, 1, kEinval, std::string(70000, 'm'));
  auto h = DecodeReplyHeader({out.data(), kChunkHeaderSize});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->length, 6u + kMaxStringLength);
}

TEST(ReplyCodec, HeadersTruncatedAtEveryByteOrWithBadMagicAreRefused) {
  uint8_t s[kSimpleReplySize];
  EncodeSimpleReply(s, 0, 1);
  uint8_t c[kChunkHeaderSize];
  EncodeNoneChunk(c, 1);
  for (size_t n = 0; n < kSimpleReplySize; ++n) EXPECT_FALSE(DecodeReplyHeader({s, n}).ok());
  for (size_t n = 0; n < kChunkHeaderSize; ++n) EXPECT_FALSE(DecodeReplyHeader({c, n}).ok());
  EXPECT_FALSE(DecodeReplyHeader({c, kSimpleReplySize}).ok()) << "structured magic, simple size";
  for (size_t i = 0; i < 4; ++i) {
    uint8_t bad[kSimpleReplySize];
    std::memcpy(bad, s, sizeof bad);
    bad[i] ^= 0x10;
    auto h = DecodeReplyHeader({bad, sizeof bad});
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), Status::Code::kProtocolError);
  }
}

TEST(ReplyCodec, ErrorPayloadsTruncatedOrLyingAreRefused) {
  Bytes out;
  AppendErrorChunk(&out, 1, kEio, "message", 512);
  const Bytes payload(out.begin() + kChunkHeaderSize, out.end());
  for (size_t n = 0; n < payload.size(); ++n) {
    EXPECT_FALSE(DecodeErrorChunk(kReplyTypeErrorOffset, {payload.data(), n}).ok()) << n;
  }
  Bytes zero_error = payload;
  PutBe32(zero_error.data(), 0);
  EXPECT_FALSE(DecodeErrorChunk(kReplyTypeErrorOffset, zero_error).ok());
  Bytes long_msg = payload;
  PutBe16(long_msg.data() + 4, 200);
  EXPECT_FALSE(DecodeErrorChunk(kReplyTypeErrorOffset, long_msg).ok());
  EXPECT_FALSE(DecodeErrorChunk(kReplyTypeOffsetData, payload).ok()) << "not an error type";
  // An unknown error type reads like NBD_REPLY_TYPE_ERROR.
  Bytes unknown;
  Put32(&unknown, kEio);
  Put16(&unknown, 2);
  unknown.push_back('h');
  unknown.push_back('i');
  auto e = DecodeErrorChunk(kReplyTypeErrorBit + 50, unknown);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->message, "hi");
}

TEST(ReplyCodec, OffsetHoleDecodes) {
  Bytes b;
  Put64(&b, 8192);
  Put32(&b, 4096);
  auto h = DecodeOffsetHole(b);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->offset, 8192u);
  EXPECT_EQ(h->length, 4096u);
  for (size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(DecodeOffsetHole({b.data(), n}).ok());
  Bytes empty_hole = b;
  PutBe32(empty_hole.data() + 8, 0);
  EXPECT_FALSE(DecodeOffsetHole(empty_hole).ok());
}

TEST(NbdErrors, StatusMapsToTheSpecifiedErrorValues) {
  EXPECT_EQ(ToNbdError(Status::Ok()), 0u);
  EXPECT_EQ(ToNbdError(Status::InvalidArgument("x")), 22u);
  EXPECT_EQ(ToNbdError(Status::PermissionDenied("x")), 1u);
  EXPECT_EQ(ToNbdError(Status::IoError("x")), 5u);
  EXPECT_EQ(ToNbdError(Status::Corruption("x")), 5u);
  EXPECT_EQ(ToNbdError(Status::Aborted("x")), 108u);
  EXPECT_EQ(ToNbdError(Status::NotSupported("x")), 22u);
  EXPECT_EQ(ToNbdError(Status::FromErrno(ENOSPC, "write")), 28u);
  EXPECT_EQ(ToNbdError(Status::FromErrno(EDQUOT, "write")), 28u);
  EXPECT_EQ(ToNbdError(Status::FromErrno(EFBIG, "write")), 28u);
  EXPECT_EQ(ToNbdError(Status::FromErrno(EIO, "write")), 5u);
}

TEST(NbdErrors, NbdErrorsMapBackAndRoundTrip) {
  for (uint32_t e : {kEperm, kEio, kEinval, kEnospc, kEshutdown}) {
    const Status st = FromNbdError(e, "write of 512 bytes at 0", "server says why");
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(ToNbdError(st), e) << NbdErrorName(e);
    EXPECT_NE(st.message().find(NbdErrorName(e)), std::string::npos);
    EXPECT_NE(st.message().find("server says why"), std::string::npos);
  }
  EXPECT_EQ(FromNbdError(kEnotsup, "x", "").code(), Status::Code::kNotSupported);
  EXPECT_EQ(FromNbdError(kEoverflow, "x", "").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(FromNbdError(12345, "x", "").code(), Status::Code::kIoError);
  EXPECT_EQ(NbdErrorName(12345), "error 12345");
}

TEST(NbdErrors, NamesForLogs) {
  EXPECT_EQ(OptionName(kOptGo), "NBD_OPT_GO");
  EXPECT_EQ(OptionName(99), "option 99");
  EXPECT_EQ(OptionReplyName(kRepErrTlsReqd), "NBD_REP_ERR_TLS_REQD");
  EXPECT_EQ(CommandName(kCmdWriteZeroes), "NBD_CMD_WRITE_ZEROES");
  EXPECT_EQ(CommandName(42), "command 42");
}

}  // namespace
}  // namespace tandem::nbd
