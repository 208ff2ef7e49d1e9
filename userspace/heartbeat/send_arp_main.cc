// tandem-send-arp: sends gratuitous ARP for an address just taken over, as
// Heartbeat's send_arp did, through a raw packet socket (root or CAP_NET_RAW):
//
//   tandem-send-arp [-i MS] [-r COUNT] [--reply] IFACE IP
//
// COUNT frames (default 5), MS milliseconds apart (default 200). Exit 0 when
// every frame went out, 2 when none could be sent, 1 on a bad command line.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "common/cli.h"
#include "heartbeat/arp_packet.h"

int main(int argc, char** argv) {
  CLI::App app{"tandem-send-arp: announce an address with gratuitous ARP", "tandem-send-arp"};
  int interval_ms = 200;
  int count = 5;
  bool reply = false;
  std::string iface, ip;
  app.add_option("-i,--interval", interval_ms, "Milliseconds between frames")
      ->check(CLI::Range(10, 10000))
      ->capture_default_str();
  app.add_option("-r,--repeat", count, "Frames to send")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_flag("--reply", reply, "Send ARP replies instead of requests");
  app.add_option("interface", iface, "Interface")->required();
  app.add_option("address", ip, "IPv4 address to announce")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  in_addr addr{};
  if (inet_pton(AF_INET, ip.c_str(), &addr) != 1) {
    std::cerr << "tandem-send-arp: [" << ip << "] is not an IPv4 address\n";
    return tandem::kExitUsage;
  }
  if (iface.empty() || iface.size() >= IFNAMSIZ) {
    std::cerr << "tandem-send-arp: bad interface name\n";
    return tandem::kExitUsage;
  }
  int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
  if (fd < 0) {
    std::cerr << "tandem-send-arp: raw packet socket: " << std::strerror(errno)
              << " (needs root or CAP_NET_RAW)\n";
    return tandem::kExitFailed;
  }
  ifreq req{};
  std::strncpy(req.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFHWADDR, &req) != 0) {
    std::cerr << "tandem-send-arp: " << iface << ": " << std::strerror(errno) << "\n";
    ::close(fd);
    return tandem::kExitFailed;
  }
  tandem::heartbeat::MacAddress mac{};
  std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, 6);
  const unsigned index = if_nametoindex(iface.c_str());
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = static_cast<int>(index);
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  const std::string frame = tandem::heartbeat::BuildGratuitousArp(mac, addr.s_addr, reply);
  int sent = 0;
  for (int i = 0; i < count; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    if (::sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
        static_cast<ssize_t>(frame.size())) {
      ++sent;
    } else if (sent == 0 && i == 0) {
      std::cerr << "tandem-send-arp: send on " << iface << ": " << std::strerror(errno) << "\n";
    }
  }
  ::close(fd);
  if (sent == count) return tandem::kExitOk;
  std::cerr << "tandem-send-arp: sent " << sent << " of " << count << " frames\n";
  return sent == 0 ? tandem::kExitFailed : tandem::kExitOk;
}
