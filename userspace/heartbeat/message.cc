#include "heartbeat/message.h"

#include <algorithm>
#include <cassert>

namespace tandem::heartbeat {

namespace {

bool NeedsEscape(unsigned char c) {
  return c < 0x20 || c > 0x7e || c == '%';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower case is not the canonical spelling
}

// At most 8 input bytes shown, as \xNN when not printable.
std::string Excerpt(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 8; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > 8) out += "...";
  return out;
}

Status Malformed(const std::string& why) {
  return Status::ProtocolError("malformed message: " + why);
}

}  // namespace

bool IsValidFieldName(std::string_view name) {
  if (name.empty() || name.size() > kMaxFieldNameBytes) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void Message::Add(std::string name, std::string value) {
  assert(IsValidFieldName(name) && !Has(name));
  fields_.push_back(MessageField{std::move(name), std::move(value)});
}

void Message::Set(const std::string& name, std::string value) {
  for (auto& f : fields_) {
    if (f.name == name) {
      f.value = std::move(value);
      return;
    }
  }
  Add(name, std::move(value));
}

std::optional<std::string_view> Message::Get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (f.name == name) return std::string_view(f.value);
  }
  return std::nullopt;
}

void Message::Remove(std::string_view name) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const MessageField& f) { return f.name == name; }),
                fields_.end());
}

std::string EncodeField(const MessageField& field) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = field.name;
  out += '=';
  for (char ch : field.value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (NeedsEscape(c)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

std::string EncodeMessage(const Message& message) {
  std::string out(kMessageBegin);
  for (const auto& f : message.fields()) {
    out += EncodeField(f);
    out += '\n';
  }
  out += kMessageEnd;
  return out;
}

Result<Message> DecodeMessage(std::string_view wire) {
  if (wire.size() > kMaxMessageBytes) {
    return Malformed(std::to_string(wire.size()) + " bytes, more than the limit of " +
                     std::to_string(kMaxMessageBytes));
  }
  if (wire.substr(0, kMessageBegin.size()) != kMessageBegin) {
    return Malformed("does not start with '>>>' (starts with '" + Excerpt(wire) + "')");
  }
  if (wire.size() < kMessageBegin.size() + kMessageEnd.size() ||
      wire.substr(wire.size() - kMessageEnd.size()) != kMessageEnd) {
    return Malformed("does not end with '<<<'");
  }
  std::string_view body = wire.substr(kMessageBegin.size(),
                                      wire.size() - kMessageBegin.size() - kMessageEnd.size());
  Message m;
  size_t count = 0;
  while (!body.empty()) {
    size_t nl = body.find('\n');
    if (nl == std::string_view::npos) return Malformed("a field line has no newline");
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Malformed("line '" + Excerpt(line) + "' is not name=value");
    }
    std::string_view name = line.substr(0, eq);
    if (!IsValidFieldName(name)) return Malformed("bad field name '" + Excerpt(name) + "'");
    if (m.Has(name)) return Malformed("field '" + std::string(name) + "' appears twice");
    if (++count > kMaxMessageFields) {
      return Malformed("more than " + std::to_string(kMaxMessageFields) + " fields");
    }
    std::string_view raw = line.substr(eq + 1);
    std::string value;
    value.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(raw[i]);
      if (c == '%') {
        const bool complete = i + 2 < raw.size();
        const int hi = complete ? HexDigit(raw[i + 1]) : -1;
        const int lo = complete ? HexDigit(raw[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          return Malformed("field '" + std::string(name) + "' has a bad %-escape");
        }
        unsigned char decoded = static_cast<unsigned char>(hi * 16 + lo);
        if (!NeedsEscape(decoded)) {
          return Malformed("field '" + std::string(name) + "' escapes a byte that needs none");
        }
        value += static_cast<char>(decoded);
        i += 2;
      } else if (NeedsEscape(c)) {
        return Malformed("field '" + std::string(name) + "' holds a raw control byte");
      } else {
        value += static_cast<char>(c);
      }
    }
    m.Add(std::string(name), std::move(value));
  }
  if (count == 0) return Malformed("no fields");
  return m;
}

}  // namespace tandem::heartbeat
