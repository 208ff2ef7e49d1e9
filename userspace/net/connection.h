#pragma once
// PeerConnection: one established TCP connection to the peer, framed as
// replication packets (docs/wire-protocol.md). Reads run continuously and hand
// each decoded packet to a PacketSink; sends are queued and written in order,
// several packets per system call. Reads fill one receive buffer, and every
// packet it holds is decoded before the next read, so a burst of small
// packets (acknowledgements, 4 KiB writes) costs one system call, not two or
// three per packet. Bulk data is copied out of that buffer into its own
// aligned buffer, and the part not yet received is read straight into it;
// sends go from the caller's buffer (no extra copy).
//
// Thread-safety: everything runs on the io_context the socket belongs to.
// Lifetime: owned through shared_ptr; the sink gets OnClosed exactly once,
// after which it is never called again. Detach() before destroying a sink.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "io/aligned_buffer.h"
#include "net/packet.h"

namespace tandem::net {

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual void OnControl(PacketType type, ControlPacket packet) = 0;
  virtual void OnData(DataPrefix prefix, io::AlignedBuffer data) = 0;
  virtual void OnDataReply(DataReplyPrefix prefix, io::AlignedBuffer data) = 0;
  virtual void OnRsData(RsDataPrefix prefix, io::AlignedBuffer data) = 0;
  // The connection ended: a ProtocolError (malformed input), IoError (socket),
  // or the status given to Close().
  virtual void OnClosed(Status why) = 0;
};

class PeerConnection : public std::enable_shared_from_this<PeerConnection> {
 public:
  using SentCallback = std::function<void()>;

  PeerConnection(boost::asio::ip::tcp::socket socket, std::string peer_description);
  ~PeerConnection();

  // Starts (or, with a new sink, continues) delivering packets.
  void Start(PacketSink* sink);
  void SetSink(PacketSink* sink) { sink_ = sink; }
  void Detach() { sink_ = nullptr; }

  void SendControl(PacketType type, const ControlPacket& packet, SentCallback sent = {});
  // `prefix` from the Encode*Prefix functions; `data` (len bytes) must stay
  // valid until `sent` runs (or the connection closed).
  void SendBulk(std::vector<uint8_t> prefix, const void* data, size_t len, SentCallback sent = {});
  // Idempotent. Pending sends are dropped; OnClosed(why) follows (posted).
  void Close(Status why);
  // Like Close, but packets already queued are sent first (a DISCONNECT, or
  // our state reports when we drop the link over a split brain), for at most
  // `grace`. Nothing is delivered to the sink meanwhile (Detach first).
  void CloseAfterSending(Status why, std::chrono::milliseconds grace);

  bool closed() const { return closed_; }
  const std::string& peer() const { return peer_; }
  size_t queued_bytes() const { return queued_bytes_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }
  std::chrono::steady_clock::time_point last_receive() const { return last_receive_; }
  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  struct Outgoing {
    std::vector<uint8_t> head;
    const void* data = nullptr;
    size_t len = 0;
    SentCallback sent;
  };
  using BulkPrefix = std::variant<DataPrefix, DataReplyPrefix, RsDataPrefix>;
  void ReadMore();
  void Parse();
  void ReadBulkRest(BulkPrefix prefix, io::AlignedBuffer data, size_t have);
  void DeliverBulk(BulkPrefix prefix, io::AlignedBuffer data);
  void NoteReceived(size_t n);
  void Pump();
  void Fail(Status why);

  boost::asio::ip::tcp::socket socket_;
  std::string peer_;
  PacketSink* sink_ = nullptr;
  bool started_ = false;
  bool closed_ = false;
  std::deque<Outgoing> queue_;
  bool closing_ = false;  // CloseAfterSending: close once the queue is sent
  Status closing_reason_;
  boost::asio::steady_timer grace_timer_;
  std::vector<Outgoing> writing_;
  bool write_in_flight_ = false;
  size_t queued_bytes_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  std::chrono::steady_clock::time_point last_receive_;
  // Received bytes not yet decoded: rbuf_[rpos_, rend_).
  std::vector<uint8_t> rbuf_;
  size_t rpos_ = 0;
  size_t rend_ = 0;
};

}  // namespace tandem::net
