#include "heartbeat/icmp.h"

namespace tandem::heartbeat {

namespace {

constexpr uint8_t kEchoRequest4 = 8;
constexpr uint8_t kEchoReply4 = 0;
constexpr uint8_t kEchoRequest6 = 128;
constexpr uint8_t kEchoReply6 = 129;
constexpr size_t kHeader = 8;
constexpr size_t kPayload = 8;

void Put16(std::string* s, size_t at, uint16_t v) {
  (*s)[at] = static_cast<char>(v >> 8);
  (*s)[at + 1] = static_cast<char>(v & 0xff);
}

uint16_t Get16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

}  // namespace

uint16_t InternetChecksum(std::string_view data) {
  uint32_t sum = 0;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += Get16(data, i);
  if (i < data.size()) sum += static_cast<uint32_t>(static_cast<uint8_t>(data[i])) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

std::string BuildEchoRequest(bool ipv6, const EchoId& id, uint16_t sequence) {
  std::string p(kHeader + kPayload, '\0');
  p[0] = static_cast<char>(ipv6 ? kEchoRequest6 : kEchoRequest4);
  Put16(&p, 4, id.identifier);
  Put16(&p, 6, sequence);
  for (size_t i = 0; i < kPayload; ++i) {
    p[kHeader + i] = static_cast<char>((id.token >> (8 * (kPayload - 1 - i))) & 0xff);
  }
  if (!ipv6) Put16(&p, 2, InternetChecksum(p));
  return p;
}

bool IsOurEchoReply(bool ipv6, std::string_view packet, const EchoId& id) {
  if (!ipv6) {
    if (packet.size() < 20) return false;
    const size_t ihl = static_cast<size_t>(static_cast<uint8_t>(packet[0]) & 0x0f) * 4;
    if ((static_cast<uint8_t>(packet[0]) >> 4) != 4 || ihl < 20 || packet.size() < ihl) {
      return false;
    }
    packet.remove_prefix(ihl);
  }
  if (packet.size() < kHeader + kPayload) return false;
  if (static_cast<uint8_t>(packet[0]) != (ipv6 ? kEchoReply6 : kEchoReply4)) return false;
  if (Get16(packet, 4) != id.identifier) return false;
  uint64_t token = 0;
  for (size_t i = 0; i < kPayload; ++i) {
    token = (token << 8) | static_cast<uint8_t>(packet[kHeader + i]);
  }
  return token == id.token;
}

}  // namespace tandem::heartbeat
