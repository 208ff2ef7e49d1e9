#include "config/drbd_syntax.h"

#include <algorithm>
#include <cctype>

namespace tandem::config {

namespace {

constexpr int kMaxIncludeDepth = 8;
constexpr int kMaxBlockDepth = 16;

bool IsWordChar(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && c != '{' && c != '}' && c != ';' &&
         c != '"' && c != '#';
}

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Token::Kind::kWord: return "'" + t.text + "'";
    case Token::Kind::kString: return "string \"" + t.text + "\"";
    case Token::Kind::kOpenBrace: return "'{'";
    case Token::Kind::kCloseBrace: return "'}'";
    case Token::Kind::kSemicolon: return "';'";
    case Token::Kind::kEnd: return "end of file";
  }
  return "?";
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class Parser {
 public:
  Parser(Env* env, Diagnostics* diags, std::vector<std::string>* include_stack)
      : env_(env), diags_(diags), include_stack_(include_stack) {}

  std::vector<Statement> ParseFile(std::string_view text, const std::string& file_name) {
    tokens_ = Tokenize(text, file_name, diags_);
    pos_ = 0;
    file_name_ = file_name;
    std::vector<Statement> out;
    ParseList(/*depth=*/0, nullptr, &out);
    return out;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (t.kind != Token::Kind::kEnd) ++pos_;
    return t;
  }

  // Parses statements until the '}' closing `opener` (or end of file at top level).
  void ParseList(int depth, const Token* opener, std::vector<Statement>* out) {
    for (;;) {
      const Token& t = Peek();
      switch (t.kind) {
        case Token::Kind::kEnd:
          if (opener) {
            diags_->Error(opener->where, "missing '}' for the block opened here");
          }
          return;
        case Token::Kind::kCloseBrace:
          if (opener) {
            Next();
            return;
          }
          diags_->Error(t.where, "unexpected '}' with no open block");
          Next();
          continue;
        case Token::Kind::kSemicolon:
          Next();  // a stray ';' (e.g. "};") is harmless
          continue;
        case Token::Kind::kOpenBrace:
          diags_->Error(t.where, "unexpected '{': a block must follow a keyword");
          SkipBlock(depth);
          continue;
        case Token::Kind::kString:
          diags_->Error(t.where, "expected a keyword, found " + Describe(t));
          Next();
          continue;
        case Token::Kind::kWord:
          ParseStatement(depth, out);
          continue;
      }
    }
  }

  // Skips from a '{' to its matching '}'.
  void SkipBlock(int depth) {
    Token open = Next();
    std::vector<Statement> ignored;
    ParseListIgnoringErrors(depth + 1, open, &ignored);
  }

  void ParseListIgnoringErrors(int depth, const Token& open, std::vector<Statement>* out) {
    Diagnostics scratch;
    Diagnostics* saved = diags_;
    diags_ = &scratch;
    ParseList(depth, &open, out);
    diags_ = saved;
    // An unterminated skipped block is still an error worth reporting.
    for (const auto& d : scratch.all()) {
      if (d.message.rfind("missing '}'", 0) == 0) diags_->Error(d.where, d.message);
    }
  }

  void ParseStatement(int depth, std::vector<Statement>* out) {
    Statement st;
    st.keyword = Next();
    for (;;) {
      const Token& t = Peek();
      if (t.kind == Token::Kind::kWord || t.kind == Token::Kind::kString) {
        st.args.push_back(Next());
        continue;
      }
      if (t.kind == Token::Kind::kSemicolon) {
        st.end = Next().where;
        break;
      }
      if (t.kind == Token::Kind::kOpenBrace) {
        Token open = Next();
        st.end = open.where;
        st.has_block = true;
        if (depth + 1 > kMaxBlockDepth) {
          diags_->Error(open.where, "blocks nested too deeply");
          std::vector<Statement> ignored;
          ParseListIgnoringErrors(depth + 1, open, &ignored);
          return;
        }
        if (st.keyword.text == "skip") {
          std::vector<Statement> ignored;
          ParseListIgnoringErrors(depth + 1, open, &ignored);
          return;
        }
        ParseList(depth + 1, &open, &st.block);
        break;
      }
      // '}' or end of file before the statement ended.
      diags_->Error(t.kind == Token::Kind::kEnd ? st.keyword.where : t.where,
                    "missing ';' after '" + st.keyword.text + "'" +
                        (t.kind == Token::Kind::kEnd ? " at end of file" : " before '}'"));
      break;
    }
    if (st.keyword.text == "skip") {
      diags_->Error(st.keyword.where, "'skip' must be followed by a { block }");
      return;
    }
    if (st.keyword.text == "include" && !st.has_block) {
      Include(st, out);
      return;
    }
    out->push_back(std::move(st));
  }

  void Include(const Statement& st, std::vector<Statement>* out) {
    if (st.args.size() != 1) {
      diags_->Error(st.keyword.where, "'include' takes one file name or pattern");
      return;
    }
    if (static_cast<int>(include_stack_->size()) >= kMaxIncludeDepth) {
      diags_->Error(st.keyword.where, "includes nested more than " +
                                          std::to_string(kMaxIncludeDepth) + " deep");
      return;
    }
    std::string pattern = st.args[0].text;
    if (pattern.empty() || pattern[0] != '/') pattern = DirName(file_name_) + "/" + pattern;
    bool is_glob = pattern.find_first_of("*?[") != std::string::npos;
    std::vector<std::string> paths;
    if (is_glob) {
      auto r = env_->Glob(pattern);
      if (!r.ok()) {
        diags_->Error(st.args[0].where, r.status().message());
        return;
      }
      paths = *r;
    } else {
      paths.push_back(pattern);
    }
    for (const auto& path : paths) {
      if (std::find(include_stack_->begin(), include_stack_->end(), path) !=
          include_stack_->end()) {
        diags_->Error(st.args[0].where, "file " + path + " includes itself");
        continue;
      }
      auto text = env_->ReadFile(path, 16 << 20);
      if (!text.ok()) {
        diags_->Error(st.args[0].where, text.status().message());
        continue;
      }
      include_stack_->push_back(path);
      Parser nested(env_, diags_, include_stack_);
      auto stmts = nested.ParseFile(*text, path);
      include_stack_->pop_back();
      for (auto& s : stmts) out->push_back(std::move(s));
    }
  }

  Env* env_;
  Diagnostics* diags_;
  std::vector<std::string>* include_stack_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::string file_name_;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view text, const std::string& file_name,
                            Diagnostics* diags) {
  std::vector<Token> out;
  int line = 1, col = 1;
  size_t i = 0;
  auto here = [&] { return SourceLocation{file_name, line, col}; };
  auto advance = [&](size_t n) {
    for (size_t k = 0; k < n && i < text.size(); ++k, ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
  };
  auto skip_to_eol = [&] {
    while (i < text.size() && text[i] != '\n') advance(1);
  };
  while (i < text.size()) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      advance(1);
      continue;
    }
    if (c == '#' || (c == '/' && i + 1 < text.size() && text[i + 1] == '/')) {
      skip_to_eol();
      continue;
    }
    Token t;
    t.where = here();
    if (c == '{' || c == '}' || c == ';') {
      t.kind = c == '{'   ? Token::Kind::kOpenBrace
               : c == '}' ? Token::Kind::kCloseBrace
                          : Token::Kind::kSemicolon;
      t.text = std::string(1, c);
      advance(1);
      out.push_back(std::move(t));
      continue;
    }
    if (c == '"') {
      advance(1);
      bool closed = false;
      while (i < text.size()) {
        char d = text[i];
        if (d == '"') {
          advance(1);
          closed = true;
          break;
        }
        if (d == '\n') break;
        if (d == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          t.text += text[i + 1];
          advance(2);
          continue;
        }
        t.text += d;
        advance(1);
      }
      if (!closed) {
        diags->Error(t.where, "unterminated string (a quoted string must end on its line)");
        continue;
      }
      t.kind = Token::Kind::kString;
      out.push_back(std::move(t));
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      diags->Error(t.where, "invalid control character (code " +
                                std::to_string(static_cast<unsigned char>(c)) + ")");
      advance(1);
      continue;
    }
    while (i < text.size() && IsWordChar(text[i]) &&
           static_cast<unsigned char>(text[i]) >= 0x20 && text[i] != 0x7f) {
      t.text += text[i];
      advance(1);
    }
    t.kind = Token::Kind::kWord;
    out.push_back(std::move(t));
  }
  Token end;
  end.kind = Token::Kind::kEnd;
  end.where = here();
  out.push_back(std::move(end));
  return out;
}

std::vector<Statement> ParseStatements(Env* env, std::string_view text,
                                       const std::string& file_name, Diagnostics* diags) {
  std::vector<std::string> stack{file_name};
  Parser p(env, diags, &stack);
  return p.ParseFile(text, file_name);
}

std::vector<Statement> ParseStatementsFromFile(Env* env, const std::string& path,
                                               Diagnostics* diags) {
  auto text = env->ReadFile(path, 16 << 20);
  if (!text.ok()) {
    diags->Error(SourceLocation{path, 0, 0}, text.status().message());
    return {};
  }
  return ParseStatements(env, *text, path, diags);
}

}  // namespace tandem::config
