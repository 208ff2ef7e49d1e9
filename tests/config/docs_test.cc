// The option reference in docs/drbd-conf.md lists every option in the table.
#include <gtest/gtest.h>

#include "config/drbd_options.h"
#include "testing/test_util.h"

namespace tandem::config {
namespace {

TEST(DrbdDocs, EveryOptionIsDocumented) {
  std::string doc = tandem::testing::ReadFileOrEmpty(tandem::testing::SourcePath("docs/drbd-conf.md"));
  ASSERT_FALSE(doc.empty());
  for (const auto& spec : AllOptions()) {
    EXPECT_NE(doc.find("| `" + std::string(spec.name) + "`"), std::string::npos) << spec.name;
  }
}

}  // namespace
}  // namespace tandem::config
