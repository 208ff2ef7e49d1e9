#pragma once
// TransferAll(): the completion condition for asio::async_read and
// asio::async_write on bulk transfers. It asks each system call for
// everything that is left. Asio's default, asio::transfer_all(), stops every
// step at 64 KiB (default_max_transfer_size), so a 1 MiB NBD payload or
// replication packet took 16 recv or send calls, each a separate trip through
// the event loop. On the replicated 1 MiB write path that showed up as 19
// recvfrom calls per NBD request on the Primary's loop (perf trace).
//
// Thread-safety: a stateless value; use it anywhere.
#include <boost/system/error_code.hpp>
#include <cstddef>

namespace tandem::io {

struct TransferAllCondition {
  // Larger than any buffer we pass; the transfer ends when the buffers are full.
  static constexpr std::size_t kMaxStep = std::size_t{1} << 30;
  std::size_t operator()(const boost::system::error_code& ec, std::size_t) const {
    return ec ? 0 : kMaxStep;
  }
};

inline TransferAllCondition TransferAll() {
  return {};
}

}  // namespace tandem::io
