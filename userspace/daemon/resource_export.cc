#include "daemon/resource_export.h"

#include <sys/stat.h>

#include <boost/asio/ip/address.hpp>

#include "common/log.h"
#include "common/run_paths.h"

namespace tandem::daemon {

namespace asio = boost::asio;

namespace {

nbd::TlsMode TlsModeOf(const std::string& s) {
  if (s == "required") return nbd::TlsMode::kRequired;
  if (s == "optional") return nbd::TlsMode::kOptional;
  return nbd::TlsMode::kOff;
}

}  // namespace

ResourceExport::ResourceExport(asio::io_context& loop, replication::Resource* resource,
                               std::string node, std::string run_dir)
    : loop_(loop),
      resource_(resource),
      name_(resource->name()),
      unix_path_(ExportSocketPath(run_dir, resource->name())),
      backend_(std::make_shared<ReplicatedBackend>(loop, resource, std::move(node))) {}

ResourceExport::~ResourceExport() { Stop(); }

Status ResourceExport::Start() {
  const auto& cfg = resource_->config();
  nbd::ServerOptions so;
  so.tls = TlsModeOf(cfg.options.Str("nbd-tls"));
  so.tls_cert_file = cfg.options.OptStr("nbd-tls-cert").value_or("");
  so.tls_key_file = cfg.options.OptStr("nbd-tls-key").value_or("");
  server_ = std::make_unique<nbd::Server>(loop_, so);
  TANDEM_RETURN_IF_ERROR(server_->Start());
  TANDEM_RETURN_IF_ERROR(server_->exports().Add(name_, backend_));
  const std::string dir = unix_path_.substr(0, unix_path_.rfind('/'));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "cannot create " + dir);
  }
  auto unix_listener = server_->ListenUnix(unix_path_, name_);
  if (!unix_listener.ok()) return unix_listener.status();
  if (auto addr = cfg.local().options.OptAddr("nbd-address")) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(addr->host, ec);
    if (ec) return Status::InvalidArgument(name_ + ": nbd-address " + addr->host + ": " + ec.message());
    auto tcp = server_->ListenTcp(asio::ip::tcp::endpoint(ip, addr->port), name_);
    if (!tcp.ok()) return tcp.status();
    tcp_address_ = addr->ToEndpointString();
  }
  Log(LogLevel::kInfo, name_ + ": NBD export on " + unix_path_ +
                           (tcp_address_.empty() ? "" : " and " + tcp_address_) +
                           (so.tls == nbd::TlsMode::kOff ? "" : " (TLS " + cfg.options.Str("nbd-tls") + ")"));
  return Status::Ok();
}

void ResourceExport::DisconnectClients() {
  if (server_) server_->connections().StopExport(name_);
}

size_t ResourceExport::clients() const {
  return server_ ? const_cast<nbd::Server&>(*server_).connections().count(name_) : 0;
}

void ResourceExport::Stop() {
  if (server_) {
    server_->Stop();
    server_.reset();
  }
  if (backend_) backend_->Orphan();
}

}  // namespace tandem::daemon
