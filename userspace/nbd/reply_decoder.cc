#include "nbd/reply_decoder.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "nbd/errors.h"
#include "nbd/options.h"
#include "nbd/wire.h"

namespace tandem::nbd {

void ReplyDecoder::Expect(const Request& request, uint8_t* read_buf) {
  Pending p;
  p.request = request;
  p.buf = read_buf;
  pending_[request.handle] = std::move(p);
}

Status ReplyDecoder::Violation(std::string what) {
  failed_ = true;
  return Status::ProtocolError(std::move(what));
}

Status ReplyDecoder::Feed(std::span<const uint8_t> in, std::vector<Completion>* done) {
  while (!in.empty()) {
    if (failed_) return Status::ProtocolError("reply stream already broken");
    size_t take = 0;
    switch (state_) {
      case State::kHeader: {
        take = std::min(in.size(), header_need_ - header_have_);
        std::memcpy(header_ + header_have_, in.data(), take);
        header_have_ += take;
        in = in.subspan(take);
        if (header_have_ < header_need_) break;
        if (header_need_ == 4) {
          Result<size_t> size = ReplyHeaderSize({header_, 4});
          if (!size.ok()) return Violation(size.status().message());
          header_need_ = *size;
          break;
        }
        Status st = OnHeader(done);
        if (!st.ok()) return st;
        break;
      }
      case State::kPayload: {
        take = std::min(in.size(), payload_.size() - payload_have_);
        std::memcpy(payload_.data() + payload_have_, in.data(), take);
        payload_have_ += take;
        in = in.subspan(take);
        if (payload_have_ == payload_.size()) {
          Status st = OnPayload(done);
          if (!st.ok()) return st;
        }
        break;
      }
      case State::kData: {
        take = std::min(in.size(), data_left_);
        std::memcpy(data_, in.data(), take);
        in = in.subspan(take);
        Status st = DirectFilled(take, done);
        if (!st.ok()) return st;
        break;
      }
    }
  }
  return Status::Ok();
}

std::span<uint8_t> ReplyDecoder::DirectTarget() {
  if (state_ != State::kData || failed_) return {};
  return {data_, data_left_};
}

Status ReplyDecoder::DirectFilled(size_t n, std::vector<Completion>* done) {
  assert(state_ == State::kData && n <= data_left_);
  data_ += n;
  data_left_ -= n;
  if (data_left_ > 0) return Status::Ok();
  return DataComplete(done);
}

Status ReplyDecoder::OnHeader(std::vector<Completion>* done) {
  Result<ReplyHeader> h = DecodeReplyHeader({header_, header_need_});
  header_have_ = 0;
  header_need_ = 4;
  if (!h.ok()) return Violation(h.status().message());
  current_ = *h;
  auto it = pending_.find(current_.handle);
  if (it == pending_.end()) {
    return Violation("reply for handle " + std::to_string(current_.handle) +
                     ", which is not in flight");
  }
  request_ = &it->second;
  const Request& req = request_->request;
  if (!current_.structured) {
    if (req.type == kCmdRead && current_.error == 0 && req.length > 0) {
      data_ = request_->buf;
      data_left_ = req.length;
      state_ = State::kData;
      return Status::Ok();
    }
    request_->error = current_.error;
    Complete(current_.handle, done);
    return Status::Ok();
  }
  if (!structured_) return Violation("structured reply chunk, but none were negotiated");
  const uint16_t type = current_.type;
  size_t payload = 0;
  if (type == kReplyTypeNone) {
    if (current_.length != 0) return Violation("NBD_REPLY_TYPE_NONE with a payload");
    if (!current_.done()) return Violation("NBD_REPLY_TYPE_NONE without NBD_REPLY_FLAG_DONE");
    return EndChunk(done);
  } else if (type == kReplyTypeOffsetData || type == kReplyTypeOffsetHole) {
    if (req.type != kCmdRead) {
      return Violation("content chunk in the reply to " + CommandName(req.type));
    }
    if (type == kReplyTypeOffsetData && current_.length < 9) {
      return Violation("NBD_REPLY_TYPE_OFFSET_DATA of " + std::to_string(current_.length) +
                       " bytes (at least 9)");
    }
    if (type == kReplyTypeOffsetHole && current_.length != 12) {
      return Violation("NBD_REPLY_TYPE_OFFSET_HOLE of " + std::to_string(current_.length) +
                       " bytes (exactly 12)");
    }
    payload = type == kReplyTypeOffsetData ? 8 : 12;
  } else if ((type & kReplyTypeErrorBit) != 0) {
    if (current_.length < 6 || current_.length > kMaxErrorChunk) {
      return Violation("error chunk of " + std::to_string(current_.length) + " bytes");
    }
    payload = current_.length;
  } else {
    return Violation("unknown structured reply type " + std::to_string(type));
  }
  payload_.resize(payload);
  payload_have_ = 0;
  state_ = State::kPayload;
  return Status::Ok();
}

Status ReplyDecoder::OnPayload(std::vector<Completion>* done) {
  const Request& req = request_->request;
  const uint16_t type = current_.type;
  if (type == kReplyTypeOffsetData) {
    const uint64_t off = GetBe64(payload_.data());
    const uint64_t n = current_.length - 8;
    if (off < req.offset || off - req.offset > req.length || n > req.length - (off - req.offset)) {
      return Violation("data chunk " + std::to_string(off) + "+" + std::to_string(n) +
                       " outside the request " + std::to_string(req.offset) + "+" +
                       std::to_string(req.length));
    }
    request_->received += n;
    data_ = request_->buf + (off - req.offset);
    data_left_ = static_cast<size_t>(n);
    state_ = State::kData;
    return Status::Ok();
  }
  if (type == kReplyTypeOffsetHole) {
    Result<OffsetHole> hole = DecodeOffsetHole(payload_);
    if (!hole.ok()) return Violation(hole.status().message());
    if (hole->offset < req.offset || hole->offset - req.offset > req.length ||
        hole->length > req.length - (hole->offset - req.offset)) {
      return Violation("hole chunk outside the request");
    }
    std::memset(request_->buf + (hole->offset - req.offset), 0, hole->length);
    request_->received += hole->length;
    return EndChunk(done);
  }
  Result<ChunkError> e = DecodeErrorChunk(type, payload_);
  if (!e.ok()) return Violation(e.status().message());
  if (e->offset && (*e->offset < req.offset || *e->offset - req.offset >= req.length)) {
    return Violation("error offset " + std::to_string(*e->offset) + " outside the request");
  }
  if (request_->error == 0) {
    request_->error = e->error;
    request_->message = std::move(e->message);
  }
  return EndChunk(done);
}

Status ReplyDecoder::DataComplete(std::vector<Completion>* done) {
  if (!current_.structured) {
    request_->received = request_->request.length;
    state_ = State::kHeader;
    Complete(current_.handle, done);
    return Status::Ok();
  }
  return EndChunk(done);
}

Status ReplyDecoder::EndChunk(std::vector<Completion>* done) {
  state_ = State::kHeader;
  if (!current_.done()) return Status::Ok();
  const Request& req = request_->request;
  if (request_->error == 0 && req.type == kCmdRead && request_->received != req.length) {
    return Violation("successful read reply covered " + std::to_string(request_->received) +
                     " of " + std::to_string(req.length) + " bytes");
  }
  Complete(current_.handle, done);
  return Status::Ok();
}

void ReplyDecoder::Complete(uint64_t handle, std::vector<Completion>* done) {
  auto it = pending_.find(handle);
  assert(it != pending_.end());
  Pending& p = it->second;
  Status st = p.error == 0 ? Status::Ok()
                           : FromNbdError(p.error, Describe(p.request), Printable(p.message, 4096));
  done->push_back({handle, std::move(st)});
  pending_.erase(it);
  request_ = nullptr;
}

void ReplyDecoder::FailAll(const Status& why, std::vector<Completion>* done) {
  for (auto& [handle, p] : pending_) done->push_back({handle, why});
  pending_.clear();
  request_ = nullptr;
  failed_ = true;
}

}  // namespace tandem::nbd
