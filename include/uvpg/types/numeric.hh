/// \file uvpg/types/numeric.hh
/// Typecaster of the server's `numeric`: an exact decimal, kept as text.
///
/// | C++            | reads    | sends    |
/// |----------------|----------|----------|
/// | uvpg::numeric  | numeric  | numeric  |
///
/// A `uvpg::numeric` holds the value in the canonical text the server
/// prints for it ("-123.4500", "0.000", "NaN", "Infinity"), digits and
/// scale unchanged, so a value read and sent back is the same value to
/// the last digit.  uvpg does no decimal arithmetic: convert the text
/// to the decimal library of your choice, or to double when rounding is
/// acceptable.
///
///     auto price = row["price"].as<uvpg::numeric>();
///     std::cout << price.to_string();        // "19.90"
///     double approx = price.to_double();     // 19.9
///     conn.query("UPDATE t SET n = $1", uvpg::numeric("1.50e3"));
///
/// Reading a numeric as `double` is a `uvpg::data_error` on purpose:
/// rounding must be asked for, with to_double().
#ifndef UVPG_TYPES_NUMERIC_HH
#define UVPG_TYPES_NUMERIC_HH

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "uvpg/error.hh"
#include "uvpg/types.hh"

namespace uvpg {

class numeric;
/// Reads numeric in text or binary form; sends numeric as text.
template <> struct UVPG_CXX_EXTERN codec<numeric> {
  static numeric decode(const field &f);
  static void encode(const numeric &v, encoded &out);
};

namespace detail {
UVPG_CXX_EXTERN std::string integer_text(long long v);
UVPG_CXX_EXTERN std::string integer_text(unsigned long long v);
} // namespace detail

/// An exact decimal number as the server's `numeric` holds it: up to
/// 131072 digits before the decimal point and 16383 after, or NaN, or
/// (PostgreSQL 14 and later) ±Infinity.
class UVPG_CXX_EXTERN numeric {
public:
  /// Zero, "0".
  numeric() : _text("0") {}
  /// The value of a decimal literal, as the server's numeric input reads
  /// it: optional blanks, an optional sign, digits with an optional
  /// decimal point, an optional exponent ("1.5e-3"), or NaN, Infinity,
  /// inf (any case).  The text kept is the one the server would print:
  /// "1.50e1" becomes "15.0", " -0.000 " becomes "0.000".
  /// \throws usage_error on anything else, or a value beyond the
  ///         server's limits.
  explicit numeric(std::string_view text);
  /// An integer, exactly.
  template <std::integral T>
    requires(!std::is_same_v<T, bool> && !std::is_same_v<T, char> &&
             !std::is_same_v<T, wchar_t> && !std::is_same_v<T, char8_t> &&
             !std::is_same_v<T, char16_t> && !std::is_same_v<T, char32_t>)
  numeric(T v)
      : _text(std::is_signed_v<T>
                  ? detail::integer_text(static_cast<long long>(v))
                  : detail::integer_text(
                        static_cast<unsigned long long>(v))) {}

  /// Not-a-number, "NaN" (equal to itself, as on the server).
  static numeric nan() { return numeric(std::string("NaN"), canonical); }
  /// "Infinity" (PostgreSQL 14 and later).
  static numeric infinity() {
    return numeric(std::string("Infinity"), canonical);
  }
  /// "-Infinity" (PostgreSQL 14 and later).
  static numeric minus_infinity() {
    return numeric(std::string("-Infinity"), canonical);
  }

  /// The canonical text: "-123.4500", "0", "NaN", "Infinity".
  const std::string &to_string() const noexcept { return _text; }
  /// The nearest double: NaN and ±infinity as such, a value too large
  /// for a double as ±infinity, one too small as ±0.
  double to_double() const noexcept;
  /// True for NaN.
  bool is_nan() const noexcept { return _text == "NaN"; }
  /// True for Infinity and -Infinity.
  bool is_infinite() const noexcept {
    return _text == "Infinity" || _text == "-Infinity";
  }

  /// Compares the text exactly: 1.5 and 1.50 are different values here
  /// (the server's `=` says they are equal; its text differs).  Compare
  /// to_double(), or compare on the server, for numeric equality.
  bool operator==(const numeric &) const = default;

private:
  friend struct codec<numeric>;
  struct canonical_t {};
  static constexpr canonical_t canonical{};
  // Trusts `text` to be canonical already.
  numeric(std::string text, canonical_t) : _text(std::move(text)) {}

  std::string _text;
};

} // namespace uvpg

#endif // UVPG_TYPES_NUMERIC_HH
