#pragma once
// A fault-injecting TCP proxy for tests, on loopback: forwards every
// connection to a target, and on request cuts the link (closes every
// connection and refuses new ones) or flips one byte of the next large chunk
// travelling in a chosen direction. Runs its own io_context on a thread;
// the destructor stops it and closes everything.

#include <atomic>
#include <boost/asio.hpp>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace tandem::testing {

class TcpProxy {
 public:
  // Listens on listen_ip:listen_port and forwards to target_ip:target_port.
  TcpProxy(const std::string& listen_ip, int listen_port, const std::string& target_ip,
           int target_port)
      : acceptor_(io_), target_(boost::asio::ip::make_address(target_ip),
                                static_cast<uint16_t>(target_port)) {
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(listen_ip),
                                      static_cast<uint16_t>(listen_port));
    acceptor_.open(ep.protocol());
    acceptor_.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~TcpProxy() {
    boost::asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      CloseAll();
    });
    io_.stop();
    thread_.join();
  }

  // While cut, existing connections are closed and new ones dropped at once.
  void SetCut(bool cut) {
    cut_ = cut;
    if (cut) boost::asio::post(io_, [this] { CloseAll(); });
  }

  // Flip one byte in the next chunk of at least `min_chunk` bytes flowing from
  // the connection's initiator to the target (to_target) or back.
  void CorruptNext(bool to_target, size_t min_chunk = 1024) {
    corrupt_min_ = min_chunk;
    corrupt_dir_ = to_target ? 1 : 2;
  }
  int corruptions() const { return corruptions_; }

 private:
  struct Pair {
    explicit Pair(boost::asio::io_context& io) : client(io), server(io) {}
    boost::asio::ip::tcp::socket client, server;
    std::array<uint8_t, 65536> up{}, down{};
  };

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec,
                                  boost::asio::ip::tcp::socket s) {
      if (ec) return;
      if (cut_) {
        boost::system::error_code ignored;
        s.close(ignored);
      } else {
        auto p = std::make_shared<Pair>(io_);
        p->client = std::move(s);
        pairs_.insert(p);
        p->server.async_connect(target_, [this, p](const boost::system::error_code& e) {
          if (e) return Close(p);
          Pump(p, true);
          Pump(p, false);
        });
      }
      Accept();
    });
  }

  void Pump(const std::shared_ptr<Pair>& p, bool to_target) {
    auto& from = to_target ? p->client : p->server;
    auto& buf = to_target ? p->up : p->down;
    from.async_read_some(boost::asio::buffer(buf), [this, p, to_target](
                                                      const boost::system::error_code& ec,
                                                      size_t n) {
      if (ec || cut_) return Close(p);
      auto& b = to_target ? p->up : p->down;
      int want = corrupt_dir_.load();
      if (want == (to_target ? 1 : 2) && n >= corrupt_min_) {
        b[n - 1] ^= 0x5A;
        corrupt_dir_ = 0;
        ++corruptions_;
      }
      auto& to = to_target ? p->server : p->client;
      boost::asio::async_write(to, boost::asio::buffer(b.data(), n),
                               [this, p, to_target](const boost::system::error_code& e, size_t) {
                                 if (e) return Close(p);
                                 Pump(p, to_target);
                               });
    });
  }

  void Close(const std::shared_ptr<Pair>& p) {
    boost::system::error_code ec;
    p->client.close(ec);
    p->server.close(ec);
    pairs_.erase(p);
  }
  void CloseAll() {
    auto all = pairs_;
    for (const auto& p : all) Close(p);
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint target_;
  std::set<std::shared_ptr<Pair>> pairs_;
  std::atomic<bool> cut_{false};
  std::atomic<int> corrupt_dir_{0};
  std::atomic<size_t> corrupt_min_{1024};
  std::atomic<int> corruptions_{0};
  std::thread thread_;
};

}  // namespace tandem::testing
