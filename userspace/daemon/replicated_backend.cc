#include "daemon/replicated_backend.h"

#include <boost/asio/post.hpp>
#include <memory>

#include "net/wire.h"

namespace tandem::daemon {

namespace asio = boost::asio;
using replication::Role;

ReplicatedBackend::ReplicatedBackend(asio::io_context& loop, replication::Resource* resource,
                                     std::string node)
    : loop_(loop), resource_(resource), node_(std::move(node)) {}

uint64_t ReplicatedBackend::size() const { return resource_ ? resource_->size() : 0; }

uint32_t ReplicatedBackend::logical_block_size() const {
  return resource_ ? resource_->logical_block_size() : 512;
}

std::string ReplicatedBackend::description() const {
  if (!resource_) return "";
  return "Tandem resource " + resource_->name() + " on " + node_;
}

Status ReplicatedBackend::Open() {
  if (!resource_) return Status::Aborted("the resource is being removed");
  const auto& s = resource_->state();
  if (s.role != Role::kPrimary) {
    return Status::PermissionDenied(resource_->name() + " is " + replication::RoleName(s.role) +
                                    " on node " + node_ + ": only the Primary serves " +
                                    resource_->name());
  }
  if (resource_->size() == 0) {
    return Status::Busy(resource_->name() + " has no data to serve (no disk, no peer)");
  }
  ++openers_;
  resource_->Open();
  return Status::Ok();
}

void ReplicatedBackend::Close() {
  if (openers_ == 0) return;
  --openers_;
  if (resource_) resource_->Close();
}

void ReplicatedBackend::Orphan() {
  if (resource_) {
    for (size_t i = 0; i < openers_; ++i) resource_->Close();
  }
  resource_ = nullptr;
}

void ReplicatedBackend::Fail(Completion done, Status st) {
  asio::post(loop_, [done = std::move(done), st = std::move(st)] { done(st); });
}

void ReplicatedBackend::Read(uint64_t offset, uint32_t len, uint8_t* buf, Completion done) {
  if (!resource_) return Fail(std::move(done), Status::Aborted("export removed"));
  resource_->Read(offset, buf, len, std::move(done));
}

void ReplicatedBackend::Write(uint64_t offset, io::AlignedBuffer data, bool fua,
                              WriteCompletion done) {
  if (!resource_) {
    return asio::post(loop_, [done = std::move(done)] {
      done(Status::Aborted("export removed"), io::AlignedBuffer());
    });
  }
  // The resource keeps the buffer (it may still be queued for the peer after
  // the local write); the server gets an empty one back and allocates anew.
  resource_->Write(offset, std::move(data), fua ? uint32_t{net::kDataFua} : 0u,
                   [done = std::move(done)](Status st) { done(st, io::AlignedBuffer()); });
}

void ReplicatedBackend::Flush(Completion done) {
  if (!resource_) return Fail(std::move(done), Status::Aborted("export removed"));
  resource_->Flush(std::move(done));
}

void ReplicatedBackend::Trim(uint64_t offset, uint64_t len, bool fua, Completion done) {
  Zeroes(offset, len, /*may_unmap=*/true, fua, std::move(done));
}

void ReplicatedBackend::WriteZeroes(uint64_t offset, uint64_t len, bool may_trim, bool fua,
                                    Completion done) {
  Zeroes(offset, len, may_trim, fua, std::move(done));
}

void ReplicatedBackend::Zeroes(uint64_t offset, uint64_t len, bool may_unmap, bool fua,
                               Completion done) {
  if (!resource_) return Fail(std::move(done), Status::Aborted("export removed"));
  if (len <= net::kMaxZeroesLength) {
    return resource_->WriteZeroes(offset, len, may_unmap, fua, std::move(done));
  }
  struct Join {
    size_t left = 0;
    Status first_error;
    Completion done;
  };
  auto join = std::make_shared<Join>();
  join->left = (len + net::kMaxZeroesLength - 1) / net::kMaxZeroesLength;
  join->done = std::move(done);
  for (uint64_t at = offset; at < offset + len; at += net::kMaxZeroesLength) {
    const uint64_t piece = std::min<uint64_t>(net::kMaxZeroesLength, offset + len - at);
    resource_->WriteZeroes(at, piece, may_unmap, fua, [join](Status st) {
      if (!st.ok() && join->first_error.ok()) join->first_error = st;
      if (--join->left == 0) join->done(join->first_error);
    });
  }
}

}  // namespace tandem::daemon
