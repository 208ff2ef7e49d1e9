#pragma once
// Runtime-switchable I/O errors for whole daemons under test: FaultPlanIoEnv
// wraps every device it opens so that, while the plan for that path says so,
// reads and/or writes complete with EIO without touching the disk. tandemd
// uses it only when started with --test-hooks (the control socket's
// `test-io-error` command flips the plan).
// Thread-safety: plans are atomics; devices are used on their loop's thread.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "io/block_device.h"
#include "io/device_factory.h"

namespace tandem::io {

struct FaultPlan {
  std::atomic<bool> fail_reads{false};
  std::atomic<bool> fail_writes{false};  // writes, flushes, zeroes, discards
};

class FaultPlanIoEnv : public IoEnv {
 public:
  explicit FaultPlanIoEnv(IoEnv* target) : target_(target) {}
  Result<std::unique_ptr<BlockDevice>> Open(boost::asio::io_context& loop, const std::string& path,
                                            const OpenOptions& options) override;
  // The plan for a path (created on first use; shared by every device on it).
  std::shared_ptr<FaultPlan> PlanFor(const std::string& path);

 private:
  IoEnv* target_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FaultPlan>> plans_;
};

}  // namespace tandem::io
