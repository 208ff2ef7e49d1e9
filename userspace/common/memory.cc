#include "common/memory.h"

#include <malloc.h>

namespace tandem {

void RetainFreedIoBuffers() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
}

}  // namespace tandem
