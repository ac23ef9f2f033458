// Text input of the date and time typecasters: the server's output in
// DateStyle ISO read back, every character and range checked first.
#include <cstring>

#include "datetime.hh"

namespace uvpg::detail::dt {
namespace {


// A cursor over a value's text.
struct scanner {
  const char *p, *end;

  explicit scanner(std::string_view s)
      : p(s.data()), end(s.data() + s.size()) {}
  bool done() const { return p == end; }
  bool peek(char c) const { return p != end && *p == c; }
  bool eat(char c) {
    if (peek(c)) {
      ++p;
      return true;
    }
    return false;
  }
  bool eat(std::string_view s) {
    if (static_cast<size_t>(end - p) >= s.size() &&
        std::memcmp(p, s.data(), s.size()) == 0) {
      p += s.size();
      return true;
    }
    return false;
  }
  // From `min` to `max` decimal digits (max <= 18, so no overflow).
  bool number(int min, int max, int64_t &v) {
    v = 0;
    int n = 0;
    while (p != end && *p >= '0' && *p <= '9' && n < max) {
      v = v * 10 + (*p++ - '0');
      ++n;
    }
    return n >= min && !(p != end && *p >= '0' && *p <= '9');
  }
  // An optional '+' or '-': -1 or 1.
  int sign() {
    if (eat('-')) {
      return -1;
    }
    eat('+');
    return 1;
  }
  // ".f" with 1 to 6 digits, as microseconds; 0 when absent.
  bool fraction(int64_t &us) {
    us = 0;
    if (!eat('.')) {
      return true;
    }
    int n = 0;
    while (p != end && *p >= '0' && *p <= '9' && n < 6) {
      us = us * 10 + (*p++ - '0');
      ++n;
    }
    if (n == 0 || (p != end && *p >= '0' && *p <= '9')) {
      return false;
    }
    for (; n < 6; ++n) {
      us *= 10;
    }
    return true;
  }
};

// "YYYY-MM-DD" with 4 or more year digits; the year is as printed
// (BC not yet applied).
bool scan_ymd(scanner &s, int64_t &y, unsigned &m, unsigned &d) {
  int64_t mm, dd;
  if (!s.number(4, 9, y) || !s.eat('-') || !s.number(2, 2, mm) || !s.eat('-') ||
      !s.number(2, 2, dd)) {
    return false;
  }
  m = static_cast<unsigned>(mm);
  d = static_cast<unsigned>(dd);
  return y != 0; // the server prints 1 BC, never year 0
}

// "HH:MM:SS[.ffffff]" as microseconds; `max_hour` is 23 in a timestamp,
// 24 in a time (where 24:00:00 is the end of the day).
bool scan_time(scanner &s, int64_t max_hour, int64_t &us) {
  int64_t h, m, sec, frac;
  if (!s.number(2, 2, h) || !s.eat(':') || !s.number(2, 2, m) || !s.eat(':') ||
      !s.number(2, 2, sec) || !s.fraction(frac)) {
    return false;
  }
  if (h > max_hour || m > 59 || sec > 59) {
    return false;
  }
  us = h * usecs_per_hour + m * usecs_per_min + sec * usecs_per_sec + frac;
  return us <= usecs_per_day;
}

// "+HH[:MM[:SS]]" as seconds east of UTC.
bool scan_zone(scanner &s, int64_t &east) {
  int sign;
  if (s.eat('+')) {
    sign = 1;
  } else if (s.eat('-')) {
    sign = -1;
  } else {
    return false;
  }
  int64_t h, m = 0, sec = 0;
  if (!s.number(2, 2, h)) {
    return false;
  }
  if (s.eat(':')) {
    if (!s.number(2, 2, m)) {
      return false;
    }
    if (s.eat(':') && !s.number(2, 2, sec)) {
      return false;
    }
  }
  if (m > 59 || sec > 59) {
    return false;
  }
  east = sign * (h * 3600 + m * 60 + sec);
  return east > -zone_limit && east < zone_limit;
}

// Applies " BC" and checks the day; days since 2000-01-01.
bool finish_date(scanner &s, int64_t y, unsigned m, unsigned d, int64_t &days) {
  if (s.eat(" BC")) {
    y = 1 - y;
  }
  if (!s.done() || !valid_civil(y, m, d)) {
    return false;
  }
  days = days_from_civil(y, m, d) - epoch_days;
  return true;
}

// acc += a * b, false on overflow.
bool mul_add(int64_t &acc, int64_t a, int64_t b) {
  int64_t p;
  return !__builtin_mul_overflow(a, b, &p) &&
         !__builtin_add_overflow(acc, p, &acc);
}

bool fits_int32(int64_t v) { return v >= int32_min && v <= int32_max; }

bool finish_interval(int64_t months, int64_t days, int64_t us, interval &out) {
  if (!fits_int32(months) || !fits_int32(days)) {
    return false;
  }
  out = {static_cast<int32_t>(months), static_cast<int32_t>(days), us};
  return true;
}

} // namespace

std::optional<int32_t> parse_date(std::string_view v) {
  if (v == "infinity") {
    return int32_max;
  }
  if (v == "-infinity") {
    return int32_min;
  }
  scanner s(v);
  int64_t y, days;
  unsigned m, d;
  if (!scan_ymd(s, y, m, d) || !finish_date(s, y, m, d, days) ||
      days < min_date || days >= end_date) {
    return std::nullopt;
  }
  return static_cast<int32_t>(days);
}

std::optional<int64_t> parse_timestamp(std::string_view v, bool zoned) {
  if (v == "infinity") {
    return int64_max;
  }
  if (v == "-infinity") {
    return int64_min;
  }
  scanner s(v);
  int64_t y, days, us, east = 0;
  unsigned m, d;
  if (!scan_ymd(s, y, m, d) || !s.eat(' ') || !scan_time(s, 23, us) ||
      (zoned && !scan_zone(s, east)) || !finish_date(s, y, m, d, days)) {
    return std::nullopt;
  }
  // The local day of a timestamptz may lie a day outside the range of
  // its UTC value (4714-11-23 20:29:08-03:30:52 BC is the first one).
  // Within that slack the products below stay far from overflow.
  if (days < min_date - 1 || days > end_timestamp_date) {
    return std::nullopt;
  }
  int64_t t = days * usecs_per_day + us - east * usecs_per_sec;
  if (t < min_timestamp || t >= end_timestamp) {
    return std::nullopt;
  }
  return t;
}

std::optional<int64_t> parse_time(std::string_view v) {
  scanner s(v);
  int64_t us;
  if (!scan_time(s, 24, us) || !s.done()) {
    return std::nullopt;
  }
  return us;
}

std::optional<timetz> parse_timetz(std::string_view v) {
  scanner s(v);
  int64_t us, east;
  if (!scan_time(s, 24, us) || !scan_zone(s, east) || !s.done()) {
    return std::nullopt;
  }
  return timetz{time_of_day(std::chrono::microseconds(us)),
                std::chrono::seconds(east)};
}

// IntervalStyle postgres: "1 year 2 mons -3 days +04:05:06.789", each
// part optional (but one at least), in this order.
std::optional<interval> parse_interval_postgres(std::string_view v) {
  static const std::string_view units[] = {"year", "mon", "day"};
  static const int64_t factor[] = {12, 1, 1};
  scanner s(v);
  int64_t months = 0, days = 0, us = 0;
  int next_unit = 0;
  bool any = false;
  while (!s.done()) {
    if (any && !s.eat(' ')) {
      return std::nullopt;
    }
    int sign = s.sign();
    int64_t n;
    if (!s.number(1, 12, n)) {
      return std::nullopt;
    }
    any = true;
    if (s.eat(':')) {
      // The time part, last: hours of any size, minutes, seconds.
      int64_t m, sec, frac;
      if (!s.number(2, 2, m) || !s.eat(':') || !s.number(2, 2, sec) ||
          !s.fraction(frac) || !s.done() || m > 59 || sec > 59) {
        return std::nullopt;
      }
      if (!mul_add(us, sign * n, usecs_per_hour) ||
          !mul_add(us, sign * m, usecs_per_min) ||
          !mul_add(us, sign * sec, usecs_per_sec) || !mul_add(us, sign, frac)) {
        return std::nullopt;
      }
      break;
    }
    if (!s.eat(' ')) {
      return std::nullopt;
    }
    int unit = next_unit;
    while (unit < 3 && !s.eat(units[unit])) {
      ++unit;
    }
    if (unit == 3) {
      return std::nullopt;
    }
    s.eat('s');
    next_unit = unit + 1;
    if (!mul_add(unit == 2 ? days : months, sign * n, factor[unit])) {
      return std::nullopt;
    }
  }
  interval out;
  if (!any || !finish_interval(months, days, us, out)) {
    return std::nullopt;
  }
  return out;
}

// IntervalStyle iso_8601: "P1Y2M-3DT4H5M6.789S", "PT0S".
std::optional<interval> parse_interval_iso(std::string_view v) {
  scanner s(v);
  if (!s.eat('P') || s.done()) {
    return std::nullopt;
  }
  int64_t months = 0, days = 0, us = 0;
  bool in_time = false;
  // Designators in the order they may appear; each at most once.
  static const char date_units[] = "YMD", time_units[] = "HMS";
  int next = 0;
  while (!s.done()) {
    if (!in_time && s.eat('T')) {
      in_time = true;
      next = 0;
      if (s.done()) {
        return std::nullopt;
      }
    }
    int sign = s.sign();
    int64_t n, frac = 0;
    if (!s.number(1, 12, n)) {
      return std::nullopt;
    }
    // Only seconds have a fraction.
    bool has_frac = in_time && s.peek('.');
    if (has_frac && !s.fraction(frac)) {
      return std::nullopt;
    }
    const char *units = in_time ? time_units : date_units;
    int unit = next;
    while (unit < 3 && !s.eat(units[unit])) {
      ++unit;
    }
    if (unit == 3 || (has_frac && unit != 2)) {
      return std::nullopt;
    }
    next = unit + 1;
    bool ok;
    if (!in_time) {
      ok = mul_add(unit == 2 ? days : months, sign * n, unit == 0 ? 12 : 1);
    } else {
      static const int64_t factor[] = {usecs_per_hour, usecs_per_min,
                                       usecs_per_sec};
      ok = mul_add(us, sign * n, factor[unit]) && mul_add(us, sign, frac);
    }
    if (!ok) {
      return std::nullopt;
    }
  }
  interval out;
  if (!finish_interval(months, days, us, out)) {
    return std::nullopt;
  }
  return out;
}

} // namespace uvpg::detail::dt
