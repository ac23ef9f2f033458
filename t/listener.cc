// uvpg::listener against the test server: notifications in order with
// their payload and sender; channels added and removed while running;
// pg_terminate_backend of its session (disconnected, connected on a new
// backend, a gap, then each notification exactly once, twice over); the
// overflow rule (a burst into a small queue: the first ones, one gap
// with the count, then what follows); the heartbeat finding a backend
// stopped with SIGSTOP; the first connect (connect() fails at once,
// create() retries and says so); close with next() and listen()
// pending; and no password in anything it reports.
#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/listener");

using uvpg::listener;
using uvpg::listener_event;
using uvpg::listener_event_kind;
using uvpg::listener_options;

namespace {

const char *kind_name(listener_event_kind k) {
  switch (k) {
  case listener_event_kind::notification:
    return "notification";
  case listener_event_kind::gap:
    return "gap";
  case listener_event_kind::connected:
    return "connected";
  case listener_event_kind::disconnected:
    return "disconnected";
  }
  return "?";
}

// The next event, within the watchdog.
listener_event next(uv_loop_t *loop, listener &l) {
  listener_event ev = test::wait(loop, l.next());
  INFO("event: " << kind_name(ev.kind) << " status " << ev.status << " "
                 << ev.message << ev.notify.channel << " "
                 << ev.notify.payload);
  return ev;
}

listener_event next_of(uv_loop_t *loop, listener &l,
                       listener_event_kind want) {
  listener_event ev = next(loop, l);
  CHECK_MESSAGE(ev.kind == want, "got " << kind_name(ev.kind) << " ("
                                        << ev.message << "), wanted "
                                        << kind_name(want));
  return ev;
}

// The payload of the next event, which must be a notification on `chan`.
std::string payload(uv_loop_t *loop, listener &l, const std::string &chan) {
  listener_event ev = next_of(loop, l, listener_event_kind::notification);
  CHECK(ev.notify.channel == chan);
  return ev.notify.payload;
}

void notify(uv_loop_t *loop, uvpg::connection &c, const std::string &chan,
            const std::string &payload) {
  test::wait(loop, c.query("SELECT pg_notify($1, $2)", chan, payload));
}

int pid_of(uv_loop_t *loop, uvpg::connection &c) {
  return test::wait(loop, c.fetchval<int>("SELECT pg_backend_pid()"));
}

// A local TCP port nothing listens on: a connect there is refused.
int dead_port(uv_loop_t *loop) {
  uv_tcp_t srv;
  int port = test::listen_local(loop, &srv, [](uv_stream_t *, int) {});
  uv_close(reinterpret_cast<uv_handle_t *>(&srv), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
  return port;
}

std::string password() { return test::env("UVPG_TEST_PASSWORD"); }

void check_no_password(const std::string &text) {
  INFO("text: " << text);
  CHECK(text.find(password()) == std::string::npos);
}

} // namespace

TEST_CASE_FIXTURE(test::loop_fixture,
                  "connect: connected first, then notifications of the "
                  "set in order with payload and sender, none of others") {
  listener l = test::wait(&loop, listener::connect(&loop, test::dsn(),
                                                   {"tl_a", "tl_b"}));
  CHECK(l.connected());
  CHECK(l.channels() == std::vector<std::string>{"tl_a", "tl_b"});
  listener_event ev = next_of(&loop, l, listener_event_kind::connected);
  CHECK(ev.backend_pid == l.backend_pid());
  CHECK(ev.backend_pid > 0);

  uvpg::connection c = test::connect(&loop);
  int sender = pid_of(&loop, c);
  notify(&loop, c, "tl_a", "one");
  notify(&loop, c, "tl_c", "not listened");
  notify(&loop, c, "tl_b", "two");
  notify(&loop, c, "tl_a", "");
  ev = next_of(&loop, l, listener_event_kind::notification);
  CHECK(ev.notify.channel == "tl_a");
  CHECK(ev.notify.payload == "one");
  CHECK(ev.notify.pid == sender);
  CHECK(payload(&loop, l, "tl_b") == "two");
  CHECK(payload(&loop, l, "tl_a") == "");
  auto s = l.stats();
  CHECK(s.received == 3);
  CHECK(s.delivered == 4); // connected and three notifications
  CHECK(s.connects == 1);
  CHECK(s.gaps == 0);
  CHECK(l.queued() == 0);
  test::wait(&loop, l.close());
  CHECK(l.closed());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "listen and unlisten while running: the set is the "
                  "truth, queued notifications of a removed channel go") {
  listener l = test::wait(&loop, listener::connect(&loop, test::dsn(),
                                                   {"tl_x"}));
  next_of(&loop, l, listener_event_kind::connected);
  uvpg::connection c = test::connect(&loop);

  int listened = 0;
  (void)l.listen("tl_Y").then([&] { ++listened; });
  REQUIRE(test::run_until(&loop, [&] { return listened == 1; }));
  // Channel names are exact: "tl_Y" is not "tl_y".
  notify(&loop, c, "tl_y", "lower");
  notify(&loop, c, "tl_Y", "y1");
  CHECK(payload(&loop, l, "tl_Y") == "y1");

  // Already in the set: resolves, and changes nothing.
  test::wait(&loop, l.listen("tl_Y"));
  CHECK(l.channels() == std::vector<std::string>{"tl_Y", "tl_x"});

  // One queued, not yet taken, when its channel goes.
  notify(&loop, c, "tl_x", "q1");
  REQUIRE(test::run_until(&loop, [&] { return l.queued() == 1; }));
  test::wait(&loop, l.unlisten("tl_x"));
  notify(&loop, c, "tl_x", "after unlisten");
  notify(&loop, c, "tl_Y", "y2");
  CHECK(payload(&loop, l, "tl_Y") == "y2");
  CHECK(l.channels() == std::vector<std::string>{"tl_Y"});
  // Not in the set: resolves all the same.
  test::wait(&loop, l.unlisten("tl_never"));

  // Listened again: delivered again.
  test::wait(&loop, l.listen("tl_x"));
  notify(&loop, c, "tl_x", "back");
  CHECK(payload(&loop, l, "tl_x") == "back");
  CHECK(l.queued() == 0);

  CHECK_THROWS_AS((void)l.listen(""), uvpg::usage_error);
  CHECK_THROWS_AS((void)l.listen(std::string(64, 'c')), uvpg::usage_error);
  CHECK_THROWS_AS((void)l.unlisten(std::string("a\0b", 3)),
                  uvpg::usage_error);
  test::wait(&loop, l.listen(std::string(63, 'c'))); // the longest
  test::wait(&loop, l.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "pg_terminate_backend of its session: disconnected, "
                  "connected on a new backend, a gap; after each reconnect "
                  "every notification arrives exactly once") {
  listener l = test::wait(&loop, listener::connect(&loop, test::dsn(),
                                                   {"tl_t"}));
  next_of(&loop, l, listener_event_kind::connected);
  uvpg::connection c = test::connect(&loop);
  for (int round = 1; round <= 2; ++round) {
    CAPTURE(round);
    int old = l.backend_pid();
    REQUIRE(old > 0);
    test::wait(&loop, c.query("SELECT pg_terminate_backend($1)", old));
    listener_event ev = next_of(&loop, l, listener_event_kind::disconnected);
    CHECK(ev.status == UVPG_ECONNBAD);
    CHECK_FALSE(ev.message.empty());
    check_no_password(ev.message);
    ev = next_of(&loop, l, listener_event_kind::connected);
    CHECK(ev.backend_pid != old);
    CHECK(ev.backend_pid == l.backend_pid());
    ev = next_of(&loop, l, listener_event_kind::gap);
    CHECK(ev.status == UVPG_ECONNBAD);
    CHECK(ev.dropped == 0);
    CHECK(ev.away.count() >= 0);
    check_no_password(ev.message);
    CHECK(l.connected());

    for (int i = 1; i <= 3; ++i) {
      notify(&loop, c, "tl_t", "after " + std::to_string(i));
    }
    notify(&loop, c, "tl_t", "end");
    for (int i = 1; i <= 3; ++i) {
      CHECK(payload(&loop, l, "tl_t") == "after " + std::to_string(i));
    }
    // Not a second copy of any of them: the sentinel comes next.
    CHECK(payload(&loop, l, "tl_t") == "end");
    CHECK(l.queued() == 0);
  }
  auto s = l.stats();
  CHECK(s.connects == 3);
  CHECK(s.lost == 2);
  CHECK(s.gaps == 2);
  CHECK(s.received == 8);
  check_no_password(l.error_message());
  test::wait(&loop, l.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "overflow: a burst into a full queue keeps the first "
                  "ones, then one gap counting the dropped, then the rest") {
  listener_options o;
  o.max_queue = 4;
  listener l = test::wait(&loop, listener::connect(&loop, test::dsn(),
                                                   {"tl_o"}, o));
  next_of(&loop, l, listener_event_kind::connected);
  uvpg::connection c = test::connect(&loop);
  // One transaction: the server sends all 20 when it commits.
  test::wait(&loop, c.query("SELECT pg_notify('tl_o', g::text) "
                            "FROM generate_series(1, 20) g"));
  // Nobody takes events meanwhile: the queue fills.
  REQUIRE(test::run_until(&loop, [&] { return l.stats().received == 20; }));
  CHECK(l.queued() == 5); // 4, and the gap beyond them
  for (int i = 1; i <= 4; ++i) {
    CHECK(payload(&loop, l, "tl_o") == std::to_string(i));
  }
  listener_event ev = next_of(&loop, l, listener_event_kind::gap);
  CHECK(ev.status == UV_ENOBUFS);
  CHECK(ev.dropped == 16);
  CHECK_FALSE(ev.message.empty());
  CHECK(l.stats().dropped == 16);
  CHECK(l.stats().gaps == 1);
  // Room again: what comes next is kept.
  notify(&loop, c, "tl_o", "after");
  CHECK(payload(&loop, l, "tl_o") == "after");
  test::wait(&loop, l.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "heartbeat: a backend stopped with SIGSTOP is found, the "
                  "session replaced, and notifications flow again") {
  listener_options o;
  o.heartbeat_interval = std::chrono::milliseconds(100);
  o.heartbeat_timeout = std::chrono::milliseconds(1000);
  listener l = test::wait(&loop, listener::connect(&loop, test::dsn(),
                                                   {"tl_h"}, o));
  next_of(&loop, l, listener_event_kind::connected);
  REQUIRE(test::run_until(&loop, [&] { return l.stats().heartbeats >= 1; }));
  int old = l.backend_pid();
  uvpg::connection c = test::connect(&loop);
  // The server runs on this machine (the test command starts it); the
  // test runs as root or as the server's user, so it may signal it.
  REQUIRE_MESSAGE(kill(static_cast<pid_t>(old), SIGSTOP) == 0,
                  "kill(SIGSTOP) of backend " << old << " failed: the "
                  "test server must run on this machine, as a user this "
                  "test may signal");
  struct resume {
    pid_t pid;
    ~resume() { kill(pid, SIGCONT); }
  } guard{static_cast<pid_t>(old)};

  // No FATAL, no reset: only the heartbeat can tell.
  listener_event ev = next_of(&loop, l, listener_event_kind::disconnected);
  CHECK(ev.status == UV_ETIMEDOUT);
  CHECK(ev.message.find("heartbeat") != std::string::npos);
  ev = next_of(&loop, l, listener_event_kind::connected);
  CHECK(ev.backend_pid != old);
  ev = next_of(&loop, l, listener_event_kind::gap);
  CHECK(ev.status == UV_ETIMEDOUT);
  CHECK(l.stats().heartbeat_timeouts == 1);
  notify(&loop, c, "tl_h", "alive");
  notify(&loop, c, "tl_h", "end");
  CHECK(payload(&loop, l, "tl_h") == "alive");
  CHECK(payload(&loop, l, "tl_h") == "end");

  kill(static_cast<pid_t>(old), SIGCONT);
  test::wait(&loop, c.query("SELECT pg_terminate_backend($1)", old));
  test::wait(&loop, l.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "connect: the first attempt's failure fails the future "
                  "with its class and no password, and nothing retries") {
  std::string bad = "host=127.0.0.1 port=" + test::env("UVPG_TEST_PORT") +
                    " user=" + test::env("UVPG_TEST_USER") +
                    " dbname=postgres password=" + password() + "-wrong";
  auto f = listener::connect(&loop, bad, {"tl_f"});
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  try {
    f.get();
    FAIL("connect succeeded with a wrong password");
  } catch (const uvpg::errors::invalid_password &e) {
    check_no_password(e.what());
  }

  std::string refused = "host=127.0.0.1 port=" +
                        std::to_string(dead_port(&loop)) + " password=" +
                        password();
  auto g = listener::connect(&loop, refused, {"tl_f"});
  REQUIRE(test::run_until(&loop, [&] { return g.available(); }));
  try {
    g.get();
    FAIL("connect succeeded to a port nobody listens on");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UV_ECONNREFUSED);
    check_no_password(e.what());
  }
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "create: a failed first attempt is a disconnected event, "
                  "and the listener retries with backoff") {
  listener_options o;
  o.reconnect_min = std::chrono::milliseconds(20);
  o.reconnect_max = std::chrono::milliseconds(40);
  std::string refused = "host=127.0.0.1 port=" +
                        std::to_string(dead_port(&loop)) + " password=" +
                        password();
  listener l = listener::create(&loop, refused, {"tl_r"}, o);
  CHECK_FALSE(l.connected());
  CHECK(l.stats().failed == 0); // nothing inside the call
  for (int i = 0; i < 3; ++i) {
    listener_event ev = next_of(&loop, l, listener_event_kind::disconnected);
    CHECK(ev.status == UV_ECONNREFUSED);
    check_no_password(ev.message);
  }
  CHECK(l.stats().failed >= 3);
  CHECK(l.stats().connects == 0);
  CHECK_FALSE(l.connected());
  CHECK(l.backend_pid() == 0);
  check_no_password(l.error_message());
  test::wait(&loop, l.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "create: channels given and added before the first "
                  "connect are all listened, with no gap") {
  listener l = listener::create(&loop, test::dsn(), {"tl_c1"});
  auto added = l.listen("tl_c2");
  listener_event ev = next_of(&loop, l, listener_event_kind::connected);
  CHECK(ev.backend_pid > 0);
  REQUIRE(test::run_until(&loop, [&] { return added.available(); }));
  added.get();
  uvpg::connection c = test::connect(&loop);
  notify(&loop, c, "tl_c2", "2");
  notify(&loop, c, "tl_c1", "1");
  CHECK(payload(&loop, l, "tl_c2") == "2");
  CHECK(payload(&loop, l, "tl_c1") == "1");
  CHECK(l.stats().gaps == 0);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "close: pending next() and listen() fail with "
                  "operation_canceled, each once; afterwards calls fail "
                  "with connection_closed") {
  listener l = test::wait(&loop, listener::connect(&loop, test::dsn(),
                                                   {"tl_z"}));
  next_of(&loop, l, listener_event_kind::connected);
  int next_failed = 0, next_other = 0;
  (void)l.next().then_wrapped([&](uvpg::future<listener_event> f) {
    try {
      f.get();
      ++next_other;
    } catch (const uvpg::operation_canceled &) {
      ++next_failed;
    } catch (...) {
      ++next_other;
    }
  });
  int closed = 0;
  (void)l.close().then([&] {
    ++closed;
    CHECK(next_failed == 1); // pending work before the close
  });
  CHECK(next_failed == 0); // nothing inside the call
  CHECK(l.closed());
  REQUIRE(test::run_until(&loop, [&] { return closed == 1; }));
  CHECK(next_failed == 1);
  CHECK(next_other == 0);
  CHECK(test::status_of(&loop, l.next()) == UVPG_ECLOSED);
  CHECK(test::status_of(&loop, l.listen("tl_z2")) == UVPG_ECLOSED);
  CHECK(test::status_of(&loop, l.unlisten("tl_z")) == UVPG_ECLOSED);
  test::wait(&loop, l.close()); // again: resolves as well

  // A listen waiting for a session that never comes.
  listener_options o;
  o.reconnect_min = std::chrono::milliseconds(10);
  o.reconnect_max = std::chrono::milliseconds(10);
  listener d = listener::create(
      &loop, "host=127.0.0.1 port=" + std::to_string(dead_port(&loop)),
      {}, o);
  auto pending = d.listen("tl_p");
  test::wait(&loop, test::sleep_ms(&loop, 50));
  CHECK_FALSE(pending.available());
  auto done = d.close();
  CHECK(test::status_of(&loop, std::move(pending)) == UV_ECANCELED);
  test::wait(&loop, std::move(done));
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "next: a future dropped before it resolved loses no "
                  "event; several waiting are served in call order") {
  listener l = test::wait(&loop, listener::connect(&loop, test::dsn(),
                                                   {"tl_d"}));
  next_of(&loop, l, listener_event_kind::connected);
  { auto dropped = l.next(); }
  auto first = l.next();
  auto second = l.next();
  uvpg::connection c = test::connect(&loop);
  notify(&loop, c, "tl_d", "1");
  notify(&loop, c, "tl_d", "2");
  CHECK(test::wait(&loop, std::move(first)).notify.payload == "1");
  CHECK(test::wait(&loop, std::move(second)).notify.payload == "2");
  test::wait(&loop, l.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "create and connect refuse bad arguments") {
  listener_options o;
  CHECK_THROWS_AS(listener::create(nullptr, test::dsn()), uvpg::usage_error);
  CHECK_THROWS_AS(listener::create(&loop, test::dsn(), {""}),
                  uvpg::usage_error);
  o.max_queue = 0;
  CHECK_THROWS_AS(listener::create(&loop, test::dsn(), {}, o),
                  uvpg::usage_error);
  o = listener_options{};
  o.reconnect_min = std::chrono::milliseconds(0);
  CHECK_THROWS_AS((void)listener::connect(&loop, test::dsn(), {}, o),
                  uvpg::usage_error);
  o = listener_options{};
  o.reconnect_max = std::chrono::milliseconds(50);
  CHECK_THROWS_AS(listener::create(&loop, test::dsn(), {}, o),
                  uvpg::usage_error);
  o = listener_options{};
  o.heartbeat_timeout = std::chrono::milliseconds(0);
  CHECK_THROWS_AS(listener::create(&loop, test::dsn(), {}, o),
                  uvpg::usage_error);
  listener empty;
  CHECK(empty.closed());
  CHECK_THROWS_AS((void)empty.listen("x"), uvpg::usage_error);
  CHECK(test::status_of(&loop, empty.next()) == UVPG_ECLOSED);
}

TEST_SUITE_END();
