#include "heartbeat/arp_packet.h"

#include <cstring>

namespace tandem::heartbeat {

namespace {

constexpr uint8_t kEtherTypeArp[2] = {0x08, 0x06};
constexpr uint8_t kArpHeader[6] = {0x00, 0x01, 0x08, 0x00, 6, 4};  // Ethernet, IPv4

}  // namespace

std::string BuildGratuitousArp(const MacAddress& mac, uint32_t ipv4, bool reply) {
  std::string f(kArpFrameBytes, '\0');
  auto* p = reinterpret_cast<uint8_t*>(f.data());
  std::memset(p, 0xff, 6);                  // to everyone
  std::memcpy(p + 6, mac.data(), 6);        // from us
  std::memcpy(p + 12, kEtherTypeArp, 2);
  std::memcpy(p + 14, kArpHeader, 6);
  p[20] = 0;
  p[21] = reply ? 2 : 1;
  std::memcpy(p + 22, mac.data(), 6);       // sender hardware address
  std::memcpy(p + 28, &ipv4, 4);            // sender protocol address
  if (reply) std::memset(p + 32, 0xff, 6);  // target hardware: unknown / all
  std::memcpy(p + 38, &ipv4, 4);            // target protocol address: the same
  return f;
}

std::optional<ArpAnnouncement> ParseGratuitousArp(std::string_view frame) {
  if (frame.size() < kArpFrameBytes) return std::nullopt;
  const auto* p = reinterpret_cast<const uint8_t*>(frame.data());
  if (std::memcmp(p + 12, kEtherTypeArp, 2) != 0 || std::memcmp(p + 14, kArpHeader, 6) != 0) {
    return std::nullopt;
  }
  if (p[20] != 0 || (p[21] != 1 && p[21] != 2)) return std::nullopt;
  for (int i = 0; i < 6; ++i) {
    if (p[i] != 0xff) return std::nullopt;
  }
  if (std::memcmp(p + 28, p + 38, 4) != 0) return std::nullopt;
  ArpAnnouncement a;
  std::memcpy(a.sender_mac.data(), p + 22, 6);
  std::memcpy(&a.ipv4, p + 28, 4);
  a.reply = p[21] == 2;
  return a;
}

}  // namespace tandem::heartbeat
