#pragma once
// The table of every drbd.conf option Tandem understands: canonical 8.4 name and
// section, value type, unit, range, default, and the other spellings accepted
// (0.7 and 8.3 placements such as `syncer { rate }`). Adding an option is one
// entry in drbd_options.cc; the loader, the dump writer and the docs use the table.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/drbd_model.h"
#include "config/drbd_syntax.h"

namespace tandem::config {

enum class Section { kGlobal, kResource, kNet, kDisk, kStartup, kSyncer, kHandlers, kOptions, kHost };
std::string_view SectionName(Section s);

enum class ValueType {
  kInteger,   // plain number in the option's own unit
  kSize,      // bytes; suffixes s/K/M/G/T, a bare number times bare_unit
  kBool,      // yes/no/on/off/true/false, or the keyword alone for "yes"
  kEnum,      // one of `choices`
  kString,    // a word or "quoted string"
  kPath,      // an absolute path
  kAddress,   // [ipv4|ipv6] IP:port
  kMetaDisk,  // internal | PATH[N] | PATH [N] | PATH
  kDevice,    // PATH | minor N | PATH minor N
};

struct OptionSpec {
  std::string_view name;           // canonical 8.4 keyword
  Section section;                 // canonical section
  ValueType type;
  std::string_view default_value;  // parsed like user input; empty: no default
  long long min = 0;               // kInteger/kSize range (bytes for kSize)
  long long max = 0;
  unsigned long long bare_unit = 1;  // kSize: what a bare number counts
  std::string_view choices;          // kEnum: "a|b|c"; a trailing '*' accepts any suffix
  std::string_view also;             // other spellings: "syncer:rate resource:protocol"
  std::string_view help;             // meaning and unit, one line
  bool legacy = false;               // 0.7-only: dumped only when explicitly set
};

std::span<const OptionSpec> AllOptions();
// The spec a keyword means inside `section`, by canonical name or other spelling.
const OptionSpec* FindOption(Section section, std::string_view keyword);
const OptionSpec* FindCanonical(std::string_view name);
// Every keyword accepted in `section`, for "did you mean" suggestions.
std::vector<std::string> KeywordsIn(Section section);

// Converts a statement's arguments to a value of the spec's type, range-checked.
// `keyword` is the spelling used (meta-disk vs flexible-meta-disk matters).
// Errors go to diags with the offending token's location; nullopt then.
std::optional<Value> ParseOptionValue(const OptionSpec& spec, const Token& keyword,
                                      const std::vector<Token>& args, Diagnostics* diags);
// The built-in default, or nullopt for options without one.
std::optional<Value> DefaultValue(const OptionSpec& spec);
// The value in drbd.conf syntax, such that ParseOptionValue reads it back.
std::string FormatOptionValue(const OptionSpec& spec, const Value& value);

}  // namespace tandem::config
