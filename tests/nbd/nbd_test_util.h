#pragma once
// Test support for the NBD suites:
// - byte builders for hand-made protocol messages (big-endian, like the wire);
// - TestServer: an nbd::Server on its own event-loop thread with real
//   DeviceBackends (over files through IoEnv, or MemBlockDevices), listening
//   on Unix sockets and TCP, torn down cleanly (clients disconnected, backends
//   idle) by the destructor;
// - RawSocket: a blocking socket for tests that speak the protocol by hand
//   (bad clients), with bounded waits;
// - TransportMode: the Unix/TCP x simple/structured parameter of round-trip
//   suites, and TransportFixture, their base: one file export served on both
//   transports; RunClientLoopUntil and ConnectClient for tests driving the
//   asynchronous Client.
// Header-only because tests/CMakeLists.txt builds every *_test.cc of a module
// into one binary and nothing else.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/device_factory.h"
#include "io/engine_test_util.h"
#include "io/mem_block_device.h"
#include "nbd/client.h"
#include "nbd/device_backend.h"
#include "nbd/server.h"
#include "nbd/wire.h"
#include "testing/test_util.h"

namespace tandem::nbd::testing {

using Bytes = std::vector<uint8_t>;

struct TransportMode {
  bool tcp;
  bool structured;
};

inline std::string TransportModeName(const ::testing::TestParamInfo<TransportMode>& info) {
  return std::string(info.param.tcp ? "Tcp" : "Unix") +
         (info.param.structured ? "Structured" : "Simple");
}

inline auto AllTransportModes() {
  return ::testing::Values(TransportMode{false, false}, TransportMode{false, true},
                           TransportMode{true, false}, TransportMode{true, true});
}

// Runs a client's loop until `pred` holds; false after `timeout`.
inline bool RunClientLoopUntil(boost::asio::io_context& loop, const std::function<bool()>& pred,
                               std::chrono::seconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    loop.restart();
    loop.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Connects an asynchronous Client on `loop`: the client, or nullptr (with a
// test failure naming the error) if the handshake fails or takes over 30 s.
inline std::shared_ptr<Client> ConnectClient(boost::asio::io_context& loop,
                                             const ClientEndpoint& endpoint,
                                             const ClientOptions& options) {
  // Shared with the callback, which may still run after a timeout here.
  struct Outcome {
    bool done = false;
    std::shared_ptr<Client> client;
  };
  auto outcome = std::make_shared<Outcome>();
  Client::Connect(loop, endpoint, options, [outcome](Result<std::shared_ptr<Client>> c) {
    outcome->done = true;
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) outcome->client = *c;
  });
  EXPECT_TRUE(RunClientLoopUntil(loop, [&] { return outcome->done; }))
      << "no handshake within 30 s";
  return outcome->client;
}

inline void Put16(Bytes* b, uint16_t v) {
  uint8_t x[2];
  PutBe16(x, v);
  b->insert(b->end(), x, x + 2);
}
inline void Put32(Bytes* b, uint32_t v) {
  uint8_t x[4];
  PutBe32(x, v);
  b->insert(b->end(), x, x + 4);
}
inline void Put64(Bytes* b, uint64_t v) {
  uint8_t x[8];
  PutBe64(x, v);
  b->insert(b->end(), x, x + 8);
}
inline void PutText(Bytes* b, const std::string& s) { b->insert(b->end(), s.begin(), s.end()); }

// A request header as a client sends it.
inline Bytes RequestBytes(uint16_t type, uint64_t offset, uint32_t length, uint16_t flags = 0,
                          uint64_t handle = 1, uint32_t magic = kRequestMagic) {
  Bytes b;
  Put32(&b, magic);
  Put16(&b, flags);
  Put16(&b, type);
  Put64(&b, handle);
  Put64(&b, offset);
  Put32(&b, length);
  return b;
}

// Bytes that differ per position and per seed (the io tests' pattern).
using io::testing::FillPattern;
inline Bytes Pattern(size_t n, uint64_t seed) {
  Bytes b(n);
  FillPattern(b.data(), n, seed);
  return b;
}

// A file of `size` bytes (sparse).
inline void MakeFile(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  ::close(fd);
}

inline Bytes ReadFileRange(const std::string& path, uint64_t offset, size_t len) {
  Bytes b(len);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const ssize_t n = ::pread(fd, b.data(), len, static_cast<off_t>(offset));
  ::close(fd);
  if (n != static_cast<ssize_t>(len)) return {};
  return b;
}

inline void WriteFileRange(const std::string& path, uint64_t offset, const Bytes& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(data.size()));
  ::close(fd);
}

// An nbd::Server on a private loop thread.
class TestServer {
 public:
  explicit TestServer(ServerOptions options = {})
      : work_(boost::asio::make_work_guard(loop_)), server_(loop_, std::move(options)) {}

  ~TestServer() {
    Shutdown();
  }

  // Before Run(): configuration happens on the test thread while no loop runs.
  Status Start() { return server_.Start(); }

  // Serves `path` (a regular file) through IoEnv and a DeviceBackend.
  std::shared_ptr<DeviceBackend> AddFileExport(const std::string& name, const std::string& path,
                                               io::CacheMode cache = io::CacheMode::kBuffered,
                                               DeviceBackendOptions options = {}) {
    io::OpenOptions open;
    open.cache = cache;
    auto dev = io::IoEnv::Default()->Open(loop_, path, open);
    EXPECT_TRUE(dev.ok()) << dev.status().ToString();
    if (!dev.ok()) return nullptr;
    auto backend = std::make_shared<DeviceBackend>(std::move(*dev), std::move(options));
    EXPECT_TRUE(server_.exports().Add(name, backend).ok());
    return backend;
  }

  std::shared_ptr<DeviceBackend> AddExport(const std::string& name,
                                           std::unique_ptr<io::BlockDevice> device,
                                           DeviceBackendOptions options = {}) {
    auto backend = std::make_shared<DeviceBackend>(std::move(device), std::move(options));
    EXPECT_TRUE(server_.exports().Add(name, backend).ok());
    return backend;
  }

  std::string ListenUnix(const std::string& path, const std::string& default_export = "") {
    auto a = server_.ListenUnix(path, default_export);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return path;
  }
  // Returns the bound port.
  uint16_t ListenTcp(const std::string& ip, const std::string& default_export = "") {
    auto a = server_.ListenTcp(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(ip), 0), default_export);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? (*a)->port() : 0;
  }

  void Run() {
    thread_ = std::thread([this] { loop_.run(); });
  }

  // Runs `fn` on the loop thread and waits for it.
  template <typename Fn>
  auto OnLoop(Fn fn) -> decltype(fn()) {
    using R = decltype(fn());
    std::packaged_task<R()> task(std::move(fn));
    std::future<R> result = task.get_future();
    boost::asio::post(loop_, [&task] { task(); });
    return result.get();
  }

  // Polls `pred` on the loop until it is true or `timeout` passes.
  bool WaitFor(const std::function<bool()>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (OnLoop([&] { return pred(); })) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  size_t connections() { return OnLoop([this] { return server_.connections().count(); }); }

  // Stops the server, waits for its connections to finish and the loop to end.
  void Shutdown() {
    if (!thread_.joinable()) return;
    OnLoop([this] {
      server_.Stop();
      return 0;
    });
    WaitFor([this] { return server_.connections().count() == 0; });
    OnLoop([this] {
      for (const std::string& n : server_.exports().Names()) server_.exports().Remove(n);
      return 0;
    });
    work_.reset();
    loop_.stop();
    thread_.join();
  }

  boost::asio::io_context& loop() { return loop_; }
  Server& server() { return server_; }

 private:
  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  Server server_;
  std::thread thread_;
};

// Base of suites parameterized by TransportMode: Serve() puts one file-backed
// export "r0" on a Unix socket and on TCP 127.0.0.2; Endpoint() and Options()
// reach it in the test's transport and reply mode.
class TransportFixture : public ::testing::TestWithParam<TransportMode> {
 protected:
  // Creates the file (`size` zero bytes) and starts serving it. Callers check
  // HasFatalFailure() afterwards.
  void Serve(uint64_t size, io::CacheMode cache, DeviceBackendOptions options = {}) {
    path_ = dir_.path() + "/disk.img";
    MakeFile(path_, size);
    ASSERT_TRUE(server_.Start().ok());
    backend_ = server_.AddFileExport("r0", path_, cache, std::move(options));
    ASSERT_NE(backend_, nullptr);
    socket_ = server_.ListenUnix(dir_.path() + "/r0.sock");
    port_ = server_.ListenTcp("127.0.0.2");
    server_.Run();
  }

  ClientEndpoint Endpoint() const {
    return GetParam().tcp ? ClientEndpoint::Tcp("127.0.0.2", port_) : ClientEndpoint::Unix(socket_);
  }
  ClientOptions Options() const {
    ClientOptions o;
    o.export_name = "r0";
    o.structured_replies = GetParam().structured;
    return o;
  }

  tandem::testing::ScratchDir dir_;
  std::string path_, socket_;
  uint16_t port_ = 0;
  TestServer server_;
  std::shared_ptr<DeviceBackend> backend_;
};

// A blocking socket with bounded waits, for speaking NBD by hand.
class RawSocket {
 public:
  static std::unique_ptr<RawSocket> ConnectUnix(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return nullptr;
    }
    return std::unique_ptr<RawSocket>(new RawSocket(fd));
  }
  static std::unique_ptr<RawSocket> ConnectTcp(const std::string& ip, uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return nullptr;
    }
    return std::unique_ptr<RawSocket>(new RawSocket(fd));
  }
  ~RawSocket() { Close(); }

  bool Send(const Bytes& b) {
    size_t done = 0;
    while (done < b.size()) {
      const ssize_t n = ::send(fd_, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // Exactly n bytes, or fewer if the peer closed / the wait timed out.
  Bytes Recv(size_t n, int timeout_ms = 10000) {
    Bytes b;
    b.reserve(n);
    uint8_t tmp[65536];
    while (b.size() < n) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) break;
      const ssize_t r = ::recv(fd_, tmp, std::min(sizeof tmp, n - b.size()), 0);
      if (r <= 0) break;
      b.insert(b.end(), tmp, tmp + r);
    }
    return b;
  }
  // True when the peer closed the connection (EOF or reset) within the wait.
  bool PeerClosed(int timeout_ms = 10000) {
    uint8_t tmp[4096];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t r = ::recv(fd_, tmp, sizeof tmp, 0);
      if (r <= 0) return true;
    }
    return false;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Greeting + client flags + NBD_OPT_GO for `name`; returns false on failure.
  // With `structured`, negotiates structured replies first.
  bool Handshake(const std::string& name, bool structured = false) {
    Bytes g = Recv(kGreetingSize);
    if (g.size() != kGreetingSize) return false;
    Bytes out;
    Put32(&out, kClientFlagFixedNewstyle | kClientFlagNoZeroes);
    if (structured) {
      Put64(&out, kOptionMagic);
      Put32(&out, kOptStructuredReply);
      Put32(&out, 0);
    }
    Put64(&out, kOptionMagic);
    Put32(&out, kOptGo);
    Put32(&out, static_cast<uint32_t>(4 + name.size() + 2));
    Put32(&out, static_cast<uint32_t>(name.size()));
    PutText(&out, name);
    Put16(&out, 0);
    if (!Send(out)) return false;
    if (structured && !SkipOptionReply()) return false;
    for (;;) {
      Bytes h = Recv(kOptionReplyHeaderSize);
      if (h.size() != kOptionReplyHeaderSize) return false;
      const uint32_t type = GetBe32(h.data() + 12);
      const uint32_t len = GetBe32(h.data() + 16);
      if (Recv(len).size() != len) return false;
      if (type == kRepAck) return true;
      if (type != kRepInfo) return false;
    }
  }

 private:
  explicit RawSocket(int fd) : fd_(fd) {}
  bool SkipOptionReply() {
    Bytes h = Recv(kOptionReplyHeaderSize);
    if (h.size() != kOptionReplyHeaderSize) return false;
    const uint32_t len = GetBe32(h.data() + 16);
    return Recv(len).size() == len && GetBe32(h.data() + 12) == kRepAck;
  }
  int fd_;
};

}  // namespace tandem::nbd::testing
