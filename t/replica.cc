// The pool with a multi-host conninfo against a real primary and
// streaming standby that t/replica.sh starts (run under `t/replica.sh
// run`, see t/run-test.sh): routing by pool_access, reads falling back
// to the primary while the standby is down, standby_only failing at its
// deadline, and a failover (the primary stopped -m immediate, the
// standby promoted) with every acknowledged write found after it.  The
// time from the promotion to the first successful write is printed,
// never asserted.  The cases run in order and share the two servers.
#include <cstdio>
#include <set>
#include <string>

#include "test.hh"

TEST_SUITE_BEGIN("live/replica");

using uvpg::connection;
using uvpg::pool;
using uvpg::pool_access;
using uvpg::pool_options;

namespace {

std::string replica(const std::string &args) {
  return "\"" + test::env("UVPG_REPLICA_SH") + "\" " + args;
}

std::string dir() { return "\"" + test::env("UVPG_REPLICA_DIR") + "\""; }

pool_options opts() {
  pool_options o;
  o.minsize = 1;
  o.maxsize = 6;
  o.connect.timeout = std::chrono::milliseconds(3000);
  return o;
}

// pg_is_in_recovery() on a connection acquired with `mode`.
bool in_recovery(uv_loop_t *loop, pool &p, pool_access mode,
                 std::chrono::milliseconds timeout =
                     std::chrono::milliseconds(20000)) {
  connection c = test::wait(loop, p.acquire(mode, timeout));
  return test::wait(loop, c.fetchval<bool>("SELECT pg_is_in_recovery()"));
}

} // namespace

TEST_CASE_FIXTURE(test::loop_fixture,
                  "routing: read_only to the standby, read_write and the "
                  "default to the primary, reads spread over idle standby "
                  "connections") {
  pool p = pool::create(&loop, test::dsn(), opts());
  CHECK(in_recovery(&loop, p, pool_access::read_only));
  CHECK(in_recovery(&loop, p, pool_access::standby_only));
  CHECK_FALSE(in_recovery(&loop, p, pool_access::read_write));
  {
    connection c = test::wait(&loop, p.acquire());
    CHECK_FALSE(
        test::wait(&loop, c.fetchval<bool>("SELECT pg_is_in_recovery()")));
  }
  // The pool-level calls run where the default access says.
  CHECK_FALSE(test::wait(&loop, p.fetchval<bool>("SELECT pg_is_in_recovery()")));
  // Two read leases at once: both on the standby (only one is up).
  {
    connection a = test::wait(&loop, p.acquire(pool_access::read_only));
    connection b = test::wait(&loop, p.acquire(pool_access::read_only));
    CHECK(test::wait(&loop, a.fetchval<bool>("SELECT pg_is_in_recovery()")));
    CHECK(test::wait(&loop, b.fetchval<bool>("SELECT pg_is_in_recovery()")));
  }
  // A pool whose default is read_only sends its pool-level calls there.
  pool_options ro = opts();
  ro.access = pool_access::read_only;
  pool q = pool::create(&loop, test::dsn(), ro);
  CHECK(test::wait(&loop, q.fetchval<bool>("SELECT pg_is_in_recovery()")));
  CHECK(test::wait(&loop, q.fetchval<bool>("SELECT pg_is_in_recovery()")));
  test::wait(&loop, q.close());
  test::wait(&loop, p.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "the standby down: reads go to the primary, standby_only "
                  "fails at its deadline naming why; back when it returns") {
  pool p = pool::create(&loop, test::dsn(), opts());
  REQUIRE(in_recovery(&loop, p, pool_access::read_only));
  test::shell(replica("ctl " + dir() + " standby kill"));
  // Its idle connection is under read watch: dropped, never lent.
  REQUIRE(test::run_until(&loop, [&] { return p.stats().lost >= 1; }));
  // The first read may wait for a standby connect to fail; then the
  // primary serves reads.
  CHECK_FALSE(in_recovery(&loop, p, pool_access::read_only));
  CHECK_FALSE(in_recovery(&loop, p, pool_access::read_only));
  auto f = p.acquire(pool_access::standby_only, std::chrono::milliseconds(500));
  REQUIRE(test::run_until(&loop, [&] { return f.available(); }));
  try {
    f.get();
    FAIL("standby_only got a connection with the standby down");
  } catch (const uvpg::timed_out &e) {
    std::string what = e.what();
    INFO(what);
    CHECK(what.find("pool: no standby found within") != std::string::npos);
    CHECK(what.find("the last connect failed") != std::string::npos);
  }
  // Writes are untouched.
  CHECK_FALSE(in_recovery(&loop, p, pool_access::read_write));

  test::shell(replica("ctl " + dir() + " standby start"));
  // Standby connects back off (10 s at most): reads return to it.
  REQUIRE(test::run_until(
      &loop, [&] { return in_recovery(&loop, p, pool_access::read_only); },
      40));
  CHECK(in_recovery(&loop, p, pool_access::standby_only));
  test::wait(&loop, p.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "max_replica_lag: a standby whose replay lags past the "
                  "bound is passed over until it catches up") {
  connection primary = test::wait(
      &loop, connection::connect(&loop, test::env("UVPG_PRIMARY_DSN")));
  connection standby = test::wait(
      &loop, connection::connect(&loop, test::env("UVPG_STANDBY_DSN")));
  pool_options o = opts();
  o.max_replica_lag = std::chrono::milliseconds(500);
  pool p = pool::create(&loop, test::dsn(), o);
  REQUIRE(in_recovery(&loop, p, pool_access::read_only));
  test::wait(&loop, standby.execute("SELECT pg_wal_replay_pause()"));
  test::wait(&loop, primary.execute("CREATE TABLE IF NOT EXISTS lag_t "
                                    "(x int)"));
  test::wait(&loop, primary.execute("INSERT INTO lag_t VALUES (1)"));
  // The next check (every second) sees WAL waiting: reads move to the
  // primary, standby_only waits.
  REQUIRE(test::run_until(
      &loop, [&] { return !in_recovery(&loop, p, pool_access::read_only); },
      30));
  auto f = p.acquire(pool_access::standby_only, std::chrono::milliseconds(300));
  CHECK(test::status_of(&loop, std::move(f)) == UV_ETIMEDOUT);
  test::wait(&loop, standby.execute("SELECT pg_wal_replay_resume()"));
  REQUIRE(test::run_until(
      &loop, [&] { return in_recovery(&loop, p, pool_access::read_only); },
      30));
  test::wait(&loop, p.close());
  test::wait(&loop, primary.close());
  test::wait(&loop, standby.close());
}

TEST_CASE_FIXTURE(test::loop_fixture,
                  "failover: the primary stopped, the standby promoted; "
                  "writes resume on it and no acknowledged write is lost") {
  // Acknowledged means replicated: synchronous replication.
  {
    connection c = test::wait(
        &loop, connection::connect(&loop, test::env("UVPG_PRIMARY_DSN")));
    test::wait(&loop, c.execute("ALTER SYSTEM SET synchronous_standby_names "
                                "= '*'"));
    test::wait(&loop, c.execute("ALTER SYSTEM SET synchronous_commit = on"));
    test::wait(&loop, c.execute("SELECT pg_reload_conf()"));
    REQUIRE(test::run_until(
        &loop,
        [&] {
          return test::count_of(&loop, c,
                                "SELECT count(*) FROM pg_stat_replication "
                                "WHERE sync_state = 'sync'") == 1;
        },
        30));
    test::wait(&loop, c.execute("CREATE TABLE replica_w (k bigint PRIMARY "
                                "KEY)"));
    test::wait(&loop, c.close());
  }

  pool p = pool::create(&loop, test::dsn(), opts());
  const auto deadline = std::chrono::milliseconds(2000);
  std::set<int64_t> acked;
  int64_t next = 1, key = 0;
  uint64_t failed = 0, started_ns = 0, worst_ns = 0;
  uint64_t kill_ns = 0, promote_ns = 0, first_ok_ns = 0;
  bool in_flight = false, stop = false;
  uvpg::future<uvpg::result> cur;
  // One write at a time, each with a unique key and its own deadline;
  // a failed one is retried under a new key ("outcome unknown" for the
  // old one, which may or may not be there).
  auto pump = [&] {
    if (in_flight && cur.available()) {
      uint64_t now = uv_hrtime();
      worst_ns = std::max(worst_ns, now - started_ns);
      if (cur.failed()) {
        ++failed;
      } else {
        acked.insert(key);
        // A write sent before the kill may be answered after it (the
        // reply was in the socket): only one sent after it counts.
        if (kill_ns && started_ns > kill_ns && !first_ok_ns) {
          first_ok_ns = now;
        }
      }
      in_flight = false;
    }
    if (!in_flight && !stop) {
      key = next++;
      uvpg::query_options qo;
      qo.timeout = deadline;
      started_ns = uv_hrtime();
      cur = p.query("INSERT INTO replica_w VALUES ($1)",
                    {uvpg::param(key)}, qo);
      in_flight = true;
    }
  };
  REQUIRE(test::run_until(&loop, [&] {
    pump();
    return acked.size() >= 200;
  }));

  test::shell(replica("ctl " + dir() + " primary kill"));
  kill_ns = uv_hrtime();
  // pg_ctl promote in the background: the loop runs meanwhile, so the
  // first write lands as soon as the pool finds the new primary.
  promote_ns = uv_hrtime();
  test::shell(replica("promote " + dir()) + " &");
  REQUIRE(test::run_until(
      &loop,
      [&] {
        pump();
        return first_ok_ns != 0;
      },
      60));
  size_t before = acked.size();
  REQUIRE(test::run_until(&loop, [&] {
    pump();
    return acked.size() >= before + 100;
  }));
  stop = true;
  REQUIRE(test::run_until(&loop, [&] {
    pump();
    return !in_flight;
  }));
  std::printf("replica: failover: from pg_ctl promote to the first "
              "successful write %.0f ms; %llu writes acknowledged, %llu "
              "failed (outcome unknown), the slowest call took %.0f ms "
              "(deadline %lld ms)\n",
              double(first_ok_ns - promote_ns) / 1e6,
              static_cast<unsigned long long>(acked.size()),
              static_cast<unsigned long long>(failed), double(worst_ns) / 1e6,
              static_cast<long long>(deadline.count()));
  // Every acknowledged write is on the new primary.
  uvpg::result r =
      test::wait(&loop, p.query("SELECT k FROM replica_w ORDER BY k"));
  std::set<int64_t> present;
  for (int i = 0; i < r.rows(); ++i) {
    present.insert(std::stoll(std::string(r.value(i, 0))));
  }
  size_t missing = 0;
  for (int64_t k : acked) {
    missing += present.count(k) == 0;
  }
  CHECK(missing == 0);
  CHECK(acked.size() >= 300);
  // The new primary is where writes go; with no standby left, reads too.
  CHECK_FALSE(in_recovery(&loop, p, pool_access::read_write));
  CHECK_FALSE(in_recovery(&loop, p, pool_access::read_only));
  CHECK(p.stats().lost >= 1);
  // The connection opened to the standby now talks to a primary: it is
  // closed and counted, at the latest by the pool's next tick.
  CHECK(test::run_until(&loop, [&] { return p.stats().role_changes >= 1; },
                        10));
  test::wait(&loop, p.close());
}

TEST_SUITE_END();
