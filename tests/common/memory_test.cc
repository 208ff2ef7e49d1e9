#include "common/memory.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>

namespace tandem {
namespace {

long MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

// Allocates a 1 MiB I/O buffer, touches every page, frees it.
void UseOneMegabyteBuffer() {
  constexpr size_t kSize = size_t{1} << 20;
  void* p = nullptr;
  ASSERT_EQ(posix_memalign(&p, 4096, kSize), 0);
  volatile char* bytes = static_cast<char*>(p);
  for (size_t i = 0; i < kSize; i += 4096) bytes[i] = 1;
  std::free(p);
}

TEST(RetainFreedIoBuffers, AFreedMegabyteIsReusedWithoutFaultingItInAgain) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer replaces malloc (and quarantines freed memory)";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  GTEST_SKIP() << "AddressSanitizer replaces malloc (and quarantines freed memory)";
#endif
#endif
  RetainFreedIoBuffers();
  // The heap grows for the first few (an aligned block needs a little more
  // than the one freed before it) until freed blocks merge into room for more.
  for (int i = 0; i < 16; ++i) UseOneMegabyteBuffer();
  const long before = MinorFaults();
  for (int i = 0; i < 32; ++i) UseOneMegabyteBuffer();
  // Unmapped on every free, each round would fault in all 256 pages again.
  EXPECT_LT(MinorFaults() - before, 256);
}

}  // namespace
}  // namespace tandem
