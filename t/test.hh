// Shared by the tests: a loop fixture that proves no handle leaked, a
// way to wait for a future with a watchdog, and the test server's DSN.
#ifndef UVPG_TEST_HH
#define UVPG_TEST_HH

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

#include "uvpg.hh"

namespace test {

/// The conninfo of the test server.  The README's test command starts a
/// throwaway cluster and sets UVPG_DSN; PG* variables are honoured when a
/// caller names its own server.  Without either, live tests fail loudly.
inline std::string dsn() {
  if (const char *d = std::getenv("UVPG_DSN")) {
    return d;
  }
  for (const char *v : {"PGHOST", "PGPORT", "PGDATABASE", "PGSERVICE"}) {
    if (std::getenv(v)) {
      return "";
    }
  }
  FAIL("no test server: run the suite through scripts/check.sh, or set "
       "UVPG_DSN / PG* to name a server");
  return "";
}

/// An environment variable the cluster script sets; fails when missing.
inline std::string env(const char *name) {
  const char *v = std::getenv(name);
  REQUIRE_MESSAGE(v != nullptr, name << " is not set: run the suite "
                                        "through scripts/check.sh");
  return v;
}

/// A private loop per test case.  The destructor runs the loop until all
/// handles are closed and checks that uv_loop_close() succeeds.
struct loop_fixture {
  uv_loop_t loop;
  loop_fixture() { REQUIRE(uv_loop_init(&loop) == 0); }
  ~loop_fixture() {
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
};

/// Runs `loop` until `done()` holds; fails after `seconds` so a bug is a
/// failure, never a hang.
template <class Pred>
bool run_until(uv_loop_t *loop, Pred done, double seconds = 30) {
  uv_update_time(loop);
  uint64_t limit = uv_now(loop) + static_cast<uint64_t>(seconds * 1000);
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  // The timer only wakes the loop so the deadline is checked.
  uv_timer_start(&tick, [](uv_timer_t *) {}, 50, 50);
  while (!done() && uv_now(loop) < limit) {
    uv_run(loop, UV_RUN_ONCE);
  }
  uv_close(reinterpret_cast<uv_handle_t *>(&tick), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
  bool ok = done();
  CHECK_MESSAGE(ok, "timed out after " << seconds << " s");
  return ok;
}

/// Waits for a future on `loop` and returns its value (rethrows).
template <class T> T wait(uv_loop_t *loop, uvpg::future<T> f,
                          double seconds = 30) {
  REQUIRE(run_until(loop, [&] { return f.available(); }, seconds));
  return f.get();
}

/// Connects to the test server with default options.
inline uvpg::connection connect(uv_loop_t *loop,
                                const uvpg::connect_options &o = {}) {
  return wait(loop, uvpg::connection::connect(loop, dsn(), o));
}

/// Binds `srv` to a free port on 127.0.0.1 and listens with `cb`;
/// returns the port.  For the test's own fault-injecting servers.
inline int listen_local(uv_loop_t *loop, uv_tcp_t *srv,
                        uv_connection_cb cb) {
  REQUIRE(uv_tcp_init(loop, srv) == 0);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  REQUIRE(uv_tcp_bind(srv, reinterpret_cast<sockaddr *>(&addr), 0) == 0);
  REQUIRE(uv_listen(reinterpret_cast<uv_stream_t *>(srv), 8, cb) == 0);
  struct sockaddr_storage name;
  int len = sizeof name;
  uv_tcp_getsockname(srv, reinterpret_cast<sockaddr *>(&name), &len);
  return ntohs(reinterpret_cast<sockaddr_in *>(&name)->sin_port);
}

/// The first column of the first row of `sql`, a count.
inline long long count_of(uv_loop_t *loop, uvpg::connection &c,
                          const std::string &sql) {
  return wait(loop, c.fetchval<int64_t>(sql));
}

/// How a future ended: "ok", the SQLSTATE of a server error, or the
/// words of any other error.
template <class T> std::string outcome(const uvpg::future<T> &f) {
  if (!f.failed()) {
    return "ok";
  }
  try {
    std::rethrow_exception(f.get_exception());
  } catch (const uvpg::server_error &e) {
    return e.sqlstate();
  } catch (const std::exception &e) {
    return std::string("not a server error: ") + e.what();
  }
}

/// Runs `f` to completion and returns its error status (0: none).
template <class T> int status_of(uv_loop_t *loop, uvpg::future<T> f) {
  REQUIRE(run_until(loop, [&] { return f.available(); }));
  try {
    f.get();
    return 0;
  } catch (const uvpg::error &e) {
    return e.status();
  }
}

/// A future that resolves after `ms` on `loop` (a slow consumer).
inline uvpg::future<void> sleep_ms(uv_loop_t *loop, uint64_t ms) {
  struct timer {
    uv_timer_t t;
    uvpg::promise<void> p;
  };
  auto *t = new timer;
  auto f = t->p.get_future();
  uv_timer_init(loop, &t->t);
  t->t.data = t;
  uv_timer_start(
      &t->t,
      [](uv_timer_t *h) {
        auto *t = static_cast<timer *>(h->data);
        t->p.set_value();
        uv_close(reinterpret_cast<uv_handle_t *>(h), [](uv_handle_t *h) {
          delete static_cast<timer *>(h->data);
        });
      },
      ms, 0);
  return f;
}

/// Runs `create` (a CREATE TYPE or CREATE DOMAIN) unless the type exists:
/// test programs share the server and may run at once.  A connection
/// made afterwards finds the type at connect.
inline void create_type(uv_loop_t *loop, uvpg::connection &c,
                        const std::string &create) {
  wait(loop, c.execute("DO $$ BEGIN " + create +
                       "; EXCEPTION WHEN duplicate_object OR "
                       "unique_violation THEN NULL; END $$"));
}

/// The result of `sql` on `c`, in binary or text form.
inline uvpg::result select(uv_loop_t *loop, uvpg::connection &c,
                           const std::string &sql, bool binary) {
  uvpg::query_options o;
  o.binary_results = binary;
  return wait(loop, c.query(sql, uvpg::params{}, o));
}

/// Runs `sql` for text and for binary results; checks that each column
/// reads as the same std::string from both.  Returns {text, binary}.
inline std::pair<uvpg::result, uvpg::result>
same_text(uv_loop_t *loop, uvpg::connection &c, const std::string &sql) {
  auto b = select(loop, c, sql, true);
  auto t = select(loop, c, sql, false);
  for (int i = 0; i < t.columns(); ++i) {
    INFO("column " << i << ": " << t.value(0, i));
    CHECK(b[0].get<std::string>(i) == t[0].get<std::string>(i));
  }
  return {std::move(t), std::move(b)};
}

/// Runs a shell command (the cluster's pg_ctl) and checks it succeeded.
inline void shell(const std::string &cmd) {
  INFO("running: " << cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}

/// Everything written to stderr while `body` runs.
template <class F> std::string stderr_of(F &&body) {
  std::fflush(stderr);
  int saved = dup(2);
  FILE *tmp = std::tmpfile();
  REQUIRE(tmp);
  dup2(fileno(tmp), 2);
  body();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string out(65536, '\0');
  std::rewind(tmp);
  out.resize(std::fread(out.data(), 1, out.size(), tmp));
  std::fclose(tmp);
  return out;
}

} // namespace test

#endif // UVPG_TEST_HH
