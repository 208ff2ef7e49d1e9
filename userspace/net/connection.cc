#include "net/connection.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "common/receive_buffer.h"
#include "io/transfer_all.h"

namespace tandem::net {

namespace asio = boost::asio;

namespace {
constexpr size_t kMaxGather = 64;  // packets per write system call
// Holds the largest control packet and any bulk prefix with room to spare,
// and many small packets per read.
constexpr size_t kReceiveBuffer = 256 << 10;
static_assert(kReceiveBuffer > 2 * (kHeaderSize + kMaxControlPayload));
}  // namespace

PeerConnection::PeerConnection(asio::ip::tcp::socket socket, std::string peer_description)
    : socket_(std::move(socket)),
      peer_(std::move(peer_description)),
      grace_timer_(socket_.get_executor()),
      last_receive_(std::chrono::steady_clock::now()) {
  boost::system::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

PeerConnection::~PeerConnection() {
  boost::system::error_code ec;
  socket_.close(ec);
}

void PeerConnection::Start(PacketSink* sink) {
  sink_ = sink;
  if (started_) return;
  started_ = true;
  rbuf_.resize(kReceiveBuffer);
  ReadMore();
}

void PeerConnection::Fail(Status why) {
  if (closed_) return;
  closed_ = true;
  grace_timer_.cancel();
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  queue_.clear();
  queued_bytes_ = 0;
  // The packets being written keep their bytes until the write's handler
  // runs, but their callbacks go now: they may own the sink (a handshake
  // session owns this connection), and they must not run after a failure.
  for (auto& o : writing_) o.sent = nullptr;
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self, why = std::move(why)] {
    if (self->sink_) self->sink_->OnClosed(why);
  });
}

void PeerConnection::Close(Status why) { Fail(std::move(why)); }

void PeerConnection::CloseAfterSending(Status why, std::chrono::milliseconds grace) {
  if (closed_ || closing_) return;
  if (!write_in_flight_ && queue_.empty()) return Fail(std::move(why));
  closing_ = true;
  closing_reason_ = std::move(why);
  auto self = shared_from_this();
  grace_timer_.expires_after(grace);
  grace_timer_.async_wait([self](const boost::system::error_code& ec) {
    if (!ec) self->Fail(self->closing_reason_);
  });
}

void PeerConnection::NoteReceived(size_t n) {
  bytes_received_ += n;
  last_receive_ = std::chrono::steady_clock::now();
}

void PeerConnection::ReadMore() {
  // Whole packets are consumed before reading on: move the partial one (at
  // most a header, a control payload or a bulk prefix) to the front.
  CompactReceiveBuffer(rbuf_, rpos_, rend_);
  assert(rend_ < rbuf_.size());
  auto self = shared_from_this();
  socket_.async_read_some(
      asio::buffer(rbuf_.data() + rend_, rbuf_.size() - rend_),
      [self](const boost::system::error_code& ec, size_t n) {
        if (self->closed_) return;
        if (ec) {
          return self->Fail(ec == asio::error::eof ? Status::Aborted("connection closed by peer")
                                                   : Status::IoError(ec.message()));
        }
        self->NoteReceived(n);
        self->rend_ += n;
        self->Parse();
      });
}

void PeerConnection::Parse() {
  while (!closed_) {
    const uint8_t* at = rbuf_.data() + rpos_;
    const size_t avail = rend_ - rpos_;
    if (avail < kHeaderSize) return ReadMore();
    auto h = DecodeHeader({at, kHeaderSize});
    if (!h.ok()) return Fail(h.status());
    if (!IsBulk(h->type)) {
      if (avail < kHeaderSize + h->length) return ReadMore();
      auto p = DecodeControl(h->type, {at + kHeaderSize, h->length});
      if (!p.ok()) return Fail(p.status());
      rpos_ += kHeaderSize + h->length;
      if (sink_) sink_->OnControl(h->type, std::move(*p));
      continue;
    }
    // Bulk: the fixed prefix says how long the whole prefix is (DATA may carry
    // a digest); the prefix is decoded, and checked, before the data buffer
    // is allocated.
    const uint32_t fixed = FixedBulkPrefix(h->type);
    if (h->length < fixed) {
      return Fail(Status::ProtocolError(std::string(PacketTypeName(h->type)) +
                                        ": payload shorter than its prefix"));
    }
    if (avail < kHeaderSize + fixed) return ReadMore();
    const uint32_t prefix_len = BulkPrefixLength(h->type, {at + kHeaderSize, fixed});
    if (prefix_len > h->length) {
      return Fail(Status::ProtocolError(std::string(PacketTypeName(h->type)) +
                                        ": prefix longer than the payload"));
    }
    if (avail < kHeaderSize + prefix_len) return ReadMore();
    std::span<const uint8_t> prefix_bytes(at + kHeaderSize, prefix_len);
    BulkPrefix prefix;
    if (h->type == PacketType::kData) {
      auto p = DecodeDataPrefix(prefix_bytes, h->length);
      if (!p.ok()) return Fail(p.status());
      prefix = std::move(*p);
    } else if (h->type == PacketType::kDataReply) {
      auto p = DecodeDataReplyPrefix(prefix_bytes, h->length);
      if (!p.ok()) return Fail(p.status());
      prefix = std::move(*p);
    } else {
      auto p = DecodeRsDataPrefix(prefix_bytes, h->length);
      if (!p.ok()) return Fail(p.status());
      prefix = std::move(*p);
    }
    rpos_ += kHeaderSize + prefix_len;
    const size_t data_len = h->length - prefix_len;
    auto data = io::AlignedBuffer::Uninitialized(data_len);
    const size_t have = std::min(rend_ - rpos_, data_len);
    if (have > 0) std::memcpy(data.data(), rbuf_.data() + rpos_, have);
    rpos_ += have;
    if (have < data_len) return ReadBulkRest(std::move(prefix), std::move(data), have);
    DeliverBulk(std::move(prefix), std::move(data));
  }
}

void PeerConnection::ReadBulkRest(BulkPrefix prefix, io::AlignedBuffer data, size_t have) {
  assert(rpos_ == rend_);
  auto self = shared_from_this();
  auto held = std::make_shared<std::pair<BulkPrefix, io::AlignedBuffer>>(std::move(prefix),
                                                                        std::move(data));
  asio::async_read(socket_, asio::buffer(held->second.data() + have, held->second.size() - have),
                   io::ReceiveAll(), [self, held](const boost::system::error_code& ec, size_t n) {
                     if (self->closed_) return;
                     if (ec) {
                       return self->Fail(ec == asio::error::eof
                                             ? Status::Aborted("connection closed by peer")
                                             : Status::IoError(ec.message()));
                     }
                     self->NoteReceived(n);
                     self->DeliverBulk(std::move(held->first), std::move(held->second));
                     self->Parse();
                   });
}

void PeerConnection::DeliverBulk(BulkPrefix prefix, io::AlignedBuffer data) {
  if (!sink_) return;
  if (auto* d = std::get_if<DataPrefix>(&prefix)) {
    sink_->OnData(std::move(*d), std::move(data));
  } else if (auto* r = std::get_if<DataReplyPrefix>(&prefix)) {
    sink_->OnDataReply(*r, std::move(data));
  } else {
    sink_->OnRsData(std::get<RsDataPrefix>(prefix), std::move(data));
  }
}

void PeerConnection::SendControl(PacketType type, const ControlPacket& packet, SentCallback sent) {
  if (closed_) return;
  Outgoing o;
  o.head = EncodeControl(type, packet);
  o.sent = std::move(sent);
  queued_bytes_ += o.head.size();
  queue_.push_back(std::move(o));
  Pump();
}

void PeerConnection::SendBulk(std::vector<uint8_t> prefix, const void* data, size_t len,
                              SentCallback sent) {
  if (closed_) return;
  Outgoing o;
  o.head = std::move(prefix);
  o.data = data;
  o.len = len;
  o.sent = std::move(sent);
  queued_bytes_ += o.head.size() + len;
  queue_.push_back(std::move(o));
  Pump();
}

void PeerConnection::Pump() {
  if (write_in_flight_ || queue_.empty() || closed_) return;
  write_in_flight_ = true;
  writing_.clear();
  std::vector<asio::const_buffer> bufs;
  while (!queue_.empty() && writing_.size() < kMaxGather) {
    writing_.push_back(std::move(queue_.front()));
    queue_.pop_front();
    const Outgoing& o = writing_.back();
    bufs.emplace_back(o.head.data(), o.head.size());
    if (o.len) bufs.emplace_back(o.data, o.len);
  }
  auto self = shared_from_this();
  asio::async_write(socket_, bufs, io::SendAll(),
                    [self](const boost::system::error_code& ec, size_t n) {
                      self->write_in_flight_ = false;
                      if (self->closed_) {
                        self->writing_.clear();
                        return;
                      }
                      if (ec) return self->Fail(Status::IoError(ec.message()));
                      self->bytes_sent_ += n;
                      self->queued_bytes_ -= std::min(self->queued_bytes_, n);
                      auto done = std::move(self->writing_);
                      self->writing_.clear();
                      for (auto& o : done)
                        if (o.sent) o.sent();
                      if (self->closing_ && self->queue_.empty() && !self->closed_) {
                        return self->Fail(self->closing_reason_);
                      }
                      self->Pump();
                    });
}

}  // namespace tandem::net
