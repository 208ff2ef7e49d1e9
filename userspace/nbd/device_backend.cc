#include "nbd/device_backend.h"

#include <algorithm>
#include <cassert>

namespace tandem::nbd {

struct DeviceBackend::WriteOp {
  io::AlignedBuffer buf;
  WriteCompletion done;
};

DeviceBackend::DeviceBackend(std::unique_ptr<io::BlockDevice> device,
                             DeviceBackendOptions options)
    : device_(std::move(device)), options_(std::move(options)) {
  assert(device_);
}

DeviceBackend::~DeviceBackend() { assert(openers_ == 0 && "backend destroyed while clients use it"); }

uint32_t DeviceBackend::logical_block_size() const {
  const io::DeviceInfo& info = device_->info();
  return info.direct ? info.logical_block_size : 512;
}

Status DeviceBackend::Open() {
  if (options_.max_openers > 0 && openers_ >= options_.max_openers) {
    return Status::Busy("export is in use by " + std::to_string(openers_) + " client" +
                        (openers_ == 1 ? "" : "s") + " (limit " +
                        std::to_string(options_.max_openers) + ")");
  }
  ++openers_;
  return Status::Ok();
}

void DeviceBackend::Close() {
  assert(openers_ > 0);
  --openers_;
}

void DeviceBackend::Read(uint64_t offset, uint32_t len, uint8_t* buf, Completion done) {
  device_->Read(offset, buf, len, std::move(done));
}

int DeviceBackend::ZeroCopyReadFd(uint64_t offset, uint32_t len) {
  if (len < kZeroCopyMinimum) return -1;
  const int fd = device_->PageCacheReadFd(offset, len);
  if (fd >= 0) ++zero_copy_reads_;
  return fd;
}

DeviceBackend::WriteOp* DeviceBackend::NewWriteOp() {
  if (free_write_ops_.empty()) {
    write_ops_.push_back(std::make_unique<WriteOp>());
    return write_ops_.back().get();
  }
  WriteOp* op = free_write_ops_.back();
  free_write_ops_.pop_back();
  return op;
}

void DeviceBackend::Write(uint64_t offset, io::AlignedBuffer data, bool fua,
                          WriteCompletion done) {
  WriteOp* op = NewWriteOp();
  op->buf = std::move(data);
  op->done = std::move(done);
  device_->Write(offset, op->buf.data(), op->buf.size(), fua ? io::kWriteFua : io::kWriteNone,
                 [this, op](Status st) {
                   io::AlignedBuffer buf = std::move(op->buf);
                   WriteCompletion cb = std::move(op->done);
                   op->buf = io::AlignedBuffer();
                   op->done = nullptr;
                   free_write_ops_.push_back(op);
                   cb(std::move(st), std::move(buf));
                 });
}

void DeviceBackend::Flush(Completion done) { device_->Flush(std::move(done)); }

void DeviceBackend::FlushIf(bool fua, Status st, Completion done) {
  if (!fua || !st.ok()) return done(std::move(st));
  device_->Flush(std::move(done));
}

void DeviceBackend::Trim(uint64_t offset, uint64_t len, bool fua, Completion done) {
  device_->Discard(offset, len, [this, fua, done = std::move(done)](Status st) mutable {
    if (st.code() == Status::Code::kNotSupported) st = Status::Ok();  // a hint we cannot act on
    FlushIf(fua, std::move(st), std::move(done));
  });
}

void DeviceBackend::WriteZeroes(uint64_t offset, uint64_t len, bool may_trim, bool fua,
                                Completion done) {
  device_->WriteZeroes(offset, len, may_trim,
                       [this, offset, len, fua, done = std::move(done)](Status st) mutable {
                         if (st.code() == Status::Code::kNotSupported) {
                           return WriteZeroBlocks(offset, len, fua, std::move(done));
                         }
                         FlushIf(fua, std::move(st), std::move(done));
                       });
}

void DeviceBackend::WriteZeroBlocks(uint64_t offset, uint64_t len, bool fua, Completion done) {
  if (len == 0) return FlushIf(fua, Status::Ok(), std::move(done));
  if (zeroes_.size() == 0) zeroes_ = io::AlignedBuffer(kZeroChunk);
  const size_t n = static_cast<size_t>(std::min<uint64_t>(len, kZeroChunk));
  device_->Write(offset, zeroes_.data(), n, io::kWriteNone,
                 [this, offset, len, n, fua, done = std::move(done)](Status st) mutable {
                   if (!st.ok()) return done(std::move(st));
                   WriteZeroBlocks(offset + n, len - n, fua, std::move(done));
                 });
}

}  // namespace tandem::nbd
