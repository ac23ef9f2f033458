// Placeholder conversion (src/sql.cc): %s and %(name)s to $n.
#include "../src/mogrify.hh"
#include "../src/sql.hh"
#include "test.hh"

TEST_SUITE_BEGIN("sql");

namespace {

struct converted {
  std::optional<std::string> sql;
  size_t count = 0;
  std::vector<std::string> names;
  std::string err;
};

converted positional(std::string_view sql, bool with_params = true) {
  converted c;
  c.sql = uvpg::detail::convert_placeholders(sql, with_params, nullptr,
                                             &c.count, c.err);
  return c;
}

converted named(std::string_view sql) {
  converted c;
  c.sql = uvpg::detail::convert_placeholders(sql, true, &c.names, &c.count,
                                             c.err);
  return c;
}

} // namespace

TEST_CASE("convert: %s becomes $1..$n in order") {
  auto c = positional("SELECT %s, %s FROM t WHERE a = %s");
  REQUIRE(c.sql);
  CHECK(*c.sql == "SELECT $1, $2 FROM t WHERE a = $3");
  CHECK(c.count == 3);
}

TEST_CASE("convert: %% is a literal percent when placeholders are used") {
  auto c = positional("SELECT %s %% 2");
  REQUIRE(c.sql);
  CHECK(*c.sql == "SELECT $1 % 2");
}

TEST_CASE("convert: quoted text, identifiers, dollar quotes and comments "
          "are left alone") {
  auto c = positional("SELECT '%s', E'\\'%s', \"a%sb\", $$%s$$, $q$ %s $q$, "
                      "%s -- %s\n/* %s /* %s */ */ + %s");
  REQUIRE(c.sql);
  CHECK(*c.sql == "SELECT '%s', E'\\'%s', \"a%sb\", $$%s$$, $q$ %s $q$, "
                  "$1 -- %s\n/* %s /* %s */ */ + $2");
  CHECK(c.count == 2);
  auto d = positional("SELECT 'it''s %s', %s");
  REQUIRE(d.sql);
  CHECK(*d.sql == "SELECT 'it''s %s', $1");
}

TEST_CASE("convert: $n statements are returned unchanged") {
  auto c = positional("SELECT $1::int % 3, '%'");
  REQUIRE(c.sql);
  CHECK(*c.sql == "SELECT $1::int % 3, '%'");
  CHECK(c.count == 0);
}

TEST_CASE("convert: without parameters a bare % is the modulo operator") {
  auto c = positional("SELECT 7 % 3", false);
  REQUIRE(c.sql);
  CHECK(*c.sql == "SELECT 7 % 3");
}

TEST_CASE("convert: mixed or malformed placeholders are errors") {
  CHECK_FALSE(positional("SELECT %s, $1").sql);
  CHECK_FALSE(positional("SELECT %d").sql);
  CHECK(positional("SELECT %d").err.find("%d") != std::string::npos);
  CHECK_FALSE(positional("SELECT %").sql);
  CHECK_FALSE(positional("SELECT %(name").sql);
  CHECK_FALSE(positional("SELECT %(a)s").sql); // named without names
  CHECK_FALSE(named("SELECT %s, %(a)s").sql);
  CHECK_FALSE(named("SELECT %s").sql);
}

TEST_CASE("convert: %(name)s binds each distinct name once") {
  auto c = named("SELECT %(a)s, %(b)s, %(a)s");
  REQUIRE(c.sql);
  CHECK(*c.sql == "SELECT $1, $2, $1");
  CHECK(c.names == std::vector<std::string>{"a", "b"});
  CHECK(c.count == 2);
}

// Found by fuzz/mogrify: after a placeholder the server reads $$ as a
// dollar quote (the digit before it ends the parameter), so mogrify
// writes no value into it, and keeps it apart from the literal.
TEST_CASE("mogrify: a dollar quote right after a placeholder is kept") {
  std::vector<uvpg::encoded> args(1);
  args[0].bytes = "v";
  CHECK(uvpg::detail::inline_params("SELECT $1$$ $1 $$", args, true,
                                    nullptr) == "SELECT 'v' $$ $1 $$");
  // A word or $ right after a literal stays apart from it.
  args[0].type = uvpg::oids::int4;
  args[0].bytes = "x";
  CHECK(uvpg::detail::inline_params("SELECT $1$$ $1 $$", args, true,
                                    nullptr) == "SELECT 'x'::int4 $$ $1 $$");
  // $1$2 is two placeholders to the server, as to mogrify.
  CHECK(uvpg::detail::inline_params("SELECT $1$1", args, true, nullptr) ==
        "SELECT 'x'::int4 'x'::int4");
  CHECK(uvpg::detail::inline_params("SELECT a$1, $1", args, true,
                                    nullptr) == "SELECT a$1, 'x'::int4");
}

TEST_CASE("may_drop_statements: DISCARD ALL and DEALLOCATE, not the pool's "
          "DISCARD TEMP") {
  using uvpg::detail::may_drop_statements;
  CHECK(may_drop_statements("DISCARD ALL"));
  CHECK(may_drop_statements("discard\n  all"));
  CHECK(may_drop_statements("DEALLOCATE ALL"));
  CHECK(may_drop_statements("SELECT 1; deallocate prepare x"));
  CHECK_FALSE(may_drop_statements("DISCARD TEMP; DISCARD SEQUENCES"));
  CHECK_FALSE(may_drop_statements("DISCARD PLANS"));
  CHECK_FALSE(may_drop_statements("SELECT 1"));
  CHECK_FALSE(may_drop_statements("DISCARD"));
  CHECK_FALSE(may_drop_statements(""));
}
