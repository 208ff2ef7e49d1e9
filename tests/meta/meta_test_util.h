#pragma once
// Helpers for meta-data tests: run MetaData's asynchronous calls to completion.

#include <gtest/gtest.h>

#include "io/sync_io.h"
#include "meta/meta_data.h"

namespace tandem::meta::testing {

inline Status Wait(boost::asio::io_context& loop, const std::function<void(io::IoCallback)>& op) {
  bool done = false;
  Status st = Status::Timeout("did not complete");
  op([&](Status s) {
    st = s;
    done = true;
  });
  io::RunLoopUntil(loop, &done, std::chrono::seconds(30));
  return st;
}

inline Result<std::unique_ptr<MetaData>> OpenSync(boost::asio::io_context& loop,
                                                  io::BlockDevice* md, const MetaLayout& layout) {
  bool done = false;
  Result<std::unique_ptr<MetaData>> out = Status::Timeout("open did not complete");
  MetaData::Open(loop, md, layout, [&](Result<std::unique_ptr<MetaData>> r) {
    out = std::move(r);
    done = true;
  });
  io::RunLoopUntil(loop, &done, std::chrono::seconds(30));
  return out;
}

inline Status CreateSync(boost::asio::io_context& loop, io::BlockDevice* md,
                         const MetaLayout& layout, uint64_t device_uuid = 0xD15C) {
  return Wait(loop, [&](io::IoCallback cb) {
    MetaData::Create(loop, md, layout, device_uuid, std::move(cb));
  });
}

}  // namespace tandem::meta::testing
