#pragma once
// The NBD handshake done here, over a plain blocking socket, for the kernel
// nbd driver: the kernel client only speaks the transmission phase with
// simple replies, so we negotiate fixed newstyle + NBD_OPT_GO without
// structured replies (nbd::ClientHandshake, structured_replies = false) and
// then hand the connected socket to the kernel.
//
// Contract: ConnectForKernel() returns a connected, negotiated socket (owned
// by the caller) and what the server said about the export. Every read and
// write is bounded by `timeout_ms` (poll). TLS is refused: the kernel cannot
// speak it. Thread-safety: plain function.
// Failure: Status naming the endpoint and what the server said.

#include <cstdint>
#include <string>

#include "common/status.h"
#include "nbd/client.h"

namespace tandem::shim {

struct KernelConnection {
  int fd = -1;
  nbd::ExportInfo info;
};

// Opens a stream socket to `endpoint` (Unix path, or TCP host:port with
// TCP_NODELAY), bounded by timeout_ms.
Result<int> OpenSocket(const nbd::ClientEndpoint& endpoint, int timeout_ms);

Result<KernelConnection> ConnectForKernel(const nbd::ClientEndpoint& endpoint,
                                          const std::string& export_name, int timeout_ms);

}  // namespace tandem::shim
