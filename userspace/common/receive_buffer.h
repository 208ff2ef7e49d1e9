#pragma once
// Helpers for a stream receive buffer holding the undecoded bytes
// buf[pos, end): used by the connections that read many messages per system
// call (the NBD server, the replication link).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace tandem {

// Moves the undecoded bytes to the front so the next read has the most room
// (resets both offsets when nothing is left). Thread-safety: none needed; the
// buffer belongs to one connection.
inline void CompactReceiveBuffer(std::vector<uint8_t>& buf, size_t& pos, size_t& end) {
  if (pos == end) {
    pos = end = 0;
  } else if (pos > 0) {
    std::memmove(buf.data(), buf.data() + pos, end - pos);
    end -= pos;
    pos = 0;
  }
}

}  // namespace tandem
