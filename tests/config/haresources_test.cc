#include "config/haresources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/mem_env.h"
#include "config/ha_line_reader.h"

namespace tandem::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kPath = "/etc/ha.d/haresources";
const std::vector<std::string> kNodes = {"alpha", "bravo"};

struct Loaded {
  Diagnostics diags;
  Result<HaResources> res = Status::NotFound("not loaded");
  std::string text() const { return diags.Format(); }
  const HaResourceGroup& group(size_t i) const { return res->groups.at(i); }
};

Loaded Load(const std::string& text, const std::vector<std::string>& nodes = kNodes) {
  Loaded l;
  l.res = ParseHaResources(text, kPath, nodes, &l.diags);
  return l;
}

std::string Loc(int line, int column) {
  return std::string(kPath) + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// --- groups and resources -----------------------------------------------------

TEST(HaResources, OneGroupPerLine) {
  auto l = Load(
      "alpha drbddisk::r0 Filesystem::/dev/drbd0::/home::ext4 qmail\n"
      "bravo IPaddr::10.0.0.9\n");
  ASSERT_TRUE(l.res.ok()) << l.text();
  ASSERT_EQ(l.res->groups.size(), 2u);
  const HaResourceGroup& g = l.group(0);
  EXPECT_EQ(g.node, "alpha");
  EXPECT_EQ(g.Key(), "drbddisk::r0");
  ASSERT_EQ(g.resources.size(), 3u);
  EXPECT_EQ(g.resources[1].name, "Filesystem");
  EXPECT_THAT(g.resources[1].args, ElementsAre("/dev/drbd0", "/home", "ext4"));
  EXPECT_EQ(g.resources[1].where.ToString(), Loc(1, 20));
  EXPECT_EQ(g.resources[2].name, "qmail");
  EXPECT_TRUE(g.resources[2].args.empty());
  EXPECT_EQ(l.group(1).Key(), "IPaddr::10.0.0.9");
  EXPECT_FALSE(l.diags.has_errors());
}

TEST(HaResources, ABareAddressMeansIpaddr) {
  auto l = Load("alpha 10.0.0.3 lvs\nbravo 10.0.0.4/24/eth0/10.0.0.255 mon\n");
  ASSERT_TRUE(l.res.ok()) << l.text();
  const HaResource& r = l.group(0).resources[0];
  EXPECT_EQ(r.name, "IPaddr");
  EXPECT_THAT(r.args, ElementsAre("10.0.0.3"));
  EXPECT_EQ(r.written, "10.0.0.3");
  EXPECT_EQ(r.Canonical(), "IPaddr::10.0.0.3");
  EXPECT_EQ(l.group(1).Key(), "IPaddr::10.0.0.4/24/eth0/10.0.0.255");
}

TEST(HaResources, NodeNamesAreCheckedAgainstHaCf) {
  auto l = Load("alpha a\ngamma b\n");
  EXPECT_FALSE(l.res.ok());
  EXPECT_THAT(l.text(), HasSubstr(Loc(2, 1) + ": error: Bad nodename in haresources [gamma]: "
                                              "not a node of ha.cf (nodes: alpha, bravo)"));
  auto folded = Load("ALPHA a\n");
  ASSERT_TRUE(folded.res.ok()) << folded.text();
  EXPECT_EQ(folded.group(0).node, "alpha");
  EXPECT_TRUE(Load("gamma a\n", {}).res.ok()) << "an empty node list skips the check";
}

TEST(HaResources, GroupKeysAreUnique) {
  auto l = Load("alpha drbddisk::r0 fs\nbravo drbddisk::r0 other\n");
  EXPECT_FALSE(l.res.ok());
  EXPECT_THAT(l.text(), HasSubstr(Loc(2, 7) +
                                  ": error: resource group [drbddisk::r0] is "
                                  "defined twice (first at " +
                                  Loc(1, 7) + ")"));
  // A bare address and its IPaddr spelling are the same group.
  auto ip = Load("alpha 10.0.0.3\nbravo IPaddr::10.0.0.3\n");
  EXPECT_FALSE(ip.res.ok());
  EXPECT_THAT(ip.text(), HasSubstr("resource group [IPaddr::10.0.0.3] is defined twice"));
  // Only the first resource is the key.
  EXPECT_TRUE(Load("alpha a shared\nbravo b shared\n").res.ok());
}

TEST(HaResources, ResourceErrors) {
  struct Case {
    const char* line;
    const char* expected;
  } cases[] = {
      {"alpha", ":1: error: the group for node [alpha] lists no resources"},
      {"alpha /etc/init.d/x", ":7: error: invalid resource name [/etc/init.d/x]"},
      {"alpha -x", ":7: error: invalid resource name [-x]"},
      {"alpha ::x", ":7: error: invalid resource name []"},
      {"alpha Filesystem::/dev/a::::ext4",
       ":7: error: resource [Filesystem::/dev/a::::ext4] has an empty argument"},
      {"alpha IPaddr::", ":7: error: resource [IPaddr::] has an empty argument"},
      {"alpha IPaddr", ":7: error: IPaddr needs an address"},
      {"alpha IPaddr::10.0.0.300", ":7: error: IPaddr [10.0.0.300]: [10.0.0.300] is not an IPv4"},
      {"alpha 10.0.0.300", ":7: error: IPaddr [10.0.0.300]: [10.0.0.300] is not an IPv4"},
      {"alpha 10.0.0.1/33", ":7: error: IPaddr [10.0.0.1/33]: netmask bits [33] are not a number"},
      {"alpha IPaddr2::10.0.0.1/24/a/b/c",
       ":7: error: IPaddr2 [10.0.0.1/24/a/b/c]: has more than ADDR/CIDR/IFACE/BCAST"},
      {"alpha 10.0.0.1/24/eth0/10.1",
       ":7: error: IPaddr [10.0.0.1/24/eth0/10.1]: broadcast [10.1] is not an IPv4"},
      {"alpha 10.0.0.1/24/a/b", ":7: error: IPaddr [10.0.0.1/24/a/b]: broadcast [b]"},
      {"alpha IPaddr::10.0.0.1/24/x/y/", ":7: error: IPaddr [10.0.0.1/24/x/y/]: has more"},
      {"alpha IPaddr::10.0.0.1/8/averyveryverylongname0",
       ":7: error: IPaddr [10.0.0.1/8/averyveryverylongname0]: [averyveryverylongname0] is "
       "not a valid interface name"},
  };
  for (const auto& c : cases) {
    auto l = Load(std::string(c.line) + "\n");
    EXPECT_FALSE(l.res.ok()) << c.line;
    EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + ":1" + c.expected)) << c.line;
  }
}

TEST(HaResources, IpaddrArgumentsThatAreFine) {
  auto l = Load(
      "alpha IPaddr::192.168.0.100/24/eth0 IPaddr2::10.0.0.5/16/bond0:1/10.0.255.255 "
      "3ware Filesystem::/dev/nb0::/vservers::ext4\n");
  ASSERT_TRUE(l.res.ok()) << l.text();
  EXPECT_EQ(l.group(0).resources[2].name, "3ware");
}

TEST(HaResources, EmptyFileIsValidWithAWarning) {
  auto l = Load("# nothing managed yet\n\n");
  ASSERT_TRUE(l.res.ok()) << l.text();
  EXPECT_TRUE(l.res->groups.empty());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + ":2: warning: no resource groups"));
}

// --- line structure -------------------------------------------------------------

TEST(HaResourcesLines, BackslashContinuesAGroup) {
  auto l = Load(
      "# mail\nalpha drbddisk::mail0 \\\n     IPaddr::10.0.0.25/24/eth0\\\n  qmail\n"
      "bravo other\n");
  ASSERT_TRUE(l.res.ok()) << l.text();
  ASSERT_EQ(l.res->groups.size(), 2u);
  const HaResourceGroup& g = l.group(0);
  ASSERT_EQ(g.resources.size(), 3u);
  EXPECT_EQ(g.where.ToString(), Loc(2, 1));
  EXPECT_EQ(g.resources[1].where.ToString(), Loc(3, 6));
  EXPECT_EQ(g.resources[1].written, "IPaddr::10.0.0.25/24/eth0");
  EXPECT_EQ(g.resources[2].where.ToString(), Loc(4, 3));
}

TEST(HaResourcesLines, CommentsStartAtAWord) {
  auto l = Load("   # indented comment\nalpha MailTo::ops#1 fs # trailing comment \\\nbravo x\n");
  ASSERT_TRUE(l.res.ok()) << l.text();
  ASSERT_EQ(l.res->groups.size(), 2u) << "a '\\' inside a comment does not continue";
  EXPECT_THAT(l.group(0).resources[0].args, ElementsAre("ops#1"));
  EXPECT_EQ(l.group(0).resources.size(), 2u);
}

TEST(HaResourcesLines, ABlankLineEndsAContinuation) {
  auto l = Load("alpha a \\\n\nbravo b\n");
  ASSERT_TRUE(l.res.ok()) << l.text();
  EXPECT_EQ(l.res->groups.size(), 2u);
}

TEST(HaResourcesLines, FileEndingInAContinuationWasCutShort) {
  auto l = Load("alpha drbddisk::r0 \\\n     fs \\");
  EXPECT_FALSE(l.res.ok());
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + ":2: error: the file ends right after a "
                                                       "'\\' continuation (is it cut short?)"));
}

TEST(HaResourcesLines, SplitHaLinesReportsWordPositions) {
  Diagnostics d;
  auto lines = SplitHaLines("a b\\\n\tc # x\n\n d", "f", {HaCommentStyle::kWordStart, true}, &d);
  ASSERT_FALSE(d.has_errors()) << d.Format();
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_EQ(lines[0].words.size(), 3u);
  EXPECT_EQ(lines[0].words[1].text, "b");
  EXPECT_EQ(lines[0].words[2].where.ToString(), "f:2:2");
  EXPECT_EQ(lines[1].where.ToString(), "f:4");
  EXPECT_EQ(lines[1].words[0].where.ToString(), "f:4:2");
  EXPECT_EQ(LastLineNumber(""), 1);
  EXPECT_EQ(LastLineNumber("a\nb\n"), 2);
  EXPECT_EQ(LastLineNumber("a\nb"), 2);
  EXPECT_EQ(Printable("ok\x01\xc3"), "ok\\x01\\xc3");
}

// --- damaged files ---------------------------------------------------------------

TEST(HaResourcesDamage, ControlBytesDropTheWholeContinuedGroup) {
  auto l = Load("alpha a \\\n b\x7f \\\n c\nbravo d\n");
  EXPECT_FALSE(l.res.ok());
  EXPECT_THAT(l.text(), HasSubstr(Loc(2, 3) + ": error: invalid control character 0x7f"));
  EXPECT_EQ(l.diags.error_count(), 1u) << l.text();
}

TEST(HaResourcesDamage, NulGarbageAndLongLines) {
  auto nul = Load(std::string("alpha a\0b\n", 10));
  EXPECT_FALSE(nul.res.ok());
  EXPECT_THAT(nul.text(), HasSubstr(Loc(1, 8) + ": error: invalid control character 0x00"));
  auto garbage = Load("alpha \xfe\xff\n");
  EXPECT_THAT(garbage.text(), HasSubstr("invalid resource name [\\xfe\\xff]"));
  auto long_line = Load("alpha " + std::string(10000, 'r') + "\n");
  EXPECT_THAT(long_line.text(),
              HasSubstr(std::string(kPath) + ":1: error: line is longer than 8192 bytes"));
}

TEST(HaResourcesDamage, FileCutMidLine) {
  auto l = Load("alpha drbddisk::r0 IPaddr::10.0.");
  EXPECT_FALSE(l.res.ok());
  EXPECT_THAT(l.text(), HasSubstr(Loc(1, 20) + ": error: IPaddr [10.0.]: [10.0.] is not an IPv4"));
}

TEST(HaResourcesDamage, ManyBadLinesStop) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "gamma x\n";
  auto l = Load(text);
  EXPECT_EQ(l.diags.error_count(), kMaxHaErrorsPerFile + 1);
  EXPECT_THAT(l.text(), HasSubstr(std::string(kPath) + ":51: error: too many errors"));
}

// --- loading through Env ---------------------------------------------------------

TEST(HaResourcesLoad, ReadsThroughEnv) {
  MemEnv env;
  env.AddFile(kPath, "alpha drbddisk::r0\n", 0100644);
  Diagnostics d;
  auto res = LoadHaResources(&env, kPath, kNodes, &d);
  ASSERT_TRUE(res.ok()) << d.Format();
  EXPECT_EQ(res->source_file, kPath);
  Diagnostics missing;
  EXPECT_FALSE(LoadHaResources(&env, "/nowhere/haresources", kNodes, &missing).ok());
  EXPECT_THAT(missing.Format(), HasSubstr("/nowhere/haresources: error: cannot open"));
}

}  // namespace
}  // namespace tandem::config
