// The connection pool (uvpg/pool.hh): slots, waiters, the reset on
// release, refill with backoff, and the C++ handle.  See pool.hh for the
// slot phases and the rule that waiters are served only from serve().
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>

#include "pool.hh"
#include "session_state.hh"
#include "sql.hh"
#include "transaction.hh"

namespace uvpg::detail {

using phase = pool_slot::phase;

namespace {

uint64_t now_ms(uv_loop_t *loop) {
  uv_update_time(loop);
  return uv_now(loop);
}

// The pause before connects are tried again while they fail.  The cap
// keeps the pool back at minsize within about half a second of the
// server's return (issue 12's soak asks for 1 s).
constexpr uint64_t backoff_min_ms = 100;
constexpr uint64_t backoff_max_ms = 500;

// key='value' in libpq's keyword syntax, after a space when not first.
void add_keyword(std::string &out, const char *key, const std::string &v) {
  if (!out.empty()) {
    out += ' ';
  }
  out += key;
  out += "='";
  for (char ch : v) {
    if (ch == '\\' || ch == '\'') {
      out += '\\';
    }
    out += ch;
  }
  out += '\'';
}

// The host, hostaddr and port lists of `hosts`, starting at `start`.
std::string host_lists(const std::vector<host_spec> &hosts, size_t start) {
  std::string host, addr, port;
  bool any_addr = false, any_port = false;
  for (size_t i = 0; i < hosts.size(); ++i) {
    const host_spec &h = hosts[(start + i) % hosts.size()];
    if (i > 0) {
      host += ',';
      addr += ',';
      port += ',';
    }
    host += h.host;
    addr += h.hostaddr;
    port += h.port;
    any_addr = any_addr || !h.hostaddr.empty();
    any_port = any_port || !h.port.empty();
  }
  std::string out;
  add_keyword(out, "host", host);
  if (any_addr) {
    add_keyword(out, "hostaddr", addr);
  }
  if (any_port) {
    add_keyword(out, "port", port);
  }
  return out;
}

// The full session reset (asyncpg's, with DISCARD TEMP and SEQUENCES):
// the statement cache's prepared statements stay, so no DISCARD ALL.
constexpr const char *full_reset_sql =
    "CLOSE ALL; UNLISTEN *; RESET ALL; SELECT pg_advisory_unlock_all(); "
    "DISCARD TEMP; DISCARD SEQUENCES";

// An internal statement of the pool's; `done(status)` runs from the loop.
struct pool_op final : op {
  std::function<void(int)> done;
  void complete(conn_impl *, int status, PGresult *res) noexcept override {
    PQclear(res);
    done(status);
  }
};

void submit_internal(conn_impl *c, std::string sql, bool alone,
                     std::function<void(int)> done) {
  auto *o = new pool_op;
  o->sql = std::move(sql);
  o->internal = true;
  o->simple = alone;
  o->exclusive = alone;
  o->done = std::move(done);
  c->submit(o);
}

} // namespace

// ---- slots: what the engine tells ----

void pool_slot::give_back(conn_impl *) noexcept { pool->returned(this); }
void pool_slot::connection_lost(conn_impl *) noexcept {
  ++pool->st.lost;
  if (ph == phase::idle) {
    pool->close_slot(this); // known dead: never handed out
  }
  // Lent: its handle gives it back, and it is closed then.  Returning:
  // its reset fails.  Connecting or initializing: that step fails.
  pool->kick();
}
void pool_slot::connection_closing() noexcept { pool->slot_closing(this); }
void pool_slot::connection_freed() noexcept { pool->slot_freed(this); }

pool_impl::pool_impl(uv_loop_t *l, std::string info, const pool_options &o)
    : loop(l), conninfo(std::move(info)), opts(o) {
  // A conninfo naming several hosts: connections per role (pool.hh).
  std::string err;
  std::optional<detail::conninfo> ci = parse_conninfo(conninfo.c_str(), err);
  if (ci && expand_service(*ci, err)) {
    hosts = plan_hosts(*ci, err);
  }
  if (hosts.size() > 1) {
    routed = true;
    std::string base;
    for (const auto &p : ci->params) {
      if (p.key != "host" && p.key != "hostaddr" && p.key != "port" &&
          p.key != "target_session_attrs" && p.key != "service") {
        add_keyword(base, p.key.c_str(), p.value);
      }
    }
    primary_info = base + ' ' + host_lists(hosts, 0) +
                   " target_session_attrs=read-write";
    for (size_t k = 0; k < hosts.size(); ++k) {
      standby_info.push_back(base + ' ' + host_lists(hosts, k) +
                             " target_session_attrs=standby");
    }
  } else {
    hosts.clear();
  }
  for (uv_timer_t *t :
       {&deadline_timer, &maint_timer, &retry_timer, &sb_retry_timer}) {
    uv_timer_init(loop, t);
    t->data = this;
    ++open_handles;
  }
  // Neither the maintenance tick nor the deadline timer (left running
  // past the last deadline, see arm_deadline()) keeps a loop alive on
  // its own: whoever waits has a connection, a connect or the retry
  // timer that does.
  uv_unref(reinterpret_cast<uv_handle_t *>(&maint_timer));
  uv_unref(reinterpret_cast<uv_handle_t *>(&deadline_timer));
  uint64_t tick = 1000;
  if (auto idle_ms = opts.max_inactive_connection_lifetime.count();
      idle_ms > 0) {
    tick = std::clamp<uint64_t>(static_cast<uint64_t>(idle_ms) / 2, 10, 1000);
  }
  uv_timer_start(
      &maint_timer,
      [](uv_timer_t *t) {
        auto *p = static_cast<pool_impl *>(t->data);
        loop_scope scope(p->loop);
        p->maintain();
      },
      tick, tick);
}

void pool_impl::set_phase(pool_slot *s, phase p) noexcept {
  if (s->ph == phase::idle) {
    idle.erase(s->idle_it);
  }
  --counts[static_cast<int>(s->ph)];
  s->ph = p;
  ++counts[static_cast<int>(p)];
  if (p == phase::idle) {
    s->idle_since_ms = now_ms(loop);
    idle.push_front(s);
    s->idle_it = idle.begin();
  }
}

void pool_impl::unref() noexcept {
  if (--refs > 0) {
    return;
  }
  // Last reference: the timers' close callbacks free the pool.
  for (uv_timer_t *t :
       {&deadline_timer, &maint_timer, &retry_timer, &sb_retry_timer}) {
    uv_close(reinterpret_cast<uv_handle_t *>(t), [](uv_handle_t *h) {
      auto *p = static_cast<pool_impl *>(h->data);
      if (--p->open_handles == 0) {
        delete static_cast<uvpg_pool_s *>(p);
      }
    });
  }
}

// ---- waiters ----

std::string pool_impl::timeout_text(std::chrono::milliseconds t,
                                    const pool_waiter *w) const {
  const std::string *err = &last_connect_error;
  const char *what = "connection";
  if (routed && w) {
    if (w->access == pool_access::read_write) {
      what = "primary (read-write server) found";
    } else if (w->access == pool_access::standby_only) {
      what = "standby found";
      err = &sb_last_connect_error;
    } else if (!standby_down) {
      err = &sb_last_connect_error;
    }
  }
  std::string why = std::string("pool: no ") + what + " within " +
                    std::to_string(t.count()) + " ms";
  if (!err->empty()) {
    why += "; the last connect failed: " + *err;
  }
  return why;
}

int pool_impl::wait(pool_waiter *w, std::chrono::milliseconds timeout,
                    std::string &why) {
  w->since_ns = uv_hrtime();
  if (closing) {
    why = "pool: the pool is closed";
    return UVPG_ECLOSED;
  }
  if (opts.max_waiting && waiters.size() >= opts.max_waiting) {
    // Dropped futures still count until serve() passes; count again
    // without them before refusing.
    for (auto it = waiters.begin(); it != waiters.end();) {
      pool_waiter *x = *it++;
      if (x->abandoned()) {
        forget(x);
        delete x;
      }
    }
  }
  if (opts.max_waiting && waiters.size() >= opts.max_waiting) {
    ++st.exhausted;
    why = "pool exhausted: " + std::to_string(waiters.size()) +
          " callers already wait for a connection (max_waiting)";
    return UVPG_EPOOLFULL;
  }
  waiters.push_back(w);
  w->it = std::prev(waiters.end());
  w->queued = true;
  if (timeout.count() > 0) {
    w->deadline_ms = now_ms(loop) + static_cast<uint64_t>(timeout.count());
    w->deadline_it = deadlines.emplace(w->deadline_ms, w);
    arm_deadline();
  }
  kick();
  return 0;
}

void pool_impl::forget(pool_waiter *w) noexcept {
  if (w->queued) {
    waiters.erase(w->it);
    w->queued = false;
  }
  if (w->deadline_ms) {
    deadlines.erase(w->deadline_it);
    w->deadline_ms = 0;
  }
}

void pool_impl::cancel(pool_waiter *w) noexcept {
  w->canceled = true;
  kick();
}

void pool_impl::kick() noexcept {
  if (serve_due) {
    return;
  }
  serve_due = true;
  add_ref();
  defer(loop, [this] {
    loop_scope scope(loop);
    serve_due = false;
    serve();
    unref();
  });
}

void pool_impl::arm_deadline() noexcept {
  if (deadlines.empty()) {
    // A timer left running fires once, finds nothing and stops: cheaper
    // than stopping it for every call that ends before its deadline.
    return;
  }
  uint64_t first = deadlines.begin()->first;
  if (first == armed_for && uv_is_active(reinterpret_cast<uv_handle_t *>(
                                &deadline_timer))) {
    return; // most calls share the pool's timeout: the head is unchanged
  }
  armed_for = first;
  uint64_t now = uv_now(loop);
  uv_timer_start(
      &deadline_timer,
      [](uv_timer_t *t) {
        auto *p = static_cast<pool_impl *>(t->data);
        loop_scope scope(p->loop);
        p->deadline_passed();
      },
      first > now ? first - now : 0, 0);
}

void pool_impl::deadline_passed() noexcept {
  uint64_t now = now_ms(loop);
  add_ref();
  while (!deadlines.empty() && deadlines.begin()->first <= now) {
    pool_waiter *w = deadlines.begin()->second;
    auto waited = std::chrono::milliseconds(
        (uv_hrtime() - w->since_ns) / 1000000);
    forget(w);
    if (!w->pool_owned()) {
      w->deliver(nullptr, UV_ETIMEDOUT, {}); // a shared call: its own words
      continue;
    }
    if (w->canceled) {
      w->deliver(nullptr, UV_ECANCELED, "pool: acquire canceled");
    } else if (!w->abandoned()) {
      ++st.timeouts;
      st.wait_ns += uv_hrtime() - w->since_ns;
      w->deliver(nullptr, UV_ETIMEDOUT, timeout_text(waited, w));
    }
    if (w->in_setup) {
      w->answered = true; // the setup hook's continuation deletes it
    } else if (w->pool_owned()) {
      delete w;
    }
  }
  arm_deadline();
  unref();
}

// Matches idle connections with waiters in arrival order, fails what
// must fail, and opens connections for those still waiting.  Runs only
// from the loop (kick(), timers, connect completions).
void pool_impl::serve() noexcept {
  add_ref();
  // Taken out first, told after: a callback may call into the pool.
  std::vector<pool_waiter *> out;
  for (auto it = waiters.begin(); it != waiters.end();) {
    pool_waiter *w = *it++;
    if (closing || w->canceled || w->abandoned()) {
      forget(w);
      out.push_back(w);
    }
  }
  for (pool_waiter *w : out) {
    if (w->canceled) {
      w->deliver(nullptr, UV_ECANCELED, "pool: acquire canceled");
    } else if (!w->abandoned()) {
      w->deliver(nullptr, UVPG_ECLOSED, "pool: the pool is closed");
    }
    delete w;
  }
  if (routed) {
    serve_routed();
  }
  while (!routed && !waiters.empty()) {
    pool_slot *s = free_slot();
    if (!s) {
      break;
    }
    pool_waiter *w = waiters.front();
    waiters.pop_front(); // its deadline holds through a setup hook
    w->queued = false;
    hand_out(s, w);
  }
  arm_deadline();
  refill();
  unref();
}

// Lends `s` to `w` (which it deletes), after the setup hook if any.
pool_slot *pool_impl::free_slot() noexcept {
  for (pool_slot *s : idle) {
    // Known dead: never handed out.  A lost one is dropped when the
    // engine tells its lessor, after its statements failed as lost.
    if (s->shared == 0 && s->c->st == conn_impl::state::ready &&
        !s->c->close_requested) {
      return s;
    }
  }
  return nullptr;
}

// Each waiter, in arrival order, takes the first idle connection of its
// kind; one that finds none lets those behind it look for theirs.
void pool_impl::serve_routed() noexcept {
  for (;;) {
    pool_slot *s = nullptr;
    pool_waiter *w = nullptr;
    for (pool_waiter *x : waiters) {
      if ((s = routed_slot(x))) {
        w = x;
        break;
      }
    }
    if (!w) {
      return;
    }
    waiters.erase(w->it); // its deadline holds through a setup hook
    w->queued = false;
    hand_out(s, w);
  }
}

bool pool_impl::wrong_role(const pool_slot *s) const noexcept {
  if (!routed || !s->c || !s->c->pg) {
    return false;
  }
  // Reported by servers from 14 on; older ones keep the role they had
  // at connect (target_session_attrs).
  const char *hs = PQparameterStatus(s->c->pg, "in_hot_standby");
  if (!hs) {
    return false;
  }
  bool standby = std::strcmp(hs, "on") == 0;
  if (s->standby) {
    return !standby; // promoted
  }
  const char *ro = PQparameterStatus(s->c->pg, "default_transaction_read_only");
  return standby || (ro && std::strcmp(ro, "on") == 0);
}

bool pool_impl::lag_unfit(const pool_slot *s) const noexcept {
  return s->standby && opts.max_replica_lag.count() > 0 &&
         (!s->lag_known || s->lagging);
}

bool pool_impl::reads_to_primary() const noexcept {
  if (standby_down) {
    return true;
  }
  if (opts.max_replica_lag.count() <= 0) {
    return false;
  }
  // Idle ones only: a lent connection's lag is not asked again.
  bool lagging = false;
  for (const pool_slot *s : idle) {
    if (!s->standby || !s->lag_known) {
      continue;
    }
    if (!s->lagging) {
      return false; // one within the bound
    }
    lagging = true;
  }
  return lagging;
}

bool pool_impl::role_changed(const pool_slot *s) noexcept {
  if (!wrong_role(s)) {
    return false;
  }
  ++st.role_changes;
  return true;
}

// A standby: the idle connection to the standby with the fewest lent
// out (least busy), else, while no standby is up, the primary for
// read_only.  The primary: the most recently used idle connection.
pool_slot *pool_impl::routed_slot(const pool_waiter *w) noexcept {
  bool want_standby = w->access != pool_access::read_write;
  bool lag_bound = opts.max_replica_lag.count() > 0;
  bool saw_lagging = false;
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<unsigned> load;
    if (want_standby) {
      load.assign(hosts.size(), 0);
      for (pool_slot *s : slots) {
        if (s->standby && s->ph == phase::lent) {
          ++load[s->host];
        }
      }
    }
    pool_slot *best = nullptr;
    for (pool_slot *s : idle) {
      if (s->standby != want_standby || s->shared != 0 ||
          s->c->st != conn_impl::state::ready || s->c->close_requested ||
          wrong_role(s)) {
        continue;
      }
      if (!want_standby) {
        return s;
      }
      if (lag_bound && (!s->lag_known || s->lagging)) {
        saw_lagging = saw_lagging || s->lagging;
        continue;
      }
      if (!best || load[s->host] < load[best->host]) {
        best = s;
      }
    }
    if (best || w->access != pool_access::read_only ||
        !(standby_down || saw_lagging)) {
      return best;
    }
    want_standby = false; // no standby is up: reads go to the primary
  }
  return nullptr;
}

namespace {

// The replay lag of a standby in ms: the time since the last transaction
// it replayed while WAL it received waits to be replayed, else 0; while
// WAL waits and it replayed none since it started, past any bound.
constexpr const char *lag_sql =
    "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
    "THEN 0 ELSE COALESCE(1000 * EXTRACT(epoch FROM now() - "
    "pg_last_xact_replay_timestamp()), 1e12) END::bigint";

struct lag_op final : op {
  pool_slot *s = nullptr;
  void complete(conn_impl *, int status, PGresult *res) noexcept override {
    pool_impl *p = s->pool;
    s->lag_asking = false;
    if (status >= 0 && res && PQntuples(res) == 1) {
      uint64_t lag = std::strtoull(PQgetvalue(res, 0, 0), nullptr, 10);
      bool was = !s->lag_known || s->lagging;
      s->lag_known = true;
      s->lagging =
          lag > static_cast<uint64_t>(p->opts.max_replica_lag.count());
      if (was && !s->lagging) {
        p->kick(); // a standby for the waiters
      } else if (s->lagging && !p->waiters.empty()) {
        p->kick(); // read_only waiters may take the primary
      }
    }
    PQclear(res);
  }
};

} // namespace

void pool_impl::check_lag(pool_slot *s) noexcept {
  if (s->lag_asking || s->c->st != conn_impl::state::ready ||
      s->c->close_requested) {
    return;
  }
  auto *o = new lag_op;
  o->s = s;
  o->sql = lag_sql;
  o->internal = true;
  s->lag_asking = true;
  s->c->submit(o);
}

pool_slot *pool_impl::shared_slot() noexcept {
  pool_slot *best = nullptr;
  uint64_t now = uv_now(loop);
  bool want_standby = routed && opts.access != pool_access::read_write &&
                      !(opts.access == pool_access::read_only &&
                        reads_to_primary());
  for (pool_slot *s : idle) {
    if (routed &&
        (s->standby != want_standby || wrong_role(s) || lag_unfit(s))) {
      continue;
    }
    if ((opts.max_queries && s->c->statements >= opts.max_queries) ||
        (s->expires_ms && now >= s->expires_ms)) {
      s->doomed = true; // replaced once its statements are done
    }
    // One with an overdue statement in flight is passed over: what is
    // pipelined behind it would wait for it.
    if (s->c->st == conn_impl::state::ready && !s->c->close_requested &&
        !s->doomed && s->told == 0 &&
        (!best || s->shared < best->shared)) {
      best = s;
      if (s->shared == 0) {
        break;
      }
    }
  }
  return best && best->shared < best->c->opts.max_pipeline ? best : nullptr;
}

void pool_impl::shared_done(pool_slot *s) noexcept {
  if (--s->shared > 0 || s->ph != phase::idle) {
    return;
  }
  s->idle_since_ms = uv_now(loop);
  bool worn = (opts.max_queries && s->c->statements >= opts.max_queries) ||
              (s->expires_ms && uv_now(loop) >= s->expires_ms);
  if (s->doomed || worn) {
    close_slot(s);
    kick();
  } else if (!waiters.empty()) {
    kick();
  }
}

void pool_impl::hand_out(pool_slot *s, pool_waiter *w) noexcept {
  set_phase(s, phase::lent);
  if (!opts.setup) {
    lend(s, w);
    return;
  }
  s->hook_conn = connection(s->c);
  future<void> f;
  try {
    f = opts.setup(s->hook_conn);
  } catch (...) {
    f = make_exception_future<void>(std::current_exception());
  }
  add_ref();
  s->in_hook = true;
  w->in_setup = true;
  (void)std::move(f).then_wrapped([this, slot = s, w](future<void> r) {
    loop_scope scope(loop);
    pool_slot *s = hook_done(slot) ? slot : nullptr;
    conn_impl *c = s ? s->hook_conn.detach() : nullptr;
    bool ok = s && !r.failed() && c == s->c && s->ph == phase::lent &&
              c->st == conn_impl::state::ready && !c->close_requested;
    w->in_setup = false;
    if (ok) {
      // What the hook ran is the pool's, not the lease's.
      c->session_touched = false;
    }
    if (ok && !w->answered) {
      lend(s, w);
    } else if (ok) {
      delete w; // its deadline passed meanwhile: the connection stays
      ready(s);
    } else {
      if (s && s->ph != phase::closing) {
        close_slot(s);
      }
      if (w->answered || w->abandoned()) {
        forget(w);
        delete w;
      } else if (closing) {
        forget(w);
        w->deliver(nullptr, UVPG_ECLOSED, "pool: the pool is closed");
        delete w;
      } else {
        // The caller keeps its place: first in line for the next one.
        waiters.push_front(w);
        w->it = waiters.begin();
        w->queued = true;
      }
      kick();
    }
    unref();
  });
}

void pool_impl::lend(pool_slot *s, pool_waiter *w) noexcept {
  forget(w); // its deadline
  if (w->canceled || w->abandoned()) {
    // Cancelled while its setup hook ran: the connection stays here.
    if (w->canceled) {
      w->deliver(nullptr, UV_ECANCELED, "pool: acquire canceled");
    }
    delete w;
    ready(s);
    return;
  }
  s->lent_at_ns = uv_hrtime();
  ++st.acquired;
  st.wait_ns += s->lent_at_ns - w->since_ns;
  w->deliver(s->c, 0, {});
  delete w;
}

// ---- pool-level statements on shared connections ----

namespace {

// When every statement in flight on `c` has been told its deadline
// passed, a cancel harms nobody, whichever of them it meets: the one
// running is cancelled (the grace bounds it), and the connection is
// reused once they are through.
void cancel_if_all_told(conn_impl *c) noexcept {
  if (!c || c->st != conn_impl::state::ready || c->cancel_pending ||
      !c->sent.head) {
    return;
  }
  for (op *o = c->sent.head; o; o = o->next) {
    auto *sc = dynamic_cast<shared_call *>(o);
    if (!o->notified && !(sc && sc->told)) {
      return;
    }
  }
  c->cancel_told();
}

} // namespace

void shared_call::deliver(conn_impl *, int status,
                          const std::string &) noexcept {
  // Only the deadline comes here.
  told = true;
  ++slot->told;
  ++pool->st.timeouts;
  cancel_if_all_told(slot->c);
  too_late(status, "pool: no result within the call's deadline of " +
                       std::to_string(timeout_ms) + " ms");
}

void shared_call::complete(conn_impl *c, int status, PGresult *res) noexcept {
  pool->forget(this); // its deadline
  if (told) {
    PQclear(res);
    cancel_if_all_told(c); // the next one may be overdue too
    return;
  }
  answer(c, status, res);
}

void shared_call::retire() noexcept {
  pool_impl *p = pool;
  if (told) {
    --slot->told;
  }
  p->forget(this);
  p->shared_done(slot);
  delete this;
  p->unref();
}

pool_slot *pool_impl::shareable(std::string_view sql) noexcept {
  if (closing || !waiters.empty() || opts.setup ||
      opts.reset == pool_reset::always) {
    // Leases first; a setup hook or a reset after every statement needs
    // a lease of its own.
    return nullptr;
  }
  sql_shape shape = shape_of(sql);
  return shape.cacheable && session_neutral(sql, shape) ? shared_slot()
                                                       : nullptr;
}

void pool_impl::start_shared(pool_slot *s, shared_call *o,
                             std::string_view sql, params args, bool binary,
                             std::chrono::milliseconds timeout) {
  std::string err;
  query_options qo;
  qo.binary_results = binary; // no timeout: the pool keeps the deadline
  if (!fill_query_op(s->c, o, sql, std::move(args), qo, err)) {
    // Refused before the wire: it fails in its turn, like a query's.
    o->refused = UVPG_EPARAM;
    o->refused_why = err;
  }
  o->pool = this;
  o->slot = s;
  o->since_ns = uv_hrtime();
  o->timeout_ms = static_cast<uint64_t>(timeout.count());
  ++s->shared;
  add_ref();
  if (timeout.count() > 0) {
    o->deadline_ms = now_ms(loop) + static_cast<uint64_t>(timeout.count());
    o->deadline_it = deadlines.emplace(o->deadline_ms, o);
    arm_deadline();
  }
  s->c->submit(o);
}

// ---- opening connections ----

void pool_impl::refill() noexcept {
  if (routed) {
    refill_routed();
    return;
  }
  if (closing || retry_armed) {
    return;
  }
  size_t connecting = count(phase::connecting) + count(phase::initializing);
  while (!retry_armed) {
    size_t n = size();
    bool below_min = n < opts.minsize;
    bool wanted = waiters.size() > connecting &&
                  (opts.maxsize == 0 || n < opts.maxsize);
    if (!below_min && !wanted) {
      break;
    }
    open_slot();
    ++connecting;
  }
}

// minsize connections per role; more for the waiters of each role, up
// to maxsize in all.  Each role backs off on its own.
void pool_impl::refill_routed() noexcept {
  if (closing) {
    return;
  }
  size_t open[2] = {}, connecting[2] = {}, wanted[2] = {};
  for (pool_slot *s : slots) {
    if (s->ph == phase::closing) {
      continue;
    }
    ++open[s->standby];
    if (s->ph == phase::connecting || s->ph == phase::initializing) {
      ++connecting[s->standby];
    }
  }
  for (pool_waiter *w : waiters) {
    // Also a new primary connection for read_only work while every
    // standby lags: it may have none idle (found by t/replica-capi).
    bool primary = w->access == pool_access::read_write ||
                   (w->access == pool_access::read_only && reads_to_primary());
    ++wanted[primary ? 0 : 1];
  }
  for (int r = 0; r < 2; ++r) {
    bool &armed = r ? sb_retry_armed : retry_armed;
    while (!armed && !closing) {
      if (opts.maxsize != 0 && size() >= opts.maxsize) {
        break;
      }
      if (open[r] >= opts.minsize && wanted[r] <= connecting[r]) {
        break;
      }
      open_slot(r == 1);
      ++open[r];
      ++connecting[r];
    }
  }
}

namespace {

struct slot_connect final : connect_waiter {
  pool_slot *s;
  explicit slot_connect(pool_slot *slot) : s(slot) {}
  void done(conn_impl *c, int status) noexcept override {
    if (status >= 0) {
      s->pool->connected(s);
      return;
    }
    s->pool->connect_failed(s, c->error_msg);
  }
};

} // namespace

void pool_impl::open_slot(bool standby) noexcept {
  auto *s = new pool_slot;
  s->pool = this;
  const std::string *info = &conninfo;
  if (routed) {
    s->standby = standby;
    info = &primary_info;
    if (standby) {
      // Start at the host with the fewest standby connections, passing
      // over those a primary connection is on.
      std::vector<size_t> n(hosts.size(), 0);
      for (pool_slot *x : slots) {
        if (x->ph != phase::closing && x->ph != phase::connecting) {
          n[x->host] += x->standby ? 1 : hosts.size() * 1000;
        }
      }
      size_t k = 0;
      for (size_t i = 1; i < hosts.size(); ++i) {
        if (n[i] < n[k]) {
          k = i;
        }
      }
      s->host = k;
      info = &standby_info[k];
    }
  }
  slots.push_back(s);
  ++counts[static_cast<int>(phase::connecting)];
  add_ref(); // the slot's, until it is freed
  if (opts.connect_fn) {
    // The program's connect: it cannot be aborted; a pool closed
    // meanwhile closes the connection when it arrives.
    future<connection> f;
    try {
      f = opts.connect_fn(loop, *info, opts.connect);
    } catch (const std::exception &e) {
      f = make_exception_future<connection>(std::current_exception());
    }
    (void)std::move(f).then_wrapped([this, s](future<connection> r) {
      loop_scope scope(loop);
      try {
        connection conn = std::move(r).get();
        conn_impl *c = conn.detach();
        if (!c) {
          throw usage_error("pool: the connect hook gave an empty "
                            "connection");
        }
        s->c = c;
        c->observe(s);
        connected(s);
      } catch (const std::exception &e) {
        connect_failed(s, e.what());
      }
    });
    return;
  }
  try {
    auto *c = new uvpg_conn_s(loop, opts.connect);
    s->c = c;
    c->observe(s);
    c->on_connect = new slot_connect(s);
    c->start(info->c_str());
  } catch (const std::exception &e) {
    // Only memory can fail here; the slot goes at once.
    connect_failed(s, e.what());
  }
}

void pool_impl::connected(pool_slot *s) noexcept {
  ++st.opened;
  if (routed) {
    // The index in the list it was given, which starts at s->host.
    s->host = (s->host + s->c->host_index) % hosts.size();
  }
  if (s->standby) {
    sb_backoff_ms = 0;
    sb_last_connect_error.clear();
    standby_down = false;
  } else {
    backoff_ms = 0;
    last_connect_error.clear();
  }
  s->c->lessor = s;
  if (opts.max_lifetime.count() > 0) {
    // Up to 10 % less, at random, so connections opened together are
    // not all replaced together.
    thread_local std::minstd_rand rng{std::random_device{}()};
    auto life = static_cast<uint64_t>(opts.max_lifetime.count());
    s->expires_ms = now_ms(loop) + life - rng() % (life / 10 + 1);
  }
  if (closing) {
    close_slot(s);
    return;
  }
  set_phase(s, phase::initializing);
  if (opts.init) {
    run_hook(s, opts.init, &pool_impl::ready);
  } else {
    ready(s);
  }
}

void pool_impl::connect_failed(pool_slot *s, std::string why) noexcept {
  if (!closing && s->ph != phase::closing) {
    // (A connect the pool aborted is no failure.)  Standby connects of a
    // multi-host pool back off on their own.
    ++st.failed;
    bool sb = s->standby;
    (sb ? sb_last_connect_error : last_connect_error) = std::move(why);
    if (sb && !standby_down) {
      standby_down = true; // read_only waiters may take the primary
      kick();
    }
    bool &armed = sb ? sb_retry_armed : retry_armed;
    if (!armed) {
      // One step per round of connects, however many of them failed (a
      // step per failed connect took 8 failing at once to the cap).
      uint64_t &backoff = sb ? sb_backoff_ms : backoff_ms;
      backoff = std::clamp(backoff * 2, backoff_min_ms, backoff_max_ms);
      armed = true;
      uv_timer_start(
          sb ? &sb_retry_timer : &retry_timer,
          [](uv_timer_t *t) {
            auto *p = static_cast<pool_impl *>(t->data);
            loop_scope scope(p->loop);
            (t == &p->sb_retry_timer ? p->sb_retry_armed : p->retry_armed) =
                false;
            p->kick();
          },
          backoff, 0);
    }
  }
  if (s->c) {
    set_phase(s, phase::closing);
    s->c->close(nullptr); // freed later: slot_freed()
    return;
  }
  // The program's connect hook failed: no engine to wait for.
  --counts[static_cast<int>(s->ph)];
  slots.remove(s);
  delete s;
  kick();
  unref();
}

// Runs `hook` on the slot's connection, then `next`; a failure (or a
// hook that kept the connection) drops the slot.
void pool_impl::run_hook(pool_slot *s,
                         const std::function<future<void>(connection &)> &hook,
                         void (pool_impl::*next)(pool_slot *)) noexcept {
  s->hook_conn = connection(s->c);
  future<void> f;
  try {
    f = hook(s->hook_conn);
  } catch (...) {
    f = make_exception_future<void>(std::current_exception());
  }
  add_ref();
  s->in_hook = true;
  (void)std::move(f).then_wrapped([this, s, next](future<void> r) {
    loop_scope scope(loop);
    if (hook_done(s)) {
      conn_impl *c = s->hook_conn.detach();
      bool ok = !r.failed() && c == s->c && s->ph != phase::closing &&
                c->st == conn_impl::state::ready && !c->close_requested;
      if (ok) {
        c->session_touched = false; // the hook's statements are the pool's
        (this->*next)(s);
      } else if (s->ph != phase::closing) {
        close_slot(s);
      }
    }
    kick();
    unref();
  });
}

void pool_impl::ready(pool_slot *s) noexcept {
  if (closing || s->doomed || role_changed(s)) {
    close_slot(s);
    return;
  }
  // Found at connect or since (engine/pooler.cc), counted once.
  if (s->c->behind_pooler && !s->pooler_counted) {
    s->pooler_counted = true;
    ++st.behind_pooler;
  }
  set_phase(s, phase::idle);
  if (s->standby && !s->lag_known && opts.max_replica_lag.count() > 0) {
    check_lag(s); // before it serves reads
  }
  if (!waiters.empty()) {
    kick();
  }
}

// ---- giving back ----

void pool_impl::returned(pool_slot *s) noexcept {
  if (s->ph != phase::lent) {
    // A hook's handle the program moved out and let go of.
    close_slot(s);
    return;
  }
  conn_impl *c = s->c;
  st.usage_ns += uv_hrtime() - s->lent_at_ns;
  set_phase(s, phase::returning);
  // What the lease made no longer reaches the connection: cursors,
  // prepared statements, transactions and observers of the program's.
  ++c->generation;
  end_lease_transactions(c);
  end_lease_session(c);
  end_lease_notify(c);
  bool worn = (opts.max_queries && c->statements >= opts.max_queries) ||
              (s->expires_ms && now_ms(loop) >= s->expires_ms);
  if (closing || s->doomed || worn || c->st != conn_impl::state::ready ||
      c->copying != op::copy_way::none || role_changed(s)) {
    // A connection given back in the middle of a COPY is closed: the
    // COPY's writer is gone, and only the close ends it cleanly.
    close_slot(s);
    kick();
    return;
  }
  if (c->busy()) {
    // Work of the lease still runs: the session's state is known once
    // it is done.  One statement behind it, in the same pipeline.
    submit_internal(c, "SELECT 1", false, [this, s](int status) {
      // A server error (25P02 in an aborted transaction) still means the
      // work before it is done: the reset rolls back.
      if (status < 0 && status != UVPG_ESERVER &&
          status != UVPG_EPIPELINE_ABORTED) {
        if (s->ph != phase::closing) {
          close_slot(s);
        }
        kick();
      } else {
        reset(s);
      }
    });
    return;
  }
  reset(s);
}

// The connection is idle: the session's state is exact.
void pool_impl::reset(pool_slot *s) noexcept {
  if (s->ph != phase::returning) {
    return;
  }
  conn_impl *c = s->c;
  bool in_tx = c->transaction_status() != UVPG_TRANS_IDLE;
  bool full = opts.reset == pool_reset::always ||
              (opts.reset == pool_reset::automatic && c->session_touched);
  c->session_touched = false;
  if (!in_tx && !full) {
    if (opts.reset_fn) {
      // The program's hook never runs inside its release: from the
      // loop (later() holds the engine, and so the slot, until then).
      c->later([this, s] { after_reset(s); });
    } else {
      ready(s);
    }
    return;
  }
  std::string sql = in_tx ? "ROLLBACK" : "";
  if (full) {
    ++st.resets;
    sql += sql.empty() ? full_reset_sql : std::string("; ") + full_reset_sql;
  }
  submit_internal(c, sql, true, [this, s](int status) {
    if (status < 0 || s->ph != phase::returning) {
      if (s->ph != phase::closing) {
        close_slot(s);
      }
      kick();
      return;
    }
    after_reset(s);
  });
}

void pool_impl::after_reset(pool_slot *s) noexcept {
  if (opts.reset_fn) {
    run_hook(s, opts.reset_fn, &pool_impl::ready);
  } else {
    ready(s);
  }
}

// ---- closing connections ----

void pool_impl::close_slot(pool_slot *s) noexcept {
  if (s->ph == phase::closing) {
    return;
  }
  set_phase(s, phase::closing);
  ++st.closed;
  if (s->c) {
    s->c->lessor = nullptr;
    s->c->close(nullptr);
  }
}

// The engine's close was requested, by the pool or by the program
// (uvpg_conn_close() on a lent connection: it leaves the pool).
void pool_impl::slot_closing(pool_slot *s) noexcept {
  if (s->ph != phase::closing) {
    set_phase(s, phase::closing);
    s->c->lessor = nullptr;
    kick(); // a replacement
  }
}

void pool_impl::slot_freed(pool_slot *s) noexcept {
  if (s->ph != phase::closing) {
    set_phase(s, phase::closing);
  }
  --counts[static_cast<int>(phase::closing)];
  slots.remove(s);
  s->c = nullptr;
  if (s->in_hook) {
    s->freed = true; // hook_done() deletes it
  } else {
    delete s;
  }
  kick();
  maybe_closed();
  unref();
}

bool pool_impl::hook_done(pool_slot *s) noexcept {
  s->in_hook = false;
  if (s->freed) {
    (void)s->hook_conn.detach(); // its engine is gone
    delete s;
    return false;
  }
  return true;
}

void pool_impl::maintain() noexcept {
  if (closing) {
    return;
  }
  uint64_t now = now_ms(loop);
  auto idle_ms =
      static_cast<uint64_t>(opts.max_inactive_connection_lifetime.count());
  // Oldest idle first (the back of the list).
  for (auto it = idle.rbegin(); it != idle.rend();) {
    pool_slot *s = *it++;
    if (s->shared > 0) {
      continue; // pool-level statements run on it
    }
    bool expired =
        (s->expires_ms && now >= s->expires_ms) || role_changed(s);
    bool inactive = idle_ms && now - s->idle_since_ms >= idle_ms &&
                    size() > opts.minsize;
    if (expired || inactive) {
      close_slot(s);
      it = idle.rbegin(); // close_slot() changed the list
    } else if (s->standby && opts.max_replica_lag.count() > 0 &&
               !s->c->busy()) {
      check_lag(s);
    }
  }
  refill();
}

void pool_impl::clear() noexcept {
  for (pool_slot *s : slots) {
    s->doomed = true;
  }
  std::vector<pool_slot *> idle_now(idle.begin(), idle.end());
  for (pool_slot *s : idle_now) {
    if (s->shared == 0) {
      close_slot(s); // the others close when their statements are done
    }
  }
  kick();
}

void pool_impl::close(bool terminate, std::function<void()> done) {
  if (done) {
    on_closed.push_back(std::move(done));
  }
  terminating = terminating || terminate;
  if (!closing) {
    closing = true;
    uv_timer_stop(&retry_timer);
    retry_armed = false;
  }
  std::vector<pool_slot *> all(slots.begin(), slots.end());
  for (pool_slot *s : all) {
    if (s->ph == phase::idle && s->shared > 0 && !terminating) {
      s->doomed = true; // closed when its pool-level statements are done
    } else if (s->ph == phase::idle || s->ph == phase::connecting ||
               (terminating && s->ph != phase::closing)) {
      // A connect in flight is aborted: close never waits for its
      // timeout.  (The program's connect hook cannot be: its
      // connection is closed when it arrives.)
      if (s->c) {
        close_slot(s);
      }
    }
  }
  kick(); // fails the waiters from the loop
  maybe_closed();
}

void pool_impl::maybe_closed() noexcept {
  if (!closing || !slots.empty() || on_closed.empty()) {
    return;
  }
  add_ref();
  auto fns = std::move(on_closed);
  on_closed.clear();
  // From the loop, never inside close().
  defer(loop, [this, fns = std::move(fns)]() mutable {
    loop_scope scope(loop);
    for (auto &f : fns) {
      f();
    }
    unref();
  });
}

} // namespace uvpg::detail

// ---- the C++ handle ----

namespace uvpg {

using detail::conn_impl;
using detail::pool_impl;

namespace {

struct future_waiter;

// The state of acquire()'s future: future::cancel() reaches the waiter
// while it waits.
struct acquire_state final : detail::state<connection> {
  pool_impl *pool = nullptr;
  future_waiter *w = nullptr; // null once told
  bool cancel_requested() noexcept override;
};

struct future_waiter final : detail::pool_waiter {
  acquire_state *st;
  explicit future_waiter(pool_impl *p) : st(new acquire_state) {
    st->pool = p;
    st->w = this;
  }
  ~future_waiter() override {
    st->w = nullptr;
    st->release();
  }
  bool abandoned() const noexcept override { return st->refs == 1; }
  void deliver(conn_impl *c, int status,
               const std::string &why) noexcept override {
    st->w = nullptr;
    if (c) {
      st->set(connection(c));
    } else {
      st->fail(detail::status_error(status, why));
    }
  }
};

bool acquire_state::cancel_requested() noexcept {
  if (!w || w->canceled) {
    return false;
  }
  pool->cancel(w); // told UV_ECANCELED from serve(), on the loop
  return true;
}

} // namespace

pool pool::create(uv_loop_t *loop, std::string_view conninfo,
                  const pool_options &opts) {
  if (!loop) {
    throw usage_error("pool::create: loop is null");
  }
  if (opts.maxsize && opts.minsize > opts.maxsize) {
    throw usage_error("pool::create: minsize is larger than maxsize");
  }
  detail::loop_scope scope(loop);
  auto *p = new uvpg_pool_s(loop, std::string(conninfo), opts);
  p->kick(); // opens minsize connections from the loop
  return pool(p);
}

future<pool> pool::create_filled(uv_loop_t *loop, std::string_view conninfo,
                                 const pool_options &opts) {
  pool p = create(loop, conninfo, opts);
  size_t want = opts.minsize;
  for (;;) {
    pool_stats s = p.stats();
    if (s.size - s.connecting >= want && s.connecting == 0) {
      co_return p;
    }
    if (s.failed > 0) {
      std::string why = p._impl->last_connect_error;
      co_await p.close();
      throw connection_lost(UVPG_ECONNBAD,
                            "pool: a connection could not be opened: " +
                                why);
    }
    // Poll the fill at a short interval: it ends with the connects.
    promise<void> tick;
    auto f = tick.get_future();
    struct sleeper {
      uv_timer_t t;
      promise<void> p;
    };
    auto *sl = new sleeper{{}, std::move(tick)};
    uv_timer_init(loop, &sl->t);
    sl->t.data = sl;
    uv_timer_start(
        &sl->t,
        [](uv_timer_t *t) {
          uv_close(reinterpret_cast<uv_handle_t *>(t), [](uv_handle_t *h) {
            auto *s = static_cast<sleeper *>(h->data);
            s->p.set_value();
            delete s;
          });
        },
        5, 0);
    co_await std::move(f);
  }
}

pool &pool::operator=(pool &&o) noexcept {
  if (this != &o) {
    if (_impl) {
      detail::loop_scope scope(_impl->loop);
      _impl->close(false, nullptr);
      _impl->unref();
    }
    _impl = std::exchange(o._impl, nullptr);
  }
  return *this;
}

pool::~pool() {
  if (_impl) {
    detail::loop_scope scope(_impl->loop);
    _impl->close(false, nullptr);
    _impl->unref();
  }
}

future<connection> pool::acquire() {
  if (!_impl) {
    throw usage_error("pool::acquire: the pool handle is empty");
  }
  return acquire(_impl->opts.access, _impl->opts.timeout);
}

future<connection> pool::acquire(std::chrono::milliseconds timeout) {
  if (!_impl) {
    throw usage_error("pool::acquire: the pool handle is empty");
  }
  return acquire(_impl->opts.access, timeout);
}

future<connection> pool::acquire(pool_access mode) {
  if (!_impl) {
    throw usage_error("pool::acquire: the pool handle is empty");
  }
  return acquire(mode, _impl->opts.timeout);
}

future<connection> pool::acquire(pool_access mode,
                                 std::chrono::milliseconds timeout) {
  if (!_impl) {
    throw usage_error("pool::acquire: the pool handle is empty");
  }
  detail::loop_scope scope(_impl->loop);
  auto *w = new future_waiter(_impl);
  w->access = mode;
  auto f = detail::future_of<connection>(w->st);
  // Fast path: an idle connection and nobody ahead; the future is born
  // ready, so nothing of the program's runs inside this call.
  pool_impl *p = _impl;
  if (!p->closing && !p->opts.setup && p->waiters.empty()) {
    if (detail::pool_slot *s =
            p->routed ? p->routed_slot(w) : p->free_slot()) {
      w->since_ns = uv_hrtime();
      p->hand_out(s, w);
      return f;
    }
  }
  std::string why;
  if (int rc = p->wait(w, timeout, why); rc < 0) {
    // Refused at once: the future is failed before the caller has it.
    w->deliver(nullptr, rc, why);
    delete w;
  }
  return f;
}

future<void> pool::release(connection conn) {
  conn_impl *c = conn.impl();
  auto *s = c ? dynamic_cast<detail::pool_slot *>(c->lessor) : nullptr;
  if (!_impl || !s || s->pool != _impl) {
    throw usage_error("pool::release: the connection is not lent by this "
                      "pool");
  }
  conn = connection(); // gives it back
  return make_ready_future();
}

future<pooled_cursor> pool::cursor(cursor_options opts) {
  return acquire().then([opts = std::move(opts)](connection c) mutable {
    return pooled_cursor(std::move(c), std::move(opts));
  });
}

namespace {

// The time left of a call's deadline, or timed_out.
std::chrono::milliseconds remaining(uv_loop_t *loop, uint64_t start_ms,
                                    std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) {
    return std::chrono::milliseconds(0);
  }
  uint64_t used = detail::now_ms(loop) - start_ms;
  if (used >= static_cast<uint64_t>(timeout.count())) {
    throw timed_out(UV_ETIMEDOUT, "pool: the call's deadline of " +
                                      std::to_string(timeout.count()) +
                                      " ms passed before it could start");
  }
  return timeout - std::chrono::milliseconds(used);
}

// Runs `fn(connection &)` on an acquired connection and gives it back
// before the caller hears the outcome.
template <class T, class F>
future<T> on_pooled(pool &p, std::chrono::milliseconds timeout, F fn) {
  return p.acquire(timeout).then([fn = std::move(fn)](connection c) mutable {
    future<T> f = fn(c);
    return std::move(f).then_wrapped(
        [c = std::move(c)](future<T> r) mutable {
          c = connection();
          return r;
        });
  });
}

} // namespace

namespace {

// The C++ form of a shared call: a promise.
struct promise_call final : detail::shared_call {
  promise<result> p;
  void answer(conn_impl *c, int status, PGresult *res) noexcept override {
    if (status >= 0) {
      p.set_value(result(res, c->types));
      return;
    }
    auto e = detail::make_error(c, status, res, sql);
    PQclear(res);
    p.set_exception(e);
  }
  void too_late(int status, const std::string &why) noexcept override {
    // The statement stays in the connection's pipeline and runs: its
    // outcome is unknown, unless it was refused before the wire.
    p.set_exception(refused ? detail::status_error(status, why)
                            : detail::status_error_unknown(status, why));
  }
};

} // namespace

future<result> pool::query(std::string_view sql, params args,
                           const query_options &opts) {
  if (!_impl) {
    throw usage_error("pool::query: the pool handle is empty");
  }
  auto timeout = opts.timeout.count() > 0 ? opts.timeout : _impl->opts.timeout;
  pool_impl *p = _impl;
  detail::loop_scope scope(p->loop);
  if (detail::pool_slot *s = p->shareable(sql)) {
    // Nobody waits for a lease and the statement leaves the session as
    // it was: pipelined on the least loaded idle connection.
    auto *o = new promise_call;
    auto f = o->p.get_future();
    p->start_shared(s, o, sql, std::move(args), opts.binary_results,
                    timeout);
    return f;
  }
  uint64_t start = detail::now_ms(_impl->loop);
  uv_loop_t *loop = _impl->loop;
  return on_pooled<result>(
      *this, timeout,
      [sql = std::string(sql), args = std::move(args), opts, timeout, start,
       loop](connection &c) mutable {
        query_options o = opts;
        o.timeout = remaining(loop, start, timeout);
        return c.query(sql, std::move(args), o);
      });
}

future<void> pool::executemany(std::string_view sql,
                               std::vector<params> rows) {
  if (!_impl) {
    throw usage_error("pool::executemany: the pool handle is empty");
  }
  auto timeout = _impl->opts.timeout;
  uint64_t start = detail::now_ms(_impl->loop);
  uv_loop_t *loop = _impl->loop;
  return on_pooled<void>(*this, timeout,
                         [sql = std::string(sql), rows = std::move(rows),
                          timeout, start, loop](connection &c) mutable {
                           query_options o;
                           o.timeout = remaining(loop, start, timeout);
                           return c.executemany(sql, std::move(rows), o);
                         });
}

future<uint64_t> pool::copy_to_table(std::string_view table, std::string data,
                                     const copy_options &opts) {
  return on_pooled<uint64_t>(
      *this, timeout(),
      [table = std::string(table), data = std::move(data),
       opts](connection &c) mutable {
        return c.copy_to_table(table, std::move(data), opts);
      });
}

future<uint64_t> pool::copy_from_table(std::string_view table, copy_sink sink,
                                       const copy_options &opts) {
  return on_pooled<uint64_t>(
      *this, timeout(),
      [table = std::string(table), sink = std::move(sink),
       opts](connection &c) mutable {
        return c.copy_from_table(table, std::move(sink), opts);
      });
}

future<uint64_t> pool::copy_from_query(std::string_view query, copy_sink sink,
                                       const copy_options &opts) {
  return on_pooled<uint64_t>(
      *this, timeout(),
      [query = std::string(query), sink = std::move(sink),
       opts](connection &c) mutable {
        return c.copy_from_query(query, std::move(sink), opts);
      });
}

future<uint64_t> pool::copy_records_to_table(std::string_view table,
                                             std::vector<params> records,
                                             std::vector<std::string> columns,
                                             std::string_view schema) {
  return on_pooled<uint64_t>(
      *this, timeout(),
      [table = std::string(table), records = std::move(records),
       columns = std::move(columns),
       schema = std::string(schema)](connection &c) mutable {
        return c.copy_records_to_table(table, records, std::move(columns),
                                       schema);
      });
}

void pool::clear() {
  if (_impl) {
    detail::loop_scope scope(_impl->loop);
    _impl->clear();
  }
}

future<void> pool::close() {
  if (!_impl) {
    return make_ready_future();
  }
  detail::loop_scope scope(_impl->loop);
  auto p = std::make_shared<promise<void>>();
  auto f = p->get_future();
  _impl->close(false, [p] { p->set_value(); });
  return f;
}

future<void> pool::terminate() {
  if (!_impl) {
    return make_ready_future();
  }
  detail::loop_scope scope(_impl->loop);
  auto p = std::make_shared<promise<void>>();
  auto f = p->get_future();
  _impl->close(true, [p] { p->set_value(); });
  return f;
}

future<void> pool::wait_closed() {
  if (!_impl) {
    return make_ready_future();
  }
  if (!_impl->closing) {
    throw usage_error("pool::wait_closed: call close() or terminate() "
                      "first");
  }
  auto p = std::make_shared<promise<void>>();
  auto f = p->get_future();
  _impl->on_closed.push_back([p] { p->set_value(); });
  _impl->maybe_closed();
  return f;
}

size_t pool::minsize() const noexcept { return _impl ? _impl->opts.minsize : 0; }
size_t pool::maxsize() const noexcept { return _impl ? _impl->opts.maxsize : 0; }
size_t pool::size() const noexcept { return _impl ? _impl->size() : 0; }
size_t pool::freesize() const noexcept {
  return _impl ? _impl->idle.size() : 0;
}
std::chrono::milliseconds pool::timeout() const noexcept {
  return _impl ? _impl->opts.timeout : std::chrono::milliseconds(0);
}
bool pool::closed() const noexcept { return !_impl || _impl->closing; }
uv_loop_t *pool::loop() const noexcept { return _impl ? _impl->loop : nullptr; }

pool_stats pool::stats() const noexcept {
  if (!_impl) {
    return {};
  }
  pool_stats s = _impl->st;
  s.size = _impl->size();
  s.idle = _impl->idle.size();
  s.in_use = _impl->count(detail::pool_slot::phase::lent);
  s.waiting = _impl->waiters.size();
  s.connecting = _impl->count(detail::pool_slot::phase::connecting) +
                 _impl->count(detail::pool_slot::phase::initializing);
  return s;
}

// ---- pooled_cursor ----

pooled_cursor::pooled_cursor(uvpg::connection conn, cursor_options opts)
    : _conn(std::move(conn)), _cur(_conn, std::move(opts)) {}

pooled_cursor::~pooled_cursor() = default;

future<void> pooled_cursor::close() {
  future<void> f = _cur.close();
  return std::move(f).then_wrapped(
      [c = std::move(_conn)](future<void> r) mutable {
        c = uvpg::connection();
        return r;
      });
}

} // namespace uvpg
