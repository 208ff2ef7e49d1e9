#include "nbd/export_params.h"

#include <algorithm>
#include <cassert>

#include "nbd/wire.h"

namespace tandem::nbd {

ExportParams MakeExportParams(const Backend& backend, bool structured) {
  ExportParams p;
  p.size = backend.size();
  const uint32_t lbs = backend.logical_block_size();
  assert(lbs != 0 && (lbs & (lbs - 1)) == 0 && lbs <= kMaxMinimumBlockSize);
  p.min_block = std::clamp(lbs, kMinBlockSizeFloor, kMaxMinimumBlockSize);
  p.preferred_block = std::max(kPreferredBlockSize, p.min_block);
  p.max_block = kMaxBlockSize;
  p.structured = structured;
  p.flags = kFlagHasFlags | kFlagSendFlush | kFlagSendFua;
  if (backend.read_only()) {
    p.flags |= kFlagReadOnly;
  } else {
    p.flags |= kFlagSendTrim | kFlagSendWriteZeroes;
  }
  if (backend.can_multi_conn()) p.flags |= kFlagCanMultiConn;
  if (structured) p.flags |= kFlagSendDf;
  return p;
}

}  // namespace tandem::nbd
