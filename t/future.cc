// uvpg::future / uvpg::promise: the loop-affine future layer.
#include <memory>
#include <string>

#include "test.hh"

TEST_SUITE_BEGIN("future");

using uvpg::future;
using uvpg::promise;

TEST_CASE("promise: set_value makes the future available with the value") {
  test::loop_fixture lf;
  uvpg::detail::set_current_loop(&lf.loop);
  promise<int> p;
  future<int> f = p.get_future();
  CHECK_FALSE(f.available());
  p.set_value(7);
  CHECK(f.available());
  CHECK_FALSE(f.failed());
  CHECK(f.get() == 7);
  CHECK_FALSE(f.valid()); // consumed
}

TEST_CASE("promise: get_future twice is a usage_error") {
  promise<int> p;
  auto f = p.get_future();
  CHECK_THROWS_AS((void)p.get_future(), uvpg::usage_error);
  p.set_value(1);
}

TEST_CASE("future: get before the value arrives is a usage_error") {
  promise<int> p;
  auto f = p.get_future();
  CHECK_THROWS_AS(f.get(), uvpg::usage_error);
  p.set_value(1);
  CHECK(f.get() == 1);
}

TEST_CASE("promise: destroyed unfulfilled fails its future with "
          "broken_promise") {
  future<std::string> f;
  {
    promise<std::string> p;
    f = p.get_future();
  }
  REQUIRE(f.failed());
  CHECK_THROWS_AS(f.get(), uvpg::broken_promise);
}

TEST_CASE("promise: only the first set counts") {
  promise<int> p;
  auto f = p.get_future();
  p.set_value(1);
  p.set_value(2);
  p.set_exception(uvpg::error(UV_EINVAL, "late"));
  CHECK(f.get() == 1);
}

TEST_CASE("then: runs when the value arrives, from the producer's call") {
  test::loop_fixture lf;
  uvpg::detail::set_current_loop(&lf.loop);
  promise<int> p;
  int seen = 0;
  auto g = p.get_future().then([&](int v) {
    seen = v;
    return std::to_string(v * 2);
  });
  CHECK(seen == 0);
  p.set_value(21);
  CHECK(seen == 21);
  REQUIRE(g.available());
  CHECK(g.get() == "42");
}

TEST_CASE("then: on an available future never runs inside the call") {
  test::loop_fixture lf;
  uvpg::detail::set_current_loop(&lf.loop);
  auto f = uvpg::make_ready_future(5);
  bool ran = false;
  auto g = std::move(f).then([&](int v) {
    ran = true;
    return v + 1;
  });
  CHECK_FALSE(ran); // deferred to the loop
  CHECK_FALSE(g.available());
  CHECK(test::wait(&lf.loop, std::move(g)) == 6);
  CHECK(ran);
}

TEST_CASE("then: a failure skips the continuation and propagates") {
  test::loop_fixture lf;
  uvpg::detail::set_current_loop(&lf.loop);
  promise<int> p;
  bool ran = false;
  auto g = p.get_future().then([&](int) {
    ran = true;
    return 1;
  });
  p.set_exception(uvpg::error(UV_ETIMEDOUT, "too slow"));
  CHECK_FALSE(ran);
  REQUIRE(g.failed());
  try {
    g.get();
    FAIL("no exception");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UV_ETIMEDOUT);
    CHECK(std::string(e.what()) == "too slow");
  }
}

TEST_CASE("then: an exception thrown by the continuation fails the result") {
  promise<void> p;
  auto g = p.get_future().then([]() -> int { throw std::runtime_error("x"); });
  p.set_value();
  CHECK_THROWS_AS(g.get(), std::runtime_error);
}

TEST_CASE("then: a continuation returning a future is unwrapped") {
  test::loop_fixture lf;
  uvpg::detail::set_current_loop(&lf.loop);
  promise<int> first;
  promise<std::string> second;
  future<std::string> inner = second.get_future();
  auto g = first.get_future().then(
      [&](int) -> future<std::string> { return std::move(inner); });
  first.set_value(1);
  CHECK_FALSE(g.available());
  second.set_value("done");
  REQUIRE(g.available());
  CHECK(g.get() == "done");
}

TEST_CASE("then_wrapped: sees failures too") {
  promise<int> p;
  auto g = p.get_future().then_wrapped([](future<int> &&f) {
    return f.failed() ? std::string("failed") : std::string("ok");
  });
  p.set_exception(uvpg::error(UVPG_ECONNBAD, "gone"));
  CHECK(g.get() == "failed");
}

TEST_CASE("then: a dropped result future still runs the continuation") {
  promise<int> p;
  int seen = 0;
  (void)p.get_future().then([&](int v) { seen = v; });
  p.set_value(3);
  CHECK(seen == 3);
}

namespace {

future<int> add_later(future<int> a, future<int> b) {
  int x = co_await std::move(a);
  int y = co_await std::move(b);
  co_return x + y;
}

future<void> fails_after(future<int> a) {
  (void)co_await std::move(a);
  throw uvpg::error(UVPG_ESERVER, "boom");
}

} // namespace

TEST_CASE("co_await: a coroutine returning future<T> suspends and resumes") {
  promise<int> a, b;
  future<int> sum = add_later(a.get_future(), b.get_future());
  CHECK_FALSE(sum.available());
  a.set_value(40);
  CHECK_FALSE(sum.available());
  b.set_value(2);
  REQUIRE(sum.available());
  CHECK(sum.get() == 42);
}

TEST_CASE("co_await: exceptions cross co_await and fail the coroutine") {
  promise<int> a;
  future<void> f = fails_after(a.get_future());
  a.set_value(0);
  REQUIRE(f.failed());
  try {
    f.get();
    FAIL("no exception");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UVPG_ESERVER);
  }
  promise<int> never;
  future<int> g = add_later(never.get_future(), uvpg::make_ready_future(1));
  never = promise<int>(); // the producer goes away
  REQUIRE(g.failed());
  CHECK_THROWS_AS(g.get(), uvpg::broken_promise);
}

TEST_CASE("future: move-only values travel without copies") {
  promise<std::unique_ptr<int>> p;
  auto f = p.get_future();
  p.set_value(std::make_unique<int>(9));
  auto v = f.get();
  REQUIRE(v);
  CHECK(*v == 9);
}

TEST_CASE("error: category codes equal the C codes") {
  uvpg::error e(UVPG_ECONNBAD, "lost");
  CHECK(e.code().value() == UVPG_ECONNBAD);
  CHECK(&e.code().category() == &uvpg::category());
  CHECK(e.code().message() == uvpg_strerror(UVPG_ECONNBAD));
  uvpg::server_error s(UVPG_ESERVER, "bad",
                       {{'C', "42601"}, {'P', "8"}, {'H', "try"}});
  CHECK(s.sqlstate() == "42601");
  CHECK(s.position() == 8);
  CHECK(s.hint() == "try");
  CHECK(s.detail().empty());
}
