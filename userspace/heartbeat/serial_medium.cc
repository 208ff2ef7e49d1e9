#include "heartbeat/serial_medium.h"

#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "heartbeat/hb_log.h"
#include "heartbeat/message.h"
#include "heartbeat/serial_framer.h"

namespace tandem::heartbeat {

namespace {

namespace asio = boost::asio;

constexpr auto kReopenInterval = std::chrono::seconds(1);
// Never queue more than this for a slow or stuck line: heartbeats are
// worthless once late.
constexpr size_t kMaxPendingBytes = 4 * kMaxMessageBytes;

class SerialMedium final : public Medium {
 public:
  SerialMedium(asio::io_context& loop, HbEnv* env, MediumSpec spec, Receive receive,
               Garbage garbage)
      : Medium(std::move(spec)), env_(env), tty_(loop), timer_(loop),
        receive_(std::move(receive)), garbage_(std::move(garbage)),
        alive_(std::make_shared<bool>(true)) {}
  ~SerialMedium() override {
    *alive_ = false;
    Stop();
  }

  void Start() override { TryOpen(); }

  void Stop() override {
    boost::system::error_code ec;
    timer_.cancel();
    tty_.close(ec);
    pending_.clear();
    writing_ = false;
  }

  bool is_open() const override { return tty_.is_open(); }

  void Send(const std::string& bytes) override {
    if (!tty_.is_open()) return;
    if (pending_.size() + bytes.size() > kMaxPendingBytes) return;
    pending_ += bytes;
    Flush();
  }

 private:
  void TryOpen() {
    auto fd = env_->OpenSerial(spec_.device, spec_.baud);
    if (!fd.ok()) {
      if (!open_error_logged_) {
        open_error_logged_ = true;
        HbLog(HbLevel::kError, "cannot open link " + spec_.tag + " (" + spec_.device +
                                   "): " + fd.status().message() + " (retrying every second)");
      }
      ScheduleReopen();
      return;
    }
    boost::system::error_code ec;
    tty_.assign(*fd, ec);
    if (ec) {
      ::close(*fd);
      ScheduleReopen();
      return;
    }
    tty_.non_blocking(true, ec);
    if (open_error_logged_) HbLog(HbLevel::kInfo, "link " + spec_.tag + " (" + spec_.device + ") opened");
    open_error_logged_ = false;
    framer_ = SerialFramer();
    Read();
  }

  void ScheduleReopen() {
    auto alive = alive_;
    timer_.expires_after(kReopenInterval);
    timer_.async_wait([this, alive](const boost::system::error_code& ec) {
      if (*alive && !ec) TryOpen();
    });
  }

  void Fail(const std::string& why) {
    if (!open_error_logged_) {
      open_error_logged_ = true;
      HbLog(HbLevel::kError, "link " + spec_.tag + " (" + spec_.device + ") failed: " + why +
                                 " (reopening every second)");
    }
    boost::system::error_code ec;
    tty_.close(ec);
    pending_.clear();
    writing_ = false;
    ScheduleReopen();
  }

  void Read() {
    auto alive = alive_;
    tty_.async_read_some(asio::buffer(buf_), [this, alive](const boost::system::error_code& ec,
                                                           size_t n) {
      if (!*alive || ec == asio::error::operation_aborted || !tty_.is_open()) return;
      if (ec || n == 0) {
        Fail(ec ? ec.message() : "end of file");
        return;
      }
      auto out = framer_.Feed(std::string_view(buf_.data(), n));
      if (out.skipped_bytes > 0 && garbage_) garbage_(out.skipped_bytes, spec_.device);
      for (const auto& frame : out.frames) receive_(frame, spec_.device);
      Read();
    });
  }

  void Flush() {
    if (writing_ || pending_.empty() || !tty_.is_open()) return;
    writing_ = true;
    auto alive = alive_;
    auto data = std::make_shared<std::string>(std::move(pending_));
    pending_.clear();
    asio::async_write(tty_, asio::buffer(*data),
                      [this, alive, data](const boost::system::error_code& ec, size_t) {
                        if (!*alive) return;
                        writing_ = false;
                        if (ec == asio::error::operation_aborted) return;
                        if (ec) {
                          Fail(ec.message());
                          return;
                        }
                        Flush();
                      });
  }

  HbEnv* env_;
  asio::posix::stream_descriptor tty_;
  asio::steady_timer timer_;
  Medium::Receive receive_;
  Medium::Garbage garbage_;
  SerialFramer framer_;
  std::array<char, 4096> buf_{};
  std::string pending_;
  bool writing_ = false;
  bool open_error_logged_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace

std::unique_ptr<Medium> MakeSerialMedium(asio::io_context& loop, HbEnv* env, MediumSpec spec,
                                         Medium::Receive receive, Medium::Garbage garbage) {
  return std::make_unique<SerialMedium>(loop, env, std::move(spec), std::move(receive),
                                        std::move(garbage));
}

}  // namespace tandem::heartbeat
