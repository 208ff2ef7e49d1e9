#include "config/authkeys.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/mem_env.h"
#include "testing/test_util.h"

namespace tandem::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kPath = "/etc/ha.d/authkeys";
constexpr const char* kSecret = "s3cr3t-KEY-material";

struct Loaded {
  Diagnostics diags;
  Result<AuthKeys> keys = Status::NotFound("not loaded");
  std::string text() const { return diags.Format(); }
};

Loaded Parse(const std::string& text) {
  Loaded l;
  l.keys = ParseAuthKeys(text, kPath, &l.diags);
  return l;
}

Loaded LoadWithMode(const std::string& text, mode_t mode) {
  MemEnv env;
  env.AddFile(kPath, text, mode);
  Loaded l;
  l.keys = LoadAuthKeys(&env, kPath, &l.diags);
  return l;
}

std::string Loc(int line, int column) {
  return std::string(kPath) + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// --- valid files ---------------------------------------------------------------------

TEST(AuthKeys, Sha1KeySelectedByAuth) {
  auto l = Parse("auth 1\n1 sha1 " + std::string(kSecret) + "\n");
  ASSERT_TRUE(l.keys.ok()) << l.text();
  EXPECT_EQ(l.keys->active_index, 1);
  EXPECT_EQ(l.keys->active().method, AuthMethod::kSha1);
  EXPECT_EQ(l.keys->active().key, kSecret);
  EXPECT_EQ(l.keys->active().where.ToString(), Loc(2, 1));
  EXPECT_EQ(l.keys->source_file, kPath);
  EXPECT_TRUE(l.diags.all().empty()) << l.text();
}

TEST(AuthKeys, SeveralKeysOneActiveInIndexOrder) {
  auto l = Parse("# keys\nauth 15\n15 md5 new\n0 sha1 old\n7 crc\n");
  ASSERT_TRUE(l.keys.ok()) << l.text();
  ASSERT_EQ(l.keys->keys.size(), 3u);
  EXPECT_EQ(l.keys->keys[0].index, 0);
  EXPECT_EQ(l.keys->keys[1].index, 7);
  EXPECT_EQ(l.keys->keys[1].method, AuthMethod::kCrc);
  EXPECT_EQ(l.keys->keys[1].key, "");
  EXPECT_EQ(l.keys->active().index, 15);
  EXPECT_EQ(l.keys->active().method, AuthMethod::kMd5);
  EXPECT_EQ(l.keys->active().key, "new");
}

TEST(AuthKeys, CrcIsAcceptedWithAWarning) {
  auto l = Parse("auth 2\n2 crc\n");
  ASSERT_TRUE(l.keys.ok()) << l.text();
  EXPECT_THAT(l.text(), HasSubstr(Loc(2, 1) + ": warning: key 2 uses crc, which is not secure"));
}

TEST(AuthKeys, IndentedLinesAndBlankLinesOfSpaces) {
  auto l = Parse("\tauth 3\n  \n\t3 md5 PASSWORD\n");
  ASSERT_TRUE(l.keys.ok()) << l.text();
  EXPECT_EQ(l.keys->active().key, "PASSWORD");
  EXPECT_EQ(l.keys->active().where.ToString(), Loc(3, 2));
}

TEST(AuthKeys, HashInsideAKeyIsKeptAndATrailingCommentIsNot) {
  auto l = Parse("auth 1 # the signing key\n1 sha1 ab#cd # rotated 2024\n  # note\n");
  ASSERT_TRUE(l.keys.ok()) << l.text();
  EXPECT_EQ(l.keys->active().key, "ab#cd");
  EXPECT_EQ(Parse("auth 1\n1 sha1 #starts-with-hash\n").keys->active().key, "#starts-with-hash");
}

// --- errors ---------------------------------------------------------------------------

TEST(AuthKeysErrors, MissingAuthAndMissingKey) {
  auto none = Parse("1 sha1 k\n");
  EXPECT_FALSE(none.keys.ok());
  EXPECT_THAT(none.text(), HasSubstr(std::string(kPath) +
                                     ":1: error: Missing auth directive in "
                                     "keyfile [" +
                                     kPath + "]: No authentication specified"));
  auto empty = Parse("");
  EXPECT_THAT(empty.text(), HasSubstr(std::string(kPath) + ":1: error: Missing auth directive"));
  auto absent = Parse("auth 2\n1 sha1 k\n");
  EXPECT_FALSE(absent.keys.ok());
  EXPECT_THAT(absent.text(),
              HasSubstr(Loc(1, 1) + ": error: Auth Key [2] not found in keyfile [" + kPath + "]"));
}

TEST(AuthKeysErrors, EachBadLineNamesFileLineAndColumn) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"auth\n1 crc\n", ":1:1: error: Invalid auth line: 'auth' needs the index"},
      {"auth # x\n1 crc\n", ":1:1: error: Invalid auth line: 'auth' needs the index"},
      {"auth 16\n1 crc\n", ":1:6: error: Invalid auth line: [16] is not a key index in 0..15"},
      {"auth one\n1 crc\n", ":1:6: error: Invalid auth line: [one] is not a key index"},
      {"auth 1 2\n1 crc\n", ":1:8: error: Invalid auth line: unexpected text after 'auth N'"},
      {"auth 1\nauth 1\n1 crc\n", ":2:1: error: second 'auth' line (the first is at "},
      {"auth 1\n16 sha1 k\n", ":2:1: error: Invalid authnum [16] in keyfile (0..15)"},
      {"auth 1\n-1 sha1 k\n", ":2:1: error: Auth line is invalid: [-1] is neither 'auth N' nor"},
      {"autth 1\n",
       ":1:1: error: Auth line is invalid: [autth] is neither 'auth N' nor a key "
       "index in 0..15 (did you mean 'auth'?)"},
      {"auth 1\n1\n", ":2:1: error: Auth line for key 1 has no method"},
      {"auth 1\n1 sah1 k\n",
       ":2:3: error: Invalid authtype [sah1] (crc, sha1 or md5) (did you "
       "mean 'sha1'?)"},
      {"auth 1\n1 sha256 k\n", ":2:3: error: Invalid authtype [sha256]"},
      {"auth 1\n1 SHA1 k\n", ":2:3: error: Invalid authtype [SHA1]"},
      {"auth 1\n1 sha1\n", ":2:3: error: Auth method [sha1] requires a key"},
      {"auth 1\n1 md5 # no key\n", ":2:3: error: Auth method [md5] requires a key"},
      {"auth 1\n1 crc extra\n", ":2:7: error: Auth method [crc] doesn't use a key"},
      {"auth 1\n1 sha1 a\n1 md5 b\n", ":3:1: error: key 1 is defined twice (first at "},
  };
  for (const auto& c : cases) {
    auto l = Parse(c.text);
    EXPECT_FALSE(l.keys.ok()) << c.text;
    EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + c.expected)) << c.text;
  }
}

TEST(AuthKeysErrors, NoMessageEverContainsKeyMaterial) {
  const std::string k = kSecret;
  for (const std::string& text :
       {"auth 1\n1 sha1 " + k + " " + k + "\n", "auth 2\n1 sha1 " + k + "\n",
        "auth 1\n1 sha1 " + k + "\n1 md5 " + k + "\n", "auth 1\n1 crc " + k + "\n",
        "auth 1\n1 sha1 " + k + "\n2 crc\n"}) {
    auto l = Parse(text);
    EXPECT_THAT(l.text(), Not(HasSubstr(k))) << text;
    EXPECT_THAT(l.keys.status().message(), Not(HasSubstr(k)));
  }
}

// --- permissions ------------------------------------------------------------------------

TEST(AuthKeysMode, GroupOrOtherAccessIsRefusedWithHeartbeatsWording) {
  for (mode_t mode :
       {0100644, 0100640, 0100604, 0100660, 0100601, 0100610, 0100666, 0100700 | 070}) {
    auto l = LoadWithMode("auth 1\n1 sha1 k\n", mode);
    EXPECT_FALSE(l.keys.ok()) << std::oct << mode;
    EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + ": error: Bad permissions on keyfile [" +
                                    kPath + "], 600 recommended."))
        << std::oct << mode;
    EXPECT_EQ(l.diags.error_count(), 1u) << "the file is not read at all";
  }
}

TEST(AuthKeysMode, OwnerOnlyModesLoad) {
  for (mode_t mode : {0100600, 0100400, 0100700}) {
    auto l = LoadWithMode("auth 1\n1 sha1 k\n", mode);
    EXPECT_TRUE(l.keys.ok()) << std::oct << mode << "\n" << l.text();
  }
}

TEST(AuthKeysMode, ABadFileBehindABadModeIsNotEvenParsed) {
  auto l = LoadWithMode("garbage\n", 0100644);
  EXPECT_EQ(l.diags.error_count(), 1u);
  EXPECT_THAT(l.text(), HasSubstr("Bad permissions on keyfile"));
}

TEST(AuthKeysMode, NotARegularFileOrMissing) {
  auto dir = LoadWithMode("", 040700);
  EXPECT_FALSE(dir.keys.ok());
  EXPECT_THAT(dir.text(), HasSubstr(std::string(kPath) + ": error: keyfile [" + kPath +
                                    "] is not a regular file"));
  MemEnv env;
  Diagnostics d;
  EXPECT_FALSE(LoadAuthKeys(&env, kPath, &d).ok());
  EXPECT_THAT(d.Format(), HasSubstr(std::string(kPath) + ": error: cannot stat " + kPath));
}

TEST(AuthKeysMode, RealFileWithChmod) {
  tandem::testing::ScratchDir dir;
  const std::string path = dir.Write("authkeys", "auth 1\n1 sha1 k\n", 0644);
  Diagnostics refused;
  EXPECT_FALSE(LoadAuthKeys(Env::Default(), path, &refused).ok());
  EXPECT_THAT(refused.Format(),
              HasSubstr("Bad permissions on keyfile [" + path + "], 600 recommended."));
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  Diagnostics accepted;
  auto keys = LoadAuthKeys(Env::Default(), path, &accepted);
  ASSERT_TRUE(keys.ok()) << accepted.Format();
  EXPECT_EQ(keys->active().key, "k");
}

// --- damaged files --------------------------------------------------------------------------

TEST(AuthKeysDamage, CutNulAndLongLines) {
  auto cut = Parse("auth 1\n1 sh");
  EXPECT_FALSE(cut.keys.ok());
  EXPECT_THAT(cut.text(), HasSubstr(Loc(2, 3) + ": error: Invalid authtype [sh]"));
  auto cut_auth = Parse("aut");
  EXPECT_THAT(cut_auth.text(), HasSubstr(Loc(1, 1) + ": error: Auth line is invalid: [aut]"));
  auto nul = Parse(std::string("auth 1\n1 sha1 a\0b\n", 18));
  EXPECT_FALSE(nul.keys.ok());
  EXPECT_THAT(nul.text(), HasSubstr(Loc(2, 9) + ": error: invalid control character 0x00"));
  auto long_line = Parse("auth 1\n1 sha1 " + std::string(9000, 'k') + "\n");
  EXPECT_FALSE(long_line.keys.ok());
  EXPECT_THAT(long_line.text(),
              HasSubstr(std::string(kPath) + ":2: error: line is longer than 8192 bytes"));
  auto garbage = Parse("\x89PNG\r\n\x1a\n");
  EXPECT_FALSE(garbage.keys.ok());
  EXPECT_THAT(garbage.text(), HasSubstr(Loc(1, 1) + ": error: Auth line is invalid: [\\x89PNG]"));
  EXPECT_THAT(garbage.text(), HasSubstr(Loc(2, 1) + ": error: invalid control character 0x1a"));
}

}  // namespace
}  // namespace tandem::config
