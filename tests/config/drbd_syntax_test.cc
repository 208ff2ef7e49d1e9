#include "config/drbd_syntax.h"

#include <gtest/gtest.h>

#include "common/mem_env.h"

namespace tandem::config {
namespace {

std::vector<Statement> Parse(const std::string& text, Diagnostics* d, MemEnv* env = nullptr) {
  MemEnv local;
  return ParseStatements(env ? env : &local, text, "/etc/drbd.conf", d);
}

TEST(DrbdTokenize, WordsStringsAndPunctuation) {
  Diagnostics d;
  auto toks = Tokenize("on a{address 1.2.3.4:7788;x \"q \\\"uoted\\\\\";}", "f", &d);
  ASSERT_FALSE(d.has_errors()) << d.Format();
  std::vector<std::string> texts;
  for (const auto& t : toks) texts.push_back(t.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"on", "a", "{", "address", "1.2.3.4:7788", ";", "x",
                                             "q \"uoted\\", ";", "}", ""}));
  EXPECT_EQ(toks[7].kind, Token::Kind::kString);
  EXPECT_EQ(toks.back().kind, Token::Kind::kEnd);
}

TEST(DrbdTokenize, TracksLineAndColumn) {
  Diagnostics d;
  auto toks = Tokenize("a\n  b;\n\tc", "f", &d);
  EXPECT_EQ(toks[0].where.line, 1);
  EXPECT_EQ(toks[0].where.column, 1);
  EXPECT_EQ(toks[1].where.line, 2);
  EXPECT_EQ(toks[1].where.column, 3);
  EXPECT_EQ(toks[2].where.column, 4);
  EXPECT_EQ(toks[3].where.line, 3);
}

TEST(DrbdTokenize, HashAndSlashSlashComments) {
  Diagnostics d;
  auto toks = Tokenize("a; # c1 ; }\nb; // slide note { \nc /dev/sda; //x\n", "f", &d);
  std::vector<std::string> texts;
  for (const auto& t : toks) texts.push_back(t.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"a", ";", "b", ";", "c", "/dev/sda", ";", ""}));
}

TEST(DrbdTokenize, UnterminatedStringIsAnErrorAtItsStart) {
  Diagnostics d;
  Tokenize("x \"abc\ny;", "f", &d);
  ASSERT_TRUE(d.has_errors());
  EXPECT_EQ(d.all()[0].ToString(),
            "f:1:3: error: unterminated string (a quoted string must end on its line)");
}

TEST(DrbdTokenize, ControlCharactersAreErrors) {
  Diagnostics d;
  Tokenize(std::string("a\x01;"), "f", &d);
  ASSERT_TRUE(d.has_errors());
  EXPECT_NE(d.Format().find("f:1:2: error: invalid control character"), std::string::npos);
  Diagnostics d2;
  Tokenize(std::string("a\0b;", 4), "f", &d2);
  EXPECT_TRUE(d2.has_errors());
}

TEST(DrbdParse, NestedBlocksAndOptionalSemicolonAfterBlock) {
  Diagnostics d;
  auto st = Parse("resource r0 { net { timeout 60; } ; on a { disk /x; } };", &d);
  ASSERT_FALSE(d.has_errors()) << d.Format();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].keyword.text, "resource");
  ASSERT_EQ(st[0].args.size(), 1u);
  ASSERT_EQ(st[0].block.size(), 2u);
  EXPECT_EQ(st[0].block[1].keyword.text, "on");
  EXPECT_EQ(st[0].block[1].block[0].args[0].text, "/x");
}

TEST(DrbdParse, MissingSemicolonBeforeCloseBrace) {
  Diagnostics d;
  Parse("global {\n  usage-count no\n}\n", &d);
  ASSERT_TRUE(d.has_errors());
  EXPECT_EQ(d.all()[0].ToString(),
            "/etc/drbd.conf:3:1: error: missing ';' after 'usage-count' before '}'");
}

TEST(DrbdParse, MissingCloseBraceNamesTheOpener) {
  Diagnostics d;
  Parse("resource r0 {\n  net {\n    timeout 60;\n", &d);
  ASSERT_TRUE(d.has_errors());
  EXPECT_NE(d.Format().find("/etc/drbd.conf:2:7: error: missing '}' for the block opened here"),
            std::string::npos)
      << d.Format();
}

TEST(DrbdParse, UnexpectedCloseBrace) {
  Diagnostics d;
  Parse("global { }\n}\n", &d);
  EXPECT_EQ(d.Format(), "/etc/drbd.conf:2:1: error: unexpected '}' with no open block\n");
}

TEST(DrbdParse, MissingSemicolonAtEndOfFile) {
  Diagnostics d;
  Parse("include \"x\"", &d);
  EXPECT_NE(d.Format().find("1:1: error: missing ';' after 'include' at end of file"),
            std::string::npos);
}

TEST(DrbdParse, SkipBlocksAreDroppedWhateverTheyHold) {
  Diagnostics d;
  auto st = Parse("skip { anything goes here; even { nested } junk }\n"
                  "skip resource old { net { nonsense 1; } }\nglobal { }\n",
                  &d);
  ASSERT_FALSE(d.has_errors()) << d.Format();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].keyword.text, "global");
}

TEST(DrbdParse, SkipWithoutBlockIsAnError) {
  Diagnostics d;
  Parse("skip;\n", &d);
  EXPECT_NE(d.Format().find("'skip' must be followed by a { block }"), std::string::npos);
}

TEST(DrbdParse, IncludeExpandsGlobRelativeToTheIncludingFile) {
  MemEnv env;
  env.AddFile("/etc/drbd.d/global_common.conf", "global { usage-count no; }\n");
  env.AddFile("/etc/drbd.d/r0.res", "resource r0 { }\n");
  env.AddFile("/etc/drbd.d/r1.res", "resource r1 { }\n");
  Diagnostics d;
  auto st = Parse("include \"drbd.d/global_common.conf\";\ninclude \"drbd.d/*.res\";\n", &d, &env);
  ASSERT_FALSE(d.has_errors()) << d.Format();
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[1].args[0].text, "r0");
  EXPECT_EQ(st[2].args[0].text, "r1");
  EXPECT_EQ(st[2].keyword.where.file, "/etc/drbd.d/r1.res");
}

TEST(DrbdParse, IncludeOfAMissingFileIsAnErrorButAnEmptyGlobIsNot) {
  MemEnv env;
  Diagnostics d;
  Parse("include \"drbd.d/*.res\";\n", &d, &env);
  EXPECT_FALSE(d.has_errors());
  Diagnostics d2;
  Parse("include \"/etc/missing.conf\";\n", &d2, &env);
  EXPECT_NE(d2.Format().find("/etc/drbd.conf:1:9: error: cannot open /etc/missing.conf"),
            std::string::npos)
      << d2.Format();
}

TEST(DrbdParse, IncludeCyclesAreRefused) {
  MemEnv env;
  env.AddFile("/etc/a.conf", "include \"b.conf\";\n");
  env.AddFile("/etc/b.conf", "include \"a.conf\";\n");
  Diagnostics d;
  ParseStatementsFromFile(&env, "/etc/a.conf", &d);
  EXPECT_NE(d.Format().find("includes itself"), std::string::npos) << d.Format();
}

TEST(DrbdParse, ErrorsInIncludedFilesNameThatFile) {
  MemEnv env;
  env.AddFile("/etc/drbd.d/bad.res", "resource r0 {\n  net { timeout 60 }\n}\n");
  Diagnostics d;
  Parse("include \"drbd.d/bad.res\";\n", &d, &env);
  EXPECT_NE(d.Format().find("/etc/drbd.d/bad.res:2:20: error: missing ';'"), std::string::npos)
      << d.Format();
}

TEST(DrbdParse, DeepNestingIsBounded) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "a {";
  for (int i = 0; i < 40; ++i) text += "}";
  Diagnostics d;
  Parse(text, &d);
  EXPECT_NE(d.Format().find("blocks nested too deeply"), std::string::npos);
}

TEST(DrbdParse, TruncatedInputNeverCrashesAndAlwaysReportsAnError) {
  const std::string full =
      "global { usage-count no; }\nresource r0 {\n net { timeout 60; }\n"
      " on a { address \"10.0.0.1:7788\"; }\n}\n";
  for (size_t cut = 1; cut < full.size(); ++cut) {
    Diagnostics d;
    std::string part = full.substr(0, cut);
    Parse(part, &d);
    // An unclosed block must always be noticed.
    if (std::count(part.begin(), part.end(), '{') != std::count(part.begin(), part.end(), '}')) {
      EXPECT_TRUE(d.has_errors()) << "cut at " << cut;
    }
  }
}

}  // namespace
}  // namespace tandem::config
