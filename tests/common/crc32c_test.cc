#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/endian.h"

namespace tandem {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 (iSCSI) test vectors.
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), inc(32);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(inc.data(), inc.size()), 0x46DD794Eu);
  std::string s = "123456789";
  EXPECT_EQ(Crc32c(s.data(), s.size()), 0xE3069283u);
}

TEST(Crc32c, ExtendsAcrossPieces) {
  std::string s = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t a = Crc32c(s.data(), cut);
    EXPECT_EQ(Crc32c(a, s.data() + cut, s.size() - cut), Crc32c(s.data(), s.size()));
  }
}

TEST(Endian, LittleEndianRoundTrip) {
  uint8_t b[8];
  PutLe64(b, 0x0102030405060708ull);
  EXPECT_EQ(b[0], 0x08);
  EXPECT_EQ(b[7], 0x01);
  EXPECT_EQ(GetLe64(b), 0x0102030405060708ull);
  PutLe32(b, 0xA1B2C3D4u);
  EXPECT_EQ(b[0], 0xD4);
  EXPECT_EQ(GetLe32(b), 0xA1B2C3D4u);
  PutLe16(b, 0xBEEF);
  EXPECT_EQ(GetLe16(b), 0xBEEF);
}

}  // namespace
}  // namespace tandem
