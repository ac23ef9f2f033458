// Cancellation against the shared server: connection::cancel() and
// future::cancel() of queued, running and pipelined statements, and the
// three errors a stopped statement can end with (the server's
// statement_timeout, uvpg's deadline, the program's cancel) told apart.
// The frozen-server cases are in t/cancel-stop.cc (a cluster of their
// own).
#include <string>
#include <typeinfo>

#include "test.hh"

TEST_SUITE_BEGIN("live/cancel");

namespace {

// The backend of `c` still runs `pid`'s statement (seen from `other`).
bool backend_active(uv_loop_t *loop, uvpg::connection &other, int pid) {
  return test::wait(loop,
                    other.fetchval<int64_t>(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE pid = $1 AND state = 'active'",
                        pid)) == 1;
}

// Waits until the server executes `c`'s statement (pg_stat_activity,
// seen from a second connection): a cancel that reaches a backend still
// reading the statement is ignored by the server.
void until_running(uv_loop_t *loop, uvpg::connection &c,
                   const uvpg::future<uvpg::result> &q) {
  REQUIRE(test::run_until(loop, [&] {
    return c.status() == UVPG_CONN_BUSY && !q.available();
  }));
  auto watcher = test::connect(loop);
  int pid = c.backend_pid();
  for (int i = 0; i < 200; ++i) {
    if (backend_active(loop, watcher, pid)) {
      break;
    }
    test::wait(loop, test::sleep_ms(loop, 50));
  }
  test::wait(loop, watcher.close());
}

// The class of a failed future's error, and its status.
template <class E, class T> int failed_as(const uvpg::future<T> &f) {
  REQUIRE(f.failed());
  try {
    std::rethrow_exception(f.get_exception());
  } catch (const E &e) {
    return e.status();
  } catch (const std::exception &e) {
    FAIL("wrong error class: " << typeid(e).name() << ": " << e.what());
  }
  return 0;
}

} // namespace

TEST_CASE("connection::cancel: stops the running statement, which fails "
          "with operation_canceled; the connection goes on") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto q = c.query("SELECT pg_sleep(60)");
  until_running(&lf.loop, c, q);
  auto cancel = c.cancel();
  CHECK_FALSE(cancel.available()); // never completed inside the call
  test::wait(&lf.loop, std::move(cancel), 10);
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }, 10));
  CHECK(failed_as<uvpg::operation_canceled>(q) == UV_ECANCELED);
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT 7")) == 7);
  CHECK(c.status() == UVPG_CONN_READY);
  test::wait(&lf.loop, c.close());
}

TEST_CASE("connection::cancel: with nothing running it resolves and the "
          "next statement runs") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto cancel = c.cancel();
  CHECK_FALSE(cancel.available());
  test::wait(&lf.loop, std::move(cancel));
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT 8")) == 8);
  test::wait(&lf.loop, c.close());
}

TEST_CASE("connection::cancel: on a closed connection it fails at once "
          "with connection_closed") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  test::wait(&lf.loop, c.close());
  auto cancel = c.cancel();
  REQUIRE(cancel.available());
  CHECK(failed_as<uvpg::connection_closed>(cancel) == UVPG_ECLOSED);
}

TEST_CASE("connection::cancel: over a unix socket too") {
  test::loop_fixture lf;
  std::string dsn = "host=" + test::env("UVPG_TEST_SOCKDIR") +
                    " port=" + test::env("UVPG_TEST_PORT") +
                    " user=" + test::env("UVPG_TEST_USER") +
                    " password=" + test::env("UVPG_TEST_PASSWORD") +
                    " dbname=postgres";
  auto c = test::wait(&lf.loop, uvpg::connection::connect(&lf.loop, dsn));
  auto q = c.query("SELECT pg_sleep(60)");
  until_running(&lf.loop, c, q);
  test::wait(&lf.loop, c.cancel(), 10);
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }, 10));
  CHECK(failed_as<uvpg::operation_canceled>(q) == UV_ECANCELED);
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT 9")) == 9);
  test::wait(&lf.loop, c.close());
}

TEST_CASE("the server's statement_timeout, uvpg's timeout and cancel() "
          "are three errors") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  // The server's own limit: its error, SQLSTATE 57014.
  test::wait(&lf.loop, c.query("SET statement_timeout = '100ms'"));
  auto server = c.query("SELECT pg_sleep(10)");
  REQUIRE(test::run_until(&lf.loop, [&] { return server.available(); }));
  CHECK(test::outcome(server) == "57014");
  CHECK(failed_as<uvpg::errors::query_canceled>(server) == UVPG_ESERVER);
  test::wait(&lf.loop, c.query("SET statement_timeout = 0"));
  // uvpg's deadline: timed_out.
  uvpg::query_options o;
  o.timeout = std::chrono::milliseconds(100);
  auto client = c.query("SELECT pg_sleep(10)", {}, o);
  REQUIRE(test::run_until(&lf.loop, [&] { return client.available(); }));
  CHECK(failed_as<uvpg::timed_out>(client) == UV_ETIMEDOUT);
  // The program's cancel: operation_canceled.
  auto asked = c.query("SELECT pg_sleep(10)");
  until_running(&lf.loop, c, asked);
  test::wait(&lf.loop, c.cancel(), 10);
  REQUIRE(test::run_until(&lf.loop, [&] { return asked.available(); }));
  CHECK(failed_as<uvpg::operation_canceled>(asked) == UV_ECANCELED);
  test::wait(&lf.loop, c.close());
}

TEST_CASE("future::cancel: a queued statement leaves the queue unsent; "
          "the ones around it run") {
  test::loop_fixture lf;
  uvpg::connect_options co;
  co.max_pipeline = 1; // one in flight: the second waits in the queue
  auto c = test::connect(&lf.loop, co);
  auto other = test::connect(&lf.loop);
  test::wait(&lf.loop,
             other.query("CREATE TABLE IF NOT EXISTS cancel_queued "
                         "(tag text)"));
  std::string tag = "q" + std::to_string(c.backend_pid());
  auto first = c.query("SELECT pg_sleep(0.3)");
  auto second = c.query("INSERT INTO cancel_queued VALUES ($1)", tag);
  auto third = c.fetchval<int>("SELECT 3");
  CHECK(second.cancel());
  CHECK_FALSE(second.available()); // told from the loop, not in the call
  CHECK_FALSE(second.cancel());    // once
  REQUIRE(test::run_until(&lf.loop, [&] { return third.available(); }));
  CHECK_FALSE(first.failed());
  CHECK(failed_as<uvpg::operation_canceled>(second) == UV_ECANCELED);
  CHECK(third.get() == 3);
  CHECK(test::wait(&lf.loop,
                   other.fetchval<int64_t>(
                       "SELECT count(*) FROM cancel_queued WHERE tag = $1",
                       tag)) == 0);
  test::wait(&lf.loop, c.close());
  test::wait(&lf.loop, other.close());
}

TEST_CASE("future::cancel: the statement running alone is told at once "
          "and cancelled on the server; the connection goes on") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto watcher = test::connect(&lf.loop);
  int pid = c.backend_pid();
  auto q = c.query("SELECT pg_sleep(60)");
  until_running(&lf.loop, c, q);
  CHECK(backend_active(&lf.loop, watcher, pid));
  CHECK(q.cancel());
  CHECK_FALSE(q.available());
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }, 5));
  CHECK(failed_as<uvpg::operation_canceled>(q) == UV_ECANCELED);
  // The next statement waits for the cancelled one to end on the server:
  // it comes back long before pg_sleep(60) would have.
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT 4"), 20) == 4);
  CHECK_FALSE(backend_active(&lf.loop, watcher, pid));
  test::wait(&lf.loop, c.close());
  test::wait(&lf.loop, watcher.close());
}

TEST_CASE("future::cancel: a pipelined statement that is not alone is told "
          "at once; the server runs it to its end and nothing else is "
          "cancelled") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto other = test::connect(&lf.loop);
  test::wait(&lf.loop,
             other.query("CREATE TABLE IF NOT EXISTS cancel_piped "
                         "(tag text)"));
  std::string tag = "p" + std::to_string(c.backend_pid());
  auto first = c.fetchval<int>("SELECT 1 FROM pg_sleep(0.5)");
  auto second = c.query(
      "INSERT INTO cancel_piped SELECT $1 FROM pg_sleep(0.2)", tag);
  auto third = c.fetchval<int>("SELECT 3");
  REQUIRE(test::run_until(&lf.loop, [&] {
    return c.status() == UVPG_CONN_BUSY;
  }));
  CHECK(second.cancel());
  REQUIRE(test::run_until(&lf.loop, [&] { return second.available(); }));
  CHECK_FALSE(first.available()); // told before the one ahead of it
  CHECK(failed_as<uvpg::operation_canceled>(second) == UV_ECANCELED);
  REQUIRE(test::run_until(&lf.loop, [&] { return third.available(); }));
  CHECK(first.get() == 1);
  CHECK(third.get() == 3);
  // It ran: a statement in a pipeline with others is never cancelled on
  // the server, since the cancel could meet one of theirs.
  CHECK(test::wait(&lf.loop,
                   other.fetchval<int64_t>(
                       "SELECT count(*) FROM cancel_piped WHERE tag = $1",
                       tag)) == 1);
  test::wait(&lf.loop, c.close());
  test::wait(&lf.loop, other.close());
}

TEST_CASE("future::cancel: false on an available future and a future of "
          "no statement; then() passes it on") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto done = c.query("SELECT 1");
  REQUIRE(test::run_until(&lf.loop, [&] { return done.available(); }));
  CHECK_FALSE(done.cancel());
  uvpg::promise<int> p;
  auto plain = p.get_future();
  CHECK_FALSE(plain.cancel());
  p.set_value(1);
  CHECK(plain.get() == 1);
  auto sleeping = c.query("SELECT pg_sleep(60)");
  // Executing on the server, not only sent: a cancel that reaches a
  // backend still reading the statement is ignored by the server.
  until_running(&lf.loop, c, sleeping);
  uvpg::future<int> chained =
      std::move(sleeping).then([](uvpg::result) { return 5; });
  CHECK(chained.cancel());
  REQUIRE(test::run_until(&lf.loop, [&] { return chained.available(); }, 5));
  CHECK(failed_as<uvpg::operation_canceled>(chained) == UV_ECANCELED);
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT 6"), 20) == 6);
  test::wait(&lf.loop, c.close());
}

TEST_CASE("close with a cancel request out: pending work and the cancel "
          "end before the close resolves") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  auto q = c.query("SELECT pg_sleep(60)");
  until_running(&lf.loop, c, q);
  auto cancel = c.cancel();
  auto closed = c.close(); // right away: the request is still out
  bool order_ok = false;
  REQUIRE(test::run_until(&lf.loop, [&] {
    if (closed.available() && !order_ok) {
      order_ok = q.available() && cancel.available();
    }
    return closed.available();
  }, 10));
  CHECK(order_ok);
  CHECK(q.failed());
  CHECK(cancel.failed());
}
