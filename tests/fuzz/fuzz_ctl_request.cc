// libFuzzer target for the control-socket request parser (ctl/protocol.h):
// every line a local client sends goes through ParseRequest. Beyond "no crash,
// no exception": a refusal is InvalidArgument with a reason; an accepted
// request has a non-empty cmd and object args, and re-encodes (EncodeRequest,
// what tandemadm sends) to one line that parses back to the same cmd,
// resource and args.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ctl/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tandem::Status;
  using tandem::ctl::EncodeRequest;
  using tandem::ctl::ParseRequest;
  const std::string line(reinterpret_cast<const char*>(data), size);
  auto r = ParseRequest(line);
  if (!r.ok()) {
    if (r.status().code() != Status::Code::kInvalidArgument || r.status().message().empty()) {
      std::abort();
    }
    return 0;
  }
  if (r->cmd.empty() || !r->args.is_object()) std::abort();
  const std::string encoded = EncodeRequest(*r);
  if (encoded.find('\n') != std::string::npos) std::abort();
  // Re-encoding may grow a request (1e5 -> 100000.0): past the size limit the
  // re-parse is refused by design, and says so.
  auto again = ParseRequest(encoded);
  if (encoded.size() > tandem::ctl::kMaxRequestBytes) {
    if (again.ok()) std::abort();
    return 0;
  }
  if (!again.ok()) std::abort();
  if (again->cmd != r->cmd || again->resource != r->resource || again->args != r->args) {
    std::abort();
  }
  if (EncodeRequest(*again) != encoded) std::abort();
  return 0;
}
