// The hstore typecaster (include/uvpg/types/hstore.hh).
//
// The text grammar is the one contrib/hstore/hstore_io.c reads
// (hstore_in's parse_hstore and get_val): pairs `key => value` separated
// by commas, whitespace around every token; a key or value either
// double-quoted or bare, a backslash escaping the next character in
// both; a bare key ends at '=' or whitespace, a bare value at ',' or
// whitespace; a bare NULL (any case, no escape) is a NULL value.  The
// server prints every key and value quoted: `"a"=>"1", "b"=>NULL`.
// The binary form is hstore_send's: int32 count, then per pair int32 key
// length, key bytes, int32 value length (-1 for NULL), value bytes.
#include <cstdint>
#include <cstring>
#include <strings.h>

#include "wire.hh"
#include "../type_context.hh"
#include "uvpg/types/hstore.hh"

namespace uvpg {

namespace {

class text_parser {
public:
  text_parser(const field &f) : _f(f), _s(f.raw()) {}

  hstore parse() {
    hstore out;
    for (;;) {
      skip_space();
      if (at_end()) {
        break;
      }
      std::string key;
      if (!token(key, false)) {
        fail("a NULL key");
      }
      skip_space();
      if (peek() != '=' || _pos + 1 >= _s.size() || _s[_pos + 1] != '>') {
        fail("no '=>' after a key");
      }
      _pos += 2;
      skip_space();
      std::string value;
      bool null = !token(value, true);
      if (null) {
        out.emplace(std::move(key), std::nullopt);
      } else {
        out.emplace(std::move(key), std::move(value));
      }
      skip_space();
      if (at_end()) {
        break;
      }
      if (peek() != ',') {
        fail("no ',' between pairs");
      }
      ++_pos;
    }
    return out;
  }

private:
  char peek() const noexcept { return _pos < _s.size() ? _s[_pos] : '\0'; }
  bool at_end() const noexcept { return _pos >= _s.size(); }
  void skip_space() noexcept {
    while (!at_end() && pg_isspace(_s[_pos])) {
      ++_pos;
    }
  }
  [[noreturn]] void fail(const char *why) const { detail::malformed(_f, "hstore", why); }

  // Reads a key (is_value false) or value into `out`; false for a bare
  // NULL.
  bool token(std::string &out, bool is_value) {
    if (at_end()) {
      fail(is_value ? "no value" : "no key");
    }
    if (peek() == '"') {
      ++_pos;
      for (;;) {
        if (at_end()) {
          fail("no closing '\"'");
        }
        char c = _s[_pos++];
        if (c == '"') {
          return true;
        }
        if (c == '\\') {
          if (at_end()) {
            fail("a '\\' at the end");
          }
          c = _s[_pos++];
        }
        out.push_back(c);
      }
    }
    bool escaped = false;
    while (!at_end()) {
      char c = _s[_pos];
      if (pg_isspace(c) || (is_value ? c == ',' : c == '=')) {
        break;
      }
      ++_pos;
      if (c == '\\') {
        if (at_end()) {
          fail("a '\\' at the end");
        }
        c = _s[_pos++];
        escaped = true;
      }
      out.push_back(c);
    }
    if (out.empty() && !escaped) {
      fail(is_value ? "no value" : "no key");
    }
    return !(is_value && !escaped && out.size() == 4 &&
             strncasecmp(out.data(), "NULL", 4) == 0);
  }

  const field &_f;
  std::string_view _s;
  size_t _pos = 0;
};

hstore parse_binary(const field &f) {
  std::string_view s = f.raw();
  if (s.size() < 4) {
    detail::malformed(f, "hstore", "no count");
  }
  int32_t count = load_be<int32_t>(s.data());
  size_t pos = 4;
  // Each pair takes at least its two 4-byte lengths.
  if (count < 0 || static_cast<size_t>(count) > (s.size() - pos) / 8) {
    detail::malformed(f, "hstore", "a bad count");
  }
  hstore out;
  for (int32_t i = 0; i < count; ++i) {
    std::string_view kv[2];
    bool null = false;
    for (int j = 0; j < 2; ++j) {
      if (s.size() - pos < 4) {
        detail::malformed(f, "hstore", "truncated");
      }
      int32_t len = load_be<int32_t>(s.data() + pos);
      pos += 4;
      if (j == 1 && len == -1) {
        null = true;
        break;
      }
      if (len < 0 || static_cast<size_t>(len) > s.size() - pos) {
        detail::malformed(f, "hstore", "a bad length");
      }
      kv[j] = s.substr(pos, static_cast<size_t>(len));
      pos += static_cast<size_t>(len);
    }
    if (null) {
      out.emplace(std::string(kv[0]), std::nullopt);
    } else {
      out.emplace(std::string(kv[0]), std::string(kv[1]));
    }
  }
  if (pos != s.size()) {
    detail::malformed(f, "hstore", "bytes after the last pair");
  }
  return out;
}

void quote(std::string &out, const std::string &v) {
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
}

} // namespace

hstore codec<hstore>::decode(const field &f) {
  const detail::type_context *ctx = f.context();
  if (!ctx || ctx->hstore == 0) {
    throw data_error("column \"" + std::string(f.name()) + "\" has type " +
                     std::to_string(f.type()) +
                     "; uvpg::hstore wants hstore, but the hstore "
                     "extension was not found on this connection (create "
                     "it, then reconnect; or enable_hstore is off)");
  }
  if (f.type() != ctx->hstore) {
    detail::wrong_type(f, "uvpg::hstore wants hstore");
  }
  if (f.binary()) {
    return parse_binary(f);
  }
  return text_parser(f).parse();
}

void codec<hstore>::encode(const hstore &v, encoded &out) {
  out.bytes.clear();
  bool first = true;
  for (const auto &[key, value] : v) {
    if (!first) {
      out.bytes += ", ";
    }
    first = false;
    quote(out.bytes, key);
    out.bytes += "=>";
    if (value) {
      quote(out.bytes, *value);
    } else {
      out.bytes += "NULL";
    }
  }
  out.type = 0; // per-database: the statement names it
  out.binary = false;
}

} // namespace uvpg
