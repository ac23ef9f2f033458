// soak: the soak of issue 12.  32 callers over one uvpg::pool run reads,
// inserts with a unique key per attempt, transactions and statements
// with a short deadline, while a controller in this program terminates
// a random client backend every ~200 ms and stops and starts the server
// (pg_ctl -m fast and -m immediate, alternately) several times.
//
// It prints a summary: operations by outcome, hangs (operations past
// their deadline plus a grace with no callback: must be 0), acknowledged
// writes missing from the table (0), writes reported definitely failed
// but present (0), writes of unknown outcome present or absent, how
// long the pool took to be back at minsize after the server returned,
// and the loop's worst timer lag.  Run by scripts/soak.sh under a
// private cluster (`make soak`); never a unit test.
//
//   soak [--seconds N] [--callers N] [--minsize N] [--maxsize N]
//        [--restarts N] [--seed N]
//
// The server is UVPG_DSN's (key=value form).  UVPG_SOAK_PGCTL is a
// shell command that takes "stop fast", "stop immediate" or "start"
// (scripts/soak.sh --pgctl); without it the server is never restarted.
// The cluster is changed: ALTER SYSTEM SET synchronous_commit = on
// (the test cluster has it off, and an immediate stop would then lose
// commits the server acknowledged), and the table soak_writes is made
// anew.
//
// Exit status: 0 pass, 1 a hang, an acknowledged write missing or a
// definitely failed write present, 2 usage or setup failure.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "uvpg.hh"

namespace {

using std::chrono::milliseconds;

uint64_t now_ms() { return uv_hrtime() / 1000000; }

struct config {
  int seconds = 60;
  int callers = 32;
  size_t minsize = 4;
  size_t maxsize = 8;
  int restarts = -1; // -1: seconds / 15, between 2 and 10
  uint64_t seed = 0;
  // The deadline of reads, inserts, each statement of a transaction and
  // of the pool's acquire.
  uint64_t op_timeout_ms = 2000;
  // The deadline of the timed statements (pg_sleep of 0 to 300 ms).
  uint64_t timed_timeout_ms = 150;
  // Past its deadline plus this, an operation without a callback hangs.
  uint64_t grace_ms = 2000;
  std::string dsn;
  std::string pgctl;
};

enum class kind { read, insert, tx, timed_select, timed_insert, count };
constexpr const char *kind_names[] = {"read", "insert", "transaction",
                                      "timed select", "timed insert"};
constexpr int n_kinds = static_cast<int>(kind::count);

enum class outcome { ok, failed, unknown, count };
constexpr int n_outcomes = static_cast<int>(outcome::count);

// An operation between its call and its callback.
struct op_rec {
  kind k;
  uint64_t start_ms;
  uint64_t deadline_ms;
  bool hung = false;
  int64_t key = 0;
};

// What the program was told about the write of one key.
struct key_rec {
  kind k;
  bool done = false;
  outcome o = outcome::unknown;
  bool before_commit = false; // a transaction that failed before COMMIT
};

struct restart_rec {
  std::string mode;
  uint64_t stop_ms = 0;    // pg_ctl stop took
  uint64_t down_ms = 0;    // from the stop's end to the start's call
  uint64_t up_ms = 0;      // from the start's call to a probe connecting
  int64_t back_ms = -1;    // from the probe connecting to the pool at minsize
  int stop_rc = 0, start_rc = 0;
};

struct error_bucket {
  uint64_t n = 0;
  std::string first;
};

struct soak {
  uv_loop_t *loop = nullptr;
  config cfg;
  std::string pool_dsn, admin_dsn;
  uvpg::pool pool;
  bool stopping = false;
  uint64_t t0 = 0;

  uint64_t next_op = 0;
  std::unordered_map<uint64_t, op_rec> outstanding;
  std::unordered_map<int64_t, key_rec> keys;
  uint64_t counts[n_kinds][n_outcomes] = {};
  uint64_t tx_failed_before_commit = 0;
  std::map<std::string, error_bucket> errors;
  uint64_t hangs = 0, late_callbacks = 0, unmatched_callbacks = 0;
  uint64_t wrong_answers = 0, ryw_missing = 0;
  std::vector<int64_t> last_acked; // per caller
  int callers_running = 0;

  // The loop's timer lag.
  uv_timer_t lag_timer{};
  uint64_t lag_prev_ns = 0, lag_max_ns = 0, lag_over_50ms = 0;
  uint64_t lag_max_at_ms = 0;        // since t0
  bool lag_max_in_restart = false;   // while the controller restarted
  uint64_t lag_over_50ms_restart = 0;
  uv_timer_t watchdog{};

  // The controller.
  bool restarting = false;
  int aux_running = 0;
  uint64_t kills_sent = 0, kills_hit = 0, kill_errors = 0;
  std::vector<restart_rec> restarts;
  std::string controller_error;
};

// ---- small helpers ----

uvpg::future<void> sleep_ms(uv_loop_t *loop, uint64_t ms) {
  struct timer {
    uv_timer_t t;
    uvpg::promise<void> p;
    explicit timer(uv_loop_t *l) : p(l) {}
  };
  auto *t = new timer(loop);
  auto f = t->p.get_future();
  uv_timer_init(loop, &t->t);
  t->t.data = t;
  uv_timer_start(
      &t->t,
      [](uv_timer_t *h) {
        auto *t = static_cast<timer *>(h->data);
        uv_close(reinterpret_cast<uv_handle_t *>(h), [](uv_handle_t *h) {
          delete static_cast<timer *>(h->data);
        });
        t->p.set_value();
      },
      ms, 0);
  return f;
}

// Runs `/bin/sh -c cmd` (pg_ctl, through scripts/soak.sh) and resolves
// with its exit status (128 + N for signal N).
uvpg::future<int> spawn_sh(uv_loop_t *loop, std::string cmd) {
  struct proc {
    uv_process_t h;
    uvpg::promise<int> p;
    explicit proc(uv_loop_t *l) : p(l) {}
  };
  auto *pr = new proc(loop);
  auto f = pr->p.get_future();
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char *args[] = {sh, dash_c, cmd.data(), nullptr};
  uv_stdio_container_t io[3];
  for (int i = 0; i < 3; ++i) {
    io[i].flags = UV_INHERIT_FD;
    io[i].data.fd = i;
  }
  uv_process_options_t o{};
  o.file = sh;
  o.args = args;
  o.stdio = io;
  o.stdio_count = 3;
  o.exit_cb = [](uv_process_t *h, int64_t status, int sig) {
    auto *pr = static_cast<proc *>(h->data);
    uv_close(reinterpret_cast<uv_handle_t *>(h), [](uv_handle_t *h) {
      delete static_cast<proc *>(h->data);
    });
    pr->p.set_value(sig ? 128 + sig : static_cast<int>(status));
  };
  pr->h.data = pr;
  if (int rc = uv_spawn(loop, &pr->h, &o); rc < 0) {
    std::fprintf(stderr, "soak: cannot run %s: %s\n", cmd.c_str(),
                 uv_strerror(rc));
    uv_close(reinterpret_cast<uv_handle_t *>(&pr->h), [](uv_handle_t *h) {
      delete static_cast<proc *>(h->data);
    });
    pr->p.set_value(127);
  }
  return f;
}

std::string with_application_name(const std::string &dsn,
                                  const char *name) {
  if (dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0) {
    return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") +
           "application_name=" + name;
  }
  return dsn + (dsn.empty() ? "" : " ") + "application_name=" + name;
}

// ---- outcomes ----

std::string bucket_of(const uvpg::error &e) {
  if (auto *se = dynamic_cast<const uvpg::server_error *>(&e)) {
    return "SQLSTATE " + se->sqlstate() +
           (e.status() == UVPG_ECONNBAD ? " (session ended)" : "");
  }
  if (dynamic_cast<const uvpg::timed_out *>(&e)) {
    return "timed_out";
  }
  if (dynamic_cast<const uvpg::connection_lost *>(&e)) {
    return "connection_lost";
  }
  if (dynamic_cast<const uvpg::connection_closed *>(&e)) {
    return "connection_closed";
  }
  if (dynamic_cast<const uvpg::operation_canceled *>(&e)) {
    return "operation_canceled";
  }
  if (dynamic_cast<const uvpg::pool_exhausted *>(&e)) {
    return "pool_exhausted";
  }
  return "uvpg::error status " + std::to_string(e.status());
}

// Counts `err` and tells whether the outcome is unknown.
outcome classify(soak &s, const std::exception_ptr &err) {
  if (!err) {
    return outcome::ok;
  }
  std::string bucket, what;
  outcome o = outcome::failed;
  try {
    std::rethrow_exception(err);
  } catch (const uvpg::error &e) {
    bucket = bucket_of(e);
    what = e.what();
    o = e.outcome_unknown() ? outcome::unknown : outcome::failed;
  } catch (const std::exception &e) {
    bucket = std::string("not a uvpg::error: ") + e.what();
    what = e.what();
  } catch (...) {
    bucket = "not a std::exception";
  }
  bucket += o == outcome::unknown ? " [unknown]" : " [failed]";
  auto &b = s.errors[bucket];
  if (b.n++ == 0) {
    b.first = what;
  }
  return o;
}

uint64_t begin_op(soak &s, kind k, uint64_t budget_ms, int64_t key = 0) {
  uint64_t id = ++s.next_op;
  uint64_t now = now_ms();
  s.outstanding.emplace(id, op_rec{k, now, now + budget_ms, false, key});
  return id;
}

outcome end_op(soak &s, uint64_t id, const std::exception_ptr &err) {
  auto it = s.outstanding.find(id);
  if (it == s.outstanding.end()) {
    ++s.unmatched_callbacks; // a second callback: cannot happen
    return classify(s, err);
  }
  kind k = it->second.k;
  if (it->second.hung) {
    ++s.late_callbacks;
    std::fprintf(stderr, "soak: a hung %s got its callback %llu ms late\n",
                 kind_names[static_cast<int>(k)],
                 static_cast<unsigned long long>(now_ms() -
                                                 it->second.deadline_ms));
  }
  s.outstanding.erase(it);
  outcome o = classify(s, err);
  ++s.counts[static_cast<int>(k)][static_cast<int>(o)];
  return o;
}

void set_key(soak &s, int64_t key, outcome o) {
  auto &r = s.keys[key];
  r.done = true;
  r.o = o;
}

// ---- the callers' operations ----

uvpg::query_options timeout_opts(uint64_t ms) {
  uvpg::query_options qo;
  qo.timeout = milliseconds(ms);
  return qo;
}

// A read: the caller's last acknowledged key must be visible (1 row),
// or, before it has one, a count of its rows.
uvpg::future<void> op_read(soak *s, int caller) {
  int64_t key = s->last_acked[static_cast<size_t>(caller)];
  uint64_t id = begin_op(*s, kind::read, s->cfg.op_timeout_ms);
  std::exception_ptr err;
  try {
    uvpg::params p{key ? uvpg::param(key) : uvpg::param(caller)};
    uvpg::result r = co_await s->pool.query(
        key ? "SELECT count(*) FROM soak_writes WHERE k = $1"
            : "SELECT count(*) FROM soak_writes WHERE caller = $1",
        std::move(p), timeout_opts(s->cfg.op_timeout_ms));
    auto n = r.field(0, 0).as<int64_t>();
    if (key && n != 1) {
      ++s->ryw_missing;
      std::fprintf(stderr,
                   "soak: acknowledged key %lld not visible to a read\n",
                   static_cast<long long>(key));
    }
  } catch (...) {
    err = std::current_exception();
  }
  end_op(*s, id, err);
}

uvpg::future<void> op_insert(soak *s, int caller, int64_t key) {
  s->keys[key] = key_rec{kind::insert};
  uint64_t id = begin_op(*s, kind::insert, s->cfg.op_timeout_ms, key);
  std::exception_ptr err;
  try {
    uvpg::params p{uvpg::param(key), uvpg::param(caller)};
    uvpg::result r = co_await s->pool.query(
        "INSERT INTO soak_writes (k, caller, kind) VALUES ($1, $2, 'insert')",
        std::move(p), timeout_opts(s->cfg.op_timeout_ms));
    if (r.command_status() != "INSERT 0 1") {
      ++s->wrong_answers;
    }
  } catch (...) {
    err = std::current_exception();
  }
  outcome o = end_op(*s, id, err);
  set_key(*s, key, o);
  if (o == outcome::ok) {
    s->last_acked[static_cast<size_t>(caller)] = key;
  }
}

// pg_sleep of 0 to 300 ms under a 150 ms deadline; with `key`, the
// statement also inserts it.
uvpg::future<void> op_timed(soak *s, int caller, int64_t key, double sleep_s) {
  kind k = key ? kind::timed_insert : kind::timed_select;
  if (key) {
    s->keys[key] = key_rec{k};
  }
  uint64_t id = begin_op(*s, k, s->cfg.timed_timeout_ms, key);
  std::exception_ptr err;
  try {
    if (key) {
      uvpg::params p{uvpg::param(key), uvpg::param(caller),
                     uvpg::param(sleep_s)};
      uvpg::result r = co_await s->pool.query(
          "INSERT INTO soak_writes (k, caller, kind) "
          "SELECT $1, $2, 'timed' FROM pg_sleep($3)",
          std::move(p), timeout_opts(s->cfg.timed_timeout_ms));
      if (r.command_status() != "INSERT 0 1") {
        ++s->wrong_answers;
      }
    } else {
      uvpg::params p{uvpg::param(sleep_s)};
      co_await s->pool.query("SELECT pg_sleep($1)", std::move(p),
                             timeout_opts(s->cfg.timed_timeout_ms));
    }
  } catch (...) {
    err = std::current_exception();
  }
  outcome o = end_op(*s, id, err);
  if (key) {
    set_key(*s, key, o);
    if (o == outcome::ok) {
      s->last_acked[static_cast<size_t>(caller)] = key;
    }
  }
}

// BEGIN, two inserts, COMMIT on a connection of the pool.  A failure
// before the COMMIT was sent is a definite failure whatever its cause
// (the transaction cannot have committed); a COMMIT that fails is
// classified as any statement.
uvpg::future<void> op_tx(soak *s, int caller, int64_t k1, int64_t k2) {
  s->keys[k1] = key_rec{kind::tx};
  s->keys[k2] = key_rec{kind::tx};
  uint64_t t = s->cfg.op_timeout_ms;
  // acquire, BEGIN, 2 inserts, COMMIT: BEGIN and COMMIT take no deadline
  // of their own (the transaction API has none), each is given one.
  uint64_t id = begin_op(*s, kind::tx, 5 * t, k1);
  std::exception_ptr err;
  bool commit_sent = false;
  try {
    uvpg::connection c = co_await s->pool.acquire(milliseconds(t));
    uvpg::transaction tx = co_await uvpg::transaction::begin(c);
    uvpg::params p1{uvpg::param(k1), uvpg::param(caller)};
    co_await c.query(
        "INSERT INTO soak_writes (k, caller, kind) VALUES ($1, $2, 'tx')",
        std::move(p1), timeout_opts(t));
    uvpg::params p2{uvpg::param(k2), uvpg::param(caller)};
    co_await c.query(
        "INSERT INTO soak_writes (k, caller, kind) VALUES ($1, $2, 'tx')",
        std::move(p2), timeout_opts(t));
    commit_sent = true;
    co_await tx.commit();
  } catch (...) {
    err = std::current_exception();
  }
  outcome o;
  if (err && !commit_sent) {
    // Counted as failed, its error in its bucket.
    auto it = s->outstanding.find(id);
    if (it != s->outstanding.end() && it->second.hung) {
      ++s->late_callbacks;
    }
    s->outstanding.erase(id);
    (void)classify(*s, err);
    ++s->counts[static_cast<int>(kind::tx)][static_cast<int>(outcome::failed)];
    ++s->tx_failed_before_commit;
    o = outcome::failed;
    s->keys[k1].before_commit = s->keys[k2].before_commit = true;
  } else {
    o = end_op(*s, id, err);
  }
  set_key(*s, k1, o);
  set_key(*s, k2, o);
  if (o == outcome::ok) {
    s->last_acked[static_cast<size_t>(caller)] = k2;
  }
}

uvpg::future<void> caller(soak *s, int id) {
  std::mt19937_64 rng(s->cfg.seed * 1000 + static_cast<uint64_t>(id));
  int64_t attempt = 0;
  auto next_key = [&] {
    return static_cast<int64_t>(id + 1) * 1000000000LL + ++attempt;
  };
  while (!s->stopping) {
    unsigned r = static_cast<unsigned>(rng() % 100);
    double sleep_s = static_cast<double>(rng() % 301) / 1000.0;
    if (r < 35) {
      co_await op_read(s, id);
    } else if (r < 65) {
      co_await op_insert(s, id, next_key());
    } else if (r < 80) {
      int64_t k1 = next_key();
      int64_t k2 = next_key();
      co_await op_tx(s, id, k1, k2);
    } else if (r < 90) {
      co_await op_timed(s, id, 0, sleep_s);
    } else {
      co_await op_timed(s, id, next_key(), sleep_s);
    }
    // A little think time, so that 32 callers do not take all the CPU
    // the server needs.
    co_await sleep_ms(s->loop, 1 + rng() % 5);
  }
  --s->callers_running;
}

// ---- the controller ----

// Terminates a random client backend of the pool every ~200 ms (150 to
// 250), from an admin connection of its own, except during a restart.
uvpg::future<void> killer(soak *s) {
  std::mt19937_64 rng(s->cfg.seed * 7 + 1);
  uvpg::connection admin;
  uvpg::connect_options co;
  co.timeout = milliseconds(1000);
  while (!s->stopping) {
    co_await sleep_ms(s->loop, 150 + rng() % 101);
    if (s->stopping || s->restarting) {
      continue;
    }
    std::exception_ptr err;
    try {
      if (admin.closed()) {
        admin = co_await uvpg::connection::connect(s->loop, s->admin_dsn, co);
      }
      uvpg::params none;
      uvpg::result r = co_await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
          "WHERE application_name = 'uvpg-soak' "
          "AND backend_type = 'client backend' "
          "ORDER BY random() LIMIT 1",
          std::move(none), timeout_opts(1000));
      ++s->kills_sent;
      if (r.rows() == 1 && r.field(0, 0).as<bool>()) {
        ++s->kills_hit;
      }
    } catch (...) {
      err = std::current_exception();
    }
    if (err) {
      ++s->kill_errors;
      admin = uvpg::connection();
    }
  }
  admin = uvpg::connection();
  --s->aux_running;
}

// Stops the server (fast and immediate in turn), leaves it down 0.3 to
// 1.5 s, starts it, and measures the time from a probe connecting to the
// pool being back at minsize.
uvpg::future<void> restarter(soak *s, int n) {
  std::mt19937_64 rng(s->cfg.seed * 13 + 5);
  uint64_t span = static_cast<uint64_t>(s->cfg.seconds) * 1000;
  uvpg::connect_options co;
  co.timeout = milliseconds(500);
  for (int i = 0; i < n && !s->stopping; ++i) {
    uint64_t at = s->t0 + span * static_cast<uint64_t>(i + 1) /
                              static_cast<uint64_t>(n + 1);
    while (!s->stopping && now_ms() < at) {
      co_await sleep_ms(s->loop, std::min<uint64_t>(at - now_ms(), 200));
    }
    if (s->stopping) {
      break;
    }
    restart_rec rec;
    rec.mode = i % 2 == 0 ? "fast" : "immediate";
    s->restarting = true;
    uint64_t t = now_ms();
    rec.stop_rc = co_await spawn_sh(s->loop, s->cfg.pgctl + " stop " + rec.mode);
    rec.stop_ms = now_ms() - t;
    uint64_t down = 300 + rng() % 1201;
    co_await sleep_ms(s->loop, down);
    uint64_t opened_at = s->pool.stats().opened;
    uint64_t t_start = now_ms();
    rec.down_ms = t_start - t - rec.stop_ms;
    auto started = spawn_sh(s->loop, s->cfg.pgctl + " start");
    uint64_t t_up = 0;
    while (now_ms() - t_start < 60000) {
      uint64_t t_try = now_ms();
      bool up = false;
      try {
        uvpg::connection c =
            co_await uvpg::connection::connect(s->loop, s->admin_dsn, co);
        up = true;
        t_up = now_ms();
        co_await c.close();
      } catch (...) {
      }
      if (up) {
        break;
      }
      uint64_t spent = now_ms() - t_try;
      if (spent < 20) {
        co_await sleep_ms(s->loop, 20 - spent);
      }
    }
    rec.start_rc = co_await std::move(started);
    if (rec.stop_rc != 0 || rec.start_rc != 0 || !t_up) {
      s->controller_error = "restart " + std::to_string(i + 1) +
                            ": pg_ctl stop " + std::to_string(rec.stop_rc) +
                            ", start " + std::to_string(rec.start_rc) +
                            (t_up ? "" : ", no probe connected in 60 s");
      s->restarts.push_back(rec);
      s->restarting = false;
      break;
    }
    rec.up_ms = t_up - t_start;
    // Back at minsize: that many connections opened since the server
    // went down, and open now.
    for (;;) {
      uvpg::pool_stats st = s->pool.stats();
      if (st.size >= s->cfg.minsize && st.opened - opened_at >= s->cfg.minsize) {
        rec.back_ms = static_cast<int64_t>(now_ms() - t_up);
        break;
      }
      if (now_ms() - t_up > 30000) {
        break; // back_ms stays -1: not back in 30 s
      }
      co_await sleep_ms(s->loop, 2);
    }
    std::fprintf(stderr,
                 "soak: restart %d (%s): stop %llu ms, down %llu ms, "
                 "up %llu ms after pg_ctl start, pool at minsize %lld ms "
                 "later\n",
                 i + 1, rec.mode.c_str(),
                 static_cast<unsigned long long>(rec.stop_ms),
                 static_cast<unsigned long long>(rec.down_ms),
                 static_cast<unsigned long long>(rec.up_ms),
                 static_cast<long long>(rec.back_ms));
    s->restarts.push_back(rec);
    s->restarting = false;
  }
  --s->aux_running;
}

// ---- the watchdog and the loop's lag ----

void watchdog_cb(uv_timer_t *t) {
  auto *s = static_cast<soak *>(t->data);
  uint64_t now = now_ms();
  for (auto &[id, op] : s->outstanding) {
    if (!op.hung && now > op.deadline_ms + s->cfg.grace_ms) {
      op.hung = true;
      ++s->hangs;
      std::fprintf(stderr,
                   "soak: HANG: %s (op %llu, key %lld) has had no callback "
                   "%llu ms after its deadline\n",
                   kind_names[static_cast<int>(op.k)],
                   static_cast<unsigned long long>(id),
                   static_cast<long long>(op.key),
                   static_cast<unsigned long long>(now - op.deadline_ms));
    }
  }
}

void lag_cb(uv_timer_t *t) {
  auto *s = static_cast<soak *>(t->data);
  uint64_t now = uv_hrtime();
  if (s->lag_prev_ns) {
    uint64_t interval = now - s->lag_prev_ns;
    uint64_t lag = interval > 10000000 ? interval - 10000000 : 0;
    if (lag > s->lag_max_ns) {
      s->lag_max_ns = lag;
      s->lag_max_at_ms = now / 1000000 - s->t0;
      s->lag_max_in_restart = s->restarting;
    }
    if (lag > 50000000) {
      ++s->lag_over_50ms;
      s->lag_over_50ms_restart += s->restarting;
    }
  }
  s->lag_prev_ns = now;
}

// ---- setup, verification, summary ----

uvpg::future<void> setup(soak *s) {
  uvpg::connect_options co;
  co.timeout = milliseconds(10000);
  uvpg::connection c =
      co_await uvpg::connection::connect(s->loop, s->admin_dsn, co);
  co_await c.query("ALTER SYSTEM SET synchronous_commit = on");
  co_await c.query("SELECT pg_reload_conf()");
  co_await c.query("DROP TABLE IF EXISTS soak_writes");
  co_await c.query("CREATE TABLE soak_writes (k bigint PRIMARY KEY, "
                   "caller int NOT NULL, kind text NOT NULL)");
  co_await c.query("CREATE INDEX ON soak_writes (caller)");
  co_await c.close();
}

struct verdict {
  uint64_t acked = 0, failed = 0, unknown = 0, pending = 0;
  uint64_t acked_missing = 0, failed_present = 0;
  uint64_t unknown_present = 0, unknown_absent = 0;
  uint64_t stray = 0; // rows of keys never written
  uint64_t rows = 0;
};

uvpg::future<verdict> verify(soak *s) {
  uvpg::connect_options co;
  co.timeout = milliseconds(5000);
  std::optional<uvpg::result> rows;
  for (int attempt = 0; attempt < 10 && !rows; ++attempt) {
    bool ok = false;
    try {
      uvpg::connection c =
          co_await uvpg::connection::connect(s->loop, s->admin_dsn, co);
      rows = co_await c.query("SELECT k FROM soak_writes");
      co_await c.close();
      ok = true;
    } catch (const std::exception &e) {
      std::fprintf(stderr, "soak: verification: %s\n", e.what());
    }
    if (!ok) {
      co_await sleep_ms(s->loop, 1000);
    }
  }
  if (!rows) {
    throw std::runtime_error("could not read soak_writes");
  }
  verdict v;
  std::unordered_set<int64_t> present;
  present.reserve(static_cast<size_t>(rows->rows()));
  for (int i = 0; i < rows->rows(); ++i) {
    present.insert(rows->field(i, 0).as<int64_t>());
  }
  v.rows = present.size();
  int reported = 0;
  for (auto &[k, r] : s->keys) {
    bool here = present.count(k) > 0;
    if (!r.done) {
      ++v.pending;
      continue;
    }
    switch (r.o) {
    case outcome::ok:
      ++v.acked;
      if (!here) {
        ++v.acked_missing;
        if (reported++ < 20) {
          std::fprintf(stderr, "soak: LOST: acknowledged %s key %lld absent\n",
                       kind_names[static_cast<int>(r.k)],
                       static_cast<long long>(k));
        }
      }
      break;
    case outcome::failed:
      ++v.failed;
      if (here) {
        ++v.failed_present;
        if (reported++ < 20) {
          std::fprintf(stderr,
                       "soak: WRONG: %s key %lld reported failed%s, present\n",
                       kind_names[static_cast<int>(r.k)],
                       static_cast<long long>(k),
                       r.before_commit ? " before COMMIT" : "");
        }
      }
      break;
    default:
      ++v.unknown;
      ++(here ? v.unknown_present : v.unknown_absent);
      break;
    }
  }
  for (int64_t k : present) {
    if (!s->keys.count(k)) {
      ++v.stray;
    }
  }
  co_return v;
}

double load_average() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : -1;
}

void print_summary(soak &s, const verdict &v, int rc, uint64_t elapsed_ms,
                   const uvpg::pool_stats &ps) {
  std::printf("\n==== soak summary: %.0f s, %d callers, pool minsize %zu "
              "maxsize %zu, seed %llu, uvpg %s\n",
              static_cast<double>(elapsed_ms) / 1000.0, s.cfg.callers,
              s.cfg.minsize, s.cfg.maxsize,
              static_cast<unsigned long long>(s.cfg.seed),
              UVPG_VERSION_STRING);
  std::printf("operations by outcome        ok     failed    unknown\n");
  uint64_t tot[n_outcomes] = {};
  for (int k = 0; k < n_kinds; ++k) {
    std::printf("  %-16s %12llu %10llu %10llu\n", kind_names[k],
                static_cast<unsigned long long>(s.counts[k][0]),
                static_cast<unsigned long long>(s.counts[k][1]),
                static_cast<unsigned long long>(s.counts[k][2]));
    for (int o = 0; o < n_outcomes; ++o) {
      tot[o] += s.counts[k][o];
    }
  }
  std::printf("  %-16s %12llu %10llu %10llu\n", "total",
              static_cast<unsigned long long>(tot[0]),
              static_cast<unsigned long long>(tot[1]),
              static_cast<unsigned long long>(tot[2]));
  std::printf("  (transactions failed before COMMIT, counted failed: %llu)\n",
              static_cast<unsigned long long>(s.tx_failed_before_commit));
  std::printf("errors by kind [classification]:\n");
  for (auto &[name, b] : s.errors) {
    std::printf("  %8llu  %s  (first: %.100s)\n",
                static_cast<unsigned long long>(b.n), name.c_str(),
                b.first.c_str());
  }
  std::printf("controller: %llu backends terminated (%llu kill queries, "
              "%llu failed), %zu restarts\n",
              static_cast<unsigned long long>(s.kills_hit),
              static_cast<unsigned long long>(s.kills_sent),
              static_cast<unsigned long long>(s.kill_errors),
              s.restarts.size());
  int64_t back_max = -1;
  bool back_all = true;
  for (size_t i = 0; i < s.restarts.size(); ++i) {
    const restart_rec &r = s.restarts[i];
    std::printf("  restart %zu: -m %-9s stop %5llu ms, down %5llu ms, up "
                "%5llu ms after start, pool at minsize %5lld ms after\n",
                i + 1, r.mode.c_str(),
                static_cast<unsigned long long>(r.stop_ms),
                static_cast<unsigned long long>(r.down_ms),
                static_cast<unsigned long long>(r.up_ms),
                static_cast<long long>(r.back_ms));
    if (r.back_ms < 0) {
      back_all = false;
    }
    back_max = std::max(back_max, r.back_ms);
  }
  if (!s.controller_error.empty()) {
    std::printf("  controller error: %s\n", s.controller_error.c_str());
  }
  std::printf("pool back at minsize after the server's return: max %lld ms "
              "(%s)\n",
              static_cast<long long>(back_max),
              s.restarts.empty() ? "no restart"
              : !back_all        ? "NOT BACK within 30 s"
              : back_max <= 1000 ? "within 1 s"
                                 : "OVER 1 s");
  std::printf("pool stats: opened %llu, connects failed %llu, lost %llu, "
              "acquire timeouts %llu, size at end %zu\n",
              static_cast<unsigned long long>(ps.opened),
              static_cast<unsigned long long>(ps.failed),
              static_cast<unsigned long long>(ps.lost),
              static_cast<unsigned long long>(ps.timeouts), ps.size);
  std::printf("loop: worst timer lag %.1f ms at %.1f s%s (10 ms timer; lags "
              "over 50 ms: %llu, %llu of them during restarts)\n",
              static_cast<double>(s.lag_max_ns) / 1e6,
              static_cast<double>(s.lag_max_at_ms) / 1000.0,
              s.lag_max_in_restart ? ", during a restart" : "",
              static_cast<unsigned long long>(s.lag_over_50ms),
              static_cast<unsigned long long>(s.lag_over_50ms_restart));
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
                   1e6;
  std::printf("loop: %.1f s of CPU (user + system) in %.1f s, load average "
              "%.1f at the end\n",
              cpu, static_cast<double>(elapsed_ms) / 1000.0, load_average());
  std::printf("hangs (no callback by deadline + %llu ms): %llu  (late "
              "callbacks %llu, still none at exit %zu)\n",
              static_cast<unsigned long long>(s.cfg.grace_ms),
              static_cast<unsigned long long>(s.hangs),
              static_cast<unsigned long long>(s.late_callbacks),
              s.outstanding.size());
  std::printf("extra callbacks: %llu, wrong command tags: %llu, "
              "acknowledged keys not seen by a later read: %llu\n",
              static_cast<unsigned long long>(s.unmatched_callbacks),
              static_cast<unsigned long long>(s.wrong_answers),
              static_cast<unsigned long long>(s.ryw_missing));
  std::printf("writes: %zu keys: acknowledged %llu, failed %llu, unknown "
              "%llu, no answer %llu; %llu rows in the table, %llu of no "
              "key written\n",
              s.keys.size(), static_cast<unsigned long long>(v.acked),
              static_cast<unsigned long long>(v.failed),
              static_cast<unsigned long long>(v.unknown),
              static_cast<unsigned long long>(v.pending),
              static_cast<unsigned long long>(v.rows),
              static_cast<unsigned long long>(v.stray));
  std::printf("acknowledged writes missing: %llu\n",
              static_cast<unsigned long long>(v.acked_missing));
  std::printf("writes reported failed but present: %llu\n",
              static_cast<unsigned long long>(v.failed_present));
  std::printf("writes of unknown outcome: present %llu, absent %llu\n",
              static_cast<unsigned long long>(v.unknown_present),
              static_cast<unsigned long long>(v.unknown_absent));
  std::printf("soak: %s\n", rc == 0 ? "PASS" : "FAIL");
  std::fflush(stdout);
}

uvpg::future<int> run(soak *s) {
  try {
    co_await setup(s);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "soak: setup failed: %s\n", e.what());
    co_return 2;
  }
  uvpg::pool_options po;
  po.minsize = s->cfg.minsize;
  po.maxsize = s->cfg.maxsize;
  po.timeout = milliseconds(s->cfg.op_timeout_ms);
  po.connect.timeout = milliseconds(s->cfg.op_timeout_ms);
  s->pool = uvpg::pool::create(s->loop, s->pool_dsn, po);
  for (int i = 0; i < 500 && s->pool.size() < s->cfg.minsize; ++i) {
    co_await sleep_ms(s->loop, 20);
  }
  if (s->pool.size() < s->cfg.minsize) {
    std::fprintf(stderr, "soak: the pool did not fill in 10 s\n");
    co_return 2;
  }

  uv_timer_init(s->loop, &s->lag_timer);
  s->lag_timer.data = s;
  uv_timer_start(&s->lag_timer, lag_cb, 10, 10);
  uv_timer_init(s->loop, &s->watchdog);
  s->watchdog.data = s;
  uv_timer_start(&s->watchdog, watchdog_cb, 100, 100);

  s->t0 = now_ms();
  int n_restarts = s->cfg.restarts >= 0
                       ? s->cfg.restarts
                       : std::clamp(s->cfg.seconds / 15, 2, 10);
  if (s->cfg.pgctl.empty()) {
    std::fprintf(stderr, "soak: UVPG_SOAK_PGCTL unset: no restarts\n");
    n_restarts = 0;
  }
  std::vector<uvpg::future<void>> tasks;
  s->last_acked.assign(static_cast<size_t>(s->cfg.callers), 0);
  s->callers_running = s->cfg.callers;
  for (int i = 0; i < s->cfg.callers; ++i) {
    tasks.push_back(caller(s, i));
  }
  s->aux_running = 2;
  tasks.push_back(killer(s));
  tasks.push_back(restarter(s, n_restarts));

  co_await sleep_ms(s->loop, static_cast<uint64_t>(s->cfg.seconds) * 1000);
  s->stopping = true;
  // Every operation has its deadline (the longest: a transaction's
  // 5 x op_timeout); a restart under way ends within its own bounds.
  uint64_t drain_until =
      now_ms() + 5 * s->cfg.op_timeout_ms + s->cfg.grace_ms + 1000;
  while ((s->callers_running > 0 && now_ms() < drain_until) ||
         (s->aux_running > 0 && now_ms() < drain_until + 90000)) {
    co_await sleep_ms(s->loop, 20);
  }
  uint64_t elapsed = now_ms() - s->t0;
  watchdog_cb(&s->watchdog); // the last look
  uv_timer_stop(&s->watchdog);
  uv_timer_stop(&s->lag_timer);

  uvpg::pool_stats ps = s->pool.stats();
  bool clean = s->outstanding.empty() && s->callers_running == 0 &&
               s->aux_running == 0;
  if (clean) {
    tasks.clear();
    auto closed = s->pool.close();
    for (int i = 0; i < 500 && !closed.available(); ++i) {
      co_await sleep_ms(s->loop, 20);
    }
    if (!closed.available()) {
      std::fprintf(stderr, "soak: pool close did not end in 10 s\n");
      ++s->hangs;
    }
  }

  verdict v;
  try {
    v = co_await verify(s);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "soak: verification failed: %s\n", e.what());
    co_return 2;
  }
  int rc = s->hangs > 0 || !s->outstanding.empty() || v.acked_missing > 0 ||
                   v.failed_present > 0 || s->ryw_missing > 0 ||
                   s->unmatched_callbacks > 0
               ? 1
               : 0;
  print_summary(*s, v, rc, elapsed, ps);
  if (!s->controller_error.empty() && rc == 0) {
    rc = 2;
  }
  if (!clean) {
    // Frames of hung operations still wait: no orderly shutdown.
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(rc);
  }
  co_return rc;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: soak [--seconds N] [--callers N] [--minsize N] "
               "[--maxsize N] [--restarts N] [--seed N]\n");
  std::exit(2);
}

} // namespace

int main(int argc, char **argv) {
  auto *s = new soak;
  s->cfg.seed = static_cast<uint64_t>(std::random_device{}());
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) {
      usage();
    }
    long long v = std::atoll(argv[++i]);
    if (a == "--seconds") {
      s->cfg.seconds = static_cast<int>(v);
    } else if (a == "--callers") {
      s->cfg.callers = static_cast<int>(v);
    } else if (a == "--minsize") {
      s->cfg.minsize = static_cast<size_t>(v);
    } else if (a == "--maxsize") {
      s->cfg.maxsize = static_cast<size_t>(v);
    } else if (a == "--restarts") {
      s->cfg.restarts = static_cast<int>(v);
    } else if (a == "--seed") {
      s->cfg.seed = static_cast<uint64_t>(v);
    } else {
      usage();
    }
  }
  if (s->cfg.seconds <= 0 || s->cfg.callers <= 0 || s->cfg.minsize == 0 ||
      s->cfg.maxsize < s->cfg.minsize) {
    usage();
  }
  if (const char *d = std::getenv("UVPG_DSN")) {
    s->cfg.dsn = d;
  }
  if (const char *p = std::getenv("UVPG_SOAK_PGCTL")) {
    s->cfg.pgctl = p;
  }
  s->pool_dsn = with_application_name(s->cfg.dsn, "uvpg-soak");
  s->admin_dsn = with_application_name(s->cfg.dsn, "uvpg-soak-admin");

  uv_loop_t loop;
  uv_loop_init(&loop);
  s->loop = &loop;
  uvpg::future<int> f = run(s);
  while (!f.available()) {
    if (uv_run(&loop, UV_RUN_ONCE) == 0 && !f.available()) {
      std::fprintf(stderr, "soak: the loop ran out of work\n");
      return 2;
    }
  }
  int rc = 2;
  try {
    rc = f.get();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "soak: %s\n", e.what());
  }
  s->pool = uvpg::pool();
  for (uv_timer_t *t : {&s->lag_timer, &s->watchdog}) {
    if (t->data) {
      uv_close(reinterpret_cast<uv_handle_t *>(t), nullptr);
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) {
    std::fprintf(stderr, "soak: handles left open on the loop\n");
  }
  delete s;
  return rc;
}
