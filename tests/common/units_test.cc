#include "common/units.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(ParseSize, SuffixesArePowersOf1024) {
  EXPECT_EQ(*ParseSize("512", 1), 512u);
  EXPECT_EQ(*ParseSize("512k", 1), 512u * 1024);
  EXPECT_EQ(*ParseSize("512K", 1), 512u * 1024);
  EXPECT_EQ(*ParseSize("512M", 1), 512ull << 20);
  EXPECT_EQ(*ParseSize("2G", 1), 2ull << 30);
  EXPECT_EQ(*ParseSize("1T", 1), 1ull << 40);
  EXPECT_EQ(*ParseSize("8s", 1), 4096u);
}

TEST(ParseSize, BareNumberUsesTheOptionUnit) {
  // A bare rate is KiB/s in drbd.conf.
  EXPECT_EQ(*ParseSize("70000", 1024), 70000ull * 1024);
  EXPECT_EQ(*ParseSize("70000K", 1024), 70000ull * 1024);
  EXPECT_EQ(*ParseSize("100", 512), 51200u);
}

TEST(ParseSize, RejectsGarbageAndOverflow) {
  EXPECT_FALSE(ParseSize("", 1).ok());
  EXPECT_FALSE(ParseSize("K", 1).ok());
  EXPECT_FALSE(ParseSize("12x", 1).ok());
  EXPECT_FALSE(ParseSize("-1", 1).ok());
  EXPECT_FALSE(ParseSize("1.5M", 1).ok());
  EXPECT_FALSE(ParseSize("99999999999999999999", 1).ok());
  EXPECT_FALSE(ParseSize("99999999999T", 1).ok());
}

TEST(FormatSize, RoundTripsThroughParse) {
  for (uint64_t unit : {1ull, 512ull, 1024ull}) {
    for (uint64_t v : {0ull, 512ull, 1024ull, 1536ull, 250ull * 1024, 512ull << 20, 3ull << 30,
                       5ull << 40, 70000ull * 1024}) {
      std::string s = FormatSize(v, unit);
      ASSERT_TRUE(ParseSize(s, unit).ok()) << s;
      EXPECT_EQ(*ParseSize(s, unit), v) << s;
    }
  }
  EXPECT_EQ(FormatSize(512ull << 20, 1024), "512M");
  EXPECT_EQ(FormatSize(1000, 1), "1000");
}

TEST(ParseDurationMs, HeartbeatSpellings) {
  EXPECT_EQ(*ParseDurationMs("2"), 2000);
  EXPECT_EQ(*ParseDurationMs("1.5"), 1500);
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("2s"), 2000);
  EXPECT_EQ(*ParseDurationMs("250000us"), 250);
  EXPECT_EQ(*ParseDurationMs("0.0001"), 1);  // rounded up, never to zero
  EXPECT_EQ(*ParseDurationMs(".5"), 500);
}

TEST(ParseDurationMs, RejectsGarbage) {
  for (const char* bad : {"", "ms", "s", "1.2.3", "abc", "10 ms", "-1", "1e3", "."}) {
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << bad;
  }
}

TEST(FormatDurationMs, RoundTrips) {
  for (int64_t ms : {0, 1, 200, 1000, 1500, 30000}) {
    EXPECT_EQ(*ParseDurationMs(FormatDurationMs(ms)), ms);
  }
}

}  // namespace
}  // namespace tandem
