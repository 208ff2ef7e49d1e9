#pragma once
// Connection: one NBD client, from the greeting to the hang-up. The handshake
// is ServerHandshake (pure) fed from the socket; transmission decodes
// requests (nbd/request.h), hands valid ones to the Backend, and writes
// replies (nbd/reply.h) in completion order.
//
// Transmission behaviour:
// - Many requests in flight: requests are taken from the socket and submitted
//   as long as fewer than max_requests_in_flight requests and
//   max_bytes_in_flight payload/read bytes are outstanding; beyond that the
//   connection stops reading until completions free room.
// - Replies go out as requests complete, batched into one gathered write.
//   With structured replies: READ -> one OFFSET_DATA chunk flagged DONE (or an
//   ERROR chunk with the reason), other commands -> a simple reply on success
//   and an ERROR chunk with the reason on failure. Without: simple replies.
// - WRITE payloads go into one aligned buffer from BufferCache, which is
//   handed to the backend: bytes still on the socket are read straight into
//   it; bytes that arrived together with earlier request headers (at most the
//   64 KiB receive buffer) are moved into it once.
// - Zero-copy READs: on a plain (non-TLS) socket, a READ whose bytes the
//   backend offers from the page cache (Backend::ZeroCopyReadFd) takes no
//   buffer and no backend call: its reply header goes out with the gathered
//   write, then its data is sent from the file with sendfile(2) (the socket
//   is non-blocking; when it is full the connection waits for room). Its
//   length still counts towards max_bytes_in_flight until it was sent. A
//   file error halfway through such a reply cannot be reported to the client
//   (the header promised the data): the connection is closed.
// - A refused request is answered with its error and changes nothing; a
//   refused WRITE's payload is read and discarded in receive-buffer pieces.
// - A bad request magic, a socket error or Stop() is a hard disconnect: no
//   further requests are read, requests already handed to the backend run to
//   completion (what the backend acknowledged stays written), their replies
//   are dropped, then the backend is Close()d and the connection removes
//   itself from its manager. NBD_CMD_DISC does the same after the replies of
//   outstanding requests were sent (and, with TLS, after a TLS shutdown).
// - A handshake that takes longer than handshake_timeout is cut off.
// Lifetime: owned by the ConnectionManager; asynchronous operations and
// backend requests hold a reference, so the object outlives its socket until
// its last request completed.
// Thread-safety: the event loop's thread only.

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "nbd/buffer_cache.h"
#include "nbd/export_registry.h"
#include "nbd/handshake.h"
#include "nbd/request.h"
#include "nbd/stream.h"

namespace tandem::nbd {

class ConnectionManager;

struct ConnectionConfig {
  HandshakeOptions handshake;
  std::shared_ptr<boost::asio::ssl::context> tls;  // required unless handshake.tls == kOff
  std::chrono::milliseconds handshake_timeout{30000};
  size_t max_requests_in_flight = 256;
  size_t max_bytes_in_flight = size_t{128} << 20;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  static constexpr size_t kReceiveBuffer = 64 * 1024;

  Connection(Stream::Socket socket, std::string peer, const ExportRegistry& exports,
             std::shared_ptr<BufferCache> buffers, ConnectionConfig config,
             std::weak_ptr<ConnectionManager> manager, uint64_t id);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start();
  // Hard disconnect (see above). Idempotent.
  void Stop();

  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }
  // The export in use; empty until transmission starts.
  const std::string& export_name() const { return export_name_; }
  size_t in_flight() const { return in_flight_; }

 private:
  struct Op;

  // Handshake.
  void HandshakeRead();
  void OnHandshakeInput(const boost::system::error_code& ec);
  void HandshakeSend(Bytes out, ServerHandshake::Step step);
  void AfterHandshakeStep(ServerHandshake::Step step);
  void StartTls();
  void EnterTransmission();

  // Transmission: reading.
  void Process();
  void ReadMore();
  void ReadPayloadDirect();
  void HandleRequest(const Request& request);
  void Submit(Op* op);
  void OnBackendDone(Op* op, Status status);
  bool Saturated() const;

  // Transmission: replying.
  void QueueReply(Op* op, uint32_t error, const std::string& message);
  void ScheduleWrite();
  void WriteReplies();
  void OnWritten(const boost::system::error_code& ec);
  // Sends the data of the zero-copy READ at the head of replies_.
  void SendFileData();
  // After a write finished: frees reading room, sends what is queued.
  void AfterWrite();
  // Reading paused at the in-flight limit continues once there is room again.
  void ResumeReadingIfRoom();
  // The client stopped taking replies (or a reply could not be completed):
  // drops every queued reply.
  void DropReplies();

  Op* NewOp(const Request& request);
  void Recycle(Op* op);
  void HardClose();
  void MaybeFinish();
  void Finish();

  Stream stream_;
  std::string peer_;
  const ExportRegistry& exports_;
  std::shared_ptr<BufferCache> buffers_;
  ConnectionConfig config_;
  std::weak_ptr<ConnectionManager> manager_;
  uint64_t id_;
  boost::asio::steady_timer timer_;

  std::unique_ptr<ServerHandshake> handshake_;
  Bytes handshake_in_;

  std::string export_name_;
  std::shared_ptr<Backend> backend_;
  ExportParams params_;

  std::vector<uint8_t> rbuf_;
  size_t rpos_ = 0, rend_ = 0;
  Op* payload_op_ = nullptr;  // WRITE whose payload is being received
  size_t payload_have_ = 0;
  uint64_t drain_left_ = 0;    // payload bytes of a refused WRITE still to discard
  bool reading_ = false;       // a read is outstanding
  bool read_closed_ = false;   // nothing more will be read
  bool paused_ = false;        // stopped reading for back-pressure
  bool disconnect_requested_ = false;
  bool write_failed_ = false;
  bool finished_ = false;
  size_t in_flight_ = 0;        // requests handed to the backend
  size_t in_flight_bytes_ = 0;  // their payload/read bytes (+ a payload being received)
  uint64_t requests_ = 0;

  std::deque<Op*> replies_;
  size_t writing_count_ = 0;
  bool writing_ = false;
  bool write_posted_ = false;
  bool zero_copy_ = false;  // plain socket: zero-copy READs allowed
  uint32_t file_sent_ = 0;  // data bytes of the head zero-copy READ sent so far
  std::vector<boost::asio::const_buffer> iov_;

  std::vector<std::unique_ptr<Op>> ops_;
  std::vector<Op*> free_ops_;
};

}  // namespace tandem::nbd
