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

/// True for the built-in types whose binary form is their text.
inline bool is_text_type(oid_t t) noexcept {
  switch (t) {
  case oids::text:
  case oids::varchar:
  case oids::bpchar:
  case oids::name:
  case oids::json:
  case oids::xml:
  case oids::unknown:
    return true;
  default:
    return false;
  }
}

// ---- types/text.cc: the type a field reads as, and its text form ----

/// The type a value of type `t` reads as: a domain's base type (through
/// domains over domains) when the connection found the domain at
/// connect, else `t`.  A type the program registered stays itself.
oid_t base_type(oid_t t, const type_context *ctx) noexcept;

/// The element type of array type `t` (built-in arrays, and the arrays
/// of hstore and of the user types found at connect, domains resolved);
/// 0 when `t` is not an array type uvpg knows.
oid_t element_type(oid_t t, const type_context *ctx) noexcept;

/// True when the binary form of type `t` is its text: the built-in text
/// types, and user types whose send function is one of the server's
/// text senders (enums, citext).
bool is_text_binary(oid_t t, const type_context *ctx) noexcept;

/// The server's version in PQserverVersion's form; 0 when not known.
int server_version(const type_context *ctx) noexcept;

/// Which text a renderer below writes.
enum class text_mode {
  /// What the server's output function prints in this session, or a
  /// data_error when that depends on a session setting (DateStyle,
  /// IntervalStyle, TimeZone, extra_float_digits, bytea_output): the
  /// std::string typecaster, so a value reads the same in both forms.
  exact,
  /// A text the server's input function reads back as the same value
  /// under every session setting (ISO dates, "+00" zones, hex bytea,
  /// shortest round-trip floats): mogrify's literals.
  literal,
};

/// The text form of a field in binary form (its bytes in text form).
/// \throws data_error for a malformed value, a type uvpg has no text
///         form of, or (text_mode::exact) a setting-dependent one.
std::string text_of(const field &f, text_mode mode);

/// The per-family renderers text_of() dispatches to; each takes a
/// binary field of one of its family's types (already resolved).
std::string core_text(const field &f, text_mode mode);     // core.cc
std::string numeric_text(const field &f);                  // numeric.cc
std::string datetime_text(const field &f, text_mode mode); // datetime.cc
std::string uuid_text(const field &f);                     // uuid.cc
std::string inet_text(const field &f);                     // network.cc
std::string hstore_text(const field &f);                   // hstore.cc
std::string array_text(const field &f, text_mode mode);    // array.cc

/// A data_error: the text form of the field's type depends on `setting`.
[[noreturn]] void setting_dependent(const field &f, const char *type,
                                    const char *setting);

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
