// HMAC and digests of the replication link, checked against the published
// test vectors (RFC 4231 for HMAC-SHA-256, RFC 2202 for HMAC-SHA-1 and
// HMAC-MD5, FIPS 180 / RFC 1321 examples, and the CRC-32C check value).
#include "net/crypto.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tandem::net {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes B(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

std::string Hex(const Bytes& b) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (uint8_t c : b) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string HmacHex(const std::string& alg, const Bytes& key, const Bytes& data) {
  auto mac = Hmac(alg, key, data);
  EXPECT_TRUE(mac.ok()) << alg << ": " << mac.status().ToString();
  return mac.ok() ? Hex(*mac) : std::string("<error>");
}

TEST(CryptoHmac, Rfc4231Sha256) {
  // Test case 1.
  EXPECT_EQ(HmacHex("sha256", Bytes(20, 0x0b), B("Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  EXPECT_EQ(HmacHex("sha256", B("Jefe"), B("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size.
  EXPECT_EQ(HmacHex("sha256", Bytes(131, 0xaa),
                    B("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(CryptoHmac, Rfc2202Sha1) {
  EXPECT_EQ(HmacHex("sha1", Bytes(20, 0x0b), B("Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(HmacHex("sha1", B("Jefe"), B("what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(HmacHex("sha1", Bytes(20, 0xaa), Bytes(50, 0xdd)),
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
}

TEST(CryptoHmac, Rfc2202Md5) {
  EXPECT_EQ(HmacHex("md5", Bytes(16, 0x0b), B("Hi There")), "9294727a3638bb1c13f48ef8158bfc9d");
  EXPECT_EQ(HmacHex("md5", B("Jefe"), B("what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738");
  EXPECT_EQ(HmacHex("md5", Bytes(16, 0xaa), Bytes(50, 0xdd)), "56be34521d144c88dbb8c733f0e8b3f6");
}

TEST(CryptoHmac, KeyAndDataBothMatter) {
  const Bytes data =
      B("challenge-bytes"
        "alpha");
  auto a = Hmac("sha256", B("secret"), data);
  auto b = Hmac("sha256", B("secreT"), data);
  auto c = Hmac("sha256", B("secret"),
                B("challenge-bytes"
                  "beta"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(*a, *Hmac("sha256", B("secret"), data));  // deterministic
}

TEST(CryptoHmac, UnknownAlgorithmIsAnError) {
  for (const std::string& alg : std::vector<std::string>{"nope", "", "sha257", "hmac-sha256"}) {
    auto mac = Hmac(alg, B("k"), B("d"));
    ASSERT_FALSE(mac.ok()) << alg;
    EXPECT_EQ(mac.status().code(), Status::Code::kInvalidArgument) << alg;
    EXPECT_NE(mac.status().message().find("'" + alg + "'"), std::string::npos)
        << mac.status().message();
  }
}

TEST(CryptoSecureEqual, ComparesContentAndLength) {
  const Bytes a = {1, 2, 3, 4};
  EXPECT_TRUE(SecureEqual(a, Bytes{1, 2, 3, 4}));
  EXPECT_FALSE(SecureEqual(a, Bytes{1, 2, 3, 5}));
  EXPECT_FALSE(SecureEqual(a, Bytes{0, 2, 3, 4}));
  EXPECT_FALSE(SecureEqual(a, Bytes{1, 2, 3}));
  EXPECT_FALSE(SecureEqual(a, Bytes{1, 2, 3, 4, 0}));
  EXPECT_FALSE(SecureEqual(Bytes{}, Bytes{0}));
  EXPECT_TRUE(SecureEqual(Bytes{}, Bytes{}));
}

std::string DigestHex(const std::string& name, const std::string& data) {
  auto d = Digest::Create(name);
  EXPECT_TRUE(d.ok()) << name << ": " << d.status().ToString();
  if (!d.ok()) return "<error>";
  Bytes out = (*d)->Compute(B(data));
  EXPECT_EQ(out.size(), (*d)->size()) << name;
  EXPECT_EQ((*d)->name(), name);
  return Hex(out);
}

TEST(CryptoDigest, KnownAnswers) {
  EXPECT_EQ(DigestHex("sha1", "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(DigestHex("sha256", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(DigestHex("sha256", ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(DigestHex("md5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(DigestHex("md5", ""), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(CryptoDigest, Crc32cIsBigEndianCheckValue) {
  auto d = Digest::Create("crc32c");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)->size(), 4u);
  EXPECT_EQ((*d)->name(), "crc32c");
  EXPECT_EQ((*d)->Compute(B("123456789")), (Bytes{0xE3, 0x06, 0x92, 0x83}));
  EXPECT_EQ((*d)->Compute(Bytes{}), (Bytes{0, 0, 0, 0}));
}

TEST(CryptoDigest, SizesFitTheWire) {
  for (const char* name : {"sha1", "sha256", "sha512", "md5", "crc32c"}) {
    auto d = Digest::Create(name);
    ASSERT_TRUE(d.ok()) << name;
    EXPECT_GT((*d)->size(), 0u) << name;
    EXPECT_LE((*d)->size(), 64u) << name;
  }
  EXPECT_EQ((*Digest::Create("sha1"))->size(), 20u);
  EXPECT_EQ((*Digest::Create("sha256"))->size(), 32u);
  EXPECT_EQ((*Digest::Create("md5"))->size(), 16u);
}

TEST(CryptoDigest, UnknownNameIsAnError) {
  for (const std::string& name : std::vector<std::string>{"nope", "", "crc32", "CRC32C-x"}) {
    auto d = Digest::Create(name);
    ASSERT_FALSE(d.ok()) << name;
    EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument) << name;
    EXPECT_NE(d.status().message().find("'" + name + "'"), std::string::npos)
        << d.status().message();
  }
}

}  // namespace
}  // namespace tandem::net
