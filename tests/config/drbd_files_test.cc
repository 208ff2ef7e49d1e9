// The seeds' drbd.conf blocks and the example setups in configs/ load, and
// every configuration survives dump -> parse unchanged.
#include <gtest/gtest.h>

#include "common/env.h"
#include "config/drbd_loader.h"
#include "config/drbd_writer.h"
#include "drbd_test_util.h"
#include "testing/test_util.h"

namespace tandem::config {
namespace {

using tandem::testing::SourcePath;

Result<DrbdConfig> LoadFile(const std::string& path, const std::string& node, Diagnostics* d) {
  return LoadDrbdConfig(Env::Default(), path, node, d);
}

// Writes the model, parses the text back, and compares models.
void ExpectRoundTrip(const DrbdConfig& config) {
  std::string text = WriteDrbdConfig(config, {});
  Diagnostics d;
  MemEnv env;
  auto again = ParseDrbdConfig(&env, text, config.source_file, config.node_name, &d);
  ASSERT_TRUE(again.ok()) << d.Format() << "\n" << text;
  EXPECT_TRUE(config.SameAs(*again)) << text;
  // And the writer is a fixed point.
  EXPECT_EQ(WriteDrbdConfig(*again, {}), text);
}

TEST(DrbdSeeds, Seed001VserverClusterLoadsUnchanged) {
  for (const char* node : {"novanta.stat.unipd.it", "novantuno.stat.unipd.it"}) {
    Diagnostics d;
    auto cfg = LoadFile(SourcePath("tests/data/seeds/001/drbd.conf"), node, &d);
    ASSERT_TRUE(cfg.ok()) << d.Format();
    const auto& r = cfg->resources.at(0);
    EXPECT_EQ(r.name, "drbd0");
    EXPECT_EQ(r.local().name, node);
    EXPECT_EQ(r.options.Str("protocol"), "C");
    EXPECT_EQ(r.options.Str("pri-on-incon-degr"), "halt -f");
    EXPECT_EQ(r.options.Int("sndbuf-size"), 512 * 1024);
    EXPECT_EQ(r.options.Int("timeout"), 60);
    EXPECT_EQ(r.options.Int("ko-count"), 10);
    EXPECT_EQ(r.options.Int("resync-rate"), 512LL << 20);
    EXPECT_EQ(r.local().device(), (Device{"/dev/nb0", 0}));
    EXPECT_EQ(r.local().meta_disk(), (MetaDisk{MetaDisk::Kind::kIndexed, "/dev/sda3", 0}));
    EXPECT_EQ(r.peer().address().host,
              std::string(node) == "novanta.stat.unipd.it" ? "192.168.90.91" : "192.168.90.90");
    ExpectRoundTrip(*cfg);
  }
}

TEST(DrbdSeeds, Seed004SlideTextIsRejectedAtItsAddressLine) {
  Diagnostics d;
  std::string path = SourcePath("tests/data/seeds/004/drbd.conf");
  auto cfg = LoadFile(path, "linuxclm", &d);
  EXPECT_FALSE(cfg.ok());
  EXPECT_NE(d.Format().find(path + ":20:13: error: 'address :7788' has no IP address (expected "
                                   "IP:port, e.g. 192.168.1.1:7788)"),
            std::string::npos)
      << d.Format();
  EXPECT_NE(d.Format().find(path + ":26:13: error: 'address :7788' has no IP address"),
            std::string::npos);
}

TEST(DrbdSeeds, Seed004WithAddressesFilledInLoads) {
  std::string text = tandem::testing::ReadFileOrEmpty(SourcePath("tests/data/seeds/004/drbd.conf"));
  ASSERT_FALSE(text.empty());
  size_t first = text.find("address :7788");
  text.replace(first, 13, "address 10.0.0.1:7788");
  text.replace(text.find("address :7788"), 13, "address 10.0.0.2:7788");
  MemEnv env;
  Diagnostics d;
  auto cfg = ParseDrbdConfig(&env, text, "004.conf", "linuxcls", &d);
  ASSERT_TRUE(cfg.ok()) << d.Format();
  const auto& o = cfg->resources[0].options;
  EXPECT_EQ(o.Int("wfc-timeout"), 10);
  EXPECT_EQ(o.Int("degr-wfc-timeout"), 120);
  EXPECT_EQ(o.Str("on-io-error"), "detach");
  EXPECT_EQ(o.Int("max-buffers"), 8192);
  EXPECT_EQ(o.Int("resync-rate"), 70000LL * 1024);
  EXPECT_EQ(o.Str("pri-on-incon-degr"), "echo '!DRBD! pri on incon-degr' | wall ; sleep 60 ; halt -f");
  ExpectRoundTrip(*cfg);
}

struct ExampleSetup {
  const char* file;
  const char* node;
};

TEST(DrbdConfigs, EveryExampleSetupLoadsAndRoundTrips) {
  for (const auto& ex : {ExampleSetup{"configs/vserver-cluster/drbd.conf", "vs-a.example.org"},
                         ExampleSetup{"configs/qmail-cluster/drbd.conf", "mx-b"},
                         ExampleSetup{"configs/demo/drbd.conf", "alpha"},
                         ExampleSetup{"configs/demo/drbd.conf", "bravo"}}) {
    Diagnostics d;
    auto cfg = LoadFile(SourcePath(ex.file), ex.node, &d);
    ASSERT_TRUE(cfg.ok()) << ex.file << "\n" << d.Format();
    EXPECT_TRUE(d.all().empty()) << d.Format();
    ExpectRoundTrip(*cfg);
  }
}

TEST(DrbdConfigs, DemoUsesLoopbackAndAuthentication) {
  Diagnostics d;
  auto cfg = LoadFile(SourcePath("configs/demo/drbd.conf"), "alpha", &d);
  ASSERT_TRUE(cfg.ok()) << d.Format();
  const auto& r = *cfg->Find("r0");
  EXPECT_EQ(r.local().address().ToEndpointString(), "127.0.0.2:7789");
  EXPECT_EQ(r.peer().address().ToEndpointString(), "127.0.0.3:7789");
  EXPECT_EQ(r.options.Str("cram-hmac-alg"), "sha256");
  EXPECT_EQ(r.local().options.Addr("nbd-address").ToEndpointString(), "127.0.0.2:10809");
}

TEST(DrbdRoundTrip, KitchenSink) {
  const std::string text = R"(
global { usage-count yes; minor-count 64; disable-ip-verification; }
common {
  net { protocol B; after-sb-0pri discard-zero-changes; data-integrity-alg crc32c; }
  handlers { split-brain "/usr/lib/tandem/notify \"split brain\" root"; }
}
resource web {
  options { cpu-mask 3; }
  net { cram-hmac-alg sha256; shared-secret "a\\b\"c"; sndbuf-size 1000; on-disconnect freeze_io; }
  disk { resync-rate 33M; c-fill-target 1536s; size 10G; io-engine aio; fencing resource-only; }
  startup { wfc-timeout 5; become-primary-on both; }
  on alpha {
    volume 3 { device /dev/web minor 12; disk /srv/web.img; meta-disk /srv/web.md; }
    address ipv6 [::1]:7790; nbd-address 127.0.0.2:10810;
  }
  on bravo {
    volume 3 { device minor 12; disk /srv/web-b.img; meta-disk /dev/md0[4]; }
    address ipv6 [::1]:7791;
  }
}
)";
  MemEnv env;
  Diagnostics d;
  auto cfg = ParseDrbdConfig(&env, text, "/etc/sink.conf", "alpha", &d);
  ASSERT_TRUE(cfg.ok()) << d.Format();
  EXPECT_EQ(cfg->resources[0].options.Str("shared-secret"), "a\\b\"c");
  EXPECT_EQ(cfg->resources[0].hosts[0].volume, 3);
  ExpectRoundTrip(*cfg);
  // Selecting resources writes only those.
  std::string only = WriteDrbdConfig(*cfg, {"nothing"});
  EXPECT_EQ(only.find("resource web"), std::string::npos);
}

}  // namespace
}  // namespace tandem::config
