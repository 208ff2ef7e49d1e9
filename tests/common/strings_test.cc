#include "common/strings.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace tandem {
namespace {

TEST(Strings, SplitWordsDropsEmptyFields) {
  EXPECT_EQ(SplitWords("  a \tb  c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitWords(" \t ").empty());
}

TEST(Strings, SplitOnKeepsEmptyFields) {
  EXPECT_EQ(SplitOn("a::b", ':'), (std::vector<std::string>{"a", "", "b"}));
}

TEST(Strings, DidYouMeanSuggestsCloseWords) {
  std::vector<std::string> words{"connect-int", "ping-int", "timeout"};
  EXPECT_EQ(DidYouMean("conect-int", words), " (did you mean 'connect-int'?)");
  EXPECT_EQ(DidYouMean("timeot", words), " (did you mean 'timeout'?)");
  EXPECT_EQ(DidYouMean("completely-different", words), "");
}

TEST(Strings, ParseIntegerChecksRangeAndSyntax) {
  EXPECT_EQ(ParseInteger("42", 0, 100), 42);
  EXPECT_FALSE(ParseInteger("101", 0, 100));
  EXPECT_FALSE(ParseInteger("4x", 0, 100));
  EXPECT_FALSE(ParseInteger("", 0, 100));
  EXPECT_FALSE(ParseInteger("99999999999999999999999", 0, 100));
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = Status::FromErrno(ENOENT, "cannot open x");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.ToString(), "Not found: cannot open x: No such file or directory");
  Result<int> r = 5;
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  Result<int> e = Status::Corruption("bad");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace tandem
