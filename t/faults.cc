// Real faults: backends terminated by the server, the server stopped
// mid-query and started again.  Nothing may crash, hang or lose a
// callback, and the loop must close cleanly afterwards.
#include "test.hh"

TEST_SUITE_BEGIN("live/faults");

namespace {

void terminate(uv_loop_t *loop, uvpg::connection &admin, int pid) {
  auto r = test::wait(loop, admin.query("SELECT pg_terminate_backend($1)",
                                        pid));
  REQUIRE(r.value(0, 0) == "t");
}

/// Expects `f` to fail with UVPG_ECONNBAD; returns the SQLSTATE, if any.
std::string expect_connbad(uv_loop_t *loop, uvpg::future<uvpg::result> f) {
  REQUIRE(test::run_until(loop, [&] { return f.available(); }));
  try {
    f.get();
    FAIL("the query succeeded on a lost connection");
  } catch (const uvpg::server_error &e) {
    CHECK(e.status() == UVPG_ECONNBAD);
    return e.sqlstate();
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UVPG_ECONNBAD);
  }
  return "";
}

} // namespace

TEST_CASE("faults: a backend terminated while idle is noticed without a "
          "query") {
  test::loop_fixture lf;
  auto admin = test::connect(&lf.loop);
  auto c = test::connect(&lf.loop);
  terminate(&lf.loop, admin, c.backend_pid());
  // The idle socket is under read watch: the FATAL and the EOF arrive
  // without anything being asked of the connection.
  REQUIRE(test::run_until(&lf.loop,
                          [&] { return c.status() == UVPG_CONN_BROKEN; }));
  CHECK(c.closed());
  CHECK(c.backend_pid() == 0);
  CHECK(c.error_message().find("terminating connection due to "
                               "administrator command") != std::string::npos);
  // Work on it fails at once, once, with the reason kept.
  CHECK(expect_connbad(&lf.loop, c.query("SELECT 1")) == "57P01");
  CHECK(expect_connbad(&lf.loop, c.query("SELECT 2")) == "57P01");
}

TEST_CASE("faults: a backend terminated mid-query fails the running and "
          "the queued statements") {
  test::loop_fixture lf;
  auto admin = test::connect(&lf.loop);
  auto c = test::connect(&lf.loop);
  auto running = c.query("SELECT pg_sleep(30)");
  auto queued = c.query("SELECT 1");
  // Wait until the sleep is really running on the server.
  REQUIRE(test::run_until(&lf.loop, [&] {
    auto r = test::wait(&lf.loop,
                        admin.query("SELECT count(*) FROM pg_stat_activity "
                                    "WHERE pid = $1 AND query LIKE "
                                    "'SELECT pg_sleep%'",
                                    c.backend_pid()));
    return r.value(0, 0) == "1";
  }));
  terminate(&lf.loop, admin, c.backend_pid());
  CHECK(expect_connbad(&lf.loop, std::move(running)) == "57P01");
  expect_connbad(&lf.loop, std::move(queued));
  CHECK(c.status() == UVPG_CONN_BROKEN);
  // The admin connection is untouched.
  CHECK(test::wait(&lf.loop, admin.query("SELECT 1")).value(0, 0) == "1");
}

TEST_CASE("faults: close is still clean after the connection was lost") {
  test::loop_fixture lf;
  auto admin = test::connect(&lf.loop);
  auto c = test::connect(&lf.loop);
  auto q = c.query("SELECT pg_sleep(30)");
  terminate(&lf.loop, admin, c.backend_pid());
  expect_connbad(&lf.loop, std::move(q));
  test::wait(&lf.loop, c.close());
  CHECK(c.status() == UVPG_CONN_CLOSED);
}

TEST_CASE("faults: the server stopped mid-query, refused while down, and "
          "back again") {
  test::loop_fixture lf;
  std::string pgctl = test::env("UVPG_TEST_PGCTL");
  auto c = test::connect(&lf.loop);
  auto idle = test::connect(&lf.loop);
  auto running = c.query("SELECT pg_sleep(60)");
  // Let the statement reach the server, then stop it (fast shutdown:
  // backends get SIGTERM and send FATAL 57P01 before they exit).
  REQUIRE(test::run_until(&lf.loop, [&] {
    return c.status() == UVPG_CONN_BUSY && !running.available();
  }));
  uv_sleep(200);
  uv_run(&lf.loop, UV_RUN_NOWAIT);
  test::shell(pgctl + " stop");
  CHECK(expect_connbad(&lf.loop, std::move(running)) == "57P01");
  REQUIRE(test::run_until(&lf.loop,
                          [&] { return idle.status() == UVPG_CONN_BROKEN; }));

  // While it is down: refused, with libpq's words.
  auto down = uvpg::connection::connect(&lf.loop, test::dsn());
  REQUIRE(test::run_until(&lf.loop, [&] { return down.available(); }));
  try {
    down.get();
    FAIL("connected to a stopped server");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UV_ECONNREFUSED);
  }

  test::shell(pgctl + " start");
  auto again = test::connect(&lf.loop);
  CHECK(test::wait(&lf.loop, again.query("SELECT 'back'")).value(0, 0) ==
        "back");
}
