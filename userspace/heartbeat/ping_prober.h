#pragma once
// Sends an ICMP echo request to every ping-node address each interval and
// reports each address that answers (raw sockets: root or CAP_NET_RAW). With
// `--bind ADDR` the requests leave from that address. Whether a ping node is
// up or dead is decided by PingTracker (liveness.h), not here.
//
// Failure: a socket that cannot be opened is logged once and retried each
// interval; a request that cannot be sent (no route) is simply not answered.
// Thread-safety: event-loop only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "heartbeat/hb_env.h"
#include "heartbeat/icmp.h"

namespace tandem::heartbeat {

class PingProber {
 public:
  using Reply = std::function<void(const std::string& address)>;

  PingProber(boost::asio::io_context& loop, HbEnv* env, std::vector<std::string> addresses,
             std::string bind_address, int64_t interval_ms, EchoId id, Reply on_reply);
  ~PingProber();

  void Start();
  void Stop();

 private:
  struct Family {
    explicit Family(boost::asio::io_context& loop) : socket(loop) {}
    bool ipv6 = false;
    std::vector<std::string> addresses;
    boost::asio::posix::stream_descriptor socket;
    bool error_logged = false;
  };
  void Tick();
  void Open(Family& f);
  void WaitReadable(Family& f);
  void SendAll(Family& f);

  HbEnv* env_;
  std::string bind_address_;
  int64_t interval_ms_;
  EchoId id_;
  Reply on_reply_;
  boost::asio::steady_timer timer_;
  std::vector<std::unique_ptr<Family>> families_;
  uint16_t sequence_ = 0;
  std::shared_ptr<bool> alive_;
};

}  // namespace tandem::heartbeat
