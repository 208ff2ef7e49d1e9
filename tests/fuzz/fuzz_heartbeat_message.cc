// libFuzzer target for the heartbeat receive path: the bytes of one datagram
// (or a stretch of a serial line) as a peer or an attacker may send them.
// Properties beyond "no crash":
//  - the codec is a bijection: whatever decodes re-encodes to the same bytes;
//  - a message whose fields parse maps back to the same fields;
//  - the receive filter refuses (with a reason) or accepts, never both, and
//    accepts nothing that is not signed with the cluster key;
//  - the serial framer only ever yields whole frames within the size limit.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/authkeys.h"
#include "heartbeat/heartbeat_info.h"
#include "heartbeat/inbound.h"
#include "heartbeat/message.h"
#include "heartbeat/message_auth.h"
#include "heartbeat/serial_framer.h"

namespace {

const tandem::config::AuthKeys& Keys() {
  static const tandem::config::AuthKeys* keys = [] {
    tandem::config::Diagnostics d;
    auto k = tandem::config::ParseAuthKeys("auth 1\n1 sha1 fuzz-key\n2 md5 other\n", "authkeys", &d);
    if (!k.ok()) std::abort();
    return new tandem::config::AuthKeys(std::move(k).value());
  }();
  return *keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tandem::heartbeat;
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  auto message = DecodeMessage(bytes);
  if (message.ok()) {
    if (EncodeMessage(*message) != bytes) std::abort();
    auto info = FromMessage(*message);
    if (info.ok()) {
      auto again = FromMessage(ToMessage(*info));
      if (!again.ok() || !(*again == *info)) std::abort();
    }
  } else if (message.status().message().empty()) {
    std::abort();
  }

  static const MessageSigner signer(Keys());
  InboundFilter filter("alpha", {"alpha", "bravo"}, &signer);
  InboundResult r = filter.Process(bytes, "ucast:eth1");
  if (r.kind == InboundResult::Kind::kDrop) {
    if (r.detail.empty()) std::abort();
  } else {
    if (!message.ok() || !signer.Verify(*message).ok()) std::abort();
    if (r.info.src != "bravo" || r.info.link != "ucast:eth1") std::abort();
  }

  SerialFramer framer;
  size_t half = size / 2;
  for (const std::string& part : {bytes.substr(0, half), bytes.substr(half)}) {
    auto out = framer.Feed(part);
    for (const auto& f : out.frames) {
      if (f.size() > kMaxMessageBytes + kMessageBegin.size() + kMessageEnd.size()) std::abort();
      if (f.compare(0, kMessageBegin.size(), kMessageBegin) != 0) std::abort();
      if (f.compare(f.size() - kMessageEnd.size(), kMessageEnd.size(), kMessageEnd) != 0) {
        std::abort();
      }
    }
  }
  if (framer.buffered() > 2 * kMaxMessageBytes + 8) std::abort();
  return 0;
}
