// The numeric and network typecasters (src/types/numeric.cc,
// src/types/network.cc) against the server: every value goes out as a
// parameter, comes back in text and in binary form, and is compared with
// what the server itself prints.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "test.hh"
#include "uvpg/types/network.hh"
#include "uvpg/types/numeric.hh"

static_assert(uvpg::has_codec<uvpg::numeric>);
static_assert(uvpg::has_codec<uvpg::inet>);

TEST_SUITE_BEGIN("live/types-numeric");

namespace {

struct fixture : test::loop_fixture {
  uvpg::connection conn = test::connect(&loop);

  /// SELECT $1::type and its output function's text, with v, in text or
  /// binary form.  (The text is format()'s: the cast of inet to text is
  /// not its output function, it always adds the prefix length.)
  uvpg::result echo(const uvpg::param &v, const std::string &type,
                    bool binary) {
    uvpg::query_options o;
    o.binary_results = binary;
    return test::wait(&loop,
                      conn.query("SELECT $1::" + type + ", format('%s', $1::" +
                                     type + ")",
                                 uvpg::params{v}, o));
  }

  /// Sends v and reads it back in both forms: the server prints
  /// `server_text`, and both forms read as `expect` (v by default), whose
  /// to_string() is `server_text` too.
  template <class T>
  void round_trip(const T &v, const std::string &type,
                  const std::string &server_text,
                  const std::optional<T> &expect = std::nullopt) {
    INFO("value " << server_text << " as " << type);
    const T &want = expect ? *expect : v;
    for (bool binary : {false, true}) {
      auto r = echo(uvpg::param(v), type, binary);
      CHECK(r.value(0, 1) == server_text);
      T back = r[0].get<T>(0);
      CHECK(back.to_string() == server_text);
      CHECK(back == want);
    }
  }

  /// What the server prints for the literal `text` as numeric.
  std::string server_numeric(const std::string &text) {
    auto r = test::wait(&loop, conn.query("SELECT $1::numeric::text",
                                          uvpg::params{text}));
    return std::string(r.value(0, 0));
  }
};

std::string zeros(size_t n) { return std::string(n, '0'); }

} // namespace

TEST_CASE_FIXTURE(fixture, "codec: numeric keeps every digit and the "
                           "scale") {
  using uvpg::numeric;
  const std::string values[] = {
      "0",
      "0.000",
      "1.50",
      "-1.50",
      "123456789012345678901234567890.123456789",
      "-123456789012345678901234567890.123456789",
      "0.0001",
      "0.00001",
      "-0.00012345",
      "10000",
      "9999.9999",
      "100000000.00000001",
      "-1234567.89",
      "1" + zeros(40),
      "0." + zeros(300) + "1",
      "0." + zeros(999) + "1",
      "-0." + zeros(16382) + "7",
      "9" + zeros(1000) + ".5",
      "1" + zeros(131071),
      "NaN",
      "Infinity",
      "-Infinity",
  };
  for (const std::string &s : values) {
    round_trip(numeric(s), "numeric", s);
  }
  round_trip(numeric(), "numeric", "0");
  round_trip(numeric(std::numeric_limits<int64_t>::min()), "numeric",
             "-9223372036854775808");
  round_trip(numeric(std::numeric_limits<uint64_t>::max()), "numeric",
             "18446744073709551615");
  round_trip(numeric(int16_t{-7}), "numeric", "-7");
  round_trip(numeric::nan(), "numeric", "NaN");
  round_trip(numeric::infinity(), "numeric", "Infinity");
  round_trip(numeric::minus_infinity(), "numeric", "-Infinity");
  // The server rounds to the column's scale.
  round_trip(numeric("3.14159"), "numeric(10,3)", "3.142",
             std::optional<numeric>(numeric("3.142")));
  round_trip(numeric("-0.0004"), "numeric(10,3)", "0.000",
             std::optional<numeric>(numeric("0.000")));
  round_trip(numeric("1.5"), "numeric(10,3)", "1.500",
             std::optional<numeric>(numeric("1.500")));
}

TEST_CASE_FIXTURE(fixture, "codec: random numerics read as the "
                           "server's in both forms") {
  // Digits in every position of the base-10000 groups, with and
  // without leading and trailing zeros, in one statement.
  std::mt19937_64 rng(20261121);
  auto in = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  };
  std::vector<std::string> literals;
  for (int i = 0; i < 300; ++i) {
    std::string s = in(0, 1) ? "-" : "";
    int before = in(0, 3) ? in(0, 12) : in(0, 60);
    int after = in(0, 3) ? in(0, 12) : in(0, 60);
    for (int k = 0; k < before; ++k) {
      s.push_back(static_cast<char>('0' + (in(0, 2) ? in(0, 9) : 0)));
    }
    if (before == 0) {
      s.push_back('0');
    }
    if (after > 0) {
      s.push_back('.');
      for (int k = 0; k < after; ++k) {
        s.push_back(static_cast<char>('0' + (in(0, 2) ? in(0, 9) : 0)));
      }
    }
    literals.push_back(s);
  }
  uvpg::params ps;
  std::string sql = "SELECT ";
  for (size_t i = 0; i < literals.size(); ++i) {
    ps.push_back(literals[i]); // as text: the server reads it
    std::string p = "$" + std::to_string(i + 1) + "::numeric";
    sql += (i ? ", " : "") + p + ", " + p + "::text";
  }
  for (bool binary : {false, true}) {
    uvpg::query_options o;
    o.binary_results = binary;
    auto r = test::wait(&loop, conn.query(sql, ps, o));
    for (size_t i = 0; i < literals.size(); ++i) {
      int col = static_cast<int>(2 * i);
      std::string server(r.value(0, col + 1));
      INFO("literal " << literals[i] << ", server " << server);
      uvpg::numeric mine(literals[i]);
      CHECK(mine.to_string() == server);
      CHECK(r[0].get<uvpg::numeric>(col) == mine);
    }
  }
}

TEST_CASE_FIXTURE(fixture, "numeric: literals read as the server reads "
                           "them") {
  const char *literals[] = {
      "-0.000", "  +1.50e1 ", ".5",      "5.",     "1e3",    "1.5e-3",
      "1E+2",   "00012.3400", "-0",      "inf",    "-INF",   "infinity",
      "+Infinity", " NaN ",   "nan",     "1e05",   "1.e5",   "-1e-5",
      "0e-100", "0e1000",     "12e-2",   "12.345e1", "-.5e1", "\t7\n",
      "1e131071", "1e-16383",
  };
  for (const char *lit : literals) {
    INFO("literal \"" << lit << "\"");
    CHECK(uvpg::numeric(lit).to_string() == server_numeric(lit));
  }
  // What the server refuses.
  const char *junk[] = {"",    " ",     "abc",      "1e",       "e5",
                        ".",   "--1",   "+-1",      "1.2.3",    "1e+",
                        "0x1F", "1_000", "Infinityx", "-nan",   "1 2",
                        "1e-16384", "1e131072", "1e1073741823"};
  for (const char *lit : junk) {
    INFO("literal \"" << lit << "\"");
    CHECK_THROWS_AS(uvpg::numeric{std::string_view(lit)},
                    uvpg::usage_error);
  }
}

TEST_CASE_FIXTURE(fixture, "numeric: to_double, NaN, infinities and "
                           "exact equality") {
  using uvpg::numeric;
  CHECK(numeric("1.5").to_double() == 1.5);
  CHECK(numeric("-0.1").to_double() == -0.1);
  CHECK(numeric("123456789012345678901234567890").to_double() ==
        1.2345678901234568e29);
  CHECK(std::isnan(numeric::nan().to_double()));
  CHECK(numeric::infinity().to_double() ==
        std::numeric_limits<double>::infinity());
  CHECK(numeric::minus_infinity().to_double() ==
        -std::numeric_limits<double>::infinity());
  CHECK(numeric("-1e400").to_double() ==
        -std::numeric_limits<double>::infinity());
  CHECK(numeric("1e-400").to_double() == 0.0);
  CHECK(numeric::nan().is_nan());
  CHECK(numeric::minus_infinity().is_infinite());
  CHECK_FALSE(numeric("1").is_infinite());
  // Equality is on the text: the scale counts.
  CHECK(numeric("1.50") == numeric("1.50"));
  CHECK(numeric("1.5") != numeric("1.50"));
  CHECK(numeric("15e-1") == numeric("1.5"));
  CHECK(numeric(42) == numeric("42"));
}

TEST_CASE_FIXTURE(fixture, "codec: double does not read numeric, nor "
                           "numeric other types") {
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(uvpg::numeric("1.5")), "numeric", binary);
    CHECK_THROWS_AS(r[0].get<double>(0), uvpg::data_error);
    CHECK(r[0].get<uvpg::numeric>(0) == uvpg::numeric("1.5"));
    auto i = echo(uvpg::param(int32_t{5}), "int4", binary);
    CHECK_THROWS_WITH_AS(i[0].get<uvpg::numeric>(0),
                         doctest::Contains("uvpg::numeric wants numeric"),
                         uvpg::data_error);
  }
  auto r = test::wait(&loop, conn.query("SELECT NULL::numeric, "
                                        "pg_typeof($1)::text",
                                        uvpg::numeric("2")));
  CHECK_FALSE(r[0].get<std::optional<uvpg::numeric>>(0));
  CHECK_THROWS_AS(r[0].get<uvpg::numeric>(0), uvpg::data_error);
  CHECK(r.value(0, 1) == "numeric");
}

TEST_CASE_FIXTURE(fixture, "codec: inet and cidr print as the server "
                           "prints them") {
  struct {
    const char *in;
    bool cidr;
    const char *out;
  } cases[] = {
      {"192.168.0.1/24", false, "192.168.0.1/24"},
      {"192.168.0.1", false, "192.168.0.1"},
      {"192.168.0.1/32", false, "192.168.0.1"},
      {"0.0.0.0/0", false, "0.0.0.0/0"},
      {"255.255.255.255", false, "255.255.255.255"},
      {"10.0.0.0/8", true, "10.0.0.0/8"},
      {"1.2.3.4", true, "1.2.3.4/32"},
      {"0.0.0.0/0", true, "0.0.0.0/0"},
      {"::1", false, "::1"},
      {"::1/64", false, "::1/64"},
      {"::1", true, "::1/128"},
      {"::", false, "::"},
      {"::/0", true, "::/0"},
      {"::ffff:1.2.3.4", false, "::ffff:1.2.3.4"},
      {"::ffff:0:0", false, "::ffff:0.0.0.0"},
      {"::1.2.3.4", false, "::1.2.3.4"},
      {"::0.0.0.2", false, "::2"},
      {"::fffe:1.2.3.4", false, "::fffe:102:304"},
      {"FFFF::1.2.3.4", false, "ffff::102:304"},
      {"1:0:0:1:0:0:0:1", false, "1:0:0:1::1"},
      {"1:0:0:1:0:0:1:1", false, "1::1:0:0:1:1"},
      {"1:2:3:4:5:6:7:8", false, "1:2:3:4:5:6:7:8"},
      {"1:0::", false, "1::"},
      {"::1:0:0:0", false, "::1:0:0:0"},
      {"2001:db8::/32", true, "2001:db8::/32"},
      {"2001:DB8:0:0:8:800:200C:417A/64", false,
       "2001:db8::8:800:200c:417a/64"},
      {"::ffff:1.2.3.4/128", true, "::ffff:1.2.3.4/128"},
  };
  for (const auto &c : cases) {
    auto v = uvpg::inet::parse(c.in, c.cidr);
    CHECK(v.cidr == c.cidr);
    round_trip(v, c.cidr ? "cidr" : "inet", c.out);
  }
  auto v4 = uvpg::inet::parse("192.168.0.1/24");
  CHECK(v4.family == 4);
  CHECK(v4.prefix == 24);
  CHECK(v4.bytes[0] == 192);
  CHECK(v4.bytes[3] == 1);
  auto v6 = uvpg::inet::parse("::ffff:1.2.3.4");
  CHECK(v6.family == 6);
  CHECK(v6.prefix == 128);
  CHECK(v6.bytes[10] == 0xff);
  CHECK(v6.bytes[15] == 4);
}

TEST_CASE_FIXTURE(fixture, "codec: inet prints every run of zero words "
                           "as the server does") {
  // All 256 patterns of zero and non-zero words, with 0xffff and 1 in
  // the places where the server picks dotted IPv4 forms.
  std::vector<uvpg::inet> all;
  for (int variant = 0; variant < 3; ++variant) {
    for (int mask = 0; mask < 256; ++mask) {
      uvpg::inet v;
      v.family = 6;
      v.prefix = 128;
      for (int w = 0; w < 8; ++w) {
        int word = !(mask >> w & 1)  ? 0
                   : variant == 1 && w == 5 ? 0xffff
                   : variant == 2 && w == 7 ? 1
                                            : 0x10 * w + 0xa;
        v.bytes[2 * w] = static_cast<uint8_t>(word >> 8);
        v.bytes[2 * w + 1] = static_cast<uint8_t>(word & 0xff);
      }
      all.push_back(v);
    }
  }
  uvpg::params ps;
  std::string sql = "SELECT ";
  for (size_t i = 0; i < all.size(); ++i) {
    ps.push_back(all[i]);
    sql += (i ? ", format('%s', $" : "format('%s', $") +
           std::to_string(i + 1) + "::inet)";
  }
  auto r = test::wait(&loop, conn.query(sql, ps));
  for (size_t i = 0; i < all.size(); ++i) {
    std::string server(r.value(0, static_cast<int>(i)));
    INFO("server prints " << server);
    CHECK(all[i].to_string() == server);
    CHECK(uvpg::inet::parse(server) == all[i]);
  }
}

TEST_CASE_FIXTURE(fixture, "inet: parse refuses what the server "
                           "refuses") {
  const char *junk[] = {"",          "1.2.3",     "1.2.3.4.5", "1.2.3.256",
                        "1.2.3.4/33", "1.2.3.4/", "::1/129",   "::1::",
                        ":::",       "1:2:3:4:5:6:7:8:9",      "g::1",
                        "12345::",   ":1::2",     "1::2:",     "1.2.3.4::",
                        "::1.2.3",   " 1.2.3.4",  "1.2.3.4/x"};
  for (const char *s : junk) {
    INFO("text \"" << s << "\"");
    CHECK_THROWS_AS(uvpg::inet::parse(s), uvpg::usage_error);
  }
  CHECK_THROWS_AS(uvpg::inet::parse("10.1.0.0/8", true), uvpg::usage_error);
  CHECK(uvpg::inet::parse("10.1.0.0/8").to_string() == "10.1.0.0/8");
  uvpg::inet bad;
  bad.family = 5;
  CHECK_THROWS_AS(bad.to_string(), uvpg::usage_error);
  CHECK_THROWS_AS(uvpg::encode(bad), uvpg::usage_error);
}

TEST_CASE_FIXTURE(fixture, "codec: inet reads cidr, and no other type") {
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(uvpg::inet::parse("10.0.0.0/8", true)),
                  "cidr", binary);
    CHECK(r[0].get<uvpg::inet>(0).cidr);
    // An inet column holding a network is still an inet.
    auto i = echo(uvpg::param(uvpg::inet::parse("10.0.0.0/8", true)),
                  "inet", binary);
    CHECK_FALSE(i[0].get<uvpg::inet>(0).cidr);
    CHECK(i.value(0, 1) == "10.0.0.0/8");
    auto t = echo(uvpg::param("10.0.0.1"), "text", binary);
    CHECK_THROWS_WITH_AS(t[0].get<uvpg::inet>(0),
                         doctest::Contains("uvpg::inet wants inet or cidr"),
                         uvpg::data_error);
  }
  auto r = test::wait(&loop, conn.query("SELECT NULL::inet, "
                                        "pg_typeof($1)::text, "
                                        "pg_typeof($2)::text",
                                        uvpg::inet::parse("::1"),
                                        uvpg::inet::parse("::/0", true)));
  CHECK_FALSE(r[0].get<std::optional<uvpg::inet>>(0));
  CHECK(r.value(0, 1) == "inet");
  CHECK(r.value(0, 2) == "cidr");
}
