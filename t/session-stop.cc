// The lost-connection event when the server stops.  It stops its server,
// so it runs under a private cluster (OWN_SERVER_TESTS, t/run-test.sh).
#include <string>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/session-stop");

TEST_CASE("termination listener: a stopped server ends an idle and a busy "
          "connection, each told once with 57P01") {
  test::loop_fixture lf;
  std::string pgctl = test::env("UVPG_TEST_PGCTL");
  auto idle = test::connect(&lf.loop);
  auto busy = test::connect(&lf.loop);
  std::vector<uvpg::termination_event> idle_got, busy_got;
  idle.add_termination_listener(
      [&](const uvpg::termination_event &e) { idle_got.push_back(e); });
  bool after_query = false;
  uvpg::future<uvpg::result> q;
  busy.add_termination_listener([&](const uvpg::termination_event &e) {
    after_query = q.available();
    busy_got.push_back(e);
  });
  q = busy.query("SELECT pg_sleep(60)");
  REQUIRE(test::run_until(&lf.loop, [&] {
    return busy.status() == UVPG_CONN_BUSY && !q.available();
  }));
  uv_sleep(200);
  uv_run(&lf.loop, UV_RUN_NOWAIT);
  // Fast shutdown: each backend sends FATAL 57P01 before it exits.
  test::shell(pgctl + " stop");
  REQUIRE(test::run_until(
      &lf.loop, [&] { return !idle_got.empty() && !busy_got.empty(); }));
  CHECK(after_query);
  CHECK(q.failed());
  for (const auto *got : {&idle_got, &busy_got}) {
    REQUIRE(got->size() == 1);
    CHECK(got->at(0).status == UVPG_ECONNBAD);
    CHECK(got->at(0).sqlstate == "57P01");
    CHECK_FALSE(got->at(0).message.empty());
  }
  test::wait(&lf.loop, idle.close());
  test::wait(&lf.loop, busy.close());
  CHECK(idle_got.size() == 1);
  CHECK(busy_got.size() == 1);
  test::shell(pgctl + " start");
}
