#include "config/authkeys.h"

#include <sys/stat.h>

#include <cassert>
#include <cstdio>
#include <map>

#include "common/strings.h"
#include "config/ha_line_reader.h"

namespace tandem::config {

namespace {

constexpr const char* kIndexRange = "0..15";

std::optional<AuthMethod> ParseMethod(std::string_view word) {
  if (word == "crc") return AuthMethod::kCrc;
  if (word == "sha1") return AuthMethod::kSha1;
  if (word == "md5") return AuthMethod::kMd5;
  return std::nullopt;
}

bool IsComment(const HaWord& w) {
  return w.text[0] == '#';
}

class AuthKeysParser {
 public:
  AuthKeysParser(std::string file, Diagnostics* diags) : file_(std::move(file)), d_(diags) {}

  std::optional<AuthKeys> Run(std::string_view text) {
    const size_t errors_before = d_->error_count();
    auto lines = SplitHaLines(text, file_, HaLineOptions{HaCommentStyle::kLineStart, false}, d_);
    for (const auto& line : lines) {
      if (TooManyHaErrors(d_, errors_before, line.where)) return std::nullopt;
      if (line.words[0].text == "auth") {
        AuthLine(line);
      } else {
        KeyLine(line);
      }
    }
    if (!auth_where_) {
      d_->Error(SourceLocation{file_, LastLineNumber(text), 0},
                "Missing auth directive in keyfile [" + file_ +
                    "]: No authentication specified (add 'auth N' naming one of the keys)");
    } else if (keys_.count(active_) == 0 && d_->error_count() == errors_before) {
      d_->Error(*auth_where_,
                "Auth Key [" + std::to_string(active_) + "] not found in keyfile [" + file_ + "]");
    }
    if (d_->error_count() > errors_before) return std::nullopt;
    AuthKeys out;
    out.source_file = file_;
    out.active_index = active_;
    for (auto& [index, key] : keys_) out.keys.push_back(std::move(key));
    return out;
  }

 private:
  void AuthLine(const HaLine& l) {
    if (l.words.size() < 2 || IsComment(l.words[1])) {
      d_->Error(l.words[0].where, std::string("Invalid auth line: 'auth' needs the index of the "
                                              "key that signs packets (auth N, N in ") +
                                      kIndexRange + ")");
      return;
    }
    if (l.words.size() > 2 && !IsComment(l.words[2])) {
      d_->Error(l.words[2].where, "Invalid auth line: unexpected text after 'auth N'");
      return;
    }
    auto index = ParseInteger(l.words[1].text, 0, kMaxAuthKeyIndex);
    if (!index) {
      d_->Error(l.words[1].where, "Invalid auth line: [" + Printable(l.words[1].text) +
                                      "] is not a key index in " + kIndexRange);
      return;
    }
    if (auth_where_) {
      d_->Error(l.words[0].where,
                "second 'auth' line (the first is at " + auth_where_->ToString() + ")");
      return;
    }
    auth_where_ = l.words[0].where;
    active_ = static_cast<int>(*index);
  }

  void KeyLine(const HaLine& l) {
    const HaWord& first = l.words[0];
    auto index = ParseInteger(first.text, 0, kMaxAuthKeyIndex);
    if (!index) {
      if (ParseInteger(first.text, 0, 1LL << 62)) {
        d_->Error(first.where, "Invalid authnum [" + Printable(first.text) + "] in keyfile (" +
                                   kIndexRange + ")");
      } else {
        std::string suggestion = first.text.size() <= 40 ? DidYouMean(first.text, {"auth"}) : "";
        d_->Error(first.where, "Auth line is invalid: [" + Printable(first.text) +
                                   "] is neither 'auth N' nor a key index in " + kIndexRange +
                                   suggestion);
      }
      return;
    }
    if (l.words.size() < 2 || IsComment(l.words[1])) {
      d_->Error(first.where, "Auth line for key " + first.text +
                                 " has no method (N crc, N sha1 KEY or N md5 KEY)");
      return;
    }
    const HaWord& method_word = l.words[1];
    auto method = ParseMethod(method_word.text);
    if (!method) {
      std::string suggestion =
          method_word.text.size() <= 40 ? DidYouMean(method_word.text, {"crc", "sha1", "md5"}) : "";
      d_->Error(method_word.where, "Invalid authtype [" + Printable(method_word.text) +
                                       "] (crc, sha1 or md5)" + suggestion);
      return;
    }
    AuthKey key{static_cast<int>(*index), *method, "", first.where};
    // The key is one word; words after it must be a comment. They are never
    // quoted in a message: they may be the rest of a key written with spaces.
    size_t rest = 2;
    if (*method != AuthMethod::kCrc) {
      // A key may begin with '#'; only a lone '#' there starts a comment.
      if (l.words.size() < 3 || l.words[2].text == "#") {
        d_->Error(method_word.where,
                  std::string("Auth method [") + AuthMethodName(*method) + "] requires a key");
        return;
      }
      key.key = l.words[2].text;
      rest = 3;
    }
    if (l.words.size() > rest && !IsComment(l.words[rest])) {
      d_->Error(l.words[rest].where,
                *method == AuthMethod::kCrc
                    ? std::string("Auth method [crc] doesn't use a key")
                    : std::string("unexpected text after the key (a key is one word)"));
      return;
    }
    if (*method == AuthMethod::kCrc) {
      d_->Warning(first.where, "key " + first.text +
                                   " uses crc, which is not secure: it only detects corruption, "
                                   "and anyone on the heartbeat network can forge packets; use "
                                   "sha1");
    }
    auto [it, inserted] = keys_.try_emplace(key.index, key);
    if (!inserted) {
      d_->Error(first.where, "key " + std::to_string(key.index) + " is defined twice (first at " +
                                 it->second.where.ToString() + ")");
    }
  }

  std::string file_;
  Diagnostics* d_;
  std::optional<SourceLocation> auth_where_;
  int active_ = -1;
  std::map<int, AuthKey> keys_;
};

}  // namespace

const char* AuthMethodName(AuthMethod method) {
  switch (method) {
    case AuthMethod::kCrc:
      return "crc";
    case AuthMethod::kSha1:
      return "sha1";
    case AuthMethod::kMd5:
      return "md5";
  }
  return "crc";
}

const AuthKey& AuthKeys::active() const {
  for (const auto& k : keys) {
    if (k.index == active_index) return k;
  }
  assert(false && "AuthKeys without its active key");
  return keys.front();
}

Result<AuthKeys> ParseAuthKeys(std::string_view text, const std::string& file_name,
                               Diagnostics* diags) {
  AuthKeysParser parser(file_name, diags);
  auto keys = parser.Run(text);
  if (!keys) return diags->ToStatus();
  return std::move(*keys);
}

Result<AuthKeys> LoadAuthKeys(Env* env, const std::string& path, Diagnostics* diags) {
  // Stat before reading, as Heartbeat does: a key others can read is not a
  // secret any more, and the refusal must not depend on what the file says.
  auto info = env->Stat(path);
  if (!info.ok()) {
    diags->Error(SourceLocation{path, 0, 0}, info.status().message());
    return diags->ToStatus();
  }
  if (!S_ISREG(info->mode)) {
    diags->Error(SourceLocation{path, 0, 0}, "keyfile [" + path + "] is not a regular file");
    return diags->ToStatus();
  }
  if ((info->mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(info->mode & 0777));
    diags->Error(SourceLocation{path, 0, 0},
                 "Bad permissions on keyfile [" + path + "], 600 recommended. (Its mode is " +
                     mode + ": group or others may use it. Run: chmod 600 " + path + ")");
    return diags->ToStatus();
  }
  auto text = ReadHaFile(env, path, diags);
  if (!text) return diags->ToStatus();
  return ParseAuthKeys(*text, path, diags);
}

}  // namespace tandem::config
