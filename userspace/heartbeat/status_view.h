#pragma once
// `tandem-heartbeat status`: what the running daemon knows, as cl_status
// users expect to see it (node states, link states, which node holds each
// resource group), as JSON (`--json`, the control socket's answer) or text.
// The daemon fills a StatusSnapshot; the client formats the JSON it receives,
// so both views always show the same facts.
// Thread-safety: pure functions over values.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tandem::heartbeat {

struct StatusSnapshot {
  std::string node;
  int pid = 0;
  uint64_t generation = 0;
  std::string status;  // up | active | shutting-down
  std::string auto_failback;
  std::string peer;    // "" in a one-node cluster
  std::string peer_status;  // unknown | active | up | dead | stopped
  uint64_t peer_generation = 0;
  struct Link {
    std::string tag;
    std::string label;
    bool open = false;
    std::string state;  // up | dead | unknown: as the peer's messages show it
  };
  std::vector<Link> links;
  struct PingNode {
    std::string name;
    std::vector<std::string> addresses;
    std::string state;  // up | dead | unknown
  };
  std::vector<PingNode> ping_nodes;
  int ping_up = 0;
  std::optional<int> peer_ping_up;
  struct Group {
    std::string key;
    std::string preferred;
    std::string here;    // stopped | starting | running | stopping | stop-failed
    std::string holder;  // a node name, or "none"
    bool failed_here = false;
  };
  std::vector<Group> groups;
  std::map<std::string, uint64_t> dropped;  // per DropReasonName
};

nlohmann::json StatusToJson(const StatusSnapshot& s);
// The text view of StatusToJson's output (tolerates missing keys).
std::string FormatStatusText(const nlohmann::json& status);

}  // namespace tandem::heartbeat
