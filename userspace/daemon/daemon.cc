#include "daemon/daemon.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstdio>
#include <fstream>

#include "common/log.h"
#include "common/run_paths.h"
#include "common/strings.h"
#include "config/drbd_loader.h"
#include "daemon/status_format.h"

namespace tandem::daemon {

namespace asio = boost::asio;
using replication::Resource;

namespace {

constexpr int kExitRefused = 11;   // drbdsetup's exit status for a refused state change
constexpr int kExitTimeout = 5;    // wait-connect timed out
constexpr int kExitNoResource = 10;

nlohmann::json ReplyFor(const Status& st) {
  if (st.ok()) return ctl::OkReply();
  if (int code = replication::RefusalCode(st); code != 0) {
    std::string msg = st.message().substr(0, st.message().rfind('#'));
    return ctl::ErrorReply(msg, kExitRefused);
  }
  if (st.code() == Status::Code::kTimeout) return ctl::ErrorReply(st.message(), kExitTimeout);
  return ctl::ErrorReply(st.message(), 2);
}

std::string Base64Encode(const uint8_t* p, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

Result<std::vector<uint8_t>> Base64Decode(const std::string& s) {
  if (s.size() % 4 != 0) return Status::InvalidArgument("data is not base64");
  std::vector<uint8_t> out(s.size() / 4 * 3);
  int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()),
                            static_cast<int>(s.size()));
  if (len < 0) return Status::InvalidArgument("data is not base64");
  size_t pad = 0;
  if (!s.empty() && s.back() == '=') ++pad;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(len) - pad);
  return out;
}

bool GetU64(const nlohmann::json& args, const char* key, uint64_t* out) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_number_unsigned()) return false;
  *out = it->get<uint64_t>();
  return true;
}

bool GetBool(const nlohmann::json& args, const char* key) {
  auto it = args.find(key);
  return it != args.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

nlohmann::json StatusToJson(const replication::ResourceStatus& s) {
  nlohmann::json j;
  j["name"] = s.name;
  j["minor"] = s.minor;
  j["role"] = replication::RoleName(s.state.role);
  j["peer_role"] = replication::RoleName(s.state.peer_role);
  j["cstate"] = replication::ConnStateName(s.state.conn);
  j["disk"] = replication::DiskStateName(s.state.disk);
  j["peer_disk"] = replication::DiskStateName(s.state.peer_disk);
  j["protocol"] = std::string(1, s.protocol);
  j["attached"] = s.attached;
  j["degraded_before"] = s.degraded_before;
  j["open_count"] = s.open_count;
  j["size"] = s.data_size;
  j["out_of_sync_kib"] = s.out_of_sync_kib;
  j["user_paused"] = s.state.user_paused;
  j["peer_paused"] = s.state.peer_paused;
  const auto& c = s.counters;
  j["counters"] = {{"ns", c.ns}, {"nr", c.nr}, {"dw", c.dw}, {"dr", c.dr}, {"al", c.al},
                   {"bm", c.bm}, {"lo", c.lo}, {"pe", c.pe}, {"ua", c.ua}, {"ap", c.ap},
                   {"ep", c.ep}};
  char uuid[4][20];
  const uint64_t u[4] = {s.uuids.current, s.uuids.bitmap, s.uuids.history1, s.uuids.history2};
  for (int i = 0; i < 4; ++i) std::snprintf(uuid[i], sizeof uuid[i], "%016llX", static_cast<unsigned long long>(u[i]));
  j["uuids"] = {{"current", uuid[0]}, {"bitmap", uuid[1]}, {"history", {uuid[2], uuid[3]}}};
  if (s.sync.active) {
    j["sync"] = {{"total_kib", s.sync.total_bits * 4},
                 {"left_kib", s.sync.left_bits * 4},
                 {"copied_kib", s.sync.copied_bytes / 1024},
                 {"speed_kib_s", static_cast<uint64_t>(s.sync.recent_kib_per_s)}};
  }
  return j;
}

Daemon::Daemon(asio::io_context& loop, DaemonOptions options, Env* env, io::IoEnv* io_env)
    : loop_(loop), options_(std::move(options)), env_(env), io_env_(io_env),
      status_timer_(loop), alive_(std::make_shared<bool>(true)) {}

Daemon::~Daemon() { *alive_ = false; }

Status Daemon::Start() {
  config::Diagnostics diags;
  auto cfg = config::LoadDrbdConfig(env_, options_.config_path, options_.node, &diags);
  for (const auto& d : diags.all()) {
    Log(d.severity == config::Diagnostic::Severity::kError ? LogLevel::kError : LogLevel::kWarning,
        d.ToString());
  }
  if (!cfg.ok()) return cfg.status();
  config_ = std::make_unique<config::DrbdConfig>(std::move(*cfg));
  if (::mkdir(options_.run_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "cannot create run directory " + options_.run_dir);
  }
  for (const auto& r : config_->resources) TANDEM_RETURN_IF_ERROR(AddResource(r));
  control_ = std::make_unique<ctl::ControlServer>(
      loop_, options_.run_dir + "/tandemd.sock",
      [this](const ctl::Request& req, ctl::ControlServer::Reply reply) {
        Handle(req, std::move(reply));
      });
  TANDEM_RETURN_IF_ERROR(control_->Start());
  WriteStatusFile();
  Log(LogLevel::kInfo, "tandemd for node " + options_.node + " ready: " +
                           std::to_string(resources_.size()) + " resources from " +
                           options_.config_path);
  return Status::Ok();
}

Status Daemon::AddResource(const config::ResourceConfig& cfg) {
  auto r = std::make_unique<Resource>(loop_, cfg, env_, io_env_);
  auto alive = alive_;
  r->AddChangeListener([this, alive] {
    if (*alive) ScheduleStatusWrite();
  });
  auto exp = std::make_unique<ResourceExport>(loop_, r.get(), options_.node, options_.run_dir);
  Status st = exp->Start();
  resources_[cfg.name] = std::move(r);
  if (!st.ok()) {
    exp->Stop();
    return st.WithContext(cfg.name + ": NBD export");
  }
  exports_[cfg.name] = std::move(exp);
  return Status::Ok();
}

void Daemon::DropClients(const std::string& name, std::function<void()> done) {
  auto it = exports_.find(name);
  if (it == exports_.end() || it->second->clients() == 0) return asio::post(loop_, done);
  Log(LogLevel::kWarning, name + ": disconnecting " + std::to_string(it->second->clients()) +
                              " NBD client(s)");
  it->second->DisconnectClients();
  // Each connection closes once its in-flight requests completed; poll for
  // that every 10 ms, giving up after 30 s (a request stuck on a dead disk).
  auto timer = std::make_shared<asio::steady_timer>(loop_);
  auto tries = std::make_shared<int>(3000);
  auto alive = alive_;
  auto poll = std::make_shared<std::function<void()>>();
  *poll = [this, alive, name, timer, tries, poll, done] {
    if (!*alive) {
      *poll = nullptr;  // nothing of this lambda is used after this line
      return;
    }
    auto e = exports_.find(name);
    if (e == exports_.end() || e->second->clients() == 0 || --*tries <= 0) {
      auto finish = done;  // this lambda's captures die with the next line
      *poll = nullptr;     // break the reference cycle
      return finish();
    }
    timer->expires_after(std::chrono::milliseconds(10));
    timer->async_wait([poll](const boost::system::error_code&) {
      if (*poll) (*poll)();
    });
  };
  asio::post(loop_, [poll] { (*poll)(); });
}

Resource* Daemon::Find(const std::string& name) {
  auto it = resources_.find(name);
  return it == resources_.end() ? nullptr : it->second.get();
}

void Daemon::ScheduleStatusWrite() {
  if (status_write_scheduled_) return;
  status_write_scheduled_ = true;
  auto alive = alive_;
  asio::post(loop_, [this, alive] {
    if (!*alive) return;
    status_write_scheduled_ = false;
    WriteStatusFile();
  });
}

void Daemon::WriteStatusFile() {
  std::vector<replication::ResourceStatus> all;
  for (const auto& [name, r] : resources_) all.push_back(r->Report());
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.minor < b.minor; });
  const std::string path = status_path();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << FormatStatusFile(all);
    if (!f) {
      Log(LogLevel::kError, "cannot write " + tmp);
      return;
    }
  }
  // Readers see the old file or the new one, never a half-written one.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) Log(LogLevel::kError, "cannot rename " + tmp);
}

Status Daemon::Reload() {
  config::Diagnostics diags;
  auto cfg = config::LoadDrbdConfig(env_, options_.config_path, options_.node, &diags);
  if (!cfg.ok()) {
    Log(LogLevel::kError, "configuration not reloaded:\n" + diags.Format());
    return cfg.status();
  }
  for (const auto& rc : cfg->resources) {
    if (Resource* r = Find(rc.name)) {
      r->Reconfigure(rc);
    } else {
      Log(LogLevel::kInfo, "new resource " + rc.name);
      if (Status st = AddResource(rc); !st.ok()) Log(LogLevel::kError, st.message());
    }
  }
  for (auto it = resources_.begin(); it != resources_.end();) {
    if (!cfg->Find(it->first) && !it->second->Report().attached &&
        it->second->state().conn == replication::ConnState::kStandAlone) {
      Log(LogLevel::kInfo, "resource " + it->first + " removed from the configuration");
      if (auto e = exports_.find(it->first); e != exports_.end()) {
        e->second->Stop();
        exports_.erase(e);
      }
      it = resources_.erase(it);
    } else {
      ++it;
    }
  }
  config_ = std::make_unique<config::DrbdConfig>(std::move(*cfg));
  ScheduleStatusWrite();
  return Status::Ok();
}

void Daemon::Shutdown(std::function<void()> done) {
  auto left = std::make_shared<size_t>(resources_.size());
  if (*left == 0) return asio::post(loop_, done);
  for (const auto& [name, r] : resources_) {
    std::string n = name;
    Resource* res = r.get();
    // Clients first: their requests complete, then the resource goes down.
    DropClients(n, [this, res, left, done, n] {
      res->Shutdown([this, left, done, n](Status st) {
        if (!st.ok()) Log(LogLevel::kError, n + ": shutdown: " + st.message());
        if (--*left == 0) {
          for (auto& [en, e] : exports_) e->Stop();
          WriteStatusFile();
          if (control_) control_->Stop();
          done();
        }
      });
    });
  }
}

void Daemon::Handle(const ctl::Request& req, ctl::ControlServer::Reply reply) {
  if (req.cmd == "resources") {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [name, r] : resources_) names.push_back(name);
    return reply(ctl::OkReply(names));
  }
  if (req.cmd == "adjust-all" || (req.cmd == "adjust" && req.resource.empty())) {
    return reply(ReplyFor(Reload()));
  }
  if (req.resource.empty()) return reply(ctl::ErrorReply("'" + req.cmd + "' needs a resource", 1));
  Resource* r = Find(req.resource);
  if (!r) {
    return reply(ctl::ErrorReply("'" + req.resource + "' is not a resource of tandemd (node " +
                                     options_.node + ", " + options_.config_path + ")",
                                 kExitNoResource));
  }
  HandleResource(r, req, std::move(reply));
}

void Daemon::HandleResource(Resource* r, const ctl::Request& req, ctl::ControlServer::Reply reply) {
  const std::string& cmd = req.cmd;
  const nlohmann::json& a = req.args;
  auto done = [reply](Status st) { reply(ReplyFor(st)); };
  if (cmd == "up") return r->Up(done);
  if (cmd == "down") return r->Down(done);
  if (cmd == "attach") return r->Attach(done);
  if (cmd == "detach") return r->Detach(done);
  if (cmd == "connect") return r->Connect(GetBool(a, "discard_my_data"), done);
  if (cmd == "disconnect") return r->Disconnect(done);
  if (cmd == "primary") return r->Primary(GetBool(a, "force"), done);
  if (cmd == "secondary") {
    if (!GetBool(a, "force")) return r->Secondary(false, done);
    // --force: the NBD clients are disconnected first (DRBD would leave the
    // opener with a device it can no longer write to).
    return DropClients(r->name(), [r, done] { r->Secondary(true, done); });
  }
  if (cmd == "show-export") {
    auto e = exports_.find(r->name());
    nlohmann::json j;
    j["unix_socket"] = ExportSocketPath(options_.run_dir, r->name());
    j["uri"] = ExportUnixUri(options_.run_dir, r->name());
    if (e != exports_.end() && !e->second->tcp_address().empty()) {
      j["tcp"] = e->second->tcp_address();
      j["tcp_uri"] = "nbd://" + e->second->tcp_address() + "/" + r->name();
    }
    j["clients"] = e == exports_.end() ? 0 : e->second->clients();
    return reply(ctl::OkReply(j));
  }
  if (cmd == "outdate") return r->Outdate(done);
  if (cmd == "pause-sync") return r->PauseSync(done);
  if (cmd == "verify") return r->Verify(done);
  if (cmd == "resume-sync") return r->ResumeSync(done);
  if (cmd == "invalidate") return r->Invalidate(done);
  if (cmd == "invalidate-remote") return r->InvalidateRemote(done);
  if (cmd == "new-current-uuid") return r->NewCurrentUuid(GetBool(a, "clear_bitmap"), done);
  if (cmd == "adjust") {
    Status st = Reload();
    if (!st.ok()) return done(st);
    // adjust also brings the resource to its configured state: up.
    return r->Up(done);
  }
  if (cmd == "wait-connect" || cmd == "wait-sync") {
    uint64_t ms = 0;
    GetU64(a, "timeout_ms", &ms);
    auto timeout = std::chrono::milliseconds(ms);
    if (cmd == "wait-connect") return r->WaitConnect(timeout, done);
    return r->WaitSync(timeout, done);
  }
  if (cmd == "status") {
    nlohmann::json j = StatusToJson(r->Report());
    auto e = exports_.find(r->name());
    j["nbd_clients"] = e == exports_.end() ? 0 : e->second->clients();
    return reply(ctl::OkReply(j));
  }
  // Data hooks for tests and tools, used until clients speak NBD.
  if (cmd == "write") {
    uint64_t offset = 0;
    auto data = a.find("data");
    if (!GetU64(a, "offset", &offset) || data == a.end() || !data->is_string()) {
      return reply(ctl::ErrorReply("write needs offset and data (base64)", 1));
    }
    auto bytes = Base64Decode(data->get<std::string>());
    if (!bytes.ok() || bytes->empty()) return reply(ctl::ErrorReply("write: bad data", 1));
    io::AlignedBuffer buf(bytes->size());
    std::memcpy(buf.data(), bytes->data(), bytes->size());
    return r->Write(offset, std::move(buf), GetBool(a, "fua") ? 1u : 0u, done);
  }
  if (cmd == "read") {
    uint64_t offset = 0, length = 0;
    if (!GetU64(a, "offset", &offset) || !GetU64(a, "length", &length) || length == 0 ||
        length > (32u << 20)) {
      return reply(ctl::ErrorReply("read needs offset and length (up to 32 MiB)", 1));
    }
    auto buf = std::make_shared<io::AlignedBuffer>(length);
    return r->Read(offset, buf->data(), length, [reply, buf](Status st) {
      if (!st.ok()) return reply(ReplyFor(st));
      reply(ctl::OkReply({{"data", Base64Encode(buf->data(), buf->size())}}));
    });
  }
  if (cmd == "flush") return r->Flush(done);
  if (cmd == "test-io-error" && options_.fault_plans) {
    auto mode = a.value("mode", std::string());
    auto plan = options_.fault_plans->PlanFor(r->config().local().disk());
    if (mode != "reads" && mode != "writes" && mode != "all" && mode != "off") {
      return reply(ctl::ErrorReply("test-io-error mode: reads, writes, all or off", 1));
    }
    plan->fail_reads = mode == "reads" || mode == "all";
    plan->fail_writes = mode == "writes" || mode == "all";
    return reply(ctl::OkReply());
  }
  if (cmd == "zeroes") {
    uint64_t offset = 0, length = 0;
    if (!GetU64(a, "offset", &offset) || !GetU64(a, "length", &length)) {
      return reply(ctl::ErrorReply("zeroes needs offset and length", 1));
    }
    return r->WriteZeroes(offset, length, GetBool(a, "may_unmap"), GetBool(a, "fua"), done);
  }
  reply(ctl::ErrorReply("unknown command '" + cmd + "'", 1));
}

}  // namespace tandem::daemon
