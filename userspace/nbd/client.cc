#include "nbd/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cassert>

#include "io/transfer_all.h"
#include "nbd/errors.h"
#include "nbd/tls.h"
#include "nbd/wire.h"

namespace tandem::nbd {

namespace asio = boost::asio;
using generic = asio::generic::stream_protocol;

namespace {
constexpr size_t kReceiveBuffer = 64 * 1024;
// Data payloads at least this large are received straight into the caller's buffer.
constexpr size_t kDirectReadMin = 16 * 1024;
constexpr size_t kMaxRequestsPerWrite = 128;
}  // namespace

std::string ClientEndpoint::ToString() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  return "tcp:" + host + ":" + std::to_string(port);
}

// Connects, runs the handshake, and hands over a ready Client (or the list of
// exports). Owns itself through the handlers that capture it.
class Client::Connector : public std::enable_shared_from_this<Connector> {
 public:
  Connector(asio::io_context& loop, ClientEndpoint endpoint, ClientOptions options, bool list)
      : endpoint_(std::move(endpoint)),
        options_(std::move(options)),
        handshake_({options_.export_name, options_.structured_replies, options_.tls, list}),
        socket_(loop),
        resolver_(loop),
        timer_(loop) {}

  std::function<void(Status, std::unique_ptr<Stream>, const ClientHandshake&)> finish;

  void Start() {
    if (options_.tls) {
      auto ctx = MakeClientTlsContext(options_.tls_ca_file, options_.tls_server_name);
      if (!ctx.ok()) return Done(ctx.status());
      tls_ = std::move(*ctx);
    }
    timer_.expires_after(options_.connect_timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->done_) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->resolver_.cancel();
      if (self->stream_) {
        self->stream_->Close();
      } else {
        self->socket_.close(ignored);
      }
    });
    if (!endpoint_.unix_path.empty()) {
      const generic::endpoint ep{asio::local::stream_protocol::endpoint(endpoint_.unix_path)};
      socket_.async_connect(ep, [self = shared_from_this()](const boost::system::error_code& ec) {
        self->OnConnected(ec);
      });
      return;
    }
    resolver_.async_resolve(
        endpoint_.host, std::to_string(endpoint_.port), asio::ip::tcp::resolver::numeric_service,
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    asio::ip::tcp::resolver::results_type results) {
          if (ec) return self->Done(self->Error("resolve", ec));
          std::vector<asio::ip::tcp::endpoint> endpoints;
          for (const auto& entry : results) endpoints.push_back(entry.endpoint());
          self->ConnectTcp(std::move(endpoints), 0);
        });
  }

 private:
  // Tries the resolved addresses in turn, from the `index`-th.
  void ConnectTcp(std::vector<asio::ip::tcp::endpoint> endpoints, size_t index) {
    if (index >= endpoints.size()) {
      return Done(Status::IoError(Where() + ": no address to connect to"));
    }
    boost::system::error_code ignored;
    if (socket_.is_open()) socket_.close(ignored);
    const generic::endpoint ep{endpoints[index]};
    socket_.async_connect(ep, [self = shared_from_this(), endpoints = std::move(endpoints),
                               index](const boost::system::error_code& ec) mutable {
      if (ec && ec != asio::error::operation_aborted && index + 1 < endpoints.size()) {
        return self->ConnectTcp(std::move(endpoints), index + 1);
      }
      if (!ec) {
        boost::system::error_code ignored2;
        self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored2);
      }
      self->OnConnected(ec);
    });
  }

  void OnConnected(const boost::system::error_code& ec) {
    if (ec) return Done(Error("connect", ec));
    stream_ = std::make_unique<Stream>(std::move(socket_));
    ReadNext();
  }

  void ReadNext() {
    const size_t n = handshake_.want();
    in_.resize(n);
    asio::async_read(*stream_, asio::buffer(in_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (ec) return self->Done(self->Error("handshake", ec));
                       Bytes out;
                       const ClientHandshake::Step step = self->handshake_.Feed(self->in_, &out);
                       self->Send(std::move(out), step);
                     });
  }

  void Send(Bytes out, ClientHandshake::Step step) {
    if (out.empty()) return After(step);
    auto data = std::make_shared<Bytes>(std::move(out));
    asio::async_write(*stream_, asio::buffer(*data),
                      [self = shared_from_this(), data, step](const boost::system::error_code& ec,
                                                              size_t) {
                        // After NBD_OPT_ABORT the server may hang up first; the list is complete.
                        if (ec && step != ClientHandshake::Step::kDone) {
                          return self->Done(self->Error("handshake", ec));
                        }
                        self->After(step);
                      });
  }

  void After(ClientHandshake::Step step) {
    switch (step) {
      case ClientHandshake::Step::kContinue:
        return ReadNext();
      case ClientHandshake::Step::kStartTls:
        stream_->EnableTls(tls_);
        if (!options_.tls_server_name.empty()) {
          SSL_set_tlsext_host_name(stream_->tls_stream().native_handle(),
                                   options_.tls_server_name.c_str());
        }
        stream_->tls_stream().async_handshake(
            asio::ssl::stream_base::client,
            [self = shared_from_this()](const boost::system::error_code& ec) {
              if (ec) return self->Done(self->Error("TLS handshake", ec));
              Bytes out;
              self->handshake_.TlsEstablished(&out);
              self->Send(std::move(out), ClientHandshake::Step::kContinue);
            });
        return;
      case ClientHandshake::Step::kDone:
        return Done(Status::Ok());
      case ClientHandshake::Step::kFailed:
        return Done(handshake_.error());
    }
  }

  std::string Where() const { return "NBD server " + endpoint_.ToString(); }

  Status Error(const std::string& what, const boost::system::error_code& ec) const {
    if (timed_out_) {
      return Status::Timeout(Where() + ": " + what + ": no answer within " +
                             std::to_string(options_.connect_timeout.count()) + " ms");
    }
    if (ec == asio::error::eof) {
      return Status::IoError(Where() + ": " + what + ": the server closed the connection");
    }
    return Status::IoError(Where() + ": " + what + ": " + ec.message());
  }

  void Done(Status st) {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    finish(std::move(st), std::move(stream_), handshake_);
  }

  ClientEndpoint endpoint_;
  ClientOptions options_;
  ClientHandshake handshake_;
  generic::socket socket_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::unique_ptr<Stream> stream_;
  Bytes in_;
  bool done_ = false;
  bool timed_out_ = false;
};

Client::Client(asio::io_context& loop) : loop_(loop) {}

Client::~Client() {
  if (stream_) stream_->Close();
}

void Client::Connect(asio::io_context& loop, const ClientEndpoint& endpoint,
                     ClientOptions options, ConnectCallback done) {
  auto c = std::make_shared<Connector>(loop, endpoint, std::move(options), false);
  c->finish = [&loop, done = std::move(done)](Status st, std::unique_ptr<Stream> stream,
                                              const ClientHandshake& hs) {
    if (!st.ok()) return done(std::move(st));
    std::shared_ptr<Client> client(new Client(loop));
    client->stream_ = std::move(stream);
    client->info_ = hs.info();
    client->decoder_ = std::make_unique<ReplyDecoder>(client->info_.structured);
    client->rbuf_.resize(kReceiveBuffer);
    client->StartRead();
    done(std::move(client));
  };
  c->Start();
}

void Client::ListExports(asio::io_context& loop, const ClientEndpoint& endpoint,
                         ClientOptions options, ListCallback done) {
  auto c = std::make_shared<Connector>(loop, endpoint, std::move(options), true);
  c->finish = [done = std::move(done)](Status st, std::unique_ptr<Stream> stream,
                                       const ClientHandshake& hs) {
    if (stream) stream->Close();
    if (!st.ok()) return done(std::move(st));
    done(hs.exports());
  };
  c->Start();
}

Status Client::Check(const Request& r) const {
  const auto refuse = [&](const std::string& why) {
    return Status::InvalidArgument(Describe(r) + ": " + why);
  };
  const uint16_t f = info_.flags;
  if ((r.flags & kCmdFlagFua) && !(f & kFlagSendFua)) return refuse("the server does not offer FUA");
  switch (r.type) {
    case kCmdFlush:
      if (!(f & kFlagSendFlush)) return refuse("the server does not offer flush");
      return Status::Ok();
    case kCmdTrim:
      if (!(f & kFlagSendTrim)) return refuse("the server does not offer trim");
      break;
    case kCmdWriteZeroes:
      if (!(f & kFlagSendWriteZeroes)) return refuse("the server does not offer write-zeroes");
      break;
    default:
      break;
  }
  if (r.type != kCmdRead && (f & kFlagReadOnly)) return refuse("the export is read-only");
  const BlockSizes& b = info_.block_sizes;
  if (r.type != kCmdTrim && r.length > b.maximum) {
    return refuse("longer than the server's maximum block size " + std::to_string(b.maximum));
  }
  if (r.offset % b.minimum != 0 || r.length % b.minimum != 0) {
    return refuse("not aligned to the server's minimum block size " + std::to_string(b.minimum));
  }
  if (r.offset > info_.size || r.length > info_.size - r.offset) {
    return refuse("beyond the end of the export (" + std::to_string(info_.size) + " bytes)");
  }
  return Status::Ok();
}

void Client::Fail(Callback done, Status st) {
  asio::post(loop_, [done = std::move(done), st = std::move(st)]() mutable { done(std::move(st)); });
}

void Client::Read(uint64_t offset, uint32_t length, uint8_t* buf, Callback done) {
  Send(Request{0, kCmdRead, 0, offset, length}, nullptr, buf, std::move(done));
}

void Client::Write(uint64_t offset, uint32_t length, const uint8_t* data, bool fua,
                   Callback done) {
  Send(Request{static_cast<uint16_t>(fua ? kCmdFlagFua : 0), kCmdWrite, 0, offset, length}, data,
       nullptr, std::move(done));
}

void Client::Flush(Callback done) { Send(Request{0, kCmdFlush, 0, 0, 0}, nullptr, nullptr, std::move(done)); }

void Client::Trim(uint64_t offset, uint32_t length, bool fua, Callback done) {
  Send(Request{static_cast<uint16_t>(fua ? kCmdFlagFua : 0), kCmdTrim, 0, offset, length},
       nullptr, nullptr, std::move(done));
}

void Client::WriteZeroes(uint64_t offset, uint32_t length, bool no_hole, bool fua,
                         Callback done) {
  const uint16_t flags =
      static_cast<uint16_t>((fua ? kCmdFlagFua : 0) | (no_hole ? kCmdFlagNoHole : 0));
  Send(Request{flags, kCmdWriteZeroes, 0, offset, length}, nullptr, nullptr, std::move(done));
}

void Client::Send(Request r, const uint8_t* payload, uint8_t* read_buf, Callback done) {
  if (broken_ || disconnect_done_) {
    return Fail(std::move(done), broken_ ? broken_status_
                                         : Status::Aborted("NBD client is disconnecting"));
  }
  Status st = Check(r);
  if (!st.ok()) return Fail(std::move(done), std::move(st));
  r.handle = next_handle_++;
  decoder_->Expect(r, read_buf);
  callbacks_.emplace(r.handle, std::move(done));
  Pending& p = outbox_.emplace_back();
  p.request = r;
  p.payload = payload;
  EncodeRequest(r, p.header);
  StartWrite();
}

void Client::StartWrite() {
  if (writing_ || outbox_.empty() || broken_) return;
  iov_.clear();
  size_t n = 0;
  for (const Pending& p : outbox_) {
    if (n == kMaxRequestsPerWrite) break;
    iov_.emplace_back(p.header, kRequestSize);
    if (p.payload != nullptr && p.request.length > 0) iov_.emplace_back(p.payload, p.request.length);
    ++n;
  }
  writing_ = true;
  writing_count_ = n;
  asio::async_write(*stream_, iov_, io::SendAll(),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      for (size_t i = 0; i < self->writing_count_ && !self->outbox_.empty(); ++i) {
                        self->outbox_.pop_front();
                      }
                      self->writing_count_ = 0;
                      if (ec) {
                        return self->Break(Status::IoError("NBD client: send: " + ec.message()));
                      }
                      if (!self->outbox_.empty()) return self->StartWrite();
                      self->MaybeSendDisconnect();
                    });
}

void Client::StartRead() {
  if (reading_ || broken_) return;
  reading_ = true;
  std::span<uint8_t> direct = decoder_->DirectTarget();
  const bool go_direct = direct.size() >= kDirectReadMin;
  const asio::mutable_buffer target = go_direct ? asio::buffer(direct.data(), direct.size())
                                                : asio::buffer(rbuf_);
  stream_->async_read_some(target, [self = shared_from_this(), go_direct](
                                       const boost::system::error_code& ec, size_t n) {
    self->reading_ = false;
    if (self->broken_) return;
    if (ec) {
      if (self->disconnect_sent_ && self->callbacks_.empty()) {
        self->broken_ = true;
        self->broken_status_ = Status::Aborted("NBD client disconnected");
        self->stream_->Close();
        if (self->disconnect_done_) {
          auto cb = std::move(self->disconnect_done_);
          self->disconnect_done_ = nullptr;
          cb(Status::Ok());
        }
        return;
      }
      return self->Break(Status::IoError("NBD client: receive: " +
                                         (ec == asio::error::eof ? std::string("server hung up")
                                                                 : ec.message())));
    }
    self->completions_.clear();
    Status st = go_direct ? self->decoder_->DirectFilled(n, &self->completions_)
                          : self->decoder_->Feed({self->rbuf_.data(), n}, &self->completions_);
    self->Deliver(self->completions_);
    if (!st.ok()) return self->Break(st);
    self->StartRead();
    self->MaybeSendDisconnect();
  });
}

void Client::Deliver(std::vector<ReplyDecoder::Completion>& done) {
  for (auto& c : done) {
    auto it = callbacks_.find(c.handle);
    assert(it != callbacks_.end());
    Callback cb = std::move(it->second);
    callbacks_.erase(it);
    cb(std::move(c.status));
  }
  done.clear();
}

void Client::Break(Status why) {
  if (broken_) return;
  broken_ = true;
  broken_status_ = why;
  if (stream_) stream_->Close();
  std::vector<ReplyDecoder::Completion> done;
  decoder_->FailAll(why, &done);
  outbox_.clear();
  Deliver(done);
  if (disconnect_done_) {
    auto cb = std::move(disconnect_done_);
    disconnect_done_ = nullptr;
    cb(why);
  }
}

void Client::Close() {
  Break(Status::Aborted("NBD client closed"));
}

void Client::Disconnect(Callback done) {
  if (broken_) return Fail(std::move(done), Status::Ok());
  disconnect_done_ = std::move(done);
  MaybeSendDisconnect();
}

void Client::MaybeSendDisconnect() {
  if (!disconnect_done_ || disconnect_sent_ || broken_ || writing_ || !callbacks_.empty()) return;
  disconnect_sent_ = true;
  Pending& p = outbox_.emplace_back();
  p.request = Request{0, kCmdDisc, next_handle_++, 0, 0};
  EncodeRequest(p.request, p.header);
  // After DISC the server closes; the read that sees EOF completes the disconnect.
  StartWrite();
}

}  // namespace tandem::nbd
