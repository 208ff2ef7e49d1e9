#include "nbd/acceptor.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace tandem::nbd {

namespace asio = boost::asio;
using generic = asio::generic::stream_protocol;

namespace {

// True when something accepts connections on the Unix socket at `path`.
bool SomeoneListens(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}

Status PrepareUnixPath(const std::string& path) {
  if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Status::InvalidArgument("NBD socket path '" + path + "' is empty or longer than " +
                                   std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
  }
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::FromErrno(errno, path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status::InvalidArgument(path + " exists and is not a socket; not removing it");
  }
  if (SomeoneListens(path)) return Status::Busy(path + ": another server is listening there");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno(errno, path);
  Log(LogLevel::kInfo, "nbd: removed stale socket " + path);
  return Status::Ok();
}

}  // namespace

Acceptor::Acceptor(asio::io_context& loop, OnAccept on_accept)
    : acceptor_(loop), retry_timer_(loop), on_accept_(std::move(on_accept)) {}

Acceptor::~Acceptor() {
  *alive_ = false;
  Close();
}

Result<std::unique_ptr<Acceptor>> Acceptor::ListenUnix(asio::io_context& loop,
                                                       const std::string& path,
                                                       OnAccept on_accept) {
  TANDEM_RETURN_IF_ERROR(PrepareUnixPath(path));
  std::unique_ptr<Acceptor> a(new Acceptor(loop, std::move(on_accept)));
  const generic::endpoint ep{asio::local::stream_protocol::endpoint(path)};
  boost::system::error_code ec;
  a->acceptor_.open(ep.protocol(), ec);
  // The socket file appears at bind(); a restrictive umask keeps it private
  // from that moment, and chmod makes 0600 explicit whatever the umask was.
  if (!ec) {
    const mode_t old = ::umask(0177);
    a->acceptor_.bind(ep, ec);
    ::umask(old);
  }
  if (!ec && ::chmod(path.c_str(), 0600) != 0) {
    ec.assign(errno, boost::system::system_category());
  }
  if (!ec) a->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    if (a->acceptor_.is_open()) ::unlink(path.c_str());
    return Status::IoError("NBD socket " + path + ": " + ec.message());
  }
  a->unix_path_ = path;
  a->address_ = "unix:" + path;
  a->Accept();
  return a;
}

Result<std::unique_ptr<Acceptor>> Acceptor::ListenTcp(asio::io_context& loop,
                                                      const asio::ip::tcp::endpoint& endpoint,
                                                      OnAccept on_accept) {
  std::unique_ptr<Acceptor> a(new Acceptor(loop, std::move(on_accept)));
  const generic::endpoint ep{endpoint};
  boost::system::error_code ec;
  a->acceptor_.open(ep.protocol(), ec);
  if (!ec) a->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a->acceptor_.bind(ep, ec);
  if (!ec) a->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  std::string where = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                                 : endpoint.address().to_string();
  if (ec) {
    return Status::IoError("NBD TCP " + where + ":" + std::to_string(endpoint.port()) + ": " +
                           ec.message());
  }
  // The port actually bound (port 0 asks the kernel for a free one).
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(a->acceptor_.native_handle(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    a->port_ = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  a->tcp_ = true;
  a->address_ = "tcp:" + where + ":" + std::to_string(a->port_);
  a->Accept();
  return a;
}

void Acceptor::Close() {
  if (!acceptor_.is_open()) return;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

void Acceptor::Accept() {
  acceptor_.async_accept([this, alive = alive_](const boost::system::error_code& ec,
                                                Socket socket) {
    if (!*alive || !acceptor_.is_open()) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      Log(LogLevel::kWarning, "nbd: accept on " + address_ + ": " + ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this, alive](const boost::system::error_code& tec) {
        if (!tec && *alive && acceptor_.is_open()) Accept();
      });
      return;
    } else {
      std::string peer = "unix";
      if (tcp_) {
        boost::system::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        char host[INET6_ADDRSTRLEN] = "?";
        uint16_t port = 0;
        if (::getpeername(socket.native_handle(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
          if (ss.ss_family == AF_INET6) {
            auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
            port = ntohs(s6->sin6_port);
          } else {
            auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
            port = ntohs(s4->sin_port);
          }
        }
        peer = std::string(host) + ":" + std::to_string(port);
      }
      on_accept_(std::move(socket), std::move(peer));
      if (!*alive || !acceptor_.is_open()) return;
    }
    Accept();
  });
}

}  // namespace tandem::nbd
