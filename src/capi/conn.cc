// The C ABI of connections and results: a thin shim over the engine.
// Every entry point is noexcept; each one whose body can throw runs it
// through the guard of guard.hh, so an exception becomes a code and never
// reaches C.
#include <memory>
#include <new>

#include "../engine/engine.hh"
#include "../sql.hh"
#include "../types/wire.hh"
#include "guard.hh"

using uvpg::detail::capi_guard;
using uvpg::detail::capi_guard_or;
using uvpg::detail::conn_impl;
using uvpg::detail::nothing;

namespace {

struct c_connect final : uvpg::detail::connect_waiter {
  uvpg_connect_cb cb;
  void *data;
  c_connect(uvpg_connect_cb c, void *d) : cb(c), data(d) {}
  void done(conn_impl *c, int status) noexcept override {
    cb(static_cast<uvpg_conn_t *>(c), status, data);
  }
};

struct c_close final : uvpg::detail::close_waiter {
  uvpg_close_cb cb;
  void *data;
  c_close(uvpg_close_cb c, void *d) : cb(c), data(d) {}
  void done(conn_impl *c) noexcept override {
    cb(static_cast<uvpg_conn_t *>(c), data);
  }
};

} // namespace

// A C statement; its address is the request handle of
// uvpg_conn_query_ex(), valid until the callback runs.
struct uvpg_query_req_s final : uvpg::detail::op {
  uvpg_query_cb cb = nullptr;
  void *data = nullptr;
  void complete(conn_impl *c, int status, PGresult *res) noexcept override {
    if (cb) {
      cb(static_cast<uvpg_conn_t *>(c), status,
         reinterpret_cast<uvpg_result_t *>(res), data);
    } else {
      PQclear(res);
    }
  }
};

namespace {

using c_query = uvpg_query_req_s;

// The op of a C statement: `sql` with %s placeholders converted, checked
// against `nparams`.  A mistake makes it a refused op, which fails in
// its turn through the callback like any other query error.
std::unique_ptr<c_query> make_c_query(const char *sql, bool with_params,
                                      int nparams, uvpg_query_cb cb,
                                      void *data) {
  std::string err;
  size_t count = 0;
  auto text = uvpg::detail::convert_placeholders(sql, with_params, nullptr,
                                                 &count, err);
  if (text && count && nparams >= 0 &&
      count != static_cast<size_t>(nparams)) {
    err = "the statement has " + std::to_string(count) +
          " placeholders but " + std::to_string(nparams) +
          " parameters were given";
    text.reset();
  }
  auto o = std::make_unique<c_query>();
  o->cb = cb;
  o->data = data;
  o->simple = false;
  if (text) {
    o->sql = std::move(*text);
  } else {
    o->refused = UVPG_EPARAM;
    o->refused_why = std::move(err);
  }
  return o;
}

// Appends `n` text parameters (a null pointer is SQL NULL).
void add_text_params(uvpg::detail::op *o, size_t n,
                     const char *const *params) {
  o->values.reserve(o->values.size() + n);
  for (size_t i = 0; i < n; ++i) {
    uvpg::encoded v;
    if (params[i]) {
      v.bytes = params[i];
    } else {
      v.null = true;
    }
    o->values.push_back(std::move(v));
  }
}

// The C handle is the engine; results are libpq's results.
const PGresult *pgres(const uvpg_result_t *r) {
  return reinterpret_cast<const PGresult *>(r);
}

bool in_range(const uvpg_result_t *res, int row, int col) {
  return res && row >= 0 && col >= 0 && row < PQntuples(pgres(res)) &&
         col < PQnfields(pgres(res));
}

// Reads one value through the C++ codec of T: the same validation and
// both wire forms.  0: *out set; 1: SQL NULL, *out untouched; < 0: error
// (the codec's data_error gives UVPG_EDATA through the guard).
template <class T, class Out>
int get_typed(const uvpg_result_t *res, int row, int col, Out *out) noexcept {
  if (!out || !in_range(res, row, col)) {
    return UV_EINVAL;
  }
  const PGresult *pg = pgres(res);
  if (PQgetisnull(pg, row, col)) {
    return 1;
  }
  const uvpg::detail::type_context *ctx = uvpg::detail::context_of(pg);
  return capi_guard([&] {
    uvpg::field f(PQgetvalue(pg, row, col), PQgetlength(pg, row, col), false,
                  uvpg::detail::base_type(PQftype(pg, col), ctx),
                  PQfformat(pg, col) == 1, PQfname(pg, col), ctx);
    *out = static_cast<Out>(uvpg::codec<T>::decode(f));
    return 0;
  });
}

} // namespace

extern "C" {

UVPG_EXTERN void uvpg_connect_opts_init(uvpg_connect_opts_t *opts)
    UVPG_NOEXCEPT {
  if (!opts) {
    return;
  }
  *opts = uvpg_connect_opts_t{};
  opts->timeout_ms = 60000;
  opts->enable_json = 1;
  opts->enable_hstore = 1;
  opts->enable_uuid = 1;
  opts->max_pipeline = 100;
  opts->statement_cache_size = 100;
  opts->statement_lifetime_s = 300;
  opts->max_cacheable_size = 15 * 1024;
  opts->cancel_timeout_ms = 5000;
}

UVPG_EXTERN int uvpg_connect(uv_loop_t *loop, const char *conninfo,
                             const uvpg_connect_opts_t *opts,
                             uvpg_connect_cb cb, void *data) UVPG_NOEXCEPT {
  if (!loop || !cb) {
    return UV_EINVAL;
  }
  uvpg_connect_opts_t defaults;
  if (!opts) {
    uvpg_connect_opts_init(&defaults);
    opts = &defaults;
  }
  return capi_guard([&] {
    uvpg::connect_options o;
    o.timeout = std::chrono::milliseconds(opts->timeout_ms);
    o.echo = opts->echo != 0;
    o.enable_json = opts->enable_json != 0;
    o.enable_hstore = opts->enable_hstore != 0;
    o.enable_uuid = opts->enable_uuid != 0;
    o.max_pipeline = opts->max_pipeline;
    o.statement_cache_size = opts->statement_cache_size;
    o.max_cached_statement_lifetime =
        std::chrono::seconds(opts->statement_lifetime_s);
    o.max_cacheable_statement_size = opts->max_cacheable_size;
    o.cancel_timeout = std::chrono::milliseconds(opts->cancel_timeout_ms);
    uvpg::detail::loop_scope scope(loop);
    auto waiter = std::make_unique<c_connect>(cb, data);
    auto *c = new uvpg_conn_s(loop, o);
    try {
      c->start(conninfo);
    } catch (...) {
      // Freed from the loop; with no waiter yet, no callback runs.
      c->close(nullptr);
      throw;
    }
    // start() only schedules: the waiter is first needed from the loop.
    c->on_connect = waiter.release();
    return 0;
  });
}

UVPG_EXTERN int uvpg_conn_query(uvpg_conn_t *conn, const char *sql,
                                int nparams, const char *const *params,
                                uvpg_query_cb cb, void *data) UVPG_NOEXCEPT {
  if (!conn || !sql || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    auto o = make_c_query(sql, nparams > 0, nparams, cb, data);
    if (!o->refused) {
      o->simple = nparams == 0;
      add_text_params(o.get(), static_cast<size_t>(nparams), params);
    }
    conn->submit(o.release());
    return 0;
  });
}

UVPG_EXTERN void uvpg_query_opts_init(uvpg_query_opts_t *opts)
    UVPG_NOEXCEPT {
  if (opts) {
    *opts = uvpg_query_opts_t{};
  }
}

UVPG_EXTERN int uvpg_conn_query_ex(uvpg_conn_t *conn, const char *sql,
                                   int nparams, const char *const *params,
                                   const uvpg_query_opts_t *opts,
                                   uvpg_query_cb cb, void *data,
                                   uvpg_query_req_t **req) UVPG_NOEXCEPT {
  if (!conn || !sql || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    auto o = make_c_query(sql, nparams > 0, nparams, cb, data);
    if (!o->refused) {
      o->simple = nparams == 0;
      add_text_params(o.get(), static_cast<size_t>(nparams), params);
    }
    if (opts) {
      o->timeout = std::chrono::milliseconds(opts->timeout_ms);
    }
    if (req) {
      *req = o.get();
    }
    conn->submit(o.release());
    return 0;
  });
}

UVPG_EXTERN int uvpg_query_cancel(uvpg_query_req_t *req) UVPG_NOEXCEPT {
  if (!req) {
    return UV_EINVAL;
  }
  // Queued after a close or a loss: it fails with the connection.
  if (!req->owner) {
    return UV_EALREADY;
  }
  return capi_guard(
      [&] { return req->owner->cancel_op(req) ? 0 : UV_EALREADY; });
}

UVPG_EXTERN int uvpg_conn_cancel(uvpg_conn_t *conn, uvpg_cancel_cb cb,
                                 void *data) UVPG_NOEXCEPT {
  if (!conn) {
    return UV_EINVAL;
  }
  if (conn->is_closed()) {
    return UVPG_ECLOSED;
  }
  return capi_guard([&] {
    conn->cancel_statement([conn, cb, data](int status) {
      if (cb) {
        cb(conn, status, data);
      }
    });
    return 0;
  });
}

UVPG_EXTERN int uvpg_conn_executemany(uvpg_conn_t *conn, const char *sql,
                                      int nsets, int nparams,
                                      const char *const *params,
                                      uvpg_query_cb cb,
                                      void *data) UVPG_NOEXCEPT {
  if (!conn || !sql || nsets < 0 || nparams < 0 ||
      (nsets > 0 && nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    auto o = make_c_query(sql, nparams > 0, nparams, cb, data);
    if (!o->refused && nsets == 0) {
      // Nothing to run: completes, in its turn, with an empty success.
      o->sql = "";
    } else if (!o->refused) {
      o->rows = static_cast<size_t>(nsets);
      add_text_params(o.get(), o->rows * static_cast<size_t>(nparams),
                      params);
    }
    conn->submit(o.release());
    return 0;
  });
}

UVPG_EXTERN int uvpg_conn_prepare(uvpg_conn_t *conn, const char *name,
                                  const char *sql, uvpg_query_cb cb,
                                  void *data) UVPG_NOEXCEPT {
  if (!conn || !name || !*name || !sql) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    auto o = make_c_query(sql, true, -1, cb, data);
    if (!o->refused && uvpg::detail::shape_of(o->sql).copy) {
      o->refused = UVPG_EPARAM;
      o->refused_why = "uvpg_conn_prepare: a COPY cannot be prepared; use "
                       "uvpg_conn_copy_in() or uvpg_conn_copy_out()";
    }
    o->named = name;
    o->describe = !o->refused;
    conn->submit(o.release());
    return 0;
  });
}

UVPG_EXTERN int uvpg_conn_query_prepared(uvpg_conn_t *conn, const char *name,
                                         int nparams,
                                         const char *const *params,
                                         uvpg_query_cb cb,
                                         void *data) UVPG_NOEXCEPT {
  if (!conn || !name || !*name || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    auto o = std::make_unique<c_query>();
    o->cb = cb;
    o->data = data;
    o->named = name;
    o->simple = false;
    add_text_params(o.get(), static_cast<size_t>(nparams), params);
    conn->submit(o.release());
    return 0;
  });
}

UVPG_EXTERN int uvpg_result_nparams(const uvpg_result_t *res) UVPG_NOEXCEPT {
  return res ? PQnparams(pgres(res)) : -1;
}

UVPG_EXTERN unsigned int uvpg_result_paramtype(const uvpg_result_t *res,
                                               int index) UVPG_NOEXCEPT {
  return res ? PQparamtype(pgres(res), index) : 0;
}

UVPG_EXTERN void uvpg_conn_close(uvpg_conn_t *conn, uvpg_close_cb cb,
                                 void *data) UVPG_NOEXCEPT {
  if (!conn) {
    return;
  }
  capi_guard_or(nothing, [&] {
    // Without memory for the waiter the connection still closes; only
    // the callback is lost.
    conn->close(cb ? new (std::nothrow) c_close(cb, data) : nullptr);
  });
}

UVPG_EXTERN const char *
uvpg_conn_error_message(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return conn ? conn->error_msg.c_str() : "";
}

UVPG_EXTERN const char *
uvpg_conn_error_sqlstate(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return conn && !conn->error_sqlstate.empty()
             ? conn->error_sqlstate.c_str()
             : nullptr;
}

UVPG_EXTERN void uvpg_conn_set_data(uvpg_conn_t *conn,
                                    void *data) UVPG_NOEXCEPT {
  if (conn) {
    conn->user_data = data;
  }
}

UVPG_EXTERN void *uvpg_conn_get_data(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return conn ? conn->user_data : nullptr;
}

UVPG_EXTERN uv_loop_t *
uvpg_conn_get_loop(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return conn ? conn->loop : nullptr;
}

// ---- properties: the engine's (src/engine/properties.cc) ----

UVPG_EXTERN int uvpg_conn_is_closed(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return !conn || conn->is_closed();
}

UVPG_EXTERN uvpg_conn_status_t
uvpg_conn_get_status(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return conn ? conn->status() : UVPG_CONN_CLOSED;
}

UVPG_EXTERN uvpg_trans_status_t
uvpg_conn_get_transaction_status(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return conn ? conn->transaction_status() : UVPG_TRANS_UNKNOWN;
}

UVPG_EXTERN const char *uvpg_conn_get_dsn(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT {
  return conn ? conn->dsn.c_str() : "";
}

UVPG_EXTERN int uvpg_conn_get_backend_pid(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT {
  return conn ? conn->backend_pid() : 0;
}

UVPG_EXTERN int uvpg_conn_get_behind_pooler(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT {
  return conn && conn->behind_pooler ? 1 : 0;
}

UVPG_EXTERN const char *
uvpg_conn_get_parameter_status(const uvpg_conn_t *conn,
                               const char *name) UVPG_NOEXCEPT {
  return conn ? conn->parameter_status(name) : nullptr;
}

UVPG_EXTERN int uvpg_conn_get_protocol_version(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT {
  return conn ? conn->protocol_version() : 0;
}

UVPG_EXTERN int uvpg_conn_get_server_version(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT {
  return conn ? conn->server_version() : 0;
}

UVPG_EXTERN const char *uvpg_conn_get_encoding(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT {
  return conn ? conn->encoding() : nullptr;
}

UVPG_EXTERN int uvpg_conn_get_autocommit(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT {
  return conn && conn->autocommit() ? 1 : 0;
}

UVPG_EXTERN const char *
uvpg_conn_get_isolation_level(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return conn && !conn->isolation.empty() ? conn->isolation.c_str()
                                          : nullptr;
}

UVPG_EXTERN unsigned int uvpg_conn_get_timeout(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT {
  return conn ? static_cast<unsigned int>(conn->opts.timeout.count()) : 0;
}

UVPG_EXTERN int uvpg_conn_get_echo(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return conn && conn->opts.echo;
}

// ---- results: libpq's, with range checks libpq leaves to the caller ----

UVPG_EXTERN int uvpg_result_ntuples(const uvpg_result_t *res) UVPG_NOEXCEPT {
  return res ? PQntuples(pgres(res)) : 0;
}

UVPG_EXTERN int uvpg_result_nfields(const uvpg_result_t *res) UVPG_NOEXCEPT {
  return res ? PQnfields(pgres(res)) : 0;
}

UVPG_EXTERN const char *uvpg_result_fname(const uvpg_result_t *res,
                                          int col) UVPG_NOEXCEPT {
  return res ? PQfname(pgres(res), col) : nullptr;
}

UVPG_EXTERN int uvpg_result_fnumber(const uvpg_result_t *res,
                                    const char *name) UVPG_NOEXCEPT {
  return res && name ? PQfnumber(pgres(res), name) : -1;
}

UVPG_EXTERN unsigned int uvpg_result_ftype(const uvpg_result_t *res,
                                           int col) UVPG_NOEXCEPT {
  return res ? PQftype(pgres(res), col) : 0;
}


UVPG_EXTERN const char *uvpg_result_value(const uvpg_result_t *res, int row,
                                          int col) UVPG_NOEXCEPT {
  return in_range(res, row, col) ? PQgetvalue(pgres(res), row, col)
                                 : nullptr;
}

UVPG_EXTERN int uvpg_result_length(const uvpg_result_t *res, int row,
                                   int col) UVPG_NOEXCEPT {
  return in_range(res, row, col) ? PQgetlength(pgres(res), row, col) : 0;
}

UVPG_EXTERN int uvpg_result_isnull(const uvpg_result_t *res, int row,
                                   int col) UVPG_NOEXCEPT {
  return in_range(res, row, col) ? PQgetisnull(pgres(res), row, col) : 1;
}

UVPG_EXTERN int uvpg_result_fmod(const uvpg_result_t *res, int col)
    UVPG_NOEXCEPT {
  return res ? PQfmod(pgres(res), col) : -1;
}

UVPG_EXTERN int uvpg_result_fsize(const uvpg_result_t *res, int col)
    UVPG_NOEXCEPT {
  return res ? PQfsize(pgres(res), col) : 0;
}

UVPG_EXTERN const char *uvpg_result_cmd_status(const uvpg_result_t *res)
    UVPG_NOEXCEPT {
  return res ? PQcmdStatus(const_cast<PGresult *>(pgres(res))) : "";
}

UVPG_EXTERN long long uvpg_result_cmd_tuples(const uvpg_result_t *res)
    UVPG_NOEXCEPT {
  if (!res) {
    return -1;
  }
  const char *n = PQcmdTuples(const_cast<PGresult *>(pgres(res)));
  return *n ? std::strtoll(n, nullptr, 10) : -1;
}

UVPG_EXTERN const char *uvpg_result_error_message(const uvpg_result_t *res)
    UVPG_NOEXCEPT {
  return res ? PQresultErrorMessage(pgres(res)) : "";
}

UVPG_EXTERN const char *uvpg_result_error_field(const uvpg_result_t *res,
                                                int field) UVPG_NOEXCEPT {
  return res ? PQresultErrorField(pgres(res), field) : nullptr;
}

UVPG_EXTERN void uvpg_result_free(uvpg_result_t *res) UVPG_NOEXCEPT {
  PQclear(reinterpret_cast<PGresult *>(res));
}

UVPG_EXTERN int uvpg_conn_register_type(uvpg_conn_t *conn,
                                        const char *type_name,
                                        uvpg_decode_cb decode,
                                        void *decode_data,
                                        uvpg_register_cb cb, void *data)
    UVPG_NOEXCEPT {
  if (!conn || !type_name || !decode) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    conn->register_type(type_name, decode, decode_data,
                        [conn, cb, data](int status, uvpg::oid_t oid) {
                          if (cb) {
                            cb(conn, status, oid, data);
                          }
                        });
    return 0;
  });
}

UVPG_EXTERN int uvpg_result_get_custom(const uvpg_result_t *res, int row,
                                       int col, void *out) UVPG_NOEXCEPT {
  if (!in_range(res, row, col)) {
    return UV_EINVAL;
  }
  const PGresult *pg = pgres(res);
  if (PQgetisnull(pg, row, col)) {
    return 1;
  }
  const uvpg::detail::type_context *ctx = uvpg::detail::context_of(pg);
  if (!ctx) {
    return UVPG_ENOCODEC;
  }
  auto it = ctx->registry.find(PQftype(pg, col));
  if (it == ctx->registry.end() || !it->second.decode) {
    return UVPG_ENOCODEC;
  }
  int rc = it->second.decode(PQgetvalue(pg, row, col),
                             PQgetlength(pg, row, col),
                             PQfformat(pg, col) == 1, PQftype(pg, col), out,
                             it->second.decode_data);
  return rc > 0 ? 0 : rc;
}

UVPG_EXTERN int uvpg_result_get_bool(const uvpg_result_t *res, int row,
                                     int col, int *out) UVPG_NOEXCEPT {
  return get_typed<bool>(res, row, col, out);
}

UVPG_EXTERN int uvpg_result_get_int64(const uvpg_result_t *res, int row,
                                      int col, long long *out) UVPG_NOEXCEPT {
  return get_typed<int64_t>(res, row, col, out);
}

UVPG_EXTERN int uvpg_result_get_double(const uvpg_result_t *res, int row,
                                       int col, double *out) UVPG_NOEXCEPT {
  return get_typed<double>(res, row, col, out);
}

} // extern "C"
