#pragma once
// The normalized drbd.conf model: what a configuration means, whichever of the
// 0.7 or 8.4 spellings it used. Every option of a resource is present with its
// effective value (built-in default <- `common` <- the resource itself), keyed by
// its canonical 8.4 name (see drbd_options.h for the table and units).
// Plain values: copy freely, read from any thread.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/diagnostics.h"

namespace tandem::config {

struct Address {
  enum class Family { kIpv4, kIpv6 };
  Family family = Family::kIpv4;
  std::string host;  // numeric address, without brackets
  uint16_t port = 0;
  // "ipv4 192.168.1.1:7788" / "ipv6 [fd00::1]:7788": drbd.conf 8.4 syntax.
  std::string ToConfigString() const;
  // "192.168.1.1:7788" / "[fd00::1]:7788".
  std::string ToEndpointString() const;
  bool operator==(const Address&) const = default;
};

struct MetaDisk {
  enum class Kind { kInternal, kIndexed, kFlexible };
  Kind kind = Kind::kInternal;
  std::string path;  // external meta-data device (kIndexed, kFlexible)
  int index = -1;    // slot number (kIndexed)
  std::string ToConfigString() const;
  bool operator==(const MetaDisk&) const = default;
};

struct Device {
  std::string path;  // e.g. /dev/drbd0 or /dev/nb0
  int minor = 0;
  std::string ToConfigString() const;  // "/dev/drbd0 minor 0"
  bool operator==(const Device&) const = default;
};

// Integers and sizes (bytes) are int64_t; enums, strings and paths std::string.
using Value = std::variant<int64_t, bool, std::string, Address, MetaDisk, Device>;

struct Setting {
  Value value;
  SourceLocation where;  // unknown (empty file) for built-in defaults
  bool is_default() const { return !where.known(); }
};

// Options by canonical name. Accessors assert the option exists and has the
// asked-for type: with defaults filled in, a missing option is a programming error.
class OptionSet {
 public:
  void Set(std::string name, Setting setting) { map_[std::move(name)] = std::move(setting); }
  const Setting* Find(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }

  int64_t Int(std::string_view name) const;
  bool Bool(std::string_view name) const;
  const std::string& Str(std::string_view name) const;
  // Strings without a default (handlers, algorithms, secrets): nullopt when unset.
  std::optional<std::string> OptStr(std::string_view name) const;
  const Address& Addr(std::string_view name) const;
  std::optional<Address> OptAddr(std::string_view name) const;
  const MetaDisk& Meta(std::string_view name) const;
  const Device& Dev(std::string_view name) const;

  const std::map<std::string, Setting, std::less<>>& all() const { return map_; }
  // Same names and values (locations ignored).
  bool SameValues(const OptionSet& other) const;

 private:
  std::map<std::string, Setting, std::less<>> map_;
};

struct HostConfig {
  std::string name;
  SourceLocation where;
  OptionSet options;  // device, disk, address, meta-disk, nbd-address
  int volume = 0;

  const Device& device() const { return options.Dev("device"); }
  const std::string& disk() const { return options.Str("disk"); }
  const Address& address() const { return options.Addr("address"); }
  const MetaDisk& meta_disk() const { return options.Meta("meta-disk"); }
};

struct ResourceConfig {
  std::string name;
  SourceLocation where;
  OptionSet options;  // net, disk, startup, handlers and options sections
  std::vector<HostConfig> hosts;  // exactly two after validation
  size_t local_index = 0;         // which host is this node

  const HostConfig& local() const { return hosts[local_index]; }
  const HostConfig& peer() const { return hosts[1 - local_index]; }
  const HostConfig* FindHost(std::string_view host) const;
};

struct DrbdConfig {
  std::string source_file;
  std::string node_name;
  OptionSet global;
  std::vector<ResourceConfig> resources;

  const ResourceConfig* Find(std::string_view resource) const;
  // Model equality for round-trip tests: everything but source locations.
  bool SameAs(const DrbdConfig& other) const;
};

}  // namespace tandem::config
