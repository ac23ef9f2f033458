// pool.cc: a connection pool serving many callers.
//
// Creates a pool of at most 4 connections, then starts 20 "requests" at
// once, as a server would: each takes a connection with acquire(), runs
// its statements and gives the connection back by letting the handle
// go.  Five more use the pool-level fetchval(), which acquires, runs and
// gives back in one call under the pool's deadline.  The pool serves
// waiters first come, first served and resets a session that a request
// changed (here a SET) before the next one gets it.  Prints the pool's
// counters at the end.
// Run it as
//   samples/pool "host=localhost dbname=postgres"
// or with the conninfo in UVPG_DSN (empty: the PG* variables).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <uvpg.hh>

namespace {

uvpg::future<void> request(uvpg::pool &pool, int n) {
  uvpg::connection conn = co_await pool.acquire();
  // Session state a request sets is undone before the next one runs.
  co_await conn.execute("SET application_name = 'request " +
                        std::to_string(n) + "'");
  auto pid = co_await conn.fetchval<int>("SELECT pg_backend_pid()");
  std::printf("request %2d ran on backend %d\n", n, pid);
} // `conn` goes back to the pool here

uvpg::future<int> run(uv_loop_t *loop, std::string conninfo) {
  uvpg::pool_options opts;
  opts.minsize = 2;
  opts.maxsize = 4;
  opts.timeout = std::chrono::seconds(10);
  uvpg::pool pool = uvpg::pool::create(loop, conninfo, opts);
  int exit_code = 0;
  try {
    std::vector<uvpg::future<void>> running;
    for (int n = 1; n <= 20; ++n) {
      running.push_back(request(pool, n));
    }
    std::vector<uvpg::future<int>> sums;
    for (int n = 1; n <= 5; ++n) {
      sums.push_back(pool.fetchval<int>("SELECT $1::int * 10", n));
    }
    for (auto &f : running) {
      co_await std::move(f);
    }
    for (auto &f : sums) {
      std::printf("pool.fetchval: %d\n", co_await std::move(f));
    }
  } catch (const uvpg::error &e) {
    std::fprintf(stderr, "failed: %s\n", e.what());
    exit_code = 1;
  }
  uvpg::pool_stats s = pool.stats();
  std::printf("connections opened %llu, handed out %llu, session resets "
              "%llu, mean wait %.3f ms\n",
              static_cast<unsigned long long>(s.opened),
              static_cast<unsigned long long>(s.acquired),
              static_cast<unsigned long long>(s.resets),
              s.acquired ? static_cast<double>(s.wait_ns) / 1e6 /
                               static_cast<double>(s.acquired)
                         : 0.0);
  co_await pool.close();
  co_return exit_code;
}

} // namespace

int main(int argc, char **argv) {
  const char *conninfo = argc > 1 ? argv[1] : std::getenv("UVPG_DSN");
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    return 1;
  }
  int exit_code = 1;
  {
    uvpg::future<int> done = run(&loop, conninfo ? conninfo : "");
    while (!done.available() && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    try {
      exit_code = done.available() ? done.get() : 1;
    } catch (const std::exception &e) {
      std::fprintf(stderr, "failed: %s\n", e.what());
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop) == 0 ? exit_code : 1;
}
