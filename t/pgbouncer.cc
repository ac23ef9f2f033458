// uvpg behind a real PgBouncer (Debian's pgbouncer, started by
// t/pgbouncer.sh in front of the test cluster), in transaction and in
// session mode, with default options: 32 callers over 8 connections,
// every answer checked, every acknowledged insert present, no wedge.
//
// In transaction mode PgBouncer hands each transaction to whichever
// server session is free, so a statement prepared on one session is
// missing on the next (26000) — or, were names shared between clients,
// another client's statement of the same name would run instead.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "test.hh"
#include <uvpg.h>

TEST_SUITE_BEGIN("live/pgbouncer");

namespace {

using namespace std::chrono_literals;

/// A PgBouncer in front of the test cluster for the life of the object.
class bouncer {
public:
  explicit bouncer(const std::string &mode, int pool_size = 4) {
    const char *top = std::getenv("top_srcdir");
    script = std::string(top ? top : ".") + "/t/pgbouncer.sh";
    char tmpl[] = "/tmp/uvpg-pgb.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    test::shell(script + " start " + dir + " " + mode + " " +
                std::to_string(pool_size));
    std::ifstream env(dir + "/env");
    std::string line;
    while (std::getline(env, line)) {
      const std::string key = "export UVPG_PGBOUNCER_DSN='";
      if (line.rfind(key, 0) == 0) {
        dsn = line.substr(key.size(), line.size() - key.size() - 1);
      }
    }
    REQUIRE_FALSE(dsn.empty());
  }
  ~bouncer() {
    if (std::system((script + " stop " + dir).c_str()) != 0) {
      MESSAGE("t/pgbouncer.sh stop failed");
    }
  }
  std::string log() const {
    std::ifstream f(dir + "/pgbouncer.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  std::string dsn;

private:
  std::string script, dir;
};

/// What the load saw.
struct tally {
  long ok = 0, wrong = 0, failed = 0, unknown = 0;
  std::map<std::string, long> errors; // SQLSTATE or message -> count
  std::set<long> acked, refused;      // insert keys
  int running = 0;
};

/// One caller: `n` statements one after another on `c`, each checked.
/// Statement texts vary with the caller so that several prepared
/// statements live on each connection at once.
void caller(uvpg::connection *c, int id, int i, int n, tally *t) {
  if (i == n) {
    --t->running;
    return;
  }
  auto next = [=] { caller(c, id, i + 1, n, t); };
  auto fail = [=](std::exception_ptr e, long key) {
    ++t->failed;
    try {
      std::rethrow_exception(e);
    } catch (const uvpg::server_error &s) {
      ++t->errors[s.sqlstate()];
      if (s.outcome_unknown()) {
        ++t->unknown;
      } else if (key >= 0) {
        t->refused.insert(key);
      }
    } catch (const uvpg::error &x) {
      ++t->errors[x.what()];
      if (x.outcome_unknown()) {
        ++t->unknown;
      } else if (key >= 0) {
        t->refused.insert(key);
      }
    }
  };
  int k = id % 8;
  switch (i % 3) {
  case 0: {
    int v = id * 1000 + i;
    (void)c->fetchval<int>("SELECT $1::int + " + std::to_string(k), v)
        .then_wrapped([=](uvpg::future<int> f) {
          if (f.failed()) {
            fail(f.get_exception(), -1);
          } else if (f.get() == v + k) {
            ++t->ok;
          } else {
            ++t->wrong;
          }
          next();
        });
    break;
  }
  case 1: {
    std::string v = "c" + std::to_string(id) + "-" + std::to_string(i);
    (void)c->fetchval<std::string>("SELECT $1::text || '/" + std::to_string(k) +
                                 "'",
                             v)
        .then_wrapped([=](uvpg::future<std::string> f) {
          if (f.failed()) {
            fail(f.get_exception(), -1);
          } else if (f.get() == v + "/" + std::to_string(k)) {
            ++t->ok;
          } else {
            ++t->wrong;
          }
          next();
        });
    break;
  }
  default: {
    long key = long(id) * 100000 + i;
    (void)c
        ->query("INSERT INTO uvpg_pgb_t (k, caller) VALUES ($1, $2)", key, id)
        .then_wrapped([=](uvpg::future<uvpg::result> f) {
          if (f.failed()) {
            fail(f.get_exception(), key);
          } else {
            ++t->ok;
            t->acked.insert(key);
          }
          next();
        });
  }
  }
}

/// 32 callers over 8 connections through `b`; checks the answers and,
/// directly on the server, the inserts.
tally load(uv_loop_t *loop, const bouncer &b, const std::string &table_tag,
           uvpg::connect_options o = {}) {
  auto direct = test::connect(loop);
  test::wait(loop, direct.query("CREATE TABLE IF NOT EXISTS uvpg_pgb_t "
                                "(k bigint PRIMARY KEY, caller int)"));
  test::wait(loop, direct.query("DELETE FROM uvpg_pgb_t"));
  (void)table_tag;
  std::vector<uvpg::connection> conns;
  for (int i = 0; i < 8; ++i) {
    conns.push_back(
        test::wait(loop, uvpg::connection::connect(loop, b.dsn, o)));
    // Found at connect, and said in a notice kept from then.
    CHECK(conns.back().behind_pooler());
    bool told = false;
    for (const auto &n : conns.back().notices()) {
      told |= n.sqlstate() == "01000" &&
              n.message_primary().find("connection pooler") !=
                  std::string::npos;
    }
    CHECK(told);
  }
  CHECK_FALSE(direct.behind_pooler());
  tally t;
  const int per_caller = 150;
  t.running = 32;
  for (int id = 0; id < 32; ++id) {
    caller(&conns[id % 8], id, 0, per_caller, &t);
  }
  // A wedge is a failure here, never a hang.
  bool finished = test::run_until(loop, [&] { return t.running == 0; }, 120);
  CHECK_MESSAGE(finished, "wedged: " << t.running << " callers never ended");
  for (auto &c : conns) {
    test::wait(loop, c.close());
  }
  // What the table holds, asked of the server directly.
  auto r = test::wait(loop, direct.query("SELECT k FROM uvpg_pgb_t"));
  std::set<long> present;
  for (const auto &row : r) {
    present.insert(row[0].as<long>());
  }
  long missing = 0, refused_present = 0;
  for (long k : t.acked) {
    missing += present.count(k) == 0;
  }
  for (long k : t.refused) {
    refused_present += present.count(k);
  }
  CHECK_MESSAGE(missing == 0, missing << " acknowledged inserts are absent");
  CHECK_MESSAGE(refused_present == 0,
                refused_present << " inserts reported failed are present");
  test::wait(loop, direct.close());
  std::string errs;
  for (auto &[k, n] : t.errors) {
    errs += " " + k + "=" + std::to_string(n);
  }
  MESSAGE("ok " << t.ok << ", wrong " << t.wrong << ", failed " << t.failed
                << " (unknown outcome " << t.unknown << ");" << errs);
  return t;
}

} // namespace

TEST_CASE("pgbouncer: transaction mode, default options: every answer right, "
          "no error, no wedge") {
  bouncer b("transaction", 4);
  test::loop_fixture lf;
  tally t = load(&lf.loop, b, "tx");
  CHECK(t.wrong == 0);
  CHECK(t.failed == 0);
  CHECK(t.ok == 32 * 150);
}

TEST_CASE("pgbouncer: session mode, default options") {
  bouncer b("session", 8);
  test::loop_fixture lf;
  tally t = load(&lf.loop, b, "session");
  CHECK(t.wrong == 0);
  CHECK(t.failed == 0);
  CHECK(t.ok == 32 * 150);
}

TEST_CASE("pgbouncer: a pool counts the connections it found behind the "
          "pooler, in C++ and in C") {
  bouncer b("transaction", 4);
  test::loop_fixture lf;
  // C++: every connection the pool opened is counted, once.
  {
    uvpg::pool_options o;
    o.minsize = 2;
    o.maxsize = 2;
    auto p = uvpg::pool::create(&lf.loop, b.dsn, o);
    for (int i = 0; i < 6; ++i) {
      CHECK(test::wait(&lf.loop, p.fetchval<int>("SELECT $1::int", i)) == i);
    }
    // Both opened and ready (size also counts one being opened).
    REQUIRE(test::run_until(&lf.loop, [&] { return p.stats().idle == 2; }));
    CHECK(p.stats().behind_pooler == p.stats().opened);
    CHECK(p.stats().behind_pooler == 2);
    CHECK(p.stats().role_changes == 0);
    test::wait(&lf.loop, p.close());
  }
  // C, from uvpg_pool_get_stats(3): the same through the C ABI.  A pool
  // straight to the server counts none.
  for (bool through : {true, false}) {
    uvpg_pool_opts_t o;
    uvpg_pool_opts_init(&o);
    o.minsize = 1;
    o.maxsize = 1;
    uvpg_pool_t *pool = nullptr;
    REQUIRE(uvpg_pool_new(&lf.loop,
                          through ? b.dsn.c_str() : test::dsn().c_str(), &o,
                          &pool) == 0);
    int answered = 0;
    REQUIRE(uvpg_pool_query(
                pool, "SELECT 1", 0, nullptr,
                [](uvpg_conn_t *, int status, uvpg_result_t *res,
                   void *data) {
                  *static_cast<int *>(data) = status < 0 ? -1 : 1;
                  uvpg_result_free(res);
                },
                &answered) == 0);
    REQUIRE(test::run_until(&lf.loop, [&] { return answered != 0; }));
    CHECK(answered == 1);
    uvpg_pool_stats_t st;
    uvpg_pool_get_stats(pool, &st);
    CHECK(st.opened == 1);
    CHECK(st.behind_pooler == (through ? 1u : 0u));
    CHECK(st.role_changes == 0);
    CHECK(st.reserved[0] == 0);
    CHECK(st.reserved[1] == 0);
    bool closed = false;
    REQUIRE(uvpg_pool_close(
                pool, 0,
                [](uvpg_pool_t *, void *data) {
                  *static_cast<bool *>(data) = true;
                },
                &closed) == 0);
    REQUIRE(test::run_until(&lf.loop, [&] { return closed; }));
  }
}

TEST_CASE("pgbouncer: a program's DISCARD ALL drops the statement cache, "
          "and is no sign of a pooler") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  CHECK_FALSE(c.behind_pooler());
  for (int i = 0; i < 3; ++i) {
    CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT $1::int + 1", i)) ==
          i + 1);
    test::wait(&lf.loop, c.query("DISCARD ALL"));
  }
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT $1::int + 1", 41)) == 42);
  // Also at the end of a string of statements.
  test::wait(&lf.loop, c.query("SELECT 1; DEALLOCATE ALL"));
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT $1::int + 1", 1)) == 2);
  CHECK_FALSE(c.behind_pooler());
  test::wait(&lf.loop, c.close());
}

TEST_CASE("pgbouncer: a cached statement missing outside a transaction "
          "means another session: unnamed from then on, the statement "
          "sent again, a notice") {
  test::loop_fixture lf;
  auto c = test::connect(&lf.loop);
  // A function drops every prepared statement of the session, as a
  // pooler that moved the connection to another session would seem.
  test::wait(&lf.loop, c.query("CREATE OR REPLACE FUNCTION pg_temp.uvpg_drop()"
                               " RETURNS void LANGUAGE sql AS "
                               "$$ DEALLOCATE ALL $$"));
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT $1::int * 2", 4)) == 8);
  test::wait(&lf.loop, c.query("SELECT pg_temp.uvpg_drop()"));
  CHECK_FALSE(c.behind_pooler());
  // The cached statement is gone: it is prepared again and answers.
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT $1::int * 2", 21)) ==
        42);
  CHECK(c.behind_pooler());
  bool told = false;
  for (const auto &n : c.notices()) {
    told |= n.sqlstate() == "01000" &&
            n.message_primary().find("session changed") != std::string::npos;
  }
  CHECK(told);
  // From now on nothing is prepared under a name.
  CHECK(test::wait(&lf.loop, c.fetchval<int>("SELECT $1::int * 3", 5)) == 15);
  CHECK(test::count_of(&lf.loop, c,
                       "SELECT count(*) FROM pg_prepared_statements") == 0);
  test::wait(&lf.loop, c.close());
}
