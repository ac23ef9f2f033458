// uvpg::connection against the test server: queries, parameters,
// properties, queueing, errors and close.
#include <cstdlib>
#include <vector>

#include <libpq-fe.h>

#include "config.h"
#include "test.hh"

TEST_SUITE_BEGIN("live/conn");

using uvpg::future;

TEST_CASE("connect: a ready connection reports its properties") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  CHECK_FALSE(c.closed());
  CHECK(c.status() == UVPG_CONN_READY);
  CHECK(c.backend_pid() > 0);
  CHECK(c.server_version() >= 140000);
  CHECK(c.protocol_version() == 3);
  CHECK(c.encoding() == "UTF8");
  CHECK(c.parameter_status("server_encoding") == "UTF8");
  CHECK(c.parameter_status("application_name") == "uvpg");
  CHECK_FALSE(c.parameter_status("not_a_parameter"));
  CHECK(c.transaction_status() == UVPG_TRANS_IDLE);
  CHECK(c.isolation_level() == "read committed");
  CHECK(c.autocommit());
  CHECK(c.timeout() == std::chrono::seconds(60));
  CHECK_FALSE(c.echo());
  CHECK(c.loop() == &lf.loop);
  CHECK(c.dsn().find("password=********") != std::string::npos);
  CHECK(c.dsn().find(test::env("UVPG_TEST_PASSWORD")) == std::string::npos);
  test::wait(&lf.loop, c.close());
  CHECK(c.closed());
  CHECK(c.status() == UVPG_CONN_CLOSED);
}

TEST_CASE("libpq: the programs run the libpq configure found") {
  // A private libpq (build-pq17) has the system's soname: without its
  // rpath the programs would run the system's libpq instead.
  int found = std::atoi(UVPG_LIBPQ_PC_VERSION); // "17.10": major 17
  int running = PQlibVersion();
  MESSAGE("libpq " << running << " (configure found " UVPG_LIBPQ_PC_VERSION
                   << ")");
  CHECK(running / 10000 == found);
#ifdef HAVE_PQSENDPIPELINESYNC
  CHECK(running >= 170000);
#endif
}

TEST_CASE("connect: the backend pid is the server's own") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto r = test::wait(&lf.loop, c.query("SELECT pg_backend_pid()"));
  CHECK(std::stoi(std::string(r.value(0, 0))) == c.backend_pid());
}

TEST_CASE("query: parameters travel apart from the SQL text") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  // An injection attempt stays a plain value.
  std::string evil = "x'; DROP TABLE pg_class; --";
  auto r = test::wait(&lf.loop, c.query("SELECT $1::text, $2::int + 1, "
                                        "$3::text IS NULL",
                                        evil, 41, nullptr));
  REQUIRE(r.rows() == 1);
  CHECK(r.value(0, 0) == evil);
  CHECK(r.value(0, 1) == "42");
  CHECK(r.value(0, 2) == "t");
  auto p = test::wait(&lf.loop, c.query("SELECT %s::float8 * 2, %s::bool",
                                        1.25, true));
  CHECK(p.value(0, 0) == "2.5");
  CHECK(p.value(0, 1) == "t");
  auto n = test::wait(&lf.loop,
                      c.query("SELECT %(a)s::int + %(b)s::int, %(a)s::int",
                              uvpg::named_params{{"a", "1"}, {"b", "2"}}));
  CHECK(n.value(0, 0) == "3");
  CHECK(n.value(0, 1) == "1");
}

TEST_CASE("query: several statements without parameters return the last") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto r = test::wait(&lf.loop,
                      c.query("CREATE TEMP TABLE t (a int); INSERT INTO t "
                              "VALUES (1), (2); SELECT count(*) FROM t"));
  CHECK(r.value(0, 0) == "2");
  auto d = test::wait(&lf.loop, c.query("DELETE FROM t WHERE a > %s", 0));
  CHECK(d.command_status() == "DELETE 2");
  CHECK(d.affected_rows() == 2);
  CHECK(d.rows() == 0);
}

TEST_CASE("query: result accessors check their ranges") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto r = test::wait(&lf.loop, c.query("SELECT 1 AS one, NULL::text AS nil"));
  CHECK(r.columns() == 2);
  CHECK(r.column_name(1) == "nil");
  CHECK(r.column_index("one") == 0);
  CHECK(r.column_index("none") == -1);
  CHECK(r.column_type(0) == 23);
  CHECK(r.is_null(0, 1));
  CHECK(r.value(0, 1).empty());
  CHECK_THROWS_AS(r.value(1, 0), uvpg::usage_error);
  CHECK_THROWS_AS(r.value(0, 2), uvpg::usage_error);
  CHECK_THROWS_AS(r.column_name(-1), uvpg::usage_error);
}

TEST_CASE("query: a server error is a server_error and the session goes on") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto bad = c.query("SELECT 1/0");
  auto good = c.query("SELECT 'after'");
  try {
    test::wait(&lf.loop, std::move(bad));
    FAIL("no exception");
  } catch (const uvpg::server_error &e) {
    CHECK(e.status() == UVPG_ESERVER);
    CHECK(e.sqlstate() == "22012");
    CHECK(e.message_primary() == "division by zero");
    CHECK(std::string(e.what()).find("division by zero") !=
          std::string::npos);
  }
  CHECK(test::wait(&lf.loop, std::move(good)).value(0, 0) == "after");
  CHECK(c.error_message().find("division by zero") != std::string::npos);
}

TEST_CASE("query: a syntax error carries position and SQLSTATE 42601") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  try {
    test::wait(&lf.loop, c.query("SELEC 1"));
    FAIL("no exception");
  } catch (const uvpg::server_error &e) {
    CHECK(e.sqlstate() == "42601");
    CHECK(e.position() == 1);
  }
}

TEST_CASE("query: placeholder mistakes fail with UVPG_EPARAM before the "
          "wire") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto check_eparam = [&](future<uvpg::result> f) {
    try {
      test::wait(&lf.loop, std::move(f));
      FAIL("no exception");
    } catch (const uvpg::error &e) {
      CHECK(e.status() == UVPG_EPARAM);
    }
  };
  check_eparam(c.query("SELECT %s, %s", 1));
  check_eparam(c.query("SELECT %(a)s", uvpg::named_params{{"b", "1"}}));
  check_eparam(c.query("SELECT 1", uvpg::named_params{{"b", "1"}}));
  check_eparam(c.query("SELECT %x", 1));
}

namespace {

future<std::vector<std::string>> run_in_order(uvpg::connection &c, int n) {
  std::vector<future<uvpg::result>> pending;
  for (int i = 0; i < n; ++i) {
    pending.push_back(c.query("SELECT $1::int", i));
  }
  std::vector<std::string> out;
  for (auto &f : pending) {
    auto r = co_await std::move(f);
    out.emplace_back(r.value(0, 0));
  }
  co_return out;
}

} // namespace

TEST_CASE("query: concurrent callers on one connection queue in order") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto values = test::wait(&lf.loop, run_in_order(c, 200));
  REQUIRE(values.size() == 200);
  for (int i = 0; i < 200; ++i) {
    CHECK(values[i] == std::to_string(i));
  }
}

TEST_CASE("query: a large statement and result cross in both directions") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  // 8 MB out and back: PQflush returns 1 and the engine must keep reading
  // while it writes.
  std::string big(8 << 20, 'x');
  auto r = test::wait(&lf.loop, c.query("SELECT length($1), $1", big), 60);
  CHECK(r.value(0, 0) == std::to_string(big.size()));
  CHECK(r.value(0, 1).size() == big.size());
}

TEST_CASE("close: pending queries fail with UV_ECANCELED before close "
          "completes") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto slow = c.query("SELECT pg_sleep(30)");
  auto queued = c.query("SELECT 1");
  auto closed = c.close();
  CHECK_FALSE(slow.available()); // never inside close()
  test::wait(&lf.loop, std::move(closed), 5);
  REQUIRE(slow.failed());
  REQUIRE(queued.failed());
  try {
    slow.get();
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UV_ECANCELED);
  }
  // The handle is closed: more work fails, it does not crash.
  try {
    test::wait(&lf.loop, c.query("SELECT 1"));
    FAIL("no exception");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UVPG_ECLOSED);
  }
}

TEST_CASE("close: destroying the handle closes without waiting") {
  test::loop_fixture lf;
  future<uvpg::result> orphan;
  {
    auto c = test::connect(&lf.loop);
    orphan = c.query("SELECT pg_sleep(30)");
  }
  REQUIRE(test::run_until(&lf.loop, [&] { return orphan.available(); }, 5));
  CHECK(orphan.failed());
}

TEST_CASE("close: the server sees the session end and rolls back") {
  test::loop_fixture lf;
  auto admin = test::connect(&lf.loop);
  test::wait(&lf.loop,
             admin.query("DROP TABLE IF EXISTS close_rollback; "
                         "CREATE TABLE close_rollback (a int)"));
  {
    auto c = test::connect(&lf.loop);
    test::wait(&lf.loop,
               c.query("BEGIN; INSERT INTO close_rollback VALUES (1)"));
    CHECK(c.transaction_status() == UVPG_TRANS_INTRANS);
    int pid = c.backend_pid();
    test::wait(&lf.loop, c.close());
    // Wait for the backend to go away before counting.
    REQUIRE(test::run_until(&lf.loop, [&] {
      auto r = test::wait(&lf.loop,
                          admin.query("SELECT count(*) FROM pg_stat_activity "
                                      "WHERE pid = $1",
                                      pid));
      return r.value(0, 0) == "0";
    }));
  }
  auto r = test::wait(&lf.loop, admin.query("SELECT count(*) FROM "
                                            "close_rollback"));
  CHECK(r.value(0, 0) == "0");
  test::wait(&lf.loop, admin.query("DROP TABLE close_rollback"));
}

TEST_CASE("echo: statements and parameters are logged, never the password") {
  test::loop_fixture lf;
  uvpg::connect_options o;
  o.echo = true;
  auto c = test::connect(&lf.loop, o);
  CHECK(c.echo());
  // Capture stderr around one query.
  fflush(stderr);
  int saved = dup(2);
  FILE *tmp = tmpfile();
  dup2(fileno(tmp), 2);
  test::wait(&lf.loop, c.query("SELECT $1::text", "echoed-value"));
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string log(4096, '\0');
  rewind(tmp);
  log.resize(fread(log.data(), 1, log.size(), tmp));
  fclose(tmp);
  CHECK(log.find("uvpg: SELECT $1::text") != std::string::npos);
  CHECK(log.find("$1 = 'echoed-value'") != std::string::npos);
  CHECK(log.find(test::env("UVPG_TEST_PASSWORD")) == std::string::npos);
}

namespace {

future<std::string> coroutine_flow(uv_loop_t *loop, std::string dsn) {
  auto c = co_await uvpg::connection::connect(loop, dsn);
  auto r = co_await c.query("SELECT 'from a coroutine'");
  std::string v(r.value(0, 0));
  co_await c.close();
  co_return v;
}

} // namespace

TEST_CASE("co_await: connect, query and close in one coroutine") {
  test::loop_fixture lf;
  CHECK(test::wait(&lf.loop, coroutine_flow(&lf.loop, test::dsn())) ==
        "from a coroutine");
}

TEST_CASE("query: a statement libpq refuses fails alone, from the loop") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  uvpg::params many(70000, uvpg::param("1"));
  auto f = c.query("SELECT $1", std::move(many));
  CHECK_FALSE(f.available()); // never inside the call
  try {
    test::wait(&lf.loop, std::move(f));
    FAIL("no exception");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UVPG_EPARAM);
    CHECK(std::string(e.what()).find("65535") != std::string::npos);
  }
  CHECK(c.status() == UVPG_CONN_READY);
  CHECK(test::wait(&lf.loop, c.query("SELECT 'fine'")).value(0, 0) == "fine");
}

TEST_CASE("then: a future from a closed handle still defers its "
          "continuation") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  test::wait(&lf.loop, c.close());
  bool ran = false;
  auto g = c.query("SELECT 1").then_wrapped([&](uvpg::future<uvpg::result> f) {
    ran = true;
    return f.failed();
  });
  CHECK_FALSE(ran);
  CHECK(test::wait(&lf.loop, std::move(g)));
  CHECK(ran);
}

TEST_CASE("query: a timeout cancels the statement on the server and the "
          "session goes on") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  int pid = c.backend_pid();
  uvpg::query_options o;
  o.timeout = std::chrono::milliseconds(200);
  uint64_t start = uv_hrtime();
  auto slow = c.query("SELECT pg_sleep(30)", {}, o);
  auto next = c.query("SELECT 'next'");
  REQUIRE(test::run_until(&lf.loop, [&] { return slow.available(); }, 10));
  double secs = (uv_hrtime() - start) / 1e9;
  try {
    slow.get();
    FAIL("the statement was not cut short");
  } catch (const uvpg::server_error &e) {
    FAIL("a timeout is the client's, not a server error: " << e.what());
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UV_ETIMEDOUT);
  }
  CHECK(secs < 5); // a bound, not a speed claim: the sleep was 30 s
  // The statement was cancelled on the server, not left running: the
  // next one runs at once in the same session.
  CHECK(test::wait(&lf.loop, std::move(next), 5).value(0, 0) == "next");
  CHECK(c.backend_pid() == pid); // the same session
  // A statement that finishes in time is untouched by its timeout.
  o.timeout = std::chrono::seconds(10);
  CHECK(test::wait(&lf.loop, c.query("SELECT 1", {}, o)).value(0, 0) == "1");
}

TEST_CASE("query: a late cancel request never stops the next statement") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  uvpg::query_options o;
  o.timeout = std::chrono::milliseconds(20);
  // Statements that end about when their timeout fires: the cancel
  // request then reaches the backend after the statement ended.  The next
  // statement must not be sent before the request is done, or the server
  // cancels that one instead.
  int cancelled = 0;
  for (int round = 0; round < 60; ++round) {
    INFO("round " << round);
    auto racing = c.query("SELECT pg_sleep(0.02)", {}, o);
    auto follower = c.query("SELECT pg_sleep(0.03), 2");
    REQUIRE(test::run_until(&lf.loop, [&] { return racing.available(); }));
    cancelled += racing.failed();
    CHECK(test::wait(&lf.loop, std::move(follower)).value(0, 1) == "2");
  }
  MESSAGE(cancelled << " of 60 racing statements were cancelled");
}
