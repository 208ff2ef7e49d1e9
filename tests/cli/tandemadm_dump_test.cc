// tandemadm as a user runs it: the real binary, real files, exit codes and output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/test_util.h"

namespace tandem {
namespace {

using testing::RunCommand;
using testing::ScratchDir;
using testing::SourcePath;

const std::string kAdm = TANDEMADM_PATH;

TEST(TandemadmDump, PrintsTheNormalizedSeedConfig) {
  auto r = RunCommand({kAdm, "-c", SourcePath("tests/data/seeds/001/drbd.conf"), "--node",
                       "novanta.stat.unipd.it", "dump", "all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("resource drbd0 {"), std::string::npos);
  EXPECT_NE(r.out.find("\t\tprotocol C;\n"), std::string::npos);
  EXPECT_NE(r.out.find("\t\tresync-rate 512M;\n"), std::string::npos);
  EXPECT_NE(r.out.find("\t\tpri-on-incon-degr \"halt -f\";\n"), std::string::npos);
  EXPECT_NE(r.out.find("\t\tmeta-disk /dev/sda3[0];\n"), std::string::npos);

  // The dump is itself a valid configuration that dumps identically.
  ScratchDir dir;
  std::string again = dir.Write("dumped.conf", r.out);
  auto r2 = RunCommand({kAdm, "-c", again, "--node", "novanta.stat.unipd.it", "dump"});
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  // Only the header comment (naming the source file) differs.
  EXPECT_EQ(r2.out.substr(r2.out.find('\n')), r.out.substr(r.out.find('\n')));
}

TEST(TandemadmDump, OptionsMayFollowTheVerb) {
  auto r = RunCommand({kAdm, "dump", "drbd0", "-c", SourcePath("tests/data/seeds/001/drbd.conf"),
                       "--node", "novantuno.stat.unipd.it"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(TandemadmDump, JsonOutput) {
  auto r = RunCommand({kAdm, "-c", SourcePath("configs/demo/drbd.conf"), "--node", "bravo",
                       "--json", "dump", "r0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["node"], "bravo");
  ASSERT_EQ(j["resources"].size(), 1u);
  const auto& res = j["resources"][0];
  EXPECT_EQ(res["name"], "r0");
  EXPECT_EQ(res["net"]["protocol"], "C");
  EXPECT_EQ(res["disk"]["resync-rate"], 100 * 1024 * 1024);
  EXPECT_EQ(res["hosts"][1]["name"], "bravo");
  EXPECT_EQ(res["hosts"][1]["local"], true);
  EXPECT_EQ(res["hosts"][1]["address"]["host"], "127.0.0.3");
}

TEST(TandemadmDump, BrokenConfigExitsTenWithFileAndLine) {
  ScratchDir dir;
  std::string conf = dir.Write("drbd.conf",
                               "resource r0 {\n  net {\n    timeout 6000;\n    ko-cont 3;\n  }\n}\n");
  auto r = RunCommand({kAdm, "-c", conf, "--node", "alpha", "dump"});
  EXPECT_EQ(r.exit_code, 10);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(conf + ":3:13: error: value 6000 for 'timeout' is out of range 1..600"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(conf + ":4:5: error: unknown keyword 'ko-cont' in section 'net' (did you "
                              "mean 'ko-count'?)"),
            std::string::npos)
      << r.err;
}

TEST(TandemadmDump, Seed004IsRejectedNamingTheAddressLine) {
  std::string path = SourcePath("tests/data/seeds/004/drbd.conf");
  auto r = RunCommand({kAdm, "-c", path, "--node", "linuxclm", "dump"});
  EXPECT_EQ(r.exit_code, 10);
  EXPECT_NE(r.err.find(path + ":20:13: error: 'address :7788' has no IP address"),
            std::string::npos)
      << r.err;
}

TEST(TandemadmDump, UnknownResourceAndMissingFile) {
  auto r = RunCommand({kAdm, "-c", SourcePath("configs/demo/drbd.conf"), "--node", "alpha", "dump",
                       "r9"});
  EXPECT_EQ(r.exit_code, 10);
  EXPECT_NE(r.err.find("'r9' is not a resource in"), std::string::npos);
  r = RunCommand({kAdm, "-c", "/nonexistent/drbd.conf", "dump"});
  EXPECT_EQ(r.exit_code, 10);
  EXPECT_NE(r.err.find("/nonexistent/drbd.conf: error: cannot open /nonexistent/drbd.conf"),
            std::string::npos)
      << r.err;
}

TEST(TandemadmCli, HelpVersionAndUsageErrors) {
  auto r = RunCommand({kAdm, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("dump"), std::string::npos);
  r = RunCommand({kAdm, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("tandemadm (Tandem) "), std::string::npos);
  r = RunCommand({kAdm, "frobnicate"});
  EXPECT_EQ(r.exit_code, 1);
  // One line, naming the program.
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("tandemadm: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace tandem
