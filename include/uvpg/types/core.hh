/// \file uvpg/types/core.hh
/// Typecasters of the scalar built-in types: bool, the integers, float4
/// and float8, the text family and bytea.
///
/// | C++                      | reads                          | sends  |
/// |--------------------------|--------------------------------|--------|
/// | bool                     | bool                           | bool   |
/// | int16_t                  | int2, int4, int8, oid (range   | int2   |
/// |                          | checked)                       |        |
/// | int32_t                  | int2, int4, int8, oid (range   | int4   |
/// |                          | checked)                       |        |
/// | int64_t                  | int2, int4, int8, oid          | int8   |
/// | uint32_t                 | oid                            | oid    |
/// | float                    | float4                         | float4 |
/// | double                   | float4, float8, int2/4/8       | float8 |
/// | std::string              | any type: its text form (see   | text*  |
/// |                          | below)                         |        |
/// | std::string_view         | as std::string where the bytes | text*  |
/// |                          | are the text, no copy (valid   |        |
/// |                          | while the result lives)        |        |
/// | const char *             | (send only)                    | text*  |
/// | uvpg::bytea              | bytea (hex or escape text)     | bytea  |
///
/// (*) sent as type `unknown`, so the server takes the type the statement
/// needs, as for a quoted literal.  float NaN and ±Infinity and -0
/// round-trip; an integer out of the C++ type's range is a data_error
/// (an int8 of 2^40 read as int32_t, a negative one as uint32_t).
///
/// std::string reads the text the server prints for the value, the same
/// from both wire forms.  A value in text form is that text.  In binary
/// form, the types whose binary form is their text (text, varchar,
/// bpchar, name, json, xml, enums, citext and other types sent by the
/// server's text senders, domains over them) and jsonb (after its
/// version byte) are read as they are; bool, the integers, oid,
/// `"char"`, numeric, uuid, inet, cidr, time, timetz, hstore, records
/// and arrays of these are written as the server prints them.  Types
/// whose text depends on a session setting (float4 and float8 on
/// extra_float_digits, bytea on bytea_output, date and timestamp on
/// DateStyle, timestamptz also on TimeZone, interval on IntervalStyle),
/// arrays of them, and types the connection does not know (a type made
/// after it connected, a table's row type) are a data_error in binary
/// form: read them as their own C++ type, or in text form.
/// std::string_view cannot hold a written text: for those it is a
/// data_error in binary form.
///
/// `"char"` reads as the server prints it: a byte above 127 as `\ooo`
/// (PostgreSQL 15 and later; the byte itself before), the NUL byte as
/// the empty string, in both forms.
///
/// A domain reads as the type it is over: the server names a domain
/// column by that type, and an array of a domain (whose type the server
/// names as is) reads as an array of it when the connection found the
/// domain at connect.  A domain made later is an error, never a guess.
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
