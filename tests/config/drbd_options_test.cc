// Table-driven tests: every option in the table, in its canonical place and in
// every other accepted spelling, with its default, limits and units.
#include "config/drbd_options.h"

#include <gtest/gtest.h>

#include <set>

#include "common/strings.h"
#include "common/units.h"
#include "config/drbd_writer.h"
#include "drbd_test_util.h"

namespace tandem::config {
namespace {

using testing::LoadText;
using testing::Resource;

// A host body with the four required options, leaving out `skip`.
std::string HostBody(const std::string& letter, const std::string& skip) {
  std::string out;
  const std::vector<std::pair<std::string, std::string>> opts = {
      {"device", "/dev/drbd0"},
      {"disk", "/dev/vg/" + letter},
      {"address", letter == "a" ? "10.0.0.1:7788" : "10.0.0.2:7788"},
      {"meta-disk", "internal"}};
  for (const auto& [k, v] : opts)
    if (k != skip) out += k + " " + v + "; ";
  return out;
}

// A configuration that sets option `spec`, spelled `keyword` in `section`, to `value`.
std::string ConfigSetting(const OptionSpec& spec, Section section, const std::string& keyword,
                          const std::string& value) {
  std::string stmt = keyword + (value.empty() ? "" : " " + value) + ";";
  // An HMAC algorithm is only valid together with a secret.
  if (spec.name == "cram-hmac-alg") stmt += " shared-secret x;";
  // NBD over TLS needs a certificate and its key.
  if (spec.name == "nbd-tls") stmt += " nbd-tls-cert /etc/tandem/c.pem; nbd-tls-key /etc/tandem/k.pem;";
  if (spec.section == Section::kHost) {
    std::string skip(spec.name);
    std::string first = section == Section::kHost ? HostBody("a", skip) + stmt : HostBody("a", skip);
    std::string second = section == Section::kHost ? HostBody("b", "") : HostBody("b", skip);
    return "resource r0 {\n" + (section == Section::kResource ? "  " + stmt + "\n" : "") +
           "  on alpha { " + first + " }\n  on bravo { " + second + " }\n}\n";
  }
  switch (section) {
    case Section::kGlobal:
      return "global { " + stmt + " }\n" + Resource("");
    case Section::kResource:
      return Resource(stmt);
    default:
      return Resource(std::string(SectionName(section)) + " { " + stmt + " }");
  }
}

const OptionSet& OptionsOf(const testing::Loaded& l, Section section) {
  if (section == Section::kGlobal) return l.config->global;
  if (section == Section::kHost) return l.r0().hosts[0].options;
  return l.r0().options;
}

// Every (section, keyword) under which a spec is accepted.
std::vector<std::pair<Section, std::string>> Spellings(const OptionSpec& spec) {
  std::vector<std::pair<Section, std::string>> out{{spec.section, std::string(spec.name)}};
  for (const auto& alt : SplitWords(spec.also)) {
    size_t colon = alt.find(':');
    std::string sec = alt.substr(0, colon);
    for (Section s : {Section::kGlobal, Section::kResource, Section::kNet, Section::kDisk,
                      Section::kStartup, Section::kSyncer, Section::kHandlers, Section::kOptions,
                      Section::kHost}) {
      if (SectionName(s) == sec) out.emplace_back(s, alt.substr(colon + 1));
    }
  }
  return out;
}

// A valid textual value for the spec and the value it must produce.
std::pair<std::string, Value> SampleValue(const OptionSpec& spec) {
  switch (spec.type) {
    case ValueType::kInteger: return {std::to_string(spec.max), Value(int64_t{spec.max})};
    case ValueType::kSize:
      return {FormatSize(static_cast<uint64_t>(spec.max), spec.bare_unit),
              Value(int64_t{spec.max})};
    case ValueType::kBool: {
      auto def = DefaultValue(spec);
      bool flip = def ? !std::get<bool>(*def) : true;
      return {flip ? "yes" : "no", Value(flip)};
    }
    case ValueType::kEnum: {
      std::string last = SplitOn(spec.choices, '|').back();
      if (last.back() == '*') last = last.substr(0, last.size() - 1) + "alpha";
      return {last, Value(last)};
    }
    case ValueType::kString: return {"\"some value\"", Value(std::string("some value"))};
    case ValueType::kPath: return {"/dev/other", Value(std::string("/dev/other"))};
    case ValueType::kAddress: {
      Address a{Address::Family::kIpv4, "10.9.9.9", 7000};
      return {"10.9.9.9:7000", Value(a)};
    }
    case ValueType::kMetaDisk: {
      MetaDisk m{MetaDisk::Kind::kIndexed, "/dev/md", 3};
      return {"/dev/md[3]", Value(m)};
    }
    case ValueType::kDevice: {
      Device d{"/dev/drbd9", 9};
      return {"/dev/drbd9", Value(d)};
    }
  }
  return {"", Value(int64_t{0})};
}

TEST(DrbdOptions, CanonicalNamesAreUnique) {
  std::set<std::string> names;
  for (const auto& spec : AllOptions()) {
    EXPECT_TRUE(names.insert(std::string(spec.name)).second) << spec.name;
  }
}

TEST(DrbdOptions, EveryDefaultIsValidAndInRange) {
  for (const auto& spec : AllOptions()) {
    if (spec.default_value.empty()) continue;
    EXPECT_TRUE(DefaultValue(spec).has_value()) << spec.name << " default " << spec.default_value;
  }
}

TEST(DrbdOptions, DocumentedDefaultsMatchDrbd84) {
  auto l = LoadText(Resource(""));
  ASSERT_TRUE(l.ok()) << l.errors();
  const OptionSet& o = l.r0().options;
  EXPECT_EQ(o.Str("protocol"), "C");
  EXPECT_EQ(o.Int("timeout"), 60);
  EXPECT_EQ(o.Int("connect-int"), 10);
  EXPECT_EQ(o.Int("ping-int"), 10);
  EXPECT_EQ(o.Int("ping-timeout"), 5);
  EXPECT_EQ(o.Int("max-buffers"), 2048);
  EXPECT_EQ(o.Int("max-epoch-size"), 2048);
  EXPECT_EQ(o.Int("ko-count"), 7);
  EXPECT_EQ(o.Int("sndbuf-size"), 0);
  EXPECT_EQ(o.Int("resync-rate"), 250 * 1024);
  EXPECT_EQ(o.Int("al-extents"), 1237);
  // 0 (DRBD 8.4.0's default) so that `rate` in existing configurations caps the resync.
  EXPECT_EQ(o.Int("c-plan-ahead"), 0);
  EXPECT_EQ(o.Int("c-fill-target"), 100 * 512);
  EXPECT_EQ(o.Int("c-max-rate"), 102400 * 1024);
  EXPECT_EQ(o.Int("c-min-rate"), 250 * 1024);
  EXPECT_EQ(o.Int("wfc-timeout"), 0);
  EXPECT_EQ(o.Str("on-io-error"), "detach");
  EXPECT_EQ(o.Str("fencing"), "dont-care");
  EXPECT_EQ(o.Str("after-sb-0pri"), "disconnect");
  EXPECT_FALSE(o.Bool("allow-two-primaries"));
  EXPECT_EQ(o.Str("io-engine"), "uring");
  EXPECT_FALSE(o.OptStr("shared-secret"));
  EXPECT_FALSE(o.OptStr("split-brain"));
  EXPECT_FALSE(o.Has("on-disconnect"));  // 0.7-only: absent unless written
}

TEST(DrbdOptions, EverySpellingOfEveryOptionSetsTheCanonicalOption) {
  for (const auto& spec : AllOptions()) {
    for (const auto& [section, keyword] : Spellings(spec)) {
      auto [text, expected] = SampleValue(spec);
      if (keyword == "flexible-meta-disk") {
        text = "/dev/md";
        expected = MetaDisk{MetaDisk::Kind::kFlexible, "/dev/md", -1};
      }
      std::string conf = ConfigSetting(spec, section, keyword, text);
      auto l = LoadText(conf);
      ASSERT_TRUE(l.ok()) << spec.name << " as " << SectionName(section) << ":" << keyword
                          << "\n"
                          << conf << l.errors();
      const Setting* s = OptionsOf(l, spec.section).Find(spec.name);
      ASSERT_NE(s, nullptr) << spec.name;
      EXPECT_TRUE(s->value == expected) << spec.name << " as " << keyword;
      EXPECT_FALSE(s->is_default());
      EXPECT_EQ(s->where.file, testing::kConfPath);
    }
  }
}

TEST(DrbdOptions, OutOfRangeValuesAreRejectedWithTheRange) {
  for (const auto& spec : AllOptions()) {
    if (spec.type != ValueType::kInteger && spec.type != ValueType::kSize) continue;
    std::vector<std::string> bad;
    if (spec.type == ValueType::kInteger) {
      bad = {std::to_string(spec.max + 1)};
      if (spec.min > 0) bad.push_back(std::to_string(spec.min - 1));
    } else {
      // One sector past the limit; below the minimum where there is one.
      bad = {FormatSize(static_cast<uint64_t>(spec.max) + 512, 1)};
      if (spec.min > 512) bad.push_back("1s");
    }
    for (const auto& v : bad) {
      auto l = LoadText(ConfigSetting(spec, spec.section, std::string(spec.name), v));
      ASSERT_FALSE(l.ok()) << spec.name << " " << v;
      EXPECT_NE(l.errors().find("is out of range"), std::string::npos) << l.errors();
      EXPECT_NE(l.errors().find("/etc/drbd.conf:"), std::string::npos);
    }
  }
}

TEST(DrbdOptions, EnumsRejectOtherWordsWithTheChoices) {
  auto l = LoadText(Resource("disk { on-io-error detatch; }"));
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.errors().find("/etc/drbd.conf:2:20: error: 'detatch' is not a valid value for "
                            "'on-io-error' (one of: pass_on,call-local-io-error,detach,panic) "
                            "(did you mean 'detach'?)"),
            std::string::npos)
      << l.errors();
}

TEST(DrbdOptions, BooleansAcceptFlagAndWordForms) {
  for (const auto& [text, want] : std::vector<std::pair<std::string, bool>>{
           {"allow-two-primaries;", true},
           {"allow-two-primaries yes;", true},
           {"allow-two-primaries on;", true},
           {"allow-two-primaries no;", false},
           {"allow-two-primaries off;", false}}) {
    auto l = LoadText(Resource("net { " + text + " }"));
    ASSERT_TRUE(l.ok()) << text << l.errors();
    EXPECT_EQ(l.r0().options.Bool("allow-two-primaries"), want) << text;
  }
  EXPECT_FALSE(LoadText(Resource("net { allow-two-primaries maybe; }")).ok());
}

TEST(DrbdOptions, RatesAreBytesPerSecondWithBareNumbersInKiB) {
  auto l = LoadText(Resource("syncer { rate 70000; }"));
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().options.Int("resync-rate"), 70000LL * 1024);
  l = LoadText(Resource("syncer { rate 70000K; }"));
  EXPECT_EQ(l.r0().options.Int("resync-rate"), 70000LL * 1024);
  l = LoadText(Resource("syncer { rate 512M; }"));
  EXPECT_EQ(l.r0().options.Int("resync-rate"), 512LL << 20);
  l = LoadText(Resource("disk { resync-rate 1G; c-max-rate 200M; c-min-rate 4M; }"));
  EXPECT_EQ(l.r0().options.Int("resync-rate"), 1LL << 30);
  EXPECT_EQ(l.r0().options.Int("c-max-rate"), 200LL << 20);
  EXPECT_EQ(l.r0().options.Int("c-min-rate"), 4LL << 20);
}

TEST(DrbdOptions, BufferSizesAreBytesWithSuffixes) {
  auto l = LoadText(Resource("net { sndbuf-size 512k; rcvbuf-size 131072; }"));
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().options.Int("sndbuf-size"), 512 * 1024);
  EXPECT_EQ(l.r0().options.Int("rcvbuf-size"), 131072);
  EXPECT_FALSE(LoadText(Resource("net { sndbuf-size 11M; }")).ok());
  EXPECT_FALSE(LoadText(Resource("net { sndbuf-size lots; }")).ok());
}

TEST(DrbdOptions, TimesKeepDrbdUnits) {
  auto l = LoadText(Resource("net { timeout 60; ping-timeout 5; connect-int 10; ping-int 3; }"
                             " startup { wfc-timeout 10; degr-wfc-timeout 120; }"));
  ASSERT_TRUE(l.ok()) << l.errors();
  EXPECT_EQ(l.r0().options.Int("timeout"), 60);  // tenths of a second
  EXPECT_EQ(l.r0().options.Int("ping-timeout"), 5);
  EXPECT_EQ(l.r0().options.Int("connect-int"), 10);  // seconds
  EXPECT_EQ(l.r0().options.Int("wfc-timeout"), 10);
  EXPECT_EQ(l.r0().options.Int("degr-wfc-timeout"), 120);
  auto bad = LoadText(Resource("net {\n  timeout 601;\n}"));
  EXPECT_NE(bad.errors().find("/etc/drbd.conf:3:11: error: value 601 for 'timeout' is out of range "
                              "1..600 (peer response timeout, tenths of a second)"),
            std::string::npos)
      << bad.errors();
}

TEST(DrbdOptions, NumbersMustBeNumbers) {
  auto l = LoadText(Resource("net { ko-count ten; }"));
  EXPECT_NE(l.errors().find("'ten' for 'ko-count' is not a number"), std::string::npos);
}

TEST(DrbdOptions, ValueCountIsChecked) {
  auto l = LoadText(Resource("net { timeout; }"));
  EXPECT_NE(l.errors().find("'timeout' needs a value"), std::string::npos) << l.errors();
  l = LoadText(Resource("net { timeout 60 70; }"));
  EXPECT_NE(l.errors().find("too many values for 'timeout' (unexpected '70')"), std::string::npos);
  // A forgotten ';' swallows the next line: say so.
  l = LoadText("resource r0 {\n net {\n  timeout 60\n  ko-count 4;\n }\n" + testing::TwoHosts() +
               "}\n");
  EXPECT_NE(l.errors().find("/etc/drbd.conf:3:3: error: missing ';' after 'timeout 60'"),
            std::string::npos)
      << l.errors();
}

TEST(DrbdOptions, FormatReadsBackToTheSameValue) {
  for (const auto& spec : AllOptions()) {
    auto [text, expected] = SampleValue(spec);
    std::string formatted = FormatOptionValue(spec, expected);
    auto l = LoadText(ConfigSetting(spec, spec.section, std::string(spec.name), formatted));
    ASSERT_TRUE(l.ok()) << spec.name << " " << formatted << l.errors();
    EXPECT_TRUE(OptionsOf(l, spec.section).Find(spec.name)->value == expected) << spec.name;
  }
}

TEST(DrbdOptions, NbdTlsNeedsACertificateAndKey) {
  auto l = LoadText(Resource("net { nbd-tls required; nbd-tls-cert /etc/tandem/c.pem; }"));
  EXPECT_FALSE(l.ok());
  EXPECT_NE(l.errors().find("/etc/drbd.conf:2:7: error: resource 'r0': nbd-tls required needs "
                            "nbd-tls-key"),
            std::string::npos)
      << l.errors();
  EXPECT_EQ(l.errors().find("needs nbd-tls-cert"), std::string::npos) << l.errors();
  EXPECT_TRUE(LoadText(Resource("net { nbd-tls off; }")).ok());
}

}  // namespace
}  // namespace tandem::config
