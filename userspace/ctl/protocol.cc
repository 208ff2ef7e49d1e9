#include "ctl/protocol.h"

namespace tandem::ctl {

namespace {
// Copying, comparing and printing a JSON value recurses once per level: a
// 64 KiB line of brackets would otherwise overflow the stack of whoever
// handles the request.
constexpr int kMaxRequestDepth = 64;
}  // namespace

Result<Request> ParseRequest(const std::string& line) {
  if (line.size() > kMaxRequestBytes) return Status::InvalidArgument("request too large");
  bool too_deep = false;
  nlohmann::json::parser_callback_t limit_depth = [&too_deep](int depth,
                                                              nlohmann::json::parse_event_t,
                                                              nlohmann::json&) {
    if (depth > kMaxRequestDepth) too_deep = true;
    return !too_deep;
  };
  auto j = nlohmann::json::parse(line, limit_depth, /*allow_exceptions=*/false);
  if (too_deep) {
    return Status::InvalidArgument("request nested deeper than " +
                                   std::to_string(kMaxRequestDepth) + " levels");
  }
  if (j.is_discarded()) return Status::InvalidArgument("request is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("request must be a JSON object");
  Request r;
  auto cmd = j.find("cmd");
  if (cmd == j.end() || !cmd->is_string() || cmd->get<std::string>().empty()) {
    return Status::InvalidArgument("request has no \"cmd\" string");
  }
  r.cmd = cmd->get<std::string>();
  if (auto res = j.find("resource"); res != j.end()) {
    if (!res->is_string()) return Status::InvalidArgument("\"resource\" must be a string");
    r.resource = res->get<std::string>();
  }
  if (auto args = j.find("args"); args != j.end()) {
    if (!args->is_object()) return Status::InvalidArgument("\"args\" must be an object");
    r.args = *args;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "cmd" && it.key() != "resource" && it.key() != "args") {
      return Status::InvalidArgument("unknown request field \"" + it.key() + "\"");
    }
  }
  return r;
}

std::string EncodeRequest(const Request& r) {
  nlohmann::json j{{"cmd", r.cmd}};
  if (!r.resource.empty()) j["resource"] = r.resource;
  if (!r.args.empty()) j["args"] = r.args;
  return JsonText(j);
}

std::string JsonText(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json OkReply(nlohmann::json result) {
  nlohmann::json j{{"ok", true}};
  if (!result.is_null()) j["result"] = std::move(result);
  return j;
}

nlohmann::json ErrorReply(const std::string& error, int exit_code) {
  return {{"ok", false}, {"error", error}, {"exit", exit_code}};
}

}  // namespace tandem::ctl
