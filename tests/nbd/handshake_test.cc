// The handshake state machines, server (nbd/handshake.h) and client
// (nbd/client_handshake.h), driven byte by byte without sockets: every option,
// the TLS modes, admission, over-long and malformed input, and the two
// machines talking to each other.
#include "nbd/handshake.h"

#include <gtest/gtest.h>

#include <random>

#include "io/mem_block_device.h"
#include "nbd/client_handshake.h"
#include "nbd/device_backend.h"
#include "nbd/wire.h"
#include "nbd_test_util.h"

namespace tandem::nbd {
namespace {

using testing::Put16;
using testing::Put32;
using testing::Put64;
using testing::PutText;
using Step = ServerHandshake::Step;

struct OptionReply {
  uint32_t option = 0;
  uint32_t type = 0;
  Bytes data;
  std::string text() const { return std::string(data.begin(), data.end()); }
};

// Splits a server's output into option replies (after the greeting).
std::vector<OptionReply> ParseReplies(const Bytes& out) {
  std::vector<OptionReply> r;
  size_t at = 0;
  while (at + kOptionReplyHeaderSize <= out.size()) {
    auto h = DecodeOptionReplyHeader({out.data() + at, kOptionReplyHeaderSize});
    EXPECT_TRUE(h.ok());
    if (!h.ok()) break;
    at += kOptionReplyHeaderSize;
    EXPECT_LE(at + h->length, out.size());
    r.push_back({h->option, h->type, Bytes(out.begin() + at, out.begin() + at + h->length)});
    at += h->length;
  }
  EXPECT_EQ(at, out.size()) << "trailing bytes after option replies";
  return r;
}

Bytes Option(uint32_t option, const Bytes& data = {}) {
  Bytes b;
  AppendOption(&b, option, data);
  return b;
}

Bytes GoData(const std::string& name, std::vector<uint16_t> infos = {}) {
  return EncodeInfoRequest({name, std::move(infos)});
}

class HandshakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    r0_ = AddExport("r0", 1 << 20, "first resource");
    r1_ = AddExport("r1", 2 << 20, "");
  }

  std::shared_ptr<DeviceBackend> AddExport(const std::string& name, uint64_t size,
                                           const std::string& description,
                                           size_t max_openers = 0, bool direct = false,
                                           uint32_t lbs = 512) {
    auto dev = std::make_unique<io::MemBlockDevice>(loop_, size, direct, lbs);
    auto b = std::make_shared<DeviceBackend>(std::move(dev),
                                             DeviceBackendOptions{description, max_openers});
    EXPECT_TRUE(exports_.Add(name, b).ok());
    return b;
  }

  // A fresh server machine past the greeting, with the client flags fed.
  std::unique_ptr<ServerHandshake> Begin(HandshakeOptions options = {},
                                         uint32_t client_flags = kClientFlagFixedNewstyle |
                                                                 kClientFlagNoZeroes) {
    auto hs = std::make_unique<ServerHandshake>(exports_, std::move(options));
    Bytes greeting;
    hs->Start(&greeting);
    EXPECT_EQ(greeting.size(), kGreetingSize);
    Bytes flags;
    Put32(&flags, client_flags);
    Bytes out;
    last_ = Feed(*hs, flags, &out);
    EXPECT_TRUE(out.empty());
    return hs;
  }

  // Feeds `in` in want()-sized pieces until it is used up or the machine
  // stops asking; returns the last step.
  Step Feed(ServerHandshake& hs, const Bytes& in, Bytes* out) {
    size_t at = 0;
    Step step = Step::kContinue;
    while (at < in.size() && hs.want() > 0) {
      const size_t n = std::min(hs.want(), in.size() - at);
      if (n < hs.want()) {
        leftover_ = n;  // truncated: the machine waits for more
        return step;
      }
      step = hs.Feed({in.data() + at, n}, out);
      at += n;
      if (step != Step::kContinue) break;
    }
    leftover_ = in.size() - at;
    return step;
  }

  std::vector<OptionReply> Exchange(ServerHandshake& hs, const Bytes& in) {
    Bytes out;
    last_ = Feed(hs, in, &out);
    return ParseReplies(out);
  }

  boost::asio::io_context loop_;
  ExportRegistry exports_;
  std::shared_ptr<DeviceBackend> r0_, r1_;
  Step last_ = Step::kContinue;
  size_t leftover_ = 0;
};

TEST_F(HandshakeTest, GreetingIsFixedNewstyleWithNoZeroes) {
  ServerHandshake hs(exports_, {});
  Bytes g;
  hs.Start(&g);
  Bytes want;
  PutText(&want, "NBDMAGIC");
  PutText(&want, "IHAVEOPT");
  Put16(&want, kFlagFixedNewstyle | kFlagNoZeroes);
  EXPECT_EQ(g, want);
  EXPECT_EQ(hs.want(), kClientFlagsSize);
}

TEST_F(HandshakeTest, UnknownClientFlagsCloseTheConnection) {
  for (uint32_t bad : {1u << 2, 1u << 31, 0xffffffffu}) {
    auto hs = Begin({}, kClientFlagFixedNewstyle | bad);
    EXPECT_EQ(last_, Step::kClose);
    EXPECT_NE(hs->close_reason().find("unknown"), std::string::npos);
    EXPECT_EQ(hs->want(), 0u);
  }
}

TEST_F(HandshakeTest, GoAnswersExportAndBlockSizeAndEntersTransmission) {
  auto hs = Begin();
  EXPECT_TRUE(hs->no_zeroes());
  auto replies = Exchange(*hs, Option(kOptGo, GoData("r0")));
  EXPECT_EQ(last_, Step::kTransmission);
  ASSERT_EQ(replies.size(), 3u);
  for (const auto& r : replies) EXPECT_EQ(r.option, kOptGo);
  auto exp = DecodeInfoReply(replies[0].data);
  ASSERT_TRUE(exp.ok());
  EXPECT_EQ(*exp->size, 1u << 20);
  EXPECT_EQ(*exp->flags, kFlagHasFlags | kFlagSendFlush | kFlagSendFua | kFlagSendTrim |
                             kFlagSendWriteZeroes | kFlagCanMultiConn);
  auto bs = DecodeInfoReply(replies[1].data);
  ASSERT_TRUE(bs.ok() && bs->block_sizes);
  EXPECT_EQ(bs->block_sizes->minimum, 512u);
  EXPECT_EQ(bs->block_sizes->preferred, 4096u);
  EXPECT_EQ(bs->block_sizes->maximum, 32u << 20);
  EXPECT_EQ(replies[2].type, kRepAck);
  EXPECT_EQ(r0_->openers(), 1u);
  ServerHandshake::Selected sel = hs->TakeSelected();
  EXPECT_EQ(sel.name, "r0");
  EXPECT_EQ(sel.backend, r0_);
  EXPECT_EQ(sel.params.size, 1u << 20);
  EXPECT_FALSE(sel.params.structured);
  sel.backend->Close();
}

TEST_F(HandshakeTest, GoAnswersNameAndDescriptionWhenAsked) {
  auto hs = Begin();
  auto replies = Exchange(*hs, Option(kOptGo, GoData("r0", {kInfoName, kInfoDescription,
                                                             kInfoBlockSize, 999})));
  ASSERT_EQ(last_, Step::kTransmission);
  std::map<uint16_t, InfoReply> infos;
  for (const auto& r : replies) {
    if (r.type != kRepInfo) continue;
    auto i = DecodeInfoReply(r.data);
    ASSERT_TRUE(i.ok());
    infos[i->type] = *i;
  }
  EXPECT_EQ(*infos[kInfoName].text, "r0");
  EXPECT_EQ(*infos[kInfoDescription].text, "first resource");
  EXPECT_TRUE(infos.count(kInfoExport));
  EXPECT_TRUE(infos.count(kInfoBlockSize));
  EXPECT_EQ(infos.size(), 4u) << "unknown information requests are ignored";
  hs->TakeSelected().backend->Close();
}

TEST_F(HandshakeTest, MachineDestroyedWithoutTakingTheExportClosesIt) {
  {
    auto hs = Begin();
    Exchange(*hs, Option(kOptGo, GoData("r1")));
    EXPECT_EQ(r1_->openers(), 1u);
  }
  EXPECT_EQ(r1_->openers(), 0u);
}

TEST_F(HandshakeTest, InfoOpensAndClosesAndHagglingContinues) {
  auto hs = Begin();
  auto replies = Exchange(*hs, Option(kOptInfo, GoData("r1")));
  EXPECT_EQ(last_, Step::kContinue);
  ASSERT_FALSE(replies.empty());
  EXPECT_EQ(replies.back().type, kRepAck);
  EXPECT_EQ(r1_->openers(), 0u);
  EXPECT_EQ(hs->want(), kOptionHeaderSize);
  Exchange(*hs, Option(kOptGo, GoData("r1")));
  EXPECT_EQ(last_, Step::kTransmission);
  hs->TakeSelected().backend->Close();
}

TEST_F(HandshakeTest, UnknownExportIsErrUnknownWithTheExportList) {
  auto hs = Begin();
  for (uint32_t opt : {kOptInfo, kOptGo}) {
    auto replies = Exchange(*hs, Option(opt, GoData("nope\x01")));
    EXPECT_EQ(last_, Step::kContinue);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].type, kRepErrUnknown);
    EXPECT_NE(replies[0].text().find("'nope?'"), std::string::npos) << replies[0].text();
    EXPECT_NE(replies[0].text().find("r0, r1"), std::string::npos) << replies[0].text();
  }
}

TEST_F(HandshakeTest, EmptyNameSelectsTheDefaultExport) {
  // Two exports and no default: ambiguous.
  auto hs = Begin();
  auto replies = Exchange(*hs, Option(kOptGo, GoData("")));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepErrUnknown);
  // A listener's default export.
  auto hs2 = Begin({TlsMode::kOff, "r1"});
  Exchange(*hs2, Option(kOptGo, GoData("")));
  ASSERT_EQ(last_, Step::kTransmission);
  EXPECT_EQ(hs2->TakeSelected().name, "r1");
  r1_->Close();
  // The only export.
  exports_.Remove("r1");
  auto hs3 = Begin();
  Exchange(*hs3, Option(kOptGo, GoData("")));
  ASSERT_EQ(last_, Step::kTransmission);
  EXPECT_EQ(hs3->TakeSelected().name, "r0");
  r0_->Close();
}

TEST_F(HandshakeTest, BackendRefusalIsAnErrorReplyWithItsMessage) {
  auto limited = AddExport("one", 1 << 20, "", /*max_openers=*/1);
  ASSERT_TRUE(limited->Open().ok());
  auto hs = Begin();
  auto replies = Exchange(*hs, Option(kOptGo, GoData("one")));
  EXPECT_EQ(last_, Step::kContinue);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepErrPolicy);
  EXPECT_NE(replies[0].text().find("in use by 1 client"), std::string::npos) << replies[0].text();
  limited->Close();
  Exchange(*hs, Option(kOptGo, GoData("one")));
  EXPECT_EQ(last_, Step::kTransmission);
  hs->TakeSelected().backend->Close();
}

TEST_F(HandshakeTest, BlockSizeFollowsTheBackendLogicalBlockSize) {
  AddExport("fourk", 1 << 20, "", 0, /*direct=*/true, 4096);
  auto hs = Begin();
  auto replies = Exchange(*hs, Option(kOptGo, GoData("fourk")));
  ASSERT_EQ(last_, Step::kTransmission);
  auto bs = DecodeInfoReply(replies[1].data);
  ASSERT_TRUE(bs.ok() && bs->block_sizes);
  EXPECT_EQ(bs->block_sizes->minimum, 4096u);
  EXPECT_EQ(bs->block_sizes->preferred, 4096u);
  hs->TakeSelected().backend->Close();
}

TEST_F(HandshakeTest, MalformedGoIsErrInvalidAndHagglingContinues) {
  auto hs = Begin();
  Bytes bad = GoData("r0");
  PutBe32(bad.data(), 1000);  // name longer than the option
  auto replies = Exchange(*hs, Option(kOptGo, bad));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepErrInvalid);
  EXPECT_EQ(last_, Step::kContinue);
  EXPECT_EQ(r0_->openers(), 0u);
}

TEST_F(HandshakeTest, ListNamesEveryExportWithItsDescription) {
  auto hs = Begin();
  auto replies = Exchange(*hs, Option(kOptList));
  ASSERT_EQ(replies.size(), 3u);
  auto e0 = DecodeServerEntry(replies[0].data);
  auto e1 = DecodeServerEntry(replies[1].data);
  ASSERT_TRUE(e0.ok() && e1.ok());
  EXPECT_EQ(e0->name, "r0");
  EXPECT_EQ(e0->details, "first resource");
  EXPECT_EQ(e1->name, "r1");
  EXPECT_EQ(replies[2].type, kRepAck);
  auto with_data = Exchange(*hs, Option(kOptList, {1}));
  ASSERT_EQ(with_data.size(), 1u);
  EXPECT_EQ(with_data[0].type, kRepErrInvalid);
}

TEST_F(HandshakeTest, StructuredRepliesNegotiateOnceAndAddDf) {
  auto hs = Begin();
  EXPECT_EQ(Exchange(*hs, Option(kOptStructuredReply))[0].type, kRepAck);
  EXPECT_EQ(Exchange(*hs, Option(kOptStructuredReply))[0].type, kRepErrInvalid);
  EXPECT_EQ(Exchange(*hs, Option(kOptStructuredReply, {0}))[0].type, kRepErrInvalid);
  EXPECT_TRUE(hs->structured());
  auto replies = Exchange(*hs, Option(kOptGo, GoData("r0")));
  ASSERT_EQ(last_, Step::kTransmission);
  EXPECT_TRUE(*DecodeInfoReply(replies[0].data)->flags & kFlagSendDf);
  EXPECT_TRUE(hs->TakeSelected().params.structured);
  r0_->Close();
}

TEST_F(HandshakeTest, UnknownOptionsAreUnsupportedAndTheSessionContinues) {
  auto hs = Begin();
  for (uint32_t opt : {kOptPeekExport, kOptListMetaContext, kOptSetMetaContext, 99u, 0u,
                       0xffffffffu}) {
    auto replies = Exchange(*hs, Option(opt, {1, 2, 3}));
    ASSERT_EQ(replies.size(), 1u) << opt;
    EXPECT_EQ(replies[0].type, kRepErrUnsup);
    EXPECT_EQ(replies[0].option, opt);
    EXPECT_EQ(last_, Step::kContinue);
  }
  Exchange(*hs, Option(kOptGo, GoData("r0")));
  EXPECT_EQ(last_, Step::kTransmission);
  hs->TakeSelected().backend->Close();
}

TEST_F(HandshakeTest, OverLongOptionDataIsSkippedInBoundedPiecesThenTooBig) {
  auto hs = Begin();
  Bytes header;
  Put64(&header, kOptionMagic);
  Put32(&header, kOptGo);
  const uint32_t len = 200000;
  Put32(&header, len);
  Bytes out;
  EXPECT_EQ(Feed(*hs, header, &out), Step::kContinue);
  EXPECT_TRUE(hs->skipping());
  size_t fed = 0, pieces = 0;
  while (hs->skipping()) {
    const size_t n = hs->want();
    ASSERT_GT(n, 0u);
    ASSERT_LE(n, ServerHandshake::kSkipPiece);
    const Bytes junk(n, 0xab);
    ASSERT_EQ(hs->Feed(junk, &out), Step::kContinue);
    fed += n;
    ++pieces;
  }
  EXPECT_EQ(fed, len);
  EXPECT_GE(pieces, 4u);
  auto replies = ParseReplies(out);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepErrTooBig);
  EXPECT_EQ(hs->want(), kOptionHeaderSize);
}

TEST_F(HandshakeTest, ExportNameSendsSizeFlagsAndZeroesUnlessNoZeroes) {
  auto hs = Begin();
  Bytes out;
  Bytes name = {'r', '0'};
  EXPECT_EQ(Feed(*hs, Option(kOptExportName, name), &out), Step::kTransmission);
  ASSERT_EQ(out.size(), kExportNameReplySize);
  EXPECT_EQ(GetBe64(out.data()), 1u << 20);
  hs->TakeSelected().backend->Close();

  auto hs2 = Begin({}, kClientFlagFixedNewstyle);
  EXPECT_FALSE(hs2->no_zeroes());
  Bytes out2;
  EXPECT_EQ(Feed(*hs2, Option(kOptExportName, name), &out2), Step::kTransmission);
  ASSERT_EQ(out2.size(), kExportNameReplySize + kExportNameZeroes);
  EXPECT_EQ(Bytes(out2.begin() + 10, out2.end()), Bytes(124, 0));
  hs2->TakeSelected().backend->Close();
}

TEST_F(HandshakeTest, ExportNameThatCannotBeServedClosesTheConnection) {
  auto hs = Begin();
  Bytes out;
  EXPECT_EQ(Feed(*hs, Option(kOptExportName, {'x'}), &out), Step::kClose);
  EXPECT_TRUE(out.empty());
  EXPECT_NE(hs->close_reason().find("no export named 'x'"), std::string::npos);

  auto hs2 = Begin();
  Bytes header;
  Put64(&header, kOptionMagic);
  Put32(&header, kOptExportName);
  Put32(&header, 100000);
  EXPECT_EQ(Feed(*hs2, header, &out), Step::kClose);
}

TEST_F(HandshakeTest, AbortIsAcknowledgedThenCloses) {
  auto hs = Begin();
  auto replies = Exchange(*hs, Option(kOptAbort));
  EXPECT_EQ(last_, Step::kClose);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepAck);
}

TEST_F(HandshakeTest, BadOptionMagicCloses) {
  auto hs = Begin();
  Bytes b = Option(kOptList);
  b[3] ^= 0xff;
  Bytes out;
  EXPECT_EQ(Feed(*hs, b, &out), Step::kClose);
  EXPECT_NE(hs->close_reason().find("magic"), std::string::npos);
}

TEST_F(HandshakeTest, TooManyOptionsClose) {
  auto hs = Begin();
  Bytes many;
  for (uint32_t i = 0; i <= ServerHandshake::kMaxOptions; ++i) {
    Bytes o = Option(99);
    many.insert(many.end(), o.begin(), o.end());
  }
  Bytes out;
  EXPECT_EQ(Feed(*hs, many, &out), Step::kClose);
  EXPECT_NE(hs->close_reason().find("options"), std::string::npos);
  EXPECT_EQ(ParseReplies(out).size(), ServerHandshake::kMaxOptions);
}

TEST_F(HandshakeTest, TruncatedOptionsProduceNothingUntilComplete) {
  const Bytes go = Option(kOptGo, GoData("r0", {kInfoName}));
  for (size_t n = 0; n < go.size(); ++n) {
    auto hs = Begin();
    Bytes out;
    EXPECT_EQ(Feed(*hs, Bytes(go.begin(), go.begin() + static_cast<long>(n)), &out),
              Step::kContinue);
    EXPECT_TRUE(out.empty()) << n;
    EXPECT_GT(hs->want(), 0u);
    EXPECT_EQ(r0_->openers(), 0u);
  }
}

TEST_F(HandshakeTest, TlsOffRefusesStartTlsByPolicy) {
  auto hs = Begin();
  auto replies = Exchange(*hs, Option(kOptStartTls));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepErrPolicy);
  EXPECT_EQ(last_, Step::kContinue);
}

TEST_F(HandshakeTest, TlsRequiredRefusesEverythingButStartTlsAndAbort) {
  auto hs = Begin({TlsMode::kRequired, ""});
  for (uint32_t opt : {kOptList, kOptInfo, kOptGo, kOptStructuredReply, 99u}) {
    const Bytes data = (opt == kOptInfo || opt == kOptGo) ? GoData("r0") : Bytes{};
    auto replies = Exchange(*hs, Option(opt, data));
    ASSERT_EQ(replies.size(), 1u) << opt;
    EXPECT_EQ(replies[0].type, kRepErrTlsReqd) << opt;
    EXPECT_NE(replies[0].text().find("requires TLS"), std::string::npos);
  }
  EXPECT_EQ(r0_->openers(), 0u);
  Exchange(*hs, Option(kOptExportName, {'r', '0'}));
  EXPECT_EQ(last_, Step::kClose);
  EXPECT_EQ(r0_->openers(), 0u);
}

TEST_F(HandshakeTest, TlsRequiredWithoutFixedNewstyleCloses) {
  Begin({TlsMode::kRequired, ""}, 0);
  EXPECT_EQ(last_, Step::kClose);
}

TEST_F(HandshakeTest, StartTlsUpgradesAndForgetsEarlierNegotiation) {
  auto hs = Begin({TlsMode::kOptional, ""});
  Exchange(*hs, Option(kOptStructuredReply));
  EXPECT_TRUE(hs->structured());
  auto replies = Exchange(*hs, Option(kOptStartTls));
  EXPECT_EQ(last_, Step::kStartTls);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepAck);
  EXPECT_EQ(hs->want(), 0u) << "nothing is read until TLS is up";
  hs->TlsEstablished();
  EXPECT_TRUE(hs->tls_active());
  EXPECT_FALSE(hs->structured());
  EXPECT_EQ(Exchange(*hs, Option(kOptStartTls))[0].type, kRepErrInvalid);
  EXPECT_EQ(Exchange(*hs, Option(kOptStartTls, {1}))[0].type, kRepErrInvalid);
  Exchange(*hs, Option(kOptGo, GoData("r0")));
  EXPECT_EQ(last_, Step::kTransmission);
  hs->TakeSelected().backend->Close();
}

TEST_F(HandshakeTest, RandomBytesNeverCrashAndNeverLeaveAnExportOpen) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 300; ++round) {
    auto hs = Begin({round % 3 == 0 ? TlsMode::kRequired : TlsMode::kOptional, ""});
    Bytes in(rng() % 600);
    for (auto& b : in) b = static_cast<uint8_t>(rng());
    // Sometimes start with a valid option header so the machine gets further.
    if (round % 2 == 0 && in.size() >= 16) {
      PutBe64(in.data(), kOptionMagic);
      PutBe32(in.data() + 8, static_cast<uint32_t>(rng() % 12));
      PutBe32(in.data() + 12, static_cast<uint32_t>(rng() % 64));
    }
    Bytes out;
    Step step = Feed(*hs, in, &out);
    if (step == Step::kStartTls) hs->TlsEstablished();
    if (step == Step::kTransmission) hs->TakeSelected().backend->Close();
    hs.reset();
    EXPECT_EQ(r0_->openers() + r1_->openers(), 0u);
  }
}

// --- the client machine ------------------------------------------------------

// Connects a ClientHandshake to a ServerHandshake in memory.
struct Loopback {
  Loopback(ServerHandshake& s, ClientHandshake& c) : server(s), client(c) {}

  // Runs both until the client is done or failed; simulates TLS by calling
  // TlsEstablished() on both sides when they agree to start it.
  ClientHandshake::Step Run() {
    Bytes to_client, to_server;
    server.Start(&to_client);
    for (int guard = 0; guard < 1000; ++guard) {
      while (client.want() > 0 && to_client.size() >= client.want()) {
        const size_t n = client.want();
        Bytes piece(to_client.begin(), to_client.begin() + static_cast<long>(n));
        to_client.erase(to_client.begin(), to_client.begin() + static_cast<long>(n));
        client_step = client.Feed(piece, &to_server);
        if (client_step == ClientHandshake::Step::kStartTls) {
          if (server_step != Step::kStartTls) return ClientHandshake::Step::kFailed;
          server.TlsEstablished();
          client.TlsEstablished(&to_server);
        }
        if (client_step == ClientHandshake::Step::kDone ||
            client_step == ClientHandshake::Step::kFailed) {
          return client_step;
        }
      }
      while (server.want() > 0 && to_server.size() >= server.want()) {
        const size_t n = server.want();
        Bytes piece(to_server.begin(), to_server.begin() + static_cast<long>(n));
        to_server.erase(to_server.begin(), to_server.begin() + static_cast<long>(n));
        server_step = server.Feed(piece, &to_client);
        if (server_step == Step::kClose) return ClientHandshake::Step::kFailed;
      }
    }
    return ClientHandshake::Step::kFailed;
  }

  ServerHandshake& server;
  ClientHandshake& client;
  ClientHandshake::Step client_step = ClientHandshake::Step::kContinue;
  Step server_step = Step::kContinue;
};

TEST_F(HandshakeTest, ClientAndServerAgreeWithAndWithoutStructuredReplies) {
  for (bool structured : {false, true}) {
    ServerHandshake server(exports_, {});
    ClientHandshake client({"r0", structured, false, false});
    Loopback lb(server, client);
    ASSERT_EQ(lb.Run(), ClientHandshake::Step::kDone) << client.error().ToString();
    EXPECT_EQ(lb.server_step, Step::kTransmission);
    const ExportInfo& info = client.info();
    EXPECT_EQ(info.name, "r0");
    EXPECT_EQ(info.description, "first resource");
    EXPECT_EQ(info.size, 1u << 20);
    EXPECT_EQ(info.structured, structured);
    EXPECT_EQ(info.block_sizes.minimum, 512u);
    EXPECT_EQ(info.block_sizes.maximum, 32u << 20);
    EXPECT_EQ((info.flags & kFlagSendDf) != 0, structured);
    server.TakeSelected().backend->Close();
  }
}

TEST_F(HandshakeTest, ClientListsExports) {
  ServerHandshake server(exports_, {});
  ClientHandshake client({"", false, false, true});
  Loopback lb(server, client);
  ASSERT_EQ(lb.Run(), ClientHandshake::Step::kDone);
  ASSERT_EQ(client.exports().size(), 2u);
  EXPECT_EQ(client.exports()[0].name, "r0");
  EXPECT_EQ(client.exports()[1].name, "r1");
}

TEST_F(HandshakeTest, ClientUpgradesToTlsWhereTheServerRequiresIt) {
  ServerHandshake server(exports_, {TlsMode::kRequired, ""});
  ClientHandshake client({"r1", true, true, false});
  Loopback lb(server, client);
  ASSERT_EQ(lb.Run(), ClientHandshake::Step::kDone) << client.error().ToString();
  EXPECT_TRUE(server.tls_active());
  EXPECT_TRUE(client.info().structured);
  server.TakeSelected().backend->Close();
}

TEST_F(HandshakeTest, ClientThatWantsTlsFailsWhenTheServerHasNone) {
  ServerHandshake server(exports_, {});
  ClientHandshake client({"r0", true, true, false});
  Loopback lb(server, client);
  ASSERT_EQ(lb.Run(), ClientHandshake::Step::kFailed);
  EXPECT_EQ(client.error().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(client.error().message().find("TLS is not configured"), std::string::npos);
}

TEST_F(HandshakeTest, ClientReportsUnknownExportAndRefusalWithTheServerText) {
  ServerHandshake server(exports_, {});
  ClientHandshake client({"missing", true, false, false});
  Loopback lb(server, client);
  ASSERT_EQ(lb.Run(), ClientHandshake::Step::kFailed);
  EXPECT_EQ(client.error().code(), Status::Code::kNotFound);
  EXPECT_NE(client.error().message().find("no export named 'missing'"), std::string::npos);
}

// A scripted server: the client's machine against hand-made replies.
class ScriptedServer {
 public:
  explicit ScriptedServer(ClientHandshakeOptions options) : client_(std::move(options)) {}

  // Feeds `bytes` to the client in want()-sized pieces; returns the last step.
  ClientHandshake::Step Feed(const Bytes& bytes) {
    size_t at = 0;
    ClientHandshake::Step step = ClientHandshake::Step::kContinue;
    while (at < bytes.size() && client_.want() > 0 && bytes.size() - at >= client_.want()) {
      const size_t n = client_.want();
      step = client_.Feed({bytes.data() + at, n}, &sent_);
      at += n;
      if (step != ClientHandshake::Step::kContinue) break;
    }
    return step;
  }
  static Bytes Greeting(uint16_t flags = kFlagFixedNewstyle | kFlagNoZeroes) {
    Bytes g;
    PutText(&g, "NBDMAGIC");
    PutText(&g, "IHAVEOPT");
    Put16(&g, flags);
    return g;
  }
  static Bytes Reply(uint32_t option, uint32_t type, const Bytes& data = {}) {
    Bytes b;
    AppendOptionReply(&b, option, type, data);
    return b;
  }
  ClientHandshake& client() { return client_; }
  const Bytes& sent() const { return sent_; }

 private:
  ClientHandshake client_;
  Bytes sent_;
};

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const Bytes& p : parts) b.insert(b.end(), p.begin(), p.end());
  return b;
}

TEST(ClientHandshakeScripted, FallsBackToExportNameWhenGoIsUnsupported) {
  ScriptedServer s({"disk", true, false, false});
  Bytes export_reply;
  Put64(&export_reply, 12345 * 512);
  Put16(&export_reply, kFlagHasFlags | kFlagSendFlush);
  const auto step = s.Feed(Cat({ScriptedServer::Greeting(),
                                ScriptedServer::Reply(kOptStructuredReply, kRepErrUnsup),
                                ScriptedServer::Reply(kOptGo, kRepErrUnsup), export_reply}));
  ASSERT_EQ(step, ClientHandshake::Step::kDone) << s.client().error().ToString();
  EXPECT_EQ(s.client().info().size, 12345u * 512);
  EXPECT_FALSE(s.client().info().structured);
  EXPECT_EQ(s.client().info().block_sizes.minimum, 1u) << "spec defaults without BLOCK_SIZE";
  // The last thing sent was NBD_OPT_EXPORT_NAME "disk".
  const Bytes& sent = s.sent();
  ASSERT_GE(sent.size(), 20u);
  EXPECT_EQ(GetBe32(sent.data() + sent.size() - 12), kOptExportName);
  EXPECT_EQ(std::string(sent.end() - 4, sent.end()), "disk");
}

TEST(ClientHandshakeScripted, OldNewstyleServerGetsExportNameWithZeroes) {
  ScriptedServer s({"disk", true, false, false});
  Bytes export_reply;
  Put64(&export_reply, 4096);
  Put16(&export_reply, kFlagHasFlags);
  export_reply.resize(export_reply.size() + 124);
  ASSERT_EQ(s.Feed(Cat({ScriptedServer::Greeting(0), export_reply})),
            ClientHandshake::Step::kDone);
  EXPECT_EQ(GetBe32(s.sent().data()), 0u) << "no client flags for a non-fixed server";
  EXPECT_EQ(s.client().info().size, 4096u);
}

TEST(ClientHandshakeScripted, ServerMistakesAreProtocolErrors) {
  struct Case {
    const char* name;
    Bytes replies;
    Status::Code code;
  };
  Bytes oversize;
  Put64(&oversize, kOptionReplyMagic);
  Put32(&oversize, kOptStructuredReply);
  Put32(&oversize, kRepAck);
  Put32(&oversize, ClientHandshake::kMaxReplyPayload + 1);
  Bytes bad_magic = ScriptedServer::Reply(kOptStructuredReply, kRepAck);
  bad_magic[0] ^= 1;
  const std::vector<Case> cases = {
      {"not NBD", Bytes(18, 'x'), Status::Code::kProtocolError},
      {"oldstyle", Cat({Bytes{'N', 'B', 'D', 'M', 'A', 'G', 'I', 'C'}, Bytes(10, 0)}),
       Status::Code::kNotSupported},
      {"wrong option echoed",
       Cat({ScriptedServer::Greeting(), ScriptedServer::Reply(kOptList, kRepAck)}),
       Status::Code::kProtocolError},
      {"oversized reply", Cat({ScriptedServer::Greeting(), oversize}),
       Status::Code::kProtocolError},
      {"bad reply magic", Cat({ScriptedServer::Greeting(), bad_magic}),
       Status::Code::kProtocolError},
      {"ACK without INFO_EXPORT",
       Cat({ScriptedServer::Greeting(), ScriptedServer::Reply(kOptStructuredReply, kRepAck),
            ScriptedServer::Reply(kOptGo, kRepAck)}),
       Status::Code::kProtocolError},
      {"bad block sizes",
       Cat({ScriptedServer::Greeting(), ScriptedServer::Reply(kOptStructuredReply, kRepAck),
            ScriptedServer::Reply(kOptGo, kRepInfo, EncodeInfoBlockSize({3, 4096, 1 << 20}))}),
       Status::Code::kProtocolError},
      {"refused by policy",
       Cat({ScriptedServer::Greeting(), ScriptedServer::Reply(kOptStructuredReply, kRepAck),
            ScriptedServer::Reply(kOptGo, kRepErrPolicy, {'S', 'e', 'c'})}),
       Status::Code::kPermissionDenied},
  };
  for (const Case& c : cases) {
    ScriptedServer s({"disk", true, false, false});
    EXPECT_EQ(s.Feed(c.replies), ClientHandshake::Step::kFailed) << c.name;
    EXPECT_EQ(s.client().error().code(), c.code) << c.name << ": " << s.client().error().ToString();
    EXPECT_EQ(s.client().want(), 0u);
  }
}

}  // namespace
}  // namespace tandem::nbd
