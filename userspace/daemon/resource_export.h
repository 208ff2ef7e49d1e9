#pragma once
// ResourceExport: the NBD export of one resource - its own nbd::Server (so each
// resource has its own TLS settings and its own clients to disconnect),
// listening on the Unix socket <run-dir>/nbd/<resource>.sock and, when this
// node's `on HOST` section has `nbd-address IP:port`, on TCP. Export name =
// resource name; an empty name selects it too.
//
// The server listens whatever the role; ReplicatedBackend refuses clients
// unless the resource is Primary. DisconnectClients() hard-disconnects every
// client (forced demotion, down); their in-flight requests still complete in
// the resource before the connections close.
// Failure: Start() returns a Status naming the socket, address or TLS file.
// Thread-safety: the daemon's event loop only.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "common/status.h"
#include "daemon/replicated_backend.h"
#include "nbd/server.h"
#include "replication/resource.h"

namespace tandem::daemon {

class ResourceExport {
 public:
  ResourceExport(boost::asio::io_context& loop, replication::Resource* resource,
                 std::string node, std::string run_dir);
  ~ResourceExport();
  ResourceExport(const ResourceExport&) = delete;
  ResourceExport& operator=(const ResourceExport&) = delete;

  Status Start();
  // Hard-disconnects every client of this export.
  void DisconnectClients();
  // Clients in transmission.
  size_t clients() const;
  // Stops listening and disconnects everyone; the backend is orphaned, so the
  // resource may be destroyed right after.
  void Stop();

  const std::string& unix_path() const { return unix_path_; }
  const std::string& tcp_address() const { return tcp_address_; }

 private:
  boost::asio::io_context& loop_;
  replication::Resource* resource_;
  std::string name_;
  std::string unix_path_;
  std::string tcp_address_;
  std::shared_ptr<ReplicatedBackend> backend_;
  std::unique_ptr<nbd::Server> server_;
};

}  // namespace tandem::daemon
