#include "nbd/connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/receive_buffer.h"
#include "io/transfer_all.h"
#include "nbd/connection_manager.h"
#include "nbd/errors.h"
#include "nbd/reply.h"
#include "nbd/send_file.h"
#include "nbd/wire.h"

namespace tandem::nbd {

namespace asio = boost::asio;

namespace {
// Replies gathered into one write.
constexpr size_t kMaxRepliesPerWrite = 128;
constexpr auto kTlsShutdownGrace = std::chrono::seconds(2);
}  // namespace

struct Connection::Op {
  std::shared_ptr<Connection> owner;  // set while the backend holds the op
  Request req;
  io::AlignedBuffer buf;
  size_t accounted = 0;   // bytes counted in in_flight_bytes_
  uint32_t data_len = 0;  // bytes of buf sent after the header
  int file_fd = -1;       // zero-copy READ: data_len bytes at req.offset of this file
  uint8_t head[kOffsetDataHeaderSize];
  uint8_t head_len = 0;
  std::vector<uint8_t> error_chunk;  // a structured error reply, header included
};

Connection::Connection(Stream::Socket socket, std::string peer, const ExportRegistry& exports,
                       std::shared_ptr<BufferCache> buffers, ConnectionConfig config,
                       std::weak_ptr<ConnectionManager> manager, uint64_t id)
    : stream_(std::move(socket)),
      peer_(std::move(peer)),
      exports_(exports),
      buffers_(std::move(buffers)),
      config_(std::move(config)),
      manager_(std::move(manager)),
      id_(id),
      timer_(stream_.get_executor()) {
  assert(config_.handshake.tls == TlsMode::kOff || config_.tls);
}

Connection::~Connection() {
  assert(in_flight_ == 0);
  if (backend_ && !finished_) backend_->Close();
}

// ---------------------------------------------------------------- handshake --

void Connection::Start() {
  handshake_ = std::make_unique<ServerHandshake>(exports_, config_.handshake);
  timer_.expires_after(config_.handshake_timeout);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || !self->handshake_ || self->finished_) return;
    Log(LogLevel::kNotice, "nbd: client " + self->peer_ + " did not finish the handshake in time");
    self->HardClose();
  });
  Bytes out;
  handshake_->Start(&out);
  HandshakeSend(std::move(out), ServerHandshake::Step::kContinue);
}

void Connection::HandshakeRead() {
  const size_t n = handshake_->want();
  assert(n > 0);
  handshake_in_.resize(n);
  asio::async_read(stream_, asio::buffer(handshake_in_),
                   [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                     self->OnHandshakeInput(ec);
                   });
}

void Connection::OnHandshakeInput(const boost::system::error_code& ec) {
  if (finished_ || !handshake_) return;
  if (ec) {
    if (ec != asio::error::operation_aborted) {
      Log(LogLevel::kDebug, "nbd: client " + peer_ + " left during the handshake: " + ec.message());
    }
    read_closed_ = true;
    return MaybeFinish();
  }
  Bytes out;
  const ServerHandshake::Step step = handshake_->Feed(handshake_in_, &out);
  HandshakeSend(std::move(out), step);
}

void Connection::HandshakeSend(Bytes out, ServerHandshake::Step step) {
  if (out.empty()) return AfterHandshakeStep(step);
  auto data = std::make_shared<Bytes>(std::move(out));
  asio::async_write(stream_, asio::buffer(*data),
                    [self = shared_from_this(), data, step](const boost::system::error_code& ec,
                                                            size_t) {
                      if (self->finished_) return;
                      if (ec) {
                        self->read_closed_ = true;
                        return self->MaybeFinish();
                      }
                      self->AfterHandshakeStep(step);
                    });
}

void Connection::AfterHandshakeStep(ServerHandshake::Step step) {
  if (finished_) return;
  switch (step) {
    case ServerHandshake::Step::kContinue:
      return HandshakeRead();
    case ServerHandshake::Step::kStartTls:
      return StartTls();
    case ServerHandshake::Step::kTransmission:
      return EnterTransmission();
    case ServerHandshake::Step::kClose:
      Log(LogLevel::kInfo, "nbd: client " + peer_ + ": " + handshake_->close_reason());
      return HardClose();
  }
}

void Connection::StartTls() {
  stream_.EnableTls(config_.tls);
  stream_.tls_stream().async_handshake(
      asio::ssl::stream_base::server,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (self->finished_ || !self->handshake_) return;
        if (ec) {
          Log(LogLevel::kNotice, "nbd: client " + self->peer_ + ": TLS handshake failed: " +
                                     ec.message());
          return self->HardClose();
        }
        self->handshake_->TlsEstablished();
        self->HandshakeRead();
      });
}

void Connection::EnterTransmission() {
  ServerHandshake::Selected sel = handshake_->TakeSelected();
  handshake_.reset();
  handshake_in_ = Bytes();
  timer_.cancel();
  export_name_ = std::move(sel.name);
  backend_ = std::move(sel.backend);
  params_ = sel.params;
  Log(LogLevel::kInfo, "nbd: client " + peer_ + " uses export " + export_name_ +
                           (params_.structured ? " (structured replies" : " (simple replies") +
                           (stream_.tls() ? ", TLS)" : ")"));
  rbuf_.resize(kReceiveBuffer);
  if (!stream_.tls()) {
    boost::system::error_code ec;
    stream_.socket().native_non_blocking(true, ec);
    zero_copy_ = !ec;
  }
  Process();
}

// ------------------------------------------------------- transmission: input --

bool Connection::Saturated() const {
  return in_flight_ >= config_.max_requests_in_flight ||
         in_flight_bytes_ >= config_.max_bytes_in_flight;
}

void Connection::Process() {
  while (!read_closed_ && !reading_) {
    const size_t avail = rend_ - rpos_;
    if (drain_left_ > 0) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(avail, drain_left_));
      rpos_ += take;
      drain_left_ -= take;
      if (drain_left_ > 0) return ReadMore();
      continue;
    }
    if (payload_op_ != nullptr) {
      const size_t need = payload_op_->req.length - payload_have_;
      const size_t take = std::min(avail, need);
      std::memcpy(payload_op_->buf.data() + payload_have_, rbuf_.data() + rpos_, take);
      rpos_ += take;
      payload_have_ += take;
      if (payload_have_ < payload_op_->req.length) return ReadPayloadDirect();
      Op* op = payload_op_;
      payload_op_ = nullptr;
      Submit(op);
      continue;
    }
    if (Saturated()) {
      paused_ = true;
      return;
    }
    if (avail < kRequestSize) return ReadMore();
    Result<Request> req = DecodeRequest({rbuf_.data() + rpos_, kRequestSize});
    rpos_ += kRequestSize;
    if (!req.ok()) {
      Log(LogLevel::kWarning, "nbd: client " + peer_ + " on " + export_name_ + ": " +
                                  req.status().message() + "; disconnecting");
      return HardClose();
    }
    HandleRequest(*req);
  }
}

void Connection::ReadMore() {
  CompactReceiveBuffer(rbuf_, rpos_, rend_);
  reading_ = true;
  stream_.async_read_some(
      asio::buffer(rbuf_.data() + rend_, rbuf_.size() - rend_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        self->reading_ = false;
        if (self->read_closed_) return self->MaybeFinish();
        if (ec) {
          if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
            Log(LogLevel::kDebug, "nbd: client " + self->peer_ + ": read: " + ec.message());
          }
          self->read_closed_ = true;
          return self->MaybeFinish();
        }
        self->rend_ += n;
        self->Process();
      });
}

void Connection::ReadPayloadDirect() {
  assert(rpos_ == rend_);
  rpos_ = rend_ = 0;
  reading_ = true;
  Op* op = payload_op_;
  asio::async_read(stream_,
                   asio::buffer(op->buf.data() + payload_have_, op->req.length - payload_have_),
                   io::ReceiveAll(),
                   [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                     self->reading_ = false;
                     if (ec || self->read_closed_) {
                       self->read_closed_ = true;
                       return self->MaybeFinish();
                     }
                     self->payload_have_ += n;
                     Op* done = self->payload_op_;
                     self->payload_op_ = nullptr;
                     self->Submit(done);
                     self->Process();
                   });
}

Connection::Op* Connection::NewOp(const Request& request) {
  Op* op;
  if (free_ops_.empty()) {
    ops_.push_back(std::make_unique<Op>());
    op = ops_.back().get();
  } else {
    op = free_ops_.back();
    free_ops_.pop_back();
  }
  op->req = request;
  op->accounted = 0;
  op->data_len = 0;
  op->head_len = 0;
  op->file_fd = -1;
  return op;
}

void Connection::Recycle(Op* op) {
  in_flight_bytes_ -= op->accounted;
  op->accounted = 0;
  if (op->buf.capacity() > 0) buffers_->Put(std::move(op->buf));
  op->buf = io::AlignedBuffer();
  op->error_chunk.clear();
  free_ops_.push_back(op);
}

void Connection::HandleRequest(const Request& req) {
  ++requests_;
  if (req.type == kCmdDisc) {
    disconnect_requested_ = true;
    read_closed_ = true;
    return MaybeFinish();
  }
  Op* op = NewOp(req);
  const Verdict verdict = CheckRequest(req, params_);
  if (!verdict.ok()) {
    if (req.type == kCmdWrite) drain_left_ = req.length;
    return QueueReply(op, verdict.error, verdict.message);
  }
  const bool empty = req.length == 0 && req.type != kCmdFlush;
  if (empty) return QueueReply(op, 0, {});
  if (req.type == kCmdWrite) {
    // Counted now, so a stream of large writes pauses reading in time.
    op->buf = buffers_->Get(req.length);
    op->accounted = req.length;
    in_flight_bytes_ += req.length;
    payload_op_ = op;
    payload_have_ = 0;
    return;
  }
  if (req.type == kCmdRead) {
    op->accounted = req.length;  // a zero-copy READ's until its data is sent (Recycle)
    in_flight_bytes_ += req.length;
    const int fd = zero_copy_ ? backend_->ZeroCopyReadFd(req.offset, req.length) : -1;
    if (fd >= 0) {
      op->file_fd = fd;
      return QueueReply(op, 0, {});
    }
    op->buf = buffers_->Get(req.length);
  }
  Submit(op);
}

void Connection::Submit(Op* op) {
  ++in_flight_;
  op->owner = shared_from_this();
  const Request& r = op->req;
  const bool fua = (r.flags & kCmdFlagFua) != 0;
  auto done = [op](Status st) {
    std::shared_ptr<Connection> self = std::move(op->owner);
    self->OnBackendDone(op, std::move(st));
  };
  switch (r.type) {
    case kCmdRead:
      return backend_->Read(r.offset, r.length, op->buf.data(), std::move(done));
    case kCmdWrite:
      return backend_->Write(r.offset, std::move(op->buf), fua,
                             [op](Status st, io::AlignedBuffer buf) {
                               std::shared_ptr<Connection> self = std::move(op->owner);
                               op->buf = std::move(buf);
                               self->OnBackendDone(op, std::move(st));
                             });
    case kCmdFlush:
      return backend_->Flush(std::move(done));
    case kCmdTrim:
      return backend_->Trim(r.offset, r.length, fua, std::move(done));
    case kCmdWriteZeroes:
      return backend_->WriteZeroes(r.offset, r.length, (r.flags & kCmdFlagNoHole) == 0, fua,
                                   std::move(done));
    default:
      assert(false && "CheckRequest let an unknown command through");
  }
}

void Connection::OnBackendDone(Op* op, Status status) {
  --in_flight_;
  in_flight_bytes_ -= op->accounted;
  op->accounted = 0;
  uint32_t error = 0;
  std::string message;
  if (!status.ok()) {
    error = ToNbdError(status);
    message = status.message();
    Log(LogLevel::kWarning, "nbd: export " + export_name_ + ": " + Describe(op->req) + ": " +
                                status.ToString());
  }
  QueueReply(op, error, message);
  ResumeReadingIfRoom();
  MaybeFinish();
}

// ------------------------------------------------------ transmission: output --

void Connection::QueueReply(Op* op, uint32_t error, const std::string& message) {
  if (write_failed_ || !stream_.is_open()) {
    Recycle(op);
    return;
  }
  const Request& r = op->req;
  if (error != 0) {
    op->data_len = 0;
    if (params_.structured) {
      AppendErrorChunk(&op->error_chunk, r.handle, error, message);
    } else {
      EncodeSimpleReply(op->head, error, r.handle);
      op->head_len = kSimpleReplySize;
    }
  } else if (r.type == kCmdRead && params_.structured) {
    if (r.length == 0) {
      EncodeNoneChunk(op->head, r.handle);
      op->head_len = kChunkHeaderSize;
    } else {
      EncodeOffsetDataHeader(op->head, r.handle, r.offset, r.length, /*done=*/true);
      op->head_len = kOffsetDataHeaderSize;
      op->data_len = r.length;
    }
  } else {
    EncodeSimpleReply(op->head, 0, r.handle);
    op->head_len = kSimpleReplySize;
    op->data_len = r.type == kCmdRead ? r.length : 0;
  }
  replies_.push_back(op);
  ScheduleWrite();
}

void Connection::ScheduleWrite() {
  if (writing_ || write_posted_) return;
  // Nothing else in flight: no other reply can join this one, send it now.
  if (in_flight_ == 0) return WriteReplies();
  // Otherwise deferred, so that replies completing in the same burst share one write.
  write_posted_ = true;
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->write_posted_ = false;
    self->WriteReplies();
  });
}

void Connection::WriteReplies() {
  if (writing_ || replies_.empty()) return;
  if (write_failed_ || !stream_.is_open()) {
    while (!replies_.empty()) {
      Recycle(replies_.front());
      replies_.pop_front();
    }
    return MaybeFinish();
  }
  iov_.clear();
  size_t n = 0;
  for (Op* op : replies_) {
    if (n == kMaxRepliesPerWrite) break;
    if (!op->error_chunk.empty()) {
      iov_.emplace_back(op->error_chunk.data(), op->error_chunk.size());
    } else {
      iov_.emplace_back(op->head, op->head_len);
      if (op->file_fd >= 0) {
        ++n;  // its data follows from the file (SendFileData)
        break;
      }
      if (op->data_len > 0) iov_.emplace_back(op->buf.data(), op->data_len);
    }
    ++n;
  }
  writing_count_ = n;
  writing_ = true;
  asio::async_write(stream_, iov_, io::SendAll(),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->OnWritten(ec);
                    });
}

void Connection::OnWritten(const boost::system::error_code& ec) {
  writing_ = false;
  size_t sent = writing_count_;
  writing_count_ = 0;
  // A zero-copy READ ends the batch; its header is out, its data is not.
  const bool file_data_next = !ec && sent > 0 && replies_[sent - 1]->file_fd >= 0;
  if (file_data_next) --sent;
  for (size_t i = 0; i < sent; ++i) {
    Recycle(replies_.front());
    replies_.pop_front();
  }
  if (ec) {
    if (!write_failed_ && ec != asio::error::operation_aborted) {
      Log(LogLevel::kDebug, "nbd: client " + peer_ + ": write: " + ec.message());
    }
    // The client stopped listening (hung up, or reset). Requests it sent in
    // full are still read and carried out, unanswered, until the read side
    // ends too: a client that hangs up loses no complete write.
    return DropReplies();
  }
  if (file_data_next) {
    writing_ = true;
    file_sent_ = 0;
    return SendFileData();
  }
  AfterWrite();
}

void Connection::SendFileData() {
  Op* op = replies_.front();
  const int sock = stream_.socket().native_handle();
  // Each pass either moves bytes or leaves the loop, so it ends within
  // data_len passes (EINTR aside, which needs a signal per pass).
  while (file_sent_ < op->data_len) {
    const ssize_t n =
        SendFile(sock, op->file_fd, op->req.offset + file_sent_, op->data_len - file_sent_);
    if (n > 0) {
      file_sent_ += static_cast<uint32_t>(n);
      continue;
    }
    const int err = n < 0 ? errno : 0;
    if (err == EINTR) continue;
    if (err == EAGAIN) {
      stream_.socket().async_wait(
          Stream::Socket::wait_write,
          [self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) return self->SendFileData();
            self->writing_ = false;
            self->DropReplies();
          });
      return;
    }
    writing_ = false;
    if (err == EPIPE || err == ECONNRESET) return DropReplies();  // the client left
    // The file failed (or ended early) after the header promised the data:
    // the reply cannot be completed, so the stream is of no further use.
    Log(LogLevel::kWarning, "nbd: export " + export_name_ + ": " + Describe(op->req) +
                                ": sending from the page cache failed after " +
                                std::to_string(file_sent_) + " bytes (" +
                                (err != 0 ? std::strerror(err) : "end of file") +
                                "); closing the connection to " + peer_);
    DropReplies();
    return HardClose();
  }
  writing_ = false;
  Recycle(op);
  replies_.pop_front();
  AfterWrite();
}

void Connection::AfterWrite() {
  ResumeReadingIfRoom();
  if (!replies_.empty()) return WriteReplies();
  MaybeFinish();
}

void Connection::ResumeReadingIfRoom() {
  if (paused_ && !Saturated()) {
    paused_ = false;
    Process();
  }
}

void Connection::DropReplies() {
  write_failed_ = true;
  while (!replies_.empty()) {
    Recycle(replies_.front());
    replies_.pop_front();
  }
  MaybeFinish();
}

// --------------------------------------------------------------- shutdown --

void Connection::Stop() {
  if (finished_) return;
  HardClose();
}

void Connection::HardClose() {
  read_closed_ = true;
  write_failed_ = true;  // nothing more is sent
  stream_.Close();
  MaybeFinish();
}

void Connection::MaybeFinish() {
  if (finished_ || !read_closed_ || in_flight_ > 0 || writing_) return;
  if (!replies_.empty() && !write_failed_ && stream_.is_open()) return;  // still to send
  if (payload_op_ != nullptr) {
    // A WRITE whose payload never fully arrived: nothing was written.
    Recycle(payload_op_);
    payload_op_ = nullptr;
  }
  Finish();
}

void Connection::Finish() {
  finished_ = true;
  handshake_.reset();  // Close()s a backend the handshake opened and never handed over
  timer_.cancel();
  if (backend_) {
    Log(LogLevel::kInfo, "nbd: client " + peer_ + " left export " + export_name_ + " after " +
                             std::to_string(requests_) + " requests" +
                             (disconnect_requested_ ? "" : " (without NBD_CMD_DISC)"));
    backend_->Close();
  }
  if (stream_.tls() && stream_.is_open() && !write_failed_) {
    // Orderly TLS close (close_notify), bounded in time.
    auto self = shared_from_this();
    timer_.expires_after(kTlsShutdownGrace);
    timer_.async_wait([self](const boost::system::error_code&) { self->stream_.Close(); });
    stream_.tls_stream().async_shutdown([self](const boost::system::error_code&) {
      self->timer_.cancel();
      self->stream_.Close();
    });
  } else {
    stream_.Close();
  }
  if (auto manager = manager_.lock()) manager->Remove(id_);
}

}  // namespace tandem::nbd
