#pragma once
// Runs the DRBD-style handlers of a resource (handlers { split-brain "...";
// fence-peer "..."; ... }) as `/bin/sh -c COMMAND`, with DRBD's environment
// (DRBD_RESOURCE, DRBD_MINOR, DRBD_PEER, DRBD_CONF...) so existing scripts keep
// working. Asynchronous: the exit status arrives on the event loop (through a
// pidfd), every run is bounded by a timeout after which the child is killed.
// Thread-safety: used from the owning event loop only.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace tandem::replication {

class HandlerRunner {
 public:
  // exit status 0..255; -1 when it could not run, was killed, or timed out.
  using Done = std::function<void(int exit_status)>;

  explicit HandlerRunner(boost::asio::io_context& loop) : loop_(loop) {}
  void Run(const std::string& command, const std::map<std::string, std::string>& env,
           std::chrono::seconds timeout, Done done);

 private:
  boost::asio::io_context& loop_;
};

}  // namespace tandem::replication
