#include "io/fault_plan_device.h"

#include <boost/asio/post.hpp>

namespace tandem::io {

namespace {

class FaultPlanDevice final : public BlockDevice {
 public:
  FaultPlanDevice(boost::asio::io_context& loop, std::unique_ptr<BlockDevice> target,
                  std::shared_ptr<FaultPlan> plan)
      : loop_(loop), target_(std::move(target)), plan_(std::move(plan)) {}

  const DeviceInfo& info() const override { return target_->info(); }
  void Read(uint64_t offset, void* buf, size_t len, IoCallback done) override {
    if (plan_->fail_reads) return Fail(std::move(done));
    target_->Read(offset, buf, len, std::move(done));
  }
  void Write(uint64_t offset, const void* buf, size_t len, uint32_t flags,
             IoCallback done) override {
    if (plan_->fail_writes) return Fail(std::move(done));
    target_->Write(offset, buf, len, flags, std::move(done));
  }
  void Flush(IoCallback done) override {
    if (plan_->fail_writes) return Fail(std::move(done));
    target_->Flush(std::move(done));
  }
  void Discard(uint64_t offset, uint64_t len, IoCallback done) override {
    if (plan_->fail_writes) return Fail(std::move(done));
    target_->Discard(offset, len, std::move(done));
  }
  void WriteZeroes(uint64_t offset, uint64_t len, bool may_unmap, IoCallback done) override {
    if (plan_->fail_writes) return Fail(std::move(done));
    target_->WriteZeroes(offset, len, may_unmap, std::move(done));
  }
  size_t in_flight() const override { return target_->in_flight() + failing_; }

 private:
  void Fail(IoCallback done) {
    ++failing_;
    boost::asio::post(loop_, [this, done = std::move(done)] {
      --failing_;
      done(Status::IoError(info().path + ": Input/output error (injected by --test-hooks)"));
    });
  }

  boost::asio::io_context& loop_;
  std::unique_ptr<BlockDevice> target_;
  std::shared_ptr<FaultPlan> plan_;
  size_t failing_ = 0;
};

}  // namespace

std::shared_ptr<FaultPlan> FaultPlanIoEnv::PlanFor(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto& p = plans_[path];
  if (!p) p = std::make_shared<FaultPlan>();
  return p;
}

Result<std::unique_ptr<BlockDevice>> FaultPlanIoEnv::Open(boost::asio::io_context& loop,
                                                          const std::string& path,
                                                          const OpenOptions& options) {
  auto dev = target_->Open(loop, path, options);
  if (!dev.ok()) return dev.status();
  return std::unique_ptr<BlockDevice>(new FaultPlanDevice(loop, std::move(*dev), PlanFor(path)));
}

}  // namespace tandem::io
