#pragma once
// From ha.cf's media lines to the links this node actually uses.
//
// Each link has a tag that both nodes compute the same way and that every
// message carries (`lnk`), so a message copied from one medium to another is
// refused: "ucast:IFACE", "bcast:IFACE", "mcast:IFACE" and "serial:N" (N the
// serial line's position among the serial devices of ha.cf, from 0).
//
// One ha.cf serves both nodes: a ucast line whose address is one of ours is
// the other node's line and is skipped. Our addresses are `--bind ADDR` when
// given (several nodes on one machine share every local address), else every
// address of this machine.
// Thread-safety: pure functions.

#include <string>
#include <vector>

#include "common/status.h"
#include "config/ha_cf.h"
#include "heartbeat/hb_env.h"

namespace tandem::heartbeat {

struct MediumSpec {
  config::HaMedium::Kind kind = config::HaMedium::Kind::kUcast;
  std::string tag;    // the link's name on the wire
  std::string label;  // its name in "Link NODE:LABEL dead.": interface or device
  // UDP media
  std::string interface;
  bool ipv6 = false;
  std::string bind_address;  // "" = any
  std::string destination;   // where we send
  int port = 0;
  std::string group;  // mcast
  int ttl = 1;
  bool loop = false;
  // serial
  std::string device;
  int baud = 0;
};

// Errors: no medium left after skipping our own ucast lines, two links with the
// same tag, a bcast interface without an IPv4 broadcast address.
Result<std::vector<MediumSpec>> PlanMedia(const config::HaCf& cf,
                                          const std::vector<InterfaceAddress>& local_addresses,
                                          const std::string& bind_address);

}  // namespace tandem::heartbeat
