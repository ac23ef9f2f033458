// uvpg::transaction against the test server: commit and rollback seen
// from another connection, savepoints, every isolation level and option
// as the server reports them, the usage errors, 25P02 after an error in
// a pipelined transaction, autocommit(), the scoped form and the retry
// helper under a real serialization failure and a real deadlock.
#include <algorithm>
#include <string>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/transaction");

using uvpg::future;
using uvpg::isolation_level;
using uvpg::transaction;
using uvpg::transaction_options;

namespace {

using test::status_of;

// A table of this test case's own: "tx_<name>" (id int, v int).
std::string make_table(uv_loop_t *loop, uvpg::connection &c,
                       const std::string &name) {
  std::string t = "tx_" + name;
  test::wait(loop, c.execute("DROP TABLE IF EXISTS " + t));
  test::wait(loop, c.execute("CREATE TABLE " + t +
                             " (id int PRIMARY KEY, v int NOT NULL)"));
  return t;
}

std::vector<long long> ids(uv_loop_t *loop, uvpg::connection &c,
                           const std::string &table) {
  auto r = test::wait(loop, c.query("SELECT id FROM " + table +
                                    " ORDER BY id"));
  std::vector<long long> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(r[i].get<int64_t>(0));
  }
  return out;
}

// Waits for `f` and returns the usage error's text ("" when it did not
// fail with one).
template <class T> std::string usage_text(uv_loop_t *loop, future<T> f) {
  REQUIRE(test::run_until(loop, [&] { return f.available(); }));
  try {
    f.get();
  } catch (const uvpg::usage_error &e) {
    return e.what();
  } catch (...) {
  }
  return "";
}


// Waits for `f`: "ok", the SQLSTATE of a server error, or other words.
template <class T> std::string outcome(uv_loop_t *loop, const future<T> &f) {
  REQUIRE(test::run_until(loop, [&] { return f.available(); }));
  return test::outcome(f);
}

std::string show(uv_loop_t *loop, uvpg::connection &c, const char *what) {
  return test::wait(loop, c.fetchval<std::string>(std::string("SHOW ") +
                                                  what));
}

} // namespace

TEST_CASE_FIXTURE(test::loop_fixture,
                  "commit: the work is seen from another connection") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "commit");
  CHECK(a.autocommit());
  auto f = a.begin();
  CHECK_FALSE(a.autocommit()); // the statements queued now run inside
  transaction tx = test::wait(&loop, std::move(f));
  CHECK(tx.active());
  CHECK_FALSE(tx.nested());
  CHECK(a.transaction_status() == UVPG_TRANS_INTRANS);
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 1)"));
  CHECK(ids(&loop, b, t).empty()); // not yet committed
  test::wait(&loop, tx.commit());
  CHECK_FALSE(tx.active());
  CHECK(a.autocommit());
  CHECK(a.transaction_status() == UVPG_TRANS_IDLE);
  CHECK(ids(&loop, b, t) == std::vector<long long>{1});
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "rollback: the work is gone, seen from another "
                  "connection") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "rollback");
  transaction tx = test::wait(&loop, a.begin());
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 1)"));
  CHECK(ids(&loop, a, t) == std::vector<long long>{1});
  test::wait(&loop, tx.rollback());
  CHECK(a.transaction_status() == UVPG_TRANS_IDLE);
  CHECK(ids(&loop, b, t).empty());
  CHECK(ids(&loop, a, t).empty());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "begin nested: a savepoint rolls back alone and keeps "
                  "the outer work") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "nested");
  transaction outer = test::wait(&loop, a.begin());
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 1)"));

  transaction inner = test::wait(&loop, outer.begin());
  CHECK(inner.nested());
  CHECK_FALSE(inner.savepoint_name().empty());
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (2, 1)"));
  // An error inside the savepoint: its rollback makes the outer usable.
  CHECK(outcome(&loop, a.query("SELECT 1/0")) == "22012");
  test::wait(&loop, inner.rollback());
  CHECK(a.transaction_status() == UVPG_TRANS_INTRANS);

  // connection::begin() inside an open transaction nests in it (aiopg's
  // begin_nested()).
  transaction second = test::wait(&loop, a.begin());
  CHECK(second.nested());
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (3, 1)"));
  test::wait(&loop, second.commit());

  CHECK(ids(&loop, b, t).empty());
  test::wait(&loop, outer.commit());
  CHECK(ids(&loop, b, t) == std::vector<long long>{1, 3});
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "begin: every isolation level and option as the server "
                  "reports it") {
  auto a = test::connect(&loop);
  std::string fallback = show(&loop, a, "default_transaction_isolation");
  struct level {
    isolation_level l;
    std::string shown;
  };
  for (const level &x : {level{isolation_level::server_default, fallback},
                         level{isolation_level::serializable, "serializable"},
                         level{isolation_level::repeatable_read,
                               "repeatable read"},
                         level{isolation_level::read_committed,
                               "read committed"},
                         level{isolation_level::read_uncommitted,
                               "read uncommitted"}}) {
    for (bool ro : {false, true}) {
      transaction_options o;
      o.isolation = x.l;
      o.read_only = ro;
      INFO("level " << x.shown << ", read_only " << ro);
      transaction tx = test::wait(&loop, a.begin(o));
      CHECK(show(&loop, a, "transaction_isolation") == x.shown);
      CHECK(show(&loop, a, "transaction_read_only") == (ro ? "on" : "off"));
      CHECK(show(&loop, a, "transaction_deferrable") == "off");
      test::wait(&loop, tx.rollback());
    }
  }
  transaction_options o;
  o.isolation = isolation_level::serializable;
  o.read_only = true;
  o.deferrable = true;
  transaction tx = test::wait(&loop, a.begin(o));
  CHECK(show(&loop, a, "transaction_isolation") == "serializable");
  CHECK(show(&loop, a, "transaction_read_only") == "on");
  CHECK(show(&loop, a, "transaction_deferrable") == "on");
  // READ ONLY is enforced by the server.
  CHECK(outcome(&loop, a.query("CREATE TEMP TABLE tx_ro (i int)")) ==
        "25006");
  test::wait(&loop, tx.rollback());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "transaction: usage errors fail the future with "
                  "usage_error") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "usage");

  SUBCASE("commit twice, rollback after commit") {
    transaction tx = test::wait(&loop, a.begin());
    test::wait(&loop, tx.commit());
    CHECK(usage_text(&loop, tx.commit()).find("already committed") !=
          std::string::npos);
    CHECK(usage_text(&loop, tx.rollback()).find("already committed") !=
          std::string::npos);
    CHECK(usage_text(&loop, tx.begin()).find("already committed") !=
          std::string::npos);
  }
  SUBCASE("a second commit before the first completes") {
    transaction tx = test::wait(&loop, a.begin());
    auto first = tx.commit();
    CHECK(usage_text(&loop, tx.commit()).find("already committed") !=
          std::string::npos);
    test::wait(&loop, std::move(first));
  }
  SUBCASE("the outer transaction while an inner one is open") {
    transaction outer = test::wait(&loop, a.begin());
    transaction inner = test::wait(&loop, outer.begin());
    for (auto *what : {"commit", "rollback", "begin"}) {
      INFO(what);
      std::string text =
          what == std::string("commit")     ? usage_text(&loop, outer.commit())
          : what == std::string("rollback") ? usage_text(&loop,
                                                         outer.rollback())
                                            : usage_text(&loop, outer.begin());
      CHECK(text.find("nested transaction inside it is still open") !=
            std::string::npos);
    }
    CHECK(outer.active());
    test::wait(&loop, inner.commit());
    test::wait(&loop, outer.commit());
  }
  SUBCASE("options on a nested transaction") {
    transaction outer = test::wait(&loop, a.begin());
    transaction_options o;
    o.read_only = true;
    CHECK(usage_text(&loop, a.begin(o)).find("savepoint") !=
          std::string::npos);
    test::wait(&loop, outer.rollback());
  }
  SUBCASE("commit after the connection was closed") {
    transaction tx = test::wait(&loop, a.begin());
    test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 1)"));
    test::wait(&loop, a.close());
    CHECK(usage_text(&loop, tx.commit()).find("connection is closed") !=
          std::string::npos);
    CHECK(usage_text(&loop, tx.rollback()).find("connection is closed") !=
          std::string::npos);
    CHECK(ids(&loop, b, t).empty()); // the server rolled it back
  }
  SUBCASE("begin inside a transaction uvpg did not start sends nothing") {
    test::wait(&loop, a.execute("BEGIN"));
    test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 1)"));
    CHECK(a.transaction_status() == UVPG_TRANS_INTRANS);
    CHECK_FALSE(a.autocommit());
    std::string text = usage_text(&loop, a.begin());
    CHECK(text.find("did not start") != std::string::npos);
    CHECK(a.error_message().find("did not start") != std::string::npos);
    // Nothing was sent: the program's transaction goes on as it was.
    CHECK(a.transaction_status() == UVPG_TRANS_INTRANS);
    test::wait(&loop, a.execute("COMMIT"));
    CHECK(a.autocommit());
    CHECK(ids(&loop, b, t) == std::vector<long long>{1});
  }
  SUBCASE("an empty transaction") {
    transaction tx;
    CHECK_FALSE(tx.active());
    CHECK(usage_text(&loop, tx.commit()).find("empty") != std::string::npos);
  }
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "begin: on a closed connection fails with UVPG_ECLOSED") {
  auto a = test::connect(&loop);
  test::wait(&loop, a.close());
  CHECK(status_of(&loop, a.begin()) == UVPG_ECLOSED);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "transaction: statements stay pipelined; after an error "
                  "the later ones fail with 25P02 and commit fails") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "aborted");
  transaction tx = test::wait(&loop, a.begin());
  // Queued together, without waiting: they go out as one pipeline.
  auto f1 = a.execute("INSERT INTO " + t + " VALUES (1, 1)");
  auto f2 = a.execute("INSERT INTO " + t + " VALUES (1, 2)"); // duplicate
  auto f3 = a.execute("INSERT INTO " + t + " VALUES (3, 3)");
  auto f4 = a.query("SELECT 1");
  auto c = tx.commit();
  CHECK(a.status() == UVPG_CONN_BUSY);
  REQUIRE(test::run_until(&loop, [&] { return c.available(); }));
  CHECK(test::outcome(f1) == "ok");
  CHECK(test::outcome(f2) == "23505");
  CHECK(test::outcome(f3) == "25P02");
  CHECK(test::outcome(f4) == "25P02");
  try {
    f3.get();
  } catch (const uvpg::server_error &e) {
    CHECK(std::string(e.what()).find("current transaction is aborted") !=
          std::string::npos);
  }
  CHECK(c.failed());
  try {
    std::rethrow_exception(c.get_exception());
  } catch (const uvpg::operational_error &e) {
    CHECK(e.status() == UVPG_EROLLEDBACK);
  } catch (...) {
    FAIL("a commit that rolled back is an operational_error");
  }
  CHECK(status_of(&loop, std::move(c)) == UVPG_EROLLEDBACK);
  CHECK_FALSE(tx.active());
  CHECK(a.transaction_status() == UVPG_TRANS_IDLE);
  CHECK(ids(&loop, b, t).empty());
  // The session goes on.
  CHECK(test::count_of(&loop, a, "SELECT 7") == 7);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "transaction: destroying an open one rolls it back "
                  "without waiting") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "destroyed");
  {
    transaction tx = test::wait(&loop, a.begin());
    test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 1)"));
    {
      transaction inner = test::wait(&loop, tx.begin());
      test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (2, 1)"));
    } // ROLLBACK TO SAVEPOINT queued
    CHECK(tx.active());
    CHECK(ids(&loop, a, t) == std::vector<long long>{1});
  } // ROLLBACK queued
  CHECK(a.autocommit());
  CHECK(ids(&loop, a, t).empty());
  CHECK(a.transaction_status() == UVPG_TRANS_IDLE);
  CHECK(ids(&loop, b, t).empty());
  // A begin() whose future nobody awaits is rolled back as well.
  // Its ROLLBACK is queued when the BEGIN completes, so after the
  // statement queued now and before the one queued after that.
  { auto ignored = a.begin(); }
  CHECK(test::count_of(&loop, a, "SELECT 1") == 1);
  CHECK(test::count_of(&loop, a, "SELECT 2") == 2);
  CHECK(a.transaction_status() == UVPG_TRANS_IDLE);
  CHECK(a.autocommit());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "transaction: a named cursor inside one uses it; its own "
                  "implicit one makes begin() a usage error") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "cursor");
  {
    transaction tx = test::wait(&loop, a.begin());
    test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 1)"));
    uvpg::cursor cur(a, {.name = "tx_cur"});
    test::wait(&loop, cur.execute("SELECT id FROM " + t));
    CHECK(test::wait(&loop, cur.fetchall()).size() == 1);
    test::wait(&loop, cur.close());
    // The cursor began nothing of its own: the transaction is still ours.
    CHECK(tx.active());
    CHECK(a.transaction_status() == UVPG_TRANS_INTRANS);
    test::wait(&loop, tx.commit());
    CHECK(ids(&loop, b, t) == std::vector<long long>{1});
  }
  {
    uvpg::cursor cur(a, {.name = "tx_cur2", .scrollable = true});
    test::wait(&loop, cur.execute("SELECT id FROM " + t));
    CHECK_FALSE(a.autocommit()); // the cursor's implicit transaction
    CHECK(usage_text(&loop, a.begin()).find("named cursor") !=
          std::string::npos);
    test::wait(&loop, cur.close());
    CHECK(a.autocommit());
    transaction tx = test::wait(&loop, a.begin());
    test::wait(&loop, tx.rollback());
  }
}

namespace {

struct boom : std::runtime_error {
  boom() : std::runtime_error("boom") {}
};

} // namespace

TEST_CASE_FIXTURE(test::loop_fixture,
                  "transaction_scope: commits on success, rolls back on an "
                  "exception and rethrows it") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "scope");

  auto ok = uvpg::transaction_scope(
      a, [&](transaction &) -> future<int> {
        co_await a.execute("INSERT INTO " + t + " VALUES (1, 1)");
        co_return 42;
      });
  CHECK(test::wait(&loop, std::move(ok)) == 42);
  CHECK(ids(&loop, b, t) == std::vector<long long>{1});

  auto bad = uvpg::transaction_scope(
      a, [&](transaction &) -> future<void> {
        co_await a.execute("INSERT INTO " + t + " VALUES (2, 1)");
        throw boom();
      });
  REQUIRE(test::run_until(&loop, [&] { return bad.available(); }));
  CHECK_THROWS_AS(bad.get(), boom);
  CHECK(a.transaction_status() == UVPG_TRANS_IDLE);
  CHECK(ids(&loop, b, t) == std::vector<long long>{1});

  // A server error inside: rolled back, the error comes out.
  auto failed = uvpg::transaction_scope(
      a, [&](transaction &) -> future<void> {
        co_await a.execute("INSERT INTO " + t + " VALUES (3, 1)");
        co_await a.execute("INSERT INTO " + t + " VALUES (1, 1)");
      });
  CHECK(outcome(&loop, failed) == "23505");
  CHECK(ids(&loop, b, t) == std::vector<long long>{1});

  // fn may end the transaction itself: nothing more is sent.
  auto own = uvpg::transaction_scope(
      a, [&](transaction &tx) -> future<void> {
        co_await a.execute("INSERT INTO " + t + " VALUES (4, 1)");
        co_await tx.rollback();
      });
  test::wait(&loop, std::move(own));
  CHECK(ids(&loop, b, t) == std::vector<long long>{1});
  CHECK(a.autocommit());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "retry_transaction: retries a real serialization "
                  "failure, then succeeds") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "serial");
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 0)"));
  uvpg::retry_options ro;
  ro.tx.isolation = isolation_level::serializable;
  int attempts = 0;
  int interfere = 1; // attempts during which b commits a conflicting write
  auto fn = [&](transaction &) -> future<int> {
    ++attempts;
    // a's snapshot is taken by its first statement.
    int v = co_await a.fetchval<int>("SELECT v FROM " + t +
                                     " WHERE id = 1");
    if (attempts <= interfere) {
      // Another serializable transaction writes what a read, and
      // commits first: a's write then cannot be serialized.
      transaction_options so;
      so.isolation = isolation_level::serializable;
      transaction btx = co_await b.begin(so);
      co_await b.execute("UPDATE " + t + " SET v = v + 1 WHERE id = 1");
      co_await btx.commit();
    }
    co_await a.execute("UPDATE " + t + " SET v = v + 10 WHERE id = 1");
    co_return v;
  };
  int seen = test::wait(&loop, uvpg::retry_transaction(a, fn, ro));
  CHECK(attempts == 2);
  CHECK(seen == 1); // the second attempt read b's committed write
  CHECK(test::count_of(&loop, b, "SELECT v FROM " + t + " WHERE id = 1") ==
        11);

  // Always interfering: the last failure (40001) propagates after
  // `attempts` tries, each rolled back.
  attempts = 0;
  interfere = 100;
  ro.attempts = 2;
  auto f = uvpg::retry_transaction(a, fn, ro);
  CHECK(outcome(&loop, f) == "40001");
  CHECK(attempts == 2);
  CHECK(test::count_of(&loop, b, "SELECT v FROM " + t + " WHERE id = 1") ==
        13);
  CHECK(a.transaction_status() == UVPG_TRANS_IDLE);

  // Another error is not retried.
  attempts = 0;
  auto other = uvpg::retry_transaction(
      a, [&](transaction &) -> future<void> {
        ++attempts;
        co_await a.execute("SELECT 1/0");
      });
  CHECK(outcome(&loop, other) == "22012");
  CHECK(attempts == 1);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "retry_transaction: retries a real deadlock") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "deadlock");
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 0), (2, 0)"));
  // The session that checks first is the one the server aborts: a checks
  // after 50 ms, b would wait a minute.
  test::wait(&loop, a.execute("SET deadlock_timeout = '50ms'"));
  test::wait(&loop, b.execute("SET deadlock_timeout = '60s'"));
  int attempts = 0;
  transaction btx;
  future<std::string> b_waits = uvpg::make_ready_future(std::string());
  auto fn = [&](transaction &) -> future<void> {
    ++attempts;
    if (attempts == 2) {
      // b got its lock once a's first attempt was rolled back.
      co_await std::move(b_waits);
      co_await btx.commit();
    }
    co_await a.execute("UPDATE " + t + " SET v = v + 1 WHERE id = 1");
    if (attempts == 1) {
      btx = co_await b.begin();
      co_await b.execute("UPDATE " + t + " SET v = v + 1 WHERE id = 2");
      b_waits = b.execute("UPDATE " + t + " SET v = v + 1 WHERE id = 1");
    }
    co_await a.execute("UPDATE " + t + " SET v = v + 1 WHERE id = 2");
  };
  test::wait(&loop, uvpg::retry_transaction(a, fn));
  CHECK(attempts == 2);
  auto r = test::wait(&loop, b.query("SELECT v FROM " + t + " ORDER BY id"));
  CHECK(r[0].get<int64_t>(0) == 2);
  CHECK(r[1].get<int64_t>(0) == 2);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "is_retryable: 40001 and 40P01 only") {
  auto a = test::connect(&loop);
  auto f = a.query("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; "
                   "END $$");
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  CHECK(uvpg::is_retryable(f.get_exception()));
  auto g = a.query("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; "
                   "END $$");
  REQUIRE(test::run_until(&loop, [&] { return g.available(); }));
  CHECK(uvpg::is_retryable(g.get_exception()));
  auto h = a.query("SELECT 1/0");
  REQUIRE(test::run_until(&loop, [&] { return h.available(); }));
  CHECK_FALSE(uvpg::is_retryable(h.get_exception()));
  CHECK_FALSE(uvpg::is_retryable(std::make_exception_ptr(boom())));
  CHECK_FALSE(uvpg::is_retryable(nullptr));
}

TEST_SUITE_END();

TEST_CASE_FIXTURE(test::loop_fixture,
                  "cursor begin/begin_nested: aiopg's example, the failed "
                  "savepoint alone rolled back") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "cursor_nested");
  uvpg::cursor cur(a);
  auto insert = [&](std::string values) {
    return cur.execute("INSERT INTO " + t + " VALUES " + values);
  };
  auto run = [&]() -> future<std::string> {
    transaction outer = co_await cur.begin_nested(); // BEGIN: none open
    CHECK_FALSE(outer.nested());
    co_await insert("(1, 1)");
    std::string failed;
    try {
      co_await uvpg::transaction_scope(a, [&](transaction &sp) {
        CHECK(sp.nested());
        return insert("(1/0, 2)");
      });
    } catch (const uvpg::data_error &e) { // 22012 division_by_zero
      failed = dynamic_cast<const uvpg::server_error &>(e).sqlstate();
    }
    transaction sp = co_await cur.begin_nested();
    CHECK(sp.nested());
    co_await insert("(2, 2)");
    co_await sp.commit();
    co_await outer.commit();
    co_return failed;
  };
  CHECK(test::wait(&loop, run()) == "22012");
  CHECK(ids(&loop, b, t) == std::vector<long long>{1, 2});
  // A closed connection: a usage error, as the cursor's other calls.
  test::wait(&loop, a.close());
  CHECK(usage_text(&loop, cur.begin()).find("closed") != std::string::npos);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "a transaction the program ended with its own ROLLBACK: "
                  "autocommit tells, commit refuses, begin starts afresh") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  auto t = make_table(&loop, a, "ended_by_program");
  std::vector<std::string> logged;
  a.add_query_logger(
      [&](const uvpg::query_log_record &r) { logged.push_back(r.sql); });
  transaction tx = test::wait(&loop, a.begin());
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (1, 1)"));
  test::wait(&loop, a.execute("ROLLBACK"));
  CHECK(a.autocommit()); // the server's word, nothing in flight
  CHECK(tx.active());    // uvpg learns it at the commit's turn
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (2, 2)"));
  std::string why = usage_text(&loop, tx.commit());
  CHECK(why.find("ended by a COMMIT or ROLLBACK") != std::string::npos);
  CHECK_FALSE(tx.active());
  // The refused COMMIT sent nothing and logged nothing.
  CHECK(std::find(logged.begin(), logged.end(), "COMMIT") == logged.end());
  CHECK(ids(&loop, b, t) == std::vector<long long>{2});

  // Again, ended behind its back and then a new begin(): a fresh
  // transaction (BEGIN), not a savepoint in the one that is gone.
  transaction old = test::wait(&loop, a.begin());
  test::wait(&loop, a.execute("COMMIT"));
  transaction fresh = test::wait(&loop, a.begin());
  CHECK_FALSE(fresh.nested());
  CHECK_FALSE(old.active());
  test::wait(&loop, a.execute("INSERT INTO " + t + " VALUES (3, 3)"));
  test::wait(&loop, fresh.commit());
  CHECK(ids(&loop, b, t) == std::vector<long long>{2, 3});
}
