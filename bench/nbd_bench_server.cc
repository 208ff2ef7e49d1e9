// nbd_bench_server: serves one file (or block device) over NBD through
// nbd::Server and nbd::DeviceBackend - Tandem's standalone export path - so
// that bench/nbd_bench (and a person) can point any NBD client at it. A test
// program for benchmarks, not a product: no daemon, no config file.
//
//   nbd_bench_server --file disk.img --socket /tmp/s.sock [--tcp 127.0.0.1:10809]
//                    [--name disk] [--cache direct|buffered] [--engine uring|aio|sync]
//                    [--tls required|optional --tls-cert C --tls-key K]
//
// It prints "ready" on stdout once listening, and exits cleanly on SIGINT or
// SIGTERM (stops listening, disconnects clients, waits for their requests).
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "common/log.h"
#include "common/memory.h"
#include "io/device_factory.h"
#include "io/event_loop.h"
#include "nbd/device_backend.h"
#include "nbd/server.h"

namespace {

namespace asio = boost::asio;
using namespace tandem;

bool ParseTcp(const std::string& text, asio::ip::tcp::endpoint* out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 >= text.size()) return false;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  const asio::ip::address addr = asio::ip::make_address(host, ec);
  if (ec) return false;
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port > 65535) return false;
  } catch (...) {
    return false;
  }
  *out = asio::ip::tcp::endpoint(addr, static_cast<uint16_t>(port));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, socket_path, tcp, name = "disk", cache = "direct", engine = "uring";
  std::string tls = "off", cert, key;
  bool verbose = false;
  CLI::App app{"Serve a file over NBD with Tandem's DeviceBackend (benchmark helper)"};
  app.add_option("--file", file, "backing file or block device")->required();
  app.add_option("--socket", socket_path, "Unix socket to listen on");
  app.add_option("--tcp", tcp, "IP:port to listen on");
  app.add_option("--name", name, "export name");
  app.add_option("--cache", cache, "direct (O_DIRECT) or buffered")
      ->check(CLI::IsMember({"direct", "buffered"}));
  app.add_option("--engine", engine, "uring, aio or sync")
      ->check(CLI::IsMember({"uring", "aio", "sync"}));
  app.add_option("--tls", tls, "off, optional or required")
      ->check(CLI::IsMember({"off", "optional", "required"}));
  app.add_option("--tls-cert", cert, "PEM certificate");
  app.add_option("--tls-key", key, "PEM private key");
  int64_t busy_poll_us = io::kDefaultBusyPoll.count();
  app.add_option("--busy-poll-us", busy_poll_us, "poll this long before sleeping (as tandemd)");
  app.add_flag("--verbose", verbose, "log every connection");
  CLI11_PARSE(app, argc, argv);
  if (socket_path.empty() && tcp.empty()) {
    std::cerr << "nbd_bench_server: give --socket and/or --tcp\n";
    return 1;
  }
  SetLogProgramName("nbd_bench_server");
  SetMinLogLevel(verbose ? LogLevel::kInfo : LogLevel::kWarning);

  RetainFreedIoBuffers();  // as tandemd
  asio::io_context loop(1);  // one thread runs it: lets Asio skip locking
  io::OpenOptions open;
  open.engine = *io::ParseEngine(engine);
  open.cache = cache == "direct" ? io::CacheMode::kDirect : io::CacheMode::kBuffered;
  auto dev = io::IoEnv::Default()->Open(loop, file, open);
  if (!dev.ok()) {
    std::cerr << "nbd_bench_server: " << dev.status().ToString() << "\n";
    return 2;
  }

  nbd::ServerOptions options;
  options.tls = tls == "off" ? nbd::TlsMode::kOff
                             : (tls == "optional" ? nbd::TlsMode::kOptional
                                                  : nbd::TlsMode::kRequired);
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  nbd::Server server(loop, options);
  Status st = server.Start();
  if (st.ok()) {
    st = server.exports().Add(name, std::make_shared<nbd::DeviceBackend>(std::move(*dev)));
  }
  if (st.ok() && !socket_path.empty()) st = server.ListenUnix(socket_path).status();
  if (st.ok() && !tcp.empty()) {
    asio::ip::tcp::endpoint ep;
    if (!ParseTcp(tcp, &ep)) {
      st = Status::InvalidArgument("--tcp " + tcp + ": expected IP:port");
    } else {
      auto l = server.ListenTcp(ep);
      st = l.status();
      if (st.ok()) std::cout << (*l)->address() << "\n";
    }
  }
  if (!st.ok()) {
    std::cerr << "nbd_bench_server: " << st.ToString() << "\n";
    return 2;
  }
  std::cout << "ready" << std::endl;

  asio::signal_set signals(loop, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.Stop();
    server.connections().OnEmpty([&] {
      server.exports().Remove(name);
      loop.stop();
    });
  });
  io::RunEventLoop(loop, std::chrono::microseconds(busy_poll_us));
  return 0;
}
