// The heartbeat message codec, its signatures and the HeartbeatInfo mapping.
#include "heartbeat/message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/authkeys.h"
#include "heartbeat/heartbeat_info.h"
#include "heartbeat/message_auth.h"

namespace tandem::heartbeat {
namespace {

using ::testing::HasSubstr;

Message Sample() {
  Message m;
  m.Add("t", "status");
  m.Add("src", "alpha");
  m.Add("rs", "0,2");
  return m;
}

TEST(MessageCodec, EncodesAsHeartbeatWritesMessages) {
  EXPECT_EQ(EncodeMessage(Sample()), ">>>\nt=status\nsrc=alpha\nrs=0,2\n<<<\n");
}

TEST(MessageCodec, RoundTripsEveryByteValue) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  Message m;
  m.Add("v", all);
  m.Add("empty", "");
  const std::string wire = EncodeMessage(m);
  EXPECT_EQ(wire.find('\0'), std::string::npos);
  auto back = DecodeMessage(wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
}

TEST(MessageCodec, EscapesOnlyWhatMustBeEscaped) {
  Message m;
  m.Add("v", "a b%c\n\x7f");
  EXPECT_EQ(EncodeMessage(m), ">>>\nv=a b%25c%0A%7F\n<<<\n");
}

struct BadWire {
  const char* name;
  std::string wire;
  const char* why;
};

class MessageCodecRefuses : public ::testing::TestWithParam<BadWire> {};

TEST_P(MessageCodecRefuses, WithAReason) {
  auto r = DecodeMessage(GetParam().wire);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kProtocolError);
  EXPECT_THAT(r.status().message(), HasSubstr(GetParam().why));
}

INSTANTIATE_TEST_SUITE_P(
    All, MessageCodecRefuses,
    ::testing::Values(
        BadWire{"empty", "", "does not start"},
        BadWire{"no_begin", "t=status\n<<<\n", "does not start"},
        BadWire{"no_end", ">>>\nt=status\n", "does not end"},
        BadWire{"no_fields", ">>>\n<<<\n", "no fields"},
        BadWire{"not_name_value", ">>>\nhello\n<<<\n", "is not name=value"},
        BadWire{"upper_case_name", ">>>\nT=status\n<<<\n", "bad field name"},
        BadWire{"long_name", ">>>\nabcdefghijklmnopq=1\n<<<\n", "bad field name"},
        BadWire{"twice", ">>>\nt=a\nt=b\n<<<\n", "appears twice"},
        BadWire{"raw_control", std::string(">>>\nt=a\tb\n<<<\n"), "raw control byte"},
        BadWire{"raw_high", std::string(">>>\nt=a\xff\n<<<\n"), "raw control byte"},
        BadWire{"short_escape", ">>>\nt=a%4\n<<<\n", "bad %-escape"},
        BadWire{"lower_hex", ">>>\nt=%0a\n<<<\n", "bad %-escape"},
        BadWire{"needless_escape", ">>>\nt=%41\n<<<\n", "needs none"},
        BadWire{"trailing", ">>>\nt=a\n<<<\nmore", "does not end"},
        BadWire{"too_big", ">>>\nt=" + std::string(kMaxMessageBytes, 'a') + "\n<<<\n",
                "more than the limit"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(MessageCodec, TooManyFields) {
  std::string wire(kMessageBegin);
  for (size_t i = 0; i <= kMaxMessageFields; ++i) wire += "f" + std::to_string(i) + "=1\n";
  wire += kMessageEnd;
  EXPECT_THAT(DecodeMessage(wire).status().message(), HasSubstr("more than 32 fields"));
}

TEST(MessageCodec, FieldNames) {
  EXPECT_TRUE(IsValidFieldName("t"));
  EXPECT_TRUE(IsValidFieldName("ping_up2"));
  EXPECT_FALSE(IsValidFieldName(""));
  EXPECT_FALSE(IsValidFieldName("2t"));
  EXPECT_FALSE(IsValidFieldName("_t"));
  EXPECT_FALSE(IsValidFieldName("a-b"));
}

config::AuthKeys Keys(const std::string& text) {
  config::Diagnostics d;
  auto k = config::ParseAuthKeys(text, "authkeys", &d);
  EXPECT_TRUE(k.ok()) << d.Format();
  return k.ok() ? std::move(k).value() : config::AuthKeys{};
}

TEST(MessageAuth, HmacDigestsMatchOpenssl) {
  // printf 't=status\nsrc=alpha\n' | openssl dgst -sha1 -hmac secret
  MessageSigner sha1(Keys("auth 1\n1 sha1 secret\n"));
  EXPECT_EQ(sha1.Digest(1, "t=status\nsrc=alpha\n"), "2122cbb6f4110cb35e715ed6988d986359ada289");
  MessageSigner md5(Keys("auth 2\n2 md5 secret\n"));
  EXPECT_EQ(md5.Digest(2, "t=status\nsrc=alpha\n"), "5a7147cc2f19d5314a6bb13254a40dd7");
  EXPECT_EQ(md5.Digest(3, "x"), "");
}

TEST(MessageAuth, SignThenVerify) {
  for (const char* keys : {"auth 1\n1 sha1 k1\n", "auth 3\n3 md5 k3\n", "auth 0\n0 crc\n"}) {
    MessageSigner s(Keys(keys));
    Message m = Sample();
    s.Sign(&m);
    EXPECT_EQ(m.fields().back().name, "auth");
    EXPECT_TRUE(s.Verify(m).ok()) << keys;
    auto decoded = DecodeMessage(EncodeMessage(m));
    ASSERT_TRUE(decoded.ok());
    EXPECT_TRUE(s.Verify(*decoded).ok());
  }
}

TEST(MessageAuth, RefusesTamperingAndStrangers) {
  MessageSigner s(Keys("auth 1\n1 sha1 right\n"));
  Message m = Sample();
  s.Sign(&m);

  Message changed = m;
  changed.Set("rs", "0,1,2");  // Set keeps the field's place, before auth
  EXPECT_THAT(s.Verify(changed).message(), HasSubstr("bad signature for key 1"));

  MessageSigner other(Keys("auth 1\n1 sha1 wrong\n"));
  Message forged = Sample();
  other.Sign(&forged);
  EXPECT_THAT(s.Verify(forged).message(), HasSubstr("bad signature"));

  MessageSigner unknown_key(Keys("auth 5\n5 sha1 right\n"));
  Message k5 = Sample();
  unknown_key.Sign(&k5);
  EXPECT_THAT(s.Verify(k5).message(), HasSubstr("key 5, which our authkeys does not have"));

  EXPECT_THAT(s.Verify(Sample()).message(), HasSubstr("not signed"));
  Message garbled = Sample();
  garbled.Add("auth", "x");
  EXPECT_THAT(s.Verify(garbled).message(), HasSubstr("not 'N HEX'"));

  // A crc "signature" proves nothing to a node that expects sha1.
  MessageSigner crc(Keys("auth 1\n1 crc\n"));
  Message c = Sample();
  crc.Sign(&c);
  EXPECT_FALSE(s.Verify(c).ok());
}

TEST(MessageAuth, AcceptsAnyOfItsKeysSignsWithTheActiveOne) {
  const char* both = "auth 2\n1 sha1 old\n2 sha1 new\n";
  MessageSigner rotating(Keys(both));
  MessageSigner old_node(Keys("auth 1\n1 sha1 old\n"));
  Message m = Sample();
  old_node.Sign(&m);
  EXPECT_TRUE(rotating.Verify(m).ok());
  Message mine = Sample();
  rotating.Sign(&mine);
  EXPECT_EQ(mine.Get("auth")->substr(0, 2), "2 ");
}

HeartbeatInfo FullInfo() {
  HeartbeatInfo i;
  i.src = "alpha";
  i.seq = 42;
  i.generation = 0x65f1c2a0;
  i.timestamp = 1700000000;
  i.deadtime_ms = 1500;
  i.link = "ucast:eth1";
  i.status = NodeStatus::kActive;
  i.groups_digest = "0123abcd";
  i.held = {0, 3};
  i.handoff = {1};
  i.requested = {};
  i.ping_up = 2;
  i.ack_generation = 9;
  return i;
}

TEST(HeartbeatInfo, RoundTripsThroughTheWire) {
  HeartbeatInfo i = FullInfo();
  Message m = ToMessage(i);
  EXPECT_EQ(*m.Get("seq"), "2a");
  EXPECT_EQ(*m.Get("rs"), "0,3");
  auto back = FromMessage(*DecodeMessage(EncodeMessage(m)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, i);

  HeartbeatInfo bare = FullInfo();
  bare.ping_up.reset();
  bare.ack_generation.reset();
  bare.type = MessageType::kShutdown;
  bare.held.clear();
  auto back2 = FromMessage(ToMessage(bare));
  ASSERT_TRUE(back2.ok());
  EXPECT_EQ(*back2, bare);
}

struct BadField {
  const char* field;
  const char* value;  // nullptr: remove the field
  const char* why;
};

class HeartbeatInfoRefuses : public ::testing::TestWithParam<BadField> {};

TEST_P(HeartbeatInfoRefuses, NamingTheField) {
  Message m = ToMessage(FullInfo());
  if (GetParam().value == nullptr) {
    m.Remove(GetParam().field);
  } else {
    m.Set(GetParam().field, GetParam().value);
  }
  auto r = FromMessage(m);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr(GetParam().why));
}

INSTANTIATE_TEST_SUITE_P(
    All, HeartbeatInfoRefuses,
    ::testing::Values(BadField{"t", "hello", "unknown message type"},
                      BadField{"src", nullptr, "'src' missing"},
                      BadField{"src", "al pha", "not a node name"},
                      BadField{"seq", "0", "is 0"},
                      BadField{"seq", "012", "not a hex number"},
                      BadField{"seq", "2A", "not a hex number"},
                      BadField{"seq", "11111111111111111", "not a hex number"},
                      BadField{"hg", "0", "generations start at 1"},
                      BadField{"dt", "0", "not a deadtime"},
                      BadField{"lnk", "", "not a link name"},
                      BadField{"st", "dead", "neither 'up' nor 'active'"},
                      BadField{"hr", "123", "not 8 hex digits"},
                      BadField{"rs", "1,0", "increasing order"},
                      BadField{"rs", "1,,2", "not a group number"},
                      BadField{"ho", "1024", "not a group number"},
                      BadField{"rq", nullptr, "'rq' missing"},
                      BadField{"pn", "-1", "not a count"},
                      BadField{"ack", "0", "not a generation"}));

TEST(HeartbeatInfo, AShutdownNoticeHoldsNothing) {
  HeartbeatInfo i = FullInfo();
  i.type = MessageType::kShutdown;
  EXPECT_THAT(FromMessage(ToMessage(i)).status().message(), HasSubstr("shutdown notice"));
}

TEST(HeartbeatInfo, NodeNamesAreFoldedToLowerCase) {
  Message m = ToMessage(FullInfo());
  m.Set("src", "ALPHA");
  EXPECT_EQ(FromMessage(m)->src, "alpha");
}

}  // namespace
}  // namespace tandem::heartbeat
