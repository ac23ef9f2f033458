// The query logger, the lost-connection event and the TCP keepalive
// defaults, against the test server.  Linked with the engine to read
// libpq's own view of the connection options (PQconninfo).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "../src/engine/engine.hh"
#include "test.hh"
#include "uvpg/transaction.hh"

TEST_SUITE_BEGIN("live/session");

namespace {

void terminate(uv_loop_t *loop, uvpg::connection &admin, int pid) {
  auto r =
      test::wait(loop, admin.query("SELECT pg_terminate_backend($1)", pid));
  REQUIRE(r.value(0, 0) == "t");
}

// libpq's value of conninfo option `key` on the connection.
std::string option_of(uvpg::connection &c, const char *key) {
  PGconn *pg = c.impl()->pg;
  REQUIRE(pg);
  PQconninfoOption *opts = PQconninfo(pg);
  REQUIRE(opts);
  std::string v = "(absent)";
  for (PQconninfoOption *o = opts; o->keyword; ++o) {
    if (std::string(o->keyword) == key) {
      v = o->val ? o->val : "(null)";
    }
  }
  PQconninfoFree(opts);
  return v;
}

} // namespace

TEST_CASE("query logger: success, server error, parameters and rows, after "
          "the statement's own completion") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  std::vector<uvpg::query_log_record> recs;
  bool after = true;
  uvpg::future<uvpg::result> q;
  auto before = std::chrono::system_clock::now();
  auto id = c.add_query_logger([&](const uvpg::query_log_record &r) {
    after = after && q.available();
    recs.push_back(r);
  });
  // Runs `f` to its end, leaving it in `q` for the logger to look at.
  auto run = [&](uvpg::future<uvpg::result> f) {
    q = std::move(f);
    REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }));
    return !q.failed();
  };
  CHECK(run(c.query("SELECT g FROM generate_series(1, $1::int) g "
                    "WHERE g > $2",
                    5, 2)));
  CHECK_FALSE(run(c.query("SELECT * FROM session_no_such_table")));
  CHECK(run(c.query("CREATE TEMP TABLE session_log_t (a int)")));
  CHECK(run(c.query("INSERT INTO session_log_t "
                    "SELECT generate_series(1, 7)")));
  REQUIRE(recs.size() == 4);
  CHECK(after);

  CHECK(recs[0].sql ==
        "SELECT g FROM generate_series(1, $1::int) g WHERE g > $2");
  CHECK(recs[0].nparams == 2);
  CHECK(recs[0].status == 0);
  CHECK(recs[0].sqlstate.empty());
  CHECK(recs[0].rows == 3);
  CHECK(recs[0].command_status == "SELECT 3");
  CHECK(recs[0].start >= before - std::chrono::seconds(1));
  CHECK(recs[0].start <= std::chrono::system_clock::now());
  CHECK(recs[0].elapsed.count() >= 0);
  CHECK(recs[0].host == "127.0.0.1");
  CHECK(recs[0].port == test::env("UVPG_TEST_PORT"));

  CHECK(recs[1].status == UVPG_ESERVER);
  CHECK(recs[1].sqlstate == "42P01");
  CHECK(recs[1].rows == -1);
  CHECK(recs[1].nparams == 0);

  CHECK(recs[2].command_status == "CREATE TABLE");
  CHECK(recs[2].rows == 0);
  CHECK(recs[3].command_status == "INSERT 0 7");
  CHECK(recs[3].rows == 7);

  CHECK(c.remove_query_logger(id));
  CHECK_FALSE(c.remove_query_logger(id));
  test::wait(&lf.loop, c.query("SELECT 1"));
  CHECK(recs.size() == 4);
}

TEST_CASE("query logger: the record never holds a parameter's value") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  std::vector<uvpg::query_log_record> recs;
  c.add_query_logger(
      [&](const uvpg::query_log_record &r) { recs.push_back(r); });
  const std::string secret = "s3cret-" + test::env("UVPG_TEST_PASSWORD");
  auto q = c.query("SELECT $1::int", secret); // fails: not an integer
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }));
  CHECK(q.failed());
  REQUIRE(recs.size() == 1);
  const auto &r = recs[0];
  CHECK(r.sqlstate == "22P02");
  for (const std::string *s :
       {&r.sql, &r.sqlstate, &r.command_status, &r.host, &r.port}) {
    CHECK(s->find(secret) == std::string::npos);
  }
}

TEST_CASE("query logger: a password in the statement's text is masked; "
          "transaction statements are logged") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  std::vector<uvpg::query_log_record> recs;
  c.add_query_logger(
      [&](const uvpg::query_log_record &r) { recs.push_back(r); });
  const std::string role = "uvpg_mask_" + std::to_string(c.backend_pid());
  test::wait(&lf.loop, c.query("CREATE ROLE " + role +
                               " PASSWORD 'pw-one''s'"));
  test::wait(&lf.loop, c.query("ALTER ROLE " + role +
                               " WITH password E'pw\\'two'"));
  test::wait(&lf.loop, c.query("SELECT 'password' AS password"));
  auto tx = test::wait(&lf.loop, c.begin());
  test::wait(&lf.loop, c.query("ALTER ROLE " + role +
                               " PASSWORD /* c */ $q$pw-three$q$"));
  test::wait(&lf.loop, c.query("ALTER ROLE " + role + " PASSWORD U&'pw4'"));
  test::wait(&lf.loop, c.query("SELECT 'host=h password=pw5 user=u', "
                               "'password = ''pw 6'''"));
  test::wait(&lf.loop, c.query("DROP ROLE " + role));
  test::wait(&lf.loop, tx.commit());
  REQUIRE(recs.size() == 9);
  CHECK(recs[0].sql == "CREATE ROLE " + role + " PASSWORD '********'");
  CHECK(recs[1].sql == "ALTER ROLE " + role + " WITH password E'********'");
  CHECK(recs[2].sql == "SELECT 'password' AS password");
  CHECK(recs[3].sql.starts_with("BEGIN"));
  CHECK(recs[4].sql ==
        "ALTER ROLE " + role + " PASSWORD /* c */ $q$********$q$");
  CHECK(recs[5].sql == "ALTER ROLE " + role + " PASSWORD U&'********'");
  CHECK(recs[6].sql == "SELECT 'host=h password=******** user=u', "
                       "'password = ''********'''");
  CHECK(recs[8].sql == "COMMIT");
  for (const auto &r : recs) {
    CHECK(r.sql.find("pw") == std::string::npos);
    CHECK(r.status == 0);
  }
}

TEST_CASE("errors: a failed statement holding a password does not quote "
          "it") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto f = c.query("ALTER ROLE current_user PASSWORD 'pw-secret' NONSENSE");
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  try {
    f.get();
    FAIL("the statement should have failed");
  } catch (const uvpg::server_error &e) {
    CHECK(e.sqlstate() == "42601");
    CHECK(std::string(e.what()).find("pw-secret") == std::string::npos);
    CHECK(e.statement().find("pw-secret") == std::string::npos);
    CHECK(e.statement().find("'********'") != std::string::npos);
    CHECK(c.error_message().find("pw-secret") == std::string::npos);
  }
  // A statement without one keeps libpq's excerpt of it.
  auto g = c.query("SELECT 1 NONSENSE x");
  REQUIRE(test::run_until(&lf.loop, [&] { return g.available(); }));
  CHECK(g.failed());
  CHECK(c.error_message().find("LINE 1:") != std::string::npos);
}

TEST_CASE("termination listener: pg_terminate_backend while idle fires "
          "once with 57P01") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto admin = test::connect(&lf.loop);
  std::vector<uvpg::termination_event> got;
  c.add_termination_listener(
      [&](const uvpg::termination_event &e) { got.push_back(e); });
  terminate(&lf.loop, admin, c.backend_pid());
  REQUIRE(test::run_until(&lf.loop, [&] { return !got.empty(); }));
  CHECK(got[0].status == UVPG_ECONNBAD);
  CHECK(got[0].sqlstate == "57P01");
  CHECK(got[0].message.find("terminating connection due to administrator "
                            "command") != std::string::npos);
  // A statement on the lost connection fails; the event does not come
  // again, nor at close.
  auto q = c.query("SELECT 1");
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }));
  CHECK(q.failed());
  test::wait(&lf.loop, c.close());
  CHECK(got.size() == 1);
}

TEST_CASE("termination listener: pg_terminate_backend while busy fires once, "
          "after the failed statement's callback") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto admin = test::connect(&lf.loop);
  int calls = 0;
  bool after_query = false;
  std::string state;
  uvpg::future<uvpg::result> q;
  c.add_termination_listener([&](const uvpg::termination_event &e) {
    ++calls;
    after_query = q.available();
    state = e.sqlstate;
  });
  int removed = 0;
  auto id = c.add_termination_listener(
      [&](const uvpg::termination_event &) { ++removed; });
  CHECK(c.remove_termination_listener(id));
  q = c.query("SELECT pg_sleep(30)");
  REQUIRE(test::run_until(&lf.loop, [&] {
    return c.status() == UVPG_CONN_BUSY && !q.available();
  }));
  uv_sleep(100);
  terminate(&lf.loop, admin, c.backend_pid());
  REQUIRE(test::run_until(&lf.loop, [&] { return calls > 0; }));
  CHECK(after_query);
  CHECK(q.failed());
  CHECK(state == "57P01");
  test::wait(&lf.loop, c.close());
  CHECK(calls == 1);
  CHECK(removed == 0);
}

TEST_CASE("termination listener: not called when the program closes the "
          "connection") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  int calls = 0;
  c.add_termination_listener([&](const uvpg::termination_event &) { ++calls; });
  auto q = c.query("SELECT pg_sleep(30)");
  test::wait(&lf.loop, c.close());
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }));
  CHECK(q.failed());
  CHECK(calls == 0);
}

TEST_CASE("keepalives: on by default over TCP with uvpg's values; the "
          "conninfo wins") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  CHECK(option_of(c, "keepalives") == "1");
  CHECK(option_of(c, "keepalives_idle") == "60");
  CHECK(option_of(c, "keepalives_interval") == "10");
  CHECK(option_of(c, "keepalives_count") == "6");
  auto off = test::wait(
      &lf.loop,
      uvpg::connection::connect(&lf.loop, test::dsn() + " keepalives=0 "
                                                        "keepalives_idle=5"));
  CHECK(option_of(off, "keepalives") == "0");
  CHECK(option_of(off, "keepalives_idle") == "5");
  CHECK(option_of(off, "keepalives_interval") == "10");
  CHECK(test::wait(&lf.loop, off.query("SELECT 1")).value(0, 0) == "1");
}

TEST_CASE("keepalives: harmless on a unix socket") {
  test::loop_fixture lf;
  auto c = test::wait(
      &lf.loop,
      uvpg::connection::connect(
          &lf.loop, test::dsn() + " host=" + test::env("UVPG_TEST_SOCKDIR")));
  CHECK(option_of(c, "keepalives") == "1");
  CHECK(test::wait(&lf.loop, c.query("SELECT 1")).value(0, 0) == "1");
}

TEST_CASE("echo: printed after the statement, with its outcome") {
  test::loop_fixture lf;
  uvpg::connect_options o;
  o.echo = true;
  auto c = test::connect(&lf.loop, o);
  std::string log = test::stderr_of([&] {
    test::wait(&lf.loop, c.query("SELECT $1::int + 1", "41"));
    auto q = c.query("SELECT * FROM session_echo_missing");
    test::run_until(&lf.loop, [&] { return q.available(); });
  });
  INFO(log);
  CHECK(log.find("uvpg: SELECT $1::int + 1\nuvpg:   $1 = '41'\n"
                 "uvpg:   -> SELECT 1, 1 rows, ") != std::string::npos);
  CHECK(log.find("uvpg:   -> UVPG_ESERVER 42P01, ") != std::string::npos);
}
