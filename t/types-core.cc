// The scalar typecasters (src/types/core.cc) and the row API, against
// the server: every value goes out as a parameter, comes back in text and
// in binary form, and is compared with what the server itself prints.
#include <cmath>
#include <limits>

#include "test.hh"
#include "uvpg/types/array.hh"

TEST_SUITE_BEGIN("live/types-core");

namespace {

template <class T> bool same(const T &a, const T &b) {
  if constexpr (std::is_floating_point_v<T>) {
    return (std::isnan(a) && std::isnan(b)) ||
           (a == b && std::signbit(a) == std::signbit(b));
  } else {
    return a == b;
  }
}

struct fixture : test::loop_fixture {
  uvpg::connection conn = test::connect(&loop);

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

  /// Sends v, reads it back as T in both forms; checks the server's text.
  template <class T>
  T round_trip(const T &v, const std::string &type,
               const std::string &server_text) {
    T text_form{}, binary_form{};
    for (bool binary : {false, true}) {
      auto r = echo(uvpg::param(v), type, binary);
      CHECK(r.value(0, 1) == server_text);
      (binary ? binary_form : text_form) = r[0].get<T>(0);
    }
    CHECK(same(text_form, binary_form));
    return text_form;
  }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "codec: integers round-trip at their limits") {
  using L16 = std::numeric_limits<int16_t>;
  using L32 = std::numeric_limits<int32_t>;
  using L64 = std::numeric_limits<int64_t>;
  CHECK(round_trip<int16_t>(L16::min(), "int2", "-32768") == L16::min());
  CHECK(round_trip<int16_t>(L16::max(), "int2", "32767") == L16::max());
  CHECK(round_trip<int32_t>(L32::min(), "int4", "-2147483648") ==
        L32::min());
  CHECK(round_trip<int64_t>(L64::min(), "int8", "-9223372036854775808") ==
        L64::min());
  CHECK(round_trip<int64_t>(L64::max(), "int8", "9223372036854775807") ==
        L64::max());
  CHECK(round_trip<int64_t>(0, "int8", "0") == 0);
  CHECK(round_trip<uint32_t>(4294967295u, "oid", "4294967295") ==
        4294967295u);
}

TEST_CASE_FIXTURE(fixture, "codec: integers widen, and refuse to narrow") {
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(int16_t{-7}), "int2", binary);
    CHECK(r[0].get<int64_t>(0) == -7);
    CHECK(r[0].get<int32_t>(0) == -7);
    CHECK(r[0].get<double>(0) == -7.0);
    auto big = echo(uvpg::param(int64_t{1} << 40), "int8", binary);
    CHECK_THROWS_AS(big[0].get<int32_t>(0), uvpg::data_error);
    auto text = echo(uvpg::param("12"), "text", binary);
    CHECK_THROWS_AS(text[0].get<int64_t>(0), uvpg::data_error);
  }
}

TEST_CASE_FIXTURE(fixture, "codec: floats keep NaN, infinities and -0") {
  double nan = std::numeric_limits<double>::quiet_NaN();
  double inf = std::numeric_limits<double>::infinity();
  CHECK(std::isnan(round_trip<double>(nan, "float8", "NaN")));
  CHECK(round_trip<double>(inf, "float8", "Infinity") == inf);
  CHECK(round_trip<double>(-inf, "float8", "-Infinity") == -inf);
  double negzero = round_trip<double>(-0.0, "float8", "-0");
  CHECK(negzero == 0.0);
  CHECK(std::signbit(negzero));
  CHECK(round_trip<double>(0.1, "float8", "0.1") == 0.1);
  CHECK(round_trip<double>(1e308, "float8", "1e+308") == 1e308);
  CHECK(round_trip<double>(5e-324, "float8", "5e-324") == 5e-324);
  CHECK(round_trip<float>(1.5f, "float4", "1.5") == 1.5f);
  CHECK(std::isinf(round_trip<float>(-std::numeric_limits<float>::infinity(),
                                     "float4", "-Infinity")));
}

TEST_CASE_FIXTURE(fixture, "codec: bool and the text family") {
  CHECK(round_trip<bool>(true, "bool", "true"));
  CHECK_FALSE(round_trip<bool>(false, "bool", "false"));
  std::string s = "it's \"quoted\", \\back\\, ünïcödé, 日本";
  CHECK(round_trip<std::string>(s, "text", s) == s);
  CHECK(round_trip<std::string>(s, "varchar", s) == s);
  CHECK(round_trip<std::string>("", "text", "") == "");
  // bpchar keeps its padding; its cast to text drops it.
  CHECK(round_trip<std::string>("ab", "char(4)", "ab") == "ab  ");
  CHECK(round_trip<std::string>("pg_class", "name", "pg_class") ==
        "pg_class");
}

TEST_CASE_FIXTURE(fixture, "codec: any type reads as text in text form") {
  auto r = echo(uvpg::param("2026-11-21"), "date", false);
  CHECK(r[0].get<std::string>(0) == "2026-11-21");
  // In binary form only text-like types do.
  auto b = echo(uvpg::param("2026-11-21"), "date", true);
  CHECK_THROWS_AS(b[0].get<std::string>(0), uvpg::data_error);
}

TEST_CASE_FIXTURE(fixture, "codec: std::string of a binary value is its "
                           "text, never its wire bytes (issue 8)") {
  test::create_type(&loop, conn,
                    "CREATE TYPE uvpg_mood AS ENUM ('sad', 'ok', 'happy')");
  test::create_type(&loop, conn, "CREATE TYPE uvpg_pair AS (n int, s text)");
  uvpg::connection c = test::connect(&loop); // finds the enum
  // Each reads the same in both forms, as the server prints it.
  const char *sql =
      "SELECT ROW(1, 'a'), ROW(NULL, '', 'x y', 'q\"\\\\(,)', 2.50, "
      "true, '12:00'::time, ROW(7)), 'ok'::uvpg_mood, "
      "'{ok,sad}'::uvpg_mood[], 5::int2, 'x'::\"char\", '18:00:00.25'::time, "
      "'1.5'::numeric, ARRAY[ROW(1, 'b')], 4294967295::oid, "
      "'192.168.0.0/24'::cidr, '{\"a\": [1, 2]}'::jsonb";
  auto [t, b] = test::same_text(&loop, c, sql);
  CHECK(b[0].get<std::string>(0) == "(1,a)");
  CHECK(b[0].get<std::string_view>(2) == "ok");
  // No text to view without writing it, nor a guess at a row type.
  CHECK_THROWS_AS(b[0].get<std::string_view>(0), uvpg::data_error);
  auto p = test::select(&loop, c, "SELECT ROW(1, 'a')::uvpg_pair", true);
  CHECK_THROWS_AS(p[0].get<std::string>(0), uvpg::data_error);
}

TEST_CASE_FIXTURE(fixture, "codec: \"char\" reads the same in both forms "
                           "(issue 8)") {
  for (bool binary : {false, true}) {
    INFO("binary: " << binary);
    auto r = test::select(&loop, conn,
                          "SELECT '\\377'::\"char\", ''::\"char\", "
                          "'a'::\"char\", '\\'::\"char\", "
                          "ARRAY['\\200'::\"char\"]",
                          binary);
    // What PostgreSQL 15 prints: \ooo above 127, nothing for NUL.
    CHECK(r[0].get<std::string>(0) == "\\377");
    CHECK(r[0].get<std::string>(1) == "");
    CHECK(r[0].get<std::string>(2) == "a");
    CHECK(r[0].get<std::string>(3) == "\\");
    CHECK(r[0].get<std::vector<std::string>>(4) ==
          std::vector<std::string>{"\\200"});
  }
}

TEST_CASE_FIXTURE(fixture, "codec: bytea in hex, escape and binary forms") {
  uvpg::bytea v;
  for (int i = 0; i < 256; ++i) {
    v.push_back(static_cast<std::byte>(i));
  }
  auto hex = echo(uvpg::param(v), "bytea", false);
  CHECK(hex[0].get<uvpg::bytea>(0) == v);
  CHECK(hex.value(0, 1).substr(0, 8) == "\\x000102");
  CHECK(echo(uvpg::param(v), "bytea", true)[0].get<uvpg::bytea>(0) == v);
  test::wait(&loop, conn.query("SET bytea_output = escape"));
  auto esc = echo(uvpg::param(v), "bytea", false);
  CHECK(esc[0].get<uvpg::bytea>(0) == v);
  CHECK(echo(uvpg::param(uvpg::bytea{}), "bytea", false)[0]
            .get<uvpg::bytea>(0)
            .empty());
}

TEST_CASE_FIXTURE(fixture, "field: NULL needs std::optional") {
  auto r = test::wait(&loop, conn.query("SELECT NULL::int8 AS n, 5::int8"));
  CHECK(r[0]["n"].is_null());
  CHECK_THROWS_AS(r[0].get<int64_t>("n"), uvpg::data_error);
  CHECK_FALSE(r[0].get<std::optional<int64_t>>("n"));
  CHECK(r[0].get<std::optional<int64_t>>(1) == 5);
  // A NULL parameter from std::nullopt and from an empty optional.
  std::optional<int> none;
  auto p = test::wait(&loop, conn.query("SELECT $1::int IS NULL, "
                                        "$2::text IS NULL",
                                        none, std::nullopt));
  CHECK(p[0].get<bool>(0));
  CHECK(p[0].get<bool>(1));
}

TEST_CASE_FIXTURE(fixture, "row: by index, by name, as a tuple, iterated") {
  auto r = test::wait(&loop,
                      conn.query("SELECT i AS id, 'n' || i AS name, "
                                 "i * 0.5::float8 AS half FROM "
                                 "generate_series(1, 3) i"));
  REQUIRE(r.rows() == 3);
  int seen = 0;
  for (const uvpg::row &row : r) {
    ++seen;
    CHECK(row.get<int32_t>("id") == seen);
    CHECK(row["name"].as<std::string>() == "n" + std::to_string(seen));
    auto [id, name, half] = row.as_tuple<int64_t, std::string, double>();
    CHECK(id == seen);
    CHECK(half == seen * 0.5);
    int fields = 0;
    for (uvpg::field f : row) {
      CHECK_FALSE(f.is_null());
      ++fields;
    }
    CHECK(fields == 3);
  }
  CHECK(seen == 3);
  CHECK_THROWS_AS(r[0]["nope"], uvpg::usage_error);
  CHECK_THROWS_AS(r[3], uvpg::usage_error);
  CHECK_THROWS_AS((r[0].as_tuple<int, int>()), uvpg::usage_error);
}

TEST_CASE_FIXTURE(fixture, "row: keeps its result alive") {
  std::optional<uvpg::row> kept;
  {
    auto r = test::wait(&loop, conn.query("SELECT 'still here'"));
    kept = r[0];
  }
  CHECK(kept->get<std::string>(0) == "still here");
}

TEST_CASE_FIXTURE(fixture, "fetch helpers: fetch, fetchrow, fetchval, "
                           "execute") {
  auto all = test::wait(&loop, conn.fetch("SELECT generate_series(1, $1)",
                                          4));
  CHECK(all.rows() == 4);
  auto one = test::wait(&loop, conn.fetchrow("SELECT 1, 'a' WHERE $1", true));
  REQUIRE(one);
  CHECK(one->get<std::string>(1) == "a");
  auto none = test::wait(&loop, conn.fetchrow("SELECT 1 WHERE false"));
  CHECK_FALSE(none);
  CHECK(test::wait(&loop, conn.fetchval<int64_t>("SELECT $1::int8 * 2",
                                                 int64_t{21})) == 42);
  CHECK(test::wait(&loop, conn.fetchval_at<std::string>(
                              1, "SELECT 1, 'second'")) == "second");
  CHECK_FALSE(test::wait(&loop, conn.fetchval<std::optional<int>>(
                                    "SELECT 1 WHERE false")));
  CHECK_THROWS_AS(test::wait(&loop, conn.fetchval<int>("SELECT 1 WHERE "
                                                       "false")),
                  uvpg::data_error);
  CHECK(test::wait(&loop, conn.execute("CREATE TEMP TABLE x (a int)")) ==
        "CREATE TABLE");
  CHECK(test::wait(&loop, conn.execute("INSERT INTO x SELECT "
                                       "generate_series(1, %s)",
                                       5)) == "INSERT 0 5");
}

TEST_CASE_FIXTURE(fixture, "parameters: typed values pick their own "
                           "server type") {
  // No casts in the SQL: the parameter's OID tells the server.
  auto r = test::wait(&loop,
                      conn.query("SELECT pg_typeof($1)::text, "
                                 "pg_typeof($2)::text, pg_typeof($3)::text, "
                                 "pg_typeof($4)::text",
                                 int64_t{1}, 2.5, true, int16_t{3}));
  CHECK(r.value(0, 0) == "bigint");
  CHECK(r.value(0, 1) == "double precision");
  CHECK(r.value(0, 2) == "boolean");
  CHECK(r.value(0, 3) == "smallint");
}

TEST_CASE_FIXTURE(fixture, "result: column metadata") {
  auto r = test::wait(&loop,
                      conn.query("SELECT 1.5::numeric(10,3) AS n, "
                                 "'x'::varchar(7) AS v, 1::int4 AS i"));
  CHECK(r.column_type(0) == uvpg::oids::numeric);
  // numeric(10,3): typmod = ((10 << 16) | 3) + 4
  CHECK(r.column_modifier(0) == ((10 << 16) | 3) + 4);
  CHECK(r.column_modifier(1) == 7 + 4);
  CHECK(r.column_size(2) == 4);
  CHECK(r.column_size(1) < 0);
}

TEST_CASE_FIXTURE(fixture, "codec: json and jsonb read as strings in both "
                           "forms") {
  for (bool binary : {false, true}) {
    auto j = echo(uvpg::param("{\"a\": [1, 2]}"), "jsonb", binary);
    CHECK(j[0].get<std::string>(0) == "{\"a\": [1, 2]}");
    auto t = echo(uvpg::param("{\"a\":1}"), "json", binary);
    CHECK(t[0].get<std::string>(0) == "{\"a\":1}");
  }
}

namespace {

// A program's own type: an enum, read only from the column type the
// connection registered under its name.
enum class mood { sad, ok, happy };

} // namespace

template <> struct uvpg::codec<mood> {
  static mood decode(const uvpg::field &f) {
    if (f.type() == 0 || f.type() != uvpg::oid_of(f, "uvpg_mood2")) {
      uvpg::detail::wrong_type(f, "mood wants the registered uvpg_mood2");
    }
    std::string_view v = f.raw();
    if (v == "sad") {
      return mood::sad;
    }
    if (v == "ok") {
      return mood::ok;
    }
    if (v == "happy") {
      return mood::happy;
    }
    uvpg::detail::malformed(f, "mood");
  }
  static void encode(const mood &m, uvpg::encoded &out) {
    static const char *const labels[] = {"sad", "ok", "happy"};
    out.bytes = labels[static_cast<int>(m)];
  }
};

TEST_CASE_FIXTURE(fixture, "register_type: a typecaster of the program's "
                           "own type finds its OID") {
  test::wait(&loop, conn.execute("CREATE TYPE pg_temp.uvpg_mood2 AS ENUM "
                                 "('sad', 'ok', 'happy')"));
  // Before registration the codec refuses the column.
  auto before = test::wait(&loop, conn.query("SELECT 'ok'::uvpg_mood2"));
  CHECK_THROWS_AS(before[0].get<mood>(0), uvpg::data_error);
  uvpg::oid_t oid = test::wait(&loop, conn.register_type("uvpg_mood2"));
  CHECK(oid >= 16384);
  auto r = test::wait(&loop, conn.query("SELECT $1::uvpg_mood2, "
                                        "'happy'::uvpg_mood2",
                                        mood::sad));
  CHECK(r.column_type(0) == oid);
  CHECK(r[0].get<mood>(0) == mood::sad);
  CHECK(r[0].get<mood>(1) == mood::happy);
  // Earlier results know the registration too: it is the connection's.
  CHECK(before[0].get<mood>(0) == mood::ok);
  try {
    test::wait(&loop, conn.register_type("no_such_type"));
    FAIL("registered a type that does not exist");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UV_ENOENT);
  }
}
