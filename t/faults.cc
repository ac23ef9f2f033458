// Real faults: backends terminated by the server, the server stopped
// mid-query and started again.  Nothing may crash, hang or lose a
// callback, and the loop must close cleanly afterwards.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "test.hh"

TEST_SUITE_BEGIN("live/faults");

namespace {

void terminate(uv_loop_t *loop, uvpg::connection &admin, int pid) {
  auto r = test::wait(loop, admin.query("SELECT pg_terminate_backend($1)",
                                        pid));
  REQUIRE(r.value(0, 0) == "t");
}

/// Expects `f` to fail with UVPG_ECONNBAD; returns the SQLSTATE, if any.
std::string expect_connbad(uv_loop_t *loop, uvpg::future<uvpg::result> f) {
  REQUIRE(test::run_until(loop, [&] { return f.available(); }));
  try {
    f.get();
    FAIL("the query succeeded on a lost connection");
  } catch (const uvpg::server_error &e) {
    CHECK(e.status() == UVPG_ECONNBAD);
    return e.sqlstate();
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UVPG_ECONNBAD);
  }
  return "";
}

/// A TCP proxy on 127.0.0.1 in front of the test server that can cut
/// every connection it carries: the client then sees EOF (or a reset)
/// with no FATAL message from the server.
struct proxy {
  struct link {
    uv_tcp_t client, upstream;
    proxy *owner;
    int open = 2;
  };
  uv_loop_t *loop;
  uv_tcp_t srv;
  int port = 0;
  int target;
  std::vector<link *> links;

  proxy(uv_loop_t *l, int target_port) : loop(l), target(target_port) {
    srv.data = this;
    port = test::listen_local(loop, &srv, on_accept);
  }
  ~proxy() {
    cut(false);
    uv_close(reinterpret_cast<uv_handle_t *>(&srv), nullptr);
  }

  /// Closes every carried connection: FIN, or RST when `reset`.
  void cut(bool reset) {
    for (link *k : links) {
      close_link(k, reset);
    }
    links.clear();
  }

  static void close_link(link *k, bool reset) {
    auto done = [](uv_handle_t *h) {
      auto *k = static_cast<link *>(h->data);
      if (--k->open == 0) {
        delete k;
      }
    };
    auto *c = reinterpret_cast<uv_handle_t *>(&k->client);
    auto *u = reinterpret_cast<uv_handle_t *>(&k->upstream);
    if (!uv_is_closing(c)) {
      if (reset) {
        uv_tcp_close_reset(&k->client, done);
      } else {
        uv_close(c, done);
      }
    }
    if (!uv_is_closing(u)) {
      uv_close(u, done);
    }
  }

  static void on_alloc(uv_handle_t *, size_t, uv_buf_t *buf) {
    buf->base = new char[65536];
    buf->len = 65536;
  }

  static void on_read(uv_stream_t *from, ssize_t n, const uv_buf_t *buf) {
    auto *k = static_cast<link *>(from->data);
    uv_stream_t *to =
        from == reinterpret_cast<uv_stream_t *>(&k->client)
            ? reinterpret_cast<uv_stream_t *>(&k->upstream)
            : reinterpret_cast<uv_stream_t *>(&k->client);
    if (n > 0 && !uv_is_closing(reinterpret_cast<uv_handle_t *>(to))) {
      struct write_req {
        uv_write_t req;
        char *data;
      };
      auto *w = new write_req{{}, buf->base};
      uv_buf_t out = uv_buf_init(buf->base, static_cast<unsigned>(n));
      uv_write(&w->req, to, &out, 1, [](uv_write_t *r, int) {
        auto *w = reinterpret_cast<write_req *>(r);
        delete[] w->data;
        delete w;
      });
      return;
    }
    delete[] buf->base;
    if (n < 0) {
      auto &v = k->owner->links;
      v.erase(std::remove(v.begin(), v.end(), k), v.end());
      close_link(k, false);
    }
  }

  static void on_accept(uv_stream_t *s, int status) {
    auto *self = static_cast<proxy *>(s->data);
    auto *k = new link;
    k->owner = self;
    uv_tcp_init(self->loop, &k->client);
    uv_tcp_init(self->loop, &k->upstream);
    k->client.data = k->upstream.data = k;
    if (status < 0 ||
        uv_accept(s, reinterpret_cast<uv_stream_t *>(&k->client)) < 0) {
      close_link(k, false);
      return;
    }
    self->links.push_back(k);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", self->target, &addr);
    auto *req = new uv_connect_t;
    req->data = k;
    uv_tcp_connect(req, &k->upstream, reinterpret_cast<sockaddr *>(&addr),
                   [](uv_connect_t *req, int status) {
                     auto *k = static_cast<link *>(req->data);
                     delete req;
                     if (status < 0) {
                       return; // the client sees the cut
                     }
                     uv_read_start(reinterpret_cast<uv_stream_t *>(&k->client),
                                   on_alloc, on_read);
                     uv_read_start(
                         reinterpret_cast<uv_stream_t *>(&k->upstream),
                         on_alloc, on_read);
                   });
  }

  std::string dsn() const {
    return "host=127.0.0.1 port=" + std::to_string(port) +
           " user=uvpg dbname=postgres password=" +
           test::env("UVPG_TEST_PASSWORD");
  }
};

} // namespace

TEST_CASE("faults: a connection cut mid-query, with no word from the "
          "server, fails with UVPG_ECONNBAD") {
  test::loop_fixture lf;
  proxy px(&lf.loop, std::stoi(test::env("UVPG_TEST_PORT")));
  auto c = test::wait(&lf.loop, uvpg::connection::connect(&lf.loop, px.dsn()));
  auto running = c.query("SELECT pg_sleep(5)");
  auto queued = c.query("SELECT 1");
  REQUIRE(test::run_until(&lf.loop,
                          [&] { return c.status() == UVPG_CONN_BUSY; }));
  uv_sleep(100);
  uv_run(&lf.loop, UV_RUN_NOWAIT);
  px.cut(false);
  CHECK(expect_connbad(&lf.loop, std::move(running)).empty());
  expect_connbad(&lf.loop, std::move(queued));
  CHECK(c.status() == UVPG_CONN_BROKEN);
  CHECK(c.error_message().find("closed the connection") != std::string::npos);
}

TEST_CASE("faults: a connection reset while idle is noticed in the "
          "system's words") {
  test::loop_fixture lf;
  proxy px(&lf.loop, std::stoi(test::env("UVPG_TEST_PORT")));
  auto c = test::wait(&lf.loop, uvpg::connection::connect(&lf.loop, px.dsn()));
  px.cut(true);
  REQUIRE(test::run_until(&lf.loop,
                          [&] { return c.status() == UVPG_CONN_BROKEN; }));
  INFO("error: " << c.error_message());
  CHECK(c.error_message().find("bad file descriptor") == std::string::npos);
  CHECK((c.error_message().find(std::strerror(ECONNRESET)) !=
             std::string::npos ||
         c.error_message().find("closed the connection") !=
             std::string::npos));
  expect_connbad(&lf.loop, c.query("SELECT 1"));
}

TEST_CASE("faults: a backend terminated while idle is noticed without a "
          "query") {
  test::loop_fixture lf;
  auto admin = test::connect(&lf.loop);
  auto c = test::connect(&lf.loop);
  terminate(&lf.loop, admin, c.backend_pid());
  // The idle socket is under read watch: the FATAL and the EOF arrive
  // without anything being asked of the connection.
  REQUIRE(test::run_until(&lf.loop,
                          [&] { return c.status() == UVPG_CONN_BROKEN; }));
  CHECK(c.closed());
  CHECK(c.backend_pid() == 0);
  CHECK(c.error_message().find("terminating connection due to "
                               "administrator command") != std::string::npos);
  // Work on it fails at once, once, with the reason kept.
  CHECK(expect_connbad(&lf.loop, c.query("SELECT 1")) == "57P01");
  CHECK(expect_connbad(&lf.loop, c.query("SELECT 2")) == "57P01");
}

TEST_CASE("faults: a backend terminated mid-query fails the running and "
          "the queued statements") {
  test::loop_fixture lf;
  auto admin = test::connect(&lf.loop);
  auto c = test::connect(&lf.loop);
  auto running = c.query("SELECT pg_sleep(30)");
  auto queued = c.query("SELECT 1");
  // Wait until the sleep is really running on the server.
  REQUIRE(test::run_until(&lf.loop, [&] {
    auto r = test::wait(&lf.loop,
                        admin.query("SELECT count(*) FROM pg_stat_activity "
                                    "WHERE pid = $1 AND query LIKE "
                                    "'SELECT pg_sleep%'",
                                    c.backend_pid()));
    return r.value(0, 0) == "1";
  }));
  terminate(&lf.loop, admin, c.backend_pid());
  CHECK(expect_connbad(&lf.loop, std::move(running)) == "57P01");
  expect_connbad(&lf.loop, std::move(queued));
  CHECK(c.status() == UVPG_CONN_BROKEN);
  // The admin connection is untouched.
  CHECK(test::wait(&lf.loop, admin.query("SELECT 1")).value(0, 0) == "1");
}

TEST_CASE("faults: close is still clean after the connection was lost") {
  test::loop_fixture lf;
  auto admin = test::connect(&lf.loop);
  auto c = test::connect(&lf.loop);
  auto q = c.query("SELECT pg_sleep(30)");
  terminate(&lf.loop, admin, c.backend_pid());
  expect_connbad(&lf.loop, std::move(q));
  test::wait(&lf.loop, c.close());
  CHECK(c.status() == UVPG_CONN_CLOSED);
}

TEST_CASE("faults: the server stopped mid-query, refused while down, and "
          "back again") {
  test::loop_fixture lf;
  std::string pgctl = test::env("UVPG_TEST_PGCTL");
  auto c = test::connect(&lf.loop);
  auto idle = test::connect(&lf.loop);
  auto running = c.query("SELECT pg_sleep(60)");
  // Let the statement reach the server, then stop it (fast shutdown:
  // backends get SIGTERM and send FATAL 57P01 before they exit).
  REQUIRE(test::run_until(&lf.loop, [&] {
    return c.status() == UVPG_CONN_BUSY && !running.available();
  }));
  uv_sleep(200);
  uv_run(&lf.loop, UV_RUN_NOWAIT);
  test::shell(pgctl + " stop");
  CHECK(expect_connbad(&lf.loop, std::move(running)) == "57P01");
  REQUIRE(test::run_until(&lf.loop,
                          [&] { return idle.status() == UVPG_CONN_BROKEN; }));

  // While it is down: refused, with libpq's words.
  auto down = uvpg::connection::connect(&lf.loop, test::dsn());
  REQUIRE(test::run_until(&lf.loop, [&] { return down.available(); }));
  try {
    down.get();
    FAIL("connected to a stopped server");
  } catch (const uvpg::error &e) {
    CHECK(e.status() == UV_ECONNREFUSED);
  }

  test::shell(pgctl + " start");
  auto again = test::connect(&lf.loop);
  CHECK(test::wait(&lf.loop, again.query("SELECT 'back'")).value(0, 0) ==
        "back");
}
