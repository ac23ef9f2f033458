/// \file uvpg/types/core.hh
/// Typecasters of the scalar built-in types: bool, the integers, float4
/// and float8, the text family and bytea.
///
/// | C++                      | reads                          | sends  |
/// |--------------------------|--------------------------------|--------|
/// | bool                     | bool                           | bool   |
/// | int16_t                  | int2                           | int2   |
/// | int32_t                  | int2, int4                     | int4   |
/// | int64_t                  | int2, int4, int8, oid          | int8   |
/// | uint32_t                 | oid                            | oid    |
/// | float                    | float4                         | float4 |
/// | double                   | float4, float8, int2/4/8       | float8 |
/// | std::string              | any type in text form; text,   | text*  |
/// |                          | varchar, bpchar, name, char,   |        |
/// |                          | json, xml, enums in binary     |        |
/// | std::string_view         | as std::string, no copy (valid | text*  |
/// |                          | while the result lives)        |        |
/// | const char *             | (send only)                    | text*  |
/// | uvpg::bytea              | bytea (hex or escape text)     | bytea  |
///
/// (*) sent as type `unknown`, so the server takes the type the statement
/// needs, as for a quoted literal.  float NaN and ±Infinity and -0
/// round-trip; integers out of the C++ range are a data_error.
#ifndef UVPG_TYPES_CORE_HH
#define UVPG_TYPES_CORE_HH

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "uvpg/types.hh"

namespace uvpg {

/// The bytes of a bytea value.
using bytea = std::vector<std::byte>;

#define UVPG__SCALAR_CODEC(T)                                                \
  template <> struct UVPG_CXX_EXTERN codec<T> {                              \
    static T decode(const field &f);                                         \
    static void encode(const T &v, encoded &out);                            \
  };

UVPG__SCALAR_CODEC(bool)
UVPG__SCALAR_CODEC(std::int16_t)
UVPG__SCALAR_CODEC(std::int32_t)
UVPG__SCALAR_CODEC(std::int64_t)
UVPG__SCALAR_CODEC(std::uint32_t)
UVPG__SCALAR_CODEC(float)
UVPG__SCALAR_CODEC(double)
UVPG__SCALAR_CODEC(std::string)
UVPG__SCALAR_CODEC(std::string_view)
UVPG__SCALAR_CODEC(bytea)

#undef UVPG__SCALAR_CODEC

/// C strings are sent as text (NULL pointer: SQL NULL); not readable.
template <> struct codec<const char *> {
  static void encode(const char *v, encoded &out) {
    if (!v) {
      out.null = true;
    } else {
      codec<std::string_view>::encode(v, out);
    }
  }
};
template <std::size_t N> struct codec<char[N]> {
  static void encode(const char (&v)[N], encoded &out) {
    codec<std::string_view>::encode(std::string_view(v), out);
  }
};

/// `long` and `long long` are the same width as int64_t on LP64 but a
/// distinct type on some platforms: map whichever is not int64_t.
template <class T>
struct codec<T, std::enable_if_t<std::is_integral_v<T> &&
                                 std::is_signed_v<T> &&
                                 sizeof(T) == 8 &&
                                 !std::is_same_v<T, std::int64_t>>> {
  static T decode(const field &f) { return codec<std::int64_t>::decode(f); }
  static void encode(const T &v, encoded &out) {
    codec<std::int64_t>::encode(v, out);
  }
};

} // namespace uvpg

#endif // UVPG_TYPES_CORE_HH
