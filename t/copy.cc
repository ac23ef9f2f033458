// COPY against the real server: data both ways with backpressure, binary
// records, bad rows, aborted and cut-off COPYs, and the session after.
#include <string>
#include <vector>

#include "test.hh"
#include "uvpg/types/datetime.hh"
#include "uvpg/types/uuid.hh"

namespace {

using test::loop_fixture;
using test::count_of;
using test::outcome;
using test::sleep_ms;
using test::wait;

// The core types, one column each, filled from generate_series.
const char *core_columns =
    "(i int4, s int2, b int8, r float4, d float8, n numeric, t text, "
    "v varchar(20), y bytea, ok bool, dt date, ts timestamp, "
    "tz timestamptz, tm time, iv interval, u uuid, ip inet, j jsonb, "
    "a int4[])";
const char *core_values =
    "SELECT i, (i % 30000)::int2, i::int8 * 1000003, i / 7.0::float4, "
    "i / 3.0::float8, i / 13.0::numeric, 'row ' || i || E'\\t\\n\\\\', "
    "left(md5(i::text), 20), decode(md5(i::text), 'hex'), i % 2 = 0, "
    "date '2000-01-01' + i % 10000, timestamp '1999-12-31 23:59:59.5' + "
    "i * interval '1 second', timestamptz '2020-02-29 12:00+02' + i * "
    "interval '1 minute', time '00:00' + i * interval '1 ms', i * "
    "interval '1 day 1 second', md5(i::text)::uuid, ('10.0.0.0'::inet + "
    "i % 65536), jsonb_build_object('i', i, 'k', ARRAY[i, -i]), "
    "ARRAY[i, NULL, -i] FROM generate_series(1, $1) i";

// A coroutine: every row of COPY OUT on `from` is written through COPY
// IN on `to`, each write awaited (the two backpressures meet).
uvpg::future<uint64_t> pipe_copy(uvpg::connection &from,
                                 uvpg::connection &to,
                                 std::string out_sql, std::string in_sql,
                                 long *pauses) {
  uvpg::copy_writer w = co_await to.copy_in(in_sql);
  uint64_t sent = co_await from.copy_out(
      out_sql, [&w, pauses](std::string_view row) -> uvpg::future<void> {
        uvpg::future<void> f = w.write(row);
        *pauses += !f.available();
        return f;
      });
  uint64_t stored = co_await w.finish();
  CHECK(sent == stored);
  co_return stored;
}

} // namespace

TEST_SUITE("live/copy") {

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: 1,000,000 rows of every core type round-trip, "
                  "text and binary, connection to connection") {
  auto a = test::connect(&loop);
  auto b = test::connect(&loop);
  const long n = 1000000;
  for (const char *format : {"text", "binary"}) {
    INFO("format " << std::string(format));
    wait(&loop, a.query(std::string("DROP TABLE IF EXISTS copy_src; "
                                    "CREATE TABLE copy_src ") +
                        core_columns));
    wait(&loop, b.query(std::string("DROP TABLE IF EXISTS copy_dst; "
                                    "CREATE TABLE copy_dst ") +
                        core_columns));
    // A million rows take a while when make -j check runs the other
    // programs beside this one: the watchdogs here are generous.
    wait(&loop, a.query(std::string("INSERT INTO copy_src ") + core_values,
                        static_cast<int32_t>(n)),
         300);
    long pauses = 0;
    std::string opts = std::string(" (FORMAT ") + format + ")";
    uint64_t rows = wait(
        &loop,
        pipe_copy(a, b, "COPY copy_src TO STDOUT" + opts,
                  "COPY copy_dst FROM STDIN" + opts, &pauses),
        300);
    CHECK(rows == static_cast<uint64_t>(n));
    MESSAGE(std::string(format) << ": " << pauses << " writes waited for the socket");
    // Every value arrived as it left: no row differs either way.
    CHECK(wait(&loop,
               a.fetchval<int64_t>(
                   "SELECT count(*) FROM (SELECT i,s,b,r,d,n,t,v,y,ok,dt,"
                   "ts,tz,tm,iv,u,ip,j,a FROM copy_src EXCEPT ALL SELECT "
                   "i,s,b,r,d,n,t,v,y,ok,dt,ts,tz,tm,iv,u,ip,j,a FROM "
                   "copy_dst) x"),
               300) == 0);
    CHECK(wait(&loop, a.fetchval<int64_t>("SELECT count(*) FROM copy_dst"),
               300) == n);
  }
  wait(&loop, a.query("DROP TABLE copy_src; DROP TABLE copy_dst"));
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a slow sink pauses reading and loses nothing") {
  auto c = test::connect(&loop);
  long rows = 0, sum = 0;
  uint64_t n = wait(
      &loop,
      c.copy_from_query("SELECT i FROM generate_series(1, 2000) i",
                        [&](std::string_view row) -> uvpg::future<void> {
                          ++rows;
                          sum += std::stol(std::string(row));
                          if (rows % 500 == 0) {
                            return sleep_ms(&loop, 20);
                          }
                          return uvpg::make_ready_future();
                        }));
  CHECK(n == 2000);
  CHECK(rows == 2000);
  CHECK(sum == 2000L * 2001 / 2);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: neighbours queued around a COPY complete in "
                  "order") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE n (a int, b text)"));
  std::vector<int> order;
  auto before = c.query("SELECT $1::int", 1).then([&](uvpg::result r) {
    order.push_back(1);
    return r;
  });
  auto copy = c.copy_to_table("n", "1\tone\n2\ttwo\n3\t\\N\n")
                  .then([&](uint64_t rows) {
                    order.push_back(2);
                    return rows;
                  });
  auto after = c.query("SELECT count(*) FROM n").then([&](uvpg::result r) {
    order.push_back(3);
    return r;
  });
  CHECK(wait(&loop, std::move(copy)) == 3);
  CHECK(wait(&loop, std::move(after))[0].get<int64_t>(0) == 3);
  wait(&loop, std::move(before));
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(count_of(&loop, c, "SELECT count(*) FROM n WHERE b IS NULL") == 1);

  // CSV with options, out of the table again.
  uvpg::copy_options o;
  o.format = "csv";
  o.header = true;
  o.columns = {"b", "a"};
  std::string out;
  CHECK(wait(&loop, c.copy_from_table(
                        "n", [&](std::string_view r) { out += r; }, o)) ==
        3);
  CHECK(out.substr(0, 4) == "b,a\n");
  CHECK(out.find("one,1\n") != std::string::npos);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a bad row fails with the server's error and the "
                  "connection stays usable") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE bad (a int)"));
  auto f = c.copy_to_table("bad", "1\n2\nthree\n4\n");
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  REQUIRE(f.failed());
  try {
    f.get();
  } catch (const uvpg::server_error &e) {
    CHECK(e.sqlstate() == "22P02");
  }
  CHECK(count_of(&loop, c, "SELECT count(*) FROM bad") == 0);
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT $1::int", 9)) == 9);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: aborting, dropping the writer, and a statement "
                  "that is no COPY") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE ab (a int)"));
  {
    uvpg::copy_writer w = wait(&loop, c.copy_in("COPY ab FROM STDIN"));
    wait(&loop, w.write("1\n2\n"));
    wait(&loop, w.abort("changed my mind"));
  }
  {
    uvpg::copy_writer w = wait(&loop, c.copy_in("COPY ab FROM STDIN"));
    wait(&loop, w.write("1\n2\n"));
  } // destroyed unfinished: aborted
  CHECK(count_of(&loop, c, "SELECT count(*) FROM ab") == 0);

  auto not_copy = c.copy_in("SELECT 1");
  REQUIRE(test::run_until(&loop, [&] { return not_copy.available(); }));
  try {
    not_copy.get();
    FAIL("copy_in accepted a SELECT");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UV_EINVAL);
  }
  auto wrong_way = c.copy_in("COPY ab TO STDOUT");
  REQUIRE(test::run_until(&loop, [&] { return wrong_way.available(); }));
  CHECK(wrong_way.failed());
  auto out_of_in = c.copy_out("COPY ab FROM STDIN", [](std::string_view) {});
  REQUIRE(test::run_until(&loop, [&] { return out_of_in.available(); }));
  CHECK(out_of_in.failed());
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT 5")) == 5);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a sink that throws fails the call, the session "
                  "goes on") {
  auto c = test::connect(&loop);
  long seen = 0;
  auto f = c.copy_from_query("SELECT generate_series(1, 1000)",
                             [&](std::string_view) {
                               if (++seen == 10) {
                                 throw std::runtime_error("sink is full");
                               }
                             });
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  try {
    f.get();
    FAIL("the sink's error was lost");
  } catch (const std::runtime_error &e) {
    CHECK(std::string(e.what()) == "sink is full");
  }
  CHECK(seen == 10); // nothing more was handed to it
  CHECK(wait(&loop, c.fetchval<int32_t>("SELECT 6")) == 6);
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy: a backend killed mid-COPY fails the writer, "
                  "nothing hangs") {
  auto c = test::connect(&loop);
  auto killer = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE k (a int)"));
  uvpg::copy_writer w = wait(&loop, c.copy_in("COPY k FROM STDIN"));
  wait(&loop, w.write("1\n"));
  wait(&loop, killer.query("SELECT pg_terminate_backend($1)",
                           c.backend_pid()));
  // Writes may still be buffered for a while; finish() must fail.
  auto done = w.finish();
  REQUIRE(test::run_until(&loop, [&] { return done.available(); }));
  REQUIRE(done.failed());
  try {
    done.get();
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UVPG_ECONNBAD);
  }
  auto later = w.write("2\n");
  REQUIRE(test::run_until(&loop, [&] { return later.available(); }));
  CHECK(later.failed());
}

TEST_CASE_FIXTURE(loop_fixture,
                  "copy_records_to_table: typed records in binary, checked "
                  "against the table first") {
  auto c = test::connect(&loop);
  wait(&loop, c.query("CREATE TEMP TABLE rec (a int4, b text, c float8, "
                      "d bytea, e timestamptz, f uuid, g int8)"));
  std::vector<uvpg::params> recs;
  auto t0 = std::chrono::system_clock::time_point(
      std::chrono::seconds(1700000000));
  for (int i = 0; i < 10000; ++i) {
    recs.push_back({int32_t{i}, "r\t" + std::to_string(i), i * 0.5,
                    uvpg::bytea{std::byte{1}, std::byte{0}, std::byte(i)},
                    t0 + std::chrono::seconds(i),
                    uvpg::uuid(std::string_view("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
                    i % 7 ? uvpg::param(int64_t{i} << 40) : uvpg::param()});
  }
  CHECK(wait(&loop, c.copy_records_to_table("rec", recs)) == 10000);
  CHECK(count_of(&loop, c, "SELECT sum(a) FROM rec") == 9999L * 10000 / 2);
  CHECK(count_of(&loop, c, "SELECT count(*) FROM rec WHERE g IS NULL") ==
        1429);
  auto r = wait(&loop, c.query("SELECT b, c, d, e, f::text, g FROM rec "
                               "WHERE a = 4321"));
  CHECK(r[0].get<std::string>(0) == "r\t4321");
  CHECK(r[0].get<double>(1) == 4321 * 0.5);
  CHECK(r[0].get<uvpg::bytea>(2).size() == 3);
  CHECK(r[0].get<std::chrono::system_clock::time_point>(3) ==
        t0 + std::chrono::seconds(4321));
  CHECK(r[0].get<std::string>(4) == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  CHECK(r[0].get<int64_t>(5) == int64_t{4321} << 40);

  // Columns named, in another order.
  CHECK(wait(&loop, c.copy_records_to_table("rec", {{"x", int32_t{-1}}},
                                            {"b", "a"})) == 1);
  CHECK(count_of(&loop, c, "SELECT a FROM rec WHERE b = 'x'") == -1);

  // Refused before any data: a value of the wrong type, an unknown
  // column, a record of another length.
  auto wrong = c.copy_records_to_table("rec", {{int64_t{1}}}, {"a"});
  auto unknown = c.copy_records_to_table("rec", {{1}}, {"zz"});
  auto ragged = c.copy_records_to_table("rec", {{1, "a"}, {1}}, {"a", "b"});
  auto text_in_int = c.copy_records_to_table("rec", {{"1234"}}, {"a"});
  for (auto *f : {&wrong, &unknown, &ragged, &text_in_int}) {
    REQUIRE(test::run_until(&loop, [&] { return f->available(); }));
    try {
      f->get();
      FAIL("refused records were stored");
    } catch (const uvpg::error &e) {
      CHECK(e.status() == UVPG_EPARAM);
    }
  }
  CHECK(count_of(&loop, c, "SELECT count(*) FROM rec") == 10001);
}

} // TEST_SUITE
