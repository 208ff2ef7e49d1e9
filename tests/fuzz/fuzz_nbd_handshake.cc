// libFuzzer target for the NBD handshake machines. Byte 0 picks the set-up
// (bits 0-1: the server's TLS mode; bit 2: drive the client machine instead
// of the server's; bit 3: the client wants structured replies; bit 4: TLS
// for the client); the rest is what the peer sends, fed in want()-sized
// pieces. Properties beyond "no crash": the machine never asks for more
// than its bound in one piece (over-long options are skipped, not stored),
// every reply the server emits decodes, an export entered has sane block
// sizes, and no export is left open once the machine is gone.
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "io/mem_block_device.h"
#include "nbd/client_handshake.h"
#include "nbd/device_backend.h"
#include "nbd/handshake.h"
#include "nbd/options.h"
#include "nbd/wire.h"

namespace {

using namespace tandem::nbd;

void CheckServerOutput(const Bytes& out, bool greeting_done) {
  // After the greeting every byte the server sends is an option reply,
  // except the EXPORT_NAME answer, which ends the stream.
  size_t at = greeting_done ? 0 : kGreetingSize;
  while (at + kOptionReplyHeaderSize <= out.size()) {
    auto h = DecodeOptionReplyHeader({out.data() + at, kOptionReplyHeaderSize});
    if (!h.ok()) return;  // the EXPORT_NAME answer (size + flags)
    at += kOptionReplyHeaderSize + h->length;
    if (h->length > kMaxStringLength + 64) std::abort();
  }
}

void FuzzServer(uint8_t setup, const uint8_t* data, size_t size) {
  boost::asio::io_context loop;
  ExportRegistry exports;
  auto r0 = std::make_shared<DeviceBackend>(std::make_unique<tandem::io::MemBlockDevice>(loop, 1 << 20),
                                            DeviceBackendOptions{"fuzz", 1});
  auto r1 = std::make_shared<DeviceBackend>(
      std::make_unique<tandem::io::MemBlockDevice>(loop, 8192, true, 4096));
  if (!exports.Add("r0", r0).ok() || !exports.Add("r1", r1).ok()) std::abort();
  {
    const TlsMode mode = static_cast<TlsMode>((setup & 3) % 3);
    ServerHandshake hs(exports, {mode, (setup & 8) ? "r1" : ""});
    Bytes out;
    hs.Start(&out);
    size_t at = 0;
    while (hs.want() > 0 && size - at >= hs.want()) {
      const size_t n = hs.want();
      if (n > ServerHandshake::kMaxOptionData && n > ServerHandshake::kSkipPiece) std::abort();
      out.clear();
      const ServerHandshake::Step step = hs.Feed({data + at, n}, &out);
      at += n;
      CheckServerOutput(out, true);
      if (step == ServerHandshake::Step::kStartTls) hs.TlsEstablished();
      if (step == ServerHandshake::Step::kTransmission) {
        ServerHandshake::Selected sel = hs.TakeSelected();
        const ExportParams& p = sel.params;
        if (p.min_block < 512 || p.preferred_block < p.min_block ||
            p.max_block % p.min_block != 0 || !(p.flags & kFlagHasFlags)) {
          std::abort();
        }
        sel.backend->Close();
        break;
      }
      if (step == ServerHandshake::Step::kClose && hs.close_reason().empty()) std::abort();
      if (step == ServerHandshake::Step::kClose) break;
    }
  }
  if (r0->openers() != 0 || r1->openers() != 0) std::abort();
}

void FuzzClient(uint8_t setup, const uint8_t* data, size_t size) {
  ClientHandshake hs({"r0", (setup & 8) != 0, (setup & 16) != 0, (setup & 32) != 0});
  Bytes out;
  size_t at = 0;
  while (hs.want() > 0 && size - at >= hs.want()) {
    const size_t n = hs.want();
    if (n > ClientHandshake::kMaxReplyPayload && n > kGreetingSize) std::abort();
    const ClientHandshake::Step step = hs.Feed({data + at, n}, &out);
    at += n;
    if (step == ClientHandshake::Step::kStartTls) hs.TlsEstablished(&out);
    if (step == ClientHandshake::Step::kFailed && hs.error().ok()) std::abort();
    if (step == ClientHandshake::Step::kDone || step == ClientHandshake::Step::kFailed) break;
  }
  const BlockSizes& b = hs.info().block_sizes;
  if (b.minimum == 0 || (b.maximum != 0xffffffffu && b.maximum % b.minimum != 0)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t setup = data[0];
  if (setup & 4) {
    FuzzClient(setup, data + 1, size - 1);
  } else {
    FuzzServer(setup, data + 1, size - 1);
  }
  return 0;
}
