// Pipelining, the statement cache and executemany, against the real
// server: results reach the right promises in order, an error fails only
// its own statement, transactions keep their meaning, cached statements
// survive schema changes and DEALLOCATE.
#include <string>
#include <vector>

#include "test.hh"

namespace {

using test::loop_fixture;
using test::count_of;
using test::outcome;
using test::sleep_ms;
using test::wait;

// The session's prepared statements, but for this query's own.
long long prepared(uv_loop_t *loop, uvpg::connection &c) {
  return count_of(loop, c,
                  "SELECT count(*) FROM pg_prepared_statements WHERE "
                  "statement NOT LIKE '%pg_prepared_statements%'");
}

} // namespace

TEST_SUITE("live/pipeline") {

TEST_CASE_FIXTURE(loop_fixture,
                  "pipeline: 10,000 interleaved statements with errors "
                  "complete in order, each with its own answer") {
  auto c = test::connect(&loop);
  constexpr int n = 10000;
  std::vector<uvpg::future<uvpg::result>> fs;
  std::vector<int> order;
  fs.reserve(n);
  for (int i = 0; i < n; ++i) {
    uvpg::future<uvpg::result> f =
        i % 97 == 13 ? c.query("SELECT 1 / ($1::int - $1::int)", i)
        : i % 101 == 7
            ? c.query("SELECT no_such_column_" + std::to_string(i % 3))
        : i % 2 ? c.query("SELECT $1::int, $1::text", i)
                : c.query("SELECT " + std::to_string(i) + "::int, '" +
                          std::to_string(i) + "'::text");
    fs.push_back(std::move(f).then_wrapped([&order, i](auto g) {
      order.push_back(i);
      return g.get();
    }));
  }
  REQUIRE(test::run_until(&loop, [&] { return fs.back().available(); }));
  int errors = 0;
  for (int i = 0; i < n; ++i) {
    INFO("statement " << i);
    REQUIRE(fs[i].available());
    if (i % 97 == 13) {
      CHECK(outcome(fs[i]) == "22012");
      ++errors;
    } else if (i % 101 == 7) {
      CHECK(outcome(fs[i]) == "42703");
      ++errors;
    } else {
      uvpg::result r = fs[i].get();
      REQUIRE(r.rows() == 1);
      CHECK(r[0].get<int32_t>(0) == i);
      CHECK(r[0].get<std::string>(1) == std::to_string(i));
    }
  }
  CHECK(errors > 150);
  REQUIRE(order.size() == static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    REQUIRE(order[i] == i);
  }
  // The session is fine afterwards, and out of pipeline mode when idle
  // (once uvpg has deallocated what its cache let go).
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT 7")) == 7);
  REQUIRE(test::run_until(&loop, [&] {
    return c.status() == UVPG_CONN_READY;
  }));
  CHECK(c.transaction_status() == UVPG_TRANS_IDLE);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "pipeline: a failed statement fails only itself") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE p (a int PRIMARY KEY)"));
  auto a = c.query("INSERT INTO p VALUES ($1)", 1);
  auto bad = c.query("INSERT INTO p VALUES ($1)", 1); // duplicate key
  auto b = c.query("INSERT INTO p VALUES ($1)", 2);
  auto rows = c.query("SELECT a FROM p ORDER BY a");
  CHECK(wait(&loop, std::move(a)).command_status() == "INSERT 0 1");
  REQUIRE(test::run_until(&loop, [&] { return bad.available(); }));
  CHECK(outcome(bad) == "23505");
  CHECK(wait(&loop, std::move(b)).command_status() == "INSERT 0 1");
  uvpg::result r = wait(&loop, std::move(rows));
  REQUIRE(r.rows() == 2);
  CHECK(r[0].get<int32_t>(0) == 1);
  CHECK(r[1].get<int32_t>(0) == 2);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "pipeline: statements inside BEGIN keep transaction "
                  "semantics") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE t (a int)"));
  auto begin = c.query("BEGIN");
  auto ins1 = c.query("INSERT INTO t VALUES ($1)", 1);
  auto bad = c.query("SELECT 1 / 0");
  auto ins2 = c.query("INSERT INTO t VALUES ($1)", 2);
  auto rollback = c.query("ROLLBACK");
  auto count = c.fetchval<int64_t>("SELECT count(*) FROM t");
  wait(&loop, std::move(begin));
  wait(&loop, std::move(ins1));
  REQUIRE(test::run_until(&loop, [&] { return ins2.available(); }));
  CHECK(outcome(bad) == "22012");
  CHECK(outcome(ins2) == "25P02"); // the transaction is aborted
  wait(&loop, std::move(rollback));
  CHECK(wait(&loop, std::move(count)) == 0);

  // Committed work stays: BEGIN; INSERT; COMMIT pipelined.
  auto b2 = c.query("BEGIN");
  auto i3 = c.query("INSERT INTO t VALUES ($1)", 3);
  auto commit = c.query("COMMIT");
  wait(&loop, std::move(b2));
  wait(&loop, std::move(i3));
  wait(&loop, std::move(commit));
  CHECK(count_of(&loop, c, "SELECT count(*) FROM t") == 1);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "pipeline: several statements, COPY and timeouts run "
                  "alone between pipelined neighbours") {
  auto c = test::connect(&loop);
  auto a = c.query("SELECT $1::int", 1);
  auto multi = c.query("SELECT 1; SELECT 2");
  auto copy = c.query("COPY (SELECT 1) TO STDOUT");
  uvpg::query_options slow;
  slow.timeout = std::chrono::milliseconds(100);
  auto timed = c.query("SELECT pg_sleep(10)", {}, slow);
  auto b = c.query("SELECT $1::int", 2);
  CHECK(wait(&loop, std::move(a))[0].get<int32_t>(0) == 1);
  CHECK(wait(&loop, std::move(multi))[0].get<int32_t>(0) == 2);
  REQUIRE(test::run_until(&loop, [&] { return copy.available(); }));
  CHECK(copy.failed());
  REQUIRE(test::run_until(&loop, [&] { return timed.available(); }));
  try {
    timed.get();
    FAIL("the statement should have timed out");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UV_ETIMEDOUT);
  }
  CHECK(wait(&loop, std::move(b))[0].get<int32_t>(0) == 2);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "pipeline: statements that refuse a transaction block "
                  "run, each in its own segment") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TABLE IF NOT EXISTS vac_me (a int)"));
  auto v1 = c.query("VACUUM vac_me");
  auto v2 = c.query("VACUUM (ANALYZE) vac_me");
  auto s = c.query("SELECT $1::int", 5);
  CHECK(wait(&loop, std::move(v1)).command_status() == "VACUUM");
  CHECK(wait(&loop, std::move(v2)).command_status() == "VACUUM");
  CHECK(wait(&loop, std::move(s))[0].get<int32_t>(0) == 5);
  wait(&loop, c.query("DROP TABLE vac_me"));
}

TEST_CASE_FIXTURE(loop_fixture,
                  "pipeline: max_pipeline = 1 turns it off and changes no "
                  "answer") {
  uvpg::connect_options o;
  o.max_pipeline = 1;
  auto c = test::connect(&loop, o);
  std::vector<uvpg::future<uvpg::result>> fs;
  for (int i = 0; i < 200; ++i) {
    fs.push_back(i % 10 == 3 ? c.query("SELECT 1/0")
                             : c.query("SELECT $1::int", i));
  }
  REQUIRE(test::run_until(&loop, [&] { return fs.back().available(); }));
  for (int i = 0; i < 200; ++i) {
    if (i % 10 == 3) {
      CHECK(outcome(fs[i]) == "22012");
    } else {
      CHECK(fs[i].get()[0].get<int32_t>(0) == i);
    }
  }
}

TEST_CASE_FIXTURE(loop_fixture,
                  "pipeline: a backend killed mid-pipeline fails what was "
                  "left with UVPG_ECONNBAD, nothing hangs") {
  auto c = test::connect(&loop);
  std::vector<uvpg::future<uvpg::result>> fs;
  for (int i = 0; i < 50; ++i) {
    fs.push_back(c.query("SELECT $1::int", i));
  }
  auto kill = c.query("SELECT pg_terminate_backend(pg_backend_pid())");
  for (int i = 0; i < 50; ++i) {
    fs.push_back(c.query("SELECT $1::int", i));
  }
  REQUIRE(test::run_until(&loop, [&] { return fs.back().available(); }));
  // Those before the kill answer right; if the server was gone before
  // uvpg finished writing (libpq then drops what it had read), they fail
  // with UVPG_ECONNBAD: never a wrong value.
  for (int i = 0; i < 50; ++i) {
    if (fs[i].failed()) {
      try {
        fs[i].get();
      } catch (const uvpg::error &e) {
        CHECK(e.status() == UVPG_ECONNBAD);
      }
    } else {
      CHECK(fs[i].get()[0].get<int32_t>(0) == i);
    }
  }
  CHECK(kill.failed());
  for (int i = 50; i < 100; ++i) {
    REQUIRE(fs[i].failed());
    try {
      fs[i].get();
    } catch (const uvpg::error &e) {
      CHECK(e.status() == UVPG_ECONNBAD);
    }
  }
  CHECK(c.closed());
}

TEST_CASE_FIXTURE(loop_fixture,
                  "statement cache: a statement is prepared once and "
                  "reused") {
  auto c = test::connect(&loop);
  CHECK(prepared(&loop, c) == 0);
  for (int i = 0; i < 5; ++i) {
    CHECK(wait(&loop, c.fetchval<int32_t>("SELECT $1::int + 1", i)) == i + 1);
  }
  auto r = wait(&loop, c.query("SELECT statement FROM pg_prepared_statements "
                               "WHERE statement LIKE 'SELECT $1::int + 1'"));
  CHECK(r.rows() == 1);
  // Different parameter types make a statement of their own.
  CHECK(wait(&loop, c.fetchval<int64_t>("SELECT $1::int8 + 1",
                                        int64_t{41})) == 42);
  CHECK(wait(&loop, c.fetchval<int64_t>("SELECT $1::int8 + 1",
                                        int32_t{41})) == 42);
  CHECK(count_of(&loop, c,
                 "SELECT count(*) FROM pg_prepared_statements WHERE "
                 "statement = 'SELECT $1::int8 + 1'") == 2);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "statement cache: survives ALTER TABLE between "
                  "executions") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE s (a int)"));
  wait(&loop, c.query("INSERT INTO s VALUES (1)"));
  uvpg::result r = wait(&loop, c.query("SELECT * FROM s WHERE a = $1", 1));
  CHECK(r.columns() == 1);
  wait(&loop, c.query("ALTER TABLE s ADD COLUMN b text DEFAULT 'x'"));
  r = wait(&loop, c.query("SELECT * FROM s WHERE a = $1", 1));
  REQUIRE(r.columns() == 2);
  CHECK(r[0].get<std::string>(1) == "x");
  wait(&loop, c.query("ALTER TABLE s DROP COLUMN b"));
  wait(&loop, c.query("ALTER TABLE s ALTER COLUMN a TYPE bigint"));
  r = wait(&loop, c.query("SELECT * FROM s WHERE a = $1", 1));
  REQUIRE(r.columns() == 1);
  CHECK(r[0].get<int64_t>(0) == 1);
  // The same inside a transaction: the first error aborted it, so the
  // statement fails with the server's reason, not a retry's 25P02.
  wait(&loop, c.query("BEGIN"));
  r = wait(&loop, c.query("SELECT * FROM s WHERE a = $1", 1));
  wait(&loop, c.query("ALTER TABLE s ADD COLUMN c int"));
  auto f = c.query("SELECT * FROM s WHERE a = $1", 1);
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  CHECK(outcome(f) == "0A000");
  wait(&loop, c.query("ROLLBACK"));
  CHECK(wait(&loop, c.query("SELECT * FROM s WHERE a = $1", 1)).columns() ==
        1);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "statement cache: DEALLOCATE ALL and DISCARD ALL behind "
                  "its back are survived") {
  auto c = test::connect(&loop);
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT $1::int", 3)) == 3);
  wait(&loop, c.query("DEALLOCATE ALL"));
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT $1::int", 4)) == 4);
  wait(&loop, c.query("DISCARD ALL"));
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT $1::int", 5)) == 5);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "statement cache: a bad statement fails every time it "
                  "is sent, with the server's error") {
  auto c = test::connect(&loop);
  auto a = c.query("SELEC $1::int", 1);
  auto b = c.query("SELEC $1::int", 2); // pipelined behind the bad Parse
  REQUIRE(test::run_until(&loop, [&] { return b.available(); }));
  CHECK(outcome(a) == "42601");
  CHECK(outcome(b) == "42601");
  CHECK(prepared(&loop, c) == 0);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "statement cache: the least recently used statement is "
                  "deallocated when it is full") {
  uvpg::connect_options o;
  o.statement_cache_size = 3;
  auto c = test::connect(&loop, o);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 10; ++i) {
      std::string sql = "SELECT $1::int + " + std::to_string(i);
      CHECK(wait(&loop, c.fetchval<int32_t>(sql, round)) == round + i);
    }
  }
  // Three cached.  The counting statement pushes one out as it comes
  // in; that one is deallocated once the session is idle, so the second
  // count sees the cache as it is.
  const char *all = "SELECT count(*) FROM pg_prepared_statements";
  CHECK(count_of(&loop, c, all) == 4);
  CHECK(count_of(&loop, c, all) == 3);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "statement cache: names are unique to their connection "
                  "and never the program's") {
  // Behind PgBouncer in transaction mode two client connections share a
  // server session: the same name on both would let one run the other's
  // statement.  And a program's own PREPARE uvpg_1 must stay its own.
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  wait(&loop, a.query("PREPARE uvpg_1 AS SELECT 'mine'"));
  wait(&loop, a.query("PREPARE uvpg_p1 AS SELECT 'mine too'"));
  CHECK(wait(&loop, a.fetchval<int32_t>("SELECT $1::int + 1", 1)) == 2);
  CHECK(wait(&loop, b.fetchval<int32_t>("SELECT $1::int + 1", 1)) == 2);
  auto st = wait(&loop, a.prepare("SELECT $1::int * 10"));
  CHECK(wait(&loop, st.fetchval<int32_t>(int32_t{4})) == 40);
  CHECK(wait(&loop, a.fetchval<std::string>("EXECUTE uvpg_1")) == "mine");
  CHECK(wait(&loop, a.fetchval<std::string>("EXECUTE uvpg_p1")) ==
        "mine too");
  const char *names = "SELECT string_agg(name, ',' ORDER BY name) FROM "
                      "pg_prepared_statements WHERE name LIKE '\\_uvpg\\_%'";
  std::string na = wait(&loop, a.fetchval<std::string>(names));
  std::string nb = wait(&loop, b.fetchval<std::string>(names));
  INFO("a: " << na << "  b: " << nb);
  CHECK(na.size() > 6);
  CHECK(nb.size() > 6);
  // The random part differs: no name of one is a name of the other.
  CHECK(na.substr(0, 23) != nb.substr(0, 23));
}

TEST_CASE_FIXTURE(loop_fixture,
                  "statement cache: size 0 prepares nothing by name (for "
                  "PgBouncer)") {
  uvpg::connect_options o;
  o.statement_cache_size = 0;
  auto c = test::connect(&loop, o);
  for (int i = 0; i < 5; ++i) {
    CHECK(wait(&loop, c.fetchval<int32_t>("SELECT $1::int", i)) == i);
  }
  CHECK(prepared(&loop, c) == 0);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "statement cache: a statement past its lifetime is "
                  "prepared again") {
  uvpg::connect_options o;
  o.max_cached_statement_lifetime = std::chrono::seconds(1);
  auto c = test::connect(&loop, o);
  const char *names = "SELECT string_agg(name, ',') FROM "
                      "pg_prepared_statements WHERE statement = "
                      "'SELECT $1::int * 2'";
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT $1::int * 2", 2)) == 4);
  auto first = wait(&loop, c.fetchval<std::string>(names));
  uv_sleep(1100);
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT $1::int * 2", 3)) == 6);
  auto second = wait(&loop, c.fetchval<std::string>(names));
  CHECK(first != second);
  CHECK(second.find(',') == std::string::npos); // the old one is gone
}

TEST_CASE_FIXTURE(loop_fixture, "executemany: every set, one round trip") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE m (a int, b text, c float8)"));
  std::vector<uvpg::params> rows;
  for (int i = 0; i < 1000; ++i) {
    rows.push_back({i, std::to_string(i), i * 1.5});
  }
  rows[10] = {10, nullptr, std::nullopt}; // NULLs in typed columns
  wait(&loop, c.executemany("INSERT INTO m VALUES ($1, $2, $3)", rows));
  CHECK(count_of(&loop, c, "SELECT count(*) FROM m") == 1000);
  CHECK(count_of(&loop, c, "SELECT sum(a) FROM m") == 999 * 1000 / 2);
  CHECK(count_of(&loop, c, "SELECT count(*) FROM m WHERE b IS NULL") == 1);
  CHECK(wait(&loop, c.fetchval<double>("SELECT c FROM m WHERE a = 7")) ==
        7 * 1.5);
  // Nothing to do is done.
  wait(&loop, c.executemany("INSERT INTO m VALUES ($1, $2, $3)", {}));
}

TEST_CASE_FIXTURE(loop_fixture,
                  "executemany: atomic, an error in one set leaves none") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE u (a int PRIMARY KEY)"));
  std::vector<uvpg::params> rows;
  for (int i = 0; i < 100; ++i) {
    rows.push_back({i == 60 ? 5 : i});
  }
  auto f = c.executemany("INSERT INTO u VALUES ($1)", rows);
  auto after = c.fetchval<int64_t>("SELECT count(*) FROM u");
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  REQUIRE(f.failed());
  try {
    f.get();
  } catch (const uvpg::server_error &e) {
    CHECK(e.sqlstate() == "23505");
  }
  CHECK(wait(&loop, std::move(after)) == 0);
  // Mismatched sets are refused before the wire.
  auto bad = c.executemany("INSERT INTO u VALUES ($1)", {{1}, {1, 2}});
  REQUIRE(test::run_until(&loop, [&] { return bad.available(); }));
  CHECK(bad.failed());
  auto mixed = c.executemany("INSERT INTO u VALUES ($1)",
                             {{int32_t{1}}, {int64_t{2}}});
  REQUIRE(test::run_until(&loop, [&] { return mixed.available(); }));
  CHECK(mixed.failed());
  CHECK(count_of(&loop, c, "SELECT count(*) FROM u") == 0);
}


TEST_CASE_FIXTURE(loop_fixture,
                  "prepare: a described statement, run by name, "
                  "deallocated with its last handle") {
  auto c = test::connect(&loop);
  {
    uvpg::prepared_statement st = wait(
        &loop, c.prepare("SELECT %s::int8 * 2 AS twice, %s::text AS t"));
    REQUIRE(st.parameter_types().size() == 2);
    CHECK(st.parameter_types()[0] == uvpg::oids::int8);
    CHECK(st.parameter_types()[1] == uvpg::oids::text);
    REQUIRE(st.columns().columns() == 2);
    CHECK(st.columns().column_name(0) == "twice");
    CHECK(st.columns().column_type(1) == uvpg::oids::text);
    CHECK(count_of(&loop, c,
                   "SELECT count(*) FROM pg_prepared_statements WHERE name "
                   "= '" + st.name() + "'") == 1);
    CHECK(wait(&loop, st.fetchval<int64_t>(int64_t{21}, "x")) == 42);
    auto row = wait(&loop, st.fetchrow(int64_t{5}, "y"));
    REQUIRE(row);
    CHECK(row->get<std::string>(1) == "y");
    // Many at once, pipelined.
    std::vector<uvpg::future<uvpg::result>> fs;
    for (int64_t i = 0; i < 100; ++i) {
      fs.push_back(st.fetch(i, std::to_string(i)));
    }
    for (int64_t i = 0; i < 100; ++i) {
      CHECK(wait(&loop, std::move(fs[i]))[0].get<int64_t>(0) == 2 * i);
    }
    // Values that do not fit are refused before the wire.
    auto wrong = st.fetch(int32_t{1}, "x"); // int4 for an int8 parameter
    auto short_ = st.fetch(int64_t{1});
    for (auto *f : {&wrong, &short_}) {
      REQUIRE(test::run_until(&loop, [&] { return f->available(); }));
      try {
        f->get();
        FAIL("a value that does not fit was sent");
      } catch (const uvpg::error &e) {
        CHECK(e.status() == UVPG_EPARAM);
      }
    }
    uvpg::prepared_statement copy = st; // copies share it
  }
  // The last handle is gone: DEALLOCATE is queued.
  CHECK(count_of(&loop, c,
                 "SELECT count(*) FROM pg_prepared_statements WHERE name "
                 "~ '^_uvpg_[0-9a-f]{16}_p'") == 0);
  auto bad = c.prepare("SELEC 1");
  REQUIRE(test::run_until(&loop, [&] { return bad.available(); }));
  try {
    bad.get();
    FAIL("a bad statement was prepared");
  } catch (const uvpg::server_error &e) {
    CHECK(e.sqlstate() == "42601");
  }
}

TEST_CASE_FIXTURE(loop_fixture,
                  "prepare: executemany, and a statement outliving its "
                  "connection fails cleanly") {
  uvpg::prepared_statement st;
  {
    auto c = test::connect(&loop);
    wait(&loop, c.query("CREATE TEMP TABLE pe (a int8, b text)"));
    st = wait(&loop, c.prepare("INSERT INTO pe VALUES ($1, $2)"));
    std::vector<uvpg::params> rows;
    for (int64_t i = 0; i < 500; ++i) {
      rows.push_back({i, i % 5 ? uvpg::param(std::to_string(i))
                                : uvpg::param()});
    }
    wait(&loop, st.executemany(rows));
    CHECK(count_of(&loop, c, "SELECT count(*) FROM pe") == 500);
    CHECK(count_of(&loop, c, "SELECT count(b) FROM pe") == 400);
    wait(&loop, c.close());
  }
  auto f = st.fetch(int64_t{1}, "x");
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  try {
    f.get();
    FAIL("a statement of a closed connection ran");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UVPG_ECLOSED);
  }
}

} // TEST_SUITE
