// Typecaster of numeric (include/uvpg/types/numeric.hh).
//
// The text form is what numeric_out prints: an optional '-', the integer
// digits, and exactly dscale digits after the point.  The binary form is
// numeric_send's: int16 ndigits, int16 weight, uint16 sign, uint16 dscale,
// then ndigits base-10000 digits, most significant first, the first of
// weight + 1 of them before the point.  Both are turned into the text
// get_str_from_var() (src/backend/utils/adt/numeric.c) would print.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include "wire.hh"
#include "uvpg/types/numeric.hh"

namespace uvpg {

namespace {

// The server's limits (numeric.c): NUMERIC_WEIGHT_MAX base-10000 digits
// before the point, NUMERIC_DSCALE_MAX decimal digits after it.
constexpr int64_t max_integer_digits = (0x7FFF + 1) * 4; // 131072
constexpr int64_t max_dscale = 0x3FFF;                   // 16383

// Signs of the binary form.
constexpr uint16_t sign_pos = 0x0000, sign_neg = 0x4000, sign_nan = 0xC000,
                   sign_pinf = 0xD000, sign_ninf = 0xF000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != b[i]) {
      return false;
    }
  }
  return true;
}

// True when `v` is exactly what numeric_out prints.
bool canonical_text(std::string_view v) {
  if (v == "NaN" || v == "Infinity" || v == "-Infinity") {
    return true;
  }
  size_t i = 0;
  bool neg = !v.empty() && v[0] == '-';
  if (neg) {
    ++i;
  }
  size_t int_start = i;
  while (i < v.size() && is_digit(v[i])) {
    ++i;
  }
  size_t int_len = i - int_start;
  // One digit at least, and no leading zero but a lone one.
  if (int_len == 0 || (int_len > 1 && v[int_start] == '0')) {
    return false;
  }
  bool nonzero = v[int_start] != '0';
  if (i < v.size()) {
    if (v[i] != '.' || i + 1 == v.size()) {
      return false;
    }
    for (++i; i < v.size(); ++i) {
      if (!is_digit(v[i])) {
        return false;
      }
      nonzero |= v[i] != '0';
    }
  }
  // The server never prints a negative zero.
  return nonzero || !neg;
}

[[noreturn]] void bad_literal(std::string_view text, const char *why) {
  throw usage_error("uvpg::numeric: " + std::string(why) + ": \"" +
                    std::string(text.substr(0, 64)) + "\"");
}

// numeric_in's reading of a literal, as the server would print it.
std::string canonicalize(std::string_view text) {
  std::string_view v = text;
  while (!v.empty() && pg_isspace(v.front())) {
    v.remove_prefix(1);
  }
  while (!v.empty() && pg_isspace(v.back())) {
    v.remove_suffix(1);
  }
  if (iequals(v, "nan")) {
    return "NaN";
  }
  bool neg = false;
  std::string_view body = v;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (iequals(body, "infinity") || iequals(body, "inf")) {
    return neg ? "-Infinity" : "Infinity";
  }

  // The digits alone, and how many of them precede the point.
  std::string digits;
  int64_t point = -1;
  size_t i = 0;
  for (; i < body.size(); ++i) {
    if (is_digit(body[i])) {
      digits.push_back(body[i]);
    } else if (body[i] == '.' && point < 0) {
      point = static_cast<int64_t>(digits.size());
    } else {
      break;
    }
  }
  if (digits.empty()) {
    bad_literal(text, "not a number");
  }
  auto len = static_cast<int64_t>(digits.size());
  if (point < 0) {
    point = len;
  }
  int64_t exponent = 0;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) {
      eneg = body[i] == '-';
      ++i;
    }
    size_t start = i;
    for (; i < body.size() && is_digit(body[i]); ++i) {
      // numeric_in refuses |exponent| >= INT_MAX / 2; stop counting
      // there, before int64_t could overflow.
      if (exponent < 1073741823) {
        exponent = exponent * 10 + (body[i] - '0');
      }
    }
    if (i == start) {
      bad_literal(text, "not a number");
    }
    if (exponent >= 1073741823) {
      bad_literal(text, "value overflows numeric format");
    }
    if (eneg) {
      exponent = -exponent;
    }
  }
  if (i != body.size()) {
    bad_literal(text, "not a number");
  }

  // The point moves to `q` digits from the left; what remains on its
  // right is the scale (never negative: 1e3 is 1000, not 1E+3).
  int64_t q = point + exponent;
  int64_t dscale = len - q > 0 ? len - q : 0;
  size_t first = digits.find_first_not_of('0');
  bool zero = first == std::string::npos;
  int64_t int_digits = zero || q <= static_cast<int64_t>(first)
                           ? 0
                           : q - static_cast<int64_t>(first);
  if (dscale > max_dscale || int_digits > max_integer_digits) {
    bad_literal(text, "value overflows numeric format");
  }

  std::string out;
  if (neg && !zero) {
    out.push_back('-');
  }
  if (int_digits == 0) {
    out.push_back('0');
  } else {
    for (int64_t k = static_cast<int64_t>(first); k < q; ++k) {
      out.push_back(k < len ? digits[static_cast<size_t>(k)] : '0');
    }
  }
  if (dscale > 0) {
    out.push_back('.');
    for (int64_t k = q; k < q + dscale; ++k) {
      out.push_back(k >= 0 && k < len ? digits[static_cast<size_t>(k)] : '0');
    }
  }
  return out;
}

uint16_t load_u16(const char *p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) << 8 |
                               static_cast<unsigned char>(p[1]));
}

// The binary form as get_str_from_var() prints it, or nullopt.
bool binary_text(std::string_view raw, std::string &out) {
  if (raw.size() < 8) {
    return false;
  }
  auto ndigits = static_cast<int16_t>(load_u16(raw.data()));
  auto weight = static_cast<int16_t>(load_u16(raw.data() + 2));
  uint16_t sign = load_u16(raw.data() + 4);
  uint16_t dscale = load_u16(raw.data() + 6);
  if (ndigits < 0 || raw.size() != 8 + 2 * static_cast<size_t>(ndigits) ||
      dscale > max_dscale) {
    return false;
  }
  if (sign == sign_nan || sign == sign_pinf || sign == sign_ninf) {
    if (ndigits != 0) {
      return false;
    }
    out = sign == sign_nan    ? "NaN"
          : sign == sign_pinf ? "Infinity"
                              : "-Infinity";
    return true;
  }
  if (sign != sign_pos && sign != sign_neg) {
    return false;
  }
  auto digit = [&](int d) -> int {
    return d >= 0 && d < ndigits ? load_u16(raw.data() + 8 + 2 * d) : 0;
  };
  // The server strips leading zero digits and gives zero the weight 0
  // (make_result): a first digit of 0, or no digits before the point
  // but a positive weight, would print as leading zeros that no
  // canonical text has.
  if (ndigits == 0 && weight > 0) {
    return false;
  }
  for (int d = 0; d < ndigits; ++d) {
    int v = digit(d);
    if (v > 9999 || (d == 0 && v == 0)) {
      return false;
    }
  }
  bool nonzero = false;
  out.clear();
  out.reserve((weight > 0 ? 4 * static_cast<size_t>(weight) : 0) + dscale + 8);
  int d;
  if (weight < 0) {
    d = weight + 1;
    out.push_back('0');
  } else {
    for (d = 0; d <= weight; ++d) {
      int v = digit(d);
      nonzero |= v != 0;
      char buf[4];
      for (int k = 3; k >= 0; --k) {
        buf[k] = static_cast<char>('0' + v % 10);
        v /= 10;
      }
      // The first group goes without its leading zeros.
      int skip = 0;
      if (d == 0) {
        while (skip < 3 && buf[skip] == '0') {
          ++skip;
        }
      }
      out.append(buf + skip, buf + 4);
    }
  }
  if (dscale > 0) {
    out.push_back('.');
    size_t end = out.size() + dscale;
    for (int i = 0; i < dscale; ++d, i += 4) {
      int v = digit(d);
      char buf[4];
      for (int k = 3; k >= 0; --k) {
        buf[k] = static_cast<char>('0' + v % 10);
        v /= 10;
      }
      out.append(buf, 4);
    }
    // Digits past dscale are dropped, as the server does.
    out.resize(end);
    for (size_t k = end - dscale; k < end; ++k) {
      nonzero |= out[k] != '0';
    }
  }
  if (sign == sign_neg && nonzero) {
    out.insert(out.begin(), '-');
  }
  return true;
}

} // namespace

namespace detail {

std::string integer_text(long long v) { return std::to_string(v); }
std::string integer_text(unsigned long long v) { return std::to_string(v); }

} // namespace detail

numeric::numeric(std::string_view text) : _text(canonicalize(text)) {}

double numeric::to_double() const noexcept {
  if (is_nan()) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (_text == "Infinity") {
    return std::numeric_limits<double>::infinity();
  }
  if (_text == "-Infinity") {
    return -std::numeric_limits<double>::infinity();
  }
  double v = 0;
  const char *b = _text.data(), *e = b + _text.size();
  auto [end, ec] = std::from_chars(b, e, v);
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves v alone: beyond a double either way.
    bool neg = _text[0] == '-';
    bool huge = _text[neg ? 1 : 0] != '0';
    v = huge ? std::numeric_limits<double>::infinity() : 0.0;
    return neg ? -v : v;
  }
  return v;
}

numeric codec<numeric>::decode(const field &f) {
  if (f.type() != oids::numeric) {
    detail::wrong_type(f, "uvpg::numeric wants numeric");
  }
  std::string text;
  if (f.binary()) {
    if (!binary_text(f.raw(), text)) {
      detail::malformed(f, "numeric");
    }
  } else {
    if (!canonical_text(f.raw())) {
      detail::malformed(f, "numeric");
    }
    text.assign(f.raw());
  }
  return numeric(std::move(text), numeric::canonical);
}

std::string detail::numeric_text(const field &f) {
  return codec<numeric>::decode(f).to_string();
}

void codec<numeric>::encode(const numeric &v, encoded &out) {
  out.bytes = v.to_string();
  out.type = oids::numeric;
  out.binary = false;
}

} // namespace uvpg
