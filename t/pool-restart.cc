// The pool across a server stop and start.  It stops its server, so it
// runs under a private cluster (OWN_SERVER_TESTS, t/run-test.sh).
#include <string>

#include "test.hh"

TEST_SUITE_BEGIN("live/pool-restart");

TEST_CASE("a stopped server: idle connections are dropped at once, "
          "acquires fail at their deadline naming the connect error, and "
          "the pool refills to minsize once the server is back") {
  test::loop_fixture lf;
  uv_loop_t *loop = &lf.loop;
  std::string pgctl = test::env("UVPG_TEST_PGCTL");
  uvpg::pool_options o;
  o.minsize = 2;
  o.maxsize = 3;
  o.connect.timeout = std::chrono::milliseconds(2000);
  uvpg::pool p = uvpg::pool::create(loop, test::dsn(), o);
  REQUIRE(test::run_until(loop, [&] { return p.freesize() == 2; }));
  int before = 0;
  {
    uvpg::connection c = test::wait(loop, p.acquire());
    before = test::wait(loop, c.fetchval<int>("SELECT pg_backend_pid()"));
  }
  REQUIRE(test::run_until(loop, [&] { return p.freesize() == 2; }));

  test::shell(pgctl + " stop");
  // Both idle connections were under read watch: dropped, not lent.
  REQUIRE(test::run_until(loop, [&] { return p.stats().lost == 2; }));
  // The refill fails while the server is down, and backs off.
  REQUIRE(test::run_until(loop, [&] { return p.stats().failed >= 2; }));
  CHECK(p.freesize() == 0);
  auto f = p.acquire(std::chrono::milliseconds(300));
  REQUIRE(test::run_until(loop, [&] { return f.available(); }));
  try {
    f.get();
    FAIL("acquire succeeded with the server down");
  } catch (const uvpg::timed_out &e) {
    CHECK(std::string(e.what()).find("the last connect failed") !=
          std::string::npos);
  }
  uint64_t failed = p.stats().failed;
  // Backoff: far fewer attempts than a busy loop would make.
  test::wait(loop, test::sleep_ms(loop, 500));
  CHECK(p.stats().failed - failed <= 6);

  test::shell(pgctl + " start");
  REQUIRE(test::run_until(loop, [&] { return p.freesize() == 2; }, 60));
  uvpg::connection c = test::wait(loop, p.acquire());
  int after = test::wait(loop, c.fetchval<int>("SELECT pg_backend_pid()"));
  CHECK(after != before);
  c = uvpg::connection();
  test::wait(loop, p.close());
}

TEST_SUITE_END();
