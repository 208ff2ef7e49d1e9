#pragma once
// The gratuitous ARP frame IPaddr sends after adding an address, so switches
// and neighbours learn at once which machine now answers for it (what
// Heartbeat's send_arp did): an Ethernet broadcast carrying an ARP request
// (or reply) whose sender and target protocol addresses are both the address.
// Thread-safety: pure functions.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::heartbeat {

using MacAddress = std::array<uint8_t, 6>;

inline constexpr size_t kArpFrameBytes = 42;  // 14 Ethernet + 28 ARP

// `ipv4` in network byte order.
std::string BuildGratuitousArp(const MacAddress& mac, uint32_t ipv4, bool reply);

struct ArpAnnouncement {
  MacAddress sender_mac{};
  uint32_t ipv4 = 0;  // network byte order
  bool reply = false;
};
// Recognises a gratuitous ARP frame (sender IP == target IP, broadcast).
std::optional<ArpAnnouncement> ParseGratuitousArp(std::string_view frame);

}  // namespace tandem::heartbeat
