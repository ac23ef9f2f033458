/// \file uvpg/types/datetime.hh
/// Typecasters of the date and time types: date, timestamp, timestamptz,
/// time, timetz and interval.
///
/// | C++                       | reads                    | sends       |
/// |---------------------------|--------------------------|-------------|
/// | uvpg::date                | date                     | date        |
/// | uvpg::timestamp           | timestamp                | timestamp   |
/// | uvpg::timestamptz         | timestamptz              | timestamptz |
/// | system_clock::time_point  | timestamptz, timestamp*  | timestamptz |
/// | uvpg::time_of_day         | time                     | time        |
/// | uvpg::timetz              | timetz                   | timetz      |
/// | uvpg::interval            | interval                 | interval    |
///
/// (*) a timestamp without time zone is taken as UTC.
///
/// Each class holds the server's own representation: days since
/// 2000-01-01 for a date, microseconds since 2000-01-01 00:00:00 for a
/// timestamp, so every value the server can store round-trips, from
/// 4714-11-24 BC to 5874897-12-31 (dates) or 294276-12-31 (timestamps),
/// together with `infinity` and `-infinity`.  Each converts to and from
/// std::chrono; a conversion that std::chrono cannot represent (an
/// infinity, or a timestamp beyond the year 294247 in
/// `sys_time<microseconds>`) throws instead of wrapping around.
///
///     using namespace std::chrono;
///     auto d = row[0].as<uvpg::date>();
///     if (!d.is_infinite()) {
///       year_month_day ymd{d.to_sys_days()};
///     }
///     uvpg::timestamptz t(floor<microseconds>(system_clock::now()));
///     conn.query("INSERT INTO ev VALUES ($1, $2)", t,
///                system_clock::now()); // both sent as timestamptz
///
/// Parameters are sent in binary form with their type's OID, so the
/// session's DateStyle, IntervalStyle and TimeZone never change what the
/// server stores.  Results are read in either form.  The text form must
/// be in DateStyle ISO (the server's default, "ISO, MDY"); another
/// DateStyle is a `uvpg::data_error` that says so.  Intervals in text
/// form are read in IntervalStyle `postgres` (the default) or
/// `iso_8601`.  A timestamptz in text form carries the session's UTC
/// offset; it is converted to UTC, which is all a timestamptz holds.
#ifndef UVPG_TYPES_DATETIME_HH
#define UVPG_TYPES_DATETIME_HH

#include <chrono>
#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "uvpg/error.hh"
#include "uvpg/types.hh"

namespace uvpg {

namespace detail {
// Shared by the timestamp classes; defined in src/types/datetime.cc.
UVPG_CXX_EXTERN std::int64_t timestamp_from_sys(std::int64_t us_since_1970);
UVPG_CXX_EXTERN std::int64_t timestamp_from_day(std::int32_t days,
                                                std::int64_t us);
UVPG_CXX_EXTERN std::int64_t timestamp_to_sys(std::int64_t us_since_2000);
UVPG_CXX_EXTERN std::string format_timestamp(std::int64_t us_since_2000,
                                             bool with_zone);
} // namespace detail

/// A calendar day as the server's `date` holds it, or ±infinity.
///
/// Days of the proleptic Gregorian calendar from 4714-11-24 BC to
/// 5874897-12-31.  Infinities order before and after every day, as on
/// the server.
class UVPG_CXX_EXTERN date {
public:
  /// 1970-01-01, the std::chrono epoch.
  constexpr date() noexcept = default;
  /// The day `d`.
  /// \throws usage_error when `d` is outside the server's range.
  date(std::chrono::sys_days d);
  /// The day `ymd` (years -32767 to 32767, as std::chrono holds them).
  /// \throws usage_error when `ymd` is not a valid day.
  date(std::chrono::year_month_day ymd);
  /// A day by astronomical year (0 is 1 BC, -4713 is 4714 BC), month
  /// (1-12) and day of month: the whole server range, which
  /// std::chrono::year_month_day cannot hold.
  /// \throws usage_error for no such day or one outside the server's
  ///         range.
  static date from_civil(int year, unsigned month, unsigned day);
  /// The server's raw value: days since 2000-01-01; INT32_MAX and
  /// INT32_MIN are ±infinity.  Not range-checked.
  static constexpr date from_days_since_2000(std::int32_t days) noexcept {
    date d;
    d._days = days;
    return d;
  }
  /// `infinity`, later than every day.
  static constexpr date infinity() noexcept {
    return from_days_since_2000(std::numeric_limits<std::int32_t>::max());
  }
  /// `-infinity`, earlier than every day.
  static constexpr date minus_infinity() noexcept {
    return from_days_since_2000(std::numeric_limits<std::int32_t>::min());
  }

  /// The server's raw value (see from_days_since_2000()).
  constexpr std::int32_t days_since_2000() const noexcept { return _days; }
  /// True for `infinity` and `-infinity`.
  constexpr bool is_infinite() const noexcept {
    return _days == std::numeric_limits<std::int32_t>::max() ||
           _days == std::numeric_limits<std::int32_t>::min();
  }
  /// The day as std::chrono holds it.
  /// \throws data_error for ±infinity.
  std::chrono::sys_days to_sys_days() const;
  /// The day as the server prints it in DateStyle ISO: "2024-02-29",
  /// "0044-03-15 BC", "infinity".
  std::string to_string() const;

  /// Chronological order, infinities included.
  constexpr auto operator<=>(const date &) const noexcept = default;

private:
  std::int32_t _days = -10957; // 1970-01-01
};

/// A point in time as the server's `timestamp` (`WithZone` false) or
/// `timestamptz` (`WithZone` true) holds it, or ±infinity.
///
/// Microseconds since 2000-01-01 00:00:00, from 4714-11-24 BC to
/// 294276-12-31 23:59:59.999999.  A timestamptz is a point in UTC; a
/// timestamp is a wall-clock reading in no particular zone, which
/// std::chrono calls sys_time all the same.  Infinities order before
/// and after every point, as on the server.
template <bool WithZone> class basic_timestamp {
public:
  /// The std::chrono form: microseconds since 1970-01-01 00:00:00.
  using time_point = std::chrono::sys_time<std::chrono::microseconds>;

  /// 1970-01-01 00:00:00, the std::chrono epoch.
  constexpr basic_timestamp() noexcept = default;
  /// The point `t` (sys_days and sys_seconds convert to it too).
  /// \throws usage_error when `t` is outside the server's range.
  basic_timestamp(time_point t)
      : _us(detail::timestamp_from_sys(t.time_since_epoch().count())) {}
  /// A coarser std::chrono time (sys_days, sys_seconds, ...).
  /// \throws usage_error when `t` is outside the server's range.
  template <class Duration>
    requires(std::is_convertible_v<Duration, std::chrono::microseconds> &&
             !std::is_same_v<Duration, std::chrono::microseconds>)
  basic_timestamp(std::chrono::sys_time<Duration> t)
      : basic_timestamp(time_point(t)) {}
  /// The day `d` at `since_midnight` (0 to 24 hours): the whole server
  /// range, which time_point cannot hold.
  /// \throws usage_error for an infinite day, a time of day outside
  ///         [0, 24 h) or a result outside the server's range.
  basic_timestamp(date d, std::chrono::microseconds since_midnight)
      : _us(detail::timestamp_from_day(d.days_since_2000(),
                                       since_midnight.count())) {}
  /// The server's raw value: microseconds since 2000-01-01 00:00:00;
  /// INT64_MAX and INT64_MIN are ±infinity.  Not range-checked.
  static constexpr basic_timestamp
  from_since_2000(std::int64_t us) noexcept {
    basic_timestamp t;
    t._us = us;
    return t;
  }
  /// `infinity`, later than every point.
  static constexpr basic_timestamp infinity() noexcept {
    return from_since_2000(std::numeric_limits<std::int64_t>::max());
  }
  /// `-infinity`, earlier than every point.
  static constexpr basic_timestamp minus_infinity() noexcept {
    return from_since_2000(std::numeric_limits<std::int64_t>::min());
  }

  /// The server's raw value (see from_since_2000()).
  constexpr std::int64_t since_2000() const noexcept { return _us; }
  /// True for `infinity` and `-infinity`.
  constexpr bool is_infinite() const noexcept {
    return _us == std::numeric_limits<std::int64_t>::max() ||
           _us == std::numeric_limits<std::int64_t>::min();
  }
  /// The point as std::chrono holds it.
  /// \throws data_error for ±infinity, and after 294247-01-10 04:00:54
  ///         UTC, where microseconds since 1970 overflow 64 bits.
  time_point to_sys_time() const {
    return time_point(
        std::chrono::microseconds(detail::timestamp_to_sys(_us)));
  }
  /// The point as the server prints it in DateStyle ISO, a timestamptz
  /// in UTC: "1999-12-31 23:59:59.999999", "2024-02-29 12:00:00+00",
  /// "4714-11-24 00:00:00 BC", "infinity".
  std::string to_string() const {
    return detail::format_timestamp(_us, WithZone);
  }

  /// Chronological order, infinities included.
  constexpr auto
  operator<=>(const basic_timestamp &) const noexcept = default;

private:
  std::int64_t _us = -946684800000000; // 1970-01-01 00:00:00
};

/// The server's `timestamp` (without time zone).
using timestamp = basic_timestamp<false>;
/// The server's `timestamptz`: a point in UTC.
using timestamptz = basic_timestamp<true>;

/// A time of day as the server's `time` holds it: 00:00:00 to 24:00:00
/// (inclusive) in microseconds.
class UVPG_CXX_EXTERN time_of_day {
public:
  /// 00:00:00.
  constexpr time_of_day() noexcept = default;
  /// `since_midnight` after midnight (hours, minutes, ... convert).
  /// \throws usage_error outside 0 to 24 hours inclusive.
  explicit time_of_day(std::chrono::microseconds since_midnight);
  /// The time since midnight.
  constexpr std::chrono::microseconds since_midnight() const noexcept {
    return _us;
  }
  /// The time as the server prints it: "23:59:59.999999", "24:00:00".
  std::string to_string() const;

  /// Earlier times first.
  constexpr auto operator<=>(const time_of_day &) const noexcept = default;

private:
  std::chrono::microseconds _us{0};
};

/// A time of day with a UTC offset, as the server's `timetz` holds it.
struct UVPG_CXX_EXTERN timetz {
  /// The local time of day.
  time_of_day time;
  /// The UTC offset, positive east of Greenwich as in ISO 8601
  /// (+05:30 is 19800 s); the server takes up to ±15:59:59.
  std::chrono::seconds offset{0};

  /// The value as the server prints it: "12:00:00+05:30".
  std::string to_string() const;
  /// Same time and same offset (12:00+01 differs from 11:00+00).
  bool operator==(const timetz &) const noexcept = default;
};

/// A span of time as the server's `interval` holds it: months, days
/// and microseconds, each signed and kept apart (a month is not a fixed
/// number of days, nor a day of hours across a DST change).
///
/// PostgreSQL 17 and later also store `infinity` (every field at its
/// maximum) and `-infinity` (every field at its minimum), and read them
/// as such.  Earlier servers hold the same fields as the largest and
/// smallest finite intervals: to_string() prints them as those servers
/// do, to_string(170000) as PostgreSQL 17 does.
struct UVPG_CXX_EXTERN interval {
  std::int32_t months = 0;       ///< months (a year is 12)
  std::int32_t days = 0;         ///< days
  std::int64_t microseconds = 0; ///< the time part

  /// The value as PostgreSQL 16 and earlier print it in IntervalStyle
  /// postgres: "1 year 2 mons -3 days +04:05:06.789", "00:00:00", and
  /// every field at its maximum "178956970 years 7 mons 2147483647 days
  /// 2562047788:00:54.775807".
  std::string to_string() const;
  /// The value as the server of `server_version` prints it
  /// (PQserverVersion's form: 170000 is 17.0): from 17 on, every field
  /// at its maximum is "infinity" and at its minimum "-infinity".
  std::string to_string(int server_version) const;
  /// The same three fields (1 day differs from 24 hours, as `=` on the
  /// server would not say).
  bool operator==(const interval &) const noexcept = default;
};

// The typecasters of the classes above (see the table at the top): each
// reads its type in text or binary form and sends it in binary form.
#define UVPG__DATETIME_CODEC(T)                                              \
  template <> struct UVPG_CXX_EXTERN codec<T> {                              \
    static T decode(const field &f);                                         \
    static void encode(const T &v, encoded &out);                            \
  };

UVPG__DATETIME_CODEC(date)
UVPG__DATETIME_CODEC(timestamp)
UVPG__DATETIME_CODEC(timestamptz)
UVPG__DATETIME_CODEC(time_of_day)
UVPG__DATETIME_CODEC(timetz)
UVPG__DATETIME_CODEC(interval)
/// The system clock reads timestamptz, and timestamp as UTC; it is sent
/// as timestamptz, rounded down to the microsecond.  A value the clock
/// cannot hold (±infinity, or beyond its range: ±292 years around 1970
/// with nanoseconds) is a data_error.
UVPG__DATETIME_CODEC(std::chrono::system_clock::time_point)

#undef UVPG__DATETIME_CODEC

} // namespace uvpg

#endif // UVPG_TYPES_DATETIME_HH
