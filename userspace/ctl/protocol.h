#pragma once
// The control-socket protocol between tandemadm (and scripts) and tandemd:
// newline-delimited JSON over a Unix stream socket, one request per line, one
// reply per line, in order. A request is an object with "cmd" (string),
// optionally "resource" (string) and "args" (object). A reply is
// {"ok":true,"result":...} or {"ok":false,"error":"one line","exit":N}, where
// exit is the status tandemadm should exit with. Pure helpers; thread-safe.

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace tandem::ctl {

inline constexpr size_t kMaxRequestBytes = 64 * 1024;
inline constexpr size_t kMaxReplyBytes = 64 * 1024 * 1024;

struct Request {
  std::string cmd;
  std::string resource;  // empty when the command is not about one resource
  nlohmann::json args = nlohmann::json::object();
};

// Validates one line (without the newline). Errors say what is wrong.
Result<Request> ParseRequest(const std::string& line);
std::string EncodeRequest(const Request& r);

// JSON text that never throws: bytes that are not UTF-8 (a path, a name) become U+FFFD.
std::string JsonText(const nlohmann::json& j, int indent = -1);

nlohmann::json OkReply(nlohmann::json result = nullptr);
nlohmann::json ErrorReply(const std::string& error, int exit_code);

}  // namespace tandem::ctl
