#include "heartbeat/udp_medium.h"

#include <unistd.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "heartbeat/hb_log.h"

namespace tandem::heartbeat {

namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

constexpr auto kReopenInterval = std::chrono::seconds(1);

class UdpMedium final : public Medium {
 public:
  UdpMedium(asio::io_context& loop, HbEnv* env, MediumSpec spec, Receive receive)
      : Medium(std::move(spec)), env_(env), socket_(loop), timer_(loop),
        receive_(std::move(receive)), alive_(std::make_shared<bool>(true)) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(spec_.destination, ec);
    if (!ec) destination_ = udp::endpoint(address, static_cast<unsigned short>(spec_.port));
  }
  ~UdpMedium() override {
    *alive_ = false;
    Stop();
  }

  void Start() override { TryOpen(); }

  void Stop() override {
    boost::system::error_code ec;
    timer_.cancel();
    socket_.close(ec);
  }

  bool is_open() const override { return socket_.is_open(); }

  void Send(const std::string& bytes) override {
    if (!socket_.is_open() || destination_.port() == 0) return;
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(bytes), destination_, 0, ec);
    if (ec && ec != asio::error::would_block && !send_error_logged_) {
      send_error_logged_ = true;
      HbLog(HbLevel::kError, "cannot send on " + spec_.tag + " to " + spec_.destination + ":" +
                                 std::to_string(spec_.port) + ": " + ec.message());
    } else if (!ec) {
      send_error_logged_ = false;
    }
  }

 private:
  void TryOpen() {
    UdpSocketOptions o;
    o.ipv6 = spec_.ipv6;
    o.bind_address = spec_.bind_address;
    o.port = spec_.port;
    o.device = spec_.interface;
    o.broadcast = spec_.kind == config::HaMedium::Kind::kBcast;
    if (spec_.kind == config::HaMedium::Kind::kMcast) {
      o.multicast_group = spec_.group;
      o.multicast_ttl = spec_.ttl;
      o.multicast_loop = spec_.loop;
    }
    auto fd = env_->OpenUdpSocket(o);
    if (!fd.ok()) {
      if (!open_error_logged_) {
        open_error_logged_ = true;
        HbLog(HbLevel::kError, "cannot open link " + spec_.tag + ": " + fd.status().message() +
                                   " (retrying every second)");
      }
      auto alive = alive_;
      timer_.expires_after(kReopenInterval);
      timer_.async_wait([this, alive](const boost::system::error_code& ec) {
        if (*alive && !ec) TryOpen();
      });
      return;
    }
    boost::system::error_code ec;
    socket_.assign(spec_.ipv6 ? udp::v6() : udp::v4(), *fd, ec);
    if (ec) {
      ::close(*fd);
      return;
    }
    socket_.non_blocking(true, ec);
    if (open_error_logged_) HbLog(HbLevel::kInfo, "link " + spec_.tag + " opened");
    open_error_logged_ = false;
    ReceiveNext();
  }

  void ReceiveNext() {
    auto alive = alive_;
    socket_.async_receive_from(
        asio::buffer(buf_), from_, [this, alive](const boost::system::error_code& ec, size_t n) {
          if (!*alive || ec == asio::error::operation_aborted || !socket_.is_open()) return;
          if (!ec) {
            const std::string source =
                from_.address().to_string() + ":" + std::to_string(from_.port());
            receive_(std::string_view(buf_.data(), n), source);
          }
          ReceiveNext();
        });
  }

  HbEnv* env_;
  udp::socket socket_;
  asio::steady_timer timer_;
  Medium::Receive receive_;
  udp::endpoint destination_;
  udp::endpoint from_;
  std::array<char, 65536> buf_{};
  bool open_error_logged_ = false;
  bool send_error_logged_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace

std::unique_ptr<Medium> MakeUdpMedium(asio::io_context& loop, HbEnv* env, MediumSpec spec,
                                      Medium::Receive receive) {
  return std::make_unique<UdpMedium>(loop, env, std::move(spec), std::move(receive));
}

}  // namespace tandem::heartbeat
