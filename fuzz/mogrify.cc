// libFuzzer target: mogrify (src/mogrify.cc), a statement with its
// parameters written in as SQL literals, on fuzzed SQL and values of
// several types in text and binary form.  Properties, beyond no crash
// and no exception but uvpg::data_error (no text form, a NUL) and
// uvpg::error UVPG_EPARAM (a $n without a value):
//  - the output is the statement with each $n the lexer sees replaced
//    by its parameter's literal (the literal of that value alone), and
//    a blank after it when a word or a $ follows;
//  - a literal is closed in itself: lexed alone, every quoted run in it
//    ends inside it;
//  - in the output, no value breaks out of its literal: lexing the
//    output reaches the start of each literal and its end, unless the
//    statement's quoted text next to it joins it: a ' before it, as in
//    ''$1, or after it the literal's closing quote again, ' or the " of
//    a cast to "char" (then the statement, not the value, joins them);
//  - without standard_conforming_strings, a backslash is only ever
//    inside an E'' literal;
//  - no value adds a $n: the output has no more $n than the statement
//    outside literals.
// A failed property traps.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../src/mogrify.hh"
#include "../src/sql.hh"
#include "../src/type_context.hh"
#include "text.hh"
#include "uvpg/errno.h"
#include "uvpg/error.hh"

namespace {

using uvpg::detail::skip_inert;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

const uvpg::oid_t types[] = {
    0, uvpg::oids::unknown, uvpg::oids::text, uvpg::oids::int2,
    uvpg::oids::int4, uvpg::oids::int8, uvpg::oids::oid,
    uvpg::oids::boolean, uvpg::oids::bytea, uvpg::oids::float8,
    uvpg::oids::numeric, uvpg::oids::json, uvpg::oids::jsonb,
    uvpg::oids::date, uvpg::oids::uuid, uvpg::oids::text_array,
    uvpg::oids::int4_array, uvpg::oids::char_, 16385 /* hstore */};

// Where a $n placeholder starts at `i` of `s` (as inline_params sees
// one), its end; else 0.
// `param_end`: where the last one ended ($1$2 is two).
size_t placeholder(std::string_view s, size_t i, unsigned long &n,
                   size_t param_end) {
  if (s[i] != '$' || i + 1 >= s.size() ||
      !std::isdigit(static_cast<unsigned char>(s[i + 1])) ||
      (i > 0 && uvpg::detail::ident_char(s[i - 1]) && i != param_end)) {
    return 0;
  }
  size_t k = i + 1;
  n = 0;
  while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
    n = std::min<unsigned long>(n * 10 + (s[k] - '0'), 1u << 20);
    ++k;
  }
  return k;
}

// The $n the lexer sees in `s`; `ends`: where literals end (they end
// a token, as a $n does).
size_t count_dollars(std::string_view s, const std::vector<size_t> &ends) {
  size_t count = 0, end = std::string_view::npos;
  std::vector<bool> token_end(s.size() + 1);
  for (size_t e : ends) {
    token_end[e] = true;
  }
  for (size_t i = 0; i < s.size();) {
    if (token_end[i]) {
      end = i;
    }
    size_t j = i == end ? i + skip_inert(s.substr(i), 0) : skip_inert(s, i);
    unsigned long n;
    if (j != i) {
      i = j;
    } else if (size_t k = placeholder(s, i, n, end)) {
      ++count;
      i = end = k;
    } else {
      ++i;
    }
  }
  return count;
}

// True when scanning `s` from `from` lands on `at` (no token skipped by
// the lexer covers it).  `from` must be a token boundary.
size_t scan_to(std::string_view s, size_t from, size_t at) {
  size_t i = from;
  while (i < at) {
    size_t j = skip_inert(s, i);
    i = j != i ? j : i + 1;
  }
  return i;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  bool scs = data[0] & 1;
  // The statement, then the values, NUL-separated; each value's first
  // byte picks its type and form (a NUL in a value: data[0] & 2 turns
  // \x01 into NUL).
  std::vector<std::string> parts(1);
  for (size_t i = 1; i < size; ++i) {
    if (data[i] == 0) {
      if (parts.size() == 9) {
        break;
      }
      parts.emplace_back();
    } else {
      parts.back() += static_cast<char>(data[i]);
    }
  }
  std::string_view sql = parts[0];
  std::vector<uvpg::encoded> args;
  for (size_t k = 1; k < parts.size(); ++k) {
    uvpg::encoded e;
    if (parts[k].empty()) {
      e.null = true;
    } else {
      unsigned char t = parts[k][0];
      e.type = types[(t >> 1) % (sizeof types / sizeof types[0])];
      e.binary = t & 1;
      e.bytes = parts[k].substr(1);
      if (data[0] & 2) {
        for (char &c : e.bytes) {
          c = c == 1 ? '\0' : c;
        }
      }
    }
    args.push_back(std::move(e));
  }
  const auto *ctx = fuzz::context();

  std::string out;
  try {
    out = uvpg::detail::inline_params(sql, args, scs, ctx);
  } catch (const uvpg::data_error &) {
    return 0;
  } catch (const uvpg::error &x) {
    check(x.code().value() == UVPG_EPARAM);
    return 0;
  }

  // Each value's literal alone, and closed in itself.
  std::vector<std::string> lit(args.size());
  for (size_t k = 0; k < args.size(); ++k) {
    try {
      lit[k] = uvpg::detail::inline_params("$1", {args[k]}, scs, ctx);
    } catch (const uvpg::data_error &) {
      continue; // not in the statement: inline_params() did not write it
    }
    std::string_view l = lit[k];
    std::string more = lit[k] + " "; // an open quote would take the blank
    for (size_t i = 0; i < l.size();) {
      size_t j = skip_inert(l, i);
      if (j != i) {
        check((l[i] == '\'' || l[i] == '"') && j - i >= 2 &&
              l[j - 1] == l[i] && skip_inert(more, i) == j);
        i = j;
      } else {
        ++i;
      }
    }
    if (!scs && l.find('\\') != l.npos) {
      check(l.starts_with("E'"));
    }
  }

  // The output, rebuilt: the statement with each $n replaced.
  std::string rebuilt;
  std::vector<std::pair<size_t, size_t>> spans; // literal [start, end)
  size_t end = std::string_view::npos;
  for (size_t i = 0; i < sql.size();) {
    size_t j = i == end ? i + skip_inert(sql.substr(i), 0)
                        : skip_inert(sql, i);
    unsigned long n;
    if (j != i) {
      rebuilt.append(sql.substr(i, j - i));
      i = j;
    } else if (size_t k = placeholder(sql, i, n, end)) {
      end = k;
      check(n >= 1 && n <= args.size());
      spans.emplace_back(rebuilt.size(), rebuilt.size() + lit[n - 1].size());
      rebuilt += lit[n - 1];
      if (k < sql.size() && (uvpg::detail::ident_char(sql[k]) || sql[k] == '$')) {
        rebuilt += ' ';
      }
      i = k;
    } else {
      rebuilt += sql[i++];
    }
  }
  check(rebuilt == out);

  // No value breaks out of its literal.
  size_t at = 0;
  for (size_t s = 0; s < spans.size(); ++s) {
    auto [a, b] = spans[s];
    if (at > a) {
      continue; // the statement joined this literal to the one before
    }
    at = scan_to(out, at, a);
    if (at != a) {
      // The statement's quoted text just before it joins it: '' then
      // 'v' reads as '''v'.
      check(at > a && (out[a] == '\'' || out[a] == '"') &&
            out[a - 1] == out[a]);
    }
    at = scan_to(out, at, b);
    if (at != b) {
      check(at > b && (out[b] == '\'' || out[b] == '"') &&
            out[b - 1] == out[b]);
    }
  }
  std::vector<size_t> ends;
  for (auto [a, b] : spans) {
    ends.push_back(b);
  }
  check(count_dollars(out, ends) <= count_dollars(sql, {}));
  return 0;
}
