// The listener across a server stop and start.  It stops its server, so
// it runs under a private cluster (OWN_SERVER_TESTS, t/run-test.sh).
#include <string>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/listener-restart");

using uvpg::listener;
using uvpg::listener_event;
using uvpg::listener_event_kind;

namespace {

listener_event next(uv_loop_t *loop, listener &l) {
  return test::wait(loop, l.next(), 60);
}

void notify(uv_loop_t *loop, uvpg::connection &c, const std::string &chan,
            const std::string &payload) {
  test::wait(loop, c.query("SELECT pg_notify($1, $2)", chan, payload));
}

uvpg::listener_options quick() {
  uvpg::listener_options o;
  o.reconnect_min = std::chrono::milliseconds(50);
  o.reconnect_max = std::chrono::milliseconds(400);
  o.conn.timeout = std::chrono::milliseconds(2000);
  return o;
}

} // namespace

TEST_CASE("a server restart: disconnected (57P01), failed attempts while "
          "it is down, then connected, a gap, and notifications again; "
          "the set changed while away is the one listened to") {
  test::loop_fixture lf;
  uv_loop_t *loop = &lf.loop;
  std::string pgctl = test::env("UVPG_TEST_PGCTL");
  listener l = test::wait(loop, listener::connect(loop, test::dsn(),
                                                  {"tr_a", "tr_gone"},
                                                  quick()));
  CHECK(next(loop, l).kind == listener_event_kind::connected);
  int before = l.backend_pid();

  test::shell(pgctl + " stop");
  listener_event ev = next(loop, l);
  REQUIRE(ev.kind == listener_event_kind::disconnected);
  CHECK(ev.status == UVPG_ECONNBAD);
  CHECK(ev.message.find("terminating connection") != std::string::npos);
  // While the server is down, each attempt fails and says so.
  ev = next(loop, l);
  CHECK(ev.kind == listener_event_kind::disconnected);
  CHECK(ev.status < 0);
  CHECK_FALSE(l.connected());
  CHECK(l.stats().failed >= 1);
  // Changed while away: resolved when the listener is back.
  auto added = l.listen("tr_new");
  test::wait(loop, l.unlisten("tr_gone")); // no session: done at once
  CHECK_FALSE(added.available());

  test::shell(pgctl + " start");
  // More failed attempts may come first; then the listener is back.
  do {
    ev = next(loop, l);
  } while (ev.kind == listener_event_kind::disconnected);
  REQUIRE(ev.kind == listener_event_kind::connected);
  CHECK(ev.backend_pid != before);
  ev = next(loop, l);
  REQUIRE(ev.kind == listener_event_kind::gap);
  CHECK(ev.status == UVPG_ECONNBAD);
  CHECK(ev.away.count() > 0);

  test::wait(loop, std::move(added));
  uvpg::connection c = test::connect(loop);
  notify(loop, c, "tr_a", "back");
  notify(loop, c, "tr_gone", "not listened");
  notify(loop, c, "tr_new", "new");
  ev = next(loop, l);
  CHECK(ev.kind == listener_event_kind::notification);
  CHECK(ev.notify.payload == "back");
  CHECK(next(loop, l).notify.payload == "new");
  CHECK(l.channels() == std::vector<std::string>{"tr_a", "tr_new"});
  CHECK(l.stats().lost == 1);
  CHECK(l.stats().connects == 2);
  test::wait(loop, l.close());
}

TEST_CASE("create before the server is up: disconnected until it starts, "
          "then connected with no gap") {
  test::loop_fixture lf;
  uv_loop_t *loop = &lf.loop;
  std::string pgctl = test::env("UVPG_TEST_PGCTL");
  test::shell(pgctl + " stop");
  listener l = listener::create(loop, test::dsn(), {"tr_b"}, quick());
  listener_event ev = next(loop, l);
  CHECK(ev.kind == listener_event_kind::disconnected);
  CHECK(ev.status < 0);
  test::shell(pgctl + " start");
  do {
    ev = next(loop, l);
  } while (ev.kind == listener_event_kind::disconnected);
  REQUIRE(ev.kind == listener_event_kind::connected);
  uvpg::connection c = test::connect(loop);
  notify(loop, c, "tr_b", "first");
  ev = next(loop, l);
  CHECK(ev.kind == listener_event_kind::notification); // no gap
  CHECK(ev.notify.payload == "first");
  CHECK(l.stats().gaps == 0);
  CHECK(l.stats().lost == 0);
  test::wait(loop, l.close());
}

TEST_SUITE_END();
