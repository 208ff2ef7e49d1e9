// A real ControlServer on a Unix socket in a scratch directory, its event loop
// on a thread of its own, driven by ControlClient and by a raw socket client
// (for pipelined and malformed input): socket mode, replies in request order
// when handlers finish out of order, a garbage line, an oversize line, and a
// client pointed at a missing socket.
#include "ctl/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "ctl/client.h"
#include "testing/test_util.h"

namespace tandem::ctl {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace asio = boost::asio;

// A blocking Unix-socket client that writes raw bytes and reads lines, every
// wait bounded.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }

  bool Send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // The next line (without '\n'), or nullopt on timeout or end of stream.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (!Fill(deadline)) return std::nullopt;
    }
  }

  // True when the server closed the connection (end of stream or reset)
  // within `timeout` and nothing but `buffer_` was left to read.
  bool ClosedByPeer(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Fill(deadline)) {
    }
    return eof_;
  }
  const std::string& pending() const { return buffer_; }

 private:
  // Reads once; false on timeout or end of stream (eof_ set then).
  bool Fill(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) continue;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        eof_ = true;
        return false;
      }
      if (n < 0) return false;
      buffer_.append(buf, static_cast<size_t>(n));
      return true;
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buffer_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = dir_.path() + "/tandemd.sock"; }

  void TearDown() override { StopLoop(); }

  // Starts the server with `handler` (called on the loop thread) and runs the loop.
  void StartServer(ControlServer::Handler handler) {
    server_ = std::make_unique<ControlServer>(loop_, path_, std::move(handler));
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    thread_ = std::thread([this] { loop_.run(); });
  }

  void StopLoop() {
    if (thread_.joinable()) {
      // Destroy the server on its own thread, then let the loop go.
      std::promise<void> done;
      asio::post(loop_, [&] {
        server_.reset();
        done.set_value();
      });
      done.get_future().wait_for(10s);
      work_.reset();
      loop_.stop();
      thread_.join();
    }
    server_.reset();
  }

  // Echoes the request back, so the client can see what the server parsed.
  static void Echo(const Request& r, const ControlServer::Reply& reply) {
    reply(OkReply(json{{"cmd", r.cmd}, {"resource", r.resource}, {"args", r.args}}));
  }

  testing::ScratchDir dir_;
  std::string path_;
  asio::io_context loop_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(loop_);
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
};

TEST_F(ServerTest, SocketIsPrivateAndAnswersTheClient) {
  StartServer(Echo);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  ControlClient client;
  Status s = client.Connect(path_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (int i = 0; i < 5; ++i) {
    Request r{"role", "r" + std::to_string(i), json{{"i", i}}};
    auto reply = client.Call(r, 10s);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ((*reply)["ok"], true);
    EXPECT_EQ((*reply)["result"]["cmd"], "role");
    EXPECT_EQ((*reply)["result"]["resource"], "r" + std::to_string(i));
    EXPECT_EQ((*reply)["result"]["args"], json({{"i", i}}));
  }
}

TEST_F(ServerTest, StartReplacesAStaleSocketFileAndStopRemovesIt) {
  dir_.Write("tandemd.sock", "left over by a crashed daemon");
  StartServer(Echo);
  ControlClient client;
  ASSERT_TRUE(client.Connect(path_).ok());
  ASSERT_TRUE(client.Call(Request{"status"}, 10s).ok());
  StopLoop();
  struct stat st {};
  EXPECT_NE(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(ServerTest, RepliesInRequestOrderWhenHandlersFinishOutOfOrder) {
  std::mutex mu;
  std::vector<int> finished;  // handler completion order
  StartServer([&](const Request& r, ControlServer::Reply reply) {
    const int n = r.args.value("n", -1);
    const int ms = r.args.value("ms", 0);
    auto timer = std::make_shared<asio::steady_timer>(loop_, std::chrono::milliseconds(ms));
    timer->async_wait([timer, n, &mu, &finished, reply](const boost::system::error_code&) {
      {
        std::lock_guard<std::mutex> lock(mu);
        finished.push_back(n);
      }
      reply(OkReply(json{{"n", n}}));
    });
  });
  RawClient c(path_);
  ASSERT_TRUE(c.connected());
  // Later requests finish first; a garbage line in the middle is answered in its place.
  std::string batch;
  const int delays[] = {400, 300, 200, 100, 0};
  for (int n = 0; n < 5; ++n) {
    batch += EncodeRequest(Request{"sleep", "", json{{"n", n}, {"ms", delays[n]}}}) + "\n";
    if (n == 2) batch += "this is not json\n";
  }
  ASSERT_TRUE(c.Send(batch));
  std::vector<json> replies;
  for (int i = 0; i < 6; ++i) {
    auto line = c.ReadLine();
    ASSERT_TRUE(line.has_value()) << "reply " << i;
    replies.push_back(json::parse(*line));
  }
  ASSERT_EQ(replies.size(), 6u);
  int expect_n = 0;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (i == 3) {
      EXPECT_EQ(replies[i]["ok"], false) << replies[i].dump();
      EXPECT_EQ(replies[i]["error"], "request is not valid JSON");
      EXPECT_EQ(replies[i]["exit"], 1);
      continue;
    }
    EXPECT_EQ(replies[i]["ok"], true) << replies[i].dump();
    EXPECT_EQ(replies[i]["result"]["n"], expect_n++) << replies[i].dump();
  }
  std::lock_guard<std::mutex> lock(mu);
  // The handlers really did finish in reverse.
  EXPECT_EQ(finished, (std::vector<int>{4, 3, 2, 1, 0}));
}

TEST_F(ServerTest, GarbageLineGetsAnErrorAndTheConnectionKeepsWorking) {
  StartServer(Echo);
  RawClient c(path_);
  ASSERT_TRUE(c.connected());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"garbage", "request is not valid JSON"},
      {"[1,2,3]", "request must be a JSON object"},
      {R"({"resource":"r0"})", "request has no \"cmd\" string"},
      {R"({"cmd":"x","bogus":1})", "unknown request field \"bogus\""},
      {"", "request is not valid JSON"},
  };
  for (const auto& [line, error] : bad) {
    ASSERT_TRUE(c.Send(line + "\n"));
    auto reply = c.ReadLine();
    ASSERT_TRUE(reply.has_value()) << line;
    json j = json::parse(*reply);
    EXPECT_EQ(j["ok"], false) << line;
    EXPECT_EQ(j["error"], error) << line;
    EXPECT_EQ(j["exit"], 1) << line;
  }
  ASSERT_TRUE(c.Send(EncodeRequest(Request{"status", "r0"}) + "\n"));
  auto reply = c.ReadLine();
  ASSERT_TRUE(reply.has_value());
  json j = json::parse(*reply);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["result"]["cmd"], "status");
  EXPECT_EQ(j["result"]["resource"], "r0");
}

TEST_F(ServerTest, OversizeLineGetsOneErrorThenCloseAndTheServerSurvives) {
  std::atomic<int> handled{0};
  StartServer([&](const Request& r, ControlServer::Reply reply) {
    ++handled;
    Echo(r, reply);
  });
  {
    RawClient c(path_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(std::string(kMaxRequestBytes + 100, 'a')));
    auto line = c.ReadLine();
    ASSERT_TRUE(line.has_value());
    json j = json::parse(*line);
    EXPECT_EQ(j["ok"], false);
    EXPECT_NE(j["error"].get<std::string>().find("request too large"), std::string::npos)
        << j.dump();
    EXPECT_EQ(j["exit"], 1);
    EXPECT_TRUE(c.ClosedByPeer());
    EXPECT_EQ(c.pending(), "");  // exactly one reply
  }
  // A new connection is served as before.
  ControlClient client;
  ASSERT_TRUE(client.Connect(path_).ok());
  auto reply = client.Call(Request{"status"}, 10s);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ((*reply)["ok"], true);
  EXPECT_EQ(handled, 1);
}

TEST_F(ServerTest, LineOfExactlyTheLimitIsServed) {
  StartServer(Echo);
  const std::string head = R"({"cmd":"x","args":{"pad":")";
  const std::string tail = R"("}})";
  std::string line = head + std::string(kMaxRequestBytes - head.size() - tail.size(), 'p') + tail;
  ASSERT_EQ(line.size(), kMaxRequestBytes);
  RawClient c(path_);
  ASSERT_TRUE(c.Send(line + "\n"));
  auto reply = c.ReadLine();
  ASSERT_TRUE(reply.has_value());
  json j = json::parse(*reply);
  EXPECT_EQ(j["ok"], true) << reply->substr(0, 200);
  EXPECT_EQ(j["result"]["args"]["pad"].get<std::string>().size(),
            kMaxRequestBytes - head.size() - tail.size());
}

TEST_F(ServerTest, ClientsAreIndependent) {
  StartServer(Echo);
  ControlClient a, b;
  ASSERT_TRUE(a.Connect(path_).ok());
  ASSERT_TRUE(b.Connect(path_).ok());
  for (int i = 0; i < 3; ++i) {
    auto ra = a.Call(Request{"a", std::to_string(i)}, 10s);
    auto rb = b.Call(Request{"b", std::to_string(i)}, 10s);
    ASSERT_TRUE(ra.ok() && rb.ok());
    EXPECT_EQ((*ra)["result"]["cmd"], "a");
    EXPECT_EQ((*rb)["result"]["cmd"], "b");
    EXPECT_EQ((*rb)["result"]["resource"], std::to_string(i));
  }
}

TEST_F(ServerTest, ClientCallTimesOutWhenNoReplyComes) {
  StartServer([](const Request&, ControlServer::Reply) {});  // never answers
  ControlClient client;
  ASSERT_TRUE(client.Connect(path_).ok());
  const auto start = std::chrono::steady_clock::now();
  auto reply = client.Call(Request{"status"}, 200ms);
  EXPECT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Status::Code::kTimeout) << reply.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(CtlClient, MissingSocketIsAClearError) {
  testing::ScratchDir dir;
  const std::string path = dir.path() + "/nobody-home.sock";
  ControlClient client;
  Status s = client.Connect(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("tandemd"), std::string::npos) << s.message();
}

TEST(CtlClient, PathTooLongIsRefused) {
  ControlClient client;
  Status s = client.Connect("/tmp/" + std::string(200, 'x'));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace tandem::ctl
