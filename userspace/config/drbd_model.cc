#include "config/drbd_model.h"

#include <cassert>

namespace tandem::config {

std::string Address::ToEndpointString() const {
  if (family == Family::kIpv6) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string Address::ToConfigString() const {
  return std::string(family == Family::kIpv6 ? "ipv6 " : "ipv4 ") + ToEndpointString();
}

std::string MetaDisk::ToConfigString() const {
  switch (kind) {
    case Kind::kInternal: return "internal";
    case Kind::kIndexed: return path + "[" + std::to_string(index) + "]";
    case Kind::kFlexible: return path;
  }
  return "internal";
}

std::string Device::ToConfigString() const { return path + " minor " + std::to_string(minor); }

const Setting* OptionSet::Find(std::string_view name) const {
  auto it = map_.find(name);
  return it == map_.end() ? nullptr : &it->second;
}

namespace {
template <typename T>
const T& Get(const OptionSet& set, std::string_view name) {
  const Setting* s = set.Find(name);
  assert(s && "option not in the normalized model");
  const T* v = std::get_if<T>(&s->value);
  assert(v && "option has a different type");
  return *v;
}
}  // namespace

int64_t OptionSet::Int(std::string_view name) const { return Get<int64_t>(*this, name); }
bool OptionSet::Bool(std::string_view name) const { return Get<bool>(*this, name); }
const std::string& OptionSet::Str(std::string_view name) const {
  return Get<std::string>(*this, name);
}
std::optional<std::string> OptionSet::OptStr(std::string_view name) const {
  if (!Has(name)) return std::nullopt;
  return Str(name);
}
const Address& OptionSet::Addr(std::string_view name) const { return Get<Address>(*this, name); }
std::optional<Address> OptionSet::OptAddr(std::string_view name) const {
  if (!Has(name)) return std::nullopt;
  return Addr(name);
}
const MetaDisk& OptionSet::Meta(std::string_view name) const {
  return Get<MetaDisk>(*this, name);
}
const Device& OptionSet::Dev(std::string_view name) const { return Get<Device>(*this, name); }

bool OptionSet::SameValues(const OptionSet& other) const {
  if (map_.size() != other.map_.size()) return false;
  for (const auto& [name, setting] : map_) {
    const Setting* o = other.Find(name);
    if (!o || !(o->value == setting.value)) return false;
  }
  return true;
}

const HostConfig* ResourceConfig::FindHost(std::string_view host) const {
  for (const auto& h : hosts)
    if (h.name == host) return &h;
  return nullptr;
}

const ResourceConfig* DrbdConfig::Find(std::string_view resource) const {
  for (const auto& r : resources)
    if (r.name == resource) return &r;
  return nullptr;
}

bool DrbdConfig::SameAs(const DrbdConfig& other) const {
  if (node_name != other.node_name || !global.SameValues(other.global) ||
      resources.size() != other.resources.size())
    return false;
  for (size_t i = 0; i < resources.size(); ++i) {
    const auto& a = resources[i];
    const auto& b = other.resources[i];
    if (a.name != b.name || a.local_index != b.local_index || !a.options.SameValues(b.options) ||
        a.hosts.size() != b.hosts.size())
      return false;
    for (size_t h = 0; h < a.hosts.size(); ++h) {
      if (a.hosts[h].name != b.hosts[h].name || a.hosts[h].volume != b.hosts[h].volume ||
          !a.hosts[h].options.SameValues(b.hosts[h].options))
        return false;
    }
  }
  return true;
}

}  // namespace tandem::config
