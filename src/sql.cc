// Placeholder conversion: psycopg-style %s and %(name)s become $n.
//
// Values always travel separately from the statement (server-side
// parameters), so this is only a rename of markers, never quoting.  The
// scanner skips everything where a % is data, not a marker: string
// constants ('...', E'...' with backslash escapes), quoted identifiers,
// dollar-quoted bodies and both comment forms.
#include <algorithm>
#include <cctype>
#include <strings.h>

#include "sql.hh"
#include "types/wire.hh"

namespace uvpg::detail {

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

namespace {

// Index just past the quoted run that starts at i (a ' or ").
size_t skip_quoted(std::string_view s, size_t i, bool backslashes) {
  char q = s[i++];
  while (i < s.size()) {
    if (backslashes && s[i] == '\\') {
      i += 2;
    } else if (s[i] == q) {
      if (i + 1 < s.size() && s[i + 1] == q) {
        i += 2; // doubled quote
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return s.size();
}

// At a $: the length of a dollar-quote tag ($tag$ or $$), 0 if none.
size_t dollar_tag(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
    return 0; // $1 is a parameter, not a tag
  }
  while (j < s.size() && ident_char(s[j]) && s[j] != '$') {
    ++j;
  }
  return j < s.size() && s[j] == '$' ? j - i + 1 : 0;
}

} // namespace

size_t skip_inert(std::string_view s, size_t i) {
  char c = s[i];
  if (c == '\'') {
    bool esc = i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
               (i < 2 || !ident_char(s[i - 2]));
    return skip_quoted(s, i, esc);
  }
  if (c == '"') {
    return skip_quoted(s, i, false);
  }
  if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
    size_t nl = s.find('\n', i);
    return nl == std::string_view::npos ? s.size() : nl + 1;
  }
  if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
    int depth = 0;
    size_t j = i;
    while (j + 1 < s.size()) {
      if (s[j] == '/' && s[j + 1] == '*') {
        ++depth;
        j += 2;
      } else if (s[j] == '*' && s[j + 1] == '/') {
        j += 2;
        if (--depth == 0) {
          return j;
        }
      } else {
        ++j;
      }
    }
    return s.size();
  }
  if (c == '$' && (i == 0 || !ident_char(s[i - 1]))) {
    if (size_t n = dollar_tag(s, i)) {
      size_t end = s.find(s.substr(i, n), i + n);
      return end == std::string_view::npos ? s.size() : end + n;
    }
  }
  return i;
}

std::optional<std::string> convert_placeholders(
    std::string_view sql, bool with_params, std::vector<std::string> *names,
    size_t *count, std::string &err) {
  // First pass: is there any psycopg-style marker at all?
  bool percent_style = false;
  bool dollar_style = false;
  for (size_t i = 0; i < sql.size();) {
    size_t j = skip_inert(sql, i);
    if (j != i) {
      i = j;
      continue;
    }
    if (sql[i] == '%' && i + 1 < sql.size() &&
        (sql[i + 1] == 's' || sql[i + 1] == '(')) {
      percent_style = true;
    } else if (sql[i] == '$' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1])) &&
               (i == 0 || !ident_char(sql[i - 1]))) {
      dollar_style = true;
    }
    ++i;
  }
  *count = 0;
  // With parameters and no $n, every % outside quotes is psycopg's: a
  // stray %d is a mistake to report, not SQL to send.
  if (with_params && !dollar_style && sql.find('%') != sql.npos) {
    percent_style = true;
  }
  if (!percent_style) {
    return std::string(sql);
  }
  if (dollar_style) {
    err = "the statement mixes $n and %s placeholders";
    return std::nullopt;
  }

  std::string out;
  out.reserve(sql.size() + 8);
  std::vector<std::string> seen; // distinct names in $n order
  bool positional = false;
  for (size_t i = 0; i < sql.size();) {
    size_t j = skip_inert(sql, i);
    if (j != i) {
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    if (sql[i] != '%') {
      out += sql[i++];
      continue;
    }
    if (i + 1 >= sql.size()) {
      err = "incomplete placeholder: '%' at the end of the statement";
      return std::nullopt;
    }
    char n = sql[i + 1];
    if (n == '%') {
      out += '%';
      i += 2;
    } else if (n == 's') {
      positional = true;
      out += '$' + std::to_string(++*count);
      i += 2;
    } else if (n == '(') {
      size_t close = sql.find(')', i + 2);
      if (close == std::string_view::npos || close + 1 >= sql.size() ||
          sql[close + 1] != 's') {
        err = "incomplete placeholder: '%(' without a closing ')s'";
        return std::nullopt;
      }
      std::string name(sql.substr(i + 2, close - i - 2));
      auto it = std::find(seen.begin(), seen.end(), name);
      size_t index = it - seen.begin() + 1;
      if (it == seen.end()) {
        seen.push_back(std::move(name));
      }
      out += '$' + std::to_string(index);
      i = close + 2;
    } else {
      err = std::string("only '%s', '%(name)s' and '%%' are allowed as "
                        "placeholders, got '%") +
            n + "'";
      return std::nullopt;
    }
  }
  if (positional && !seen.empty()) {
    err = "the statement mixes %s and %(name)s placeholders";
    return std::nullopt;
  }
  if (!seen.empty()) {
    *count = seen.size();
    if (!names) {
      err = "the statement has %(name)s placeholders: pass named "
            "parameters";
      return std::nullopt;
    }
    *names = std::move(seen);
  } else if (names) {
    err = "named parameters given, but the statement has %s placeholders";
    return std::nullopt;
  }
  return out;
}

std::pair<std::string, params> bind_named(std::string_view sql,
                                          const named_params &args) {
  std::string err;
  size_t count = 0;
  std::vector<std::string> names;
  auto text = convert_placeholders(sql, true, &names, &count, err);
  params values;
  for (size_t i = 0; text && i < names.size(); ++i) {
    auto it = args.find(names[i]);
    if (it == args.end()) {
      err = "no value for the placeholder %(" + names[i] + ")s";
      text.reset();
    } else {
      values.push_back(it->second);
    }
  }
  if (text && names.empty() && !args.empty()) {
    err = "named parameters given, but the statement has no %(name)s "
          "placeholder";
    text.reset();
  }
  if (!text) {
    throw programming_error(UVPG_EPARAM, err);
  }
  return {std::move(*text), std::move(values)};
}

} // namespace uvpg::detail

namespace uvpg::detail {

namespace {

// Where `lower` (a lower-case word) occurs in `sql` from `from`, in any
// case; npos when nowhere.
size_t find_nocase(std::string_view sql, std::string_view lower,
                   size_t from = 0) {
  for (size_t i = from; i + lower.size() <= sql.size(); ++i) {
    if (strncasecmp(sql.data() + i, lower.data(), lower.size()) == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

} // namespace

// Words that, anywhere in a statement (a function's name, a table
// name, a literal), make it touch session state: a conservative test,
// so a false alarm only costs a reset.
bool session_neutral(std::string_view sql, const sql_shape &shape) {
  if (!shape.single || !shape.neutral_start) {
    return false;
  }
  for (std::string_view w : {"set_config", "pg_settings", "advisory_lock",
                             "listen", "dblink", "pg_temp", "setseed",
                             "nextval", "setval"}) {
    if (find_nocase(sql, w) != std::string_view::npos) {
      return false;
    }
  }
  for (size_t i = find_nocase(sql, "temp"); i != std::string_view::npos;
       i = find_nocase(sql, "temp", i + 1)) {
    size_t end = i + 4;
    if (find_nocase(sql.substr(i, 9), "temporary") == 0) {
      end = i + 9;
    }
    if ((i == 0 || !ident_char(sql[i - 1])) &&
        (end == sql.size() || !ident_char(sql[end]))) {
      return false;
    }
  }
  return true;
}

sql_shape shape_of(std::string_view sql) {
  sql_shape shape;
  bool after_semicolon = false;
  bool first_word_seen = false;
  for (size_t i = 0; i < sql.size();) {
    size_t j = skip_inert(sql, i);
    bool comment = j != i && (sql[i] == '-' || sql[i] == '/');
    if (j != i && !comment) {
      first_word_seen = true;
      if (after_semicolon) {
        shape.single = false;
      }
      i = j;
      continue;
    }
    if (comment) {
      i = j;
      continue;
    }
    char c = sql[i];
    if (c == ';') {
      after_semicolon = true;
    } else if (!pg_isspace(c)) {
      if (after_semicolon) {
        shape.single = false;
      }
      if (!first_word_seen) {
        first_word_seen = true;
        size_t k = i;
        while (k < sql.size() && ident_char(sql[k])) {
          ++k;
        }
        std::string w(sql.substr(i, k - i));
        for (char &ch : w) {
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        shape.copy = w == "copy";
        for (const char *kw : {"select", "insert", "update", "delete", "merge",
                               "with", "values", "table", "call"}) {
          shape.cacheable = shape.cacheable || w == kw;
        }
        for (const char *kw :
             {"select", "insert", "update", "delete", "merge", "with",
              "values", "table", "copy", "begin", "start", "commit", "end",
              "rollback", "savepoint", "release", "abort", "show", "fetch",
              "move", "close"}) {
          shape.neutral_start = shape.neutral_start || w == kw;
        }
        i = k > i ? k : i + 1;
        continue;
      }
    }
    ++i;
  }
  return shape;
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  out += '"';
  return out;
}

namespace {

bool is_word(std::string_view w, std::string_view lower) {
  return w.size() == lower.size() &&
         strncasecmp(w.data(), lower.data(), lower.size()) == 0;
}

// Masks each conninfo password in a literal's text ("host=h password=x"
// of CREATE SUBSCRIPTION, dblink, postgres_fdw): the value up to a blank,
// or between doubled quotes (the literal's own escaping of ').
void mask_conninfo(std::string &text) {
  static constexpr std::string_view key = "password";
  for (size_t i = 0; i + key.size() <= text.size(); ++i) {
    if ((i > 0 && ident_char(text[i - 1])) ||
        !is_word(std::string_view(text).substr(i, key.size()), key)) {
      continue;
    }
    size_t j = i + key.size();
    while (j < text.size() && text[j] == ' ') {
      ++j;
    }
    if (j >= text.size() || text[j] != '=') {
      continue;
    }
    ++j;
    while (j < text.size() && text[j] == ' ') {
      ++j;
    }
    size_t start = j, end = j;
    if (text.compare(j, 2, "''") == 0) {
      start = j + 2;
      end = text.find("''", start);
      end = end == std::string::npos ? text.size() : end;
    } else {
      while (end < text.size() &&
             !std::isspace(static_cast<unsigned char>(text[end]))) {
        ++end;
      }
    }
    text.replace(start, end - start, "********");
    i = start + 8;
  }
}

} // namespace

bool mentions_password(std::string_view sql) noexcept {
  for (size_t i = sql.find_first_of("pP"); i != std::string_view::npos &&
                                          i + 8 <= sql.size();
       i = sql.find_first_of("pP", i + 1)) {
    if (is_word(sql.substr(i, 8), "password")) {
      return true;
    }
  }
  return false;
}

// What a log or an error may show of a statement: a literal that follows
// a PASSWORD keyword (CREATE/ALTER ROLE ... PASSWORD 'x', in any quoting:
// '', E'', U&'', dollar quotes, comments between) becomes '********', and
// so does the password of a conninfo inside any literal.  Cheap when the
// word is absent.
std::string masked_sql(std::string_view sql) {
  std::string out;
  if (!mentions_password(sql)) {
    return std::string(sql);
  }
  bool after_keyword = false; // the last word was PASSWORD
  for (size_t i = 0; i < sql.size();) {
    size_t j = skip_inert(sql, i);
    if (j != i) {
      std::string_view token = sql.substr(i, j - i);
      bool comment = token.starts_with("--") || token.starts_with("/*");
      size_t open = 0, close = 0; // the literal's delimiters
      if (token[0] == '\'') {
        open = 1;
        close = token.size() > 1 && token.back() == '\'' ? 1 : 0;
      } else if (token[0] == '$') {
        open = token.find('$', 1) + 1;
        close = token.size() >= 2 * open ? open : 0;
      }
      if (comment || !open) {
        out.append(token); // a comment, or a quoted identifier
        after_keyword = after_keyword && comment;
      } else {
        std::string body(token.substr(open, token.size() - open - close));
        if (after_keyword) {
          body = "********";
        } else {
          mask_conninfo(body);
        }
        out.append(token.substr(0, open));
        out.append(body);
        out.append(token.substr(token.size() - close));
        after_keyword = false;
      }
      i = j;
      continue;
    }
    if (ident_char(sql[i])) {
      size_t k = i;
      while (k < sql.size() && ident_char(sql[k])) {
        ++k;
      }
      std::string_view w = sql.substr(i, k - i);
      // E'..' and U&'..' keep the keyword's literal in view.
      bool prefix = (is_word(w, "e") && k < sql.size() && sql[k] == '\'') ||
                    (is_word(w, "u") && sql.substr(k, 2) == "&'");
      if (!prefix) {
        after_keyword = is_word(w, "password");
      }
      out.append(w);
      i = k;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(sql[i])) && sql[i] != '&') {
      after_keyword = false;
    }
    out += sql[i++];
  }
  return out;
}

bool may_drop_statements(std::string_view sql) noexcept {
  auto lower_eq = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  };
  auto find = [&](std::string_view w, size_t from) {
    auto it = std::search(sql.begin() + from, sql.end(), w.begin(), w.end(),
                          lower_eq);
    return it == sql.end() ? std::string_view::npos
                           : size_t(it - sql.begin());
  };
  if (find("deallocate", 0) != std::string_view::npos) {
    return true;
  }
  // DISCARD ALL; not DISCARD TEMP, SEQUENCES or PLANS (the pool's reset).
  for (size_t i = find("discard", 0); i != std::string_view::npos;
       i = find("discard", i + 1)) {
    size_t j = i + 7;
    while (j < sql.size() &&
           std::isspace(static_cast<unsigned char>(sql[j]))) {
      ++j;
    }
    if (sql.size() - j >= 3 && lower_eq(sql[j], 'a') &&
        lower_eq(sql[j + 1], 'l') && lower_eq(sql[j + 2], 'l')) {
      return true;
    }
  }
  return false;
}

} // namespace uvpg::detail
