// Deadlines and lost connections: a statement's timeout is kept whatever
// the server does, and a lost connection reads as lost, with the cause
// the server gave.  The backend is frozen with SIGSTOP (only this test's
// own backend, so other tests running in parallel are not disturbed) or
// terminated from a second connection.
#include <csignal>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/deadline");

namespace {

// Stops a backend for the scope: the "server" of one connection frozen.
struct frozen {
  int pid;
  explicit frozen(int p) : pid(p) { REQUIRE(::kill(pid, SIGSTOP) == 0); }
  void thaw() {
    if (pid) {
      ::kill(std::exchange(pid, 0), SIGCONT);
    }
  }
  ~frozen() { thaw(); }
};

double since(uint64_t start) { return (uv_hrtime() - start) / 1e9; }

int status_of(const uvpg::future<uvpg::result> &f) {
  if (!f.failed()) {
    return 0;
  }
  try {
    std::rethrow_exception(f.get_exception());
  } catch (const uvpg::error &e) {
    return e.status();
  }
}

} // namespace

TEST_CASE("timeout: kept when the backend is frozen; the session goes on "
          "once it wakes") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  int pid = c.backend_pid();
  uvpg::query_options o;
  o.timeout = std::chrono::milliseconds(300);
  frozen f(pid);
  uint64_t start = uv_hrtime();
  auto q = c.query("SELECT 1", {}, o);
  REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }, 10));
  double secs = since(start);
  CHECK(status_of(q) == UV_ETIMEDOUT);
  // The deadline, not the 5 s grace the cancel gets: a bound on the
  // wait, far above timer granularity.
  CHECK(secs < 2);
  MESSAGE("UV_ETIMEDOUT after " << secs * 1000 << " ms (timeout 300 ms)");
  f.thaw();
  // The cancel reaches the backend now; the session is the same one.
  CHECK(test::wait(&lf.loop, c.fetchval<int32_t>("SELECT 7")) == 7);
  CHECK(c.backend_pid() == pid);
  CHECK(c.status() == UVPG_CONN_READY);
}

TEST_CASE("timeout: a result that comes after the deadline is never "
          "reported as success") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  uvpg::query_options o;
  o.timeout = std::chrono::milliseconds(20);
  int timed_out = 0;
  for (int i = 0; i < 40; ++i) {
    auto q = c.query("SELECT pg_sleep(0.05)", {}, o);
    REQUIRE(test::run_until(&lf.loop, [&] { return q.available(); }, 10));
    int s = status_of(q);
    CHECK(s == UV_ETIMEDOUT); // a 50 ms statement never meets 20 ms
    timed_out += s == UV_ETIMEDOUT;
  }
  CHECK(timed_out == 40);
  CHECK(test::wait(&lf.loop, c.fetchval<int32_t>("SELECT 1")) == 1);
}

TEST_CASE("timeout: a queued statement's deadline runs from the call") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  uvpg::query_options o;
  o.timeout = std::chrono::milliseconds(100);
  uint64_t start = uv_hrtime();
  auto slow = c.query("SELECT pg_sleep(1)");
  auto queued = c.query("SELECT 'late'", {}, o);
  auto after = c.query("SELECT 'after'");
  REQUIRE(test::run_until(&lf.loop, [&] { return queued.available(); }, 10));
  double secs = since(start);
  CHECK(status_of(queued) == UV_ETIMEDOUT);
  CHECK_FALSE(slow.available()); // told before the statement ahead ended
  CHECK(secs < 0.9);
  CHECK(test::wait(&lf.loop, std::move(slow)).rows() == 1);
  CHECK(test::wait(&lf.loop, std::move(after)).value(0, 0) == "after");
}

TEST_CASE("lost connection: every pending statement reads as lost, with "
          "the server's SQLSTATE, never a cancel's") {
  test::loop_fixture lf;
  auto killer = test::connect(&lf.loop);
  int lost = 0;
  for (int round = 0; round < 12; ++round) {
    INFO("round " << round);
    auto c = test::connect(&lf.loop);
    int pid = c.backend_pid();
    uvpg::query_options o;
    // Around the moment of the kill: some rounds see the deadline
    // first (and a cancel in flight), some the kill.
    o.timeout = std::chrono::milliseconds(120 + 20 * round);
    auto timed = c.query("SELECT pg_sleep(10)", {}, o);
    std::vector<uvpg::future<uvpg::result>> queued;
    for (int i = 0; i < 3; ++i) {
      queued.push_back(c.query("SELECT $1::int", i));
    }
    test::wait(&lf.loop, test::sleep_ms(&lf.loop, 180));
    test::wait(&lf.loop,
               killer.query("SELECT pg_terminate_backend($1)", pid));
    REQUIRE(test::run_until(&lf.loop, [&] {
      return queued.back().available();
    }));
    REQUIRE(timed.available());
    int ts = status_of(timed);
    // Its deadline or the loss, whichever came first; never success.
    CHECK((ts == UV_ETIMEDOUT || ts == UVPG_ECONNBAD));
    if (ts == UVPG_ECONNBAD) {
      CHECK(test::outcome(timed) == "57P01");
    }
    for (auto &q : queued) {
      // Run after the cancelled statement, before the kill; or lost.
      if (status_of(q) != 0) {
        CHECK(status_of(q) == UVPG_ECONNBAD);
        CHECK(test::outcome(q) == "57P01"); // admin_shutdown
        ++lost;
      }
    }
    // Idle or not, the connection notices it was terminated.
    CHECK(test::run_until(&lf.loop, [&] {
      return c.status() == UVPG_CONN_BROKEN;
    }, 10));
  }
  CHECK(lost > 0); // the rounds whose deadline was after the kill
}
