// The array typecasters (src/types/array.cc, uvpg/types/array.hh),
// against the server: every array goes out as a parameter, comes back in
// text and in binary form, and is compared with what the server itself
// prints.  Then malformed and hostile values, built as fields directly.
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include "test.hh"
#include "uvpg/types/array.hh"
#include "uvpg/types/uuid.hh"

TEST_SUITE_BEGIN("live/types-array");

static_assert(uvpg::has_codec<std::vector<int32_t>>);
static_assert(uvpg::has_codec<std::vector<std::optional<std::string>>>);
static_assert(uvpg::has_codec<uvpg::array<double>>);
static_assert(uvpg::has_codec<std::vector<uvpg::bytea>>);
static_assert(!uvpg::can_decode<std::vector<std::string_view>>);
static_assert(!uvpg::can_decode<std::vector<const char *>>);

namespace {

template <class T> bool same(const T &a, const T &b) {
  if constexpr (std::is_floating_point_v<T>) {
    return (std::isnan(a) && std::isnan(b)) ||
           (a == b && std::signbit(a) == std::signbit(b));
  } else {
    return a == b;
  }
}
template <class T> bool same(const std::vector<T> &a, const std::vector<T> &b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same<T>(a[i], b[i])) {
      return false;
    }
  }
  return true;
}

struct fixture : test::loop_fixture {
  uvpg::connection conn = test::connect(&loop);

  /// SELECT $1::type, $1::type::text with v, in text or binary form.
  uvpg::result echo(const uvpg::param &v, const std::string &type,
                    bool binary) {
    uvpg::query_options o;
    o.binary_results = binary;
    return test::wait(
        &loop, conn.query("SELECT $1::" + type + ", ($1::" + type + ")::text",
                          uvpg::params{v}, o));
  }

  /// Runs a statement; returns its result in text or binary form.
  uvpg::result select(const std::string &sql, bool binary) {
    uvpg::query_options o;
    o.binary_results = binary;
    return test::wait(&loop, conn.query(sql, uvpg::params{}, o));
  }

  /// Sends v, reads it back as T in both forms; checks the server's text
  /// and that both forms read the same value as the one sent.
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
    CHECK(same(text_form, v));
    return text_form;
  }
};

/// A field over `bytes`, as a result would give it (valid while `bytes`
/// lives: pass a variable, not a temporary).
uvpg::field make_field(const std::string &bytes, uvpg::oid_t type,
                       bool binary) {
  return uvpg::field(bytes.data(), static_cast<int>(bytes.size()), false, type,
                     binary, "a", nullptr);
}
uvpg::field make_field(std::string &&, uvpg::oid_t, bool) = delete;

void put32(std::string &s, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
               static_cast<char>(v >> 8), static_cast<char>(v)};
  s.append(b, 4);
}

/// array_send's header.
std::string header(int ndim, int flags, uvpg::oid_t elem,
                   std::vector<std::pair<int, int>> dims) {
  std::string s;
  put32(s, static_cast<uint32_t>(ndim));
  put32(s, static_cast<uint32_t>(flags));
  put32(s, elem);
  for (auto [len, lb] : dims) {
    put32(s, static_cast<uint32_t>(len));
    put32(s, static_cast<uint32_t>(lb));
  }
  return s;
}

} // namespace

TEST_CASE_FIXTURE(fixture, "codec: int4[] and int8[] round-trip") {
  std::vector<int32_t> i4{1, -2, INT_MIN, INT_MAX, 0};
  round_trip(i4, "int4[]", "{1,-2,-2147483648,2147483647,0}");
  std::vector<int64_t> i8{std::numeric_limits<int64_t>::min(), 42};
  round_trip(i8, "int8[]", "{-9223372036854775808,42}");
  std::vector<int16_t> i2{7, -7};
  round_trip(i2, "int2[]", "{7,-7}");
  // Elements widen as their codec allows: int2[] reads as int64_t.
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(i2), "int2[]", binary);
    CHECK(r[0].get<std::vector<int64_t>>(0) == std::vector<int64_t>{7, -7});
  }
}

TEST_CASE_FIXTURE(fixture, "codec: text[] elements survive quoting") {
  std::vector<std::string> v{"a",        "with \"quote\"", "back\\slash",
                             "com,ma",   "{brace}",        " spaced ",
                             "",         "NULL",           "null",
                             "ünï",      "tab\there",      "x y",
                             "\\\"\\\\", "}{,\"",          "line\nbreak"};
  round_trip(v, "text[]",
             "{a,\"with \\\"quote\\\"\",\"back\\\\slash\",\"com,ma\","
             "\"{brace}\",\" spaced \",\"\",\"NULL\",\"null\",ünï,"
             "\"tab\there\",\"x y\",\"\\\\\\\"\\\\\\\\\",\"}{,\\\"\","
             "\"line\nbreak\"}");
  std::string as_text(echo(uvpg::param(v), "text[]", false).value(0, 1));
  round_trip(v, "varchar[]", as_text);
  // "NULL" quoted is a string, NULL bare is NULL, in any case.
  for (bool binary : {false, true}) {
    auto r = select("SELECT '{\"NULL\",NULL,null,NuLl,\"\"}'::text[]", binary);
    auto got = r[0].get<std::vector<std::optional<std::string>>>(0);
    CHECK(got == std::vector<std::optional<std::string>>{
                     "NULL", std::nullopt, std::nullopt, std::nullopt, ""});
  }
}

TEST_CASE_FIXTURE(fixture, "codec: NULL elements need std::optional") {
  std::vector<std::optional<int32_t>> v{1, std::nullopt, 3};
  round_trip(v, "int4[]", "{1,NULL,3}");
  std::vector<std::optional<std::string>> s{std::nullopt, "NULL", ""};
  round_trip(s, "text[]", "{NULL,\"NULL\",\"\"}");
  std::vector<std::optional<int32_t>> all_null{std::nullopt, std::nullopt};
  round_trip(all_null, "int4[]", "{NULL,NULL}");
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(v), "int4[]", binary);
    CHECK_THROWS_AS(r[0].get<std::vector<int32_t>>(0), uvpg::data_error);
    // A NULL array is not an empty one.
    auto n = select("SELECT NULL::int4[]", binary);
    CHECK_FALSE(n[0].get<std::optional<std::vector<int32_t>>>(0));
    CHECK_THROWS_AS(n[0].get<std::vector<int32_t>>(0), uvpg::data_error);
    auto o = n[0].get<std::optional<uvpg::array<int32_t>>>(0);
    CHECK_FALSE(o);
  }
}

TEST_CASE_FIXTURE(fixture, "codec: empty arrays") {
  round_trip(std::vector<int32_t>{}, "int4[]", "{}");
  round_trip(std::vector<std::string>{}, "text[]", "{}");
  round_trip(uvpg::array<int64_t>{}, "int8[]", "{}");
  // An empty vector still names its array type (from a default E).
  auto r = test::wait(&loop, conn.query("SELECT pg_typeof($1)::text, "
                                        "pg_typeof($2)::text",
                                        std::vector<int64_t>{},
                                        std::vector<double>{1.5}));
  CHECK(r.value(0, 0) == "bigint[]");
  CHECK(r.value(0, 1) == "double precision[]");
  for (bool binary : {false, true}) {
    auto e = select("SELECT '{}'::int4[]", binary);
    uvpg::array<int32_t> a = e[0].get<uvpg::array<int32_t>>(0);
    CHECK(a.ndim() == 0);
    CHECK(a.empty());
    CHECK(a.dims().empty());
  }
}

TEST_CASE_FIXTURE(fixture, "codec: 2-D and 3-D arrays as uvpg::array") {
  uvpg::array<int32_t> two({2, 3}, {1, 2, 3, 4, std::nullopt, 6});
  auto got = round_trip(two, "int4[]", "{{1,2,3},{4,NULL,6}}");
  CHECK(got.ndim() == 2);
  CHECK(got.dims() == std::vector<int>{2, 3});
  CHECK(got.lower_bounds() == std::vector<int>{1, 1});
  CHECK(got.at({2, 1}) == 4);
  CHECK_FALSE(got.at({2, 2}));
  CHECK(got[2] == 3);
  CHECK_THROWS_AS(got.at({3, 1}), std::out_of_range);
  CHECK_THROWS_AS(got.at({1}), std::out_of_range);

  std::vector<std::optional<std::string>> e;
  for (int i = 0; i < 12; ++i) {
    e.push_back(i == 5 ? std::optional<std::string>{}
                       : "s" + std::to_string(i) + (i % 2 ? "," : "\""));
  }
  uvpg::array<std::string> three({2, 3, 2}, e);
  auto t = round_trip(three, "text[]",
                      "{{{\"s0\\\"\",\"s1,\"},{\"s2\\\"\",\"s3,\"},"
                      "{\"s4\\\"\",NULL}},{{\"s6\\\"\",\"s7,\"},"
                      "{\"s8\\\"\",\"s9,\"},{\"s10\\\"\",\"s11,\"}}}");
  CHECK(t.at({2, 3, 2}) == "s11,");

  // Read as a vector, more than one dimension is refused.
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(two), "int4[]", binary);
    CHECK_THROWS_AS(r[0].get<std::vector<std::optional<int32_t>>>(0),
                    uvpg::data_error);
  }
  // The server's own multi-dimensional values.
  for (bool binary : {false, true}) {
    auto r = select("SELECT '{{{1},{2}},{{3},{4}}}'::int8[]", binary);
    auto a = r[0].get<uvpg::array<int64_t>>(0);
    CHECK(a.dims() == std::vector<int>{2, 2, 1});
    CHECK(a.at({2, 1, 1}) == 3);
  }
  CHECK_THROWS_AS(uvpg::array<int>({2, 2}, {1, 2, 3}), uvpg::usage_error);
  CHECK_THROWS_AS(uvpg::array<int>({1, 1, 1, 1, 1, 1, 1}, {1}),
                  uvpg::usage_error);
}

TEST_CASE_FIXTURE(fixture, "codec: lower bounds other than 1") {
  uvpg::array<int32_t> a({3}, {1, 2, 3}, {0});
  auto got = round_trip(a, "int4[]", "[0:2]={1,2,3}");
  CHECK(got.lower_bounds() == std::vector<int>{0});
  CHECK(got.at({0}) == 1);
  CHECK(got.at({2}) == 3);
  uvpg::array<int32_t> b({2, 2}, {1, 2, 3, 4}, {-1, 5});
  got = round_trip(b, "int4[]", "[-1:0][5:6]={{1,2},{3,4}}");
  CHECK(got.at({0, 5}) == 3);
  for (bool binary : {false, true}) {
    // The server agrees on the subscripts.
    auto s = test::wait(&loop, conn.query("SELECT ($1::int4[])[0][5]", b));
    CHECK(s[0].get<int32_t>(0) == 3);
    // A vector keeps the elements and drops a lower bound.
    auto one = echo(uvpg::param(a), "int4[]", binary);
    CHECK(one[0].get<std::vector<int32_t>>(0) == std::vector<int32_t>{1, 2, 3});
  }
}

TEST_CASE_FIXTURE(fixture, "codec: float8[] keeps NaN and infinities") {
  double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v{
      std::numeric_limits<double>::quiet_NaN(), inf, -inf, 1.5, -0.0, 1e308};
  round_trip(v, "float8[]", "{NaN,Infinity,-Infinity,1.5,-0,1e+308}");
  std::vector<float> f{1.5f, -std::numeric_limits<float>::infinity()};
  round_trip(f, "float4[]", "{1.5,-Infinity}");
}

TEST_CASE_FIXTURE(fixture, "codec: bool[], bytea[] and uuid[]") {
  round_trip(std::vector<bool>{true, false, true}, "bool[]", "{t,f,t}");
  // bytea and uuid encode in binary form, so their arrays do too.
  std::vector<uvpg::bytea> b{{std::byte{0}, std::byte{255}}, {}};
  round_trip(b, "bytea[]", "{\"\\\\x00ff\",\"\\\\x\"}");
  std::vector<std::optional<uvpg::uuid>> u{
      uvpg::uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), std::nullopt,
      uvpg::uuid()};
  round_trip(u, "uuid[]",
             "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL,"
             "00000000-0000-0000-0000-000000000000}");
  auto r = test::wait(&loop, conn.query("SELECT pg_typeof($1)::text",
                                        std::vector<uvpg::uuid>{}));
  CHECK(r.value(0, 0) == "uuid[]");
}

TEST_CASE_FIXTURE(fixture, "codec: optional arrays of optional elements") {
  using opt = std::optional<std::vector<std::optional<int64_t>>>;
  for (bool binary : {false, true}) {
    auto r = select("SELECT ARRAY[1, NULL]::int8[], NULL::int8[]", binary);
    CHECK(r[0].get<opt>(0) ==
          opt(std::vector<std::optional<int64_t>>{1, std::nullopt}));
    CHECK_FALSE(r[0].get<opt>(1));
  }
  opt none;
  auto p = test::wait(&loop, conn.query("SELECT $1::int8[] IS NULL", none));
  CHECK(p[0].get<bool>(0));
}

TEST_CASE_FIXTURE(fixture, "codec: arrays of other types") {
  for (bool binary : {false, true}) {
    // A built-in array whose element has a codec of its own.
    auto r = select("SELECT ARRAY['x'::name, 'y'], ARRAY['a'::varchar], "
                    "'{\"{1,2}\"}'::text[]",
                    binary);
    CHECK(r[0].get<std::vector<std::string>>(0) ==
          std::vector<std::string>{"x", "y"});
    CHECK(r[0].get<std::vector<std::string>>(1) ==
          std::vector<std::string>{"a"});
    CHECK(r[0].get<std::vector<std::string>>(2) ==
          std::vector<std::string>{"{1,2}"});
    // Not an array at all.
    auto s = select("SELECT 5::int4, 'x'::text", binary);
    CHECK_THROWS_AS(s[0].get<std::vector<int32_t>>(0), uvpg::data_error);
    CHECK_THROWS_AS(s[0].get<std::vector<std::string>>(1), uvpg::data_error);
    // An element type the element codec refuses.
    auto t = select("SELECT ARRAY['a'::text]", binary);
    CHECK_THROWS_AS(t[0].get<std::vector<int32_t>>(0), uvpg::data_error);
  }
  // An array type the table does not know: its elements read as text.
  auto u = select("SELECT ARRAY['pg_class'::regclass]", false);
  CHECK(u[0].get<std::vector<std::string>>(0) ==
        std::vector<std::string>{"pg_class"});
  // box[] separates elements with ';': refused, and said so.
  auto box = select("SELECT ARRAY[box(point(0,0), point(1,1))]", false);
  CHECK_THROWS_WITH_AS(box[0].get<std::vector<std::string>>(0),
                       doctest::Contains("box[]"), uvpg::data_error);
}

TEST_CASE_FIXTURE(fixture, "codec: arrays of a domain read as arrays of "
                           "its base type (issue 8)") {
  test::create_type(&loop, conn,
                    "CREATE DOMAIN uvpg_posint AS int CHECK (VALUE > 0)");
  uvpg::connection c = test::connect(&loop); // finds the domain
  using opt = std::vector<std::optional<int32_t>>;
  for (bool binary : {false, true}) {
    INFO("binary: " << binary);
    auto r = test::select(&loop, c,
                          "SELECT '{1,2,NULL}'::uvpg_posint[], "
                          "7::uvpg_posint, '{{1},{2}}'::uvpg_posint[]",
                          binary);
    CHECK(r[0].get<uvpg::array<int32_t>>(0) ==
          uvpg::array<int32_t>{1, 2, std::nullopt});
    CHECK(r[0].get<opt>(0) == opt{1, 2, std::nullopt});
    CHECK(r[0].get<std::string>(0) == "{1,2,NULL}");
    CHECK(r[0].get<int32_t>(1) == 7);
    CHECK(r[0].get<int64_t>(1) == 7);
    CHECK(r[0].get<std::string>(1) == "7");
    CHECK(r[0].get<uvpg::array<int32_t>>(2) ==
          uvpg::array<int32_t>({2, 1}, {1, 2}));
    CHECK(r[0].get<std::string>(2) == "{{1},{2}}");
    // The server names the array's own type (a domain's scalar column it
    // names by the base type).
    CHECK(r.column_type(0) != uvpg::oids::int4_array);
  }
  // A domain made after connect is not known: an error, never a guess.
  test::wait(&loop, c.execute("CREATE DOMAIN pg_temp.uvpg_late AS int"));
  for (bool binary : {false, true}) {
    INFO("binary: " << binary);
    auto late =
        test::select(&loop, c, "SELECT '{1,NULL}'::pg_temp.uvpg_late[]",
                     binary);
    CHECK_THROWS_AS(late[0].get<opt>(0), uvpg::data_error);
    if (binary) {
      CHECK_THROWS_AS(late[0].get<std::string>(0), uvpg::data_error);
    } else {
      CHECK(late[0].get<std::string>(0) == "{1,NULL}");
    }
  }
}

TEST_CASE_FIXTURE(fixture, "codec: binary arrays read as std::string give "
                           "the server's text, never wire bytes (issue "
                           "8)") {
  test::create_type(&loop, conn,
                    "CREATE TYPE uvpg_mood AS ENUM ('sad', 'ok', 'happy')");
  test::create_type(&loop, conn,
                    "CREATE DOMAIN uvpg_posint AS int CHECK (VALUE > 0)");
  uvpg::connection c = test::connect(&loop);
  const char *sql =
      "SELECT '{happy,NULL,sad}'::uvpg_mood[], '{1,2,NULL}'::uvpg_posint[], "
      "'[0:1]={\"a b\",\"\"}'::text[], ARRAY[true, NULL], "
      "'{{1,-2},{3,4}}'::int8[], ARRAY['NULL', 'x,y', 'q\"\\\\']::text[], "
      "ARRAY[1.50, NULL]::numeric[], ARRAY['::1'::inet], "
      "ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid], "
      "ARRAY['12:00:01.5+05:30'::timetz], ARRAY['x'::\"char\"]";
  auto [t, b] = test::same_text(&loop, c, sql);
  CHECK_THROWS_AS(b[0].get<std::vector<std::string>>(0), uvpg::data_error);
  CHECK(b[0].get<std::vector<std::optional<std::string>>>(0) ==
        std::vector<std::optional<std::string>>{"happy", std::nullopt,
                                                "sad"});
  CHECK(t[0].get<std::vector<std::optional<std::string>>>(0) ==
        std::vector<std::optional<std::string>>{"happy", std::nullopt,
                                                "sad"});
  // Elements whose text depends on the session: refused in binary form.
  auto d = test::select(&loop, c,
                        "SELECT ARRAY[1.5::float8], ARRAY['2026-01-02'::date]",
                        true);
  CHECK_THROWS_WITH_AS(d[0].get<std::string>(0),
                       doctest::Contains("extra_float_digits"),
                       uvpg::data_error);
  CHECK_THROWS_WITH_AS(d[0].get<std::string>(1),
                       doctest::Contains("DateStyle"), uvpg::data_error);
  CHECK_THROWS_AS(d[0].get<std::string_view>(0), uvpg::data_error);
}

TEST_CASE("codec: malformed text arrays are data_error") {
  const char *bad[] = {
      "",
      "{",
      "{1,2",
      "1,2}",
      "{1,,2}",
      "{1,2}x",
      "{{1},{2,3}}",
      "{1,{2}}",
      "{{1},2}",
      "{{}}",
      "{\"a}",
      "{a\"b}",
      "{a\\",
      "{{{{{{{1}}}}}}}",
      "[1:2]={1}",
      "[1:2]{1,2}",
      "[2:1]={}",
      "[1:2][1:1]={1,2}",
      "[0:2147483647]={1}",
      "[1:1][1:1][1:1][1:1][1:1][1:1][1:1]={{{{{{{1}}}}}}}",
      "[x]={1}",
      "{1 2}",
  };
  for (const std::string s : bad) {
    INFO("value: " << s);
    auto f = make_field(s, uvpg::oids::int4_array, false);
    CHECK_THROWS_AS(f.as<uvpg::array<int32_t>>(), uvpg::data_error);
  }
  // What array_in accepts beyond what array_out prints.
  std::string loose = " [1:2] = { 1 , \"2\" } ";
  auto f = make_field(loose, uvpg::oids::int4_array, false);
  CHECK(f.as<std::vector<int32_t>>() == std::vector<int32_t>{1, 2});
  std::string escapes = "{ a b , \\ c\\ ,d\\\\}";
  auto g = make_field(escapes, uvpg::oids::text_array, false);
  CHECK(g.as<std::vector<std::string>>() ==
        std::vector<std::string>{"a b", " c ", "d\\"});
  std::string six = "{{{{{{1}}}}}}";
  auto h = make_field(six, uvpg::oids::int4_array, false);
  CHECK(h.as<uvpg::array<int32_t>>().ndim() == 6);
}

TEST_CASE("codec: malformed and hostile binary arrays are data_error") {
  using uvpg::oids::int4;
  std::string ok = header(1, 0, int4, {{2, 1}});
  put32(ok, 4);
  put32(ok, 7);
  put32(ok, static_cast<uint32_t>(-1));
  auto f = make_field(ok, uvpg::oids::int4_array, true);
  CHECK(f.as<std::vector<std::optional<int32_t>>>() ==
        std::vector<std::optional<int32_t>>{7, std::nullopt});

  std::vector<std::string> bad;
  bad.push_back(ok.substr(0, 11));                   // short header
  bad.push_back(ok.substr(0, ok.size() - 1));        // truncated
  bad.push_back(ok + "x");                           // trailing byte
  bad.push_back(header(7, 0, int4, {}));             // ndim > 6
  bad.push_back(header(-1, 0, int4, {}));            // ndim < 0
  bad.push_back(header(0, 2, int4, {}));             // bad flags
  bad.push_back(header(1, 0, int4, {{-1, 1}}));      // negative dim
  bad.push_back(header(1, 0, int4, {{2, INT_MAX}})); // bound overflow
  bad.push_back(header(2, 0, int4, {{1, 1}}));       // missing dim
  // A header claiming 2^62 elements in a few bytes: refused before any
  // allocation.
  bad.push_back(header(2, 0, int4, {{INT_MAX, 1}, {INT_MAX, 1}}) +
                std::string(64, '\0'));
  bad.push_back(header(6, 0, int4,
                       {{65536, 1},
                        {65536, 1},
                        {65536, 1},
                        {65536, 1},
                        {65536, 1},
                        {65536, 1}}));
  std::string badlen = header(1, 0, int4, {{1, 1}});
  put32(badlen, static_cast<uint32_t>(-2));
  bad.push_back(badlen);
  std::string longlen = header(1, 0, int4, {{1, 1}});
  put32(longlen, 0x7fffffff);
  bad.push_back(longlen);
  for (const std::string &s : bad) {
    auto b = make_field(s, uvpg::oids::int4_array, true);
    CHECK_THROWS_AS(b.as<uvpg::array<int32_t>>(), uvpg::data_error);
  }
  // The element's own codec checks its bytes (int4 of 3 bytes).
  std::string short_elem = header(1, 0, int4, {{1, 1}});
  put32(short_elem, 3);
  short_elem += "abc";
  auto s = make_field(short_elem, uvpg::oids::int4_array, true);
  CHECK_THROWS_AS(s.as<std::vector<int32_t>>(), uvpg::data_error);
  // A zero-length dimension is the empty array, as array_recv has it.
  std::string zero = header(2, 0, int4, {{0, 1}, {5, 1}});
  auto z = make_field(zero, uvpg::oids::int4_array, true);
  CHECK(z.as<uvpg::array<int32_t>>().ndim() == 0);
}
