/// \file uvpg/types.hh
/// Values: how one field of a result reads as a C++ type, and how a C++
/// value becomes a query parameter.
///
/// Every C++ type T that uvpg can read or send has a `uvpg::codec<T>`
/// specialisation (the "typecaster"), in one header per type family
/// under uvpg/types/.  A codec reads a field in either wire format (text,
/// or binary when the statement asked for it) and writes a parameter in
/// one of them.  The same types go both ways, so every value round-trips.
/// A user adds a type by specialising `codec` for it (see
/// samples/custom_type.cc).
///
///     auto n = row[0].as<int64_t>();                 // throws on NULL
///     auto s = row["name"].as<std::optional<std::string>>(); // NULL ok
///
/// A value the server sent that does not parse is a `uvpg::data_error`
/// (code UVPG_EDATA), never undefined behaviour.  A field whose type the
/// codec does not accept (reading a text column as int64_t) is a
/// `uvpg::data_error` too, naming both types.
#ifndef UVPG_TYPES_HH
#define UVPG_TYPES_HH

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "uvpg/error.hh"
#include "uvpg/errno.h"

namespace uvpg {

/// A PostgreSQL type OID.
using oid_t = unsigned int;

/// The OIDs of the built-in types uvpg knows (pg_type.dat; they are fixed
/// across server versions).  Extension types (hstore) have per-database
/// OIDs, looked up after connect.
namespace oids {
inline constexpr oid_t boolean = 16, bytea = 17, char_ = 18, name = 19,
                       int8 = 20, int2 = 21, int4 = 23, text = 25, oid = 26,
                       json = 114, xml = 142, cidr = 650, float4 = 700,
                       float8 = 701, unknown = 705, money = 790,
                       inet = 869, bpchar = 1042, varchar = 1043,
                       date = 1082, time = 1083, timestamp = 1114,
                       timestamptz = 1184, interval = 1186, timetz = 1266,
                       numeric = 1700, uuid = 2950, jsonb = 3802;
// Arrays of the above.
inline constexpr oid_t boolean_array = 1000, bytea_array = 1001,
                       int2_array = 1005, int4_array = 1007,
                       text_array = 1009, varchar_array = 1015,
                       int8_array = 1016, float4_array = 1021,
                       float8_array = 1022, oid_array = 1028,
                       timestamp_array = 1115, date_array = 1182,
                       time_array = 1183, timestamptz_array = 1185,
                       interval_array = 1187, numeric_array = 1231,
                       uuid_array = 2951, json_array = 199,
                       jsonb_array = 3807, inet_array = 1041,
                       cidr_array = 651, bpchar_array = 1014,
                       name_array = 1003, char_array = 1002,
                       timetz_array = 1270;
} // namespace oids

// data_error (a value the server sent that does not parse, or that
// cannot become the C++ type asked for) is in uvpg/error.hh.

namespace detail {
struct type_context;
}

/// One field of one row: a view valid while its result lives.
class field {
public:
  field(const char *data, int len, bool null, oid_t type, bool binary,
        std::string_view name, const detail::type_context *ctx) noexcept
      : _data(data), _len(len), _null(null), _binary(binary), _type(type),
        _name(name), _ctx(ctx) {}

  /// True for SQL NULL.
  bool is_null() const noexcept { return _null; }
  /// The bytes as the server sent them (text or binary form).
  std::string_view raw() const noexcept {
    return {_data, static_cast<size_t>(_len)};
  }
  /// The column's type OID; for a domain (or an array of one, or an
  /// element of such an array) that the connection knows, the type the
  /// domain is over.
  oid_t type() const noexcept { return _type; }
  /// True when the value is in binary form.
  bool binary() const noexcept { return _binary; }
  /// The column's name.
  std::string_view name() const noexcept { return _name; }
  /// The connection's type information (extension OIDs, switches).
  const detail::type_context *context() const noexcept { return _ctx; }

  /// The value as T.  `std::optional<U>` reads NULL as nullopt; any other
  /// T throws data_error for NULL.
  /// \throws data_error for NULL, a malformed value or a type T cannot
  ///         hold.
  template <class T> T as() const;

private:
  const char *_data;
  int _len;
  bool _null;
  bool _binary;
  oid_t _type;
  std::string_view _name;
  const detail::type_context *_ctx;
};

/// A parameter ready for the wire.
struct encoded {
  std::string bytes;  ///< the value in text or binary form
  oid_t type = 0;     ///< 0: the server infers it from the statement
  bool binary = false;
  bool null = false;
};

/// The typecaster of T: specialise it to read and write your own type.
///
///     template <> struct uvpg::codec<point> {
///       static point decode(const uvpg::field &f);          // read
///       static void encode(const point &v, uvpg::encoded &out); // write
///     };
template <class T, class Enable = void> struct codec;

/// True when T can be read from a field.
template <class T>
concept can_decode = requires(const field &f) {
  { codec<T>::decode(f) } -> std::convertible_to<T>;
};
/// True when T can be sent as a parameter.
template <class T>
concept can_encode = requires(const T &v, encoded &e) {
  codec<T>::encode(v, e);
};
/// True when T has a typecaster both ways.
template <class T> concept has_codec = can_decode<T> && can_encode<T>;

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

namespace detail {
template <class T> struct encodable : std::bool_constant<can_encode<T>> {};
template <class T>
struct encodable<std::optional<T>> : std::bool_constant<can_encode<T>> {};
} // namespace detail

/// True when a T can be a parameter (std::optional<U> of one included).
template <class T> concept encodable = detail::encodable<T>::value;

template <class T> T field::as() const {
  if constexpr (is_optional<T>::value) {
    if (_null) {
      return std::nullopt;
    }
    return T(as<typename T::value_type>());
  } else {
    static_assert(can_decode<T>, "no uvpg::codec<T> for this type: include "
                                 "its uvpg/types/ header or specialise it");
    if (_null) {
      throw data_error("column \"" + std::string(_name) +
                       "\" is NULL: read it as std::optional");
    }
    return codec<T>::decode(*this);
  }
}

/// The OID that a type registered on the field's connection
/// (connection::register_type) has there, 0 when it was not registered.
/// A typecaster of a user-defined type checks field::type() against it.
UVPG_CXX_EXTERN oid_t oid_of(const field &f,
                             std::string_view type_name) noexcept;

/// Encodes a C++ value as a parameter (std::nullopt and nullptr: NULL).
template <class T> encoded encode(const T &v) {
  encoded out;
  if constexpr (std::is_same_v<T, std::nullopt_t> ||
                std::is_same_v<T, std::nullptr_t>) {
    out.null = true;
  } else if constexpr (is_optional<T>::value) {
    if (!v) {
      out.null = true;
    } else {
      codec<typename T::value_type>::encode(*v, out);
    }
  } else {
    static_assert(can_encode<T>, "no uvpg::codec<T> for this type");
    codec<T>::encode(v, out);
  }
  return out;
}

namespace detail {
/// The message of a type mismatch: "column "x" has type 25, int64_t
/// wants one of int2, int4, int8, oid".
[[noreturn]] UVPG_CXX_EXTERN void wrong_type(const field &f,
                                             const char *wants);
/// The message of a malformed value: "bad int8 value "12x" in column "n"".
[[noreturn]] UVPG_CXX_EXTERN void malformed(const field &f,
                                            const char *type);
/// The same, saying why: "malformed array value in column "a" (why)".
[[noreturn]] UVPG_CXX_EXTERN void malformed(const field &f, const char *type,
                                            const char *why);
} // namespace detail

} // namespace uvpg

#endif // UVPG_TYPES_HH
