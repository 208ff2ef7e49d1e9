#pragma once
// A heartbeat link's transport on the daemon's event loop: a UDP socket
// (ucast, bcast, mcast) or a serial line. Sending is best effort and never
// blocks (a datagram that cannot go out now is dropped; the next heartbeat
// follows). A medium that cannot be opened, or fails later (a serial device
// that disappears), keeps trying to reopen once a second and logs only when
// its state changes; its link simply goes dead meanwhile.
//
// Contract: `receive` is called on the event loop with one candidate message
// (a datagram, or a frame cut from the serial stream) and the source it came
// from ("127.0.0.3:694", "/dev/ttyS0"); nothing here trusts its contents.
// Thread-safety: event-loop only.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "heartbeat/hb_env.h"
#include "heartbeat/media_plan.h"

namespace tandem::heartbeat {

class Medium {
 public:
  // bytes, source; `garbage` counts bytes skipped between serial frames.
  using Receive = std::function<void(std::string_view bytes, const std::string& source)>;
  using Garbage = std::function<void(size_t bytes, const std::string& source)>;

  virtual ~Medium() = default;
  const MediumSpec& spec() const { return spec_; }
  // Opens now, and keeps retrying in the background if that fails.
  virtual void Start() = 0;
  virtual void Send(const std::string& bytes) = 0;
  virtual void Stop() = 0;
  virtual bool is_open() const = 0;

 protected:
  explicit Medium(MediumSpec spec) : spec_(std::move(spec)) {}
  MediumSpec spec_;
};

std::unique_ptr<Medium> MakeMedium(boost::asio::io_context& loop, HbEnv* env, MediumSpec spec,
                                   Medium::Receive receive, Medium::Garbage garbage);

}  // namespace tandem::heartbeat
