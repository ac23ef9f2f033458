// The C ABI: a thin shim over the C++ engine.  Every entry point is
// noexcept in effect: nothing below throws except allocation, which is
// caught and reported as UV_ENOMEM.
#include <new>

#include "../internal.hh"
#include "../types/wire.hh"

using uvpg::detail::conn_impl;

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

struct c_query final : uvpg::detail::op {
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

// The op of a C statement: `sql` with %s placeholders converted, checked
// against `nparams`.  A mistake makes it a refused op, which fails in
// its turn through the callback like any other query error.
c_query *make_c_query(const char *sql, bool with_params, int nparams,
                      uvpg_query_cb cb, void *data) {
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
  auto *o = new c_query;
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
// both wire forms.  0: *out set; 1: SQL NULL, *out untouched; < 0: error.
template <class T, class Out>
int get_typed(const uvpg_result_t *res, int row, int col, Out *out) {
  if (!out || !in_range(res, row, col)) {
    return UV_EINVAL;
  }
  const PGresult *pg = pgres(res);
  if (PQgetisnull(pg, row, col)) {
    return 1;
  }
  const uvpg::detail::type_context *ctx = uvpg::detail::context_of(pg);
  uvpg::field f(PQgetvalue(pg, row, col), PQgetlength(pg, row, col), false,
                uvpg::detail::base_type(PQftype(pg, col), ctx),
                PQfformat(pg, col) == 1, PQfname(pg, col), ctx);
  try {
    *out = static_cast<Out>(uvpg::codec<T>::decode(f));
    return 0;
  } catch (const uvpg::error &e) {
    return e.status();
  } catch (...) {
    return UVPG_EINTERNAL;
  }
}

} // namespace

extern "C" {

UVPG_EXTERN void uvpg_connect_opts_init(uvpg_connect_opts_t *opts) {
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
}

UVPG_EXTERN int uvpg_connect(uv_loop_t *loop, const char *conninfo,
                             const uvpg_connect_opts_t *opts,
                             uvpg_connect_cb cb, void *data) {
  if (!loop || !cb) {
    return UV_EINVAL;
  }
  uvpg_connect_opts_t defaults;
  if (!opts) {
    uvpg_connect_opts_init(&defaults);
    opts = &defaults;
  }
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
  try {
    uvpg::detail::loop_scope scope(loop);
    auto *c = new uvpg_conn_s(loop, o);
    c->on_connect = new c_connect(cb, data);
    c->start(conninfo);
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  }
}

UVPG_EXTERN int uvpg_conn_query(uvpg_conn_t *conn, const char *sql,
                                int nparams, const char *const *params,
                                uvpg_query_cb cb, void *data) {
  if (!conn || !sql || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  try {
    c_query *o = make_c_query(sql, nparams > 0, nparams, cb, data);
    if (!o->refused) {
      o->simple = nparams == 0;
      add_text_params(o, static_cast<size_t>(nparams), params);
    }
    conn->submit(o);
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  }
}

UVPG_EXTERN int uvpg_conn_executemany(uvpg_conn_t *conn, const char *sql,
                                      int nsets, int nparams,
                                      const char *const *params,
                                      uvpg_query_cb cb, void *data) {
  if (!conn || !sql || nsets < 0 || nparams < 0 ||
      (nsets > 0 && nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  try {
    c_query *o = make_c_query(sql, nparams > 0, nparams, cb, data);
    if (!o->refused && nsets == 0) {
      // Nothing to run: completes, in its turn, with an empty success.
      o->sql = "";
    } else if (!o->refused) {
      o->rows = static_cast<size_t>(nsets);
      add_text_params(o, o->rows * static_cast<size_t>(nparams), params);
    }
    conn->submit(o);
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  }
}

UVPG_EXTERN int uvpg_conn_prepare(uvpg_conn_t *conn, const char *name,
                                  const char *sql, uvpg_query_cb cb,
                                  void *data) {
  if (!conn || !name || !*name || !sql) {
    return UV_EINVAL;
  }
  try {
    c_query *o = make_c_query(sql, true, -1, cb, data);
    if (!o->refused && uvpg::detail::shape_of(o->sql).copy) {
      o->refused = UVPG_EPARAM;
      o->refused_why = "uvpg_conn_prepare: a COPY cannot be prepared; use "
                       "uvpg_conn_copy_in() or uvpg_conn_copy_out()";
    }
    o->named = name;
    o->describe = !o->refused;
    conn->submit(o);
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  }
}

UVPG_EXTERN int uvpg_conn_query_prepared(uvpg_conn_t *conn, const char *name,
                                         int nparams,
                                         const char *const *params,
                                         uvpg_query_cb cb, void *data) {
  if (!conn || !name || !*name || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  try {
    auto *o = new c_query;
    o->cb = cb;
    o->data = data;
    o->named = name;
    o->simple = false;
    add_text_params(o, static_cast<size_t>(nparams), params);
    conn->submit(o);
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  }
}

UVPG_EXTERN int uvpg_result_nparams(const uvpg_result_t *res) {
  return res ? PQnparams(pgres(res)) : -1;
}

UVPG_EXTERN unsigned int uvpg_result_paramtype(const uvpg_result_t *res,
                                               int index) {
  return res ? PQparamtype(pgres(res), index) : 0;
}

UVPG_EXTERN void uvpg_conn_close(uvpg_conn_t *conn, uvpg_close_cb cb,
                                 void *data) {
  if (!conn) {
    return;
  }
  try {
    conn->close(cb ? new c_close(cb, data) : nullptr);
  } catch (const std::bad_alloc &) {
    conn->close(nullptr); // still close; the callback is lost
  }
}

UVPG_EXTERN const char *uvpg_conn_error_message(const uvpg_conn_t *conn) {
  return conn ? conn->error_msg.c_str() : "";
}

UVPG_EXTERN const char *uvpg_conn_error_sqlstate(const uvpg_conn_t *conn) {
  return conn && !conn->error_sqlstate.empty()
             ? conn->error_sqlstate.c_str()
             : nullptr;
}

UVPG_EXTERN void uvpg_conn_set_data(uvpg_conn_t *conn, void *data) {
  if (conn) {
    conn->user_data = data;
  }
}

UVPG_EXTERN void *uvpg_conn_get_data(const uvpg_conn_t *conn) {
  return conn ? conn->user_data : nullptr;
}

UVPG_EXTERN uv_loop_t *uvpg_conn_get_loop(const uvpg_conn_t *conn) {
  return conn ? conn->loop : nullptr;
}

UVPG_EXTERN int uvpg_conn_is_closed(const uvpg_conn_t *conn) {
  return !conn || conn->close_requested ||
         conn->st == conn_impl::state::broken;
}

UVPG_EXTERN uvpg_conn_status_t uvpg_conn_get_status(const uvpg_conn_t *conn) {
  if (!conn || conn->close_requested) {
    return UVPG_CONN_CLOSED;
  }
  switch (conn->st) {
  case conn_impl::state::resolving:
  case conn_impl::state::connecting:
    return UVPG_CONN_CONNECTING;
  case conn_impl::state::ready:
    if (conn->on_connect) {
      return UVPG_CONN_CONNECTING;
    }
    return conn->busy() ? UVPG_CONN_BUSY
                                                  : UVPG_CONN_READY;
  case conn_impl::state::broken:
    return UVPG_CONN_BROKEN;
  default:
    return UVPG_CONN_CLOSED;
  }
}

namespace {
// libpq answers only for a live session; a closed or lost one has none.
const PGconn *live_pg(const uvpg_conn_t *conn) {
  return conn && conn->st == conn_impl::state::ready ? conn->pg : nullptr;
}
} // namespace

UVPG_EXTERN uvpg_trans_status_t
uvpg_conn_get_transaction_status(const uvpg_conn_t *conn) {
  const PGconn *pg = live_pg(conn);
  return pg ? static_cast<uvpg_trans_status_t>(PQtransactionStatus(pg))
            : UVPG_TRANS_UNKNOWN;
}

UVPG_EXTERN const char *uvpg_conn_get_dsn(const uvpg_conn_t *conn) {
  return conn ? conn->dsn.c_str() : "";
}

UVPG_EXTERN int uvpg_conn_get_backend_pid(const uvpg_conn_t *conn) {
  const PGconn *pg = live_pg(conn);
  return pg ? PQbackendPID(pg) : 0;
}

UVPG_EXTERN const char *uvpg_conn_get_parameter_status(const uvpg_conn_t *conn,
                                                       const char *name) {
  const PGconn *pg = live_pg(conn);
  return pg && name ? PQparameterStatus(pg, name) : nullptr;
}

UVPG_EXTERN int uvpg_conn_get_protocol_version(const uvpg_conn_t *conn) {
  const PGconn *pg = live_pg(conn);
  return pg ? PQprotocolVersion(pg) : 0;
}

UVPG_EXTERN int uvpg_conn_get_server_version(const uvpg_conn_t *conn) {
  const PGconn *pg = live_pg(conn);
  return pg ? PQserverVersion(pg) : 0;
}

UVPG_EXTERN const char *uvpg_conn_get_encoding(const uvpg_conn_t *conn) {
  const PGconn *pg = live_pg(conn);
  return pg ? PQparameterStatus(pg, "client_encoding") : nullptr;
}

UVPG_EXTERN int uvpg_conn_get_autocommit(const uvpg_conn_t *conn) {
  return conn ? 1 : 0;
}

UVPG_EXTERN const char *uvpg_conn_get_isolation_level(const uvpg_conn_t *conn) {
  return conn && !conn->isolation.empty() ? conn->isolation.c_str()
                                          : nullptr;
}

UVPG_EXTERN unsigned int uvpg_conn_get_timeout(const uvpg_conn_t *conn) {
  return conn ? static_cast<unsigned int>(conn->opts.timeout.count()) : 0;
}

UVPG_EXTERN int uvpg_conn_get_echo(const uvpg_conn_t *conn) {
  return conn && conn->opts.echo;
}

// ---- results: libpq's, with range checks libpq leaves to the caller ----

UVPG_EXTERN int uvpg_result_ntuples(const uvpg_result_t *res) {
  return res ? PQntuples(pgres(res)) : 0;
}

UVPG_EXTERN int uvpg_result_nfields(const uvpg_result_t *res) {
  return res ? PQnfields(pgres(res)) : 0;
}

UVPG_EXTERN const char *uvpg_result_fname(const uvpg_result_t *res,
                                          int col) {
  return res ? PQfname(pgres(res), col) : nullptr;
}

UVPG_EXTERN int uvpg_result_fnumber(const uvpg_result_t *res,
                                    const char *name) {
  return res && name ? PQfnumber(pgres(res), name) : -1;
}

UVPG_EXTERN unsigned int uvpg_result_ftype(const uvpg_result_t *res,
                                           int col) {
  return res ? PQftype(pgres(res), col) : 0;
}


UVPG_EXTERN const char *uvpg_result_value(const uvpg_result_t *res, int row,
                                          int col) {
  return in_range(res, row, col) ? PQgetvalue(pgres(res), row, col)
                                 : nullptr;
}

UVPG_EXTERN int uvpg_result_length(const uvpg_result_t *res, int row,
                                   int col) {
  return in_range(res, row, col) ? PQgetlength(pgres(res), row, col) : 0;
}

UVPG_EXTERN int uvpg_result_isnull(const uvpg_result_t *res, int row,
                                   int col) {
  return in_range(res, row, col) ? PQgetisnull(pgres(res), row, col) : 1;
}

UVPG_EXTERN int uvpg_result_fmod(const uvpg_result_t *res, int col) {
  return res ? PQfmod(pgres(res), col) : -1;
}

UVPG_EXTERN int uvpg_result_fsize(const uvpg_result_t *res, int col) {
  return res ? PQfsize(pgres(res), col) : 0;
}

UVPG_EXTERN const char *uvpg_result_cmd_status(const uvpg_result_t *res) {
  return res ? PQcmdStatus(const_cast<PGresult *>(pgres(res))) : "";
}

UVPG_EXTERN long long uvpg_result_cmd_tuples(const uvpg_result_t *res) {
  if (!res) {
    return -1;
  }
  const char *n = PQcmdTuples(const_cast<PGresult *>(pgres(res)));
  return *n ? std::strtoll(n, nullptr, 10) : -1;
}

UVPG_EXTERN const char *uvpg_result_error_message(const uvpg_result_t *res) {
  return res ? PQresultErrorMessage(pgres(res)) : "";
}

UVPG_EXTERN const char *uvpg_result_error_field(const uvpg_result_t *res,
                                                int field) {
  return res ? PQresultErrorField(pgres(res), field) : nullptr;
}

UVPG_EXTERN void uvpg_result_free(uvpg_result_t *res) {
  PQclear(reinterpret_cast<PGresult *>(res));
}

UVPG_EXTERN int uvpg_conn_register_type(uvpg_conn_t *conn,
                                        const char *type_name,
                                        uvpg_decode_cb decode,
                                        void *decode_data,
                                        uvpg_register_cb cb, void *data) {
  if (!conn || !type_name || !decode) {
    return UV_EINVAL;
  }
  try {
    conn->register_type(type_name, decode, decode_data,
                        [conn, cb, data](int status, uvpg::oid_t oid) {
                          if (cb) {
                            cb(conn, status, oid, data);
                          }
                        });
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  }
}

UVPG_EXTERN int uvpg_result_get_custom(const uvpg_result_t *res, int row,
                                       int col, void *out) {
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
                                     int col, int *out) {
  return get_typed<bool>(res, row, col, out);
}

UVPG_EXTERN int uvpg_result_get_int64(const uvpg_result_t *res, int row,
                                      int col, long long *out) {
  return get_typed<int64_t>(res, row, col, out);
}

UVPG_EXTERN int uvpg_result_get_double(const uvpg_result_t *res, int row,
                                       int col, double *out) {
  return get_typed<double>(res, row, col, out);
}

} // extern "C"
