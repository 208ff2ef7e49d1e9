#pragma once
// Opening backing disks. IoEnv is the io module's Env: production code opens
// devices through IoEnv::Default(); tests substitute an IoEnv that wraps what
// it opens (e.g. in a FaultInjectingDevice).
//
// Engine choice: config `disk { io-engine uring|aio|sync; }`. The factory probes
// at run time; an engine the kernel refuses falls back (uring -> aio -> sync)
// with a log line naming the reason. Caching: kAuto picks the documented default
// for the backing type (docs/io.md, "Caching").

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "io/block_device.h"

namespace tandem::io {

enum class Engine { kUring, kAio, kSync };
enum class CacheMode { kAuto, kDirect, kBuffered };

std::string_view EngineName(Engine e);
Result<Engine> ParseEngine(std::string_view name);  // "uring", "aio", "sync"

struct OpenOptions {
  Engine engine = Engine::kUring;
  CacheMode cache = CacheMode::kAuto;
  bool read_only = false;
  bool allow_fallback = true;  // false: fail instead of falling back to another engine
  unsigned queue_depth = 128;  // submission queue size (uring, aio)
};

class IoEnv {
 public:
  virtual ~IoEnv() = default;
  static IoEnv* Default();
  // Opens a regular file or block device. Completions run on `loop`.
  virtual Result<std::unique_ptr<BlockDevice>> Open(boost::asio::io_context& loop,
                                                    const std::string& path,
                                                    const OpenOptions& options) = 0;
};

}  // namespace tandem::io
