// The error classes against a real server: every DB-API category raised
// by a real statement, the class of a SQLSTATE and of its SQLSTATE class,
// every diagnostic field, connect failures, and uvpg's own conditions
// (lost, closed, timed out, canceled) as classes apart from 57014.
#include <chrono>
#include <functional>
#include <stdexcept>
#include <typeinfo>

#include "test.hh"

TEST_SUITE_BEGIN("live/error");

namespace {

using namespace std::chrono_literals;

std::string port() { return test::env("UVPG_TEST_PORT"); }
std::string password() { return test::env("UVPG_TEST_PASSWORD"); }

/// Runs `sql` on `c` and returns how it failed, as the exception.
std::exception_ptr failure(uv_loop_t *loop, uvpg::connection &c,
                           const std::string &sql) {
  auto f = c.query(sql);
  REQUIRE(test::run_until(loop, [&] { return f.available(); }));
  REQUIRE_MESSAGE(f.failed(), sql << " did not fail");
  return f.get_exception();
}

/// True when the exception is an E.
template <class E> bool is(const std::exception_ptr &e) {
  try {
    std::rethrow_exception(e);
  } catch (const E &) {
    return true;
  } catch (...) {
    return false;
  }
}

/// The server_error within (fails the test when it is none).
const uvpg::server_error &server(const std::exception_ptr &e) {
  try {
    std::rethrow_exception(e);
  } catch (const uvpg::server_error &s) {
    // The exception object lives as long as `e` does.
    return s;
  } catch (const std::exception &x) {
    FAIL("not a server_error: " << x.what());
  }
  throw std::logic_error("unreachable");
}

/// The status of a uvpg::error (0 for anything else).
int status_of(const std::exception_ptr &e) {
  try {
    std::rethrow_exception(e);
  } catch (const uvpg::error &x) {
    return x.status();
  } catch (...) {
    return 0;
  }
}

/// RAISE EXCEPTION with `sqlstate` from PL/pgSQL.
std::string raise(const std::string &sqlstate) {
  return "DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '" +
         sqlstate + "'; END $$";
}

} // namespace

TEST_CASE("error: a unique violation is its class, integrity_error, "
          "server_error, database_error and uvpg::error") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  test::wait(&lf.loop, c.query("CREATE TEMP TABLE t_uniq (id int PRIMARY "
                               "KEY, v int CHECK (v > 0))"));
  test::wait(&lf.loop, c.query("INSERT INTO t_uniq VALUES (1, 1)"));
  std::string sql = "INSERT INTO t_uniq VALUES (1, 2)";
  auto e = failure(&lf.loop, c, sql);
  CHECK(is<uvpg::errors::unique_violation>(e));
  CHECK(is<uvpg::errors::integrity_constraint_violation>(e));
  CHECK(is<uvpg::integrity_error>(e));
  CHECK(is<uvpg::server_error>(e));
  CHECK(is<uvpg::database_error>(e));
  CHECK(is<uvpg::error>(e));
  CHECK_FALSE(is<uvpg::interface_error>(e));
  CHECK_FALSE(is<uvpg::operational_error>(e));
  CHECK_FALSE(is<uvpg::errors::check_violation>(e));
  const auto &s = server(e);
  CHECK(s.status() == UVPG_ESERVER);
  CHECK(s.sqlstate() == UVPG_SQLSTATE_UNIQUE_VIOLATION);
  CHECK(s.constraint_name() == "t_uniq_pkey");
  CHECK(s.table_name() == "t_uniq");
  CHECK(s.schema_name().rfind("pg_temp", 0) == 0);
  CHECK(s.detail() == "Key (id)=(1) already exists.");
  CHECK(s.statement() == sql);
  CHECK(s.backend_pid() == c.backend_pid());
  CHECK(s.backend_pid() != 0);

  auto k = failure(&lf.loop, c, "INSERT INTO t_uniq VALUES (2, -1)");
  CHECK(is<uvpg::errors::check_violation>(k));
  CHECK(is<uvpg::integrity_error>(k));
  CHECK(server(k).constraint_name() == "t_uniq_v_check");

  // The catch a program writes.
  bool caught = false;
  try {
    std::rethrow_exception(e);
  } catch (const uvpg::integrity_error &x) {
    caught = x.status() == UVPG_ESERVER;
  }
  CHECK(caught);
}

TEST_CASE("error: each DB-API category from a real statement") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);

  auto d = failure(&lf.loop, c, "SELECT 1 / 0");
  CHECK(is<uvpg::errors::division_by_zero>(d));
  CHECK(is<uvpg::errors::data_exception>(d));
  CHECK(is<uvpg::data_error>(d));
  CHECK(is<uvpg::server_error>(d));

  auto p = failure(&lf.loop, c, "SELEC 1");
  CHECK(is<uvpg::errors::syntax_error>(p));
  CHECK(is<uvpg::errors::syntax_error_or_access_rule_violation>(p));
  CHECK(is<uvpg::programming_error>(p));
  CHECK(server(p).position() == 1);

  auto u = failure(&lf.loop, c, "SELECT * FROM no_such_table_here");
  CHECK(is<uvpg::errors::undefined_table>(u));
  CHECK(is<uvpg::programming_error>(u));
  CHECK(server(u).position() == 15);

  auto n = failure(&lf.loop, c,
                   "CREATE TEMP TABLE t_oids (a int) WITH (oids = true)");
  CHECK(is<uvpg::errors::feature_not_supported>(n));
  CHECK(is<uvpg::not_supported_error>(n));

  // A statement in a failed transaction: 25P02, an internal_error.
  test::wait(&lf.loop, c.query("BEGIN"));
  failure(&lf.loop, c, "SELECT 1 / 0");
  auto i = failure(&lf.loop, c, "SELECT 1");
  CHECK(is<uvpg::errors::in_failed_sql_transaction>(i));
  CHECK(is<uvpg::errors::invalid_transaction_state>(i));
  CHECK(is<uvpg::internal_error>(i));
  test::wait(&lf.loop, c.query("ROLLBACK"));

  // The server's statement_timeout: 57014, an operational_error and not
  // uvpg's own timed_out.
  test::wait(&lf.loop, c.query("SET statement_timeout = 50"));
  auto q = failure(&lf.loop, c, "SELECT pg_sleep(5)");
  CHECK(is<uvpg::errors::query_canceled>(q));
  CHECK(is<uvpg::errors::operator_intervention>(q));
  CHECK(is<uvpg::operational_error>(q));
  CHECK_FALSE(is<uvpg::timed_out>(q));
  CHECK_FALSE(is<uvpg::operation_canceled>(q));
  test::wait(&lf.loop, c.query("RESET statement_timeout"));
  test::wait(&lf.loop, c.close());
}

TEST_CASE("error: SQLSTATEs raised from PL/pgSQL become their classes") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  struct expect {
    const char *code;
    std::function<bool(const std::exception_ptr &)> exact, category;
  } cases[] = {
      {"40001", is<uvpg::errors::serialization_failure>,
       is<uvpg::operational_error>},
      {"40P01", is<uvpg::errors::deadlock_detected>,
       is<uvpg::operational_error>},
      {"23503", is<uvpg::errors::foreign_key_violation>,
       is<uvpg::integrity_error>},
      {"22003", is<uvpg::errors::numeric_value_out_of_range>,
       is<uvpg::data_error>},
      {"28P01", is<uvpg::errors::invalid_password>,
       is<uvpg::operational_error>},
      {"0A000", is<uvpg::errors::feature_not_supported>,
       is<uvpg::not_supported_error>},
      {"XX001", is<uvpg::errors::data_corrupted>,
       is<uvpg::internal_error>},
      {"P0001", is<uvpg::errors::raise_exception>,
       is<uvpg::programming_error>},
      {"3D000", is<uvpg::errors::invalid_catalog_name>,
       is<uvpg::programming_error>},
      // No class of its own: its SQLSTATE class's.
      {"22ZZZ", is<uvpg::errors::data_exception>, is<uvpg::data_error>},
      // An unknown class mapped by its letter (P: programming).
      {"P9ZZZ", is<uvpg::server_error>, is<uvpg::programming_error>},
      // An unknown class: a plain database error.
      {"Z9ZZZ", is<uvpg::server_error>, is<uvpg::database_error>},
  };
  for (const auto &k : cases) {
    CAPTURE(k.code);
    auto e = failure(&lf.loop, c, raise(k.code));
    CHECK(server(e).sqlstate() == k.code);
    CHECK(server(e).message_primary() == "raised");
    CHECK(k.exact(e));
    CHECK(k.category(e));
    CHECK(is<uvpg::server_error>(e));
  }
  auto z = failure(&lf.loop, c, raise("Z9ZZZ"));
  CHECK(typeid(server(z)) == typeid(uvpg::server_error));
  CHECK(uvpg_sqlstate_class("Z9ZZZ") == UVPG_ERROR_CLASS_DATABASE);
  CHECK(uvpg_sqlstate_class("P9ZZZ") == UVPG_ERROR_CLASS_PROGRAMMING);
}

TEST_CASE("error: every diagnostic field is readable") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  test::wait(&lf.loop, c.query(
      "CREATE FUNCTION pg_temp.boom() RETURNS void LANGUAGE plpgsql AS $$ "
      "BEGIN RAISE EXCEPTION 'boom %', 42 USING DETAIL = 'the detail', "
      "HINT = 'the hint', COLUMN = 'the_column', CONSTRAINT = "
      "'the_constraint', DATATYPE = 'the_type', TABLE = 'the_table', "
      "SCHEMA = 'the_schema', ERRCODE = '22012'; END $$"));
  std::string sql = "SELECT pg_temp.boom()";
  auto e = failure(&lf.loop, c, sql);
  CHECK(is<uvpg::errors::division_by_zero>(e));
  const auto &s = server(e);
  CHECK(s.severity() == "ERROR");
  CHECK(s.severity_nonlocalized() == "ERROR");
  CHECK(s.sqlstate() == "22012");
  CHECK(s.message_primary() == "boom 42");
  CHECK(s.detail() == "the detail");
  CHECK(s.hint() == "the hint");
  CHECK(s.column_name() == "the_column");
  CHECK(s.constraint_name() == "the_constraint");
  CHECK(s.datatype_name() == "the_type");
  CHECK(s.table_name() == "the_table");
  CHECK(s.schema_name() == "the_schema");
  CHECK(s.context().find("boom") != std::string::npos);
  CHECK(s.source_file().find(".c") != std::string::npos);
  CHECK(s.source_line() > 0);
  CHECK_FALSE(s.source_function().empty());
  CHECK(s.field(UVPG_DIAG_MESSAGE_HINT) == "the hint");
  CHECK(s.statement() == sql);
  CHECK(s.backend_pid() == c.backend_pid());
  CHECK(std::string(s.what()).find("boom 42") != std::string::npos);

  // An internal query and its position: the failing query inside a
  // PL/pgSQL function.
  test::wait(&lf.loop, c.query(
      "CREATE FUNCTION pg_temp.inner_q() RETURNS int LANGUAGE plpgsql AS "
      "$$ BEGIN RETURN (SELECT no_such_column FROM pg_class LIMIT 1); "
      "END $$"));
  auto q = failure(&lf.loop, c, "SELECT pg_temp.inner_q()");
  CHECK(is<uvpg::errors::undefined_column>(q));
  CHECK(server(q).internal_query().find("no_such_column") !=
        std::string::npos);
  CHECK(server(q).internal_position() > 0);
  CHECK(server(q).position() == 0);
  test::wait(&lf.loop, c.close());
}

TEST_CASE("error: a wrong password is invalid_password with the server's "
          "primary message") {
  test::loop_fixture lf;
  auto f = uvpg::connection::connect(
      &lf.loop, "host=127.0.0.1 port=" + port() +
                    " user=uvpg dbname=postgres password=wrong-" +
                    password());
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  REQUIRE(f.failed());
  auto e = f.get_exception();
  CHECK(is<uvpg::errors::invalid_password>(e));
  CHECK(is<uvpg::errors::invalid_authorization_specification>(e));
  CHECK(is<uvpg::operational_error>(e));
  const auto &s = server(e);
  CHECK(s.status() == UVPG_ESERVER);
  CHECK(s.sqlstate() == "28P01");
  CHECK(s.severity() == "FATAL");
  CHECK(s.message_primary() ==
        "password authentication failed for user \"uvpg\"");
  CHECK(s.statement().empty());
  CHECK(s.backend_pid() == 0);
  CHECK(std::string(s.what()).find(password()) == std::string::npos);
}

TEST_CASE("error: a missing database is invalid_catalog_name") {
  test::loop_fixture lf;
  auto f = uvpg::connection::connect(
      &lf.loop, "host=127.0.0.1 port=" + port() +
                    " user=uvpg dbname=no_such_db_here password=" +
                    password());
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  REQUIRE(f.failed());
  auto e = f.get_exception();
  CHECK(is<uvpg::errors::invalid_catalog_name>(e));
  CHECK(is<uvpg::programming_error>(e));
  CHECK(server(e).message_primary() ==
        "database \"no_such_db_here\" does not exist");
  CHECK(server(e).source_function().size() > 0);
}

namespace {

// A server that accepts and hangs up at once: the connect is lost
// without a word from a PostgreSQL server.
void hang_up(uv_stream_t *srv, int status) {
  REQUIRE(status == 0);
  auto *client = new uv_tcp_t;
  uv_tcp_init(srv->loop, client);
  REQUIRE(uv_accept(srv, reinterpret_cast<uv_stream_t *>(client)) == 0);
  uv_close(reinterpret_cast<uv_handle_t *>(client),
           [](uv_handle_t *h) { delete reinterpret_cast<uv_tcp_t *>(h); });
}

} // namespace

TEST_CASE("error: a connection lost without a word is connection_lost") {
  test::loop_fixture lf;
  uv_tcp_t srv;
  int p = test::listen_local(&lf.loop, &srv, hang_up);
  auto f = uvpg::connection::connect(
      &lf.loop, "host=127.0.0.1 port=" + std::to_string(p) +
                    " user=uvpg dbname=postgres sslmode=disable");
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  REQUIRE(f.failed());
  auto e = f.get_exception();
  CHECK(is<uvpg::connection_lost>(e));
  CHECK(is<uvpg::operational_error>(e));
  CHECK_FALSE(is<uvpg::server_error>(e));
  CHECK(status_of(e) == UVPG_ECONNBAD);
  uv_close(reinterpret_cast<uv_handle_t *>(&srv), nullptr);
}

TEST_CASE("error: a session the server ends is its SQLSTATE's class with "
          "UVPG_ECONNBAD") {
  test::loop_fixture lf;
  auto victim = test::connect(&lf.loop);
  auto admin = test::connect(&lf.loop);
  int pid = victim.backend_pid();
  auto sleeping = victim.query("SELECT pg_sleep(30)");
  // Wait until the statement runs, then end the session.
  REQUIRE(test::run_until(&lf.loop, [&] {
    return test::count_of(&lf.loop, admin,
                          "SELECT count(*) FROM pg_stat_activity WHERE pid "
                          "= " + std::to_string(pid) +
                              " AND state = 'active'") == 1;
  }));
  test::wait(&lf.loop, admin.query("SELECT pg_terminate_backend(" +
                                   std::to_string(pid) + ")"));
  REQUIRE(test::run_until(&lf.loop, [&] { return sleeping.available(); }));
  REQUIRE(sleeping.failed());
  auto e = sleeping.get_exception();
  CHECK(is<uvpg::errors::admin_shutdown>(e));
  CHECK(is<uvpg::operational_error>(e));
  const auto &s = server(e);
  CHECK(s.status() == UVPG_ECONNBAD);
  CHECK(s.sqlstate() == "57P01");
  CHECK(s.message_primary() ==
        "terminating connection due to administrator command");
  CHECK(s.statement() == "SELECT pg_sleep(30)");
  test::wait(&lf.loop, victim.close());
  test::wait(&lf.loop, admin.close());
}

TEST_CASE("error: uvpg's deadline is timed_out, not query_canceled") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  uvpg::query_options o;
  o.timeout = 100ms;
  auto f = c.query("SELECT pg_sleep(5)", {}, o);
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  REQUIRE(f.failed());
  auto e = f.get_exception();
  CHECK(is<uvpg::timed_out>(e));
  CHECK(is<uvpg::operational_error>(e));
  CHECK_FALSE(is<uvpg::server_error>(e));
  CHECK_FALSE(is<uvpg::errors::query_canceled>(e));
  CHECK(status_of(e) == UV_ETIMEDOUT);
  // The connection stays usable.
  CHECK(test::count_of(&lf.loop, c, "SELECT 1") == 1);
  test::wait(&lf.loop, c.close());
}

namespace {
/// uvpg::error::outcome_unknown() of the exception (fails the test when
/// it is no uvpg::error).
bool unknown(const std::exception_ptr &e) {
  try {
    std::rethrow_exception(e);
  } catch (const uvpg::error &x) {
    return x.outcome_unknown();
  } catch (...) {
    FAIL("not a uvpg::error");
  }
  return false;
}
} // namespace

TEST_CASE("error: outcome_unknown is false for what the server refused") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto e = failure(&lf.loop, c, "SELECT 1/0");
  CHECK(is<uvpg::errors::division_by_zero>(e));
  CHECK_FALSE(unknown(e));
  test::wait(&lf.loop, c.close());
}

TEST_CASE("error: a statement on the server when its session ends has an "
          "unknown outcome; one still queued does not") {
  test::loop_fixture lf;
  auto victim = test::connect(&lf.loop);
  auto admin = test::connect(&lf.loop);
  int pid = victim.backend_pid();
  // A statement with a timeout runs alone: the second waits in uvpg's
  // queue while the first runs.
  uvpg::query_options o;
  o.timeout = 20s;
  auto running = victim.query("SELECT pg_sleep(30)", {}, o);
  auto queued = victim.query("SELECT 2", {}, o);
  REQUIRE(test::run_until(&lf.loop, [&] {
    return test::count_of(&lf.loop, admin,
                          "SELECT count(*) FROM pg_stat_activity WHERE pid "
                          "= " + std::to_string(pid) +
                              " AND state = 'active'") == 1;
  }));
  test::wait(&lf.loop, admin.query("SELECT pg_terminate_backend($1)", pid));
  REQUIRE(test::run_until(&lf.loop, [&] {
    return running.available() && queued.available();
  }));
  REQUIRE(running.failed());
  REQUIRE(queued.failed());
  CHECK(status_of(running.get_exception()) == UVPG_ECONNBAD);
  CHECK(unknown(running.get_exception()));
  CHECK(status_of(queued.get_exception()) == UVPG_ECONNBAD);
  CHECK_FALSE(unknown(queued.get_exception()));
  test::wait(&lf.loop, victim.close());
  test::wait(&lf.loop, admin.close());
}

TEST_CASE("error: a deadline passed on the server leaves the outcome "
          "unknown; one passed in the queue does not") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  uvpg::query_options slow;
  slow.timeout = 300ms;
  uvpg::query_options quick;
  quick.timeout = 50ms;
  auto running = c.query("SELECT pg_sleep(5)", {}, slow);
  auto queued = c.query("SELECT 2", {}, quick);
  REQUIRE(test::run_until(&lf.loop, [&] {
    return running.available() && queued.available();
  }));
  REQUIRE(running.failed());
  REQUIRE(queued.failed());
  CHECK(status_of(running.get_exception()) == UV_ETIMEDOUT);
  CHECK(unknown(running.get_exception()));
  CHECK(status_of(queued.get_exception()) == UV_ETIMEDOUT);
  CHECK_FALSE(unknown(queued.get_exception()));
  // What fails afterwards on the same connection is known again.
  auto e = failure(&lf.loop, c, "SELECT 1/0");
  CHECK_FALSE(unknown(e));
  test::wait(&lf.loop, c.close());
}

TEST_CASE("error: a pool's shared call told its deadline behind another "
          "statement runs on: its outcome is unknown") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  test::wait(&lf.loop, c.query("DROP TABLE IF EXISTS error_shared_deadline"));
  test::wait(&lf.loop, c.query("CREATE TABLE error_shared_deadline (k int)"));
  uvpg::pool_options po;
  po.minsize = 1;
  po.maxsize = 1;
  uvpg::pool p = uvpg::pool::create(&lf.loop, test::dsn(), po);
  REQUIRE(test::run_until(&lf.loop, [&] { return p.freesize() == 1; }));
  uvpg::query_options slow;
  slow.timeout = 5s;
  uvpg::query_options quick;
  quick.timeout = 100ms;
  // Both pipelined on the one connection, no lease: the insert's
  // deadline passes while it waits behind the sleep, and it runs after.
  auto sleeping = p.query("SELECT pg_sleep(0.5)", {}, slow);
  auto insert = p.query("INSERT INTO error_shared_deadline VALUES (1)", {},
                        quick);
  REQUIRE(test::run_until(&lf.loop, [&] {
    return sleeping.available() && insert.available();
  }));
  CHECK_FALSE(sleeping.failed());
  REQUIRE(insert.failed());
  CHECK(status_of(insert.get_exception()) == UV_ETIMEDOUT);
  CHECK(unknown(insert.get_exception()));
  // The insert's answer comes after the caller was told: a statement
  // behind it on the one connection marks when it has run.
  CHECK(test::wait(&lf.loop, p.fetchval<int>("SELECT 1")) == 1);
  CHECK(test::count_of(&lf.loop, c,
                       "SELECT count(*) FROM error_shared_deadline") == 1);
  test::wait(&lf.loop, p.close());
  test::wait(&lf.loop, c.query("DROP TABLE error_shared_deadline"));
  test::wait(&lf.loop, c.close());
}

TEST_CASE("error: a running statement the program cancels has an unknown "
          "outcome; a queued one does not") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto admin = test::connect(&lf.loop);
  int pid = c.backend_pid();
  uvpg::query_options o;
  o.timeout = 20s; // runs alone: the second stays queued
  auto running = c.query("SELECT pg_sleep(5)", {}, o);
  auto queued = c.query("SELECT 2", {}, o);
  REQUIRE(test::run_until(&lf.loop, [&] {
    return test::count_of(&lf.loop, admin,
                          "SELECT count(*) FROM pg_stat_activity WHERE pid "
                          "= " + std::to_string(pid) +
                              " AND state = 'active'") == 1;
  }));
  queued.cancel();
  running.cancel();
  REQUIRE(test::run_until(&lf.loop, [&] {
    return running.available() && queued.available();
  }));
  REQUIRE(running.failed());
  REQUIRE(queued.failed());
  CHECK(status_of(running.get_exception()) == UV_ECANCELED);
  CHECK(unknown(running.get_exception()));
  CHECK(status_of(queued.get_exception()) == UV_ECANCELED);
  CHECK_FALSE(unknown(queued.get_exception()));
  CHECK(test::count_of(&lf.loop, c, "SELECT 1") == 1);
  test::wait(&lf.loop, c.close());
  test::wait(&lf.loop, admin.close());
}

TEST_CASE("error: work on a closed connection is connection_closed") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  // Pending when the program closes: UV_ECANCELED.
  auto pending = c.query("SELECT pg_sleep(5)");
  auto closed = c.close();
  REQUIRE(test::run_until(&lf.loop, [&] {
    return pending.available() && closed.available();
  }));
  REQUIRE(pending.failed());
  auto e = pending.get_exception();
  CHECK(is<uvpg::connection_closed>(e));
  CHECK(is<uvpg::operational_error>(e));
  CHECK_FALSE(is<uvpg::server_error>(e));
  CHECK(status_of(e) == UV_ECANCELED);
  CHECK(unknown(e)); // it had gone to the server
  // Asked for after the close: UVPG_ECLOSED.
  auto after = c.prepare("SELECT 1");
  REQUIRE(test::run_until(&lf.loop, [&] { return after.available(); }));
  REQUIRE(after.failed());
  auto a = after.get_exception();
  CHECK(is<uvpg::connection_closed>(a));
  CHECK(status_of(a) == UVPG_ECLOSED);
  CHECK_FALSE(unknown(a));
}

TEST_CASE("error: a promise never kept is a broken_promise, an "
          "interface_error") {
  test::loop_fixture lf;
  uvpg::future<int> f;
  {
    uvpg::promise<int> p(&lf.loop);
    f = p.get_future();
  }
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  auto e = f.get_exception();
  CHECK(is<uvpg::broken_promise>(e));
  CHECK(is<uvpg::interface_error>(e));
  CHECK_FALSE(is<uvpg::database_error>(e));
}

TEST_CASE("error: parameters the statement cannot take are a "
          "programming_error (UVPG_EPARAM)") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto f = c.query("SELECT $1::text", std::string("a\0b", 3));
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  REQUIRE(f.failed());
  auto e = f.get_exception();
  CHECK(is<uvpg::programming_error>(e));
  CHECK_FALSE(is<uvpg::server_error>(e));
  CHECK(status_of(e) == UVPG_EPARAM);
  test::wait(&lf.loop, c.close());
}

TEST_CASE("error: result accessors out of range are usage errors") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto r = test::wait(&lf.loop, c.query("SELECT 1 AS one"));
  CHECK_THROWS_AS(r.value(1, 0), uvpg::usage_error);
  CHECK_THROWS_AS(r.value(0, 1), uvpg::usage_error);
  CHECK_THROWS_AS(r.column_name(5), uvpg::usage_error);
  CHECK_THROWS_AS(r[1], uvpg::usage_error);
  CHECK_THROWS_AS(r[0]["two"], uvpg::usage_error);
  CHECK_THROWS_WITH_AS(r[0]["two"], doctest::Contains("two"),
                       uvpg::usage_error);
  test::wait(&lf.loop, c.close());
}

TEST_CASE("error: a value that cannot become the C++ type is a "
          "data_error, not a server_error") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto r = test::wait(&lf.loop, c.query("SELECT 'abc'::text"));
  try {
    (void)r[0].get<int64_t>(0);
    FAIL("no error");
  } catch (const uvpg::data_error &e) {
    CHECK(e.status() == UVPG_EDATA);
    CHECK(dynamic_cast<const uvpg::server_error *>(&e) == nullptr);
    CHECK(dynamic_cast<const uvpg::database_error *>(&e) != nullptr);
  }
  test::wait(&lf.loop, c.close());
}

TEST_SUITE_END();
