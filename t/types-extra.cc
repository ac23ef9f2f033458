// The uuid, hstore and json/jsonb typecasters (src/types/uuid.cc,
// hstore.cc, json.cc), against the server: values go out as parameters,
// come back in text and in binary form, and are compared with what the
// server itself prints.  Malformed values are built as fields directly.
#include <algorithm>
#include <string>

#include "../src/type_context.hh"
#include "test.hh"
#include "uvpg/types/array.hh"
#include "uvpg/types/hstore.hh"
#include "uvpg/types/json.hh"
#include "uvpg/types/uuid.hh"

TEST_SUITE_BEGIN("live/types-extra");

static_assert(uvpg::has_codec<uvpg::uuid>);
static_assert(uvpg::has_codec<uvpg::hstore>);
static_assert(uvpg::has_codec<uvpg::json>);
static_assert(uvpg::has_codec<uvpg::json_text>);
static_assert(uvpg::has_codec<std::vector<uvpg::hstore>>);
static_assert(uvpg::has_codec<std::vector<uvpg::json>>);

namespace {

struct fixture : test::loop_fixture {
  uvpg::connection conn = test::connect(&loop);

  /// SELECT $1::type, $1::type::text with v, in text or binary form.
  uvpg::result echo(const uvpg::param &v, const std::string &type, bool binary,
                    uvpg::connection *c = nullptr) {
    uvpg::query_options o;
    o.binary_results = binary;
    return test::wait(
        &loop, (c ? *c : conn)
                   .query("SELECT $1::" + type + ", ($1::" + type + ")::text",
                          uvpg::params{v}, o));
  }

  /// Runs a statement; returns its result in text or binary form.
  uvpg::result select(const std::string &sql, bool binary,
                      uvpg::connection *c = nullptr) {
    uvpg::query_options o;
    o.binary_results = binary;
    return test::wait(&loop, (c ? *c : conn).query(sql, uvpg::params{}, o));
  }

  /// Sends v, reads it back as T in both forms; checks the server's text
  /// and that both forms read the value sent.
  template <class T>
  T round_trip(const T &v, const std::string &type,
               const std::string &server_text, uvpg::connection *c = nullptr) {
    T text_form{}, binary_form{};
    for (bool binary : {false, true}) {
      auto r = echo(uvpg::param(v), type, binary, c);
      CHECK(r.value(0, 1) == server_text);
      (binary ? binary_form : text_form) = r[0].get<T>(0);
    }
    CHECK(text_form == binary_form);
    CHECK(text_form == v);
    return text_form;
  }

  /// A connection that looked hstore up after the extension existed.
  uvpg::connection hstore_conn() {
    test::wait(&loop, conn.execute("CREATE EXTENSION IF NOT EXISTS hstore"));
    return test::connect(&loop);
  }
};

/// A field over `bytes`, as a result would give it (valid while `bytes`
/// lives: pass a variable, not a temporary).
uvpg::field make_field(const std::string &bytes, uvpg::oid_t type,
                       bool binary) {
  return uvpg::field(bytes.data(), static_cast<int>(bytes.size()), false, type,
                     binary, "v", nullptr);
}
uvpg::field make_field(std::string &&, uvpg::oid_t, bool) = delete;

} // namespace

// ---- uuid ----

TEST_CASE_FIXTURE(fixture, "codec: uuid round-trips, lowercase canonical") {
  uvpg::uuid u("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
  CHECK(u.to_string() == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  round_trip(u, "uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  round_trip(uvpg::uuid(), "uuid", "00000000-0000-0000-0000-000000000000");
  // The parameter is typed: no cast needed.
  auto r = test::wait(&loop, conn.query("SELECT pg_typeof($1)::text", u));
  CHECK(r.value(0, 0) == "uuid");
  // Read as text, a uuid in text form is its text.
  CHECK(echo(uvpg::param(u), "uuid", false)[0].get<std::string>(0) ==
        u.to_string());
  // Another type is refused.
  auto t = select("SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::text", false);
  CHECK_THROWS_AS(t[0].get<uvpg::uuid>(0), uvpg::data_error);
}

TEST_CASE_FIXTURE(fixture, "codec: uuid parses what the server parses") {
  const char *forms[] = {
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
      "a0eebc999c0b4ef8bb6d6bb9bd380a11",
      "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
      "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
      "{A0eeBC999c0b4ef8bb6d6bb9bd380a11}",
      // Refused by both.
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
      "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
      "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
      "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
      "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "",
      "{}",
  };
  for (const char *s : forms) {
    INFO("form: " << s);
    std::optional<uvpg::uuid> mine = uvpg::uuid::from_string(s);
    std::optional<std::string> server;
    try {
      auto r = test::wait(&loop, conn.query("SELECT $1::uuid::text", s));
      server = r.value(0, 0);
    } catch (const uvpg::server_error &e) {
      CHECK(e.sqlstate() == "22P02");
    }
    REQUIRE(mine.has_value() == server.has_value());
    if (mine) {
      CHECK(mine->to_string() == *server);
      // And the value read back is the same.
      auto r = echo(uvpg::param(s), "uuid", true);
      CHECK(r[0].get<uvpg::uuid>(0) == *mine);
    }
  }
  CHECK_THROWS_AS(uvpg::uuid("nope"), uvpg::usage_error);
}

TEST_CASE_FIXTURE(fixture, "codec: uuid orders as the server does") {
  std::vector<uvpg::uuid> v{uvpg::uuid("ffffffff-0000-0000-0000-000000000000"),
                            uvpg::uuid("00000000-0000-0000-0000-000000000001"),
                            uvpg::uuid("80000000-0000-0000-0000-000000000000"),
                            uvpg::uuid("7fffffff-ffff-ffff-ffff-ffffffffffff")};
  auto r = test::wait(&loop, conn.query("SELECT u FROM unnest($1::uuid[]) u "
                                        "ORDER BY u",
                                        v));
  std::sort(v.begin(), v.end());
  REQUIRE(r.rows() == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(r[i].get<uvpg::uuid>(0) == v[static_cast<size_t>(i)]);
  }
  CHECK(std::hash<uvpg::uuid>()(v[0]) != std::hash<uvpg::uuid>()(v[1]));
  CHECK(v[0] != v[1]);
  CHECK((v[0] <=> v[0]) == 0);
}

TEST_CASE_FIXTURE(fixture, "codec: uuid reads with enable_uuid off") {
  uvpg::connect_options o;
  o.enable_uuid = false;
  uvpg::connection c = test::connect(&loop, o);
  uvpg::uuid u("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  round_trip(u, "uuid", u.to_string(), &c);
}

TEST_CASE("codec: malformed uuid fields are data_error") {
  for (bool binary : {false, true}) {
    for (std::string s : {"", "0123456789abcdef0", "0123456789abcde",
                          "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1x"}) {
      auto f = make_field(s, uvpg::oids::uuid, binary);
      CHECK_THROWS_AS(f.as<uvpg::uuid>(), uvpg::data_error);
    }
  }
  std::string sixteen = "0123456789abcdef";
  auto f = make_field(sixteen, uvpg::oids::uuid, true);
  CHECK(f.as<uvpg::uuid>().to_string() ==
        "30313233-3435-3637-3839-616263646566");
}

// ---- hstore ----

TEST_CASE_FIXTURE(fixture, "codec: hstore round-trips every kind of text") {
  uvpg::connection c = hstore_conn();
  uvpg::hstore h{{"a", "1"},
                 {"b", std::nullopt},
                 {"quote\"", "back\\slash"},
                 {"com,ma", "=>arrow"},
                 {"", ""},
                 {" sp ace ", "x=>y, z"}};
  round_trip(h, "hstore",
             "\"\"=>\"\", \"a\"=>\"1\", \"b\"=>NULL, "
             "\"com,ma\"=>\"=>arrow\", \"quote\\\"\"=>\"back\\\\slash\", "
             "\" sp ace \"=>\"x=>y, z\"",
             &c);
  round_trip(uvpg::hstore{}, "hstore", "", &c);
  round_trip(uvpg::hstore{{"NULL", "NULL"}, {"null", std::nullopt}}, "hstore",
             "\"NULL\"=>\"NULL\", \"null\"=>NULL", &c);
  round_trip(uvpg::hstore{{"k\n\t", "ünï 日本"}}, "hstore",
             "\"k\n\t\"=>\"ünï 日本\"", &c);
  // What hstore_in reads beyond what hstore_out prints.
  for (bool binary : {false, true}) {
    auto r = select("SELECT 'a=>1,b => NuLl , \"c\"=>\"NULL\", "
                    "d\\=e=>f\\ g'::hstore",
                    binary, &c);
    CHECK(r[0].get<uvpg::hstore>(0) ==
          uvpg::hstore{
              {"a", "1"}, {"b", std::nullopt}, {"c", "NULL"}, {"d=e", "f g"}});
  }
}

TEST_CASE_FIXTURE(fixture, "codec: hstore[] and the server's operators") {
  uvpg::connection c = hstore_conn();
  std::vector<std::optional<uvpg::hstore>> v{uvpg::hstore{{"a", "1"}},
                                             std::nullopt, uvpg::hstore{}};
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(v), "hstore[]", binary, &c);
    CHECK(r.value(0, 1) == "{\"\\\"a\\\"=>\\\"1\\\"\",NULL,\"\"}");
    CHECK(r[0].get<std::vector<std::optional<uvpg::hstore>>>(0) == v);
  }
  auto r = test::wait(&loop, c.query("SELECT $1::hstore -> 'x=>y'",
                                     uvpg::hstore{{"x=>y", "z, \"w\""}}));
  CHECK(r[0].get<std::string>(0) == "z, \"w\"");
}

TEST_CASE_FIXTURE(fixture, "codec: hstore without the extension stays "
                           "text") {
  test::wait(&loop, conn.execute("CREATE EXTENSION IF NOT EXISTS hstore"));
  // enable_hstore off: no lookup; and a connection whose search_path
  // does not reach the extension: the lookup finds nothing.  Both
  // connect silently.
  uvpg::connect_options off;
  off.enable_hstore = false;
  std::vector<uvpg::connection> conns;
  conns.push_back(test::connect(&loop, off));
  conns.push_back(test::wait(
      &loop, uvpg::connection::connect(
                 &loop, test::dsn() + " options='-csearch_path=pg_catalog'")));
  for (uvpg::connection &c : conns) {
    auto r = select("SELECT 'a=>1'::public.hstore", false, &c);
    CHECK(r[0].get<std::string>(0) == "\"a\"=>\"1\"");
    CHECK_THROWS_WITH_AS(r[0].get<uvpg::hstore>(0),
                         doctest::Contains("extension was not found"),
                         uvpg::data_error);
    auto b = select("SELECT 'a=>1'::public.hstore", true, &c);
    CHECK_THROWS_AS(b[0].get<uvpg::hstore>(0), uvpg::data_error);
  }
  // With the extension found, another type is refused.
  uvpg::connection c = hstore_conn();
  auto t = select("SELECT 'a=>1'::text", false, &c);
  CHECK_THROWS_AS(t[0].get<uvpg::hstore>(0), uvpg::data_error);
}

// ---- json ----

TEST_CASE_FIXTURE(fixture, "codec: jsonb objects, arrays, unicode and "
                           "numbers") {
  const std::string in = R"({"b": [1, 2.5, -3e2, true, null, 1.0e-2],)"
                         R"( "a": {"x": "\u00e9\ud83d\ude00", "t\"q": []}})";
  const std::string server = "{\"a\": {\"x\": \"é😀\", \"t\\\"q\": []}, "
                             "\"b\": [1, 2.5, -300, true, null, 0.010]}";
  uvpg::json j = uvpg::json::parse(in);
  CHECK(j.type() == uvpg::oids::jsonb);
  CHECK(j.text() == in);
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(j), "jsonb", binary);
    CHECK(r.value(0, 1) == server);
    uvpg::json got = r[0].get<uvpg::json>(0);
    CHECK(got.text() == server);
    CHECK(got.type() == uvpg::oids::jsonb);
    simdjson::dom::element root = got.root();
    CHECK(std::string_view(root["a"]["x"]) == "é😀");
    CHECK(root["a"]["t\"q"].is_array());
    simdjson::dom::array b = root["b"];
    CHECK(b.size() == 6);
    CHECK(int64_t(b.at(0)) == 1);
    CHECK(double(b.at(1)) == 2.5);
    CHECK(int64_t(b.at(2)) == -300);
    CHECK(bool(b.at(3)));
    CHECK(b.at(4).is_null());
    CHECK(double(b.at(5)) == 0.01);
    CHECK(got.dump() ==
          R"({"a":{"x":"é😀","t\"q":[]},"b":[1,2.5,-300,true,null,0.01]})");
    // Read as text: jsonb in text form; json_text in both.
    if (!binary) {
      CHECK(r[0].get<std::string>(0) == server);
    }
    CHECK(r[0].get<uvpg::json_text>(0) ==
          uvpg::json_text{server, uvpg::oids::jsonb});
  }
}

TEST_CASE_FIXTURE(fixture, "codec: json keeps its text; its parameters "
                           "keep their type") {
  const std::string in = "{\"z\" : 1,  \"a\":[ \"\\u0041\" ] }";
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(uvpg::json_text{in, uvpg::oids::json}), "json",
                  binary);
    CHECK(r.value(0, 1) == in);
    uvpg::json j = r[0].get<uvpg::json>(0);
    CHECK(j.type() == uvpg::oids::json);
    CHECK(j.text() == in);
    CHECK(std::string_view(j.root()["a"].at(0)) == "A");
    CHECK(j.dump() == R"({"z":1,"a":["A"]})");
    CHECK(r[0].get<std::string>(0) == in);
    // Sent back, a json read from json stays json (no reordering).
    auto back = test::wait(&loop, conn.query("SELECT pg_typeof($1)::text, "
                                             "$1::text",
                                             j));
    CHECK(back.value(0, 0) == "json");
    CHECK(back.value(0, 1) == in);
  }
  // json::parse and json_text send jsonb unless told.
  auto t = test::wait(&loop, conn.query("SELECT pg_typeof($1)::text, "
                                        "pg_typeof($2)::text",
                                        uvpg::json::parse("[1]"),
                                        uvpg::json_text{"[2]"}));
  CHECK(t.value(0, 0) == "jsonb");
  CHECK(t.value(0, 1) == "jsonb");
  // Scalars at the root, and the default json, null.
  for (bool binary : {false, true}) {
    auto s = select("SELECT '\"s\"'::jsonb, '42'::json, 'null'::jsonb", binary);
    CHECK(std::string_view(s[0].get<uvpg::json>(0).root()) == "s");
    CHECK(int64_t(s[0].get<uvpg::json>(1).root()) == 42);
    CHECK(s[0].get<uvpg::json>(2).root().is_null());
  }
  uvpg::json n;
  CHECK(n.root().is_null());
  CHECK(n.text() == "null");
}

TEST_CASE_FIXTURE(fixture, "codec: a 1 MB jsonb document") {
  std::string doc = "{\"items\": [";
  int count = 0;
  while (doc.size() < (1 << 20)) {
    if (count) {
      doc += ", ";
    }
    doc += "{\"id\": " + std::to_string(count) + ", \"name\": \"item " +
           std::to_string(count) +
           " \\\"quoted\\\" ünï\", \"tags\": "
           "[\"a\", \"b\"], \"ok\": " +
           (count % 2 ? "true" : "false") + "}";
    ++count;
  }
  doc += "]}";
  for (bool binary : {false, true}) {
    auto r = echo(uvpg::param(uvpg::json_text{doc}), "jsonb", binary);
    uvpg::json j = r[0].get<uvpg::json>(0);
    CHECK(j.text().size() > (1 << 20));
    simdjson::dom::array items = j.root()["items"];
    CHECK(items.size() == static_cast<size_t>(count));
    int64_t sum = 0, ok = 0, n = 0;
    for (simdjson::dom::element e : items) {
      sum += int64_t(e["id"]);
      ok += bool(e["ok"]) ? 1 : 0;
      ++n;
    }
    CHECK(n == count);
    CHECK(sum == int64_t(count) * (count - 1) / 2);
    CHECK(ok == count / 2);
    CHECK(std::string_view(items.at(7)["name"]) == "item 7 \"quoted\" ünï");
    // The same document again, reusing the connection's parser.
    uvpg::json again = r[0].get<uvpg::json>(0);
    CHECK(again.dump() == j.dump());
  }
}

TEST_CASE_FIXTURE(fixture, "codec: json parses with one parser per "
                           "connection") {
  uvpg::connection other = test::connect(&loop);
  auto a = select("SELECT '[1]'::json, '{\"a\": 2}'::jsonb", false);
  auto b = select("SELECT '[3]'::jsonb", true);
  auto c = select("SELECT '[4]'::jsonb", true, &other);
  const uvpg::detail::type_context *ctx = a[0][0].context();
  REQUIRE(ctx != nullptr);
  CHECK(ctx->json_parser == nullptr); // made on first use
  CHECK(int64_t(a[0].get<uvpg::json>(0).root().at(0)) == 1);
  void *parser = ctx->json_parser;
  CHECK(parser != nullptr);
  CHECK(int64_t(a[0].get<uvpg::json>(1).root()["a"]) == 2);
  CHECK(int64_t(b[0].get<uvpg::json>(0).root().at(0)) == 3);
  CHECK(b[0][0].context() == ctx);
  CHECK(ctx->json_parser == parser);
  // Another connection has its own.
  CHECK(int64_t(c[0].get<uvpg::json>(0).root().at(0)) == 4);
  CHECK(c[0][0].context() != ctx);
  CHECK(c[0][0].context()->json_parser != nullptr);
  CHECK(c[0][0].context()->json_parser != parser);
  // A document over 4 MiB gets a parser of its own, freed after it.
  std::string big = "[" + std::string(5 << 20, ' ') + "7]";
  uvpg::field f(big.data(), static_cast<int>(big.size()), false,
                uvpg::oids::json, false, "big", ctx);
  CHECK(int64_t(f.as<uvpg::json>().root().at(0)) == 7);
  CHECK(ctx->json_parser == parser);
}

TEST_CASE_FIXTURE(fixture, "codec: json rows outlive their connection") {
  std::optional<uvpg::result> r;
  {
    uvpg::connection c = test::connect(&loop);
    r = select("SELECT '{\"a\": [1, 2]}'::jsonb", true, &c);
    test::wait(&loop, c.close());
  }
  uvpg::json j = (*r)[0].get<uvpg::json>(0);
  r.reset();
  // The json owns its document: the result is gone.
  uvpg::json copy = j;
  CHECK(int64_t(copy.root()["a"].at(1)) == 2);
}

TEST_CASE_FIXTURE(fixture, "codec: json with enable_json off, jsonb[] "
                           "and NULL") {
  uvpg::connect_options o;
  o.enable_json = false;
  uvpg::connection c = test::connect(&loop, o);
  for (bool binary : {false, true}) {
    auto r = select("SELECT '[1]'::jsonb, ARRAY['{}'::jsonb, NULL, '2'], "
                    "NULL::json",
                    binary, &c);
    CHECK(r[0].get<uvpg::json>(0).dump() == "[1]");
    auto v = r[0].get<std::vector<std::optional<uvpg::json>>>(1);
    REQUIRE(v.size() == 3);
    CHECK(v[0]->root().is_object());
    CHECK_FALSE(v[1]);
    CHECK(int64_t(v[2]->root()) == 2);
    CHECK_FALSE(r[0].get<std::optional<uvpg::json>>(2));
  }
}

TEST_CASE_FIXTURE(fixture, "codec: json simdjson cannot read is "
                           "data_error") {
  // Valid for the server, beyond what simdjson represents.
  for (bool binary : {false, true}) {
    auto r = select("SELECT '123456789012345678901234567890'::jsonb, "
                    "'[1e400]'::json",
                    binary);
    CHECK_THROWS_AS(r[0].get<uvpg::json>(0), uvpg::data_error);
    CHECK_THROWS_AS(r[0].get<uvpg::json>(1), uvpg::data_error);
    CHECK(r[0].get<uvpg::json_text>(0).text ==
          "123456789012345678901234567890");
  }
  auto t = select("SELECT '{}'::text", false);
  CHECK_THROWS_AS(t[0].get<uvpg::json>(0), uvpg::data_error);
  CHECK_THROWS_AS(t[0].get<uvpg::json_text>(0), uvpg::data_error);
}

TEST_CASE("codec: malformed json fields are data_error") {
  for (uvpg::oid_t type : {uvpg::oids::json, uvpg::oids::jsonb}) {
    for (std::string s : {"{bad", "", "[1,]", "{\"a\" 1}", "tru", "\"x",
                          "[1] [2]", "{\"a\":1}}"}) {
      INFO("value: " << s);
      auto f = make_field(s, type, false);
      CHECK_THROWS_WITH_AS(f.as<uvpg::json>(),
                           doctest::Contains("malformed json"),
                           uvpg::data_error);
    }
  }
  // jsonb's binary form starts with version 1.
  std::string v1 = std::string(1, '\1') + "[1]";
  CHECK(make_field(v1, uvpg::oids::jsonb, true).as<uvpg::json>().dump() ==
        "[1]");
  std::string plain = v1.substr(1);
  CHECK(make_field(plain, uvpg::oids::json, true).as<uvpg::json_text>().text ==
        "[1]");
  for (std::string s :
       {std::string(), std::string("[1]"), std::string(1, '\2') + "[1]"}) {
    auto f = make_field(s, uvpg::oids::jsonb, true);
    CHECK_THROWS_AS(f.as<uvpg::json>(), uvpg::data_error);
    CHECK_THROWS_AS(f.as<uvpg::json_text>(), uvpg::data_error);
  }
  CHECK_THROWS_AS(uvpg::json::parse("{"), uvpg::data_error);
  // A value is parsed from a copy: bytes after it are never read.
  std::string buf = "[1]]]]";
  uvpg::field f(buf.data(), 3, false, uvpg::oids::json, false, "v", nullptr);
  CHECK(f.as<uvpg::json>().dump() == "[1]");
}
