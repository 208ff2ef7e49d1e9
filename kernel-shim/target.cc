#include "target.h"

#include "common/env.h"
#include "common/run_paths.h"
#include "config/drbd_loader.h"

namespace tandem::shim {
namespace {

Result<config::DrbdConfig> Load(const std::string& config_file, const std::string& node,
                                std::string* diagnostics) {
  Env* env = Env::Default();
  const std::string path = config_file.empty() ? config::DefaultDrbdConfigPath(env) : config_file;
  config::Diagnostics diags;
  auto cfg = config::LoadDrbdConfig(env, path, node, &diags);
  if (diagnostics) *diagnostics = diags.Format();
  return cfg;
}

}  // namespace

Status ApplyConnect(const std::string& host_port, ResourceTarget* t) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host_port.size()) {
    return Status::InvalidArgument("--connect wants HOST:PORT, not '" + host_port + "'");
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port = host_port.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535 || std::stoi(port) == 0) {
    return Status::InvalidArgument("--connect: bad port in '" + host_port + "'");
  }
  t->endpoint = nbd::ClientEndpoint::Tcp(host, static_cast<uint16_t>(std::stoi(port)));
  return Status::Ok();
}

Status ApplyNbdUri(const std::string& uri, ResourceTarget* t) {
  const std::string unix_scheme = "nbd+unix://";
  const std::string tcp_scheme = "nbd://";
  if (uri.rfind(unix_scheme, 0) == 0) {
    std::string rest = uri.substr(unix_scheme.size());  // /NAME?socket=PATH
    const size_t q = rest.find("?socket=");
    if (q == std::string::npos) {
      return Status::InvalidArgument("--nbd-uri: '" + uri + "' has no ?socket=PATH");
    }
    std::string name = rest.substr(0, q);
    if (!name.empty() && name.front() == '/') name = name.substr(1);
    std::string sock = rest.substr(q + 8);
    sock = sock.substr(0, sock.find('&'));
    if (sock.empty())
      return Status::InvalidArgument("--nbd-uri: empty socket path in '" + uri + "'");
    t->endpoint = nbd::ClientEndpoint::Unix(sock);
    if (!name.empty()) t->export_name = name;
    return Status::Ok();
  }
  if (uri.rfind(tcp_scheme, 0) == 0) {
    std::string rest = uri.substr(tcp_scheme.size());  // HOST[:PORT][/NAME]
    const size_t slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    if (slash != std::string::npos && slash + 1 < rest.size())
      t->export_name = rest.substr(slash + 1);
    if (authority.empty()) return Status::InvalidArgument("--nbd-uri: no host in '" + uri + "'");
    const bool has_port = authority.back() != ']' && authority.find(':') != std::string::npos;
    return ApplyConnect(has_port ? authority : authority + ":10809", t);
  }
  return Status::InvalidArgument(
      "--nbd-uri: '" + uri +
      "' is neither nbd://HOST[:PORT]/NAME nor nbd+unix:///NAME?socket=PATH");
}

Result<ResourceTarget> ResolveTarget(const std::string& config_file, const std::string& node,
                                     const std::string& run_dir, const std::string& resource,
                                     const TargetOverrides& overrides, std::string* diagnostics) {
  auto cfg = Load(config_file, node, diagnostics);
  if (!cfg.ok()) return cfg.status();
  const config::ResourceConfig* r = cfg->Find(resource);
  if (!r) return Status::NotFound("'" + resource + "' is not a resource in " + cfg->source_file);
  ResourceTarget t;
  t.name = resource;
  t.device_path = r->local().device().path;
  t.export_name = resource;
  t.endpoint = nbd::ClientEndpoint::Unix(ExportSocketPath(run_dir, resource));
  if (!overrides.connect.empty()) TANDEM_RETURN_IF_ERROR(ApplyConnect(overrides.connect, &t));
  if (!overrides.nbd_uri.empty()) TANDEM_RETURN_IF_ERROR(ApplyNbdUri(overrides.nbd_uri, &t));
  return t;
}

Result<std::vector<std::string>> ConfiguredResources(const std::string& config_file,
                                                     const std::string& node,
                                                     std::string* diagnostics) {
  auto cfg = Load(config_file, node, diagnostics);
  if (!cfg.ok()) return cfg.status();
  std::vector<std::string> out;
  for (const auto& r : cfg->resources) out.push_back(r.name);
  return out;
}

}  // namespace tandem::shim
