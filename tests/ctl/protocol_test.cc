// The control-socket request format: what ParseRequest accepts and refuses
// (with a reason), EncodeRequest's round trip, and the reply shapes.
#include "ctl/protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tandem::ctl {
namespace {

using nlohmann::json;

void ExpectRefused(const std::string& line, const std::string& reason) {
  auto r = ParseRequest(line);
  ASSERT_FALSE(r.ok()) << line;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << line;
  EXPECT_NE(r.status().message().find(reason), std::string::npos)
      << line << " -> " << r.status().message() << " (want '" << reason << "')";
}

TEST(ProtocolParseRequest, MinimalRequest) {
  auto r = ParseRequest(R"({"cmd":"status"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->cmd, "status");
  EXPECT_EQ(r->resource, "");
  EXPECT_TRUE(r->args.is_object());
  EXPECT_TRUE(r->args.empty());
}

TEST(ProtocolParseRequest, FullRequest) {
  auto r = ParseRequest(
      R"(  {"resource": "r0", "cmd": "primary", "args": {"force": true, "n": [1, 2.5, "x"]}}  )");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->cmd, "primary");
  EXPECT_EQ(r->resource, "r0");
  EXPECT_EQ(r->args, json::parse(R"({"force":true,"n":[1,2.5,"x"]})"));
}

TEST(ProtocolParseRequest, UnicodeIsKept) {
  auto r = ParseRequest(R"({"cmd":"x","resource":"r\u00e9sum\u00e9","args":{"k":"\u2603"}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->resource, "r\xC3\xA9sum\xC3\xA9");
  EXPECT_EQ(r->args["k"], "\xE2\x98\x83");
}

TEST(ProtocolParseRequest, NotJson) {
  for (const std::string& line : std::vector<std::string>{
           "", " ", "status", "{", "{\"cmd\":\"x\"", "{\"cmd\":\"x\"} trailing", "{'cmd':'x'}",
           "{\"cmd\":\"x\",}", "\xFF\xFE", "{\"cmd\":\"\xFF\"}", "{\"cmd\":\"a\\ud800\"}"}) {
    ExpectRefused(line, "not valid JSON");
  }
}

TEST(ProtocolParseRequest, NotAnObject) {
  for (const std::string& line :
       std::vector<std::string>{"[]", "[{\"cmd\":\"x\"}]", "\"status\"", "42", "null", "true"}) {
    ExpectRefused(line, "must be a JSON object");
  }
}

TEST(ProtocolParseRequest, CmdMissingEmptyOrNotAString) {
  for (const std::string& line : std::vector<std::string>{
           "{}", R"({"resource":"r0"})", R"({"cmd":""})", R"({"cmd":5})", R"({"cmd":null})",
           R"({"cmd":["status"]})", R"({"cmd":{"name":"status"}})", R"({"cmd":true})",
           R"({"CMD":"status"})"}) {
    ExpectRefused(line, "no \"cmd\" string");
  }
}

TEST(ProtocolParseRequest, ResourceMustBeAString) {
  for (const std::string& line : std::vector<std::string>{
           R"({"cmd":"x","resource":5})", R"({"cmd":"x","resource":null})",
           R"({"cmd":"x","resource":["r0"]})", R"({"cmd":"x","resource":{}})"}) {
    ExpectRefused(line, "\"resource\" must be a string");
  }
}

TEST(ProtocolParseRequest, ArgsMustBeAnObject) {
  for (const std::string& line :
       std::vector<std::string>{R"({"cmd":"x","args":[]})", R"({"cmd":"x","args":"force"})",
                                R"({"cmd":"x","args":null})", R"({"cmd":"x","args":1})"}) {
    ExpectRefused(line, "\"args\" must be an object");
  }
}

TEST(ProtocolParseRequest, UnknownFieldsAreRefused) {
  ExpectRefused(R"({"cmd":"x","extra":1})", "unknown request field \"extra\"");
  ExpectRefused(R"({"cmd":"x","resource":"r0","args":{},"Resource":"r1"})",
                "unknown request field \"Resource\"");
}

TEST(ProtocolParseRequest, SizeLimit) {
  // A valid request of exactly the limit is accepted; one byte more is not.
  const std::string head = R"({"cmd":"x","args":{"pad":")";
  const std::string tail = R"("}})";
  std::string at_limit =
      head + std::string(kMaxRequestBytes - head.size() - tail.size(), 'p') + tail;
  ASSERT_EQ(at_limit.size(), kMaxRequestBytes);
  auto r = ParseRequest(at_limit);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->args["pad"].get<std::string>().size(), kMaxRequestBytes - head.size() - tail.size());
  std::string over =
      head + std::string(kMaxRequestBytes - head.size() - tail.size() + 1, 'p') + tail;
  ExpectRefused(over, "request too large");
  ExpectRefused(std::string(10 * kMaxRequestBytes, '['), "request too large");
}

std::string NestedArgs(size_t depth) {
  return R"({"cmd":"x","args":{"a":)" + std::string(depth, '[') + std::string(depth, ']') + "}}";
}

TEST(ProtocolParseRequest, ModerateNestingIsKept) {
  auto r = ParseRequest(NestedArgs(60));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json* v = &r->args["a"];
  for (int i = 0; i < 59; ++i) {
    ASSERT_TRUE(v->is_array() && v->size() == 1) << i;
    v = &(*v)[0];
  }
  EXPECT_EQ(*v, json::array());
}

TEST(ProtocolParseRequest, DeepNestingIsRefusedNotACrash) {
  // Copying, comparing or printing a JSON value recurses per level: a line of
  // nothing but brackets, within the size limit, must not reach the handler.
  ExpectRefused(NestedArgs(70), "nested deeper than 64 levels");
  const std::string deepest = NestedArgs((kMaxRequestBytes - NestedArgs(0).size()) / 2);
  ASSERT_LE(deepest.size(), kMaxRequestBytes);
  ASSERT_GT(deepest.size(), kMaxRequestBytes - 4);
  ExpectRefused(deepest, "nested deeper than 64 levels");
  ExpectRefused(std::string(kMaxRequestBytes, '['), "nested deeper than 64 levels");
  ExpectRefused(std::string(kMaxRequestBytes / 2, '{'), "not valid JSON");
}

TEST(ProtocolEncodeRequest, RoundTrips) {
  std::vector<Request> requests;
  requests.push_back(Request{"status", "", json::object()});
  requests.push_back(Request{"primary", "r0", json{{"force", true}}});
  requests.push_back(
      Request{"resize", "data-1", json{{"size", 1ull << 40}, {"list", {1, "2", nullptr}}}});
  requests.push_back(Request{"x\"y\\z\n", "r\xC3\xA9", json{{"nested", {{"a", {{"b", -1.5}}}}}}});
  for (const Request& in : requests) {
    const std::string line = EncodeRequest(in);
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;  // one line
    auto out = ParseRequest(line);
    ASSERT_TRUE(out.ok()) << line << ": " << out.status().ToString();
    EXPECT_EQ(out->cmd, in.cmd);
    EXPECT_EQ(out->resource, in.resource);
    EXPECT_EQ(out->args, in.args);
  }
}

TEST(ProtocolEncodeRequest, OmitsEmptyResourceAndArgs) {
  EXPECT_EQ(EncodeRequest(Request{"status", "", json::object()}), R"({"cmd":"status"})");
  EXPECT_EQ(json::parse(EncodeRequest(Request{"role", "r0", json::object()})),
            json::parse(R"({"cmd":"role","resource":"r0"})"));
}

TEST(ProtocolReplies, Shapes) {
  EXPECT_EQ(OkReply(), json::parse(R"({"ok":true})"));
  EXPECT_EQ(OkReply(json{{"role", "Primary"}}),
            json::parse(R"({"ok":true,"result":{"role":"Primary"}})"));
  EXPECT_EQ(OkReply("text"), json::parse(R"({"ok":true,"result":"text"})"));
  EXPECT_EQ(
      ErrorReply("State change failed: (-2) Need access to UpToDate data", 11),
      json::parse(
          R"({"ok":false,"error":"State change failed: (-2) Need access to UpToDate data","exit":11})"));
  // A reply is one line.
  EXPECT_EQ(ErrorReply("a\nb", 1).dump().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace tandem::ctl
