#include "nbd/send_file.h"

#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>

#include <cerrno>
#include <ctime>

namespace tandem::nbd {

ssize_t SendFile(int socket, int file, uint64_t offset, size_t len) {
  sigset_t pipe_only, previous;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  off_t off = static_cast<off_t>(offset);
  const ssize_t n = ::sendfile(socket, file, &off, len);
  const int err = errno;
  if (n < 0 && err == EPIPE && !sigismember(&previous, SIGPIPE)) {
    // The kernel raised SIGPIPE at this thread; take it before unblocking.
    const timespec no_wait{0, 0};
    sigtimedwait(&pipe_only, nullptr, &no_wait);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = err;
  return n;
}

}  // namespace tandem::nbd
