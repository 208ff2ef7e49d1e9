#pragma once
// SendFile: sendfile(2) from a file to a socket without SIGPIPE. send(2) has
// MSG_NOSIGNAL for a peer that hung up; sendfile has no such flag, and a
// library must not change its host program's signal dispositions (children
// it spawns would inherit an ignored SIGPIPE). So SIGPIPE is blocked on the
// calling thread for the call, and the one a broken connection raised is
// taken off the thread before the mask is restored.
// Returns what sendfile returns (bytes sent, or -1 with errno set; EPIPE for a
// peer that hung up). Thread-safety: any thread; touches only its own mask.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace tandem::nbd {

ssize_t SendFile(int socket, int file, uint64_t offset, size_t len);

}  // namespace tandem::nbd
