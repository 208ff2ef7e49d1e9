#include "io/transfer_all.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <vector>

namespace tandem::io {
namespace {

namespace asio = boost::asio;

constexpr size_t kMiB = 1024 * 1024;

// A stream that takes (or gives) every byte offered in one step and counts
// the steps: what a socket with room for everything does.
class CountingStream {
 public:
  using executor_type = asio::io_context::executor_type;
  explicit CountingStream(asio::io_context& io) : io_(io) {}
  executor_type get_executor() { return io_.get_executor(); }

  template <typename ConstBuffers, typename Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    ++steps;
    const size_t n = asio::buffer_size(buffers);
    asio::post(io_, [h = std::move(handler), n]() mutable { h({}, n); });
  }
  template <typename MutableBuffers, typename Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    ++steps;
    const size_t n = asio::buffer_size(buffers);
    asio::post(io_, [h = std::move(handler), n]() mutable { h({}, n); });
  }

  int steps = 0;

 private:
  asio::io_context& io_;
};

TEST(TransferAll, SendsOneMebibyteInFourStepsWhereAsiosDefaultTakesSixteen) {
  asio::io_context io;
  std::vector<uint8_t> data(kMiB, 0x5a);
  CountingStream ours(io), asios(io);
  size_t ours_n = 0, asios_n = 0;
  asio::async_write(ours, asio::buffer(data), SendAll(),
                    [&](const boost::system::error_code&, size_t n) { ours_n = n; });
  asio::async_write(asios, asio::buffer(data),
                    [&](const boost::system::error_code&, size_t n) { asios_n = n; });
  io.run();
  EXPECT_EQ(ours_n, kMiB);
  EXPECT_EQ(asios_n, kMiB);
  EXPECT_EQ(ours.steps, static_cast<int>(kMiB / kSendStep));
  EXPECT_EQ(asios.steps, 16);  // asio::transfer_all(): 64 KiB a step
}

TEST(TransferAll, ReceivesOneMebibyteInOneStep) {
  asio::io_context io;
  std::vector<uint8_t> data(kMiB);
  CountingStream stream(io);
  size_t got = 0;
  asio::async_read(stream, asio::buffer(data), ReceiveAll(),
                   [&](const boost::system::error_code&, size_t n) { got = n; });
  io.run();
  EXPECT_EQ(got, kMiB);
  EXPECT_EQ(stream.steps, 1);
}

TEST(TransferAll, StopsAtAnError) {
  EXPECT_EQ(ReceiveAll()(asio::error::broken_pipe, 100), 0u);
  EXPECT_EQ(SendAll()(asio::error::broken_pipe, 100), 0u);
  EXPECT_EQ(SendAll()({}, 100), kSendStep);
  EXPECT_GE(ReceiveAll()({}, 100), size_t{1} << 30);
}

// Over a real socket pair, whose buffers are smaller than the transfer: many
// steps, every byte in order.
TEST(TransferAll, MovesEveryByteThroughASocketPair) {
  asio::io_context io;
  asio::local::stream_protocol::socket a(io), b(io);
  asio::local::connect_pair(a, b);
  std::vector<uint8_t> out(3 * kMiB + 123), in(out.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i * 131 + (i >> 12));
  boost::system::error_code write_ec = asio::error::would_block, read_ec = asio::error::would_block;
  size_t written = 0, read = 0;
  asio::async_write(a, asio::buffer(out), SendAll(),
                    [&](const boost::system::error_code& ec, size_t n) {
                      write_ec = ec;
                      written = n;
                    });
  asio::async_read(b, asio::buffer(in), ReceiveAll(),
                   [&](const boost::system::error_code& ec, size_t n) {
                     read_ec = ec;
                     read = n;
                   });
  io.run_for(std::chrono::seconds(10));
  EXPECT_FALSE(write_ec);
  EXPECT_FALSE(read_ec);
  EXPECT_EQ(written, out.size());
  EXPECT_EQ(read, in.size());
  EXPECT_TRUE(in == out);
}

}  // namespace
}  // namespace tandem::io
