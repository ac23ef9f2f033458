// mogrify: a statement with its parameters written in as SQL literals,
// as the server would read them back (cursor::mogrify(), cursor::query()).
#include <algorithm>
#include <cctype>

#include "uvpg/errno.h"
#include "uvpg/error.hh"

#include "mogrify.hh"
#include "sql.hh"
#include "types/wire.hh"

namespace uvpg::detail {

// A string constant: 'it''s', or E'a\\b' when the text has a backslash
// (valid whatever standard_conforming_strings says, as psycopg does).
void append_quoted(std::string &out, std::string_view text) {
  bool backslash = text.find('\\') != std::string_view::npos;
  if (backslash) {
    out += 'E';
  }
  out += '\'';
  for (char c : text) {
    if (c == '\'') {
      out += '\'';
    } else if (c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '\'';
}

namespace {



// The names of the types in uvpg::oids, for '...'::name casts.
const char *type_name(oid_t t) {
  switch (t) {
  case oids::boolean: return "bool";
  case oids::bytea: return "bytea";
  case oids::char_: return "\"char\"";
  case oids::name: return "name";
  case oids::int8: return "int8";
  case oids::int2: return "int2";
  case oids::int4: return "int4";
  case oids::text: return "text";
  case oids::oid: return "oid";
  case oids::json: return "json";
  case oids::xml: return "xml";
  case oids::cidr: return "cidr";
  case oids::float4: return "float4";
  case oids::float8: return "float8";
  case oids::money: return "money";
  case oids::inet: return "inet";
  case oids::bpchar: return "bpchar";
  case oids::varchar: return "varchar";
  case oids::date: return "date";
  case oids::time: return "time";
  case oids::timestamp: return "timestamp";
  case oids::timestamptz: return "timestamptz";
  case oids::interval: return "interval";
  case oids::timetz: return "timetz";
  case oids::numeric: return "numeric";
  case oids::uuid: return "uuid";
  case oids::jsonb: return "jsonb";
  case oids::boolean_array: return "bool[]";
  case oids::bytea_array: return "bytea[]";
  case oids::int2_array: return "int2[]";
  case oids::int4_array: return "int4[]";
  case oids::text_array: return "text[]";
  case oids::varchar_array: return "varchar[]";
  case oids::int8_array: return "int8[]";
  case oids::float4_array: return "float4[]";
  case oids::float8_array: return "float8[]";
  case oids::oid_array: return "oid[]";
  case oids::timestamp_array: return "timestamp[]";
  case oids::date_array: return "date[]";
  case oids::time_array: return "time[]";
  case oids::timestamptz_array: return "timestamptz[]";
  case oids::interval_array: return "interval[]";
  case oids::numeric_array: return "numeric[]";
  case oids::uuid_array: return "uuid[]";
  case oids::json_array: return "json[]";
  case oids::jsonb_array: return "jsonb[]";
  case oids::inet_array: return "inet[]";
  case oids::cidr_array: return "cidr[]";
  case oids::bpchar_array: return "bpchar[]";
  case oids::name_array: return "name[]";
  case oids::char_array: return "\"char\"[]";
  case oids::timetz_array: return "timetz[]";
  default: return nullptr;
  }
}

// A numeric constant the SQL lexer reads as one: 12, -1.5, 1e+30, .5.
bool plain_number(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    ++i;
  }
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    ++i;
    ++digits;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      ++digits;
    }
  }
  if (digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    size_t exp = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      ++exp;
    }
    if (exp == 0) {
      return false;
    }
  }
  return i == s.size();
}

// The text of a parameter in binary form: its typecaster's text, one
// the server reads back as the same value whatever the session's
// settings (types/text.cc).
std::string binary_text(const encoded &e, const type_context *ctx) {
  field f(e.bytes.data(), static_cast<int>(e.bytes.size()), false,
          base_type(e.type, ctx), true, "parameter", ctx);
  try {
    return text_of(f, text_mode::literal);
  } catch (const data_error &x) {
    throw data_error("mogrify: cannot write a binary parameter of type " +
                     std::to_string(e.type) + " as SQL text: " + x.what());
  }
}

// Appends one parameter as an SQL literal.  `scs`: the session has
// standard_conforming_strings on (bytea's '\x..' needs it, else E'').
void append_literal(std::string &out, const encoded &e, bool scs,
                    const type_context *ctx) {
  if (e.null) {
    out += "NULL";
    return;
  }
  std::string text = e.binary ? binary_text(e, ctx) : e.bytes;
  if (text.find('\0') != std::string::npos) {
    throw data_error("mogrify: a parameter holds a NUL byte, which SQL "
                     "text cannot hold");
  }
  const char *name = type_name(e.type);
  switch (e.type) {
  case oids::boolean:
    if (text == "t" || text == "true") {
      out += "true";
      return;
    }
    if (text == "f" || text == "false") {
      out += "false";
      return;
    }
    break;
  case oids::int2:
  case oids::int4:
  case oids::int8:
  case oids::oid:
    if (plain_number(text)) {
      // (-1): `1-%s` must not become the comment `1--1`, and `::int8`
      // after it must apply to the negative number, not to 1 (the
      // operand of unary minus: -9223372036854775808::int8 overflows).
      if (text[0] == '-') {
        out += '(' + text + ')';
      } else {
        out += text;
      }
      // A bare number is an int4 to the server: name any other type, or
      // `%s * 1000000000` would overflow where the parameter did not.
      if (e.type != oids::int4) {
        out += "::";
        out += name;
      }
      return;
    }
    break;
  // float4, float8 and numeric take the quoted path with their cast
  // below: a bare 3 would be an integer (3 / 2 = 1), 1e20 a numeric and
  // -0 a plain 0 (found in review).

  case oids::bytea:
    if (scs) {
      out += '\'';
      for (char c : text) {
        out += c;
        if (c == '\'') {
          out += '\'';
        }
      }
      out += "'::bytea";
      return;
    }
    break;
  case oids::unknown:
    name = nullptr; // what a text parameter is: no cast
    break;
  default:
    break;
  }
  append_quoted(out, text);
  if (name) {
    out += "::";
    out += name;
  }
}

} // namespace

// Replaces each $n outside quotes and comments with args[n-1].
std::string inline_params(std::string_view sql,
                          const std::vector<encoded> &args, bool scs,
                          const type_context *ctx) {
  std::string out;
  out.reserve(sql.size() + 16 * args.size());
  // Right after a $n, the digit before ends a parameter, not an
  // identifier: the server reads $1$2 as two placeholders and $1$$x$$
  // as one and a dollar quote, where no value may be written (found by
  // fuzz/mogrify).
  size_t param_end = std::string_view::npos;
  for (size_t i = 0; i < sql.size();) {
    size_t j = i == param_end ? i + skip_inert(sql.substr(i), 0)
                              : skip_inert(sql, i);
    if (j != i) {
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    if (sql[i] == '$' && i + 1 < sql.size() &&
        std::isdigit(static_cast<unsigned char>(sql[i + 1])) &&
        (i == 0 || !ident_char(sql[i - 1]) || i == param_end)) {
      size_t k = i + 1;
      unsigned long n = 0;
      while (k < sql.size() &&
             std::isdigit(static_cast<unsigned char>(sql[k]))) {
        n = std::min<unsigned long>(n * 10 + (sql[k] - '0'), 1u << 20);
        ++k;
      }
      if (n == 0 || n > args.size()) {
        throw programming_error(UVPG_EPARAM, "mogrify: $" + std::to_string(n) +
                                                 " has no parameter (" +
                                                 std::to_string(args.size()) +
                                                 " given)");
      }
      append_literal(out, args[n - 1], scs, ctx);
      // A literal ends in a word (5, true, ::int4) or a quote: a word or
      // a $ of the statement right after it would join it (int4$$ is one
      // identifier to the server), so a blank keeps them apart.
      if (k < sql.size() && (ident_char(sql[k]) || sql[k] == '$')) {
        out += ' ';
      }
      i = param_end = k;
      continue;
    }
    out += sql[i++];
  }
  return out;
}

} // namespace uvpg::detail
