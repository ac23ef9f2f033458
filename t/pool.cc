// uvpg::pool against the test server: acquire and release, FIFO service
// under contention, timeouts and max_waiting, 10,000 random
// acquire/drop/timeout/release interleavings with exact counts after,
// the session reset (transaction, SET, advisory lock, LISTEN, temp
// table) with the statement cache left valid, a backend killed while
// idle, close and terminate with connections out and connects in flight,
// the pool-level calls and their one deadline, hooks, max_queries, and
// that a release never runs the next waiter inside the call.
#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/pool");

using uvpg::connection;
using uvpg::future;
using uvpg::pool;
using uvpg::pool_options;

namespace {

using test::status_of;

pool_options small(size_t minsize, size_t maxsize) {
  pool_options o;
  o.minsize = minsize;
  o.maxsize = maxsize;
  return o;
}

// Runs the loop until the pool has `n` idle connections.
void settle(uv_loop_t *loop, pool &p, size_t n) {
  REQUIRE(test::run_until(loop, [&] {
    auto s = p.stats();
    return s.idle == n && s.connecting == 0 && s.in_use == 0;
  }));
}

int pid_of(uv_loop_t *loop, connection &c) {
  return test::wait(loop, c.fetchval<int>("SELECT pg_backend_pid()"));
}

} // namespace

TEST_CASE_FIXTURE(test::loop_fixture,
                  "create fills minsize; acquire lends, destroying gives back") {
  pool p = pool::create(&loop, test::dsn(), small(2, 4));
  CHECK(p.minsize() == 2);
  CHECK(p.maxsize() == 4);
  CHECK(p.timeout() == std::chrono::milliseconds(60000));
  settle(&loop, p, 2);
  CHECK(p.size() == 2);
  CHECK(p.freesize() == 2);
  {
    connection c = test::wait(&loop, p.acquire());
    CHECK(p.freesize() == 1);
    CHECK(p.stats().in_use == 1);
    CHECK(test::wait(&loop, c.fetchval<int>("SELECT 41 + 1")) == 42);
  }
  settle(&loop, p, 2);
  CHECK(p.stats().acquired == 1);
  CHECK(p.stats().opened == 2);
  test::wait(&loop, p.close());
  CHECK(p.closed());
  CHECK(p.size() == 0);
}

TEST_CASE_FIXTURE(test::loop_fixture, "create_filled waits for minsize") {
  pool p = test::wait(&loop, pool::create_filled(&loop, test::dsn(),
                                                 small(3, 5)));
  CHECK(p.freesize() == 3);
  test::wait(&loop, p.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "create_filled fails with the connect error (a role that "
                  "does not exist)") {
  // The test cluster trusts every local user, so a wrong password would
  // pass: a role that does not exist is refused instead.
  std::string dsn = test::dsn() + " user=uvpg_no_such_user";
  auto f = pool::create_filled(&loop, dsn, small(1, 2));
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  CHECK(f.failed());
  std::string what = test::outcome(f);
  CHECK(what.find("uvpg_no_such_user") != std::string::npos);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "64 waiters on maxsize 4 are served first come, first served") {
  pool p = pool::create(&loop, test::dsn(), small(4, 4));
  settle(&loop, p, 4);
  std::vector<int> served;
  std::vector<connection> held;
  // Take all four, queue 64 waiters, then give back one at a time.
  for (int i = 0; i < 4; ++i) {
    held.push_back(test::wait(&loop, p.acquire()));
  }
  std::vector<future<void>> done;
  for (int i = 0; i < 64; ++i) {
    done.push_back(p.acquire().then([&served, i](connection c) {
      served.push_back(i);
      return c.query("SELECT 1").then([](uvpg::result) {});
    }));
  }
  CHECK(p.stats().waiting == 64);
  held.clear();
  REQUIRE(test::run_until(&loop, [&] { return served.size() == 64; }));
  for (auto &f : done) {
    test::wait(&loop, std::move(f));
  }
  std::vector<int> expected(64);
  for (int i = 0; i < 64; ++i) {
    expected[i] = i;
  }
  CHECK(served == expected);
  CHECK(p.stats().waiting == 0);
  settle(&loop, p, 4);
  test::wait(&loop, p.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "an acquire times out, max_waiting refuses at once") {
  pool_options o = small(1, 1);
  o.max_waiting = 2;
  pool p = pool::create(&loop, test::dsn(), o);
  connection c = test::wait(&loop, p.acquire());
  auto w1 = p.acquire(std::chrono::milliseconds(50));
  auto w2 = p.acquire(std::chrono::milliseconds(10000));
  auto w3 = p.acquire();
  REQUIRE(w3.available()); // refused inside the call, before any wait
  try {
    w3.get();
    FAIL("no error");
  } catch (const uvpg::pool_exhausted &e) {
    CHECK(e.status() == UVPG_EPOOLFULL);
  }
  CHECK(status_of(&loop, std::move(w1)) == UV_ETIMEDOUT);
  CHECK(p.stats().timeouts == 1);
  CHECK(p.stats().exhausted == 1);
  c = connection(); // w2 gets it
  connection c2 = test::wait(&loop, std::move(w2));
  CHECK(test::wait(&loop, c2.fetchval<int>("SELECT 7")) == 7);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "10,000 random acquire/drop/timeout/release interleavings "
                  "leave exact counts") {
  pool p = pool::create(&loop, test::dsn(), small(1, 4));
  settle(&loop, p, 1);
  std::mt19937 rng(12345);
  std::vector<connection> held;
  std::vector<future<connection>> pending;
  for (int step = 0; step < 10000; ++step) {
    switch (rng() % 6) {
    case 0:
    case 1: // acquire with a short deadline, kept
      pending.push_back(
          p.acquire(std::chrono::milliseconds(1 + rng() % 5)));
      break;
    case 2: // acquire, future dropped at once
      (void)p.acquire(std::chrono::milliseconds(rng() % 3 ? 0 : 2));
      break;
    case 3: // give one back
      if (!held.empty()) {
        held.erase(held.begin() + static_cast<long>(rng() % held.size()));
      }
      break;
    case 4: // drop a pending future
      if (!pending.empty()) {
        pending.erase(pending.begin() +
                      static_cast<long>(rng() % pending.size()));
      }
      break;
    default: // let the loop turn
      uv_run(&loop, UV_RUN_NOWAIT);
      break;
    }
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->available()) {
        if (!it->failed()) {
          held.push_back(it->get());
        }
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    CHECK(p.stats().in_use <= 4);
  }
  pending.clear();
  held.clear();
  REQUIRE(test::run_until(&loop, [&] {
    auto s = p.stats();
    return s.in_use == 0 && s.waiting == 0 && s.connecting == 0 &&
           s.idle == s.size;
  }));
  auto s = p.stats();
  CHECK(s.size >= 1);
  CHECK(s.size <= 4);
  CHECK(s.lost == 0);
  // Every connection is whole: take them all and use them at once.
  std::vector<connection> all;
  for (size_t i = 0; i < 4; ++i) {
    all.push_back(test::wait(&loop, p.acquire()));
  }
  for (auto &c : all) {
    CHECK(test::wait(&loop, c.fetchval<int>("SELECT 1")) == 1);
  }
  CHECK(p.stats().in_use == 4);
  all.clear();
  settle(&loop, p, 4);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "release resets the session; the statement cache stays") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  auto admin = test::connect(&loop);
  test::wait(&loop, admin.execute("DROP TABLE IF EXISTS pool_reset_t"));
  test::wait(&loop, admin.execute("CREATE TABLE pool_reset_t (v int)"));
  int pid;
  {
    connection c = test::wait(&loop, p.acquire());
    pid = pid_of(&loop, c);
    // The statement cache: one cached statement, used before and after.
    CHECK(test::wait(&loop, c.fetchval<int>("SELECT $1::int + 1", 1)) == 2);
    test::wait(&loop, c.execute("SET statement_timeout = 4321"));
    test::wait(&loop, c.execute("SELECT pg_advisory_lock(4242)"));
    test::wait(&loop, c.execute("LISTEN pool_reset_channel"));
    test::wait(&loop, c.execute("CREATE TEMP TABLE pool_tmp (v int)"));
    test::wait(&loop, c.execute("BEGIN"));
    test::wait(&loop, c.execute("INSERT INTO pool_reset_t VALUES (1)"));
    CHECK(c.transaction_status() == UVPG_TRANS_INTRANS);
  }
  settle(&loop, p, 1);
  CHECK(p.stats().resets == 1);
  connection c = test::wait(&loop, p.acquire());
  CHECK(pid_of(&loop, c) == pid); // the same session, reset
  CHECK(c.transaction_status() == UVPG_TRANS_IDLE);
  CHECK(test::wait(&loop, c.fetchval<std::string>("SHOW statement_timeout")) ==
        "0");
  CHECK(test::count_of(&loop, admin,
                       "SELECT count(*) FROM pool_reset_t") == 0);
  CHECK(test::count_of(&loop, admin,
                       "SELECT count(*) FROM pg_locks WHERE locktype = "
                       "'advisory' AND pid = " + std::to_string(pid)) == 0);
  CHECK(test::wait(&loop, c.fetchval<int64_t>(
            "SELECT count(*) FROM pg_listening_channels()")) == 0);
  CHECK(test::wait(&loop, c.fetchval<std::optional<std::string>>(
            "SELECT to_regclass('pool_tmp')::text")) == std::nullopt);
  CHECK(test::wait(&loop, c.fetchval<int>("SELECT $1::int + 1", 2)) == 3);
  test::wait(&loop, admin.execute("DROP TABLE pool_reset_t"));
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "a lease of plain queries costs no reset; an open "
                  "transaction is rolled back in every mode") {
  for (auto mode : {uvpg::pool_reset::automatic, uvpg::pool_reset::always,
                    uvpg::pool_reset::transaction_only}) {
    pool_options o = small(1, 1);
    o.reset = mode;
    pool p = pool::create(&loop, test::dsn(), o);
    {
      connection c = test::wait(&loop, p.acquire());
      test::wait(&loop, c.query("SELECT 1"));
      test::wait(&loop, c.query("SELECT $1::int", 5));
    }
    settle(&loop, p, 1);
    CHECK(p.stats().resets == (mode == uvpg::pool_reset::always ? 1u : 0u));
    {
      connection c = test::wait(&loop, p.acquire());
      auto tx = test::wait(&loop, c.begin());
      test::wait(&loop, c.query("SELECT 1"));
      // The handle goes with its connection; the pool rolls back.
    }
    settle(&loop, p, 1);
    {
      connection c = test::wait(&loop, p.acquire());
      CHECK(c.transaction_status() == UVPG_TRANS_IDLE);
      CHECK(c.autocommit());
    }
    test::wait(&loop, p.close());
  }
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "a statement with session effects in a function name "
                  "triggers the reset") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  {
    connection c = test::wait(&loop, p.acquire());
    test::wait(&loop,
               c.query("SELECT set_config('application_name', 'leaked', "
                       "false)"));
  }
  settle(&loop, p, 1);
  CHECK(p.stats().resets == 1);
  connection c = test::wait(&loop, p.acquire());
  CHECK(test::wait(&loop, c.fetchval<std::string>("SHOW application_name")) !=
        "leaked");
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "objects of a released lease fail with a usage error") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  uvpg::prepared_statement st;
  std::optional<uvpg::cursor> cur;
  {
    connection c = test::wait(&loop, p.acquire());
    st = test::wait(&loop, c.prepare("SELECT $1::int"));
    cur.emplace(c);
  }
  settle(&loop, p, 1);
  connection c = test::wait(&loop, p.acquire()); // the same engine
  try {
    (void)st.query(uvpg::params{uvpg::param(1)});
    FAIL("no usage error");
  } catch (const uvpg::usage_error &e) {
    CHECK(std::string(e.what()).find("pool") != std::string::npos);
  }
  auto f = cur->execute("SELECT 1");
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  CHECK(f.failed());
  CHECK(test::wait(&loop, c.fetchval<int>("SELECT 3")) == 3);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "a backend killed while idle is dropped and replaced") {
  pool p = pool::create(&loop, test::dsn(), small(2, 2));
  settle(&loop, p, 2);
  std::set<int> before;
  {
    connection a = test::wait(&loop, p.acquire());
    connection b = test::wait(&loop, p.acquire());
    before = {pid_of(&loop, a), pid_of(&loop, b)};
  }
  settle(&loop, p, 2);
  auto admin = test::connect(&loop);
  int victim = *before.begin();
  CHECK(test::wait(&loop, admin.fetchval<bool>(
            "SELECT pg_terminate_backend($1)", victim)));
  REQUIRE(test::run_until(&loop, [&] { return p.stats().lost == 1; }));
  settle(&loop, p, 2);
  CHECK(p.stats().opened == 3);
  // Neither connection handed out now is the dead one.
  connection a = test::wait(&loop, p.acquire());
  connection b = test::wait(&loop, p.acquire());
  CHECK(pid_of(&loop, a) != victim);
  CHECK(pid_of(&loop, b) != victim);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "a lent connection the program closes leaves the pool") {
  pool p = pool::create(&loop, test::dsn(), small(1, 2));
  settle(&loop, p, 1);
  connection c = test::wait(&loop, p.acquire());
  int pid = pid_of(&loop, c);
  test::wait(&loop, c.close());
  settle(&loop, p, 1);
  connection d = test::wait(&loop, p.acquire());
  CHECK(pid_of(&loop, d) != pid);
  CHECK(p.stats().closed == 0); // the program closed it, not the pool
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "close waits for lent connections; waiters fail") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  connection c = test::wait(&loop, p.acquire());
  auto waiter = p.acquire();
  auto closed = p.close();
  CHECK(status_of(&loop, std::move(waiter)) == UVPG_ECLOSED);
  CHECK_FALSE(closed.available());
  // The lent connection still works until it comes back.
  CHECK(test::wait(&loop, c.fetchval<int>("SELECT 5")) == 5);
  CHECK(status_of(&loop, p.acquire()) == UVPG_ECLOSED);
  c = connection();
  test::wait(&loop, std::move(closed));
  CHECK(p.size() == 0);
  test::wait(&loop, p.wait_closed());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "terminate closes lent connections: their work is canceled") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  connection c = test::wait(&loop, p.acquire());
  auto q = c.query("SELECT pg_sleep(30)");
  auto done = p.terminate();
  CHECK(status_of(&loop, std::move(q)) == UV_ECANCELED);
  test::wait(&loop, std::move(done), 5);
  CHECK(c.closed());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "close does not wait for connects in flight") {
  // A port nobody answers on with a SYN: 10.255.255.1 is unroutable on
  // most networks; a local listener that never accepts does the same
  // here without depending on the network.
  uv_tcp_t srv;
  int port = test::listen_local(&loop, &srv, [](uv_stream_t *, int) {});
  pool_options o = small(3, 3);
  o.connect.timeout = std::chrono::milliseconds(60000);
  pool p = pool::create(&loop,
                        "host=127.0.0.1 port=" + std::to_string(port) +
                            " user=uvpg dbname=postgres sslmode=disable",
                        o);
  REQUIRE(test::run_until(&loop, [&] { return p.stats().connecting == 3; }));
  auto waiter = p.acquire();
  uv_update_time(&loop);
  uint64_t t0 = uv_now(&loop);
  test::wait(&loop, p.close(), 5);
  CHECK(uv_now(&loop) - t0 < 5000);
  CHECK(status_of(&loop, std::move(waiter)) == UVPG_ECLOSED);
  bool srv_closed = false;
  srv.data = &srv_closed;
  uv_close(reinterpret_cast<uv_handle_t *>(&srv), [](uv_handle_t *h) {
    *static_cast<bool *>(h->data) = true;
  });
  REQUIRE(test::run_until(&loop, [&] { return srv_closed; }));
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "pool-level calls acquire, run and give back") {
  pool p = pool::create(&loop, test::dsn(), small(1, 2));
  CHECK(test::wait(&loop, p.fetchval<int>("SELECT $1::int * 2", 21)) == 42);
  auto row = test::wait(&loop, p.fetchrow("SELECT 1 AS a, 'x' AS b"));
  REQUIRE(row);
  CHECK(row->get<std::string>(1) == "x");
  CHECK(test::wait(&loop, p.fetch("SELECT generate_series(1, 3)")).rows() ==
        3);
  CHECK(test::wait(&loop, p.execute("SELECT 1")) == "SELECT 1");
  test::wait(&loop, p.execute("DROP TABLE IF EXISTS pool_calls_t"));
  test::wait(&loop, p.execute("CREATE TABLE pool_calls_t (v int)"));
  test::wait(&loop, p.executemany("INSERT INTO pool_calls_t VALUES ($1)",
                                  {{1}, {2}, {3}}));
  CHECK(test::wait(&loop, p.copy_to_table("pool_calls_t", "4\n5\n")) == 2);
  CHECK(test::wait(&loop, p.fetchval<int64_t>(
            "SELECT sum(v) FROM pool_calls_t")) == 15);
  int sum = test::wait(&loop, p.transaction([](connection &c) {
    CHECK_FALSE(c.autocommit());
    return c.fetchval<int>("SELECT count(*)::int FROM pool_calls_t");
  }));
  CHECK(sum == 5);
  int v = test::wait(&loop, p.run([](connection &c) {
    return c.fetchval<int>("SELECT 9");
  }));
  CHECK(v == 9);
  settle(&loop, p, p.size());
  CHECK(p.stats().in_use == 0);
  test::wait(&loop, p.execute("DROP TABLE pool_calls_t"));
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "one deadline: the statement is cancelled, the "
                  "connection reused") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  settle(&loop, p, 1);
  uvpg::query_options qo;
  qo.timeout = std::chrono::milliseconds(100);
  auto f = p.query("SELECT pg_sleep(10)", {}, qo);
  CHECK(status_of(&loop, std::move(f)) == UV_ETIMEDOUT);
  // The same connection serves the next call once the cancel is through.
  CHECK(test::wait(&loop, p.fetchval<int>("SELECT 11"), 10) == 11);
  CHECK(p.stats().opened == 1);
  CHECK(p.stats().lost == 0);
  settle(&loop, p, 1);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "the deadline counts the wait for a connection") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  connection c = test::wait(&loop, p.acquire());
  uvpg::query_options qo;
  qo.timeout = std::chrono::milliseconds(80);
  CHECK(status_of(&loop, p.query("SELECT 1", {}, qo)) == UV_ETIMEDOUT);
}

TEST_CASE_FIXTURE(test::loop_fixture, "max_queries replaces a connection") {
  pool_options o = small(1, 1);
  o.max_queries = 3;
  pool p = pool::create(&loop, test::dsn(), o);
  int first;
  {
    connection c = test::wait(&loop, p.acquire());
    first = pid_of(&loop, c);
    test::wait(&loop, c.query("SELECT 1"));
    test::wait(&loop, c.query("SELECT 2"));
  }
  connection c = test::wait(&loop, p.acquire());
  CHECK(pid_of(&loop, c) != first);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "init runs once per connection, setup per acquire, the "
                  "reset hook per release") {
  int inits = 0, setups = 0, resets = 0;
  pool_options o = small(1, 1);
  o.init = [&inits](connection &c) {
    ++inits;
    return c.query("SELECT 1").then([](uvpg::result) {});
  };
  o.setup = [&setups](connection &) {
    ++setups;
    return uvpg::make_ready_future();
  };
  o.reset_fn = [&resets](connection &) {
    ++resets;
    return uvpg::make_ready_future();
  };
  pool p = pool::create(&loop, test::dsn(), o);
  for (int i = 0; i < 3; ++i) {
    connection c = test::wait(&loop, p.acquire());
  }
  settle(&loop, p, 1);
  CHECK(inits == 1);
  CHECK(setups == 3);
  CHECK(resets == 3);
  test::wait(&loop, p.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "a failing init drops the connection and the pool retries") {
  int calls = 0;
  pool_options o = small(1, 1);
  o.init = [&calls](connection &c) -> future<void> {
    if (++calls == 1) {
      return c.query("SELECT 1/0").then([](uvpg::result) {});
    }
    return uvpg::make_ready_future();
  };
  pool p = pool::create(&loop, test::dsn(), o);
  connection c = test::wait(&loop, p.acquire());
  CHECK(calls == 2);
  CHECK(test::wait(&loop, c.fetchval<int>("SELECT 1")) == 1);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "a release inside a callback does not run the next waiter "
                  "inside it") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  connection first = test::wait(&loop, p.acquire());
  bool in_release = false, ran_inside = false, served = false;
  auto w = p.acquire().then([&](connection) {
    ran_inside = in_release;
    served = true;
  });
  in_release = true;
  first = connection();
  in_release = false;
  CHECK_FALSE(served);
  test::wait(&loop, std::move(w));
  CHECK(served);
  CHECK_FALSE(ran_inside);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "pool.cursor gives its connection back when closed") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  uvpg::pooled_cursor cur = test::wait(&loop, p.cursor());
  test::wait(&loop, cur->execute("SELECT generate_series(1, 5)"));
  CHECK(test::wait(&loop, cur->fetchall()).size() == 5);
  CHECK(p.stats().in_use == 1);
  test::wait(&loop, cur.close());
  settle(&loop, p, 1);
}

TEST_CASE_FIXTURE(test::loop_fixture, "usage errors") {
  CHECK_THROWS_AS(pool::create(nullptr, test::dsn()), uvpg::usage_error);
  CHECK_THROWS_AS(pool::create(&loop, test::dsn(), small(5, 2)),
                  uvpg::usage_error);
  pool a = pool::create(&loop, test::dsn(), small(1, 1));
  pool b = pool::create(&loop, test::dsn(), small(1, 1));
  connection c = test::wait(&loop, a.acquire());
  CHECK_THROWS_AS((void)b.release(std::move(c)), uvpg::usage_error);
  pool empty;
  CHECK_THROWS_AS((void)empty.acquire(), uvpg::usage_error);
  CHECK(empty.closed());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "the acquire deadline holds while a setup hook runs") {
  pool_options o = small(1, 1);
  o.setup = [](connection &c) {
    return c.query("SELECT pg_sleep(1)").then([](uvpg::result) {});
  };
  pool p = pool::create(&loop, test::dsn(), o);
  settle(&loop, p, 1);
  auto f = p.acquire(std::chrono::milliseconds(150));
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }, 0.9));
  CHECK(status_of(&loop, std::move(f)) == UV_ETIMEDOUT);
  // The connection set up meanwhile stays in the pool.
  settle(&loop, p, 1);
  CHECK(p.stats().closed == 0);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "terminate while init and setup hooks run: waiters are "
                  "told, nothing is touched after it went") {
  pool_options o = small(1, 1);
  o.init = [this](connection &) { return test::sleep_ms(&loop, 300); };
  pool p = pool::create(&loop, test::dsn(), o);
  auto w = p.acquire();
  REQUIRE(test::run_until(&loop, [&] { return p.stats().connecting == 1 &&
                                              p.stats().opened == 1; }));
  test::wait(&loop, p.terminate(), 5);
  CHECK(status_of(&loop, std::move(w)) == UVPG_ECLOSED);
  test::wait(&loop, test::sleep_ms(&loop, 400)); // the hook ends after

  pool_options o2 = small(1, 1);
  o2.setup = [](connection &c) {
    return c.query("SELECT pg_sleep(0.5)").then([](uvpg::result) {});
  };
  pool p2 = pool::create(&loop, test::dsn(), o2);
  settle(&loop, p2, 1);
  auto w2 = p2.acquire();
  REQUIRE(test::run_until(&loop, [&] { return p2.stats().in_use == 1; }));
  auto done = p2.terminate();
  CHECK(status_of(&loop, std::move(w2)) == UVPG_ECLOSED);
  test::wait(&loop, std::move(done), 5);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "the reset hook never runs inside the release") {
  bool in_release = false, inside = false;
  int calls = 0;
  pool_options o = small(1, 1);
  o.reset_fn = [&](connection &) {
    inside = inside || in_release;
    ++calls;
    return uvpg::make_ready_future();
  };
  pool p = pool::create(&loop, test::dsn(), o);
  connection c = test::wait(&loop, p.acquire());
  in_release = true;
  c = connection();
  in_release = false;
  settle(&loop, p, 1);
  CHECK(calls == 1);
  CHECK_FALSE(inside);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "statements that change the session through a view, "
                  "pg_temp or a sequence trigger the reset") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  uint64_t resets = 0;
  for (const char *sql :
       {"UPDATE pg_settings SET setting = 'x' WHERE name = "
        "'application_name'",
        "SELECT 1 AS v INTO pg_temp.pool_into_tmp",
        "SELECT setseed(0.5)"}) {
    {
      connection c = test::wait(&loop, p.acquire());
      test::wait(&loop, c.query(sql));
    }
    settle(&loop, p, 1);
    CHECK_MESSAGE(p.stats().resets == ++resets, sql);
  }
  connection c = test::wait(&loop, p.acquire());
  CHECK(test::wait(&loop, c.fetchval<std::string>("SHOW application_name")) !=
        "x");
  CHECK(test::wait(&loop, c.fetchval<std::optional<std::string>>(
            "SELECT to_regclass('pg_temp.pool_into_tmp')::text")) ==
        std::nullopt);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "given back in an aborted transaction with work in "
                  "flight: rolled back, not dropped") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  int pid;
  {
    connection c = test::wait(&loop, p.acquire());
    pid = pid_of(&loop, c);
    test::wait(&loop, c.execute("BEGIN"));
    auto bad = c.query("SELECT 1/0");
    auto after = c.query("SELECT 2"); // 25P02, still in flight
    (void)bad;
    (void)after;
  }
  settle(&loop, p, 1);
  connection c = test::wait(&loop, p.acquire());
  CHECK(pid_of(&loop, c) == pid);
  CHECK(c.transaction_status() == UVPG_TRANS_IDLE);
  CHECK(p.stats().closed == 0);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "a COPY writer of a released connection fails; the "
                  "connection is replaced") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  std::optional<uvpg::copy_writer> w;
  int pid;
  {
    connection c = test::wait(&loop, p.acquire());
    pid = pid_of(&loop, c);
    test::wait(&loop, c.execute("CREATE TEMP TABLE pool_copy_t (v int)"));
    w.emplace(test::wait(&loop, c.copy_in("COPY pool_copy_t FROM STDIN")));
  }
  auto f = w->write("1\n");
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  CHECK(test::outcome(f).find("connection is closed") != std::string::npos);
  settle(&loop, p, 1);
  connection c = test::wait(&loop, p.acquire());
  CHECK(pid_of(&loop, c) != pid);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "pool-level statements are pipelined on idle connections; "
                  "an acquire still gets one") {
  pool p = pool::create(&loop, test::dsn(), small(2, 2));
  settle(&loop, p, 2);
  std::vector<future<int>> fs;
  for (int i = 0; i < 200; ++i) {
    fs.push_back(p.fetchval<int>("SELECT $1::int", i));
  }
  // Queued behind them: an acquire (FIFO for leases) and more calls.
  auto lease = p.acquire();
  for (int i = 200; i < 300; ++i) {
    fs.push_back(p.fetchval<int>("SELECT $1::int", i));
  }
  for (int i = 0; i < 300; ++i) {
    CHECK(test::wait(&loop, std::move(fs[static_cast<size_t>(i)])) == i);
  }
  connection c = test::wait(&loop, std::move(lease));
  CHECK(test::wait(&loop, c.fetchval<int>("SELECT 1")) == 1);
  CHECK(p.stats().opened == 2);
  c = connection();
  settle(&loop, p, 2);
  // A failing statement fails alone.
  auto bad = p.fetchval<int>("SELECT 1/0");
  auto good = p.fetchval<int>("SELECT 2");
  CHECK(status_of(&loop, std::move(bad)) == UVPG_ESERVER);
  CHECK(test::wait(&loop, std::move(good)) == 2);
  CHECK(p.stats().resets == 0);
  CHECK(p.stats().closed == 0);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "executemany through the pool: the deadline bounds the "
                  "batch") {
  pool_options o = small(1, 1);
  o.timeout = std::chrono::milliseconds(300);
  pool p = pool::create(&loop, test::dsn(), o);
  settle(&loop, p, 1);
  auto f = p.executemany("SELECT pg_sleep($1::float8)", {{0.2}, {0.2}, {0.2}});
  CHECK(status_of(&loop, std::move(f)) == UV_ETIMEDOUT);
  CHECK(test::wait(&loop, p.fetchval<int>("SELECT 4"), 10) == 4);
  CHECK(p.stats().lost == 0);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "overdue shared statements are cancelled once all on the "
                  "connection are told; counters stay exact") {
  pool_options o = small(1, 1);
  o.timeout = std::chrono::milliseconds(300);
  pool p = pool::create(&loop, test::dsn(), o);
  settle(&loop, p, 1);
  auto slow = p.fetchval<int>("SELECT 1 FROM pg_sleep(30)");
  auto behind = p.fetchval<int>("SELECT 2");
  CHECK(status_of(&loop, std::move(slow)) == UV_ETIMEDOUT);
  CHECK(status_of(&loop, std::move(behind)) == UV_ETIMEDOUT);
  // The sleep was cancelled: the connection is free again long before
  // the sleep would have ended.
  connection c = test::wait(&loop, p.acquire(std::chrono::milliseconds(10000)),
                            10);
  CHECK(test::wait(&loop, c.fetchval<int>("SELECT 3")) == 3);
  auto s = p.stats();
  CHECK(s.timeouts == 2);
  CHECK(s.wait_ns < 10ull * 1000 * 1000 * 1000);
  CHECK(s.lost == 0);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "a deadline counts from the call, not from an old loop "
                  "time") {
  pool_options o = small(1, 1);
  o.timeout = std::chrono::milliseconds(200);
  pool p = pool::create(&loop, test::dsn(), o);
  settle(&loop, p, 1);
  uv_sleep(300); // the program was busy: uv_now() is stale
  CHECK(test::wait(&loop, p.fetchval<int>("SELECT 5")) == 5);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "the setup hook runs for pool-level statements too") {
  int setups = 0;
  pool_options o = small(1, 1);
  o.setup = [&setups](connection &) {
    ++setups;
    return uvpg::make_ready_future();
  };
  pool p = pool::create(&loop, test::dsn(), o);
  settle(&loop, p, 1);
  CHECK(test::wait(&loop, p.fetchval<int>("SELECT 7")) == 7);
  CHECK(setups == 1);
}

TEST_SUITE_END();

TEST_CASE_FIXTURE(test::loop_fixture,
                  "future::cancel of a waiting acquire: it fails with "
                  "operation_canceled and the next caller is served") {
  pool p = pool::create(&loop, test::dsn(), small(1, 1));
  auto held = test::wait(&loop, p.acquire());
  auto waiting = p.acquire();
  auto behind = p.acquire();
  CHECK(waiting.cancel());
  CHECK_FALSE(waiting.available()); // told from the loop
  CHECK_FALSE(waiting.cancel());
  REQUIRE(test::run_until(&loop, [&] { return waiting.available(); }));
  try {
    waiting.get();
    FAIL("a cancelled acquire was served");
  } catch (const uvpg::operation_canceled &e) {
    CHECK(e.status() == UV_ECANCELED);
  }
  held = connection(); // gives it back: `behind` is next
  connection c = test::wait(&loop, std::move(behind));
  CHECK(test::wait(&loop, c.fetchval<int>("SELECT 1")) == 1);
  c = connection();
  // Served at once (an idle connection, nobody ahead): nothing to cancel.
  auto ready = p.acquire();
  REQUIRE(ready.available());
  CHECK_FALSE(ready.cancel());
}
