#include "heartbeat/serial_framer.h"

#include "heartbeat/message.h"

namespace tandem::heartbeat {

SerialFramer::Output SerialFramer::Feed(std::string_view bytes) {
  Output out;
  buffer_.append(bytes.data(), bytes.size());
  for (;;) {
    const size_t begin = buffer_.find(kMessageBegin);
    if (begin == std::string::npos) {
      // Keep a tail that could be the start of a begin marker.
      const size_t keep = std::min(buffer_.size(), kMessageBegin.size() - 1);
      out.skipped_bytes += buffer_.size() - keep;
      buffer_.erase(0, buffer_.size() - keep);
      return out;
    }
    if (begin > 0) {
      out.skipped_bytes += begin;
      buffer_.erase(0, begin);
    }
    const size_t end = buffer_.find(kMessageEnd, kMessageBegin.size());
    if (end == std::string::npos) {
      if (buffer_.size() > kMaxMessageBytes) {
        // Too long to be a message: drop its begin marker and look again.
        out.skipped_bytes += kMessageBegin.size();
        buffer_.erase(0, kMessageBegin.size());
        continue;
      }
      return out;
    }
    // A begin marker inside means the first message was cut short.
    const size_t inner = buffer_.find(kMessageBegin, kMessageBegin.size());
    if (inner != std::string::npos && inner < end) {
      out.skipped_bytes += inner;
      buffer_.erase(0, inner);
      continue;
    }
    const size_t stop = end + kMessageEnd.size();
    out.frames.push_back(buffer_.substr(0, stop));
    buffer_.erase(0, stop);
  }
}

}  // namespace tandem::heartbeat
