// Transmission requests (nbd/request.h): the header codec and every rule of
// CheckRequest, including the boundaries where an offset/length pair stops
// fitting and where 64-bit arithmetic would wrap.
#include "nbd/request.h"

#include <gtest/gtest.h>

#include "nbd/wire.h"
#include "nbd_test_util.h"

namespace tandem::nbd {
namespace {

using testing::RequestBytes;

ExportParams Params(uint64_t size = 1 << 20, bool structured = false, bool read_only = false) {
  ExportParams p;
  p.size = size;
  p.min_block = 512;
  p.preferred_block = 4096;
  p.max_block = kMaxBlockSize;
  p.structured = structured;
  p.flags = kFlagHasFlags | kFlagSendFlush | kFlagSendFua;
  p.flags |= read_only ? kFlagReadOnly : (kFlagSendTrim | kFlagSendWriteZeroes);
  if (structured) p.flags |= kFlagSendDf;
  return p;
}

Verdict Check(uint16_t type, uint64_t offset, uint32_t length, uint16_t flags = 0,
              const ExportParams& p = Params()) {
  return CheckRequest(Request{flags, type, 7, offset, length}, p);
}

TEST(RequestCodec, DecodesTheSpecifiedLayout) {
  const testing::Bytes b = RequestBytes(kCmdWrite, 0x0102030405060708ull, 0x11223344,
                                        kCmdFlagFua, 0xa1a2a3a4a5a6a7a8ull);
  ASSERT_EQ(b.size(), kRequestSize);
  EXPECT_EQ(b[0], 0x25);
  EXPECT_EQ(b[3], 0x13);
  auto r = DecodeRequest(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, kCmdWrite);
  EXPECT_EQ(r->flags, kCmdFlagFua);
  EXPECT_EQ(r->handle, 0xa1a2a3a4a5a6a7a8ull);
  EXPECT_EQ(r->offset, 0x0102030405060708ull);
  EXPECT_EQ(r->length, 0x11223344u);
  uint8_t again[kRequestSize];
  EncodeRequest(*r, again);
  EXPECT_EQ(testing::Bytes(again, again + kRequestSize), b);
}

TEST(RequestCodec, TruncatedHeadersAreRefusedAtEveryLength) {
  const testing::Bytes b = RequestBytes(kCmdRead, 0, 4096);
  for (size_t n = 0; n < kRequestSize; ++n) {
    auto r = DecodeRequest({b.data(), n});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(RequestCodec, EveryCorruptMagicByteIsAProtocolError) {
  const testing::Bytes good = RequestBytes(kCmdRead, 0, 4096);
  for (size_t i = 0; i < 4; ++i) {
    for (uint8_t bit = 1; bit != 0; bit = static_cast<uint8_t>(bit << 1)) {
      testing::Bytes bad = good;
      bad[i] ^= bit;
      auto r = DecodeRequest(bad);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), Status::Code::kProtocolError);
    }
  }
  // The historic magic and the simple reply magic are not requests either.
  EXPECT_FALSE(DecodeRequest(RequestBytes(kCmdRead, 0, 0, 0, 1, 0x12560953)).ok());
  EXPECT_FALSE(DecodeRequest(RequestBytes(kCmdRead, 0, 0, 0, 1, kSimpleReplyMagic)).ok());
}

TEST(RequestCheck, ValidRequestsPass) {
  EXPECT_TRUE(Check(kCmdRead, 0, 4096).ok());
  EXPECT_TRUE(Check(kCmdWrite, (1 << 20) - 512, 512, kCmdFlagFua).ok());
  EXPECT_TRUE(Check(kCmdFlush, 0, 0).ok());
  EXPECT_TRUE(Check(kCmdFlush, 0, 0, kCmdFlagFua).ok()) << "FUA is valid on every command";
  EXPECT_TRUE(Check(kCmdTrim, 0, 1 << 20, kCmdFlagFua).ok());
  EXPECT_TRUE(Check(kCmdWriteZeroes, 512, 1024, kCmdFlagNoHole | kCmdFlagFua).ok());
  EXPECT_TRUE(Check(kCmdDisc, 123, 456, 0xffff).ok()) << "DISC has no reply to refuse with";
  EXPECT_TRUE(Check(kCmdRead, 1 << 20, 0).ok()) << "empty request at the very end";
}

TEST(RequestCheck, UnknownCommandsAreEinval) {
  for (uint16_t type : {kCmdCache, kCmdBlockStatus, kCmdResize, uint16_t{9}, uint16_t{0xffff}}) {
    const Verdict v = Check(type, 0, 512);
    EXPECT_EQ(v.error, kEinval) << type;
    EXPECT_NE(v.message.find("not supported"), std::string::npos);
  }
}

TEST(RequestCheck, FlagsNotValidForTheCommandAreEinval) {
  EXPECT_EQ(Check(kCmdWrite, 0, 512, kCmdFlagNoHole).error, kEinval);
  EXPECT_EQ(Check(kCmdRead, 0, 512, kCmdFlagDf).error, kEinval) << "DF needs structured replies";
  EXPECT_TRUE(Check(kCmdRead, 0, 512, kCmdFlagDf, Params(1 << 20, true)).ok());
  EXPECT_EQ(Check(kCmdWrite, 0, 512, kCmdFlagDf, Params(1 << 20, true)).error, kEinval);
  EXPECT_EQ(Check(kCmdWriteZeroes, 0, 512, kCmdFlagFastZero).error, kEinval);
  EXPECT_EQ(Check(kCmdRead, 0, 512, kCmdFlagReqOne).error, kEinval);
  EXPECT_EQ(Check(kCmdFlush, 0, 0, 1u << 15).error, kEinval);
}

TEST(RequestCheck, FlushWithOffsetOrLengthIsEinval) {
  EXPECT_EQ(Check(kCmdFlush, 512, 0).error, kEinval);
  EXPECT_EQ(Check(kCmdFlush, 0, 512).error, kEinval);
}

TEST(RequestCheck, WritesToAReadOnlyExportAreEperm) {
  const ExportParams ro = Params(1 << 20, false, true);
  for (uint16_t type : {kCmdWrite, kCmdTrim, kCmdWriteZeroes}) {
    EXPECT_EQ(Check(type, 0, 512, 0, ro).error, kEperm) << type;
  }
  EXPECT_TRUE(Check(kCmdRead, 0, 512, 0, ro).ok());
  EXPECT_TRUE(Check(kCmdFlush, 0, 0, 0, ro).ok());
}

TEST(RequestCheck, LengthsOverTheMaximumAreEinvalExceptTrim) {
  const ExportParams big = Params(uint64_t{1} << 40);
  EXPECT_TRUE(Check(kCmdRead, 0, kMaxBlockSize, 0, big).ok());
  for (uint16_t type : {kCmdRead, kCmdWrite, kCmdWriteZeroes}) {
    const Verdict v = Check(type, 0, kMaxBlockSize + 512, 0, big);
    EXPECT_EQ(v.error, kEinval) << type;
    EXPECT_NE(v.message.find("maximum block size"), std::string::npos);
    EXPECT_EQ(Check(type, 0, 0xfffffe00, 0, big).error, kEinval);
  }
  EXPECT_TRUE(Check(kCmdTrim, 0, 0xfffffe00, 0, big).ok());
}

TEST(RequestCheck, MisalignedRequestsAreEinval) {
  for (uint16_t type : {kCmdRead, kCmdWrite, kCmdTrim, kCmdWriteZeroes}) {
    EXPECT_EQ(Check(type, 1, 512).error, kEinval) << type;
    EXPECT_EQ(Check(type, 0, 511).error, kEinval) << type;
    EXPECT_EQ(Check(type, 4096 + 256, 4096).error, kEinval) << type;
  }
  ExportParams p4k = Params();
  p4k.min_block = 4096;
  EXPECT_EQ(Check(kCmdRead, 512, 4096, 0, p4k).error, kEinval);
  EXPECT_TRUE(Check(kCmdRead, 8192, 4096, 0, p4k).ok());
}

TEST(RequestCheck, PastTheEndIsEnospcForWritesAndEinvalOtherwise) {
  const uint64_t size = 1 << 20;
  EXPECT_EQ(Check(kCmdWrite, size, 512).error, kEnospc);
  EXPECT_EQ(Check(kCmdWrite, size - 512, 1024).error, kEnospc);
  EXPECT_EQ(Check(kCmdWriteZeroes, size - 512, 1024).error, kEnospc);
  EXPECT_EQ(Check(kCmdRead, size - 512, 1024).error, kEinval);
  EXPECT_EQ(Check(kCmdTrim, size, 512).error, kEinval);
  EXPECT_EQ(Check(kCmdRead, size + 512, 0).error, kEinval) << "empty, but past the end";
  const Verdict v = Check(kCmdWrite, size, 512);
  EXPECT_NE(v.message.find("beyond the end"), std::string::npos) << v.message;
}

TEST(RequestCheck, OffsetsThatWouldWrapAroundAreRefused) {
  const uint64_t huge = 0xfffffffffffffe00ull;  // aligned, wraps with any length
  EXPECT_EQ(Check(kCmdRead, huge, 1024).error, kEinval);
  EXPECT_EQ(Check(kCmdWrite, huge, 1024).error, kEnospc);
  const ExportParams all = Params(0xfffffffffffffe00ull);
  EXPECT_TRUE(Check(kCmdRead, huge - 1024, 1024, 0, all).ok());
  EXPECT_EQ(Check(kCmdRead, huge - 512, 1024, 0, all).error, kEinval);
}

TEST(RequestCheck, PayloadLengthIsTheLengthOnlyForWrites) {
  EXPECT_EQ(PayloadLength(Request{0, kCmdWrite, 1, 0, 4096}), 4096u);
  EXPECT_EQ(PayloadLength(Request{0, kCmdRead, 1, 0, 4096}), 0u);
  EXPECT_EQ(PayloadLength(Request{0, kCmdWriteZeroes, 1, 0, 4096}), 0u);
}

}  // namespace
}  // namespace tandem::nbd
