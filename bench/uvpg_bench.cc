// uvpg_bench: throughput of uvpg on the workloads of issue 4.  Prints
// one line per run:
//   <workload> <count> <seconds> <count/s> [peak RSS kB]
// (W1: queries; W2, W3, W4, W5: rows; W5 adds the process's peak RSS;
// W6: notifications, and adds the rate from the first received to the
// last.)
// Run by bench/run.sh against a throwaway cluster; never a unit test.
//
//   uvpg_bench W1a|W1b|W1c|W1p|W1q|W2|W3a|W3b|W4|W5|W6|W6q SECONDS
//              [conninfo]
//
// W1 point `SELECT $1::int`: (a) 1 caller on 1 connection, (b) 32
//    callers over 8 connections, (c) 32 callers on 1 connection,
//    (p) 32 callers over a uvpg::pool of 8 (pool.fetchval: acquire,
//    query, release per call).
// W1q the pool's own cost per call, one caller, no contention: latency
//    p50/p99 of acquire + release alone (maxsize 1 and 2), of acquire +
//    fetchval + release and pool.fetchval (maxsize 1), against a direct
//    connection's fetchval and query (with and without a deadline, which
//    every pool-level call carries).  One line per variant:
//      W1q-<variant> <count> <seconds> <count/s> <p50 us> <p99 us>
//        <loop turns per call>
// W2 1000 rows (int, text, timestamptz, float8), each value decoded to
//    a native type, 8 callers over 8 connections.
// W3 100,000 (int, text, float8) rows into a temp table in one
//    transaction: (a) executemany, (b) copy_records_to_table.
// W4 SELECT id, doc FROM bench_w4 (1000 rows of ~1 KB jsonb, made by
//    bench/setup.sql), each doc parsed to a uvpg::json and read through
//    its root, 8 callers over 8 connections.
// W5 10,000,000 rows `SELECT i FROM generate_series(1,N) i` through a
//    named server-side cursor inside a transaction.
// W6 100,000 notifications that a second connection sends in one
//    statement, `SELECT count(pg_notify('bench_w6', i::text)) FROM
//    generate_series(1,N) i`, each taken by a handler (W6) or by get()
//    on the queue (W6q) of the listening connection; the payloads must
//    count up from 1.
// W1, W2 and W4 run for SECONDS; W3, W5 and W6 run to completion
// (SECONDS is ignored).  BENCH_W3_ROWS, BENCH_W5_ROWS and
// BENCH_W6_COUNT change their sizes.
// BENCH_POOL_TIMEOUT_MS sets W1p's and W1q's pool_options::timeout (the
// pool's default, 60000, when unset; 0 = no deadline), to see what the
// deadline of every pool-level call costs.
//
// Exit status: 0 done, 1 failed (error or a wrong value), 2 usage,
// 3 the workload needs an API this build of uvpg does not have.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "uvpg.hh"
#include "uvpg/types/datetime.hh"
#include "uvpg/types/json.hh"

namespace {

using clock_type = std::chrono::steady_clock;

// The same SQL as bench/asyncpg_bench.py and the pgbench scripts of
// bench/run.sh.
constexpr const char *point_sql = "SELECT $1::int";
constexpr const char *rows_sql = "SELECT i, i::text, now(), i*1.5::float8 "
                                 "FROM generate_series(1,1000) i";
constexpr const char *json_sql = "SELECT id, doc FROM bench_w4";
constexpr const char *w3_table_sql =
    "CREATE TEMP TABLE bench_w3 (a int, b text, c float8)";
constexpr const char *w3_insert_sql =
    "INSERT INTO bench_w3 (a, b, c) VALUES ($1, $2, $3)";
// Rows a W5 fetch asks for (asyncpg_bench.py uses the same).
constexpr int w5_batch = 10000;
// W6's channel, and the statement that sends its burst: payloads "1"
// to "<n>", in one transaction.
constexpr const char *w6_channel = "bench_w6";
std::string w6_send_sql(long n) {
  return "SELECT count(pg_notify('bench_w6', i::text)) "
         "FROM generate_series(1, " +
         std::to_string(n) + ") i";
}

struct run_state {
  clock_type::time_point end;
  long ops = 0;
  long rows = 0;
  bool failed = false;
};

// W1: one caller, `SELECT $1::int` with a changing parameter, back to
// back; checks every answer.
uvpg::future<void> point_caller(uvpg::connection &c, run_state &s, int id) {
  int i = id;
  while (clock_type::now() < s.end) {
    auto r = co_await c.query(point_sql, i);
    if (r[0].get<int32_t>(0) != i) {
      s.failed = true;
    }
    ++s.ops;
    ++i;
  }
}

// W1p: one caller through the pool-level fetchval (acquire, query,
// release per call); checks every answer.
uvpg::future<void> pool_point_caller(uvpg::pool &p, run_state &s, int id) {
  int i = id;
  while (clock_type::now() < s.end) {
    int v = co_await p.fetchval<int>(point_sql, i);
    if (v != i) {
      s.failed = true;
    }
    ++s.ops;
    ++i;
  }
}

// W1q: per-call latencies (ns) and the loop turns they took.
struct latency_run {
  std::vector<uint64_t> ns;
  uint64_t turns = 0;
  double seconds = 0;
  bool failed = false;
};

// Counts loop iterations (a check handle runs once per turn).
struct turn_counter {
  uv_check_t h;
  uint64_t turns = 0;
};

enum class w1q_kind {
  acquire,       // co_await acquire(); drop the handle
  acquire_query, // acquire(); conn.fetchval(); drop the handle
  pool_fetchval, // pool.fetchval()
  direct_fetchval,
  direct_query,
  direct_query_deadline, // query() with a 60 s deadline, as the pool's
};

// One W1q variant for `secs`, appending to `out`.  `p` or `c` is used,
// as the kind says.
uvpg::future<void> w1q_caller(w1q_kind k, uvpg::pool *p, uvpg::connection *c,
                              double secs, const turn_counter &tc,
                              latency_run &out, int &i) {
  uint64_t start = uv_hrtime();
  uint64_t end = start + static_cast<uint64_t>(secs * 1e9);
  uint64_t turns0 = tc.turns;
  uvpg::query_options deadline;
  deadline.timeout = std::chrono::milliseconds(60000);
  uint64_t t = start;
  while (t < end) {
    ++i;
    int v = i;
    switch (k) {
    case w1q_kind::acquire: {
      auto conn = co_await p->acquire();
      conn = uvpg::connection();
      break;
    }
    case w1q_kind::acquire_query: {
      auto conn = co_await p->acquire();
      v = co_await conn.fetchval<int>(point_sql, i);
      conn = uvpg::connection();
      break;
    }
    case w1q_kind::pool_fetchval:
      v = co_await p->fetchval<int>(point_sql, i);
      break;
    case w1q_kind::direct_fetchval:
      v = co_await c->fetchval<int>(point_sql, i);
      break;
    case w1q_kind::direct_query: {
      auto r = co_await c->query(point_sql, i);
      v = r[0].get<int32_t>(0);
      break;
    }
    case w1q_kind::direct_query_deadline: {
      // (A named vector: GCC 12 rejects a braced list as an argument
      // inside a coroutine.)
      uvpg::params args(1, uvpg::param(i));
      auto r = co_await c->query(point_sql, std::move(args), deadline);
      v = r[0].get<int32_t>(0);
      break;
    }
    }
    if (v != i) {
      out.failed = true;
    }
    uint64_t now = uv_hrtime();
    out.ns.push_back(now - t);
    t = now;
  }
  out.turns += tc.turns - turns0;
  out.seconds += static_cast<double>(t - start) / 1e9;
}

double percentile_us(std::vector<uint64_t> &v, double q) {
  if (v.empty()) {
    return 0;
  }
  auto k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

// W2: one caller, 1000 rows a query, every value decoded to its native
// type (int32, std::string, uvpg::timestamptz, double).
uvpg::future<void> rows_caller(uvpg::connection &c, run_state &s) {
  while (clock_type::now() < s.end) {
    auto r = co_await c.query(rows_sql);
    for (const uvpg::row &row : r) {
      auto [a, b, t, d] =
          row.as_tuple<int32_t, std::string, uvpg::timestamptz, double>();
      if (a <= 0 || b.empty() || t.since_2000() <= 0 || d <= 0) {
        s.failed = true;
      }
      ++s.rows;
    }
    ++s.ops;
  }
}

// W4: one caller, 1000 jsonb documents a query, each parsed into a
// uvpg::json whose root is read (its "id" must be the row's id).
uvpg::future<void> json_caller(uvpg::connection &c, run_state &s) {
  while (clock_type::now() < s.end) {
    auto r = co_await c.query(json_sql);
    for (const uvpg::row &row : r) {
      auto id = row.get<int32_t>(0);
      auto doc = row.get<uvpg::json>(1);
      int64_t doc_id = doc.root()["id"].get_int64().value();
      if (doc_id != id) {
        s.failed = true;
      }
      ++s.rows;
    }
    ++s.ops;
  }
}

// W3 needs connection::executemany (W3a) and
// connection::copy_records_to_table (W3b).  They are looked for here
// rather than assumed, so that the bench builds against a uvpg without
// them and says it cannot run that workload (exit 3).
template <class C>
concept has_executemany = requires(C &c, std::vector<uvpg::params> rows) {
  {
    c.executemany(std::string_view{}, std::move(rows))
    } -> std::same_as<uvpg::future<void>>;
};
template <class C>
concept has_copy_records = requires(C &c, std::vector<uvpg::params> rows) {
  {
    c.copy_records_to_table(std::string_view{}, rows,
                            std::vector<std::string>{})
    } -> std::same_as<uvpg::future<uint64_t>>;
};

// W3a: inserts `rows` with executemany, in one transaction.
template <class C>
uvpg::future<void> insert_many(C &c, std::vector<uvpg::params> rows) {
  co_await c.query("BEGIN");
  co_await c.executemany(w3_insert_sql, std::move(rows));
  co_await c.query("COMMIT");
}

// W3b: inserts `rows` with binary COPY, in one transaction.
template <class C>
uvpg::future<void> insert_copy(C &c, std::vector<uvpg::params> rows) {
  // (The column list is a named vector: GCC 12 rejects a braced list
  // as an argument inside a coroutine.)
  std::vector<std::string> columns{"a", "b", "c"};
  co_await c.query("BEGIN");
  co_await c.copy_records_to_table("bench_w3", rows, std::move(columns));
  co_await c.query("COMMIT");
}

// W5: reads every row of `sql` through a named cursor in a transaction
// of its own, w5_batch rows a FETCH; counts them and sums the values.
uvpg::future<void> stream_rows(uvpg::connection &c, run_state &s,
                               std::string sql, long long &sum) {
  co_await c.query("BEGIN");
  uvpg::cursor_options o;
  o.name = "bench_w5";
  o.arraysize = w5_batch;
  uvpg::cursor cur(c, o);
  co_await cur.execute(sql);
  for (;;) {
    auto batch = co_await cur.fetchmany();
    if (batch.empty()) {
      break;
    }
    for (const uvpg::row &row : batch) {
      sum += row.get<int32_t>(0);
    }
    s.rows += static_cast<long>(batch.size());
  }
  co_await cur.close();
  co_await c.query("COMMIT");
}

template <class T> T wait(uv_loop_t *loop, uvpg::future<T> f) {
  while (!f.available()) {
    uv_run(loop, UV_RUN_ONCE);
  }
  return f.get();
}

long env_count(const char *name, long fallback) {
  const char *v = std::getenv(name);
  long n = v != nullptr ? std::atol(v) : 0;
  return n > 0 ? n : fallback;
}

long peak_rss_kb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss; // kB on Linux
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// ---- W6: a burst of notifications from another connection ----

// What W6 received: the payloads must count up from 1.
struct w6_state {
  long expected = 0;
  long got = 0;
  bool failed = false;
  clock_type::time_point first, last;
  void take(const uvpg::notification &n) {
    if (got == 0) {
      first = clock_type::now();
    }
    ++got;
    if (std::atol(n.payload.c_str()) != got) {
      failed = true;
    }
    if (got == expected) {
      last = clock_type::now();
    }
  }
};

// W6q: the queue, one get() after the other.
uvpg::future<void> w6_taker(uvpg::notify_queue q, w6_state &s) {
  while (s.got < s.expected) {
    s.take(co_await q.get());
  }
}

// W6 (a handler, asyncpg's add_listener) and W6q (the queue):
// BENCH_W6_COUNT (100,000) notifications that another connection sends
// in one statement, timed from the send to the last one received.
int run_w6(uv_loop_t *loop, const std::string &dsn, bool queue) {
  long n = env_count("BENCH_W6_COUNT", 100000);
  uvpg::connection listener =
      wait(loop, uvpg::connection::connect(loop, dsn));
  uvpg::connection sender = wait(loop, uvpg::connection::connect(loop, dsn));
  w6_state s;
  s.expected = n;
  uvpg::future<void> taker;
  if (queue) {
    taker = w6_taker(listener.notifies(), s);
  } else {
    listener.add_notify_handler(
        [&s](const uvpg::notification &x) { s.take(x); });
  }
  wait(loop, listener.listen(w6_channel));
  auto start = clock_type::now();
  wait(loop, sender.query(w6_send_sql(n)));
  if (queue) {
    wait(loop, std::move(taker));
  } else {
    while (s.got < n) {
      uv_run(loop, UV_RUN_ONCE);
    }
  }
  double took = std::chrono::duration<double>(s.last - start).count();
  double spread = std::chrono::duration<double>(s.last - s.first).count();
  std::printf("%s %ld %.3f %.0f %.0f\n", queue ? "W6q" : "W6", s.got, took,
              static_cast<double>(s.got) / took,
              static_cast<double>(s.got - 1) / spread);
  wait(loop, listener.close());
  wait(loop, sender.close());
  return s.failed ? 1 : 0;
}

// The W3 rows: (i, "row i", i * 1.5) for i in 1..n.
std::vector<uvpg::params> w3_rows(long n) {
  std::vector<uvpg::params> rows;
  rows.reserve(static_cast<size_t>(n));
  for (long i = 1; i <= n; ++i) {
    rows.push_back({static_cast<int32_t>(i), "row " + std::to_string(i),
                    static_cast<double>(i) * 1.5});
  }
  return rows;
}

// W3a / W3b on connection `c`: returns the exit status.
template <class C> int run_insert(uv_loop_t *loop, C &c, bool copy) {
  long n = env_count("BENCH_W3_ROWS", 100000);
  wait(loop, c.query(w3_table_sql));
  // The rows are built before the clock starts, as asyncpg's are.
  std::vector<uvpg::params> rows = w3_rows(n);
  auto start = clock_type::now();
  if (copy) {
    if constexpr (has_copy_records<C>) {
      wait(loop, insert_copy(c, std::move(rows)));
    } else {
      std::fprintf(stderr, "uvpg_bench: W3b needs "
                           "connection::copy_records_to_table, which this "
                           "build of uvpg lacks\n");
      return 3;
    }
  } else {
    if constexpr (has_executemany<C>) {
      wait(loop, insert_many(c, std::move(rows)));
    } else {
      std::fprintf(stderr, "uvpg_bench: W3a needs connection::executemany, "
                           "which this build of uvpg lacks\n");
      return 3;
    }
  }
  double took = seconds_since(start);
  auto got =
      wait(loop, c.template fetchval<int64_t>("SELECT count(*) FROM bench_w3"));
  std::printf("%s %ld %.3f %.0f\n", copy ? "W3b" : "W3a", n, took, n / took);
  return got == n ? 0 : 1;
}

// A pool of `size` connections (minsize = maxsize), every one open
// before it is returned.
uvpg::pool open_pool(uv_loop_t *loop, const std::string &dsn, size_t size) {
  uvpg::pool_options o;
  o.minsize = size;
  o.maxsize = size;
  if (const char *t = std::getenv("BENCH_POOL_TIMEOUT_MS")) {
    o.timeout = std::chrono::milliseconds(std::atol(t));
  }
  uvpg::pool p = uvpg::pool::create(loop, dsn, o);
  while (p.freesize() < size) {
    if (p.stats().failed > 0) {
      throw std::runtime_error("a pool connection could not be opened");
    }
    uv_run(loop, UV_RUN_ONCE);
  }
  return p;
}

// W1p: 32 callers over a pool of 8; returns the exit status.
int run_w1p(uv_loop_t *loop, const std::string &dsn, double secs) {
  uvpg::pool p = open_pool(loop, dsn, 8);
  run_state s;
  auto start = clock_type::now();
  s.end = start + std::chrono::duration_cast<clock_type::duration>(
                      std::chrono::duration<double>(secs));
  std::vector<uvpg::future<void>> running;
  for (int i = 0; i < 32; ++i) {
    running.push_back(pool_point_caller(p, s, i * 1000000));
  }
  for (auto &f : running) {
    wait(loop, std::move(f));
  }
  double took = seconds_since(start);
  std::printf("W1p %ld %.3f %.0f\n", s.ops, took, s.ops / took);
  wait(loop, p.close());
  return s.failed ? 1 : 0;
}

// W1q: every variant in turn, in 10 rounds of secs / 10 split between
// them, so that they share the machine's ups and downs.
int run_w1q(uv_loop_t *loop, const std::string &dsn, double secs) {
  struct variant {
    const char *name;
    w1q_kind kind;
    uvpg::pool *pool;
    latency_run run;
  };
  uvpg::pool p1 = open_pool(loop, dsn, 1);
  uvpg::pool p2 = open_pool(loop, dsn, 2);
  uvpg::connection c = wait(loop, uvpg::connection::connect(loop, dsn));
  variant vs[] = {
      {"acquire-max1", w1q_kind::acquire, &p1, {}},
      {"acquire-max2", w1q_kind::acquire, &p2, {}},
      {"acquire-fetchval-max1", w1q_kind::acquire_query, &p1, {}},
      {"pool.fetchval-max1", w1q_kind::pool_fetchval, &p1, {}},
      {"direct-fetchval", w1q_kind::direct_fetchval, nullptr, {}},
      {"direct-query", w1q_kind::direct_query, nullptr, {}},
      {"direct-query-deadline", w1q_kind::direct_query_deadline, nullptr, {}},
  };
  constexpr int rounds = 10;
  const double slice = secs / rounds / static_cast<double>(std::size(vs));
  auto *tc = new turn_counter;
  uv_check_init(loop, &tc->h);
  tc->h.data = tc;
  uv_check_start(&tc->h, [](uv_check_t *h) {
    ++static_cast<turn_counter *>(h->data)->turns;
  });
  uv_unref(reinterpret_cast<uv_handle_t *>(&tc->h));
  int i = 0;
  for (int r = 0; r < rounds; ++r) {
    for (auto &v : vs) {
      wait(loop, w1q_caller(v.kind, v.pool, &c, slice, *tc, v.run, i));
    }
  }
  uv_close(reinterpret_cast<uv_handle_t *>(&tc->h), [](uv_handle_t *h) {
    delete static_cast<turn_counter *>(h->data);
  });
  bool failed = false;
  for (auto &v : vs) {
    auto n = static_cast<double>(v.run.ns.size());
    double turns = n > 0 ? static_cast<double>(v.run.turns) / n : 0;
    double p50 = percentile_us(v.run.ns, 0.50);
    double p99 = percentile_us(v.run.ns, 0.99);
    std::printf("W1q-%s %zu %.3f %.0f %.2f %.2f %.2f\n", v.name,
                v.run.ns.size(), v.run.seconds, n / v.run.seconds, p50, p99,
                turns);
    failed = failed || v.run.failed;
  }
  wait(loop, c.close());
  wait(loop, p1.close());
  wait(loop, p2.close());
  return failed ? 1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: uvpg_bench "
                         "W1a|W1b|W1c|W1p|W1q|W2|W3a|W3b|W4|W5|W6|W6q "
                         "SECONDS [conninfo]\n");
    return 2;
  }
  std::string w = argv[1];
  double secs = std::atof(argv[2]);
  const char *env = std::getenv("UVPG_DSN");
  std::string dsn = argc > 3 ? argv[3] : env ? env : "";
  if (w == "W1p" || w == "W1q" || w == "W6" || w == "W6q") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    int rc = 0;
    try {
      rc = w == "W1p"   ? run_w1p(&loop, dsn, secs)
           : w == "W1q" ? run_w1q(&loop, dsn, secs)
                        : run_w6(&loop, dsn, w == "W6q");
    } catch (const std::exception &e) {
      std::fprintf(stderr, "uvpg_bench %s: %s\n", w.c_str(), e.what());
      rc = 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
  }
  bool timed = w == "W1a" || w == "W1b" || w == "W1c" || w == "W2" || w == "W4";
  if (!timed && w != "W3a" && w != "W3b" && w != "W5") {
    std::fprintf(stderr, "uvpg_bench: no workload %s\n", w.c_str());
    return 2;
  }
  // Connections and concurrent callers of the timed workloads: W1a 1/1,
  // W1b 8/32, W1c 1/32, W2 and W4 8/8.  W3 and W5 use one connection.
  int conns = w == "W1b" || w == "W2" || w == "W4" ? 8 : 1;
  int callers = w == "W1a" ? 1 : w == "W1b" || w == "W1c" ? 32 : 8;

  uv_loop_t loop;
  uv_loop_init(&loop);
  int rc = 0;
  try {
    std::vector<uvpg::connection> cs;
    for (int i = 0; i < conns; ++i) {
      cs.push_back(wait(&loop, uvpg::connection::connect(&loop, dsn)));
    }
    if (w == "W3a" || w == "W3b") {
      rc = run_insert(&loop, cs[0], w == "W3b");
    } else if (w == "W5") {
      long n = env_count("BENCH_W5_ROWS", 10000000);
      run_state s;
      long long sum = 0;
      auto start = clock_type::now();
      wait(&loop, stream_rows(cs[0], s,
                              "SELECT i FROM generate_series(1," +
                                  std::to_string(n) + ") i",
                              sum));
      double took = seconds_since(start);
      std::printf("W5 %ld %.3f %.0f %ld\n", s.rows, took, s.rows / took,
                  peak_rss_kb());
      rc =
          s.rows == n && sum == static_cast<long long>(n) * (n + 1) / 2 ? 0 : 1;
    } else {
      run_state s;
      auto start = clock_type::now();
      s.end = start + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(secs));
      std::vector<uvpg::future<void>> running;
      for (int i = 0; i < callers; ++i) {
        auto &c = cs[i % conns];
        running.push_back(w == "W2"   ? rows_caller(c, s)
                          : w == "W4" ? json_caller(c, s)
                                      : point_caller(c, s, i * 1000000));
      }
      for (auto &f : running) {
        wait(&loop, std::move(f));
      }
      double took = seconds_since(start);
      long count = w == "W2" || w == "W4" ? s.rows : s.ops;
      std::printf("%s %ld %.3f %.0f\n", w.c_str(), count, took, count / took);
      rc = s.failed ? 1 : 0;
    }
    for (auto &c : cs) {
      wait(&loop, c.close());
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "uvpg_bench %s: %s\n", w.c_str(), e.what());
    rc = 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}
