#pragma once
// ICMP echo packets for ping nodes: building requests and recognising the
// replies to ours among everything a raw socket receives (every echo reply on
// the machine arrives on every raw ICMP socket). A reply is ours when its
// identifier and the 8-byte token in its payload are ours.
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::heartbeat {

struct EchoId {
  uint16_t identifier = 0;
  uint64_t token = 0;
};

// An ICMP (type 8) or ICMPv6 (type 128) echo request. The IPv4 checksum is
// filled in; the kernel computes the ICMPv6 one.
std::string BuildEchoRequest(bool ipv6, const EchoId& id, uint16_t sequence);

// For a packet read from a raw socket (IPv4: starting with the IP header;
// IPv6: the ICMPv6 message only): true when it is a reply to one of ours.
bool IsOurEchoReply(bool ipv6, std::string_view packet, const EchoId& id);

// The Internet checksum (RFC 1071) of `data`.
uint16_t InternetChecksum(std::string_view data);

}  // namespace tandem::heartbeat
