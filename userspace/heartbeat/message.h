#pragma once
// The heartbeat message: an ordered list of `name=value` fields, written on the
// wire as Heartbeat writes its messages (docs/heartbeat-protocol.md):
//
//   >>>\n  name=value\n ... <<<\n
//
// Names are 1..16 bytes of [a-z0-9_], starting with a letter, each at most once.
// Values are any bytes; on the wire a byte outside 0x20..0x7e, and '%' itself,
// is written %XX (upper-case hex) and every other byte is written as itself, so
// each message has exactly one encoding (a decoder refuses any other).
//
// Contract: DecodeMessage accepts exactly what EncodeMessage produces for some
// message of at most kMaxMessageBytes and kMaxMessageFields, and refuses
// everything else with a one-line reason that quotes no more than a few bytes
// of the input. It never reads past `wire`. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tandem::heartbeat {

inline constexpr size_t kMaxMessageBytes = 8192;
inline constexpr size_t kMaxMessageFields = 32;
inline constexpr size_t kMaxFieldNameBytes = 16;
inline constexpr std::string_view kMessageBegin = ">>>\n";
inline constexpr std::string_view kMessageEnd = "<<<\n";

struct MessageField {
  std::string name;
  std::string value;
  bool operator==(const MessageField&) const = default;
};

class Message {
 public:
  // Appends a field. The name must be valid and not yet present (asserted:
  // callers build messages from constants).
  void Add(std::string name, std::string value);
  // Appends or replaces.
  void Set(const std::string& name, std::string value);
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  // Removes the field if present.
  void Remove(std::string_view name);
  const std::vector<MessageField>& fields() const { return fields_; }
  bool operator==(const Message&) const = default;

 private:
  std::vector<MessageField> fields_;
};

bool IsValidFieldName(std::string_view name);

// The wire form of one field without its newline: "name=<escaped value>".
std::string EncodeField(const MessageField& field);
// The whole message: begin marker, each field and a newline, end marker.
std::string EncodeMessage(const Message& message);
// Parses one whole message (nothing before the begin marker, nothing after
// the end marker).
Result<Message> DecodeMessage(std::string_view wire);

}  // namespace tandem::heartbeat
