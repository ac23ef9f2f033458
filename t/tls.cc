// TLS against a real server: t/tls-setup.sh gives the private cluster a
// CA, a server certificate for DNS:localhost only, an unrelated second
// CA and a role that may log in over TLS only, with a SCRAM-SHA-256
// password.  The cases check verify-full with the right name and CA,
// the clear failures of a wrong name, a wrong CA, a missing root file and
// a wrong password, sslmode=require, a multi-host fallback from a name
// the certificate does not carry to one it does (connection and pool),
// a large result over TLS, and that the loop keeps turning during the
// handshake.
#include <cstdlib>
#include <fstream>
#include <string>

#include "test.hh"
#include "uvpg/pool.hh"

TEST_SUITE_BEGIN("live/tls");

namespace {

/// The cluster's TLS directory, set up once per program (the setup
/// restarts the server: the test runs on a private cluster).
std::string tls_dir() {
  static const std::string dir = [] {
    std::string cluster = test::env("UVPG_TEST_CLUSTER");
    std::string cmd = std::string("'") + UVPG_TLS_SETUP + "'";
    int rc = std::system(cmd.c_str());
    REQUIRE_MESSAGE(rc == 0, "t/tls-setup.sh failed");
    return cluster + "/tls";
  }();
  return dir;
}

std::string read_line(const std::string &path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  REQUIRE_MESSAGE(!s.empty(), "cannot read " << path);
  return s;
}

std::string password() { return read_line(tls_dir() + "/password"); }
std::string user() { return read_line(tls_dir() + "/user"); }
std::string port() { return test::env("UVPG_TEST_PORT"); }
std::string ca() { return tls_dir() + "/ca.crt"; }
std::string other_ca() { return tls_dir() + "/other-ca.crt"; }

/// The TLS role's conninfo on `host` (one or a list), with `extra`.
std::string tls_dsn(const std::string &host, const std::string &extra,
                    const std::string &pw = password()) {
  return "host=" + host + " port=" + port() + " user=" + user() +
         " password=" + pw + " dbname=postgres " + extra;
}

std::string verify_full(const std::string &root) {
  return "sslmode=verify-full sslrootcert=" + root;
}

/// What a failed connect reported.
struct failure {
  int status = 0;
  std::string message;
  std::string sqlstate;
};

failure connect_error(uv_loop_t *loop, const std::string &conninfo) {
  auto f = uvpg::connection::connect(loop, conninfo);
  failure out;
  // Bounded by the test, never a hang.
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

/// The server's view: is this session's connection encrypted?
bool server_says_ssl(uv_loop_t *loop, uvpg::connection &c) {
  return test::wait(loop, c.fetchval<bool>(
                              "SELECT ssl FROM pg_stat_ssl "
                              "WHERE pid = pg_backend_pid()"));
}

} // namespace

TEST_CASE("tls: the role's password is stored as SCRAM-SHA-256") {
  test::loop_fixture lf;
  tls_dir();
  auto admin = test::connect(&lf.loop);
  CHECK(test::wait(&lf.loop,
                   admin.fetchval<bool>(
                       "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM "
                       "pg_authid WHERE rolname = $1",
                       user())));
}

TEST_CASE("tls: verify-full with the certificate's name and its CA "
          "connects, encrypted") {
  test::loop_fixture lf;
  auto c = test::wait(&lf.loop,
                      uvpg::connection::connect(
                          &lf.loop, tls_dsn("localhost", verify_full(ca()))));
  CHECK(server_says_ssl(&lf.loop, c));
  CHECK(test::wait(&lf.loop, c.fetchval<std::string>("SELECT current_user")) ==
        user());
  CHECK(c.dsn().find(password()) == std::string::npos);
}

TEST_CASE("tls: verify-full with a name the certificate does not carry "
          "fails and says so") {
  test::loop_fixture lf;
  failure e = connect_error(&lf.loop, tls_dsn("127.0.0.1", verify_full(ca())));
  INFO(e.message);
  CHECK(e.status == UVPG_ECONNBAD);
  CHECK(e.sqlstate.empty());
  CHECK(e.message.find("does not match host name \"127.0.0.1\"") !=
        std::string::npos);
  CHECK(e.message.find("certificate for \"localhost\"") !=
        std::string::npos);
  CHECK(e.message.find(password()) == std::string::npos);
}

TEST_CASE("tls: verify-full with an unrelated CA fails: certificate verify "
          "failed") {
  test::loop_fixture lf;
  failure e =
      connect_error(&lf.loop, tls_dsn("localhost", verify_full(other_ca())));
  INFO(e.message);
  CHECK(e.status == UVPG_ECONNBAD);
  CHECK(e.message.find("certificate verify failed") != std::string::npos);
  // The host the program named, beside the address uvpg resolved it to.
  CHECK(e.message.find("connection to server at \"localhost\" (127.0.0.1), "
                       "port " + port() + " failed") != std::string::npos);
  CHECK(e.message.find(password()) == std::string::npos);
}

TEST_CASE("tls: verify-full with a missing root file fails and names it") {
  test::loop_fixture lf;
  std::string missing = tls_dir() + "/no-such-root.crt";
  failure e =
      connect_error(&lf.loop, tls_dsn("localhost", verify_full(missing)));
  INFO(e.message);
  CHECK(e.status == UVPG_ECONNBAD);
  CHECK(e.message.find("root certificate file \"" + missing +
                       "\" does not exist") != std::string::npos);
  CHECK(e.message.find(password()) == std::string::npos);
}

TEST_CASE("tls: sslmode=require without a CA connects, encrypted, by "
          "address") {
  test::loop_fixture lf;
  auto c = test::wait(&lf.loop,
                      uvpg::connection::connect(
                          &lf.loop, tls_dsn("127.0.0.1", "sslmode=require")));
  CHECK(server_says_ssl(&lf.loop, c));
}

TEST_CASE("tls: sslmode=disable is refused by the server's hostnossl line") {
  test::loop_fixture lf;
  failure e = connect_error(&lf.loop, tls_dsn("127.0.0.1", "sslmode=disable"));
  INFO(e.message);
  CHECK(e.sqlstate == "28000");
  CHECK(e.message.find("no encryption") != std::string::npos);
  CHECK(e.message.find(password()) == std::string::npos);
}

TEST_CASE("tls: a wrong password over TLS is 28P01, without the password") {
  test::loop_fixture lf;
  std::string wrong = "Wr0ngPassw0rdXyz";
  failure e = connect_error(&lf.loop,
                            tls_dsn("localhost", verify_full(ca()), wrong));
  INFO(e.message);
  CHECK(e.status == UVPG_ESERVER);
  CHECK(e.sqlstate == "28P01");
  CHECK(e.message.find("password authentication failed") !=
        std::string::npos);
  CHECK(e.message.find(wrong) == std::string::npos);
  CHECK(e.message.find(password()) == std::string::npos);
}

TEST_CASE("tls: multi-host verify-full falls back from a bad name to the "
          "good one") {
  test::loop_fixture lf;
  std::string dsn = "host=127.0.0.1,localhost port=" + port() + "," + port() +
                    " user=" + user() + " password=" + password() +
                    " dbname=postgres " + verify_full(ca());
  auto c = test::wait(&lf.loop, uvpg::connection::connect(&lf.loop, dsn));
  CHECK(server_says_ssl(&lf.loop, c));

  // Every host bad: each attempt's failure is reported, one per line.
  failure e = connect_error(
      &lf.loop, "host=127.0.0.1,127.0.0.1 port=" + port() + "," + port() +
                    " user=" + user() + " password=" + password() +
                    " dbname=postgres " + verify_full(ca()));
  INFO(e.message);
  size_t first = e.message.find("does not match host name");
  REQUIRE(first != std::string::npos);
  CHECK(e.message.find("does not match host name", first + 1) !=
        std::string::npos);
  CHECK(e.message.find(password()) == std::string::npos);
}

TEST_CASE("tls: a pool on the multi-host verify-full conninfo") {
  test::loop_fixture lf;
  std::string dsn = "host=127.0.0.1,localhost port=" + port() + "," + port() +
                    " user=" + user() + " password=" + password() +
                    " dbname=postgres " + verify_full(ca());
  uvpg::pool_options o;
  o.minsize = 2;
  o.maxsize = 2;
  auto p = test::wait(&lf.loop, uvpg::pool::create_filled(&lf.loop, dsn, o));
  // Both connections are encrypted (two acquired at once).
  auto a = test::wait(&lf.loop, p.acquire());
  auto b = test::wait(&lf.loop, p.acquire());
  CHECK(server_says_ssl(&lf.loop, a));
  CHECK(server_says_ssl(&lf.loop, b));
  CHECK(a.backend_pid() != b.backend_pid());
  a = {};
  b = {};
  CHECK(test::wait(&lf.loop,
                   p.fetchval<int64_t>("SELECT count(*) FROM pg_stat_ssl s "
                                       "JOIN pg_stat_activity a USING (pid) "
                                       "WHERE s.ssl AND a.usename = $1",
                                       user())) == 2);
  test::wait(&lf.loop, p.close());
}

TEST_CASE("tls: large results and parameters cross TLS whole") {
  test::loop_fixture lf;
  auto c = test::wait(&lf.loop,
                      uvpg::connection::connect(
                          &lf.loop, tls_dsn("localhost", verify_full(ca()))));
  // Many TLS records per value and per result, sizes that do not fall on
  // a record's boundary: libpq must never leave decrypted bytes behind
  // while the loop waits for the socket.
  for (int size : {16383, 16385, 100003, 4 * 1024 * 1024 + 7}) {
    CAPTURE(size);
    auto r = test::wait(&lf.loop,
                        c.query("SELECT repeat('x', $1), length(repeat('x', "
                                "$1)) FROM generate_series(1, 3)",
                                {uvpg::param(size)}));
    REQUIRE(r.rows() == 3);
    CHECK(r.value(2, 0).size() == static_cast<size_t>(size));
    CHECK(r.value(2, 1) == std::to_string(size));
  }
  std::string big(3 * 1024 * 1024 + 11, 'y');
  CHECK(test::wait(&lf.loop, c.fetchval<int64_t>("SELECT length($1::text)",
                                                 big)) ==
        static_cast<int64_t>(big.size()));
  CHECK(test::wait(&lf.loop,
                   c.fetchval<int64_t>("SELECT count(*) FROM "
                                       "generate_series(1, 200000)")) ==
        200000);
}

TEST_CASE("tls: the loop keeps turning during the handshake") {
  test::loop_fixture lf;
  // A uv_check_t counts the loop's turns; a timer at 0 must fire before
  // the connect completes.  host=localhost with hostaddr: no name to
  // resolve, so what the loop waits on is the TCP and TLS handshake and
  // SCRAM's round trips.
  struct state {
    int turns = 0;
    int turns_at_timer = -1;
    bool connected = false;
    bool timer_before_connect = false;
  } s;
  uv_check_t check;
  uv_check_init(&lf.loop, &check);
  check.data = &s;
  uv_check_start(&check, [](uv_check_t *h) {
    auto *st = static_cast<state *>(h->data);
    if (!st->connected) {
      ++st->turns;
    }
  });
  uv_timer_t zero;
  uv_timer_init(&lf.loop, &zero);
  zero.data = &s;

  auto f = uvpg::connection::connect(
      &lf.loop, tls_dsn("localhost", "hostaddr=127.0.0.1 " +
                                         verify_full(ca())));
  uv_timer_start(
      &zero,
      [](uv_timer_t *h) {
        auto *st = static_cast<state *>(h->data);
        st->turns_at_timer = st->turns;
        st->timer_before_connect = !st->connected;
      },
      0, 0);
  REQUIRE(test::run_until(&lf.loop, [&] {
    if (f.available()) {
      s.connected = true;
    }
    return s.connected;
  }));
  uv_close(reinterpret_cast<uv_handle_t *>(&check), nullptr);
  uv_close(reinterpret_cast<uv_handle_t *>(&zero), nullptr);
  auto c = f.get();
  CHECK(s.timer_before_connect);
  // TCP connect, the SSL request, the TLS handshake's round trips, SCRAM's
  // two, and the bootstrap query each return to the loop.
  INFO("loop turns during the connect: " << s.turns);
  CHECK(s.turns >= 5);
  CHECK(server_says_ssl(&lf.loop, c));
}
