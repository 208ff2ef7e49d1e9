#include "ctl/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <deque>

namespace tandem::ctl {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

class ControlServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(stream::socket socket, Handler* handler, std::shared_ptr<bool> alive)
      : socket_(std::move(socket)), buf_(kMaxRequestBytes + 1), handler_(handler),
        alive_(std::move(alive)) {}

  void Start() { ReadLine(); }

 private:
  void ReadLine() {
    auto self = shared_from_this();
    asio::async_read_until(socket_, buf_, '\n', [self](const boost::system::error_code& ec,
                                                       size_t n) {
      if (!*self->alive_) return;
      if (ec == asio::error::not_found) {
        // Over the limit: answer once, then drop the connection (we cannot resync).
        self->Send(ErrorReply("request too large (limit " + std::to_string(kMaxRequestBytes) +
                                  " bytes)",
                              1),
                   /*close_after=*/true);
        return;
      }
      if (ec) return;
      std::string line(asio::buffers_begin(self->buf_.data()),
                       asio::buffers_begin(self->buf_.data()) + static_cast<long>(n) - 1);
      self->buf_.consume(n);
      auto req = ParseRequest(line);
      if (!req.ok()) {
        self->Send(ErrorReply(req.status().message(), 1), false);
      } else {
        self->pending_replies_.emplace_back();
        size_t slot = self->next_slot_++;
        (*self->handler_)(*req, [self, slot](nlohmann::json reply) {
          if (!*self->alive_) return;
          self->Complete(slot, std::move(reply));
        });
      }
      self->ReadLine();
    });
  }

  // Replies go out in request order even when handlers finish out of order.
  void Complete(size_t slot, nlohmann::json reply) {
    size_t index = slot - first_slot_;
    if (index >= pending_replies_.size()) return;
    pending_replies_[index] = JsonText(reply) + "\n";
    while (!pending_replies_.empty() && !pending_replies_.front().empty()) {
      out_.push_back(std::move(pending_replies_.front()));
      pending_replies_.pop_front();
      ++first_slot_;
    }
    Flush(false);
  }

  void Send(nlohmann::json reply, bool close_after) {
    if (pending_replies_.empty()) {
      out_.push_back(JsonText(reply) + "\n");
    } else {
      pending_replies_.emplace_back(JsonText(reply) + "\n");
      ++next_slot_;
    }
    Flush(close_after);
  }

  void Flush(bool close_after) {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    auto self = shared_from_this();
    auto data = std::make_shared<std::string>(std::move(out_.front()));
    out_.pop_front();
    asio::async_write(socket_, asio::buffer(*data),
                      [self, data, close_after](const boost::system::error_code& ec, size_t) {
                        self->writing_ = false;
                        if (ec || close_after) {
                          boost::system::error_code ignored;
                          self->socket_.close(ignored);
                          return;
                        }
                        self->Flush(false);
                      });
  }

  stream::socket socket_;
  asio::streambuf buf_;
  Handler* handler_;
  std::shared_ptr<bool> alive_;
  std::deque<std::string> pending_replies_;  // empty string: not answered yet
  size_t first_slot_ = 0, next_slot_ = 0;
  std::deque<std::string> out_;
  bool writing_ = false;
};

ControlServer::ControlServer(asio::io_context& loop, std::string path, Handler handler)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)),
      alive_(std::make_shared<bool>(true)) {}

ControlServer::~ControlServer() {
  *alive_ = false;
  Stop();
}

Status ControlServer::Start() {
  ::unlink(path_.c_str());
  auto acc = std::make_unique<stream::acceptor>(loop_);
  boost::system::error_code ec;
  acc->open(stream(), ec);
  if (!ec) acc->bind(stream::endpoint(path_), ec);
  if (!ec && ::chmod(path_.c_str(), 0600) != 0) ec.assign(errno, boost::system::system_category());
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IoError("control socket " + path_ + ": " + ec.message());
  acceptor_ = std::move(acc);
  Accept();
  return Status::Ok();
}

void ControlServer::Stop() {
  if (!acceptor_) return;
  boost::system::error_code ec;
  acceptor_->close(ec);
  acceptor_.reset();
  ::unlink(path_.c_str());
}

void ControlServer::Accept() {
  auto alive = alive_;
  acceptor_->async_accept([this, alive](const boost::system::error_code& ec, stream::socket s) {
    if (!*alive || !acceptor_) return;
    if (!ec) std::make_shared<Session>(std::move(s), &handler_, alive)->Start();
    Accept();
  });
}

}  // namespace tandem::ctl
