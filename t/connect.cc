// connection::connect: conninfo forms, environment, multi-host, timeouts
// and every way a connect can fail.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include <unistd.h>

#include "test.hh"

TEST_SUITE_BEGIN("live/connect");

namespace {

/// A TCP listener on 127.0.0.1 that accepts and never answers: libpq
/// waits for the server's reply forever, only a timer can end it.
struct silent_server {
  uv_tcp_t srv;
  std::vector<uv_tcp_t *> clients;
  int port = 0;

  explicit silent_server(uv_loop_t *loop) {
    srv.data = this;
    port = test::listen_local(loop, &srv, [](uv_stream_t *s, int status) {
      auto *self = static_cast<silent_server *>(s->data);
      auto *c = new uv_tcp_t;
      uv_tcp_init(s->loop, c);
      if (status == 0 &&
          uv_accept(s, reinterpret_cast<uv_stream_t *>(c)) == 0) {
        self->clients.push_back(c);
      } else {
        uv_close(reinterpret_cast<uv_handle_t *>(c), [](uv_handle_t *h) {
          delete reinterpret_cast<uv_tcp_t *>(h);
        });
      }
    });
  }
  ~silent_server() {
    for (auto *c : clients) {
      uv_close(reinterpret_cast<uv_handle_t *>(c), [](uv_handle_t *h) {
        delete reinterpret_cast<uv_tcp_t *>(h);
      });
    }
    uv_close(reinterpret_cast<uv_handle_t *>(&srv), nullptr);
  }
};

/// What a failed connect reported.
struct failure {
  int status = 0;
  std::string message;
  std::string sqlstate; // for a server_error
  int code() const { return status; }
  const char *what() const { return message.c_str(); }
};

/// Connects and expects failure.
failure connect_error(uv_loop_t *loop, const std::string &conninfo,
                      const uvpg::connect_options &o = {}) {
  auto f = uvpg::connection::connect(loop, conninfo, o);
  failure out;
  REQUIRE(test::run_until(loop, [&] { return f.available(); }, 60));
  REQUIRE(f.failed());
  try {
    f.get();
  } catch (const uvpg::server_error &e) {
    out = {e.status(), e.what(), e.sqlstate()};
  } catch (const uvpg::error &e) {
    out = {e.status(), e.what(), ""};
  }
  return out;
}

std::string port() { return test::env("UVPG_TEST_PORT"); }
std::string password() { return test::env("UVPG_TEST_PASSWORD"); }

std::string tcp(const std::string &extra = "") {
  return "host=127.0.0.1 port=" + port() + " user=uvpg password=" +
         password() + " dbname=postgres " + extra;
}

/// Runs `SELECT 1` to prove a connection works.
void works(uv_loop_t *loop, uvpg::connection &c) {
  auto r = test::wait(loop, c.query("SELECT 1"));
  CHECK(r.value(0, 0) == "1");
}

} // namespace

TEST_CASE("connect: a URI works as well as a keyword string") {
  test::loop_fixture lf;
  std::string uri = "postgresql://uvpg:" + password() + "@127.0.0.1:" +
                    port() + "/postgres?application_name=uri-test";
  auto c = test::wait(&lf.loop, uvpg::connection::connect(&lf.loop, uri));
  works(&lf.loop, c);
  CHECK(c.parameter_status("application_name") == "uri-test");
  CHECK(c.dsn().find(password()) == std::string::npos);
  CHECK(c.dsn().find("port=" + port()) != std::string::npos);
}

TEST_CASE("connect: the private unix socket, no DNS involved") {
  test::loop_fixture lf;
  auto c = test::wait(&lf.loop,
                      uvpg::connection::connect(
                          &lf.loop, "host=" + test::env("UVPG_TEST_SOCKDIR") +
                                        " port=" + port() +
                                        " user=uvpg dbname=postgres"));
  works(&lf.loop, c);
}

TEST_CASE("connect: a host name is resolved off the loop and still works") {
  test::loop_fixture lf;
  auto c = test::wait(&lf.loop, uvpg::connection::connect(
                                    &lf.loop, "host=localhost port=" + port() +
                                                  " user=uvpg password=" +
                                                  password() +
                                                  " dbname=postgres"));
  works(&lf.loop, c);
}

TEST_CASE("connect: an empty conninfo takes the PG* environment") {
  test::loop_fixture lf;
  setenv("PGHOST", "127.0.0.1", 1);
  setenv("PGPORT", port().c_str(), 1);
  setenv("PGUSER", "uvpg", 1);
  setenv("PGPASSWORD", password().c_str(), 1);
  setenv("PGDATABASE", "postgres", 1);
  // libpq reads the environment when each attempt starts, on the loop.
  auto f = uvpg::connection::connect(&lf.loop, "");
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  for (const char *v :
       {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"}) {
    unsetenv(v);
  }
  auto c = f.get();
  works(&lf.loop, c);
}

TEST_CASE("connect: malformed conninfo fails with UV_EINVAL in libpq's "
          "words") {
  test::loop_fixture lf;
  auto e = connect_error(&lf.loop, "host=localhost port");
  CHECK(e.code() == UV_EINVAL);
  CHECK(std::string(e.what()).find("missing \"=\"") != std::string::npos);
  auto u = connect_error(&lf.loop, "postgresql://u:pw@[::1");
  CHECK(u.code() == UV_EINVAL);
  CHECK(std::string(u.what()).find("pw") == std::string::npos);
  auto k = connect_error(&lf.loop, "nosuchoption=1");
  CHECK(k.code() == UV_EINVAL);
  CHECK(std::string(k.what()).find("nosuchoption") != std::string::npos);
  auto m = connect_error(&lf.loop, "host=a,b port=1,2,3");
  CHECK(m.code() == UV_EINVAL);
  // Not a connection failure: the conninfo itself is wrong.
  auto p = connect_error(&lf.loop, "host=127.0.0.1 port=notaport");
  CHECK(p.code() == UV_EINVAL);
  CHECK(std::string(p.what()).find("\"notaport\"") != std::string::npos);
}

TEST_CASE("connect: a refused port gives UV_ECONNREFUSED") {
  test::loop_fixture lf;
  auto e = connect_error(&lf.loop, "host=127.0.0.1 port=1 user=uvpg");
  CHECK(e.code() == UV_ECONNREFUSED);
  CHECK(std::string(e.what()).find("port 1 failed") != std::string::npos);
}

TEST_CASE("connect: an unknown host gives a UV_EAI_* error") {
  test::loop_fixture lf;
  auto e = connect_error(&lf.loop, "host=no-such-host.invalid user=uvpg");
  INFO("status " << e.code() << ": " << e.what());
  CHECK((e.code() == UV_EAI_NONAME || e.code() == UV_EAI_AGAIN ||
         e.code() == UV_EAI_FAIL || e.code() == UV_EAI_NODATA));
  CHECK(std::string(e.what()).find("no-such-host.invalid") !=
        std::string::npos);
}

TEST_CASE("connect: a wrong password is a server_error 28P01 that never "
          "shows the password") {
  test::loop_fixture lf;
  std::string wrong = "not-the-" + password();
  auto f = uvpg::connection::connect(
      &lf.loop, "host=127.0.0.1 port=" + port() +
                    " user=uvpg dbname=postgres password=" + wrong);
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  try {
    f.get();
    FAIL("connected with a wrong password");
  } catch (const uvpg::server_error &e) {
    CHECK(e.status() == UVPG_ESERVER);
    CHECK(e.sqlstate() == "28P01");
    std::string what = e.what();
    CHECK(what.find("password authentication failed") != std::string::npos);
    CHECK(what.find(wrong) == std::string::npos);
    CHECK(what.find("LOCATION") == std::string::npos);
    CHECK(what.find("28P01") == std::string::npos);
  }
}

TEST_CASE("connect: a missing database is a server_error 3D000") {
  test::loop_fixture lf;
  auto e = connect_error(&lf.loop, "host=127.0.0.1 port=" + port() +
                                       " user=uvpg password=" + password() +
                                       " dbname=no_such_db");
  CHECK(e.code() == UVPG_ESERVER);
  CHECK(e.sqlstate == "3D000");
  CHECK(std::string(e.what()).find("no_such_db") != std::string::npos);
}

TEST_CASE("connect: a server that never answers times out with "
          "UV_ETIMEDOUT and the loop stays free") {
  test::loop_fixture lf;
  silent_server silent(&lf.loop);
  // A timer ticking on the same loop proves the connect never blocks it.
  uv_timer_t tick;
  int ticks = 0;
  uv_timer_init(&lf.loop, &tick);
  tick.data = &ticks;
  uv_timer_start(&tick, [](uv_timer_t *t) { ++*static_cast<int *>(t->data); },
                 10, 10);
  uvpg::connect_options o;
  o.timeout = std::chrono::milliseconds(500);
  uint64_t start = uv_hrtime();
  auto e = connect_error(&lf.loop,
                         "host=127.0.0.1 port=" + std::to_string(silent.port) +
                             " user=uvpg",
                         o);
  double secs = (uv_hrtime() - start) / 1e9;
  uv_close(reinterpret_cast<uv_handle_t *>(&tick), nullptr);
  CHECK(e.code() == UV_ETIMEDOUT);
  CHECK(std::string(e.what()).find("timeout") != std::string::npos);
  CHECK(secs >= 0.45);
  CHECK(secs < 5); // the bound, not a speed claim
  CHECK(ticks >= 20);
}

TEST_CASE("connect: connect_timeout bounds each host; the next host wins") {
  test::loop_fixture lf;
  silent_server silent(&lf.loop);
  // First the silent host (2 s, libpq's minimum), then the real server.
  auto c = test::wait(
      &lf.loop,
      uvpg::connection::connect(
          &lf.loop, "host=127.0.0.1,127.0.0.1 port=" +
                        std::to_string(silent.port) + "," + port() +
                        " connect_timeout=2 user=uvpg password=" + password() +
                        " dbname=postgres"),
      20);
  works(&lf.loop, c);
}

TEST_CASE("connect: a refused host is skipped for the next one") {
  test::loop_fixture lf;
  auto c = test::wait(&lf.loop,
                      uvpg::connection::connect(
                          &lf.loop, "host=127.0.0.1,localhost port=1," +
                                        port() + " user=uvpg password=" +
                                        password() + " dbname=postgres"));
  works(&lf.loop, c);
}

TEST_CASE("connect: every host failing reports each attempt") {
  test::loop_fixture lf;
  auto e = connect_error(&lf.loop,
                         "host=127.0.0.1,no-such-host.invalid port=1,2 "
                         "user=uvpg");
  std::string what = e.what();
  CHECK(what.find("port 1 failed") != std::string::npos);
  CHECK(what.find("no-such-host.invalid") != std::string::npos);
}

TEST_CASE("connect: target_session_attrs is honoured per host") {
  test::loop_fixture lf;
  // The test server is a primary: no standby to be found...
  auto e = connect_error(&lf.loop, tcp("target_session_attrs=standby"));
  CHECK(e.code() < 0);
  CHECK(std::string(e.what()).find("standby") != std::string::npos);
  // ...so prefer-standby settles for it on the second pass,
  auto c = test::wait(&lf.loop,
                      uvpg::connection::connect(
                          &lf.loop, tcp("target_session_attrs=prefer-standby")));
  works(&lf.loop, c);
  // and read-write accepts it at once.
  auto w = test::wait(&lf.loop,
                      uvpg::connection::connect(
                          &lf.loop, tcp("target_session_attrs=read-write")));
  works(&lf.loop, w);
}

TEST_CASE("connect: too many connections is a server_error 53300") {
  test::loop_fixture lf;
  auto admin = test::connect(&lf.loop);
  test::wait(&lf.loop, admin.query("DROP ROLE IF EXISTS uvpg_limited"));
  test::wait(&lf.loop,
             admin.query("CREATE ROLE uvpg_limited LOGIN CONNECTION LIMIT 1 "
                         "PASSWORD '" +
                         password() + "'"));
  std::string info = "host=127.0.0.1 port=" + port() +
                     " user=uvpg_limited password=" + password() +
                     " dbname=postgres";
  {
    auto first = test::wait(&lf.loop,
                            uvpg::connection::connect(&lf.loop, info));
    auto f = uvpg::connection::connect(&lf.loop, info);
    REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
    try {
      f.get();
      FAIL("a second connection got in");
    } catch (const uvpg::server_error &se) {
      CHECK(se.sqlstate() == "53300");
    }
    test::wait(&lf.loop, first.close());
  }
  // The role goes once its session has ended.
  REQUIRE(test::run_until(&lf.loop, [&] {
    auto r = test::wait(&lf.loop,
                        admin.query("SELECT count(*) FROM pg_stat_activity "
                                    "WHERE usename = 'uvpg_limited'"));
    return r.value(0, 0) == "0";
  }));
  test::wait(&lf.loop, admin.query("DROP ROLE uvpg_limited"));
}

TEST_CASE("connect: many connects at once on one loop") {
  test::loop_fixture lf;
  std::vector<uvpg::future<uvpg::connection>> pending;
  for (int i = 0; i < 20; ++i) {
    pending.push_back(uvpg::connection::connect(&lf.loop, test::dsn()));
  }
  std::vector<uvpg::connection> conns;
  for (auto &f : pending) {
    conns.push_back(test::wait(&lf.loop, std::move(f)));
  }
  std::vector<int> pids;
  for (auto &c : conns) {
    pids.push_back(c.backend_pid());
  }
  std::sort(pids.begin(), pids.end());
  CHECK(std::unique(pids.begin(), pids.end()) == pids.end());
}

TEST_CASE("connect: hosts from a service file are resolved off the loop") {
  test::loop_fixture lf;
  char path[] = "/tmp/uvpg-svc-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string body = "[uvpgtest]\nhost=localhost\nport=" + port() +
                     "\ndbname=postgres\nuser=uvpg\n";
  REQUIRE(write(fd, body.data(), body.size()) == (ssize_t)body.size());
  close(fd);
  setenv("PGSERVICEFILE", path, 1);
  auto f = uvpg::connection::connect(&lf.loop,
                                     "service=uvpgtest password=" + password());
  REQUIRE(test::run_until(&lf.loop, [&] { return f.available(); }));
  unsetenv("PGSERVICEFILE");
  unlink(path);
  auto c = f.get();
  works(&lf.loop, c);
  auto e = connect_error(&lf.loop, "service=no_such_service");
  CHECK(e.code() == UV_EINVAL);
}

TEST_CASE("connect: a refused password ends the connect as in libpq") {
  test::loop_fixture lf;
  // Two hosts, both the test server: libpq does not retry credentials
  // that a server refused on the next host, and neither do we.
  auto e = connect_error(&lf.loop, "host=127.0.0.1,localhost port=" + port() +
                                       " user=uvpg dbname=postgres "
                                       "password=wrong-" + password());
  CHECK(e.code() == UVPG_ESERVER);
  CHECK(e.sqlstate == "28P01");
  std::string what = e.what();
  size_t first = what.find("password authentication failed");
  REQUIRE(first != std::string::npos);
  CHECK(what.find("password authentication failed", first + 1) ==
        std::string::npos);
}

TEST_CASE("connect: the SQLSTATE belongs to the last attempt") {
  test::loop_fixture lf;
  // First a refusal with 3D000, then a refused port: the final status is
  // the port's, and no stale SQLSTATE rides along with it.
  auto e = connect_error(&lf.loop, "host=127.0.0.1,127.0.0.1 port=" + port() +
                                       ",1 user=uvpg password=" + password() +
                                       " dbname=no_such_db");
  CHECK(e.code() == UV_ECONNREFUSED);
  CHECK(e.sqlstate.empty());
  CHECK(std::string(e.what()).find("no_such_db") != std::string::npos);
}
