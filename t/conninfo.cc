// Conninfo parsing, masking and the host plan (src/conninfo.cc).
#include "../src/engine/engine.hh"
#include "test.hh"

#include <climits>
#include <unistd.h>

TEST_SUITE_BEGIN("conninfo");

TEST_CASE("conninfo: the password is masked in both forms") {
  std::string err;
  auto ci = uvpg::detail::parse_conninfo(
      "host=h password='se cr\\'et' dbname=d", err);
  REQUIRE(ci);
  std::string dsn = uvpg::detail::masked_dsn(*ci);
  CHECK(dsn.find("password=********") != std::string::npos);
  CHECK(dsn.find("cr") == std::string::npos);
  auto uri = uvpg::detail::parse_conninfo(
      "postgresql://u:s3cr3t@h:5433/db?sslmode=disable", err);
  REQUIRE(uri);
  dsn = uvpg::detail::masked_dsn(*uri);
  CHECK(dsn.find("s3cr3t") == std::string::npos);
  CHECK(dsn.find("port=5433") != std::string::npos);
  CHECK(dsn.find("user=u") != std::string::npos);
}

TEST_CASE("conninfo: multi-host lists pair hosts with ports") {
  std::string err;
  auto ci = uvpg::detail::parse_conninfo("host=a,b,/tmp port=1,2,3", err);
  REQUIRE(ci);
  auto hosts = uvpg::detail::plan_hosts(*ci, err);
  REQUIRE(hosts.size() == 3);
  CHECK(hosts[1].host == "b");
  CHECK(hosts[1].port == "2");
  CHECK(hosts[0].needs_dns());
  CHECK_FALSE(hosts[2].needs_dns()); // a socket directory
  auto bad = uvpg::detail::parse_conninfo("host=a,b port=1,2,3", err);
  REQUIRE(bad);
  CHECK(uvpg::detail::plan_hosts(*bad, err).empty());
  CHECK(err.find("port") != std::string::npos);
}

TEST_CASE("conninfo: a port that is not a number from 1 to 65535 fails "
          "the plan in libpq's words") {
  const struct {
    const char *conninfo;
    bool ok;
  } cases[] = {
      {"port=notaport", false},  {"port=0", false},
      {"port=65536", false},     {"port=5432x", false},
      {"port=99999999999999999999", false},
      {"host=a,b port=5432,x", false},
      {"port=1", true},          {"port=65535", true},
      {"port= 5432 ", true},     {"port=", true},
      {"host=a,b port=5432,", true},
      {"port=' '", false}, // blanks only (found by fuzz/conninfo)
  };
  for (const auto &c : cases) {
    INFO(c.conninfo);
    std::string err;
    auto ci = uvpg::detail::parse_conninfo(c.conninfo, err);
    REQUIRE(ci);
    CHECK(uvpg::detail::plan_hosts(*ci, err).empty() == !c.ok);
    CHECK((err.find("port") != std::string::npos) == !c.ok);
  }
}

TEST_CASE("conninfo: parse errors never echo the password") {
  const char *bad[] = {
      "postgresql://u:hunter2secret@[::1",
      "host=x password=abc def",
      "host=x password = 'abc def",
      "postgresql://u:sec%zzret@h/db",
      "postgresql://u@h/db?password=hunter2secret&foo=bar",
  };
  const char *secret[] = {"hunter2secret", "def", "abc", "sec%zzret",
                          "hunter2secret"};
  for (size_t i = 0; i < 5; ++i) {
    std::string err;
    INFO("conninfo: " << bad[i]);
    CHECK_FALSE(uvpg::detail::parse_conninfo(bad[i], err));
    CHECK_FALSE(err.empty());
    INFO("error: " << err);
    CHECK(err.find(secret[i]) == std::string::npos);
  }
}

// Found by fuzz/conninfo: libpq reads user info up to the first '@'
// before any '/', so a password may hold a '?'; and in keywords an '&'
// is part of a password, not the end of a one-letter secret that would
// mask every copy of that letter.
TEST_CASE("conninfo: parse errors hide a password with '?' and keep the "
          "rest of the message") {
  std::string err;
  CHECK_FALSE(uvpg::detail::parse_conninfo("postgresql://u:pa?ss99@[::1",
                                           err));
  INFO("error: " << err);
  CHECK(err.find("ss99") == std::string::npos);
  CHECK_FALSE(uvpg::detail::parse_conninfo(
      "password=s&cret99 host=h bogus", err));
  CHECK(err.find("\"bogus\"") != std::string::npos);
}

// Found by fuzz/conninfo (in CI): a quoted password written with SQL's
// '' ends at the second quote for libpq, which then quotes the rest as
// a keyword; that rest is the password's tail.
TEST_CASE("conninfo: parse errors hide the tail of a password libpq read "
          "short") {
  std::string err;
  CHECK_FALSE(uvpg::detail::parse_conninfo(
      "host=h password='it''sSecret42 dbname=d", err));
  INFO("error: " << err);
  CHECK(err.find("sSecret42") == std::string::npos);
  CHECK(err.find("missing \"=\" after \"********\"") != std::string::npos);
  // A password holding '"' itself, in a URI libpq quotes whole.
  CHECK_FALSE(uvpg::detail::parse_conninfo(
      "postgresql://[::1?password=Xy7\"q\"Zw9&", err));
  CHECK(err.find("Xy7") == std::string::npos);
  CHECK(err.find("Zw9") == std::string::npos);
  CHECK(err.find("IPv6") != std::string::npos);
  // A one-character secret (here '"') masks no character of the message.
  CHECK_FALSE(uvpg::detail::parse_conninfo("host=h bogus password=ab \"", err));
  CHECK(err.find("\"bogus\"") != std::string::npos);
}

// Found by fuzz/conninfo: a value with a blank libpq skips (\r, \f,
// \v) is quoted, so the masked conninfo parses back the same.
TEST_CASE("conninfo: the masked conninfo parses back to the same values") {
  std::string err;
  auto ci = uvpg::detail::parse_conninfo(
      "postgresql://u@h/db?application_name=a%0Db%0Cc%0Bd", err);
  REQUIRE(ci);
  std::string dsn = uvpg::detail::masked_dsn(*ci);
  auto again = uvpg::detail::parse_conninfo(dsn.c_str(), err);
  REQUIRE(again);
  REQUIRE(again->find("application_name"));
  CHECK(*again->find("application_name") == "a\rb\fc\vd");
}

TEST_CASE("conninfo: every secret option is masked, not only password") {
  std::string err;
  auto ci = uvpg::detail::parse_conninfo(
      "host=h sslpassword=keyphrase password=pw", err);
  REQUIRE(ci);
  std::string dsn = uvpg::detail::masked_dsn(*ci);
  CHECK(dsn.find("keyphrase") == std::string::npos);
  CHECK(dsn.find("sslpassword=********") != std::string::npos);
}

TEST_CASE("conninfo: a service section is merged before hosts are planned") {
  char path[] = "/tmp/uvpg-svc-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string body = "# test\n[other]\nhost=wrong\n[svc]\nhost = db1,db2\n"
                     "port=7,8\ndbname=fromfile\n[later]\nhost=x\n";
  REQUIRE(write(fd, body.data(), body.size()) == (ssize_t)body.size());
  close(fd);
  setenv("PGSERVICEFILE", path, 1);
  std::string err;
  auto ci = uvpg::detail::parse_conninfo("service=svc dbname=mine", err);
  REQUIRE(ci);
  CHECK(uvpg::detail::expand_service(*ci, err));
  auto hosts = uvpg::detail::plan_hosts(*ci, err);
  REQUIRE(hosts.size() == 2);
  CHECK(hosts[1].host == "db2");
  CHECK(hosts[1].port == "8");
  CHECK(*ci->find("dbname") == "mine"); // the conninfo wins
  CHECK_FALSE(ci->find("service"));
  auto missing = uvpg::detail::parse_conninfo("service=nope", err);
  REQUIRE(missing);
  CHECK_FALSE(uvpg::detail::expand_service(*missing, err));
  CHECK(err.find("nope") != std::string::npos);
  unsetenv("PGSERVICEFILE");
  unlink(path);
}

TEST_CASE("connect errors: SQLSTATE is found whatever the server's "
          "language") {
  std::string state, clean;
  int status = uvpg::detail::classify_connect_error(
      "connection to server at \"h\" (1.2.3.4), port 5 failed: "
      "SCHWERWIEGEND:  28P01: Passwort-Authentifizierung fehlgeschlagen\n"
      "LOCATION:  auth_failed, auth.c:323\n",
      state, clean);
  CHECK(status == UVPG_ESERVER);
  CHECK(state == "28P01");
  CHECK(clean.find("28P01") == std::string::npos);
  CHECK(clean.find("LOCATION") == std::string::npos);
  CHECK(clean.find("SCHWERWIEGEND:  Passwort") != std::string::npos);
}

// Found by fuzz/conninfo: a connect_timeout past what a long holds in
// milliseconds overflowed (UBSan); libpq itself refuses past INT_MAX.
TEST_CASE("conninfo: connect_timeout is at least 2 s and never overflows") {
  auto timeout = [](const char *text) {
    std::string err;
    auto ci = uvpg::detail::parse_conninfo(text, err);
    REQUIRE(ci);
    return uvpg::detail::attempt_timeout(*ci);
  };
  CHECK(timeout("connect_timeout=0") == std::chrono::milliseconds(0));
  CHECK(timeout("connect_timeout=1") == std::chrono::seconds(2));
  CHECK(timeout("connect_timeout=30") == std::chrono::seconds(30));
  CHECK(timeout("connect_timeout=99999999999999999999") ==
        std::chrono::seconds(INT_MAX));
}
