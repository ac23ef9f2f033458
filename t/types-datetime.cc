// The date and time typecasters (src/types/datetime.cc) against the
// server: every value goes out as a parameter, comes back in text and in
// binary form, and is compared with what the server itself prints.
#include <chrono>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "test.hh"
#include "uvpg/types/datetime.hh"

using namespace std::chrono_literals;
using std::chrono::sys_days;

static_assert(uvpg::has_codec<uvpg::date>);
static_assert(uvpg::has_codec<uvpg::timestamp>);
static_assert(uvpg::has_codec<uvpg::timestamptz>);
static_assert(uvpg::has_codec<std::chrono::system_clock::time_point>);
static_assert(uvpg::has_codec<uvpg::time_of_day>);
static_assert(uvpg::has_codec<uvpg::timetz>);
static_assert(uvpg::has_codec<uvpg::interval>);

TEST_SUITE_BEGIN("live/types-datetime");

namespace {

// The limits of an interval's fields.
constexpr int32_t i32max = std::numeric_limits<int32_t>::max();
constexpr int32_t i32min = std::numeric_limits<int32_t>::min();
constexpr int64_t i64max = std::numeric_limits<int64_t>::max();
constexpr int64_t i64min = std::numeric_limits<int64_t>::min();

struct fixture : test::loop_fixture {
  uvpg::connection conn = test::connect(&loop);

  fixture() { set("TimeZone", "UTC"); }

  void set(const std::string &name, const std::string &value) {
    test::wait(&loop, conn.query("SET " + name + " = '" + value + "'"));
  }

  /// SELECT $1::type, $1::type::text with v, in text or binary form.
  uvpg::result echo(const uvpg::param &v, const std::string &type,
                    bool binary) {
    uvpg::query_options o;
    o.binary_results = binary;
    return test::wait(&loop,
                      conn.query("SELECT $1::" + type + ", ($1::" + type +
                                     ")::text",
                                 uvpg::params{v}, o));
  }

  /// Sends v and reads it back in both forms: both read as v, and the
  /// server prints `server_text`; so does v.to_string() unless the
  /// session's zone makes the server print another offset.
  template <class T>
  void round_trip(const T &v, const std::string &type,
                  const std::string &server_text, bool same_text = true) {
    INFO("value " << server_text << " as " << type);
    for (bool binary : {false, true}) {
      auto r = echo(uvpg::param(v), type, binary);
      CHECK(r.value(0, 1) == server_text);
      T back = r[0].get<T>(0);
      CHECK(back.to_string() == v.to_string());
      CHECK(back == v);
    }
    if (same_text) {
      CHECK(v.to_string() == server_text);
    }
  }

  /// The server's reading of `text` as `type`, read back in `binary`
  /// form or not.
  template <class T>
  T server_value(const std::string &text, const std::string &type,
                 bool binary) {
    uvpg::query_options o;
    o.binary_results = binary;
    auto r = test::wait(&loop, conn.query("SELECT $1::" + type,
                                          uvpg::params{text}, o));
    return r[0].get<T>(0);
  }
};

uvpg::date civil(int y, unsigned m, unsigned d) {
  return uvpg::date::from_civil(y, m, d);
}

} // namespace

TEST_CASE_FIXTURE(fixture, "codec: date round-trips at its limits") {
  // The first day is Julian day 0, 4714-11-24 BC (year -4713).
  round_trip(civil(-4713, 11, 24), "date", "4714-11-24 BC");
  round_trip(civil(-4712, 11, 24), "date", "4713-11-24 BC");
  round_trip(civil(0, 2, 29), "date", "0001-02-29 BC");
  round_trip(civil(0, 12, 31), "date", "0001-12-31 BC");
  round_trip(civil(1, 1, 1), "date", "0001-01-01");
  round_trip(uvpg::date(), "date", "1970-01-01");
  round_trip(uvpg::date(sys_days(2000y / 1 / 1)), "date", "2000-01-01");
  round_trip(uvpg::date(sys_days(1999y / 12 / 31)), "date", "1999-12-31");
  round_trip(uvpg::date(2024y / 2 / 29), "date", "2024-02-29");
  round_trip(civil(10000, 1, 1), "date", "10000-01-01");
  round_trip(civil(294276, 12, 31), "date", "294276-12-31");
  round_trip(civil(5874897, 12, 31), "date", "5874897-12-31");
  round_trip(uvpg::date::infinity(), "date", "infinity");
  round_trip(uvpg::date::minus_infinity(), "date", "-infinity");

  CHECK(uvpg::date(sys_days(2000y / 1 / 1)).days_since_2000() == 0);
  CHECK(civil(5874897, 12, 31).days_since_2000() == 2145031948);
  CHECK(uvpg::date(2024y / 2 / 29).to_sys_days() ==
        sys_days(2024y / 2 / 29));
  CHECK(uvpg::date().to_sys_days() == sys_days(1970y / 1 / 1));
}

TEST_CASE_FIXTURE(fixture, "codec: date orders infinities and refuses "
                           "days the server has not") {
  CHECK(uvpg::date::minus_infinity() < civil(-4713, 11, 24));
  CHECK(civil(-4713, 11, 24) < uvpg::date(2024y / 2 / 29));
  CHECK(civil(5874897, 12, 31) < uvpg::date::infinity());
  CHECK(uvpg::date::infinity().is_infinite());
  CHECK_FALSE(uvpg::date().is_infinite());
  CHECK_THROWS_AS(uvpg::date::infinity().to_sys_days(), uvpg::data_error);
  CHECK_THROWS_AS(civil(-4713, 11, 23), uvpg::usage_error);
  CHECK_THROWS_AS(civil(5874898, 1, 1), uvpg::usage_error);
  CHECK_THROWS_AS(civil(2023, 2, 29), uvpg::usage_error);
  CHECK_THROWS_AS(civil(2024, 13, 1), uvpg::usage_error);
  CHECK_THROWS_AS(uvpg::date(2023y / 2 / 29), uvpg::usage_error);
}

TEST_CASE_FIXTURE(fixture, "codec: timestamp round-trips at its limits") {
  using uvpg::timestamp;
  round_trip(timestamp(civil(-4713, 11, 24), 0us), "timestamp",
             "4714-11-24 00:00:00 BC");
  round_trip(timestamp(civil(-4712, 11, 24), 1s), "timestamp",
             "4713-11-24 00:00:01 BC");
  round_trip(timestamp(civil(294276, 12, 31), 24h - 1us), "timestamp",
             "294276-12-31 23:59:59.999999");
  round_trip(timestamp(), "timestamp", "1970-01-01 00:00:00");
  round_trip(timestamp(sys_days(2000y / 1 / 1)), "timestamp",
             "2000-01-01 00:00:00");
  round_trip(timestamp(sys_days(2000y / 1 / 1) - 1us), "timestamp",
             "1999-12-31 23:59:59.999999");
  round_trip(timestamp(sys_days(2024y / 2 / 29) + 12h + 34min + 56s +
                       500ms),
             "timestamp", "2024-02-29 12:34:56.5");
  round_trip(timestamp(sys_days(1969y / 12 / 31) + 23h + 59min + 59s +
                       10us),
             "timestamp", "1969-12-31 23:59:59.00001");
  round_trip(timestamp::infinity(), "timestamp", "infinity");
  round_trip(timestamp::minus_infinity(), "timestamp", "-infinity");

  CHECK(timestamp(sys_days(2000y / 1 / 1)).since_2000() == 0);
  auto t = sys_days(2024y / 2 / 29) + 1h + 1us;
  CHECK(timestamp(t).to_sys_time() == t);
  CHECK(timestamp::minus_infinity() < timestamp(civil(-4713, 11, 24), 0us));
  CHECK(timestamp(civil(294276, 12, 31), 0us) < timestamp::infinity());
  // Microseconds since 1970 overflow 64 bits 30 years before the end.
  CHECK_THROWS_AS(timestamp(civil(294276, 12, 31), 0us).to_sys_time(),
                  uvpg::data_error);
  CHECK_THROWS_AS(timestamp::infinity().to_sys_time(), uvpg::data_error);
  CHECK_THROWS_AS(timestamp(civil(2000, 1, 1), 24h), uvpg::usage_error);
  CHECK_THROWS_AS(timestamp(uvpg::date::infinity(), 0us),
                  uvpg::usage_error);
  CHECK_THROWS_AS(timestamp(civil(294277, 1, 1), 0us), uvpg::usage_error);
}

TEST_CASE_FIXTURE(fixture, "codec: timestamptz converts the session's "
                           "offsets to UTC") {
  using uvpg::timestamptz;
  timestamptz leap(sys_days(2024y / 2 / 29) + 12h);
  timestamptz first(civil(-4713, 11, 24), 0us);
  timestamptz last(civil(294276, 12, 31), 24h - 1us);
  round_trip(leap, "timestamptz", "2024-02-29 12:00:00+00");
  round_trip(first, "timestamptz", "4714-11-24 00:00:00+00 BC");
  round_trip(last, "timestamptz", "294276-12-31 23:59:59.999999+00");
  round_trip(timestamptz::infinity(), "timestamptz", "infinity");
  round_trip(timestamptz::minus_infinity(), "timestamptz", "-infinity");

  set("TimeZone", "Asia/Kolkata");
  round_trip(leap, "timestamptz", "2024-02-29 17:30:00+05:30", false);
  // The last value is on the next day in local time; the first in
  // local mean time, an offset with seconds.
  round_trip(last, "timestamptz", "294277-01-01 05:29:59.999999+05:30",
             false);
  round_trip(first, "timestamptz", "4714-11-24 05:53:28+05:53:28 BC",
             false);
  round_trip(timestamptz::infinity(), "timestamptz", "infinity");

  set("TimeZone", "America/St_Johns");
  round_trip(timestamptz(sys_days(2020y / 6 / 1) + 12h), "timestamptz",
             "2020-06-01 09:30:00-02:30", false);
  round_trip(leap, "timestamptz", "2024-02-29 08:30:00-03:30", false);
  // The local day is before the first day the server holds.
  round_trip(first, "timestamptz", "4714-11-23 20:29:08-03:30:52 BC",
             false);

  set("TimeZone", "Europe/Amsterdam");
  round_trip(timestamptz(sys_days(1930y / 6 / 1) + 12h), "timestamptz",
             "1930-06-01 13:19:32+01:19:32", false);
  round_trip(timestamptz(sys_days(1900y / 1 / 1)), "timestamptz",
             "1900-01-01 00:19:32+00:19:32", false);
}

TEST_CASE_FIXTURE(fixture, "codec: system_clock reads timestamptz and "
                           "timestamp, and sends timestamptz") {
  using clock = std::chrono::system_clock;
  auto now = std::chrono::floor<std::chrono::microseconds>(clock::now());
  clock::time_point tp = now;
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(tp), "timestamptz", binary);
    CHECK(r[0].get<clock::time_point>(0) == tp);
    CHECK(r[0].get<uvpg::timestamptz>(0) == uvpg::timestamptz(now));
    auto plain = echo(uvpg::param(uvpg::timestamp(now)), "timestamp",
                      binary);
    CHECK(plain[0].get<clock::time_point>(0) == tp);
    auto inf = echo(uvpg::param(uvpg::timestamptz::infinity()),
                    "timestamptz", binary);
    CHECK_THROWS_AS(inf[0].get<clock::time_point>(0), uvpg::data_error);
    // Nanoseconds since 1970 end in 2262.
    auto far = echo(uvpg::param(uvpg::timestamptz(civil(2300, 1, 1), 0us)),
                    "timestamptz", binary);
    CHECK_THROWS_AS(far[0].get<clock::time_point>(0), uvpg::data_error);
  }
  // Sub-microsecond digits are dropped, rounding down.
  auto r = echo(uvpg::param(clock::time_point(sys_days(1960y / 1 / 1)) -
                            1ns),
                "timestamptz", false);
  CHECK(r.value(0, 1) == "1959-12-31 23:59:59.999999+00");
}

TEST_CASE_FIXTURE(fixture, "codec: time and timetz round-trip") {
  using uvpg::time_of_day;
  using uvpg::timetz;
  round_trip(time_of_day(), "time", "00:00:00");
  round_trip(time_of_day(24h), "time", "24:00:00");
  round_trip(time_of_day(24h - 1us), "time", "23:59:59.999999");
  round_trip(time_of_day(12h + 34min + 56s + 789ms), "time",
             "12:34:56.789");
  CHECK(time_of_day(1h).since_midnight() == 1h);
  CHECK_THROWS_AS(time_of_day(24h + 1us), uvpg::usage_error);
  CHECK_THROWS_AS(time_of_day(-1us), uvpg::usage_error);

  round_trip(timetz{time_of_day(12h), 14h}, "timetz", "12:00:00+14");
  round_trip(timetz{time_of_day(), -12h}, "timetz", "00:00:00-12");
  round_trip(timetz{time_of_day(24h - 1us), 5h + 30min}, "timetz",
             "23:59:59.999999+05:30");
  round_trip(timetz{time_of_day(24h), 0s}, "timetz", "24:00:00+00");
  round_trip(timetz{time_of_day(1h + 2min + 3s), 5h + 53min + 28s},
             "timetz", "01:02:03+05:53:28");
  round_trip(timetz{time_of_day(1h), -(15h + 59min + 59s)}, "timetz",
             "01:00:00-15:59:59");
  uvpg::encoded e;
  CHECK_THROWS_AS(uvpg::codec<timetz>::encode(timetz{time_of_day(), 16h}, e),
                  uvpg::usage_error);
}

TEST_CASE_FIXTURE(fixture, "codec: interval round-trips in IntervalStyle "
                           "postgres and iso_8601") {
  using uvpg::interval;
  int64_t hms = ((4 * 60 + 5) * 60 + 6) * 1000000LL + 789000;
  struct {
    interval v;
    const char *postgres, *iso;
  } cases[] = {
      {{0, 0, 0}, "00:00:00", "PT0S"},
      {{14, -3, hms}, "1 year 2 mons -3 days +04:05:06.789",
       "P1Y2M-3DT4H5M6.789S"},
      {{0, -1, 2 * 3600000000LL}, "-1 days +02:00:00", "P-1DT2H"},
      {{-14, 0, 0}, "-1 years -2 mons", "P-1Y-2M"},
      {{1, 0, 0}, "1 mon", "P1M"},
      {{0, 1, 0}, "1 day", "P1D"},
      {{0, 0, 1}, "00:00:00.000001", "PT0.000001S"},
      {{0, 0, -1}, "-00:00:00.000001", "PT-0.000001S"},
      {{0, 0, -hms}, "-04:05:06.789", "PT-4H-5M-6.789S"},
      {{-1, 1, -1}, "-1 mons +1 day -00:00:00.000001",
       "P-1M1DT-0.000001S"},
      {{0, 0, 36000000000LL * 100}, "1000:00:00", "PT1000H"},
      // The extremes (all three at once are PostgreSQL 17's infinity).
      {{i32max, i32max, i64max - 1},
       "178956970 years 7 mons 2147483647 days 2562047788:00:54.775806",
       "P178956970Y7M2147483647DT2562047788H54.775806S"},
      {{i32min, i32min, i64min + 1},
       "-178956970 years -8 mons -2147483648 days "
       "-2562047788:00:54.775807",
       "P-178956970Y-8M-2147483648DT-2562047788H-54.775807S"},
      {{0, 0, i64max}, "2562047788:00:54.775807",
       "PT2562047788H54.775807S"},
      {{0, 0, i64min}, "-2562047788:00:54.775808",
       "PT-2562047788H-54.775808S"},
  };
  for (const auto &c : cases) {
    round_trip(c.v, "interval", c.postgres);
  }
  set("IntervalStyle", "iso_8601");
  for (const auto &c : cases) {
    round_trip(c.v, "interval", c.iso, false);
  }
  // Other styles say which ones uvpg reads.
  set("IntervalStyle", "sql_standard");
  auto r = echo(uvpg::param(interval{14, -3, hms}), "interval", false);
  CHECK_THROWS_WITH_AS(r[0].get<interval>(0),
                       doctest::Contains("IntervalStyle"), uvpg::data_error);
  CHECK(echo(uvpg::param(interval{14, -3, hms}), "interval",
             true)[0]
            .get<interval>(0) == interval{14, -3, hms});
}

TEST_CASE_FIXTURE(fixture, "interval: to_string prints the extremes as "
                           "the server does (issue 8)") {
  using uvpg::interval;
  int version = test::wait(
      &loop, conn.fetchval<int32_t>(
                 "SELECT current_setting('server_version_num')::int"));
  for (interval v : {interval{i32max, i32max, i64max},
                     interval{i32min, i32min, i64min}}) {
    auto r = echo(uvpg::param(v), "interval", false);
    std::string server = std::string(r.value(0, 1));
    INFO("server: " << server);
    CHECK(v.to_string(version) == server);
    if (version < 170000) {
      // Finite before PostgreSQL 17, and read back as such.
      CHECK(v.to_string() == server);
      CHECK(r[0].get<interval>(0) == v);
    }
    CHECK(v.to_string(170000) == (v.months > 0 ? "infinity" : "-infinity"));
  }
}

TEST_CASE_FIXTURE(fixture, "codec: random values print and read as the "
                           "server's") {
  // Values spread over each type's whole range, sent in one statement
  // per type; both result forms must read back as the values, and
  // to_string() must print what the server prints.
  std::mt19937_64 rng(20261121);
  auto in = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  // Most values get a round number of units, so that every field of
  // the text is sometimes zero.
  auto round = [&](int64_t v, int64_t unit) {
    return in(0, 1) ? v - v % unit : v;
  };
  constexpr int n = 200;
  std::vector<uvpg::date> dates;
  std::vector<uvpg::timestamp> stamps;
  std::vector<uvpg::timestamptz> zoned;
  std::vector<uvpg::time_of_day> times;
  std::vector<uvpg::timetz> ttz;
  std::vector<uvpg::interval> spans;
  for (int i = 0; i < n; ++i) {
    dates.push_back(uvpg::date::from_days_since_2000(
        static_cast<int32_t>(in(-2451545, 2145031948))));
    int64_t t = in(-211813488000000000, 9223371331199999999);
    stamps.push_back(uvpg::timestamp::from_since_2000(round(t, 1000000)));
    zoned.push_back(uvpg::timestamptz::from_since_2000(round(t, 60000000)));
    times.push_back(uvpg::time_of_day(
        std::chrono::microseconds(round(in(0, 86400000000), 1000))));
    ttz.push_back({uvpg::time_of_day(std::chrono::microseconds(
                       in(0, 86400000000))),
                   std::chrono::seconds(round(in(-57599, 57599), 900))});
    int64_t limit = std::numeric_limits<int32_t>::max();
    int64_t scale = in(0, 1) ? 100 : limit; // small values too
    spans.push_back(
        {static_cast<int32_t>(in(-scale, scale)),
         static_cast<int32_t>(in(-scale, scale)),
         round(in(std::numeric_limits<int64_t>::min() / (limit / scale),
                  std::numeric_limits<int64_t>::max() / (limit / scale)),
               1000000)});
  }
  auto check_all = [&](const auto &values, const std::string &type,
                       bool same_text = true) {
    using T = typename std::decay_t<decltype(values)>::value_type;
    uvpg::params ps;
    std::string sql = "SELECT ";
    for (size_t i = 0; i < values.size(); ++i) {
      ps.push_back(values[i]);
      std::string p = "$" + std::to_string(i + 1) + "::" + type;
      sql += (i ? ", " : "") + p + ", " + p + "::text";
    }
    for (bool binary : {false, true}) {
      uvpg::query_options o;
      o.binary_results = binary;
      auto r = test::wait(&loop, conn.query(sql, ps, o));
      for (size_t i = 0; i < values.size(); ++i) {
        int col = static_cast<int>(2 * i);
        std::string server(r.value(0, col + 1));
        INFO(type << " " << server);
        if (same_text) {
          CHECK(values[i].to_string() == server);
        }
        CHECK(r[0].get<T>(col) == values[i]);
      }
    }
  };
  check_all(dates, "date");
  check_all(stamps, "timestamp");
  check_all(zoned, "timestamptz");
  check_all(times, "time");
  check_all(ttz, "timetz");
  check_all(spans, "interval");
  set("IntervalStyle", "iso_8601");
  check_all(spans, "interval", false);
  set("TimeZone", "America/St_Johns");
  check_all(zoned, "timestamptz", false);
}

TEST_CASE_FIXTURE(fixture, "codec: datetime text needs DateStyle ISO") {
  for (const char *style : {"SQL, MDY", "Postgres, DMY", "German"}) {
    INFO("DateStyle " << style);
    set("DateStyle", style);
    auto d = echo(uvpg::param(uvpg::date(2024y / 2 / 29)), "date", false);
    CHECK_THROWS_WITH_AS(d[0].get<uvpg::date>(0),
                         doctest::Contains("DateStyle ISO"),
                         uvpg::data_error);
    auto t = echo(uvpg::param(uvpg::timestamptz(sys_days(2024y / 2 / 29))),
                  "timestamptz", false);
    CHECK_THROWS_WITH_AS(t[0].get<uvpg::timestamptz>(0),
                         doctest::Contains("DateStyle ISO"),
                         uvpg::data_error);
    // Parameters and binary results do not depend on it.
    auto b = echo(uvpg::param(uvpg::date(2024y / 2 / 29)), "date", true);
    CHECK(b[0].get<uvpg::date>(0) == uvpg::date(2024y / 2 / 29));
  }
  // "ISO, DMY" prints the same ISO text.
  set("DateStyle", "ISO, DMY");
  round_trip(uvpg::date(2024y / 2 / 29), "date", "2024-02-29");
}

TEST_CASE_FIXTURE(fixture, "codec: the server's readings of odd input "
                           "agree in both forms") {
  for (bool binary : {false, true}) {
    CHECK(server_value<uvpg::date>("epoch", "date", binary) == uvpg::date());
    CHECK(server_value<uvpg::timestamp>("2024-02-29 23:59:60", "timestamp",
                                        binary) ==
          uvpg::timestamp(sys_days(2024y / 3 / 1)));
    CHECK(server_value<uvpg::timestamptz>("2024-02-29 12:00-08",
                                          "timestamptz", binary) ==
          uvpg::timestamptz(sys_days(2024y / 2 / 29) + 20h));
    CHECK(server_value<uvpg::interval>("1.5 months 25 hours", "interval",
                                       binary) ==
          uvpg::interval{1, 15, 25 * 3600000000LL});
    CHECK(server_value<uvpg::time_of_day>("allballs", "time", binary) ==
          uvpg::time_of_day());
  }
}

TEST_CASE_FIXTURE(fixture, "codec: a wrong type or NULL is a data_error") {
  for (bool binary : {false, true}) {
    auto d = echo(uvpg::param(uvpg::date(2024y / 2 / 29)), "date", binary);
    CHECK_THROWS_WITH_AS(d[0].get<uvpg::interval>(0),
                         doctest::Contains("uvpg::interval wants interval"),
                         uvpg::data_error);
    CHECK_THROWS_AS(d[0].get<uvpg::timestamp>(0), uvpg::data_error);
    auto tz = echo(uvpg::param(uvpg::timestamptz()), "timestamptz", binary);
    CHECK_THROWS_AS(tz[0].get<uvpg::timestamp>(0), uvpg::data_error);
    auto t = echo(uvpg::param(uvpg::timestamp()), "timestamp", binary);
    CHECK_THROWS_AS(t[0].get<uvpg::timestamptz>(0), uvpg::data_error);
    CHECK_THROWS_AS(t[0].get<uvpg::date>(0), uvpg::data_error);
    auto tt = echo(uvpg::param(uvpg::timetz{}), "timetz", binary);
    CHECK_THROWS_AS(tt[0].get<uvpg::time_of_day>(0), uvpg::data_error);
    CHECK(tt[0].get<uvpg::timetz>(0) == uvpg::timetz{});
  }
  auto r = test::wait(&loop, conn.query("SELECT NULL::date, NULL::interval, "
                                        "NULL::timestamptz"));
  CHECK_FALSE(r[0].get<std::optional<uvpg::date>>(0));
  CHECK_FALSE(r[0].get<std::optional<uvpg::interval>>(1));
  CHECK_FALSE(r[0].get<std::optional<uvpg::timestamptz>>(2));
  CHECK_THROWS_AS(r[0].get<uvpg::date>(0), uvpg::data_error);
  auto n = test::wait(&loop, conn.query("SELECT $1::date IS NULL",
                                        std::optional<uvpg::date>()));
  CHECK(n[0].get<bool>(0));
}

TEST_CASE_FIXTURE(fixture, "parameters: datetime values pick their own "
                           "server type") {
  auto r = test::wait(
      &loop,
      conn.query("SELECT pg_typeof($1)::text, pg_typeof($2)::text, "
                 "pg_typeof($3)::text, pg_typeof($4)::text, "
                 "pg_typeof($5)::text, pg_typeof($6)::text, "
                 "pg_typeof($7)::text",
                 uvpg::date(), uvpg::timestamp(), uvpg::timestamptz(),
                 std::chrono::system_clock::now(), uvpg::time_of_day(),
                 uvpg::timetz{}, uvpg::interval{}));
  CHECK(r.value(0, 0) == "date");
  CHECK(r.value(0, 1) == "timestamp without time zone");
  CHECK(r.value(0, 2) == "timestamp with time zone");
  CHECK(r.value(0, 3) == "timestamp with time zone");
  CHECK(r.value(0, 4) == "time without time zone");
  CHECK(r.value(0, 5) == "time with time zone");
  CHECK(r.value(0, 6) == "interval");
}
