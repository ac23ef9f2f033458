// What the typecaster families share about types: the type a field
// reads as (domains resolved), and the one text form of a value in
// binary form (detail::text_of), which the std::string typecaster and
// mogrify both use.  Each family renders its own types (core_text,
// datetime_text, ...); this file dispatches, and renders composites.
//
// Why std::string does not return every binary value as it is: only
// some types' binary forms are their text (text_send, enum_send, ...).
// Returning the others' bytes as a string gives bytes that look like
// text and are not (issue 8: hstore read as "\x00\x00\x00\x01...").
// libpq asks for one result format for all columns, so uvpg cannot ask
// for text per column either; it renders the text from the binary form
// instead, and refuses where that text depends on a session setting.
#include <cctype>

#include "wire.hh"
#include "../type_context.hh"

namespace uvpg::detail {

namespace {

constexpr oid_t record = 2249;

// record_send: int32 count, then per column uint32 type, int32 length
// (-1 for NULL) and the bytes; printed as record_out prints it.
std::string record_text(const field &f, text_mode mode) {
  std::string_view s = f.raw();
  if (s.size() < 4) {
    malformed(f, "record", "no column count");
  }
  int32_t count = load_be<int32_t>(s.data());
  size_t pos = 4;
  // Each column takes at least its type and its length.
  if (count < 0 || static_cast<size_t>(count) > (s.size() - pos) / 8) {
    malformed(f, "record", "a bad column count");
  }
  std::string out = "(";
  for (int32_t i = 0; i < count; ++i) {
    if (s.size() - pos < 8) {
      malformed(f, "record", "truncated");
    }
    oid_t type = load_be<uint32_t>(s.data() + pos);
    int32_t len = load_be<int32_t>(s.data() + pos + 4);
    pos += 8;
    if (i > 0) {
      out.push_back(',');
    }
    if (len == -1) {
      continue; // NULL: nothing between the commas
    }
    if (len < 0 || static_cast<size_t>(len) > s.size() - pos) {
      malformed(f, "record", "a bad column length");
    }
    field col(s.data() + pos, len, false, base_type(type, f.context()), true,
              f.name(), f.context());
    pos += static_cast<size_t>(len);
    std::string v = text_of(col, mode);
    // record_out quotes the empty string and any value holding a quote,
    // a backslash, a parenthesis, a comma or whitespace, and doubles
    // quotes and backslashes inside.
    bool quote = v.empty();
    for (char c : v) {
      quote = quote || c == '"' || c == '\\' || c == '(' || c == ')' ||
              c == ',' || std::isspace(static_cast<unsigned char>(c));
    }
    if (quote) {
      out.push_back('"');
    }
    for (char c : v) {
      if (c == '"' || c == '\\') {
        out.push_back(c);
      }
      out.push_back(c);
    }
    if (quote) {
      out.push_back('"');
    }
  }
  if (pos != s.size()) {
    malformed(f, "record", "bytes after the last column");
  }
  out.push_back(')');
  return out;
}

} // namespace

oid_t base_type(oid_t t, const type_context *ctx) noexcept {
  if (!ctx || t < 16384 || ctx->user_types.empty()) {
    return t;
  }
  // A chain of domains is short; the bound only stops a cycle that a
  // corrupt list could make.
  for (int i = 0; i < 32; ++i) {
    if (ctx->registry.count(t)) {
      return t;
    }
    auto it = ctx->user_types.find(t);
    if (it == ctx->user_types.end() || it->second.base == 0) {
      return t;
    }
    t = it->second.base;
  }
  return t;
}

int server_version(const type_context *ctx) noexcept {
  return ctx ? ctx->server_version : 0;
}

bool is_text_binary(oid_t t, const type_context *ctx) noexcept {
  if (is_text_type(t)) {
    return true;
  }
  if (!ctx || t < 16384) {
    return false;
  }
  auto it = ctx->user_types.find(t);
  return it != ctx->user_types.end() && it->second.text_binary;
}

std::string text_of(const field &f, text_mode mode) {
  oid_t t = f.type();
  const type_context *ctx = f.context();
  if (!f.binary() || is_text_binary(t, ctx)) {
    return std::string(f.raw());
  }
  switch (t) {
  case oids::jsonb:
    // jsonb_send: a version byte (1) and then the text jsonb_out prints.
    if (f.raw().empty() || f.raw()[0] != 1) {
      malformed(f, "jsonb", "unknown binary version");
    }
    return std::string(f.raw().substr(1));
  case oids::boolean:
  case oids::int2:
  case oids::int4:
  case oids::int8:
  case oids::oid:
  case oids::float4:
  case oids::float8:
  case oids::bytea:
  case oids::char_:
    return core_text(f, mode);
  case oids::numeric:
    return numeric_text(f);
  case oids::date:
  case oids::time:
  case oids::timetz:
  case oids::timestamp:
  case oids::timestamptz:
  case oids::interval:
    return datetime_text(f, mode);
  case oids::uuid:
    return uuid_text(f);
  case oids::inet:
  case oids::cidr:
    return inet_text(f);
  case record:
    return record_text(f, mode);
  default:
    break;
  }
  if (ctx && ctx->hstore != 0 && t == ctx->hstore) {
    return hstore_text(f);
  }
  if (element_type(t, ctx) != 0) {
    return array_text(f, mode);
  }
  throw data_error("column \"" + std::string(f.name()) + "\" has type " +
                   std::to_string(t) +
                   " in binary form, whose text uvpg cannot write (a type "
                   "without a text-like binary form, or one created after "
                   "the connection started): read it in text form");
}

} // namespace uvpg::detail
