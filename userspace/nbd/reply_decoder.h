#pragma once
// ReplyDecoder: the client's side of the transmission phase as a plain state
// machine. It matches the server's reply stream (simple replies, or
// structured reply chunks once negotiated) against the requests in flight,
// places READ data straight into each request's buffer, and reports each
// request's completion. No sockets: the connection feeds it whatever bytes
// arrived (Feed), or - while a large data payload is arriving - reads into
// DirectTarget() itself and reports the count (DirectFilled), so read data is
// never copied through an intermediate buffer in that case.
//
// Checks (any failure is a protocol error: the client must hang up, and
// FailAll() then fails whatever is still pending):
// - magics; handles must belong to a request in flight;
// - NBD_REPLY_TYPE_NONE must be empty and final; OFFSET_DATA/OFFSET_HOLE only
//   for READ, inside the request's range; a successful READ must have
//   received exactly its length in content chunks; error chunks must be well
//   formed with message length <= 4096; unknown non-error chunk types are
//   refused; unknown error types count as errors;
// - structured chunks before structured replies were negotiated.
// Command errors (a nonzero error in a reply) are not protocol errors: the
// request completes with the Status nbd/errors.h maps the error to, carrying
// the server's message when it sent one.
// Thread-safety: one instance per connection, used from one thread.

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "nbd/reply.h"
#include "nbd/request.h"

namespace tandem::nbd {

class ReplyDecoder {
 public:
  struct Completion {
    uint64_t handle = 0;
    Status status;
  };

  static constexpr uint32_t kMaxErrorChunk = 6 + 4096 + 8;

  explicit ReplyDecoder(bool structured) : structured_(structured) {}

  // A request was sent; its reply is now acceptable. READ data lands in
  // `read_buf` (request.length bytes, kept alive until its completion).
  void Expect(const Request& request, uint8_t* read_buf);
  size_t pending() const { return pending_.size(); }

  // Consumes `in` entirely, or returns a ProtocolError.
  Status Feed(std::span<const uint8_t> in, std::vector<Completion>* done);
  // Non-empty while data payload bytes are expected next.
  std::span<uint8_t> DirectTarget();
  // `n` bytes were written into DirectTarget().
  Status DirectFilled(size_t n, std::vector<Completion>* done);
  // Completes every pending request with `why`.
  void FailAll(const Status& why, std::vector<Completion>* done);

 private:
  enum class State { kHeader, kPayload, kData };
  struct Pending {
    Request request;
    uint8_t* buf = nullptr;
    uint64_t received = 0;  // content bytes received (READ)
    uint32_t error = 0;     // first error reported
    std::string message;
  };

  Status OnHeader(std::vector<Completion>* done);
  Status OnPayload(std::vector<Completion>* done);
  Status DataComplete(std::vector<Completion>* done);
  // Finishes the current chunk; completes the request if it was the last.
  Status EndChunk(std::vector<Completion>* done);
  void Complete(uint64_t handle, std::vector<Completion>* done);
  Status Violation(std::string what);

  bool structured_;
  std::unordered_map<uint64_t, Pending> pending_;
  State state_ = State::kHeader;
  uint8_t header_[20];
  size_t header_have_ = 0;
  size_t header_need_ = 4;  // magic first, then the full header
  ReplyHeader current_;
  Pending* request_ = nullptr;
  std::vector<uint8_t> payload_;  // small chunk payloads (offset prefix, errors, holes)
  size_t payload_have_ = 0;
  uint8_t* data_ = nullptr;  // where data goes (kData)
  size_t data_left_ = 0;
  bool failed_ = false;
};

}  // namespace tandem::nbd
