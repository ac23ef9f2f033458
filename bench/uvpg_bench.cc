// uvpg_bench: throughput of uvpg on the issue-4 workloads it can run
// today (W1 point queries, W2 rows).  Prints one line per workload:
//   <workload> <ops> <seconds> <ops/s>
// Run by bench/run.sh against a throwaway cluster; never a unit test.
//
//   uvpg_bench W1a|W1b|W1c|W2 SECONDS [conninfo]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "uvpg.hh"

namespace {

using clock_type = std::chrono::steady_clock;

struct run_state {
  clock_type::time_point end;
  long ops = 0;
  long rows = 0;
  bool failed = false;
};

// One caller: `SELECT $1::int` with a changing parameter, back to back.
uvpg::future<void> point_caller(uvpg::connection &c, run_state &s, int id) {
  int i = id;
  while (clock_type::now() < s.end) {
    auto r = co_await c.query("SELECT $1::int", i);
    if (r[0].get<int32_t>(0) != i) {
      s.failed = true;
    }
    ++s.ops;
    ++i;
  }
}

// One caller of W2: 1000 rows, every value decoded to a native type.
uvpg::future<void> rows_caller(uvpg::connection &c, run_state &s) {
  while (clock_type::now() < s.end) {
    auto r = co_await c.query("SELECT i, i::text, now(), i*1.5::float8 "
                              "FROM generate_series(1,1000) i");
    for (const uvpg::row &row : r) {
      auto [a, b, t, d] = row.as_tuple<int32_t, std::string,
                                       std::string, double>();
      s.rows += a > 0 && !b.empty() && !t.empty() && d > 0;
    }
    ++s.ops;
  }
}

template <class T> T wait(uv_loop_t *loop, uvpg::future<T> f) {
  while (!f.available()) {
    uv_run(loop, UV_RUN_ONCE);
  }
  return f.get();
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: uvpg_bench W1a|W1b|W1c|W2 SECONDS "
                         "[conninfo]\n");
    return 2;
  }
  std::string w = argv[1];
  double secs = std::atof(argv[2]);
  const char *env = std::getenv("UVPG_DSN");
  std::string dsn = argc > 3 ? argv[3] : env ? env : "";
  // W1a: 1 caller, 1 connection; W1b: 32 callers over 8 connections;
  // W1c: 32 callers on one connection; W2: 8 callers over 8 connections.
  int conns = w == "W1a" || w == "W1c" ? 1 : 8;
  int callers = w == "W1a" ? 1 : w == "W2" ? 8 : 32;

  uv_loop_t loop;
  uv_loop_init(&loop);
  int rc = 0;
  try {
    std::vector<uvpg::connection> cs;
    for (int i = 0; i < conns; ++i) {
      cs.push_back(wait(&loop, uvpg::connection::connect(&loop, dsn)));
    }
    run_state s;
    auto start = clock_type::now();
    s.end = start + std::chrono::duration_cast<clock_type::duration>(
                        std::chrono::duration<double>(secs));
    std::vector<uvpg::future<void>> running;
    for (int i = 0; i < callers; ++i) {
      auto &c = cs[i % conns];
      running.push_back(w == "W2" ? rows_caller(c, s)
                                  : point_caller(c, s, i * 1000000));
    }
    for (auto &f : running) {
      wait(&loop, std::move(f));
    }
    double took = std::chrono::duration<double>(clock_type::now() - start)
                      .count();
    std::printf("%s %ld %.3f %.0f\n", w.c_str(),
                w == "W2" ? s.rows : s.ops, took,
                (w == "W2" ? s.rows : s.ops) / took);
    rc = s.failed ? 1 : 0;
    for (auto &c : cs) {
      wait(&loop, c.close());
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "uvpg_bench: %s\n", e.what());
    rc = 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}
