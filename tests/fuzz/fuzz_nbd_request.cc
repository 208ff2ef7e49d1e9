// libFuzzer target for the NBD transmission codecs. Byte 0 picks the
// export's geometry (bits 0-1: minimum block 512/4096/65536/512; bit 2:
// structured replies; bit 3: read-only; bit 4: also decode the input as a
// reply stream). The rest is decoded as a series of request headers, each
// checked by CheckRequest; with bit 4 the same bytes are fed to the client's
// ReplyDecoder, one byte-split pass and one whole pass, against a few
// requests in flight. Properties beyond "no crash": an accepted request lies
// inside the export, is aligned and within the maximum; a refused one names
// an NBD error value; the reply decoder writes only inside the buffers it
// was given (ASan), completes only requests in flight, and both passes agree.
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <span>
#include <vector>

#include "nbd/errors.h"
#include "nbd/options.h"
#include "nbd/reply.h"
#include "nbd/reply_decoder.h"
#include "nbd/request.h"
#include "nbd/wire.h"

namespace {

using namespace tandem::nbd;

void CheckRequests(uint8_t setup, const uint8_t* data, size_t size) {
  ExportParams p;
  static const uint32_t kMin[] = {512, 4096, 65536, 512};
  p.min_block = kMin[setup & 3];
  p.preferred_block = std::max<uint32_t>(4096, p.min_block);
  p.max_block = kMaxBlockSize;
  p.size = (setup & 0x40) ? (uint64_t{1} << 60) : (uint64_t{1} << 30);
  p.structured = (setup & 4) != 0;
  p.flags = kFlagHasFlags | kFlagSendFlush | kFlagSendFua;
  p.flags |= (setup & 8) ? kFlagReadOnly : (kFlagSendTrim | kFlagSendWriteZeroes);
  for (size_t at = 0; at + kRequestSize <= size; at += kRequestSize) {
    auto r = DecodeRequest({data + at, kRequestSize});
    if (!r.ok()) {
      if (GetBe32(data + at) == kRequestMagic) std::abort();
      continue;
    }
    const Verdict v = CheckRequest(*r, p);
    if (v.ok()) {
      if (r->type == kCmdDisc || r->type == kCmdFlush) continue;
      if (r->offset > p.size || r->length > p.size - r->offset) std::abort();
      if (r->offset % p.min_block || r->length % p.min_block) std::abort();
      if (r->type != kCmdTrim && r->length > p.max_block) std::abort();
      if ((p.flags & kFlagReadOnly) && r->type != kCmdRead) std::abort();
    } else {
      if (v.message.empty()) std::abort();
      if (NbdErrorName(v.error).rfind("error ", 0) == 0) std::abort();  // not a spec value
    }
  }
}

struct Outcome {
  std::vector<std::pair<uint64_t, bool>> done;
  bool broken = false;
};

Outcome DecodeReplies(bool structured, const uint8_t* data, size_t size, size_t piece,
                      std::vector<std::vector<uint8_t>>* bufs) {
  ReplyDecoder d(structured);
  const Request reqs[] = {{0, kCmdRead, 1, 4096, 4096},
                          {0, kCmdWrite, 2, 0, 512},
                          {0, kCmdRead, 3, 0, 0},
                          {0, kCmdFlush, 4, 0, 0}};
  bufs->assign(4, std::vector<uint8_t>());
  for (size_t i = 0; i < 4; ++i) {
    (*bufs)[i].resize(reqs[i].type == kCmdRead ? reqs[i].length : 0);
    d.Expect(reqs[i], (*bufs)[i].data());
  }
  Outcome o;
  std::vector<ReplyDecoder::Completion> done;
  for (size_t at = 0; at < size && !o.broken; at += piece) {
    const size_t n = std::min(piece, size - at);
    o.broken = !d.Feed({data + at, n}, &done).ok();
  }
  for (auto& c : done) {
    if (c.handle < 1 || c.handle > 4) std::abort();
    o.done.emplace_back(c.handle, c.status.ok());
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t setup = data[0];
  CheckRequests(setup, data + 1, size - 1);
  if (setup & 0x10) {
    std::vector<std::vector<uint8_t>> a, b;
    const Outcome whole = DecodeReplies(setup & 4, data + 1, size - 1, size, &a);
    const Outcome bytes = DecodeReplies(setup & 4, data + 1, size - 1, 1, &b);
    if (whole.done != bytes.done || whole.broken != bytes.broken) std::abort();
    if (a != b) std::abort();
  }
  // The option and reply payload decoders on the same bytes.
  const std::span<const uint8_t> rest(data + 1, size - 1);
  (void)DecodeInfoRequest(rest);
  (void)DecodeServerEntry(rest);
  (void)DecodeInfoReply(rest);
  (void)DecodeErrorChunk(kReplyTypeErrorOffset, rest);
  (void)DecodeErrorChunk(kReplyTypeError, rest);
  return 0;
}
