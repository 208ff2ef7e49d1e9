#pragma once
// Client: an asynchronous NBD client on an Asio event loop - what the kernel
// shim, the tests and the benchmarks use to talk to an NBD server (Tandem's
// or anyone's).
//
// Connecting: fixed newstyle, optional STARTTLS, optional structured
// replies, NBD_OPT_GO with the block-size information request (falling back
// to NBD_OPT_EXPORT_NAME on old servers) - see nbd/client_handshake.h.
// Requests: Read, Write (FUA), Flush, Trim (FUA), WriteZeroes (NO_HOLE, FUA),
// any number in flight; each completes once, on the loop, with a Status
// (nbd/errors.h maps the server's NBD error; the server's message is part of
// it). Requests are checked against what the server advertised before they
// are sent - range, minimum block alignment, maximum block size, and the
// transmission flags for flush/trim/zeroes/FUA/read-only - and a request that
// fails the check completes with InvalidArgument without being sent.
// Buffers: Read's `buf` and Write's `data` are the caller's, kept alive and
// untouched until the callback; read data is received straight into `buf`
// when it arrives in bulk, and write data is sent from `data` (no copies).
// Failure: a broken connection or a protocol violation by the server fails
// every pending request (IoError / ProtocolError) and every later one
// (Aborted); the client never retries.
// Lifetime: held by shared_ptr; pending operations keep it alive. Close() (or
// Disconnect()) ends it; destroying the last reference closes the socket.
// Thread-safety: the loop's thread only (nbd/blocking_client.h wraps it for
// other threads).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "nbd/client_handshake.h"
#include "nbd/reply_decoder.h"
#include "nbd/request.h"
#include "nbd/stream.h"

namespace tandem::nbd {

struct ClientEndpoint {
  std::string unix_path;  // set for a Unix socket
  std::string host;       // else: numeric address or host name
  uint16_t port = 10809;

  static ClientEndpoint Unix(std::string path) { return {std::move(path), "", 0}; }
  static ClientEndpoint Tcp(std::string host, uint16_t port) { return {"", std::move(host), port}; }
  std::string ToString() const;
};

struct ClientOptions {
  std::string export_name;
  bool structured_replies = true;
  bool tls = false;
  std::string tls_ca_file;      // empty: do not verify the server (encryption only)
  std::string tls_server_name;  // checked against the certificate when a CA is given
  std::chrono::milliseconds connect_timeout{30000};
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  using Callback = std::function<void(Status)>;
  using ConnectCallback = std::function<void(Result<std::shared_ptr<Client>>)>;
  using ListCallback = std::function<void(Result<std::vector<ServerEntry>>)>;

  static void Connect(boost::asio::io_context& loop, const ClientEndpoint& endpoint,
                      ClientOptions options, ConnectCallback done);
  // NBD_OPT_LIST, then NBD_OPT_ABORT.
  static void ListExports(boost::asio::io_context& loop, const ClientEndpoint& endpoint,
                          ClientOptions options, ListCallback done);

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ExportInfo& info() const { return info_; }

  void Read(uint64_t offset, uint32_t length, uint8_t* buf, Callback done);
  void Write(uint64_t offset, uint32_t length, const uint8_t* data, bool fua, Callback done);
  void Flush(Callback done);
  void Trim(uint64_t offset, uint32_t length, bool fua, Callback done);
  void WriteZeroes(uint64_t offset, uint32_t length, bool no_hole, bool fua, Callback done);
  // Sends NBD_CMD_DISC once nothing is in flight, then closes; `done` runs after.
  void Disconnect(Callback done);
  // Hard close; pending requests fail with Aborted.
  void Close();

  size_t in_flight() const { return callbacks_.size(); }
  bool connected() const { return !broken_ && stream_ && stream_->is_open(); }

 private:
  struct Pending {
    Request request;
    const uint8_t* payload = nullptr;
    uint8_t header[28];
  };
  class Connector;

  explicit Client(boost::asio::io_context& loop);
  Status Check(const Request& r) const;
  void Send(Request r, const uint8_t* payload, uint8_t* read_buf, Callback done);
  void Fail(Callback done, Status st);
  void StartWrite();
  void StartRead();
  void Deliver(std::vector<ReplyDecoder::Completion>& done);
  void Break(Status why);
  void MaybeSendDisconnect();

  boost::asio::io_context& loop_;
  std::unique_ptr<Stream> stream_;
  ExportInfo info_;
  std::unique_ptr<ReplyDecoder> decoder_;
  uint64_t next_handle_ = 1;
  std::unordered_map<uint64_t, Callback> callbacks_;
  std::deque<Pending> outbox_;
  size_t writing_count_ = 0;
  bool writing_ = false;
  bool reading_ = false;
  bool broken_ = false;
  Status broken_status_;
  std::vector<boost::asio::const_buffer> iov_;
  std::vector<uint8_t> rbuf_;
  std::vector<ReplyDecoder::Completion> completions_;
  Callback disconnect_done_;
  bool disconnect_sent_ = false;
};

}  // namespace tandem::nbd
