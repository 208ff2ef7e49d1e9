#pragma once
// The drbd.conf surface syntax, shared by the 0.7 and 8.4 forms: a file is a
// list of statements, each a keyword, zero or more arguments (bare words or
// "quoted strings") and either ';' or a { block } of further statements.
// Comments run from '#' (or, for slide-style text, a word starting with '//')
// to the end of the line. Braces and semicolons may appear anywhere on a line.
//
// This layer knows nothing of what keywords mean except two: `include "glob";`
// is replaced by the statements of the matching files, and `skip ... { }` is
// dropped. Pure, synchronous code: file access goes through an Env.

#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "config/diagnostics.h"

namespace tandem::config {

struct Token {
  enum class Kind { kWord, kString, kOpenBrace, kCloseBrace, kSemicolon, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;  // for kString: the unquoted, unescaped contents
  SourceLocation where;
};

// Splits text into tokens. Lexical errors (an unterminated string, a control
// character) are reported to diags and the offending input skipped.
std::vector<Token> Tokenize(std::string_view text, const std::string& file_name,
                            Diagnostics* diags);

struct Statement {
  Token keyword;
  std::vector<Token> args;
  bool has_block = false;
  std::vector<Statement> block;
  // Where the statement's terminating ';' or '{' is, for messages.
  SourceLocation end;
};

// Parses a whole file (and, recursively, what it includes) into statements.
// Include patterns are relative to the including file's directory. Errors go to
// diags; the returned statements are whatever could be parsed.
std::vector<Statement> ParseStatements(Env* env, std::string_view text,
                                       const std::string& file_name, Diagnostics* diags);

// Reads and parses `path` through env.
std::vector<Statement> ParseStatementsFromFile(Env* env, const std::string& path,
                                               Diagnostics* diags);

}  // namespace tandem::config
