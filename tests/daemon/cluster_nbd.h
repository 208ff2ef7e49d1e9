// Reaching a Cluster node's NBD export (resource r0, on its Unix socket) as an
// application does, with the project's client library.
#pragma once

#include <string>

#include "cluster.h"
#include "nbd/blocking_client.h"

namespace tandem::testing {

inline std::string NbdSocketOf(const Cluster& c, int n) {
  return c.run_dir(n) + "/nbd/r0.sock";
}

// Connects `client` to node n's export of r0; fails when the node does not
// serve it (not Primary, not running).
inline Status ConnectNbd(nbd::BlockingClient& client, const Cluster& c, int n) {
  nbd::ClientOptions o;
  o.export_name = "r0";
  return client.Connect(nbd::ClientEndpoint::Unix(NbdSocketOf(c, n)), o);
}

}  // namespace tandem::testing
