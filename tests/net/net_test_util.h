#pragma once
// Helpers for the socket tests of the net module: a loop runner bounded by a
// deadline, a connected loopback TCP pair, and a PacketSink that records what
// it is given.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "net/connection.h"

namespace tandem::net::testing {

// Runs `loop` until `done()` holds or `limit` passed; returns done().
inline bool RunUntil(boost::asio::io_context& loop, const std::function<bool()>& done,
                     std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    if (loop.stopped()) loop.restart();
    loop.run_one_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Runs `loop` for `d` (handlers only; returns early only if it has no work).
inline void RunFor(boost::asio::io_context& loop, std::chrono::milliseconds d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < deadline) {
    if (loop.stopped()) loop.restart();
    if (loop.run_one_for(std::chrono::milliseconds(10)) == 0 && loop.stopped()) {
      // No work at all: nothing can happen any more.
      return;
    }
  }
}

// Two connected TCP sockets on 127.0.0.1.
inline std::pair<boost::asio::ip::tcp::socket, boost::asio::ip::tcp::socket> LoopbackPair(
    boost::asio::io_context& loop) {
  using boost::asio::ip::tcp;
  tcp::acceptor acceptor(loop, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  tcp::socket client(loop);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  return {std::move(client), std::move(server)};
}

// Records every callback of a PacketSink, in order.
class RecordingSink : public PacketSink {
 public:
  struct Event {
    enum Kind { kControl, kData, kDataReply, kRsData } kind;
    PacketType type = PacketType::kPing;
    ControlPacket control;
    DataPrefix data;
    DataReplyPrefix reply;
    RsDataPrefix rs;
    std::vector<uint8_t> bytes;  // the bulk data
  };

  void OnControl(PacketType type, ControlPacket packet) override {
    Event e{Event::kControl};
    e.type = type;
    e.control = std::move(packet);
    events.push_back(std::move(e));
  }
  void OnData(DataPrefix prefix, io::AlignedBuffer data) override {
    Event e{Event::kData};
    e.type = PacketType::kData;
    e.data = std::move(prefix);
    e.bytes.assign(data.data(), data.data() + data.size());
    events.push_back(std::move(e));
  }
  void OnDataReply(DataReplyPrefix prefix, io::AlignedBuffer data) override {
    Event e{Event::kDataReply};
    e.type = PacketType::kDataReply;
    e.reply = prefix;
    e.bytes.assign(data.data(), data.data() + data.size());
    events.push_back(std::move(e));
  }
  void OnRsData(RsDataPrefix prefix, io::AlignedBuffer data) override {
    Event e{Event::kRsData};
    e.type = PacketType::kRsData;
    e.rs = prefix;
    e.bytes.assign(data.data(), data.data() + data.size());
    events.push_back(std::move(e));
  }
  void OnClosed(Status why) override { closed.push_back(std::move(why)); }

  std::vector<Event> events;
  std::vector<Status> closed;
};

}  // namespace tandem::net::testing
