#pragma once
// BlockingClient: the asynchronous Client behind a blocking, thread-safe
// interface. It runs its own event loop on a private thread; every call posts
// the request to that loop and waits for its completion, so many threads may
// call at once and their requests are in flight together (what a FUSE
// front-end or a simple tool needs).
//
// Contract: Connect() once, then any calls from any threads; each call
// returns the request's Status (see Client). Every wait is bounded by
// `timeout` (Timeout: the connection is then closed, as its state is no
// longer known). The destructor disconnects politely (NBD_CMD_DISC) when the
// connection is healthy, then stops the thread. Buffers must stay valid until
// the call returns (they do: the call blocks).
// StartAsync() is the non-blocking form for callers that can take the answer
// on the client's loop thread (the FUSE shim replies to the kernel from
// there, so no thread waits per request): same timeout, enforced by a
// watchdog on the loop that closes the connection when the oldest unanswered
// request is older than `timeout`.
// Failure: errors are Status values; nothing throws.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "io/event_loop.h"
#include "nbd/client.h"

namespace tandem::nbd {

class BlockingClient {
 public:
  // busy_poll: the loop thread's polling window (io/event_loop.h; 0 sleeps
  // between events). The loop polls only while no bulk request (Read or
  // Write of more than kBulkBytes) is in flight: bulk transfers keep the
  // loop busy anyway, and a polling thread would take CPU from the threads
  // copying their data.
  explicit BlockingClient(std::chrono::milliseconds timeout = std::chrono::seconds(120),
                          std::chrono::microseconds busy_poll = std::chrono::microseconds(0));
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  Status Connect(const ClientEndpoint& endpoint, ClientOptions options);
  static Result<std::vector<ServerEntry>> ListExports(const ClientEndpoint& endpoint,
                                                      ClientOptions options);
  // Valid after a successful Connect().
  const ExportInfo& info() const { return info_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  Status Read(uint64_t offset, uint32_t length, void* buf);
  Status Write(uint64_t offset, uint32_t length, const void* data, bool fua = false);
  Status Flush();
  Status Trim(uint64_t offset, uint32_t length, bool fua = false);
  Status WriteZeroes(uint64_t offset, uint32_t length, bool no_hole = false, bool fua = false);
  // Starts one request without waiting; callable from any thread. `start`
  // runs on the loop thread and issues exactly one request on the client,
  // passing it the callback it is given; `done` runs on the loop thread,
  // exactly once, with the request's Status (Aborted when not connected;
  // after a timeout, the status of the closed connection). The caller keeps
  // the request's buffers alive until `done` runs.
  // `bytes`: the data the request moves, for the polling rule above.
  using Starter = std::function<void(Client&, Client::Callback)>;
  void StartAsync(Starter start, Client::Callback done, uint64_t bytes = 0);
  // The engines' threshold (io::kBulkIoBytes), so both loops agree on "bulk".
  static constexpr uint64_t kBulkBytes = io::kBulkIoBytes;
  // NBD_CMD_DISC after the requests in flight; later calls fail.
  Status Disconnect();

 private:
  // Runs `start(done)` on the loop and waits for done(Status).
  Status Call(const Starter& start, uint64_t bytes = 0);
  // Loop thread: wraps `done` so that a bulk request counts in bulk_in_flight_.
  Client::Callback CountBulk(uint64_t bytes, Client::Callback done);
  // Loop thread: keeps a check of the oldest StartAsync request scheduled
  // while any is unanswered.
  void ArmWatchdog();

  std::chrono::milliseconds timeout_;
  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<Client> client_;  // touched on the loop thread only, after Connect
  ExportInfo info_;
  // Loop thread only: StartAsync requests not yet answered, by start order.
  std::map<uint64_t, std::chrono::steady_clock::time_point> async_started_;
  uint64_t next_async_ = 0;
  size_t bulk_in_flight_ = 0;  // loop thread only: requests over kBulkBytes
  boost::asio::steady_timer watchdog_;
  bool watchdog_armed_ = false;
  std::thread thread_;  // last: it runs the loop, so everything above exists first
};

}  // namespace tandem::nbd
