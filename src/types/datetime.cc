// Typecasters of the date and time types (include/uvpg/types/datetime.hh).
//
// Binary forms are those of the server's send functions with
// integer datetimes (the only kind since PostgreSQL 10): date_send is an
// int32 of days since 2000-01-01, timestamp_send an int64 of microseconds
// since 2000-01-01 00:00:00, time_send an int64 of microseconds,
// timetz_send that plus an int32 zone in seconds WEST of UTC, and
// interval_send int64 microseconds, int32 days, int32 months.  Text forms
// are those of EncodeDateOnly, EncodeDateTime, EncodeTimeOnly and
// EncodeInterval (src/backend/utils/adt/datetime.c) in DateStyle ISO and
// IntervalStyle postgres or iso_8601.
//
// Every decoder checks the length, the range and each character before
// it computes, and all arithmetic on values from the wire is either
// bounded by those checks or done with the overflow builtins, so a
// hostile value ends in data_error and never in undefined behaviour.
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "datetime.hh"
#include "wire.hh"

namespace uvpg {

namespace {

using namespace detail::dt;

// ---- text output

// At least `width` digits, zero-padded; v >= 0.
void put_padded(std::string &out, uint64_t v, int width) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  for (auto n = end - buf; n < width; ++n) {
    out.push_back('0');
  }
  out.append(buf, end);
}

void put_int(std::string &out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// "SS" and, when there are any, ".ffffff" without trailing zeros
// (AppendSeconds with fillzeros).
void put_seconds(std::string &out, uint64_t sec, uint64_t usec) {
  put_padded(out, sec, 2);
  if (usec != 0) {
    char buf[8];
    for (int i = 5; i >= 0; --i) {
      buf[i] = static_cast<char>('0' + usec % 10);
      usec /= 10;
    }
    int n = 6;
    while (buf[n - 1] == '0') {
      --n;
    }
    out.push_back('.');
    out.append(buf, n);
  }
}

// "HH:MM:SS[.ffffff]" of a time of day (0 to 24 h).
void put_time(std::string &out, int64_t us) {
  auto u = static_cast<uint64_t>(us);
  put_padded(out, u / usecs_per_hour, 2);
  out.push_back(':');
  put_padded(out, u / usecs_per_min % 60, 2);
  out.push_back(':');
  put_seconds(out, u / usecs_per_sec % 60, u % usecs_per_sec);
}

// "+HH", "+HH:MM" or "+HH:MM:SS" of an ISO offset (east positive),
// as EncodeTimezone prints it.  |east| < 16 h.
void put_zone(std::string &out, int64_t east) {
  out.push_back(east >= 0 ? '+' : '-');
  uint64_t a =
      east >= 0 ? static_cast<uint64_t>(east) : static_cast<uint64_t>(-east);
  put_padded(out, a / 3600, 2);
  if (a % 60 != 0 || a / 60 % 60 != 0) {
    out.push_back(':');
    put_padded(out, a / 60 % 60, 2);
    if (a % 60 != 0) {
      out.push_back(':');
      put_padded(out, a % 60, 2);
    }
  }
}

// "YYYY-MM-DD" of days since 2000-01-01; the " BC" goes at the very end
// of the value, so the caller adds it when this returns true.
bool put_date(std::string &out, int64_t days) {
  civil c = civil_from_days(days + epoch_days);
  bool bc = c.year <= 0;
  put_padded(out, static_cast<uint64_t>(bc ? 1 - c.year : c.year), 4);
  out.push_back('-');
  put_padded(out, c.month, 2);
  out.push_back('-');
  put_padded(out, c.day, 2);
  return bc;
}

// ---- errors

// A text value that does not parse.  When it does not even start like
// ISO output, the session's DateStyle is the likely cause: say so.
[[noreturn]] void bad_text(const field &f, const char *type, const char *hint) {
  std::string_view raw = f.raw();
  std::string_view v = raw.substr(0, 64);
  throw data_error("malformed " + std::string(type) + " value in column \"" +
                   std::string(f.name()) + "\": \"" + std::string(v) + "\"" +
                   (hint ? std::string(" (") + hint + ")" : ""));
}

[[noreturn]] void bad_datetime_text(const field &f, const char *type) {
  std::string_view raw = f.raw();
  size_t digits = 0;
  while (digits < raw.size() && raw[digits] >= '0' && raw[digits] <= '9') {
    ++digits;
  }
  bool iso = digits >= 4 && digits < raw.size() && raw[digits] == '-';
  bad_text(f, type,
           iso ? nullptr
               : "uvpg reads dates and times in DateStyle ISO, the "
                 "server's default: SET DateStyle = ISO, or read results "
                 "in binary form");
}

void check_type(const field &f, oid_t type, const char *wants) {
  if (f.type() != type) {
    detail::wrong_type(f, wants);
  }
}

void check_size(const field &f, size_t size, const char *type) {
  if (f.raw().size() != size) {
    detail::malformed(f, type);
  }
}

// A timestamp or timestamptz field, as microseconds since 2000.
int64_t read_timestamp(const field &f, bool zoned) {
  const char *type = zoned ? "timestamptz" : "timestamp";
  if (f.binary()) {
    check_size(f, 8, type);
    int64_t v = load_be<int64_t>(f.raw().data());
    if (v != int64_max && v != int64_min &&
        (v < min_timestamp || v >= end_timestamp)) {
      detail::malformed(f, type);
    }
    return v;
  }
  auto v = parse_timestamp(f.raw(), zoned);
  if (!v) {
    bad_datetime_text(f, type);
  }
  return *v;
}

void write_int64(int64_t v, oid_t type, encoded &out) {
  out.bytes.clear();
  store_be(out.bytes, v);
  out.type = type;
  out.binary = true;
}

} // namespace

// ---- the value classes

namespace detail {

int64_t timestamp_from_sys(int64_t us_since_1970) {
  if (us_since_1970 < min_timestamp + epoch_usecs ||
      us_since_1970 - epoch_usecs >= end_timestamp) {
    throw usage_error("uvpg::timestamp: out of the server's range "
                      "(4714-11-24 BC to 294276-12-31)");
  }
  return us_since_1970 - epoch_usecs;
}

int64_t timestamp_from_day(int32_t days, int64_t us) {
  if (days == int32_max || days == int32_min) {
    throw usage_error("uvpg::timestamp: the day is infinite");
  }
  if (us < 0 || us >= usecs_per_day) {
    throw usage_error("uvpg::timestamp: the time of day is not within "
                      "[0, 24 h)");
  }
  if (days < min_date || days >= end_timestamp_date) {
    throw usage_error("uvpg::timestamp: out of the server's range "
                      "(4714-11-24 BC to 294276-12-31)");
  }
  return days * usecs_per_day + us;
}

int64_t timestamp_to_sys(int64_t us) {
  if (us == int64_max || us == int64_min) {
    throw data_error(std::string("timestamp ") +
                     (us > 0 ? "infinity" : "-infinity") +
                     " has no std::chrono value");
  }
  if (us > int64_max - epoch_usecs) {
    throw data_error("timestamp after 294247-01-10 04:00:54.775807 does "
                     "not fit std::chrono::sys_time<microseconds>");
  }
  return us + epoch_usecs;
}

std::string format_timestamp(int64_t us, bool with_zone) {
  if (us == int64_max) {
    return "infinity";
  }
  if (us == int64_min) {
    return "-infinity";
  }
  std::string out;
  int64_t days = floor_div(us, usecs_per_day);
  bool bc = put_date(out, days);
  out.push_back(' ');
  put_time(out, us - days * usecs_per_day);
  if (with_zone) {
    out += "+00";
  }
  if (bc) {
    out += " BC";
  }
  return out;
}

} // namespace detail

date::date(std::chrono::sys_days d) {
  auto n = static_cast<int64_t>(d.time_since_epoch().count());
  if (n < min_date + epoch_days || n - epoch_days >= end_date) {
    throw usage_error("uvpg::date: out of the server's range "
                      "(4714-11-24 BC to 5874897-12-31)");
  }
  _days = static_cast<int32_t>(n - epoch_days);
}

date::date(std::chrono::year_month_day ymd) {
  if (!ymd.ok()) {
    throw usage_error("uvpg::date: no such day");
  }
  *this = date(std::chrono::sys_days(ymd));
}

date date::from_civil(int year, unsigned month, unsigned day) {
  if (!valid_civil(year, month, day)) {
    throw usage_error("uvpg::date: no such day");
  }
  int64_t days = days_from_civil(year, month, day) - epoch_days;
  if (days < min_date || days >= end_date) {
    throw usage_error("uvpg::date: out of the server's range "
                      "(4714-11-24 BC to 5874897-12-31)");
  }
  return from_days_since_2000(static_cast<int32_t>(days));
}

std::chrono::sys_days date::to_sys_days() const {
  if (is_infinite()) {
    throw data_error(std::string("date ") +
                     (_days > 0 ? "infinity" : "-infinity") +
                     " has no std::chrono value");
  }
  using rep = std::chrono::days::rep;
  int64_t n = static_cast<int64_t>(_days) + epoch_days;
  // Where days count in 32 bits (libc++), the last dates do not fit.
  if (n > static_cast<int64_t>(std::numeric_limits<rep>::max())) {
    throw data_error("date " + to_string() +
                     " does not fit std::chrono::sys_days");
  }
  return std::chrono::sys_days(std::chrono::days(static_cast<rep>(n)));
}

std::string date::to_string() const {
  if (_days == int32_max) {
    return "infinity";
  }
  if (_days == int32_min) {
    return "-infinity";
  }
  std::string out;
  if (put_date(out, _days)) {
    out += " BC";
  }
  return out;
}

time_of_day::time_of_day(std::chrono::microseconds since_midnight)
    : _us(since_midnight) {
  if (_us.count() < 0 || _us.count() > usecs_per_day) {
    throw usage_error("uvpg::time_of_day: not within 00:00:00 to 24:00:00");
  }
}

std::string time_of_day::to_string() const {
  std::string out;
  put_time(out, _us.count());
  return out;
}

std::string timetz::to_string() const {
  std::string out = time.to_string();
  int64_t east = offset.count();
  if (east <= -zone_limit || east >= zone_limit) {
    // Not a value the server can hold: print the seconds as they are.
    out += east >= 0 ? "+" : "";
    put_int(out, east);
    out += "s";
  } else {
    put_zone(out, east);
  }
  return out;
}

std::string interval::to_string() const { return to_string(0); }

std::string interval::to_string(int server_version) const {
  // PostgreSQL 17 made the extremes infinite; before, they are finite
  // values like any other (issue 8).
  if (server_version >= 170000) {
    if (months == int32_max && days == int32_max &&
        microseconds == int64_max) {
      return "infinity";
    }
    if (months == int32_min && days == int32_min &&
        microseconds == int64_min) {
      return "-infinity";
    }
  }
  // EncodeInterval, INTSTYLE_POSTGRES: each part has the sign of its own
  // (truncating) division, and a positive part after a negative one
  // gets a '+'.
  int64_t year = months / 12, mon = months % 12;
  int64_t t = microseconds;
  int64_t hour = t / usecs_per_hour;
  t -= hour * usecs_per_hour;
  int64_t min = t / usecs_per_min;
  t -= min * usecs_per_min;
  int64_t sec = t / usecs_per_sec;
  int64_t fsec = t - sec * usecs_per_sec;

  std::string out;
  bool is_zero = true, is_before = false;
  auto part = [&](int64_t v, const char *unit) {
    if (v == 0) {
      return;
    }
    if (!is_zero) {
      out.push_back(' ');
    }
    if (is_before && v > 0) {
      out.push_back('+');
    }
    put_int(out, v);
    out.push_back(' ');
    out += unit;
    if (v != 1) {
      out.push_back('s');
    }
    is_before = v < 0;
    is_zero = false;
  };
  part(year, "year");
  part(mon, "mon");
  part(days, "day");
  if (is_zero || hour != 0 || min != 0 || sec != 0 || fsec != 0) {
    bool minus = hour < 0 || min < 0 || sec < 0 || fsec < 0;
    if (!is_zero) {
      out.push_back(' ');
    }
    if (minus) {
      out.push_back('-');
    } else if (is_before) {
      out.push_back('+');
    }
    // |hour| <= 2562047788: no overflow in the negation.
    put_padded(out, static_cast<uint64_t>(hour < 0 ? -hour : hour), 2);
    out.push_back(':');
    put_padded(out, static_cast<uint64_t>(min < 0 ? -min : min), 2);
    out.push_back(':');
    put_seconds(out, static_cast<uint64_t>(sec < 0 ? -sec : sec),
                static_cast<uint64_t>(fsec < 0 ? -fsec : fsec));
  }
  return out;
}

// ---- the codecs

date codec<date>::decode(const field &f) {
  check_type(f, oids::date, "uvpg::date wants date");
  if (f.binary()) {
    check_size(f, 4, "date");
    int32_t v = load_be<int32_t>(f.raw().data());
    if (v != int32_max && v != int32_min && (v < min_date || v >= end_date)) {
      detail::malformed(f, "date");
    }
    return date::from_days_since_2000(v);
  }
  auto v = parse_date(f.raw());
  if (!v) {
    bad_datetime_text(f, "date");
  }
  return date::from_days_since_2000(*v);
}
void codec<date>::encode(const date &v, encoded &out) {
  out.bytes.clear();
  store_be(out.bytes, v.days_since_2000());
  out.type = oids::date;
  out.binary = true;
}

timestamp codec<timestamp>::decode(const field &f) {
  check_type(f, oids::timestamp,
             "uvpg::timestamp wants timestamp (read timestamptz as "
             "uvpg::timestamptz)");
  return timestamp::from_since_2000(read_timestamp(f, false));
}
void codec<timestamp>::encode(const timestamp &v, encoded &out) {
  write_int64(v.since_2000(), oids::timestamp, out);
}

timestamptz codec<timestamptz>::decode(const field &f) {
  check_type(f, oids::timestamptz,
             "uvpg::timestamptz wants timestamptz (read timestamp as "
             "uvpg::timestamp)");
  return timestamptz::from_since_2000(read_timestamp(f, true));
}
void codec<timestamptz>::encode(const timestamptz &v, encoded &out) {
  write_int64(v.since_2000(), oids::timestamptz, out);
}

std::chrono::system_clock::time_point
codec<std::chrono::system_clock::time_point>::decode(const field &f) {
  using clock = std::chrono::system_clock;
  if (f.type() != oids::timestamptz && f.type() != oids::timestamp) {
    detail::wrong_type(f, "std::chrono::system_clock::time_point wants "
                          "timestamptz or timestamp");
  }
  int64_t us = read_timestamp(f, f.type() == oids::timestamptz);
  auto out_of_range = [&] {
    throw data_error("value " + detail::format_timestamp(us, true) +
                     " of column \"" + std::string(f.name()) +
                     "\" does not fit std::chrono::system_clock");
  };
  if (us == int64_max || us == int64_min || us > int64_max - epoch_usecs) {
    out_of_range();
  }
  us += epoch_usecs;
  // Microseconds to the clock's own unit: exact when it is finer
  // (nanoseconds, on libstdc++), rounded down when it is coarser.
  using ratio = std::ratio_divide<std::micro, clock::period>;
  if constexpr (ratio::den == 1) {
    int64_t ticks;
    if (__builtin_mul_overflow(us, static_cast<int64_t>(ratio::num), &ticks) ||
        ticks > std::numeric_limits<clock::rep>::max() ||
        ticks < std::numeric_limits<clock::rep>::min()) {
      out_of_range();
    }
    return clock::time_point(clock::duration(ticks));
  } else {
    return std::chrono::floor<clock::duration>(
        std::chrono::sys_time<std::chrono::microseconds>(
            std::chrono::microseconds(us)));
  }
}
void codec<std::chrono::system_clock::time_point>::encode(
    const std::chrono::system_clock::time_point &v, encoded &out) {
  codec<timestamptz>::encode(
      timestamptz(std::chrono::floor<std::chrono::microseconds>(v)), out);
}

time_of_day codec<time_of_day>::decode(const field &f) {
  check_type(f, oids::time, "uvpg::time_of_day wants time");
  int64_t us;
  if (f.binary()) {
    check_size(f, 8, "time");
    us = load_be<int64_t>(f.raw().data());
    if (us < 0 || us > usecs_per_day) {
      detail::malformed(f, "time");
    }
  } else {
    auto v = parse_time(f.raw());
    if (!v) {
      bad_text(f, "time", nullptr);
    }
    us = *v;
  }
  return time_of_day(std::chrono::microseconds(us));
}
void codec<time_of_day>::encode(const time_of_day &v, encoded &out) {
  write_int64(v.since_midnight().count(), oids::time, out);
}

timetz codec<timetz>::decode(const field &f) {
  check_type(f, oids::timetz, "uvpg::timetz wants timetz");
  if (!f.binary()) {
    auto v = parse_timetz(f.raw());
    if (!v) {
      bad_text(f, "timetz", nullptr);
    }
    return *v;
  }
  check_size(f, 12, "timetz");
  int64_t us = load_be<int64_t>(f.raw().data());
  int64_t west = load_be<int32_t>(f.raw().data() + 8);
  if (us < 0 || us > usecs_per_day || west <= -zone_limit ||
      west >= zone_limit) {
    detail::malformed(f, "timetz");
  }
  return {time_of_day(std::chrono::microseconds(us)),
          std::chrono::seconds(-west)};
}
void codec<timetz>::encode(const timetz &v, encoded &out) {
  int64_t east = v.offset.count();
  if (east <= -zone_limit || east >= zone_limit) {
    throw usage_error("uvpg::timetz: the offset is not within "
                      "±15:59:59");
  }
  write_int64(v.time.since_midnight().count(), oids::timetz, out);
  // The server counts the zone west of UTC.
  store_be(out.bytes, static_cast<int32_t>(-east));
}

interval codec<interval>::decode(const field &f) {
  check_type(f, oids::interval, "uvpg::interval wants interval");
  std::string_view raw = f.raw();
  if (f.binary()) {
    check_size(f, 16, "interval");
    return {load_be<int32_t>(raw.data() + 12), load_be<int32_t>(raw.data() + 8),
            load_be<int64_t>(raw.data())};
  }
  // PostgreSQL 17 prints the infinite intervals so, in every style.
  if (raw == "infinity") {
    return {int32_max, int32_max, int64_max};
  }
  if (raw == "-infinity") {
    return {int32_min, int32_min, int64_min};
  }
  auto v = raw.starts_with('P') ? parse_interval_iso(raw)
                                : parse_interval_postgres(raw);
  if (!v) {
    bad_text(f, "interval",
             "uvpg reads intervals in IntervalStyle postgres, the "
             "server's default, or iso_8601: SET IntervalStyle = "
             "postgres, or read results in binary form");
  }
  return *v;
}
std::string detail::datetime_text(const field &f, text_mode mode) {
  // date and timestamp print as DateStyle says, timestamptz also in the
  // session's TimeZone, interval as IntervalStyle says; time and timetz
  // print the same under every setting.
  bool literal = mode == text_mode::literal;
  switch (f.type()) {
  case oids::date:
    if (!literal) {
      setting_dependent(f, "date", "DateStyle");
    }
    return codec<date>::decode(f).to_string();
  case oids::timestamp:
    if (!literal) {
      setting_dependent(f, "timestamp", "DateStyle");
    }
    return codec<timestamp>::decode(f).to_string();
  case oids::timestamptz:
    if (!literal) {
      setting_dependent(f, "timestamptz", "DateStyle and TimeZone");
    }
    return codec<timestamptz>::decode(f).to_string(); // "+00": any zone
  case oids::time:
    return codec<time_of_day>::decode(f).to_string();
  case oids::timetz:
    return codec<timetz>::decode(f).to_string();
  default: {
    if (!literal) {
      setting_dependent(f, "interval", "IntervalStyle");
    }
    // IntervalStyle postgres puts a sign on every part after a negative
    // one, which is what keeps the text exact under sql_standard too
    // (DecodeInterval's comment).  Whether the extremes are infinite
    // depends on the server.
    interval v = codec<interval>::decode(f);
    bool extreme = (v.months == int32_max && v.days == int32_max &&
                    v.microseconds == int64_max) ||
                   (v.months == int32_min && v.days == int32_min &&
                    v.microseconds == int64_min);
    int version = server_version(f.context());
    if (extreme && version == 0) {
      throw data_error("column \"" + std::string(f.name()) +
                       "\": the largest and smallest intervals are infinite "
                       "from PostgreSQL 17 on and finite before, and the "
                       "server's version is not known here");
    }
    return v.to_string(version);
  }
  }
}

void codec<interval>::encode(const interval &v, encoded &out) {
  write_int64(v.microseconds, oids::interval, out);
  store_be(out.bytes, v.days);
  store_be(out.bytes, v.months);
}

} // namespace uvpg
