// libFuzzer target: the SQL lexer (src/sql.cc): skip_inert(), placeholder
// conversion, the statement's shape, masked_sql() and quote_identifier().
// Properties, beyond no crash, no read out of bounds and no exception:
//  - skip_inert() stays in bounds, and a token it skips is whole: it
//    starts with its opener and, when it ends before the text does,
//    ends with its closer;
//  - convert_placeholders(): text without a %-placeholder comes back
//    unchanged with count 0; a conversion keeps every quoted text,
//    comment and dollar quote as it was, in order, numbers its $n from
//    1 to count, each used, and gives one name per $n (a %s glued to a
//    digit after it, %s5, reads as $15, or to a $ before it, $%s or
//    $a%s, as the dollar quotes $$1 and $a$1: not checked);
//  - the shape of a statement is the same with a ';' after it;
//  - masked_sql() is idempotent and changes nothing without "password";
//  - quote_identifier() gives one quoted identifier, whole.
// A failed property traps.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../src/sql.hh"
#include "uvpg/error.hh"

namespace {

using uvpg::detail::skip_inert;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// The inert tokens (quoted text, comments, dollar quotes) of `s`, and
// the $n markers outside them (prev not an identifier character).
struct lexed {
  std::vector<std::string_view> inert;
  std::vector<unsigned long> dollars;
};

// `loose`: also a $n after an identifier character.
lexed lex(std::string_view s, bool loose = false) {
  lexed out;
  size_t end = std::string_view::npos; // of the last $n: $1$2 is two
  for (size_t i = 0; i < s.size();) {
    size_t j = skip_inert(s, i);
    check(j == i || (j > i && j <= s.size()));
    if (j != i) {
      std::string_view t = s.substr(i, j - i);
      char c = t[0];
      check(c == '\'' || c == '"' || c == '-' || c == '/' || c == '$');
      if (j < s.size()) {
        if (c == '\'' || c == '"') {
          check(t.size() >= 2 && t.back() == c);
        } else if (c == '-') {
          check(t.starts_with("--") && t.back() == '\n');
        } else if (c == '/') {
          check(t.size() >= 4 && t.starts_with("/*") && t.ends_with("*/"));
        } else {
          size_t tag = t.find('$', 1) + 1;
          check(tag >= 2 && t.size() >= 2 * tag &&
                t.substr(0, tag) == t.substr(t.size() - tag));
        }
      }
      out.inert.push_back(t);
      i = j;
      continue;
    }
    if (s[i] == '$' && i + 1 < s.size() &&
        std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
        (loose || i == 0 || !uvpg::detail::ident_char(s[i - 1]) ||
         i == end)) {
      size_t k = i + 1;
      unsigned long n = 0;
      while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
        n = std::min<unsigned long>(n * 10 + (s[k] - '0'), 1u << 20);
        ++k;
      }
      out.dollars.push_back(n);
      i = end = k;
      continue;
    }
    ++i;
  }
  return out;
}

void check_convert(std::string_view sql, bool with_params, bool named) {
  std::string err;
  size_t count = 99;
  std::vector<std::string> names;
  auto out = uvpg::detail::convert_placeholders(
      sql, with_params, named ? &names : nullptr, &count, err);
  if (!out) {
    check(!err.empty());
    return;
  }
  if (*out == sql) {
    check(count == 0 && names.empty());
    return;
  }
  lexed before = lex(sql), after = lex(*out);
  // $%s and $a%s give $$1 and $a$1, dollar quotes; a name with a quote
  // or a comment in it, %(a'b)s, is not lexed as in the statement.
  bool odd = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    size_t k = i;
    while (sql[i] == '%' && k > 0 && uvpg::detail::ident_char(sql[k - 1])) {
      --k;
    }
    odd = odd || (sql[i] == '%' && k > 0 && sql[k - 1] == '$');
  }
  for (const auto &name : names) {
    odd = odd || name.find_first_of("'\"-/$%") != name.npos;
  }
  if (odd) {
    return;
  }
  check(before.inert == after.inert);
  check(before.dollars.empty());
  if (named) {
    check(names.size() == count);
  }
  // The $n it wrote, also where a word before one takes it in (a%s
  // gives a$1, as in psycopg); not where a digit after it does (%s5
  // gives $15).
  for (size_t i = 0; i + 2 < sql.size(); ++i) {
    if (((sql[i] == '%' || sql[i] == ')') && sql[i + 1] == 's' &&
         std::isdigit(static_cast<unsigned char>(sql[i + 2]))) ||
        (sql[i] == '$' && sql[i + 1] == '%')) {
      return;
    }
  }
  auto loose = lex(*out, true).dollars;
  for (unsigned long n : lex(sql, true).dollars) {
    auto it = std::find(loose.begin(), loose.end(), n);
    check(it != loose.end());
    loose.erase(it);
  }
  std::vector<bool> used(count + 1);
  for (unsigned long n : loose) {
    check(n >= 1 && n <= count);
    used[n] = true;
  }
  for (size_t n = 1; n <= count; ++n) {
    check(used[n]);
  }
}

bool same(const uvpg::detail::sql_shape &a, const uvpg::detail::sql_shape &b) {
  return a.single == b.single && a.copy == b.copy &&
         a.cacheable == b.cacheable && a.neutral_start == b.neutral_start;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view sql(reinterpret_cast<const char *>(data), size);
  (void)lex(sql);

  check_convert(sql, false, false);
  check_convert(sql, true, false);
  check_convert(sql, true, true);

  auto shape = uvpg::detail::shape_of(sql);
  check(same(shape, uvpg::detail::shape_of(std::string(sql) + ";")));
  (void)uvpg::detail::session_neutral(sql, shape);

  std::string masked = uvpg::detail::masked_sql(sql);
  if (!uvpg::detail::mentions_password(sql)) {
    check(masked == sql);
  }
  check(uvpg::detail::masked_sql(masked) == masked);

  std::string q = uvpg::detail::quote_identifier(sql);
  check(skip_inert(q, 0) == q.size());

  uvpg::named_params args;
  try {
    (void)uvpg::detail::bind_named(sql, args);
  } catch (const uvpg::error &) {
  }
  return 0;
}
