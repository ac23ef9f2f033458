// The C ABI of pools (uvpg/pool.h) over pool_impl (src/pool.hh).  The C
// handle is the pool itself; a C acquire is a pool_waiter whose request
// handle the program may cancel until its callback has run.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../pool.hh"
#include "guard.hh"

using uvpg::detail::capi_guard;
using uvpg::detail::capi_guard_or;
using uvpg::detail::conn_impl;
using uvpg::detail::pool_slot;

struct uvpg_acquire_s final : uvpg::detail::pool_waiter {
  uvpg_pool_t *pool = nullptr;
  uvpg_acquire_cb cb = nullptr;
  void *data = nullptr;
  void deliver(conn_impl *c, int status,
               const std::string &why) noexcept override {
    if (!c) {
      (void)why; // the C caller reads the status; uvpg_strerror() tells
    }
    cb(pool, c ? 0 : status, c ? c_handle(c) : nullptr, data);
  }
};

namespace {

int acquire(uvpg_pool_t *pool, std::chrono::milliseconds timeout,
            uvpg::pool_access access, uvpg_acquire_cb cb, void *data,
            uvpg_acquire_t **req) {
  if (req) {
    *req = nullptr;
  }
  if (!pool || !cb) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    uvpg::detail::loop_scope scope(pool->loop);
    if (pool->closing) {
      return static_cast<int>(UVPG_ECLOSED); // rule 1: an error returned, no callback
    }
    auto *w = new uvpg_acquire_s;
    w->pool = pool;
    w->cb = cb;
    w->data = data;
    w->access = access;
    // Always through serve(): the callback never runs inside this call.
    std::string why;
    if (int rc = pool->wait(w, timeout, why); rc < 0) {
      delete w; // rule 1: an error returned, no callback
      return rc;
    }
    if (req) {
      *req = w;
    }
    return 0;
  });
}

// uvpg_pool_query() as a shared call (pool.hh): pipelined on an idle
// connection, no lease.
struct c_call final : uvpg::detail::shared_call {
  uvpg_query_cb cb = nullptr;
  void *data = nullptr;
  void answer(conn_impl *c, int status, PGresult *res) noexcept override {
    cb(c_handle(c), status, reinterpret_cast<uvpg_result_t *>(res), data);
  }
  void too_late(int status, const std::string &) noexcept override {
    cb(nullptr, status, nullptr, data);
  }
};

// Otherwise the acquire, then the statement under what is left of the
// deadline, then the release after the program's callback.
struct pool_query {
  std::string sql;
  uvpg::params args;
  uvpg_query_cb cb = nullptr;
  void *data = nullptr;
  uint64_t start_ms = 0;
  std::chrono::milliseconds timeout{0};
};

void give_back(uvpg_conn_t *conn) {
  auto *s = dynamic_cast<pool_slot *>(conn->lessor);
  if (s && s->ph == pool_slot::phase::lent) {
    s->pool->returned(s);
  }
}

struct lease_query final : uvpg::detail::op {
  uvpg_query_cb cb = nullptr;
  void *data = nullptr;
  void complete(conn_impl *c, int status, PGresult *res) noexcept override {
    // Its deadline passed first: no connection, as uvpg_pool_query(3)
    // says.
    uvpg_conn_t *conn = status == UV_ETIMEDOUT && !res ? nullptr
                                                       : c_handle(c);
    cb(conn, status, reinterpret_cast<uvpg_result_t *>(res), data);
    give_back(c_handle(c)); // a timed-out statement drains first
  }
};

void query_acquired(uvpg_pool_t *pool, int status, uvpg_conn_t *conn,
                    void *data) {
  std::unique_ptr<pool_query> q(static_cast<pool_query *>(data));
  if (status < 0) {
    q->cb(nullptr, status, nullptr, q->data);
    return;
  }
  uvpg::query_options qo;
  if (q->timeout.count() > 0) {
    uint64_t used = uv_now(pool->loop) - q->start_ms;
    if (used >= static_cast<uint64_t>(q->timeout.count())) {
      q->cb(nullptr, UV_ETIMEDOUT, nullptr, q->data);
      give_back(conn);
      return;
    }
    qo.timeout = q->timeout - std::chrono::milliseconds(used);
  }
  auto *o = new lease_query;
  o->cb = q->cb;
  o->data = q->data;
  std::string err;
  if (!uvpg::detail::fill_query_op(conn, o, q->sql, std::move(q->args), qo,
                                   err)) {
    // Refused before the wire: failed in its turn, as uvpg_conn_query's.
    o->refused = UVPG_EPARAM;
    o->refused_why = err;
  }
  conn->submit(o);
}

// The C parameters as text values; NULL is SQL NULL.
uvpg::params text_params(int nparams, const char *const *params) {
  uvpg::params out(static_cast<size_t>(nparams));
  for (int i = 0; i < nparams; ++i) {
    if (params[i]) {
      out[static_cast<size_t>(i)].null = false;
      out[static_cast<size_t>(i)].bytes = params[i];
    }
  }
  return out;
}

} // namespace

UVPG_EXTERN void uvpg_pool_opts_init(uvpg_pool_opts_t *opts) UVPG_NOEXCEPT {
  if (!opts) {
    return;
  }
  *opts = uvpg_pool_opts_t{};
  uvpg_connect_opts_init(&opts->connect);
  uvpg::pool_options d;
  opts->minsize = static_cast<unsigned>(d.minsize);
  opts->maxsize = static_cast<unsigned>(d.maxsize);
  opts->timeout_ms = static_cast<unsigned>(d.timeout.count());
  opts->max_waiting = 0;
  opts->max_queries = d.max_queries;
  opts->max_inactive_ms =
      static_cast<unsigned>(d.max_inactive_connection_lifetime.count());
  opts->max_lifetime_ms = 0;
  opts->reset = UVPG_POOL_RESET_AUTO;
  opts->access = UVPG_ACCESS_READ_WRITE;
  opts->max_replica_lag_ms = 0;
}

namespace {

// An access mode as the int a C program stored: false when out of range.
bool read_access(const uvpg_access_t &in, uvpg::pool_access &out) {
  int v = 0;
  static_assert(sizeof v == sizeof in);
  std::memcpy(&v, &in, sizeof v);
  if (v < UVPG_ACCESS_READ_WRITE || v > UVPG_ACCESS_STANDBY_ONLY) {
    return false;
  }
  out = static_cast<uvpg::pool_access>(v);
  return true;
}

} // namespace

UVPG_EXTERN void uvpg_acquire_opts_init(uvpg_acquire_opts_t *opts)
    UVPG_NOEXCEPT {
  if (!opts) {
    return;
  }
  *opts = uvpg_acquire_opts_t{};
  opts->access = UVPG_ACCESS_READ_WRITE;
  opts->timeout_ms = -1;
}

UVPG_EXTERN int uvpg_pool_acquire_ex(uvpg_pool_t *pool,
                                     const uvpg_acquire_opts_t *opts,
                                     uvpg_acquire_cb cb, void *data,
                                     uvpg_acquire_t **req) UVPG_NOEXCEPT {
  if (req) {
    *req = nullptr;
  }
  if (!pool) {
    return UV_EINVAL;
  }
  uvpg::pool_access access = pool->opts.access;
  auto timeout = pool->opts.timeout;
  if (opts) {
    if (!read_access(opts->access, access) || opts->timeout_ms < -1) {
      return UV_EINVAL;
    }
    if (opts->timeout_ms >= 0) {
      timeout = std::chrono::milliseconds(opts->timeout_ms);
    }
  }
  return acquire(pool, timeout, access, cb, data, req);
}

UVPG_EXTERN int uvpg_pool_new(uv_loop_t *loop, const char *conninfo,
                              const uvpg_pool_opts_t *opts,
                              uvpg_pool_t **pool) UVPG_NOEXCEPT {
  if (pool) {
    *pool = nullptr;
  }
  if (!loop || !pool) {
    return UV_EINVAL;
  }
  uvpg_pool_opts_t defaults;
  if (!opts) {
    uvpg_pool_opts_init(&defaults);
    opts = &defaults;
  }
  if (opts->maxsize && opts->minsize > opts->maxsize) {
    return UV_EINVAL;
  }
  // Read as the int it is stored as: a C program may have put any value
  // there, and loading an out-of-range enum is undefined in C++.
  int reset = 0;
  static_assert(sizeof reset == sizeof opts->reset);
  std::memcpy(&reset, &opts->reset, sizeof reset);
  if (reset != UVPG_POOL_RESET_AUTO && reset != UVPG_POOL_RESET_ALWAYS &&
      reset != UVPG_POOL_RESET_TRANSACTION) {
    return UV_EINVAL;
  }
  uvpg::pool_access access{};
  if (!read_access(opts->access, access)) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    using std::chrono::milliseconds;
    uvpg::pool_options o;
    const uvpg_connect_opts_t &co = opts->connect;
    o.connect.timeout = milliseconds(co.timeout_ms);
    o.connect.echo = co.echo != 0;
    o.connect.enable_json = co.enable_json != 0;
    o.connect.enable_hstore = co.enable_hstore != 0;
    o.connect.enable_uuid = co.enable_uuid != 0;
    o.connect.max_pipeline = co.max_pipeline;
    o.connect.statement_cache_size = co.statement_cache_size;
    o.connect.max_cached_statement_lifetime =
        std::chrono::seconds(co.statement_lifetime_s);
    o.connect.max_cacheable_statement_size = co.max_cacheable_size;
    o.minsize = opts->minsize;
    o.maxsize = opts->maxsize;
    o.timeout = milliseconds(opts->timeout_ms);
    o.max_waiting = opts->max_waiting;
    o.max_queries = opts->max_queries;
    o.max_inactive_connection_lifetime = milliseconds(opts->max_inactive_ms);
    o.max_lifetime = milliseconds(opts->max_lifetime_ms);
    o.reset = static_cast<uvpg::pool_reset>(reset);
    o.access = access;
    o.max_replica_lag = milliseconds(opts->max_replica_lag_ms);
    uvpg::detail::loop_scope scope(loop);
    auto *p = new uvpg_pool_s(loop, conninfo ? conninfo : "", o);
    p->kick();
    *pool = p;
    return 0;
  });
}

UVPG_EXTERN int uvpg_pool_acquire(uvpg_pool_t *pool, uvpg_acquire_cb cb,
                                  void *data,
                                  uvpg_acquire_t **req) UVPG_NOEXCEPT {
  if (!pool) {
    if (req) {
      *req = nullptr; // as on every failure (uvpg_pool_acquire(3))
    }
    return UV_EINVAL;
  }
  return acquire(pool, pool->opts.timeout, pool->opts.access, cb, data, req);
}

UVPG_EXTERN int uvpg_pool_acquire_timeout(uvpg_pool_t *pool,
                                          unsigned int timeout_ms,
                                          uvpg_acquire_cb cb, void *data,
                                          uvpg_acquire_t **req)
    UVPG_NOEXCEPT {
  return acquire(pool, std::chrono::milliseconds(timeout_ms),
                 pool ? pool->opts.access : uvpg::pool_access::read_write,
                 cb, data, req);
}

UVPG_EXTERN int uvpg_pool_cancel(uvpg_acquire_t *req) UVPG_NOEXCEPT {
  if (!req) {
    return UV_EINVAL;
  }
  if (req->canceled) {
    return UV_EALREADY;
  }
  req->pool->cancel(req);
  return 0;
}

UVPG_EXTERN int uvpg_pool_release(uvpg_pool_t *pool,
                                  uvpg_conn_t *conn) UVPG_NOEXCEPT {
  if (!pool || !conn) {
    return UV_EINVAL;
  }
  auto *s = dynamic_cast<pool_slot *>(conn->lessor);
  // A lent connection the program closed (uvpg_conn_close()) has left
  // the pool already, though the pool hears of it only from the loop.
  if (!s || s->pool != pool || s->ph != pool_slot::phase::lent ||
      conn->close_requested) {
    return UV_EINVAL;
  }
  uvpg::detail::loop_scope scope(pool->loop);
  pool->returned(s);
  return 0;
}

UVPG_EXTERN int uvpg_pool_query(uvpg_pool_t *pool, const char *sql,
                                int nparams, const char *const *params,
                                uvpg_query_cb cb, void *data) UVPG_NOEXCEPT {
  if (!pool || !sql || !cb || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    uvpg::detail::loop_scope scope(pool->loop);
    if (pool_slot *s = pool->shareable(sql)) {
      auto o = std::make_unique<c_call>();
      o->cb = cb;
      o->data = data;
      uvpg::params args = text_params(nparams, params);
      // Nothing throws from here: the engine has it.
      pool->start_shared(s, o.release(), sql, std::move(args), false,
                         pool->opts.timeout);
      return 0;
    }
    auto q = std::make_unique<pool_query>();
    q->sql = sql;
    q->args = text_params(nparams, params);
    q->cb = cb;
    q->data = data;
    q->start_ms = uv_now(pool->loop);
    q->timeout = pool->opts.timeout;
    int rc = acquire(pool, pool->opts.timeout, pool->opts.access,
                     query_acquired, q.get(),
                     nullptr);
    if (rc == 0) {
      q.release();
    }
    return rc;
  });
}

UVPG_EXTERN void uvpg_pool_clear(uvpg_pool_t *pool) UVPG_NOEXCEPT {
  if (pool) {
    uvpg::detail::loop_scope scope(pool->loop);
    pool->clear();
  }
}

UVPG_EXTERN int uvpg_pool_close(uvpg_pool_t *pool, int terminate,
                                uvpg_pool_close_cb cb,
                                void *data) UVPG_NOEXCEPT {
  if (!pool) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    uvpg::detail::loop_scope scope(pool->loop);
    if (pool->c_closed) {
      return static_cast<int>(UV_EALREADY); // a second close: the handle is going
    }
    pool->c_closed = true;
    pool->close(terminate != 0, [pool, cb, data] {
      if (cb) {
        cb(pool, data);
      }
      pool->unref(); // the handle's reference: the pool may go now
    });
    return 0;
  });
}

UVPG_EXTERN size_t uvpg_pool_get_size(const uvpg_pool_t *pool) UVPG_NOEXCEPT {
  return pool ? pool->size() : 0;
}
UVPG_EXTERN size_t uvpg_pool_get_freesize(const uvpg_pool_t *pool)
    UVPG_NOEXCEPT {
  return pool ? pool->idle.size() : 0;
}
UVPG_EXTERN size_t uvpg_pool_get_minsize(const uvpg_pool_t *pool)
    UVPG_NOEXCEPT {
  return pool ? pool->opts.minsize : 0;
}
UVPG_EXTERN size_t uvpg_pool_get_maxsize(const uvpg_pool_t *pool)
    UVPG_NOEXCEPT {
  return pool ? pool->opts.maxsize : 0;
}
UVPG_EXTERN uv_loop_t *uvpg_pool_get_loop(const uvpg_pool_t *pool)
    UVPG_NOEXCEPT {
  return pool ? pool->loop : nullptr;
}

UVPG_EXTERN void uvpg_pool_get_stats(const uvpg_pool_t *pool,
                                     uvpg_pool_stats_t *out) UVPG_NOEXCEPT {
  if (!out) {
    return;
  }
  *out = uvpg_pool_stats_t{};
  if (!pool) {
    return;
  }
  const uvpg::pool_stats &s = pool->st;
  out->size = pool->size();
  out->idle = pool->idle.size();
  out->in_use = pool->count(pool_slot::phase::lent);
  out->waiting = pool->waiters.size();
  out->connecting = pool->count(pool_slot::phase::connecting) +
                    pool->count(pool_slot::phase::initializing);
  out->acquired = s.acquired;
  out->wait_ns = s.wait_ns;
  out->usage_ns = s.usage_ns;
  out->timeouts = s.timeouts;
  out->exhausted = s.exhausted;
  out->opened = s.opened;
  out->failed = s.failed;
  out->lost = s.lost;
  out->closed = s.closed;
  out->resets = s.resets;
  out->behind_pooler = s.behind_pooler;
  out->role_changes = s.role_changes;
}
