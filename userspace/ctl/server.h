#pragma once
// ControlServer: the Unix-socket listener of tandemd (mode 0600, in the run
// directory). Reads newline-delimited requests, hands each to the handler, and
// writes the replies in order. A request longer than kMaxRequestBytes or not
// valid JSON gets an error reply and changes nothing; the connection stays.
// Thread-safety: runs on the daemon's event loop.

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "ctl/protocol.h"

namespace tandem::ctl {

class ControlServer {
 public:
  using Reply = std::function<void(nlohmann::json)>;
  using Handler = std::function<void(const Request&, Reply)>;

  ControlServer(boost::asio::io_context& loop, std::string path, Handler handler);
  ~ControlServer();
  Status Start();  // removes a stale socket file, binds, chmod 0600, listens
  void Stop();
  const std::string& path() const { return path_; }

 private:
  class Session;
  void Accept();

  boost::asio::io_context& loop_;
  std::string path_;
  Handler handler_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::shared_ptr<bool> alive_;
};

}  // namespace tandem::ctl
