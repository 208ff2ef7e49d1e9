// Option haggling codecs (nbd/options.h): round trips, the exact bytes the
// spec lays down, every truncation of every message, and corrupted fields.
#include "nbd/options.h"

#include <gtest/gtest.h>

#include "nbd/wire.h"
#include "nbd_test_util.h"

namespace tandem::nbd {
namespace {

using testing::Put16;
using testing::Put32;
using testing::Put64;
using testing::PutText;

TEST(OptionCodec, OptionRequestBytesAreAsSpecified) {
  Bytes out;
  const Bytes data = {1, 2, 3};
  AppendOption(&out, kOptGo, data);
  Bytes want;
  Put64(&want, 0x49484156454F5054ull);  // "IHAVEOPT"
  Put32(&want, 7);
  Put32(&want, 3);
  want.insert(want.end(), {1, 2, 3});
  EXPECT_EQ(out, want);
  auto h = DecodeOptionHeader({out.data(), kOptionHeaderSize});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->option, kOptGo);
  EXPECT_EQ(h->length, 3u);
}

TEST(OptionCodec, OptionHeaderTruncatedAtEveryByteIsRefused) {
  Bytes out;
  AppendOption(&out, kOptList, {});
  for (size_t n = 0; n < kOptionHeaderSize; ++n) {
    auto h = DecodeOptionHeader({out.data(), n});
    EXPECT_FALSE(h.ok()) << n;
    EXPECT_EQ(h.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(OptionCodec, OptionHeaderWithAnyCorruptMagicByteIsAProtocolError) {
  Bytes good;
  AppendOption(&good, kOptList, {});
  for (size_t i = 0; i < 8; ++i) {
    Bytes bad = good;
    bad[i] ^= 0x40;
    auto h = DecodeOptionHeader(bad);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), Status::Code::kProtocolError);
    EXPECT_NE(h.status().message().find("magic"), std::string::npos);
  }
}

TEST(OptionCodec, InfoRequestRoundTrips) {
  InfoRequest r{"r0", {kInfoBlockSize, kInfoName}};
  const Bytes b = EncodeInfoRequest(r);
  Bytes want;
  Put32(&want, 2);
  PutText(&want, "r0");
  Put16(&want, 2);
  Put16(&want, kInfoBlockSize);
  Put16(&want, kInfoName);
  EXPECT_EQ(b, want);
  auto back = DecodeInfoRequest(b);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->name, "r0");
  EXPECT_EQ(back->requests, r.requests);
}

TEST(OptionCodec, InfoRequestWithEmptyNameAndNoRequests) {
  const Bytes b = EncodeInfoRequest({"", {}});
  EXPECT_EQ(b.size(), 6u);
  auto back = DecodeInfoRequest(b);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->name.empty());
  EXPECT_TRUE(back->requests.empty());
}

TEST(OptionCodec, InfoRequestTruncatedAtEveryByteIsRefused) {
  const Bytes b = EncodeInfoRequest({"export-name", {kInfoBlockSize, kInfoName, kInfoDescription}});
  for (size_t n = 0; n < b.size(); ++n) {
    auto r = DecodeInfoRequest({b.data(), n});
    EXPECT_FALSE(r.ok()) << "decoded from " << n << " of " << b.size() << " bytes";
  }
}

TEST(OptionCodec, InfoRequestWithLyingLengthsIsRefused) {
  Bytes b = EncodeInfoRequest({"abc", {kInfoName}});
  Bytes too_long_name = b;
  PutBe32(too_long_name.data(), 0xffffffff);
  EXPECT_FALSE(DecodeInfoRequest(too_long_name).ok());
  Bytes name_eats_count = b;
  PutBe32(name_eats_count.data(), static_cast<uint32_t>(b.size() - 5));
  EXPECT_FALSE(DecodeInfoRequest(name_eats_count).ok());
  Bytes more_requests = b;
  PutBe16(more_requests.data() + 7, 2);
  EXPECT_FALSE(DecodeInfoRequest(more_requests).ok());
  Bytes trailing = b;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeInfoRequest(trailing).ok());
}

TEST(OptionCodec, OptionReplyRoundTripsAndCarriesText) {
  Bytes out;
  AppendOptionReply(&out, kOptGo, kRepErrPolicy, std::string("refused"));
  ASSERT_EQ(out.size(), kOptionReplyHeaderSize + 7);
  EXPECT_EQ(GetBe64(out.data()), 0x0003e889045565a9ull);
  auto h = DecodeOptionReplyHeader({out.data(), kOptionReplyHeaderSize});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->option, kOptGo);
  EXPECT_EQ(h->type, kRepErrPolicy);
  EXPECT_TRUE(h->is_error());
  EXPECT_EQ(h->length, 7u);
  EXPECT_EQ(std::string(out.begin() + kOptionReplyHeaderSize, out.end()), "refused");
}

TEST(OptionCodec, OptionReplyTextIsCappedAtTheStringLimit) {
  Bytes out;
  AppendOptionReply(&out, kOptGo, kRepErrPolicy, std::string(10000, 'x'));
  EXPECT_EQ(out.size(), kOptionReplyHeaderSize + kMaxStringLength);
}

TEST(OptionCodec, OptionReplyHeaderTruncatedOrCorruptIsRefused) {
  Bytes out;
  AppendOptionReply(&out, kOptList, kRepAck);
  for (size_t n = 0; n < kOptionReplyHeaderSize; ++n) {
    EXPECT_FALSE(DecodeOptionReplyHeader({out.data(), n}).ok());
  }
  for (size_t i = 0; i < 8; ++i) {
    Bytes bad = out;
    bad[i] ^= 1;
    auto h = DecodeOptionReplyHeader(bad);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), Status::Code::kProtocolError);
  }
}

TEST(OptionCodec, ServerEntryRoundTripsWithAndWithoutDetails) {
  for (const ServerEntry& e : {ServerEntry{"r0", ""}, ServerEntry{"r1", "mirror of /dev/sdb"}}) {
    auto back = DecodeServerEntry(EncodeServerEntry(e));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->name, e.name);
    EXPECT_EQ(back->details, e.details);
  }
}

TEST(OptionCodec, ServerEntryTruncatedOrLyingIsRefused) {
  const Bytes b = EncodeServerEntry({"resource", ""});
  for (size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(DecodeServerEntry({b.data(), n}).ok()) << n;
  Bytes lie = b;
  PutBe32(lie.data(), 100);
  EXPECT_FALSE(DecodeServerEntry(lie).ok());
}

TEST(OptionCodec, InfoRepliesRoundTrip) {
  auto e = DecodeInfoReply(EncodeInfoExport(1ull << 40, kFlagHasFlags | kFlagSendFlush));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, kInfoExport);
  EXPECT_EQ(*e->size, 1ull << 40);
  EXPECT_EQ(*e->flags, kFlagHasFlags | kFlagSendFlush);

  auto n = DecodeInfoReply(EncodeInfoText(kInfoName, "r0"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n->text, "r0");
  auto d = DecodeInfoReply(EncodeInfoText(kInfoDescription, ""));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d->text, "");

  auto bs = DecodeInfoReply(EncodeInfoBlockSize({512, 4096, 32u << 20}));
  ASSERT_TRUE(bs.ok());
  EXPECT_EQ(bs->block_sizes->minimum, 512u);
  EXPECT_EQ(bs->block_sizes->preferred, 4096u);
  EXPECT_EQ(bs->block_sizes->maximum, 32u << 20);
}

TEST(OptionCodec, UnknownInfoTypesAreIgnoredNotRefused) {
  Bytes b;
  Put16(&b, 77);
  PutText(&b, "future information");
  auto r = DecodeInfoReply(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, 77);
  EXPECT_FALSE(r->size || r->text || r->block_sizes);
}

TEST(OptionCodec, FixedSizeInfoRepliesTruncatedOrPaddedAreRefused) {
  for (const Bytes& b : {EncodeInfoExport(4096, 1), EncodeInfoBlockSize({512, 4096, 1 << 20})}) {
    for (size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(DecodeInfoReply({b.data(), n}).ok()) << n;
    Bytes padded = b;
    padded.push_back(0);
    EXPECT_FALSE(DecodeInfoReply(padded).ok());
  }
}

TEST(OptionCodec, BlockSizesBreakingTheSpecRulesAreRefused) {
  struct Case {
    BlockSizes sizes;
    bool ok;
  };
  const Case cases[] = {
      {{1, 4096, 0xffffffff}, true},     {{512, 512, 512}, true},
      {{65536, 65536, 1 << 20}, true},   {{0, 4096, 1 << 20}, false},
      {{3, 4096, 1 << 20}, false},       {{131072, 131072, 1 << 20}, false},
      {{512, 256, 1 << 20}, false},      {{4096, 512, 1 << 20}, false},
      {{512, 4095, 1 << 20}, false},     {{512, 4096, 1000}, false},
  };
  for (const Case& c : cases) {
    auto r = DecodeInfoReply(EncodeInfoBlockSize(c.sizes));
    EXPECT_EQ(r.ok(), c.ok) << c.sizes.minimum << "/" << c.sizes.preferred << "/"
                            << c.sizes.maximum;
  }
}

TEST(OptionCodec, PrintableNeutralisesControlBytesAndBoundsLength) {
  EXPECT_EQ(Printable("r0"), "r0");
  EXPECT_EQ(Printable(std::string("a\0b\n\x7f", 5)), "a?b??");
  EXPECT_EQ(Printable(std::string(300, 'x'), 10), std::string(10, 'x') + "...");
}

}  // namespace
}  // namespace tandem::nbd
