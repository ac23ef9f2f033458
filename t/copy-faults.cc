// COPY and prepared statements at their edges: a writer or a paused
// reader when the connection goes, binary records of every awkward
// kind, C callbacks that close, statements that must not be prepared.
// An outside review wrote these; each defect it found has its case.
#include <cstring>
#include <string>
#include <vector>

#include "test.hh"
#include "uvpg.h"

namespace {

using test::loop_fixture;
using test::count_of;
using test::outcome;
using test::sleep_ms;
using test::wait;

template <class F> int status_of(F &f) {
  try {
    f.get();
    return 0;
  } catch (const uvpg::error &e) {
    return e.status();
  } catch (...) {
    return -99999;
  }
}

} // namespace

TEST_SUITE("live/copy-faults") {

// ---- prepared statements that are COPYs ----

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a COPY cannot be prepared, and the session goes "
                  "on") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE pc (a int)"));
  for (const char *sql : {"COPY pc FROM STDIN", "COPY (SELECT 1) TO STDOUT",
                          "/* x */ copy pc to stdout"}) {
    INFO(sql);
    auto st = c.prepare(sql);
    REQUIRE(test::run_until(&loop, [&] { return st.available(); }, 10));
    CHECK(status_of(st) == UVPG_EPARAM);
  }
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT 8"), 10) == 8);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: executemany of a COPY FROM STDIN without "
                  "parameters") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE em (a int)"));
  auto f = c.executemany("COPY em FROM STDIN", {{}, {}});
  auto next = c.fetchval<int32_t>("SELECT 7");
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }, 10));
  REQUIRE(test::run_until(&loop, [&] { return next.available(); }, 10));
  CHECK(status_of(next) == 0);
}

// ---- COPY OUT paused ----

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a paused COPY OUT and close(): the copy fails, "
                  "the close completes") {
  auto c = test::connect(&loop);
  uvpg::promise<void> hold;
  auto f = c.copy_from_query("SELECT generate_series(1, 100000)",
                             [&](std::string_view) -> uvpg::future<void> {
                               return hold.get_future();
                             });
  wait(&loop, sleep_ms(&loop, 300));
  auto closed = c.close();
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }, 10));
  CHECK(f.failed());
  REQUIRE(test::run_until(&loop, [&] { return closed.available(); }, 10));
  hold.set_value(); // the sink's continuation after the free
  uv_run(&loop, UV_RUN_NOWAIT);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a paused COPY OUT whose backend is killed fails "
                  "once resumed") {
  auto c = test::connect(&loop);
  auto killer = test::connect(&loop);
  uvpg::promise<void> hold;
  bool held = false;
  auto f = c.copy_from_query("SELECT generate_series(1, 2000000)",
                             [&](std::string_view) -> uvpg::future<void> {
                               if (!held) {
                                 held = true;
                                 return hold.get_future();
                               }
                               return uvpg::make_ready_future();
                             });
  REQUIRE(test::run_until(&loop, [&] { return held; }, 10));
  wait(&loop, killer.query("SELECT pg_terminate_backend($1)",
                           c.backend_pid()));
  hold.set_value();
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }, 10));
  CHECK(status_of(f) == UVPG_ECONNBAD);
}

// ---- COPY IN ----

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a writer awaiting drain when the connection is "
                  "closed") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE dr (a text)"));
  auto killer = test::connect(&loop);
  wait(&loop, killer.query("SELECT 1"));
  uvpg::copy_writer w = wait(&loop, c.copy_in("COPY dr FROM STDIN"));
  std::string big(64 << 20, 'x');
  big.back() = '\n';
  auto d = w.write(big);
  CHECK(!d.available());
  auto closed = c.close();
  REQUIRE(test::run_until(&loop, [&] { return d.available(); }, 10));
  CHECK(d.failed());
  REQUIRE(test::run_until(&loop, [&] { return closed.available(); }, 10));
  auto late = w.write("y\n");
  REQUIRE(test::run_until(&loop, [&] { return late.available(); }, 10));
  CHECK(late.failed());
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: finish() and abort() after the COPY failed "
                  "(backend killed while the writer was idle) report the "
                  "failure") {
  for (int use_abort = 0; use_abort < 2; ++use_abort) {
    auto c = test::connect(&loop);
    auto killer = test::connect(&loop);
    wait(&loop, c.query("CREATE TEMP TABLE fk (a int)"));
    uvpg::copy_writer w = wait(&loop, c.copy_in("COPY fk FROM STDIN"));
    wait(&loop, w.write("1\n"));
    wait(&loop, killer.query("SELECT pg_terminate_backend($1)",
                             c.backend_pid()));
    // The loop notices the disconnect; the op fails with nobody waiting.
    REQUIRE(test::run_until(&loop, [&] { return c.closed(); }, 10));
    wait(&loop, sleep_ms(&loop, 50));
    if (use_abort) {
      uvpg::future<void> fin;
      CHECK_NOTHROW(fin = w.abort());
      CHECK(fin.valid());
      if (!fin.valid()) {
        continue;
      }
      REQUIRE(test::run_until(&loop, [&] { return fin.available(); }, 10));
    } else {
      uvpg::future<uint64_t> fin;
      CHECK_NOTHROW(fin = w.finish());
      CHECK(fin.valid());
      if (!fin.valid()) {
        continue;
      }
      REQUIRE(test::run_until(&loop, [&] { return fin.available(); }, 10));
      CHECK(status_of(fin) == UVPG_ECONNBAD);
    }
  }
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a writer awaiting drain when the backend is "
                  "killed") {
  auto c = test::connect(&loop);
  auto killer = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE dk (a text)"));
  uvpg::copy_writer w = wait(&loop, c.copy_in("COPY dk FROM STDIN"));
  wait(&loop, killer.query("SELECT pg_terminate_backend($1)",
                           c.backend_pid()));
  std::string big(64 << 20, 'x');
  big.back() = '\n';
  auto d = w.write(big);
  REQUIRE(test::run_until(&loop, [&] { return d.available(); }, 10));
  auto fin = w.finish();
  REQUIRE(test::run_until(&loop, [&] { return fin.available(); }, 10));
  CHECK(status_of(fin) == UVPG_ECONNBAD);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a writer outliving its connection handle") {
  uvpg::copy_writer w;
  {
    auto c = test::connect(&loop);
    wait(&loop, c.query("CREATE TEMP TABLE ol (a int)"));
    w = wait(&loop, c.copy_in("COPY ol FROM STDIN"));
    wait(&loop, w.write("1\n"));
  }
  wait(&loop, sleep_ms(&loop, 200));
  auto late = w.write("2\n");
  CHECK(late.available());
  CHECK(late.failed());
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: two COPY FROM STDIN in one copy_in string") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE t1 (a int); CREATE TEMP TABLE t2 "
                      "(a int)"));
  auto fw = c.copy_in("COPY t1 FROM STDIN; COPY t2 FROM STDIN");
  uvpg::copy_writer w = wait(&loop, std::move(fw));
  wait(&loop, w.write("1\n"));
  auto fin = w.finish();
  REQUIRE(test::run_until(&loop, [&] { return fin.available(); }, 10));
  (void)status_of(fin);
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT 3"), 10) == 3);
}

// ---- binary COPY of records ----

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: copy_records_to_table: NULLs, empty strings, "
                  "bytea, quoted names") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE \"Mixed \"\"Q\"\"\" (\"Id\" int4, "
                      "t text, v varchar(5), ch char(3), y bytea, "
                      "g int GENERATED ALWAYS AS (\"Id\" * 2) STORED)"));
  std::vector<uvpg::params> recs = {
      {int32_t{1}, std::string(), std::string(), std::string("a"),
       uvpg::bytea{}},
      {uvpg::param(), uvpg::param(), uvpg::param(), uvpg::param(),
       uvpg::param()},
      {int32_t{3}, "x", "yy", "zz",
       uvpg::bytea{std::byte{0}, std::byte{0xff}}},
  };
  CHECK(wait(&loop, c.copy_records_to_table("Mixed \"Q\"", recs)) == 3);
  auto r = wait(&loop, c.query("SELECT \"Id\", t, v, ch, y, g, t IS NULL, "
                               "y IS NULL FROM \"Mixed \"\"Q\"\"\" ORDER BY "
                               "\"Id\" NULLS LAST"));
  REQUIRE(r.rows() == 3);
  CHECK(r[0].get<std::string>(1) == "");
  CHECK(r[0].get<std::string>(2) == "");
  CHECK(r[0].get<std::string>(3) == "a  ");
  CHECK(r[0].get<uvpg::bytea>(4).empty());
  CHECK(r[0].get<int32_t>(5) == 2);
  CHECK(r[2].get<bool>(6));
  CHECK(r[2].get<bool>(7));
  CHECK(r[1].get<uvpg::bytea>(4).size() == 2);
  // A column list.
  CHECK(wait(&loop, c.copy_records_to_table("Mixed \"Q\"", {{"w", int32_t{9}}},
                                            {"t", "Id"})) == 1);
  CHECK(count_of(&loop, c, "SELECT \"Id\" FROM \"Mixed \"\"Q\"\"\" WHERE "
                           "t = 'w'") == 9);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: copy_records_to_table into a table of another "
                  "schema") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("DROP SCHEMA IF EXISTS rv CASCADE; CREATE SCHEMA rv; "
                      "CREATE TABLE rv.t (a int4)"));
  auto f = c.copy_records_to_table("t", {{int32_t{1}}}, {}, "rv");
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }, 10));
  CHECK(status_of(f) == 0);
  wait(&loop, c.query("DROP SCHEMA rv CASCADE"));
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: copy_records_to_table: strings of both kinds in "
                  "one column") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE sk (t text)"));
  std::string s = "b";
  auto f = c.copy_records_to_table("sk", {{"a"}, {s}});
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }, 10));
  CHECK(status_of(f) == 0);
}

// ---- prepared statements' lifetime ----

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a prepared statement outliving its connection") {
  uvpg::prepared_statement st;
  {
    auto c = test::connect(&loop);
    st = wait(&loop, c.prepare("SELECT $1::int + 1"));
    CHECK(wait(&loop, st.fetchval<int32_t>(int32_t{1})) == 2);
  }
  wait(&loop, sleep_ms(&loop, 200));
  auto f = st.query({int32_t{1}});
  CHECK(f.available());
  CHECK(status_of(f) == UVPG_ECLOSED);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a prepared statement with a timeout") {
  auto c = test::connect(&loop);
  auto st = wait(&loop, c.prepare("SELECT $1::int4 + 1"));
  uvpg::query_options o;
  o.timeout = std::chrono::milliseconds(5000);
  auto r = wait(&loop, st.query({int32_t{41}}, o));
  CHECK(r[0].get<int32_t>(0) == 42);
}

} // TEST_SUITE

// ---- C ABI ----

namespace {

struct capi_state {
  int ready = 0, rows = 0, done = 0, status = 1;
  int write_rc = 99, end_rc = 99, resume_rc = 99;
  bool close_in_ready = false, close_in_data = false;
  std::string tag;
};

void c_done(uvpg_conn_t *, int status, uvpg_result_t *res, void *data) {
  auto *s = static_cast<capi_state *>(data);
  ++s->done;
  s->status = status;
  if (res) {
    const char *t = uvpg_result_cmd_status(res);
    s->tag = t ? t : "";
  }
  uvpg_result_free(res);
}

struct connected {
  int ok = 0;
  uvpg_conn_t *conn = nullptr;
};

void c_connected(uvpg_conn_t *conn, int status, void *data) {
  auto *c = static_cast<connected *>(data);
  c->ok = status == 0 ? 1 : -1;
  c->conn = conn;
}

uvpg_conn_t *c_connect(uv_loop_t *loop) {
  connected c;
  REQUIRE(uvpg_connect(loop, test::dsn().c_str(), nullptr, c_connected,
                       &c) == 0);
  REQUIRE(test::run_until(loop, [&] { return c.ok != 0; }));
  REQUIRE(c.ok == 1);
  return c.conn;
}

} // namespace

TEST_CASE_FIXTURE(loop_fixture,
                  "copy capi: copy_write before ready and after end, "
                  "resume without a pause") {
  uvpg_conn_t *conn = c_connect(&loop);
  capi_state s;
  CHECK(uvpg_conn_copy_write(conn, "1\n", 2, nullptr, nullptr) == UV_EINVAL);
  CHECK(uvpg_conn_copy_end(conn, nullptr) == UV_EINVAL);
  CHECK(uvpg_conn_copy_resume(conn) == 0);
  REQUIRE(uvpg_conn_query(conn, "CREATE TEMP TABLE cw (a int)", 0, nullptr,
                          c_done, &s) == 0);
  REQUIRE(uvpg_conn_copy_in(
              conn, "COPY cw FROM STDIN",
              [](uvpg_conn_t *c, void *d) {
                auto *s = static_cast<capi_state *>(d);
                ++s->ready;
                uvpg_conn_copy_write(c, "1\n2\n", 4, nullptr, nullptr);
                s->end_rc = uvpg_conn_copy_end(c, nullptr);
                s->write_rc = uvpg_conn_copy_write(c, "3\n", 2, nullptr,
                                                   nullptr);
                s->resume_rc = uvpg_conn_copy_resume(c);
              },
              c_done, &s) == 0);
  // Before the COPY runs, a write is refused.
  CHECK(uvpg_conn_copy_write(conn, "1\n", 2, nullptr, nullptr) == UV_EINVAL);
  REQUIRE(test::run_until(&loop, [&] { return s.done == 2; }));
  CHECK(s.status == 0);
  CHECK(s.tag == "COPY 2");
  CHECK(s.end_rc == 0);
  CHECK(s.write_rc == UV_EINVAL);
  uvpg_conn_close(conn, nullptr, nullptr);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy capi: a COPY callback that closes the "
                  "connection") {
  for (int which = 0; which < 2; ++which) {
    uvpg_conn_t *conn = c_connect(&loop);
    capi_state s;
    int rc;
    if (which == 0) {
      rc = uvpg_conn_copy_in(
          conn, "COPY (SELECT 1) TO STDOUT",
          [](uvpg_conn_t *, void *) {}, c_done, &s);
      rc = uvpg_conn_copy_in(
          conn, "CREATE TEMP TABLE x (a int); COPY x FROM STDIN",
          [](uvpg_conn_t *c, void *d) {
            ++static_cast<capi_state *>(d)->ready;
            uvpg_conn_copy_write(c, "1\n", 2, nullptr, nullptr);
            uvpg_conn_close(c, nullptr, nullptr);
          },
          c_done, &s);
    } else {
      rc = uvpg_conn_copy_out(
          conn, "COPY (SELECT generate_series(1, 1000)) TO STDOUT",
          [](uvpg_conn_t *c, const char *, size_t, void *d) {
            if (++static_cast<capi_state *>(d)->rows == 3) {
              uvpg_conn_close(c, nullptr, nullptr);
            }
            return 0;
          },
          c_done, &s);
    }
    REQUIRE(rc == 0);
    REQUIRE(test::run_until(&loop, [&] { return s.done == (which ? 1 : 2); }));
    CHECK(s.status == UV_ECANCELED);
    if (which == 1) {
      CHECK(s.rows == 3);
    } else {
      CHECK(s.ready == 1);
    }
    uv_run(&loop, UV_RUN_NOWAIT);
  }
}
