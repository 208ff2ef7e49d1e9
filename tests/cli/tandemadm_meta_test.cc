// The offline meta-data verbs, run as a user runs them, on real files.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "io/device_factory.h"
#include "io/sync_io.h"
#include "meta/meta_data.h"
#include "meta/resource_meta.h"
#include "testing/test_util.h"

namespace tandem {
namespace {

using testing::RunCommand;
using testing::ScratchDir;

const std::string kAdm = TANDEMADM_PATH;

class MetaVerbsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* f : {"a.img", "b.img"}) Truncate(dir_.path() + "/" + f, 256 << 20);
    Truncate(dir_.path() + "/meta.img", 300 << 20);
    Truncate(dir_.path() + "/flex.img", 1 << 20);
    const std::string d = dir_.path();
    conf_ = dir_.Write("t.conf",
                       "resource r0 {\n"
                       "  on alpha { device /dev/drbd0; disk " + d + "/a.img; address 127.0.0.2:7789; meta-disk internal; }\n"
                       "  on bravo { device /dev/drbd0; disk " + d + "/a.img; address 127.0.0.3:7789; meta-disk internal; }\n"
                       "}\n"
                       "resource r1 {\n  disk { al-extents 257; }\n"
                       "  on alpha { device /dev/drbd1; disk " + d + "/b.img; address 127.0.0.2:7790; meta-disk " + d + "/meta.img[1]; }\n"
                       "  on bravo { device /dev/drbd1; disk " + d + "/b.img; address 127.0.0.3:7790; meta-disk internal; }\n"
                       "}\n"
                       "resource r2 {\n"
                       "  on alpha { device /dev/drbd2; disk " + d + "/b.img; address 127.0.0.2:7791; flexible-meta-disk " + d + "/flex.img; }\n"
                       "  on bravo { device /dev/drbd2; disk " + d + "/b.img; address 127.0.0.3:7791; meta-disk internal; }\n"
                       "}\n");
  }
  static void Truncate(const std::string& path, off_t size) {
    ASSERT_EQ(RunCommand({"/usr/bin/truncate", "-s", std::to_string(size), path}).exit_code, 0);
  }
  testing::CommandResult Adm(std::vector<std::string> args) {
    std::vector<std::string> argv = {kAdm, "-c", conf_, "--node", "alpha"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  ScratchDir dir_;
  std::string conf_;
};

TEST_F(MetaVerbsTest, CreateMdOnEveryPlacement) {
  auto r = Adm({"create-md", "all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Writing meta data for r0 (internal on "), std::string::npos);
  EXPECT_NE(r.out.find("Writing meta data for r1 (indexed on "), std::string::npos);
  EXPECT_NE(r.out.find("Writing meta data for r2 (flexible on "), std::string::npos);
  for (const char* res : {"r0", "r1", "r2"}) {
    auto gi = Adm({"get-gi", res});
    ASSERT_EQ(gi.exit_code, 0) << gi.err;
    EXPECT_EQ(gi.out,
              "0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:0:0:0:0:0:1\n");
  }
  // The indexed slot really is slot 1 of the shared meta-data file.
  std::string meta = testing::ReadFileOrEmpty(dir_.path() + "/meta.img");
  ASSERT_EQ(meta.size(), 300u << 20);
  // Superblock sequence 1 lives in copy 1 of the area at 128 MiB; slot 0 is untouched.
  EXPECT_EQ(meta.substr((128 << 20) + 4096, 4), "TNDM");
  EXPECT_EQ(meta.substr(4096, 4), std::string(4, '\0'));
}

TEST_F(MetaVerbsTest, CreateMdRefusesToOverwriteWithoutForce) {
  ASSERT_EQ(Adm({"create-md", "r0"}).exit_code, 0);
  auto again = Adm({"create-md", "r0"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("valid meta-data found on"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("use --force to overwrite it"), std::string::npos);
  EXPECT_EQ(Adm({"create-md", "--force", "r0"}).exit_code, 0);
}

TEST_F(MetaVerbsTest, DumpMdJsonDescribesEverything) {
  ASSERT_EQ(Adm({"create-md", "r1"}).exit_code, 0);
  auto r = Adm({"--json", "dump-md", "r1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["placement"], "indexed");
  EXPECT_EQ(j["index"], 1);
  EXPECT_EQ(j["area_offset"], 128 << 20);
  EXPECT_EQ(j["data_size"], 256 << 20);
  EXPECT_EQ(j["uuids"]["current"], "0000000000000004");
  EXPECT_EQ(j["activity_log"]["al_extents"], 257);
  EXPECT_EQ(j["bitmap"]["out_of_sync_bytes"], 256 << 20);
  ASSERT_EQ(j["bitmap"]["out_of_sync_ranges"].size(), 1u);
  auto text = Adm({"dump-md", "r1"});
  EXPECT_NE(text.out.find("activity-log { al-extents 257; ring-slots 76;"), std::string::npos);
}

TEST_F(MetaVerbsTest, ApplyAlMarksTheExtentsACrashedPrimaryLeftHot) {
  ASSERT_EQ(Adm({"create-md", "r0"}).exit_code, 0);
  // Act as a Primary would, then "crash": bitmap clean, extents 3 and 5 hot.
  {
    boost::asio::io_context loop;
    meta::MetaTarget t;
    t.resource = "r0";
    t.disk_path = t.md_path = dir_.path() + "/a.img";
    auto devs = meta::OpenMetaDevices(io::IoEnv::Default(), loop, t, false);
    ASSERT_TRUE(devs.ok()) << devs.status().ToString();
    bool done = false;
    Result<std::unique_ptr<meta::MetaData>> md = Status::Timeout("x");
    meta::MetaData::Open(loop, devs->md(), devs->layout, [&](auto r) { md = std::move(r); done = true; });
    ASSERT_TRUE(io::RunLoopUntil(loop, &done, std::chrono::seconds(30)));
    ASSERT_TRUE(md.ok()) << md.status().ToString();
    auto wait = [&](std::function<void(io::IoCallback)> op) {
      bool d = false;
      Status st;
      op([&](Status s) { st = s; d = true; });
      EXPECT_TRUE(io::RunLoopUntil(loop, &d, std::chrono::seconds(30)));
      return st;
    };
    (*md)->bitmap().ClearAll();
    ASSERT_TRUE(wait([&](io::IoCallback cb) { (*md)->FlushBitmap(cb); }).ok());
    ASSERT_TRUE(wait([&](io::IoCallback cb) {
      (*md)->UpdateSuperblock([](meta::Superblock& sb) {
        sb.Set(meta::kFlagPrimaryInd, true);
        sb.Set(meta::kFlagAlClean, false);  // as tandemd does at attach
      }, cb);
    }).ok());
    ASSERT_TRUE(wait([&](io::IoCallback cb) { (*md)->activity_log().Activate(3, 3, cb); }).ok());
    ASSERT_TRUE(wait([&](io::IoCallback cb) { (*md)->activity_log().Activate(5, 5, cb); }).ok());
    (*md)->activity_log().Release(3, 3);
    (*md)->activity_log().Release(5, 5);
    ASSERT_TRUE(io::WaitUntilIdle(loop, *devs->disk, std::chrono::seconds(10)));
  }
  auto before = nlohmann::json::parse(Adm({"--json", "dump-md", "r0"}).out);
  EXPECT_EQ(before["activity_log"]["hot_extents"], nlohmann::json({3, 5}));
  EXPECT_EQ(before["bitmap"]["out_of_sync_bytes"], 0);
  auto r = Adm({"apply-al", "r0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "r0: 2 activity-log extents applied, 8192 KiB newly marked out of sync; "
                   "activity log clean\n");
  auto after = nlohmann::json::parse(Adm({"--json", "dump-md", "r0"}).out);
  EXPECT_EQ(after["activity_log"]["hot_extents"].size(), 0u);
  EXPECT_EQ(after["bitmap"]["out_of_sync_ranges"],
            nlohmann::json::parse(R"([{"offset":12582912,"length":4194304},{"offset":20971520,"length":4194304}])"));
  auto gi = Adm({"get-gi", "r0"});
  // primary-indicator, crashed-primary and al-clean are now set.
  EXPECT_EQ(gi.out,
            "0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:1:0:0:0:1:1\n");
}

TEST_F(MetaVerbsTest, WipeMdNeedsForce) {
  ASSERT_EQ(Adm({"create-md", "r2"}).exit_code, 0);
  auto r = Adm({"wipe-md", "r2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("add --force to confirm"), std::string::npos);
  ASSERT_EQ(Adm({"wipe-md", "--force", "r2"}).exit_code, 0);
  auto gi = Adm({"get-gi", "r2"});
  EXPECT_EQ(gi.exit_code, 2);
  EXPECT_NE(gi.err.find("r2: no meta-data"), std::string::npos) << gi.err;
}

TEST_F(MetaVerbsTest, CorruptMetaDataIsReportedNotTrusted) {
  ASSERT_EQ(Adm({"create-md", "r2"}).exit_code, 0);
  // Damage the bitmap's only valid slot of page 0 (area offset 8192 + 76*4096 + 4096).
  std::string path = dir_.path() + "/flex.img";
  FILE* f = fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  fseek(f, 8192 + 76 * 4096 + 4096 + 100, SEEK_SET);
  fputc(0x00, f);
  fclose(f);
  auto r = Adm({"dump-md", "r2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("r2: bitmap page 0 (data bytes 0..133169152): no valid copy"),
            std::string::npos)
      << r.err;
}

TEST_F(MetaVerbsTest, TooSmallSlotsAndDisksSayWhatTheyNeed) {
  Truncate(dir_.path() + "/meta.img", 200 << 20);  // no room for slot [1]
  auto r = Adm({"create-md", "r1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("has no slot [1]: it needs at least 256.0 MiB"), std::string::npos) << r.err;
  Truncate(dir_.path() + "/flex.img", 8192);
  r = Adm({"create-md", "r2"});
  EXPECT_NE(r.err.find("flex.img: meta-data device of 8.0 KiB (8192 bytes) is too small for "
                       "256.0 MiB (268435456 bytes) of data: it needs 336.0 KiB"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace tandem
