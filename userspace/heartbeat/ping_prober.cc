#include "heartbeat/ping_prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "heartbeat/hb_log.h"

namespace tandem::heartbeat {

namespace asio = boost::asio;

PingProber::PingProber(asio::io_context& loop, HbEnv* env, std::vector<std::string> addresses,
                       std::string bind_address, int64_t interval_ms, EchoId id, Reply on_reply)
    : env_(env), bind_address_(std::move(bind_address)), interval_ms_(interval_ms), id_(id),
      on_reply_(std::move(on_reply)), timer_(loop), alive_(std::make_shared<bool>(true)) {
  for (bool v6 : {false, true}) {
    auto f = std::make_unique<Family>(loop);
    f->ipv6 = v6;
    for (const auto& a : addresses) {
      if ((a.find(':') != std::string::npos) == v6) f->addresses.push_back(a);
    }
    if (!f->addresses.empty()) families_.push_back(std::move(f));
  }
}

PingProber::~PingProber() {
  *alive_ = false;
  Stop();
}

void PingProber::Start() { Tick(); }

void PingProber::Stop() {
  timer_.cancel();
  for (auto& f : families_) {
    boost::system::error_code ec;
    f->socket.close(ec);
  }
}

void PingProber::Tick() {
  ++sequence_;
  for (auto& f : families_) {
    if (!f->socket.is_open()) Open(*f);
    if (f->socket.is_open()) SendAll(*f);
  }
  auto alive = alive_;
  timer_.expires_after(std::chrono::milliseconds(interval_ms_));
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (*alive && !ec) Tick();
  });
}

void PingProber::Open(Family& f) {
  // The source address only applies to its own family.
  const bool bind_v6 = bind_address_.find(':') != std::string::npos;
  auto fd = env_->OpenIcmpSocket(f.ipv6, bind_v6 == f.ipv6 ? bind_address_ : "");
  if (!fd.ok()) {
    if (!f.error_logged) {
      f.error_logged = true;
      HbLog(HbLevel::kError, "ping nodes: " + fd.status().message());
    }
    return;
  }
  f.error_logged = false;
  boost::system::error_code ec;
  f.socket.assign(*fd, ec);
  if (!ec) WaitReadable(f);
}

void PingProber::SendAll(Family& f) {
  const std::string packet = BuildEchoRequest(f.ipv6, id_, sequence_);
  for (const auto& address : f.addresses) {
    sockaddr_storage to{};
    socklen_t len = 0;
    if (!f.ipv6) {
      auto* a = reinterpret_cast<sockaddr_in*>(&to);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, address.c_str(), &a->sin_addr);
      len = sizeof(sockaddr_in);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&to);
      a->sin6_family = AF_INET6;
      inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
      len = sizeof(sockaddr_in6);
    }
    // An error (no route, a blackhole) means no answer; the tracker decides.
    (void)::sendto(f.socket.native_handle(), packet.data(), packet.size(), MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&to), len);
  }
}

void PingProber::WaitReadable(Family& f) {
  auto alive = alive_;
  Family* fp = &f;
  f.socket.async_wait(asio::posix::descriptor_base::wait_read,
                      [this, alive, fp](const boost::system::error_code& ec) {
                        if (!*alive || ec) return;
                        char buf[1500];
                        for (int i = 0; i < 64; ++i) {
                          sockaddr_storage from{};
                          socklen_t len = sizeof from;
                          ssize_t n = ::recvfrom(fp->socket.native_handle(), buf, sizeof buf,
                                                 MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                                                 &len);
                          if (n < 0) break;
                          if (!IsOurEchoReply(fp->ipv6, std::string_view(buf, static_cast<size_t>(n)),
                                              id_)) {
                            continue;
                          }
                          char text[INET6_ADDRSTRLEN] = {};
                          if (from.ss_family == AF_INET) {
                            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&from)->sin_addr,
                                      text, sizeof text);
                          } else {
                            inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr,
                                      text, sizeof text);
                          }
                          on_reply_(text);
                        }
                        if (fp->socket.is_open()) WaitReadable(*fp);
                      });
}

}  // namespace tandem::heartbeat
