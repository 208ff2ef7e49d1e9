#pragma once
// Cuts a serial byte stream into messages ( >>>\n ... <<<\n ). Bytes outside a
// message (line noise, a peer that restarted mid-message) are skipped and
// counted; a message that grows past kMaxMessageBytes without its end marker
// is dropped and the search starts again after its begin marker. Memory use is
// bounded by about twice kMaxMessageBytes whatever comes in.
// Thread-safety: a plain value; one owner.

#include <string>
#include <string_view>
#include <vector>

namespace tandem::heartbeat {

class SerialFramer {
 public:
  struct Output {
    std::vector<std::string> frames;
    size_t skipped_bytes = 0;
  };
  Output Feed(std::string_view bytes);
  size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

}  // namespace tandem::heartbeat
