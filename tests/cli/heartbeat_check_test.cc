// tandem-heartbeat --check as an administrator runs it: the real binary on a
// real configuration directory, exit codes and output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/cli.h"
#include "common/strings.h"
#include "testing/test_util.h"

namespace tandem {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using testing::ReadFileOrEmpty;
using testing::RunCommand;
using testing::ScratchDir;
using testing::SourcePath;

const std::string kHeartbeat = TANDEM_HEARTBEAT_PATH;

// Copies the three files of an example or seed folder into `dir`, authkeys
// with `authkeys_mode` (git does not keep modes).
void CopyHaDir(const std::string& from, const ScratchDir& dir, int authkeys_mode = 0600) {
  for (const char* file : {"ha.cf", "haresources"}) {
    dir.Write(file, ReadFileOrEmpty(SourcePath(from + "/" + file)));
  }
  dir.Write("authkeys", ReadFileOrEmpty(SourcePath(from + "/authkeys")), authkeys_mode);
}

CommandResult Check(const ScratchDir& dir, const std::string& node,
                    std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kHeartbeat, "--check", "--config-dir",
                                   dir.path(), "--node",  node};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv);
}

// Every line of stderr is a diagnostic naming file and line.
void ExpectEveryLineIsADiagnostic(const std::string& err) {
  static const std::regex kDiagnostic(R"(^[^:]+:\d+(:\d+)?: (error|warning): .+$)");
  std::istringstream lines(err);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(std::regex_match(line, kDiagnostic)) << line;
  }
}

TEST(HeartbeatCheck, ValidExamplePrintsTheSettings) {
  ScratchDir dir;
  CopyHaDir("configs/virtual-ip/ha.d", dir);
  auto r = Check(dir, "lb-1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("# Heartbeat settings in effect on node lb-1, from " + dir.path()));
  EXPECT_THAT(r.out, HasSubstr("deadtime       14s\n"));
  EXPECT_THAT(r.out, HasSubstr("ucast          eth1 10.0.0.1"));
  EXPECT_THAT(r.out, HasSubstr("ping_group     lan 192.168.0.50 192.168.0.51 192.168.0.52\n"));
  EXPECT_THAT(r.out, HasSubstr("lb-1 IPaddr::192.168.0.100/24/eth0\n"));
  EXPECT_THAT(r.out, HasSubstr("auth 1\n1 sha1\n"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("change-me-virtual-ip-key")));
  ExpectEveryLineIsADiagnostic(r.err);
}

TEST(HeartbeatCheck, JsonOutputParses) {
  ScratchDir dir;
  CopyHaDir("configs/vserver-cluster/ha.d", dir);
  auto r = Check(dir, "vs-b.example.org", {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["node"], "vs-b.example.org");
  EXPECT_EQ(j["ha_cf"]["keepalive_ms"], 2000);
  EXPECT_EQ(j["ha_cf"]["initdead_ms"], 120000);
  EXPECT_EQ(j["ha_cf"]["media"][0]["type"], "serial");
  EXPECT_EQ(j["haresources"]["groups"][0]["node"], "vs-a.example.org");
  EXPECT_EQ(j["authkeys"]["auth"], 2);
  EXPECT_EQ(r.out.find("change-me"), std::string::npos);
}

TEST(HeartbeatCheck, EverySeedAndExampleChecksClean) {
  const std::pair<const char*, const char*> dirs[] = {
      {"tests/data/seeds/001", "novantuno.stat.unipd.it"},
      {"tests/data/seeds/000", "ha-balancer-2"},
      {"configs/qmail-cluster/ha.d", "mx-b"},
      {"configs/demo/ha.d", "bravo"},
  };
  for (const auto& [from, node] : dirs) {
    ScratchDir dir;
    CopyHaDir(from, dir);
    auto r = Check(dir, node);
    EXPECT_EQ(r.exit_code, 0) << from << "\n" << r.err;
    ExpectEveryLineIsADiagnostic(r.err);
  }
}

TEST(HeartbeatCheck, BrokenConfigExitsTenWithFileAndLine) {
  ScratchDir dir;
  dir.Write("ha.cf", ReadFileOrEmpty(SourcePath("tests/data/seeds/004/ha.cf")));
  dir.Write("haresources", ReadFileOrEmpty(SourcePath("tests/data/seeds/004/haresources")));
  dir.Write("authkeys", "auth 1\n1 sha1 qmail-key\n", 0600);
  auto r = Check(dir, "linuxclm");
  EXPECT_EQ(r.exit_code, kExitConfigInvalid);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr(dir.path() + "/ha.cf:8:1: error: 'ping' needs at least one "
                                            "address to ping"));
  ExpectEveryLineIsADiagnostic(r.err);
}

TEST(HeartbeatCheck, WorldReadableAuthkeysIsRefused) {
  ScratchDir dir;
  CopyHaDir("configs/demo/ha.d", dir, 0644);
  auto r = Check(dir, "alpha");
  EXPECT_EQ(r.exit_code, kExitConfigInvalid);
  EXPECT_THAT(r.err, HasSubstr("Bad permissions on keyfile [" + dir.path() +
                               "/authkeys], 600 recommended."));
  EXPECT_EQ(r.out, "");
}

TEST(HeartbeatCheck, NodeDefaultsToUnameN) {
  const std::string self = ToLower(LocalNodeName());
  ScratchDir dir;
  dir.Write("ha.cf", "node " + self + " peer-of-this-host\nbcast lo\nlogfacility daemon\n");
  dir.Write("haresources", self + " 127.0.0.9\n");
  dir.Write("authkeys", "auth 1\n1 sha1 k\n", 0600);
  auto r = RunCommand({kHeartbeat, "--check", "--config-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("on node " + self));
}

TEST(HeartbeatCheck, MissingDirectoryNamesTheFiles) {
  auto r = RunCommand({kHeartbeat, "--check", "--config-dir", "/nonexistent/ha.d", "--node", "a"});
  EXPECT_EQ(r.exit_code, kExitConfigInvalid);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/ha.d/ha.cf: error: cannot open"));
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/ha.d/authkeys: error: cannot stat"));
}

TEST(HeartbeatCheck, WithoutCheckTheDaemonRefusesAnInvalidConfiguration) {
  auto r = RunCommand({kHeartbeat, "--foreground", "--config-dir", "/nonexistent/ha.d", "--node",
                       "alpha", "--run-dir", "/nonexistent/run"});
  EXPECT_EQ(r.exit_code, kExitConfigInvalid);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/ha.d/ha.cf: error: cannot open"));
  auto json = RunCommand({kHeartbeat, "--json"});
  EXPECT_EQ(json.exit_code, kExitUsage);
  EXPECT_THAT(json.err, HasSubstr("--json goes with --check or status"));
  auto both = RunCommand({kHeartbeat, "--check", "status"});
  EXPECT_EQ(both.exit_code, kExitUsage);
}

TEST(HeartbeatCheck, HelpVersionAndBadOptions) {
  auto help = RunCommand({kHeartbeat, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option :
       {"--check", "--json", "--config-dir", "--node", "--run-dir", "--version"}) {
    EXPECT_THAT(help.out, HasSubstr(option));
  }
  EXPECT_THAT(help.out, HasSubstr("/etc/ha.d"));
  auto version = RunCommand({kHeartbeat, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, HasSubstr("tandem-heartbeat (Tandem) "));
  auto bad = RunCommand({kHeartbeat, "--chek"});
  EXPECT_EQ(bad.exit_code, kExitUsage);
  EXPECT_THAT(bad.err, HasSubstr("tandem-heartbeat: "));
}

}  // namespace
}  // namespace tandem
