// The wire helpers the typecasters share: network-order integers (the
// binary forms of the server's send/recv functions) and hex digits.
#ifndef UVPG_TYPES_WIRE_HH
#define UVPG_TYPES_WIRE_HH

#include <cstddef>
#include <string>
#include <type_traits>

#include "uvpg/types.hh"

namespace uvpg::detail {

/// The big-endian integer at `p` (sizeof(T) bytes, already checked).
template <class T> T load_be(const char *p) noexcept {
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<U>((v << 8) | static_cast<unsigned char>(p[i]));
  }
  return static_cast<T>(v);
}

/// Appends `v` in big-endian order.
template <class T> void store_be(std::string &out, T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  char buf[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    buf[sizeof(T) - 1 - i] = static_cast<char>(u & 0xff);
    u = static_cast<U>(u >> 8);
  }
  out.append(buf, sizeof buf);
}

/// The value of a hex digit, -1 for any other character.
inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// The server's scanner_isspace (array_in, hstore_in).
inline bool pg_isspace(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/// True for the types whose binary form is their text.
inline bool is_text_type(oid_t t) noexcept {
  switch (t) {
  case oids::text:
  case oids::varchar:
  case oids::bpchar:
  case oids::name:
  case oids::char_:
  case oids::json:
  case oids::xml:
  case oids::unknown:
    return true;
  default:
    return false;
  }
}

} // namespace uvpg::detail

// The typecasters live in namespace uvpg; this header is never installed.
namespace uvpg {
using detail::hex_value;
using detail::is_text_type;
using detail::pg_isspace;
using detail::load_be;
using detail::store_be;
} // namespace uvpg

#endif // UVPG_TYPES_WIRE_HH
