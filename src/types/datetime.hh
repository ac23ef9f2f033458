// Internal to the date and time typecasters: the server's ranges and
// the proleptic Gregorian calendar, shared by the codecs (datetime.cc)
// and the text parsers (datetime_parse.cc).
#ifndef UVPG_SRC_TYPES_DATETIME_HH
#define UVPG_SRC_TYPES_DATETIME_HH

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "uvpg/types/datetime.hh"

namespace uvpg::detail::dt {

using std::int32_t;
using std::int64_t;
using std::uint64_t;

inline constexpr int64_t usecs_per_sec = 1000000;
inline constexpr int64_t usecs_per_min = 60 * usecs_per_sec;
inline constexpr int64_t usecs_per_hour = 60 * usecs_per_min;
inline constexpr int64_t usecs_per_day = 24 * usecs_per_hour;

// 2000-01-01 in days and microseconds since 1970-01-01.
inline constexpr int64_t epoch_days = 10957;
inline constexpr int64_t epoch_usecs = epoch_days * usecs_per_day;

// The server's ranges (datatype/timestamp.h), in days or microseconds
// since 2000-01-01, lower bound included, upper bound excluded: Julian
// day 0 (4714-11-24 BC) to 5874898-01-01 for dates and to 294277-01-01
// for timestamps.
inline constexpr int64_t min_date = -2451545;
inline constexpr int64_t end_date = 2145031949;
inline constexpr int64_t end_timestamp_date = 106751983;
inline constexpr int64_t min_timestamp = min_date * usecs_per_day;
inline constexpr int64_t end_timestamp = end_timestamp_date * usecs_per_day;

inline constexpr int32_t int32_max = std::numeric_limits<int32_t>::max();
inline constexpr int32_t int32_min = std::numeric_limits<int32_t>::min();
inline constexpr int64_t int64_max = std::numeric_limits<int64_t>::max();
inline constexpr int64_t int64_min = std::numeric_limits<int64_t>::min();

// A zone displacement must be smaller than 16 hours (TZDISP_LIMIT).
inline constexpr int64_t zone_limit = 16 * 3600;

// ---- the proleptic Gregorian calendar (after H. Hinnant's
// "chrono-Compatible Low-Level Date Algorithms") with astronomical years:
// year 0 is 1 BC.  Years here stay within ±10^9, far from overflow.

inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct civil {
  int64_t year;
  unsigned month, day;
};

inline civil civil_from_days(int64_t z) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

inline bool valid_civil(int64_t y, unsigned m, unsigned d) {
  static const unsigned char days_in[] = {31, 28, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) {
    return false;
  }
  bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  return d <= days_in[m - 1] + (m == 2 && leap ? 1u : 0u);
}

// Floor division, for days of negative timestamps.
inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// The server's text output in DateStyle ISO (and IntervalStyle postgres
// or iso_8601) back to values; nullopt when `v` does not parse or is out
// of the server's range.
std::optional<int32_t> parse_date(std::string_view v);
std::optional<int64_t> parse_timestamp(std::string_view v, bool zoned);
std::optional<int64_t> parse_time(std::string_view v);
std::optional<timetz> parse_timetz(std::string_view v);
std::optional<interval> parse_interval_postgres(std::string_view v);
std::optional<interval> parse_interval_iso(std::string_view v);

} // namespace uvpg::detail::dt

#endif // UVPG_SRC_TYPES_DATETIME_HH
