#include "kernel_handshake.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "nbd/client_handshake.h"

namespace tandem::shim {
namespace {

using Clock = std::chrono::steady_clock;

Status WaitFd(int fd, short events, Clock::time_point deadline, const std::string& what) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Status::Timeout(what + ": no answer in time");
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc > 0) return Status::Ok();
    if (rc < 0 && errno != EINTR) return Status::FromErrno(errno, what);
  }
}

Status ReadExact(int fd, uint8_t* buf, size_t len, Clock::time_point deadline,
                 const std::string& what) {
  while (len > 0) {
    TANDEM_RETURN_IF_ERROR(WaitFd(fd, POLLIN, deadline, what));
    const ssize_t n = ::recv(fd, buf, len, 0);
    if (n == 0) return Status::IoError(what + ": the server closed the connection");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::FromErrno(errno, what);
    }
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteAll(int fd, const uint8_t* buf, size_t len, Clock::time_point deadline,
                const std::string& what) {
  while (len > 0) {
    TANDEM_RETURN_IF_ERROR(WaitFd(fd, POLLOUT, deadline, what));
    const ssize_t n = ::send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::FromErrno(errno, what);
    }
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Result<int> OpenSocket(const nbd::ClientEndpoint& endpoint, int timeout_ms) {
  const std::string where = "NBD server " + endpoint.ToString();
  if (!endpoint.unix_path.empty()) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::FromErrno(errno, "socket");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (endpoint.unix_path.size() >= sizeof a.sun_path) {
      ::close(fd);
      return Status::InvalidArgument("socket path too long: " + endpoint.unix_path);
    }
    std::memcpy(a.sun_path, endpoint.unix_path.c_str(), endpoint.unix_path.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "connect to " + where);
    }
    return fd;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(endpoint.port);
  const int gai = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) return Status::NotFound(where + ": " + ::gai_strerror(gai));
  Status last = Status::IoError(where + ": no address");
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      Status st = WaitFd(fd, POLLOUT, deadline, "connect to " + where);
      int err = 0;
      socklen_t len = sizeof err;
      if (st.ok()) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = st.ok() && err == 0 ? 0 : -1;
      if (!st.ok())
        last = st;
      else if (err != 0)
        last = Status::FromErrno(err, "connect to " + where);
    } else if (rc != 0) {
      last = Status::FromErrno(errno, "connect to " + where);
    }
    if (rc == 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::freeaddrinfo(res);
      return fd;
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return last;
}

Result<KernelConnection> ConnectForKernel(const nbd::ClientEndpoint& endpoint,
                                          const std::string& export_name, int timeout_ms) {
  const std::string where = "NBD server " + endpoint.ToString();
  Result<int> fd = OpenSocket(endpoint, timeout_ms);
  if (!fd.ok()) return fd.status();
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  nbd::ClientHandshakeOptions o;
  o.export_name = export_name;
  o.structured_replies = false;  // the kernel client understands simple replies only
  nbd::ClientHandshake hs(o);
  std::vector<uint8_t> in;
  for (;;) {
    const size_t want = hs.want();
    in.resize(want);
    Status st = ReadExact(*fd, in.data(), want, deadline, "handshake with " + where);
    if (!st.ok()) {
      ::close(*fd);
      return st;
    }
    nbd::Bytes out;
    const auto step = hs.Feed(in, &out);
    if (!out.empty()) {
      st = WriteAll(*fd, out.data(), out.size(), deadline, "handshake with " + where);
      if (!st.ok()) {
        ::close(*fd);
        return st;
      }
    }
    if (step == nbd::ClientHandshake::Step::kDone) break;
    if (step == nbd::ClientHandshake::Step::kFailed) {
      ::close(*fd);
      return hs.error().WithContext(where + " export '" + export_name + "'");
    }
    if (step == nbd::ClientHandshake::Step::kStartTls) {
      ::close(*fd);
      return Status::NotSupported(where +
                                  " asks for TLS, which the kernel nbd client cannot speak");
    }
  }
  KernelConnection c;
  c.fd = *fd;
  c.info = hs.info();
  return c;
}

}  // namespace tandem::shim
