// Notices: kept per connection (the last 50, in order), handed to the
// notice handlers from the loop with every diagnostic field, and never
// printed to stderr.
#include <cstdio>
#include <string>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/notice");

namespace {

// What a handler saw of one notice, and where it ran.
struct seen {
  std::vector<uvpg::notice> notices;
  bool inside_call = false; // a handler ran inside a uvpg call
  bool before_done = false; // it ran before the statement completed
};

} // namespace

TEST_CASE("notice handler: RAISE NOTICE arrives from the loop with its "
          "fields, before the statement completes") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  seen s;
  bool in_call = false;
  uvpg::future<uvpg::result> q;
  auto id = c.add_notice_handler([&](const uvpg::notice &n) {
    s.inside_call = s.inside_call || in_call;
    s.before_done = !q.available();
    s.notices.push_back(n);
  });
  CHECK(id != 0);
  in_call = true;
  q = c.query("DO $$ BEGIN RAISE NOTICE 'hello %', 42 USING "
              "DETAIL = 'the detail', HINT = 'the hint'; END $$");
  in_call = false;
  test::wait(&lf.loop, std::move(q));
  REQUIRE(s.notices.size() == 1);
  CHECK_FALSE(s.inside_call);
  CHECK(s.before_done);
  const uvpg::notice &n = s.notices[0];
  CHECK(n.severity() == "NOTICE");
  CHECK(n.severity_nonlocalized() == "NOTICE");
  CHECK(n.sqlstate() == "00000");
  CHECK(n.message_primary() == "hello 42");
  CHECK(n.detail() == "the detail");
  CHECK(n.hint() == "the hint");
  CHECK(n.context().find("PL/pgSQL") != std::string::npos);
  CHECK(n.message().rfind("NOTICE:  hello 42\n", 0) == 0);
  CHECK(n.message().find("DETAIL:  the detail") != std::string::npos);
  // Kept too.
  auto kept = c.notices();
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].message_primary() == "hello 42");
  CHECK(c.remove_notice_handler(id));
  CHECK_FALSE(c.remove_notice_handler(id));
}

TEST_CASE("notices: CREATE TABLE IF NOT EXISTS of an existing table (42P07) "
          "and DROP TABLE IF EXISTS of a missing one (00000)") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  std::vector<uvpg::notice> got;
  c.add_notice_handler([&](const uvpg::notice &n) { got.push_back(n); });
  test::wait(&lf.loop, c.query("CREATE TEMP TABLE notice_t (a int)"));
  CHECK(got.empty());
  test::wait(&lf.loop,
             c.query("CREATE TEMP TABLE IF NOT EXISTS notice_t (a int)"));
  test::wait(&lf.loop, c.query("DROP TABLE IF EXISTS notice_missing_t"));
  REQUIRE(got.size() == 2);
  CHECK(got[0].sqlstate() == "42P07");
  CHECK(got[0].severity_nonlocalized() == "NOTICE");
  CHECK(got[0].message_primary() ==
        "relation \"notice_t\" already exists, skipping");
  CHECK(got[1].sqlstate() == "00000");
  CHECK(got[1].message_primary() ==
        "table \"notice_missing_t\" does not exist, skipping");
  auto kept = c.notices();
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].sqlstate() == "42P07");
  CHECK(kept[1].sqlstate() == "00000");
}

TEST_CASE("notices: 120 notices reach the handler in order; the last 50 "
          "are kept") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  std::vector<std::string> got;
  c.add_notice_handler(
      [&](const uvpg::notice &n) { got.push_back(n.message_primary()); });
  test::wait(&lf.loop, c.query("DO $$ BEGIN FOR i IN 1..120 LOOP "
                               "RAISE NOTICE 'n %', i; END LOOP; END $$"));
  REQUIRE(got.size() == 120);
  for (int i = 0; i < 120; ++i) {
    CHECK(got[i] == "n " + std::to_string(i + 1));
  }
  auto kept = c.notices();
  REQUIRE(kept.size() == uvpg::max_kept_notices);
  for (size_t i = 0; i < kept.size(); ++i) {
    CHECK(kept[i].message_primary() == "n " + std::to_string(71 + i));
  }
}

TEST_CASE("notice handlers: several, removed, and one removing another "
          "while called") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  int a = 0, b = 0, d = 0;
  uvpg::listener_id id_b = 0;
  auto id_a = c.add_notice_handler([&](const uvpg::notice &) {
    ++a;
    // b is not called once removed, not even for this notice: its
    // owner may free what it uses as soon as remove() returns.
    c.remove_notice_handler(id_b);
  });
  id_b = c.add_notice_handler([&](const uvpg::notice &) { ++b; });
  c.add_notice_handler([&](const uvpg::notice &) {
    ++d;
    throw std::runtime_error("dropped"); // caught by uvpg
  });
  auto raise = [&] {
    test::wait(&lf.loop, c.query("DO $$ BEGIN RAISE NOTICE 'x'; END $$"));
  };
  raise();
  CHECK(a == 1);
  CHECK(b == 0);
  CHECK(d == 1);
  raise();
  CHECK(a == 2);
  CHECK(b == 0);
  CHECK(d == 2);
  CHECK(c.remove_notice_handler(id_a));
  raise();
  CHECK(a == 2);
  CHECK(d == 3);
  CHECK(c.notices().size() == 3);
}

TEST_CASE("notices: nothing is printed to stderr, with or without "
          "handlers") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  std::string out = test::stderr_of([&] {
    test::wait(&lf.loop, c.query("DO $$ BEGIN RAISE NOTICE 'quiet'; "
                                 "RAISE WARNING 'quiet too'; END $$"));
    int calls = 0;
    c.add_notice_handler([&](const uvpg::notice &) { ++calls; });
    test::wait(&lf.loop, c.query("DROP TABLE IF EXISTS notice_quiet_t"));
    CHECK(calls == 1);
  });
  CHECK(out.empty());
  auto kept = c.notices();
  REQUIRE(kept.size() == 3);
  CHECK(kept[1].severity_nonlocalized() == "WARNING");
  CHECK(kept[1].sqlstate() == "01000");
}

TEST_CASE("notices: a closed handle refuses handlers and keeps none") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  test::wait(&lf.loop, c.close());
  CHECK(c.notices().empty());
  CHECK_THROWS_AS(c.add_notice_handler([](const uvpg::notice &) {}),
                  uvpg::usage_error);
  CHECK_FALSE(c.remove_notice_handler(1));
}

TEST_CASE("notice handler: may close the connection; the statement then "
          "ends as closed") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  int calls = 0;
  uvpg::future<void> closing;
  c.add_notice_handler([&](const uvpg::notice &) {
    if (++calls == 1) {
      closing = c.close();
    }
  });
  auto q = c.query("DO $$ BEGIN RAISE NOTICE 'one'; RAISE NOTICE 'two'; "
                   "END $$");
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }));
  CHECK(q.failed());
  test::wait(&lf.loop, std::move(closing));
  CHECK(calls >= 1);
}
