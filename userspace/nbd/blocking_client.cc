#include "nbd/blocking_client.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <future>

#include "io/event_loop.h"

namespace tandem::nbd {

namespace asio = boost::asio;

BlockingClient::BlockingClient(std::chrono::milliseconds timeout,
                               std::chrono::microseconds busy_poll)
    : timeout_(timeout),
      work_(asio::make_work_guard(loop_)),
      watchdog_(loop_),
      thread_([this, busy_poll] {
        io::RunEventLoop(loop_, busy_poll, [this] { return bulk_in_flight_ == 0; });
      }) {}

BlockingClient::~BlockingClient() {
  if (client_) (void)Disconnect();
  asio::post(loop_, [this] {
    watchdog_.cancel();
    client_.reset();
  });
  work_.reset();
  thread_.join();
}

Status BlockingClient::Connect(const ClientEndpoint& endpoint, ClientOptions options) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> result = promise->get_future();
  asio::post(loop_, [this, endpoint, options = std::move(options), promise]() mutable {
    Client::Connect(loop_, endpoint, std::move(options),
                    [this, promise](Result<std::shared_ptr<Client>> c) {
                      if (!c.ok()) return promise->set_value(c.status());
                      client_ = std::move(*c);
                      info_ = client_->info();
                      promise->set_value(Status::Ok());
                    });
  });
  // The connector has its own timeout (options.connect_timeout).
  return result.get();
}

Result<std::vector<ServerEntry>> BlockingClient::ListExports(const ClientEndpoint& endpoint,
                                                             ClientOptions options) {
  asio::io_context loop;
  std::optional<Result<std::vector<ServerEntry>>> out;
  Client::ListExports(loop, endpoint, std::move(options),
                      [&out](Result<std::vector<ServerEntry>> r) { out = std::move(r); });
  loop.run();
  if (!out) return Status::IoError("NBD list: no answer");
  return std::move(*out);
}

Client::Callback BlockingClient::CountBulk(uint64_t bytes, Client::Callback done) {
  if (bytes <= kBulkBytes) return done;
  ++bulk_in_flight_;
  return [this, done = std::move(done)](Status st) {
    --bulk_in_flight_;
    done(std::move(st));
  };
}

Status BlockingClient::Call(const Starter& start, uint64_t bytes) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> result = promise->get_future();
  asio::post(loop_, [this, start, promise, bytes] {
    if (!client_) return promise->set_value(Status::Aborted("NBD client not connected"));
    start(*client_, CountBulk(bytes, [promise](Status st) { promise->set_value(std::move(st)); }));
  });
  if (result.wait_for(timeout_) != std::future_status::ready) {
    asio::post(loop_, [this] {
      if (client_) client_->Close();
    });
    // Close() fails the request, which sets the promise: wait for that so the
    // caller's buffer is no longer in use when we return.
    result.wait();
    return Status::Timeout("NBD request not answered within " + std::to_string(timeout_.count()) +
                           " ms; connection closed");
  }
  return result.get();
}

void BlockingClient::StartAsync(Starter start, Client::Callback done, uint64_t bytes) {
  asio::post(loop_, [this, start = std::move(start), done = std::move(done), bytes]() mutable {
    if (!client_) return done(Status::Aborted("NBD client not connected"));
    const uint64_t id = next_async_++;
    async_started_.emplace(id, std::chrono::steady_clock::now());
    ArmWatchdog();
    start(*client_, CountBulk(bytes, [this, id, done = std::move(done)](Status st) {
      async_started_.erase(id);
      done(std::move(st));
    }));
  });
}

void BlockingClient::ArmWatchdog() {
  if (watchdog_armed_ || async_started_.empty()) return;
  watchdog_armed_ = true;
  // A quarter of the timeout between checks (1 ms to 1 s): a request is
  // failed at most 25% late.
  const auto interval = std::clamp<std::chrono::milliseconds>(
      timeout_ / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
  watchdog_.expires_after(interval);
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    watchdog_armed_ = false;
    if (ec) return;  // cancelled: the client is going away
    if (!async_started_.empty() &&
        std::chrono::steady_clock::now() - async_started_.begin()->second >= timeout_ && client_) {
      // Fails every pending request, which empties async_started_.
      client_->Close();
    }
    ArmWatchdog();
  });
}

Status BlockingClient::Read(uint64_t offset, uint32_t length, void* buf) {
  return Call(
      [&](Client& c, Client::Callback done) {
        c.Read(offset, length, static_cast<uint8_t*>(buf), std::move(done));
      },
      length);
}

Status BlockingClient::Write(uint64_t offset, uint32_t length, const void* data, bool fua) {
  return Call(
      [&](Client& c, Client::Callback done) {
        c.Write(offset, length, static_cast<const uint8_t*>(data), fua, std::move(done));
      },
      length);
}

Status BlockingClient::Flush() {
  return Call([](Client& c, Client::Callback done) { c.Flush(std::move(done)); });
}

Status BlockingClient::Trim(uint64_t offset, uint32_t length, bool fua) {
  return Call(
      [&](Client& c, Client::Callback done) { c.Trim(offset, length, fua, std::move(done)); });
}

Status BlockingClient::WriteZeroes(uint64_t offset, uint32_t length, bool no_hole, bool fua) {
  return Call([&](Client& c, Client::Callback done) {
    c.WriteZeroes(offset, length, no_hole, fua, std::move(done));
  });
}

Status BlockingClient::Disconnect() {
  Status st = Call([](Client& c, Client::Callback done) {
    if (!c.connected()) return done(Status::Ok());
    c.Disconnect(std::move(done));
  });
  asio::post(loop_, [this] { client_.reset(); });
  return st;
}

}  // namespace tandem::nbd
