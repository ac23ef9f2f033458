// LISTEN/NOTIFY against the test server: notifications from another
// connection reach every handler and the queue, from the loop, idle or
// busy, in order and complete under a burst of 100,000; get() waiters
// are served in order and fail on the loss and on the close; channel
// names are quoted; a pooled connection's lease takes its listening
// with it.
//
// Channels start with "t_notify_" so that test programs running at once
// against the same server do not hear each other.  Absence is never
// checked by waiting: the same sender sends a marker after what must not
// arrive, and the server delivers one sender's notifications in order.
#include <optional>
#include <string>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/notify");

namespace {

using uvpg::connection;
using uvpg::notification;

// A handler that records what it got, and whether it ran inside a call.
struct recorder {
  std::vector<notification> got;
  bool *in_call = nullptr;
  bool inside = false;
  void operator()(const notification &n) {
    inside = inside || (in_call && *in_call);
    got.push_back(n);
  }
};

bool has_payload(const std::vector<notification> &v, const std::string &p) {
  for (const notification &n : v) {
    if (n.payload == p) {
      return true;
    }
  }
  return false;
}

// The status and the message of a failed future.
template <class T> std::pair<int, std::string> failure(uvpg::future<T> &f) {
  REQUIRE(f.failed());
  try {
    std::rethrow_exception(f.get_exception());
  } catch (const uvpg::error &e) {
    return {e.status(), e.what()};
  }
  return {0, ""};
}

// Takes `count` notifications with get(), checking that the payloads
// count up from 1 (their text form at the start of each payload).
uvpg::future<void> take_in_order(uvpg::notify_queue q, int count, int &taken,
                                 bool &in_order) {
  for (int i = 1; i <= count; ++i) {
    notification n = co_await q.get();
    if (n.payload.compare(0, std::to_string(i).size() + 1,
                          std::to_string(i) + ":") != 0) {
      in_order = false;
    }
    ++taken;
  }
}

// The burst's payloads: "<i>:" then padding, every 997th near the
// server's limit of 7999 bytes (the last one exactly at it).
std::string burst_sql(const std::string &channel, int from, int to) {
  return "SELECT count(pg_notify('" + channel +
         "', CASE WHEN i % 997 = 0 THEN rpad(i || ':', 7990 + i % 10, 'x') "
         "ELSE i || ':' || repeat('y', i % 50) END)) "
         "FROM generate_series(" +
         std::to_string(from) + ", " + std::to_string(to) + ") i";
}

} // namespace

TEST_CASE_FIXTURE(test::loop_fixture,
                  "notify handler: a notification from another connection "
                  "reaches an idle connection from the loop, with its "
                  "channel, payload and sender") {
  connection c = test::connect(&loop);
  connection sender = test::connect(&loop);
  bool in_call = false;
  recorder r;
  r.in_call = &in_call;
  auto id = c.add_notify_handler(std::ref(r));
  CHECK(id != 0);
  test::wait(&loop, c.listen("t_notify_idle"));
  in_call = true;
  auto sent = sender.notify("t_notify_idle", "hello");
  in_call = false;
  test::wait(&loop, std::move(sent));
  // Nothing runs on c: it is idle when the notification comes.
  REQUIRE(test::run_until(&loop, [&] { return !r.got.empty(); }));
  REQUIRE(r.got.size() == 1);
  CHECK(r.got[0].channel == "t_notify_idle");
  CHECK(r.got[0].payload == "hello");
  CHECK(r.got[0].pid == sender.backend_pid());
  CHECK_FALSE(r.inside);
  CHECK(c.remove_notify_handler(id));
  CHECK_FALSE(c.remove_notify_handler(id));
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "notify handler: notifications arrive while statements "
                  "run on the listening connection, and its own NOTIFY "
                  "comes back with nothing else on the wire") {
  connection c = test::connect(&loop);
  connection sender = test::connect(&loop);
  recorder r;
  c.add_notify_handler(std::ref(r));
  test::wait(&loop, c.listen("t_notify_busy"));
  // c is busy: a statement sleeps while the other session notifies, and
  // more are queued behind it.
  auto sleep = c.query("SELECT pg_sleep(0.3)");
  auto after = c.query("SELECT 2");
  test::wait(&loop, sender.notify("t_notify_busy", "while busy"));
  test::wait(&loop, std::move(sleep));
  CHECK(test::wait(&loop, std::move(after)).value(0, 0) == std::string("2"));
  REQUIRE(test::run_until(&loop, [&] { return r.got.size() == 1; }));
  CHECK(r.got[0].payload == "while busy");
  // Its own: the server sends it behind the statement's result, in the
  // same packet; uvpg must not wait for more bytes to find it.
  test::wait(&loop, c.notify("t_notify_busy", "self"));
  REQUIRE(test::run_until(&loop, [&] { return r.got.size() == 2; }));
  CHECK(r.got[1].payload == "self");
  CHECK(r.got[1].pid == c.backend_pid());
  // Inside a transaction: sent at the commit.
  test::wait(&loop, c.query("BEGIN"));
  test::wait(&loop, c.notify("t_notify_busy", "in tx"));
  test::wait(&loop, c.query("SELECT 1"));
  CHECK(r.got.size() == 2);
  test::wait(&loop, c.query("COMMIT"));
  REQUIRE(test::run_until(&loop, [&] { return r.got.size() == 3; }));
  CHECK(r.got[2].payload == "in tx");
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "notifies().get(): several waiters are served in the "
                  "order they called; queued ones come from try_get() and "
                  "get() in arrival order") {
  connection c = test::connect(&loop);
  connection sender = test::connect(&loop);
  uvpg::notify_queue q = c.notifies();
  test::wait(&loop, c.listen("t_notify_queue"));
  auto g1 = q.get();
  auto g2 = q.get();
  auto g3 = c.notifies().get(); // another view of the same queue
  CHECK_FALSE(g1.available());
  for (const char *p : {"a", "b", "c"}) {
    test::wait(&loop, sender.notify("t_notify_queue", p));
  }
  CHECK(test::wait(&loop, std::move(g1)).payload == "a");
  CHECK(test::wait(&loop, std::move(g2)).payload == "b");
  CHECK(test::wait(&loop, std::move(g3)).payload == "c");
  CHECK(q.size() == 0);
  CHECK_FALSE(q.try_get());

  for (const char *p : {"d", "e", "f"}) {
    test::wait(&loop, sender.notify("t_notify_queue", p));
  }
  REQUIRE(test::run_until(&loop, [&] { return q.size() == 3; }));
  std::optional<notification> d = q.try_get();
  REQUIRE(d);
  CHECK(d->payload == "d");
  CHECK(d->channel == "t_notify_queue");
  auto e = q.get(); // queued: available at once
  CHECK(e.available());
  CHECK(e.get().payload == "e");
  CHECK(q.size() == 1);
  CHECK(test::wait(&loop, q.get()).payload == "f");
  CHECK(q.dropped() == 0);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "notifies(): only what arrives after the first call is "
                  "kept; a get() whose future was dropped takes nothing") {
  connection c = test::connect(&loop);
  connection sender = test::connect(&loop);
  recorder r;
  c.add_notify_handler(std::ref(r));
  test::wait(&loop, c.listen("t_notify_keep"));
  test::wait(&loop, sender.notify("t_notify_keep", "before"));
  REQUIRE(test::run_until(&loop, [&] { return r.got.size() == 1; }));
  // A program with handlers only keeps nothing.
  uvpg::notify_queue q = c.notifies();
  CHECK(q.size() == 0);
  {
    auto dropped = q.get(); // given up before anything arrives
  }
  test::wait(&loop, sender.notify("t_notify_keep", "after"));
  REQUIRE(test::run_until(&loop, [&] { return r.got.size() == 2; }));
  CHECK(q.size() == 1);
  CHECK(test::wait(&loop, q.get()).payload == "after");
  CHECK(uvpg::notify_queue().size() == 0);
  CHECK_THROWS_AS((void)uvpg::notify_queue().get(), uvpg::usage_error);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "notify handlers: each gets every notification in the "
                  "order added; one removed by another is not called; one "
                  "that throws does not stop the rest") {
  connection c = test::connect(&loop);
  connection sender = test::connect(&loop);
  std::vector<std::string> calls;
  std::uint64_t id_b = 0;
  auto id_a = c.add_notify_handler([&](const notification &n) {
    calls.push_back("a:" + n.payload);
    if (n.payload == "2") {
      c.remove_notify_handler(id_b);
    }
  });
  id_b = c.add_notify_handler(
      [&](const notification &n) { calls.push_back("b:" + n.payload); });
  c.add_notify_handler([&](const notification &n) {
    calls.push_back("c:" + n.payload);
    throw std::runtime_error("dropped");
  });
  CHECK(id_a != id_b);
  test::wait(&loop, c.listen("t_notify_handlers"));
  for (const char *p : {"1", "2", "3"}) {
    test::wait(&loop, sender.notify("t_notify_handlers", p));
  }
  REQUIRE(test::run_until(&loop, [&] { return calls.size() == 7; }));
  CHECK(calls == std::vector<std::string>{"a:1", "b:1", "c:1", "a:2", "c:2",
                                          "a:3", "c:3"});
  CHECK_FALSE(c.remove_notify_handler(id_b));
  CHECK(c.remove_notify_handler(id_a));
  CHECK_FALSE(c.remove_notify_handler(0));
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "listen, unlisten, notify: odd channel names are quoted "
                  "identifiers, exact and case-sensitive, never SQL") {
  connection c = test::connect(&loop);
  connection sender = test::connect(&loop);
  recorder r;
  c.add_notify_handler(std::ref(r));
  const std::vector<std::string> names = {
      "t_notify a b", "t_notify_Mixed\"Case", "t_notify_'quote'",
      "t_notify_x\"; DROP TABLE t_notify_victim; --", "t_notify_\xc3\xa9t\xc3\xa9"};
  test::wait(&loop, c.query("CREATE TEMP TABLE t_notify_victim (a int)"));
  for (const std::string &n : names) {
    test::wait(&loop, c.listen(n));
  }
  for (const std::string &n : names) {
    test::wait(&loop, sender.notify(n, "to " + n));
  }
  REQUIRE(test::run_until(&loop, [&] { return r.got.size() == names.size(); }));
  for (size_t i = 0; i < names.size(); ++i) {
    CHECK(r.got[i].channel == names[i]);
    CHECK(r.got[i].payload == "to " + names[i]);
  }
  CHECK(test::count_of(&loop, c, "SELECT count(*) FROM t_notify_victim") == 0);

  // Case is kept: "t_notify_Mixed\"Case" is not "t_notify_mixed\"case".
  test::wait(&loop, sender.notify("t_notify_mixed\"case", "lower"));
  // UNLISTEN of one name: the rest still arrive.
  test::wait(&loop, c.unlisten("t_notify a b"));
  test::wait(&loop, sender.notify("t_notify a b", "gone"));
  test::wait(&loop, sender.notify("t_notify_Mixed\"Case", "marker 1"));
  REQUIRE(test::run_until(&loop, [&] { return has_payload(r.got, "marker 1"); }));
  CHECK_FALSE(has_payload(r.got, "lower"));
  CHECK_FALSE(has_payload(r.got, "gone"));
  // UNLISTEN *: nothing more.
  test::wait(&loop, c.listen("t_notify_marker"));
  test::wait(&loop, c.unlisten_all());
  test::wait(&loop, sender.notify("t_notify_Mixed\"Case", "gone too"));
  test::wait(&loop, c.listen("t_notify_marker"));
  test::wait(&loop, sender.notify("t_notify_marker", "marker 2"));
  REQUIRE(test::run_until(&loop, [&] { return has_payload(r.got, "marker 2"); }));
  CHECK_FALSE(has_payload(r.got, "gone too"));

  // Refused before anything is sent, or by the server.
  CHECK(test::status_of(&loop, c.listen(std::string("a\0b", 3))) ==
        UVPG_EPARAM);
  auto empty = c.listen(""); // a zero-length delimited identifier
  REQUIRE(test::run_until(&loop, [&] { return empty.available(); }));
  CHECK(test::outcome(empty) == "42601");
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "burst: 100,000 notifications from another connection, "
                  "payloads up to 7999 bytes, reach a handler and get() "
                  "complete and in order") {
  connection c = test::connect(&loop);
  connection sender = test::connect(&loop);
  constexpr int total = 100000;
  int handled = 0;
  bool handler_in_order = true;
  size_t longest = 0;
  c.add_notify_handler([&](const notification &n) {
    ++handled;
    std::string head = std::to_string(handled) + ":";
    if (n.payload.compare(0, head.size(), head) != 0) {
      handler_in_order = false;
    }
    longest = std::max(longest, n.payload.size());
  });
  int taken = 0;
  bool taken_in_order = true;
  auto taker = take_in_order(c.notifies(), total, taken, taken_in_order);
  test::wait(&loop, c.listen("t_notify_burst"));
  // Four transactions of 25,000, pipelined.
  std::vector<uvpg::future<uvpg::result>> sends;
  for (int i = 0; i < 4; ++i) {
    sends.push_back(sender.query(
        burst_sql("t_notify_burst", i * 25000 + 1, (i + 1) * 25000)));
  }
  for (auto &f : sends) {
    test::wait(&loop, std::move(f), 120);
  }
  test::wait(&loop, std::move(taker), 120);
  CHECK(handled == total);
  CHECK(handler_in_order);
  CHECK(taken == total);
  CHECK(taken_in_order);
  CHECK(longest == 7999);
  CHECK(c.notifies().size() == 0);
  CHECK(c.notifies().dropped() == 0);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "notifies(): the queue keeps at most "
                  "max_queued_notifications; the rest are counted in "
                  "dropped() and still reach the handlers") {
  connection c = test::connect(&loop);
  connection sender = test::connect(&loop);
  constexpr int total = static_cast<int>(uvpg::max_queued_notifications) + 5;
  int handled = 0;
  c.add_notify_handler([&](const notification &) { ++handled; });
  uvpg::notify_queue q = c.notifies();
  test::wait(&loop, c.listen("t_notify_full"));
  test::wait(&loop, sender.query(burst_sql("t_notify_full", 1, total)), 120);
  REQUIRE(test::run_until(&loop, [&] { return handled == total; }, 120));
  CHECK(q.size() == uvpg::max_queued_notifications);
  CHECK(q.dropped() == 5);
  // The oldest are kept, in order.
  for (int i = 1; i <= 3; ++i) {
    auto n = q.try_get();
    REQUIRE(n);
    CHECK(n->payload.rfind(std::to_string(i) + ":", 0) == 0);
  }
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "get(): a backend terminated from another connection "
                  "fails the pending get() with UVPG_ECONNBAD, then every "
                  "later one at once") {
  connection c = test::connect(&loop);
  connection admin = test::connect(&loop);
  uvpg::notify_queue q = c.notifies();
  test::wait(&loop, c.listen("t_notify_lost"));
  bool terminated = false;
  bool failed_before_listener = false;
  auto pending = q.get();
  c.add_termination_listener([&](const uvpg::termination_event &) {
    failed_before_listener = pending.available();
    terminated = true;
  });
  test::wait(&loop, admin.query("SELECT pg_terminate_backend($1)",
                                c.backend_pid()));
  REQUIRE(test::run_until(&loop, [&] { return pending.available(); }));
  auto [status, what] = failure(pending);
  CHECK(status == UVPG_ECONNBAD);
  CHECK(what.find("terminating connection") != std::string::npos);
  // The server said why: its class, an operational_error, status
  // UVPG_ECONNBAD.
  CHECK_THROWS_AS(std::rethrow_exception(pending.get_exception()),
                  uvpg::errors::admin_shutdown);
  CHECK_THROWS_AS(std::rethrow_exception(pending.get_exception()),
                  uvpg::operational_error);
  REQUIRE(test::run_until(&loop, [&] { return terminated; }));
  CHECK(failed_before_listener);
  auto later = q.get();
  REQUIRE(later.available());
  CHECK(failure(later).first == UVPG_ECONNBAD);
  CHECK(c.notifies().get().failed());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "get(): notifications queued before the loss are still "
                  "taken; get() fails once they are gone") {
  connection c = test::connect(&loop);
  connection admin = test::connect(&loop);
  uvpg::notify_queue q = c.notifies();
  bool terminated = false;
  c.add_termination_listener(
      [&](const uvpg::termination_event &) { terminated = true; });
  test::wait(&loop, c.listen("t_notify_lost2"));
  test::wait(&loop, admin.notify("t_notify_lost2", "one"));
  test::wait(&loop, admin.notify("t_notify_lost2", "two"));
  REQUIRE(test::run_until(&loop, [&] { return q.size() == 2; }));
  test::wait(&loop, admin.query("SELECT pg_terminate_backend($1)",
                                c.backend_pid()));
  REQUIRE(test::run_until(&loop, [&] { return terminated; }));
  CHECK(c.closed());
  auto one = q.try_get();
  REQUIRE(one);
  CHECK(one->payload == "one");
  CHECK(test::wait(&loop, q.get()).payload == "two");
  auto none = q.get();
  REQUIRE(none.available());
  CHECK(failure(none).first == UVPG_ECONNBAD);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "get(): close fails a pending get() with UV_ECANCELED "
                  "before the close completes, empties the queue, and "
                  "fails later calls at once with UVPG_ECLOSED") {
  connection c = test::connect(&loop);
  connection sender = test::connect(&loop);
  uvpg::notify_queue kept = c.notifies();
  test::wait(&loop, c.listen("t_notify_close"));
  test::wait(&loop, sender.notify("t_notify_close", "kept"));
  REQUIRE(test::run_until(&loop, [&] { return kept.size() == 1; }));
  CHECK(kept.try_get()->payload == "kept");
  test::wait(&loop, sender.notify("t_notify_close", "left"));
  REQUIRE(test::run_until(&loop, [&] { return kept.size() == 1; }));
  // A second connection with a get() pending.
  connection c2 = test::connect(&loop);
  uvpg::notify_queue q2 = c2.notifies();
  auto pending = q2.get();
  bool pending_done_first = false;
  auto closed2 = c2.close().then([&] {
    pending_done_first = pending.available();
  });
  auto after_close = q2.get(); // the close is under way: fails at once
  REQUIRE(after_close.available());
  CHECK(failure(after_close).first == UVPG_ECLOSED);
  test::wait(&loop, std::move(closed2));
  CHECK(pending_done_first);
  auto [status, what] = failure(pending);
  CHECK(status == UV_ECANCELED);
  CHECK_THROWS_AS(std::rethrow_exception(pending.get_exception()),
                  uvpg::connection_closed);
  auto later = q2.get();
  REQUIRE(later.available());
  CHECK(failure(later).first == UVPG_ECLOSED);
  // The first one's queue goes with the close.
  test::wait(&loop, c.close());
  CHECK(kept.size() == 0);
  CHECK_FALSE(kept.try_get());
  auto after = kept.get();
  REQUIRE(after.available());
  CHECK(failure(after).first == UVPG_ECLOSED);
  CHECK_THROWS_AS(c.notifies(), uvpg::usage_error);
  CHECK_THROWS_AS(c.add_notify_handler([](const notification &) {}),
                  uvpg::usage_error);
  CHECK(test::status_of(&loop, c.listen("t_notify_close")) == UVPG_ECLOSED);
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "pool: giving a connection back ends its lease's "
                  "handlers and get(), and the reset's UNLISTEN * ends its "
                  "LISTENs") {
  uvpg::pool_options o;
  o.minsize = 1;
  o.maxsize = 1;
  uvpg::pool p = uvpg::pool::create(&loop, test::dsn(), o);
  connection sender = test::connect(&loop);
  int old_lease_calls = 0;
  uvpg::future<notification> pending;
  int pid = 0;
  {
    connection c = test::wait(&loop, p.acquire());
    pid = c.backend_pid();
    c.add_notify_handler([&](const notification &) { ++old_lease_calls; });
    test::wait(&loop, c.listen("t_notify_pool_old"));
    pending = c.notifies().get();
  }
  REQUIRE(test::run_until(&loop, [&] { return pending.available(); }));
  auto [status, what] = failure(pending);
  CHECK(status == UV_ECANCELED);
  CHECK(what.find("pool") != std::string::npos);
  {
    connection c = test::wait(&loop, p.acquire());
    REQUIRE(c.backend_pid() == pid); // the same session
    recorder r;
    c.add_notify_handler(std::ref(r));
    test::wait(&loop, c.listen("t_notify_pool_new"));
    test::wait(&loop, sender.notify("t_notify_pool_old", "old"));
    test::wait(&loop, sender.notify("t_notify_pool_new", "marker"));
    REQUIRE(test::run_until(&loop, [&] { return !r.got.empty(); }));
    CHECK(r.got.size() == 1);
    CHECK(r.got[0].payload == "marker");
    CHECK(old_lease_calls == 0);
  }
  test::wait(&loop, p.close());
}
