#include "net/connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace tandem::net {

namespace asio = boost::asio;

namespace {
constexpr size_t kMaxGather = 64;  // packets per write system call
}

PeerConnection::PeerConnection(asio::ip::tcp::socket socket, std::string peer_description)
    : socket_(std::move(socket)),
      peer_(std::move(peer_description)),
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
  ReadHeader();
}

void PeerConnection::Fail(Status why) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  queue_.clear();
  queued_bytes_ = 0;
  auto self = shared_from_this();
  asio::post(socket_.get_executor(), [self, why = std::move(why)] {
    if (self->sink_) self->sink_->OnClosed(why);
  });
}

void PeerConnection::Close(Status why) { Fail(std::move(why)); }

void PeerConnection::ReadHeader() {
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(header_, kHeaderSize),
                   [self](const boost::system::error_code& ec, size_t n) {
                     if (self->closed_) return;
                     if (ec) {
                       return self->Fail(ec == asio::error::eof
                                             ? Status::Aborted("connection closed by peer")
                                             : Status::IoError(ec.message()));
                     }
                     self->bytes_received_ += n;
                     self->last_receive_ = std::chrono::steady_clock::now();
                     auto h = DecodeHeader({self->header_, kHeaderSize});
                     if (!h.ok()) return self->Fail(h.status());
                     if (IsBulk(h->type)) {
                       self->ReadBulk(*h);
                     } else {
                       self->ReadPayload(*h);
                     }
                   });
}

void PeerConnection::ReadPayload(Header h) {
  payload_.resize(h.length);
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(payload_),
                   [self, h](const boost::system::error_code& ec, size_t n) {
                     if (self->closed_) return;
                     if (ec) return self->Fail(Status::IoError(ec.message()));
                     self->bytes_received_ += n;
                     self->last_receive_ = std::chrono::steady_clock::now();
                     auto p = DecodeControl(h.type, self->payload_);
                     if (!p.ok()) return self->Fail(p.status());
                     if (self->sink_) self->sink_->OnControl(h.type, std::move(*p));
                     if (!self->closed_) self->ReadHeader();
                   });
}

void PeerConnection::ReadBulk(Header h) {
  // Read the fixed prefix, then (for DATA) the digest, then the data itself.
  const uint32_t fixed = FixedBulkPrefix(h.type);
  if (h.length < fixed) {
    return Fail(Status::ProtocolError(std::string(PacketTypeName(h.type)) + ": payload shorter "
                                      "than its prefix"));
  }
  payload_.resize(fixed);
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(payload_), [self, h, fixed](
                                                        const boost::system::error_code& ec,
                                                        size_t n) {
    if (self->closed_) return;
    if (ec) return self->Fail(Status::IoError(ec.message()));
    self->bytes_received_ += n;
    uint32_t prefix_len = BulkPrefixLength(h.type, self->payload_);
    if (prefix_len > h.length) {
      return self->Fail(Status::ProtocolError(std::string(PacketTypeName(h.type)) +
                                              ": prefix longer than the payload"));
    }
    auto after_prefix = [self, h, prefix_len]() {
      const uint32_t data_len = h.length - prefix_len;
      std::span<const uint8_t> prefix(self->payload_.data(), prefix_len);
      // Decode before allocating the data buffer: its length is checked there.
      std::function<void(io::AlignedBuffer)> deliver;
      if (h.type == PacketType::kData) {
        auto p = DecodeDataPrefix(prefix, h.length);
        if (!p.ok()) return self->Fail(p.status());
        deliver = [self, p = std::move(*p)](io::AlignedBuffer b) mutable {
          if (self->sink_) self->sink_->OnData(std::move(p), std::move(b));
        };
      } else if (h.type == PacketType::kDataReply) {
        auto p = DecodeDataReplyPrefix(prefix, h.length);
        if (!p.ok()) return self->Fail(p.status());
        deliver = [self, p = *p](io::AlignedBuffer b) {
          if (self->sink_) self->sink_->OnDataReply(p, std::move(b));
        };
      } else {
        auto p = DecodeRsDataPrefix(prefix, h.length);
        if (!p.ok()) return self->Fail(p.status());
        deliver = [self, p = *p](io::AlignedBuffer b) {
          if (self->sink_) self->sink_->OnRsData(p, std::move(b));
        };
      }
      auto buf = std::make_shared<io::AlignedBuffer>(io::AlignedBuffer::Uninitialized(data_len));
      asio::async_read(self->socket_, asio::buffer(buf->data(), data_len),
                       [self, buf, deliver = std::move(deliver)](
                           const boost::system::error_code& e2, size_t n2) {
                         if (self->closed_) return;
                         if (e2) return self->Fail(Status::IoError(e2.message()));
                         self->bytes_received_ += n2;
                         self->last_receive_ = std::chrono::steady_clock::now();
                         deliver(std::move(*buf));
                         if (!self->closed_) self->ReadHeader();
                       });
    };
    if (prefix_len == fixed) return after_prefix();
    self->payload_.resize(prefix_len);
    asio::async_read(self->socket_, asio::buffer(self->payload_.data() + fixed, prefix_len - fixed),
                     [self, after_prefix](const boost::system::error_code& e2, size_t n2) {
                       if (self->closed_) return;
                       if (e2) return self->Fail(Status::IoError(e2.message()));
                       self->bytes_received_ += n2;
                       after_prefix();
                     });
  });
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
  asio::async_write(socket_, bufs, [self](const boost::system::error_code& ec, size_t n) {
    self->write_in_flight_ = false;
    if (self->closed_) return;
    if (ec) return self->Fail(Status::IoError(ec.message()));
    self->bytes_sent_ += n;
    self->queued_bytes_ -= std::min(self->queued_bytes_, n);
    auto done = std::move(self->writing_);
    self->writing_.clear();
    for (auto& o : done)
      if (o.sent) o.sent();
    self->Pump();
  });
}

}  // namespace tandem::net
