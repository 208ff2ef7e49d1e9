#include "heartbeat/media_plan.h"

#include <algorithm>
#include <set>

namespace tandem::heartbeat {

namespace {

bool IsIpv6(const std::string& address) { return address.find(':') != std::string::npos; }

}  // namespace

Result<std::vector<MediumSpec>> PlanMedia(const config::HaCf& cf,
                                          const std::vector<InterfaceAddress>& local_addresses,
                                          const std::string& bind_address) {
  std::set<std::string> ours;
  if (!bind_address.empty()) {
    ours.insert(bind_address);
  } else {
    for (const auto& a : local_addresses) ours.insert(a.address);
  }
  std::vector<MediumSpec> out;
  std::set<std::string> tags;
  int serial_index = 0;
  for (const auto& m : cf.media) {
    MediumSpec s;
    s.kind = m.kind;
    switch (m.kind) {
      case config::HaMedium::Kind::kUcast: {
        if (ours.count(m.address)) continue;  // the other node's line
        s.tag = "ucast:" + m.interface;
        s.label = m.interface;
        s.interface = m.interface;
        s.ipv6 = IsIpv6(m.address);
        s.destination = m.address;
        s.port = cf.udp_port;
        if (!bind_address.empty() && IsIpv6(bind_address) == s.ipv6) s.bind_address = bind_address;
        break;
      }
      case config::HaMedium::Kind::kBcast: {
        s.tag = "bcast:" + m.interface;
        s.label = m.interface;
        s.interface = m.interface;
        s.port = cf.udp_port;
        for (const auto& a : local_addresses) {
          if (a.interface == m.interface && !a.broadcast.empty()) {
            s.destination = a.broadcast;
            break;
          }
        }
        if (s.destination.empty()) {
          // No broadcast address (loopback, or the interface is not up yet):
          // the limited broadcast leaves through the interface we bind to.
          s.destination = "255.255.255.255";
        }
        break;
      }
      case config::HaMedium::Kind::kMcast:
        s.tag = "mcast:" + m.interface;
        s.label = m.interface;
        s.interface = m.interface;
        s.ipv6 = IsIpv6(m.address);
        s.group = m.address;
        s.destination = m.address;
        s.port = m.port;
        s.ttl = m.ttl;
        s.loop = m.loop;
        break;
      case config::HaMedium::Kind::kSerial:
        s.tag = "serial:" + std::to_string(serial_index++);
        s.label = m.device;
        s.device = m.device;
        s.baud = cf.baud;
        break;
    }
    if (!tags.insert(s.tag).second) {
      return Status::InvalidArgument(m.where.ToString() + ": a second " +
                                     config::MediumDirectiveName(m.kind) + " link on [" +
                                     s.label + "]; Tandem keeps one link per interface and kind");
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) {
    return Status::InvalidArgument(
        "no heartbeat link left for this node: every ucast line names one of its own addresses" +
        std::string(bind_address.empty() ? "" : " (--bind " + bind_address + ")"));
  }
  return out;
}

}  // namespace tandem::heartbeat
