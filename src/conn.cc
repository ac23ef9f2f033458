// Connection lifecycle (construction, close, deferred free), properties,
// and the C++ connection handle.
//
// Freeing is deferred until every libuv handle and request the engine
// owns has reported back, so uvpg_conn_close() is legal from inside any
// callback of the same connection: the engine only marks itself closed,
// and the code that ran the callback sees `close_requested` and stops
// touching libpq.  Operations still pending complete with UV_ECANCELED,
// from the loop, just before the close callback.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "engine/engine.hh"
#include "engine/cancel.hh"
#include "sql.hh"

namespace uvpg::detail {

conn_impl::conn_impl(uv_loop_t *l, const connect_options &o)
    : loop(l), opts(o), types(new type_context) {
  types->enable_json = o.enable_json;
  types->enable_hstore = o.enable_hstore;
  types->enable_uuid = o.enable_uuid;
  if (opts.max_pipeline == 0) {
    opts.max_pipeline = 1;
  }
  if (opts.cancel_timeout.count() <= 0) {
    opts.cancel_timeout = connect_options{}.cancel_timeout;
  }
  stmts = new stmt_cache;
  stmts->prefix = statement_prefix();
  stmts->capacity = o.statement_cache_size;
  stmts->lifetime_ms =
      static_cast<uint64_t>(o.max_cached_statement_lifetime.count()) * 1000;
  stmts->max_size = o.max_cacheable_statement_size;
  uv_timer_init(loop, &timer);
  timer.data = this;
  uv_timer_init(loop, &deadline_timer);
  deadline_timer.data = this;
  open_handles += 2;
}

conn_impl::~conn_impl() {
  if (pg) {
    PQfinish(pg);
  }
  delete stmts;
  release(types);
}

void conn_impl::set_error(std::string msg, std::string sqlstate) {
  while (!msg.empty() && msg.back() == '\n') {
    msg.pop_back();
  }
  error_msg = std::move(msg);
  error_sqlstate = std::move(sqlstate);
  error_outcome_unknown = false;
}

void conn_impl::notice_receiver(void *arg, const PGresult *res) {
  auto *c = static_cast<conn_impl *>(arg);
  const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  // A FATAL outside a query (e.g. pg_terminate_backend while idle) comes
  // here; keep it to explain the disconnect that follows.
  if (sev && std::string_view(sev) == "FATAL") {
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    c->fatal_message = PQresultErrorMessage(res);
    c->fatal_sqlstate = state ? state : "";
    return;
  }
  // libpq calls this from inside PQconsumeInput/PQgetResult: the notice
  // is copied and queued, never handed to the program here.
  session_notice(c, res);
}

void conn_impl::close(close_waiter *w) {
  if (close_requested) {
    delete w; // a second close is a programming error: ignored
    return;
  }
  close_requested = true;
  ++generation; // every conn_ref taken so far is released
  on_close = w;
  if (resolver_busy) {
    // Its callback still comes (with UV_ECANCELED or a late result);
    // resolved() then releases the handle count it holds.
    uv_cancel(reinterpret_cast<uv_req_t *>(&resolver));
  }
  if (cancel_pending) {
    // Closing never waits for a cancel request: it stops now.
    std::exchange(cancel_pending, nullptr)->abandon();
  }
  unwatch();
  if (pg) {
    // The server rolls back an open transaction when the session ends.
    PQfinish(std::exchange(pg, nullptr));
  }
  st = state::closing;
  for (uv_timer_t *t : {&timer, &deadline_timer}) {
    uv_timer_stop(t);
    uv_close(reinterpret_cast<uv_handle_t *>(t), [](uv_handle_t *h) {
      static_cast<conn_impl *>(h->data)->handle_closed();
    });
  }
}

void conn_impl::register_type(std::string name, uvpg_decode_cb decode,
                              void *decode_data,
                              std::function<void(int, oid_t)> done) {
  struct lookup final : op {
    std::string type_name;
    uvpg_decode_cb decode = nullptr;
    void *decode_data = nullptr;
    std::function<void(int, oid_t)> done;
    void complete(conn_impl *c, int status, PGresult *res) noexcept override {
      oid_t oid = 0;
      if (status >= 0 && res && PQntuples(res) == 1 &&
          !PQgetisnull(res, 0, 0)) {
        oid = static_cast<oid_t>(std::strtoul(PQgetvalue(res, 0, 0),
                                              nullptr, 10));
        c->types->registry[oid] = {type_name, decode, decode_data};
      } else if (status >= 0) {
        status = UV_ENOENT;
        c->set_error("type \"" + type_name + "\" does not exist");
      }
      PQclear(res);
      done(status, oid);
    }
  };
  auto *o = new lookup;
  o->internal = true;
  o->simple = false;
  o->sql = "SELECT to_regtype($1)::oid";
  encoded v;
  v.bytes = name;
  o->values.push_back(std::move(v));
  o->type_name = std::move(name);
  o->decode = decode;
  o->decode_data = decode_data;
  o->done = std::move(done);
  submit(o);
}

void conn_impl::observe(free_observer *o) noexcept {
  o->next_observer = observers;
  observers = o;
}

void conn_impl::unobserve(free_observer *o) noexcept {
  for (free_observer **p = &observers; *p; p = &(*p)->next_observer) {
    if (*p == o) {
      *p = o->next_observer;
      o->next_observer = nullptr;
      return;
    }
  }
}

void conn_impl::handle_closed() {
  --open_handles;
  maybe_free();
}

void conn_impl::maybe_free() {
  if (!close_requested || open_handles > 0 || dispatching || in_entry) {
    return;
  }
  loop_scope scope(loop);
  // Everything pending completes first, then the close callback, then the
  // memory goes.  Callbacks may queue more work; it fails with ECLOSED.
  ++open_handles; // keep a nested handle_closed() from freeing twice
  ++in_entry;     // what is posted meanwhile is delivered here
  if (!canceled_all) {
    if (connect_waiter *w = std::exchange(on_connect, nullptr)) {
      set_error("connect canceled: the connection was closed");
      dispatch(this, [&] { w->done(this, UV_ECANCELED); });
      delete w;
    }
    fail_all(UV_ECANCELED);
    end_cancel_waiters(UV_ECANCELED,
                       "operation canceled: the connection was closed");
    run_callouts();
    canceled_all = true;
    // Objects bound to the connection fail their own pending work now,
    // and may hold the close callback back until they have.
    for (free_observer *o = observers; o;) {
      free_observer *next = o->next_observer;
      o->connection_closing();
      o = next;
    }
  }
  if (holds > 0) {
    --in_entry;
    --open_handles; // unhold() comes back here
    return;
  }
  if (close_waiter *w = std::exchange(on_close, nullptr)) {
    dispatch(this, [&] { w->done(this); });
    delete w;
  }
  fail_all(UVPG_ECLOSED);
  run_callouts();
  while (free_observer *o = observers) {
    observers = o->next_observer;
    o->next_observer = nullptr;
    o->connection_freed();
  }
  if (handle) {
    // Closed by another owner (a pool's terminate()) while the
    // program's handle lives: the handle reads as closed from now on.
    (void)handle->detach();
  }
  delete static_cast<uvpg_conn_s *>(this);
}

} // namespace uvpg::detail

// ---- the C++ handle ----

namespace uvpg {

using detail::conn_impl;

namespace {

struct promise_connect final : detail::connect_waiter {
  promise<connection> p;
  void done(conn_impl *c, int status) noexcept override {
    if (status >= 0) {
      p.set_value(connection(c));
      return;
    }
    auto e = detail::make_error(c, status, nullptr);
    c->close(nullptr); // nobody else holds it
    p.set_exception(e);
  }
};

struct promise_close final : detail::close_waiter {
  promise<void> p;
  void done(conn_impl *) noexcept override { p.set_value(); }
};

// A query's op is also its future's shared state: one allocation per
// query.  The engine holds one reference until retire(), the future the
// other.
struct promise_query final : detail::op, detail::state<result> {
  void complete(conn_impl *c, int status, PGresult *res) noexcept override {
    if (status >= 0) {
      set(result(res, c->types));
      return;
    }
    auto e = detail::make_error(c, status, res, sql);
    PQclear(res);
    fail(e);
  }
  void retire() noexcept override { release(); }
  // future::cancel(): while pending, the op is still the engine's.
  bool cancel_requested() noexcept override {
    return owner && owner->cancel_op(this);
  }
};

// libpq sends text parameters up to their first NUL: the server would
// get a shorter value than the program gave.  (PostgreSQL text cannot
// hold NUL; bytea can, and goes in binary form.)
bool check_params(const params &args, size_t row, std::string &err) {
  for (size_t i = 0; i < args.size(); ++i) {
    const encoded &a = args[i];
    if (!a.null && !a.binary && a.bytes.find('\0') != std::string::npos) {
      err = "parameter $" + std::to_string(i + 1) +
            (row ? " of row " + std::to_string(row) : std::string()) +
            " holds a NUL byte, which a text value cannot; send bytes as "
            "uvpg::bytea";
      return false;
    }
  }
  return true;
}

future<result> fail_query(int status, const std::string &what) {
  return make_exception_future<result>(
      detail::status_error(status, what));
}

} // namespace

future<connection> connection::connect(uv_loop_t *loop,
                                       std::string_view conninfo,
                                       const connect_options &opts) {
  if (!loop) {
    throw usage_error("connection::connect: loop is null");
  }
  detail::loop_scope scope(loop);
  auto *c = new uvpg_conn_s(loop, opts);
  auto *w = new promise_connect;
  auto f = w->p.get_future();
  c->on_connect = w;
  c->start(std::string(conninfo).c_str());
  return f;
}

connection::connection(conn_impl *impl) noexcept : _impl(impl) {
  if (_impl) {
    _impl->handle = this;
  }
}

connection::connection(connection &&o) noexcept
    : _impl(std::exchange(o._impl, nullptr)) {
  if (_impl) {
    _impl->handle = this;
  }
}

connection &connection::operator=(connection &&o) noexcept {
  if (this != &o) {
    let_go();
    _impl = std::exchange(o._impl, nullptr);
    if (_impl) {
      _impl->handle = this;
    }
  }
  return *this;
}

connection::~connection() { let_go(); }

// A lent connection goes back to its pool; an owned one is closed.
void connection::let_go() noexcept {
  if (conn_impl *c = std::exchange(_impl, nullptr)) {
    c->handle = nullptr;
    if (c->lessor && !c->close_requested) {
      c->lessor->give_back(c);
    } else {
      c->close(nullptr);
    }
  }
}

conn_impl *connection::detach() noexcept {
  if (_impl) {
    _impl->handle = nullptr;
  }
  return std::exchange(_impl, nullptr);
}

// ---- prepared statements (uvpg/statement.hh) ----

namespace {

struct discard_op final : detail::op {
  void complete(conn_impl *, int, PGresult *res) noexcept override {
    PQclear(res);
  }
};

} // namespace

} // namespace uvpg

namespace uvpg::detail {

// A prepared statement's state: its connection (null once freed), name,
// parameter types and description.  The last handle deallocates it.
struct statement_shared final : free_observer {
  conn_impl *conn = nullptr;
  uint64_t generation = 0; // the lease it was prepared on
  std::string name;
  std::string sql;
  std::vector<oid_t> types;
  result columns;
  statement_shared() = default;
  statement_shared(const statement_shared &) = delete;
  statement_shared &operator=(const statement_shared &) = delete;
  ~statement_shared() {
    if (!conn) {
      return;
    }
    conn->unobserve(this);
    if (!conn->close_requested && conn->st == conn_impl::state::ready) {
      loop_scope scope(conn->loop);
      auto *o = new discard_op;
      o->sql = "DEALLOCATE " + name;
      o->simple = false;
      o->internal = true;
      conn->submit(o);
    }
  }
  void connection_freed() noexcept override { conn = nullptr; }
};

} // namespace uvpg::detail

namespace uvpg {

namespace {

struct prepare_op final : detail::op {
  promise<prepared_statement> p;
  void complete(conn_impl *c, int status, PGresult *res) noexcept override {
    if (status < 0) {
      p.set_exception(detail::make_error(c, status, res, sql));
      PQclear(res);
      return;
    }
    auto s = std::make_shared<detail::statement_shared>();
    s->conn = c;
    s->generation = c->generation;
    c->observe(s.get());
    s->name = named;
    s->sql = sql;
    for (int i = 0; res && i < PQnparams(res); ++i) {
      s->types.push_back(PQparamtype(res, i));
    }
    s->columns = result(res, c->types);
    p.set_value(prepared_statement(std::move(s)));
  }
};

// The values must fit the parameter types the server decided: a binary
// value is read by its parameter's type, so another type would be read
// as garbage or refused.
bool check_typed(const params &args, const std::vector<oid_t> &types,
                 size_t row, std::string &err) {
  std::string where = row ? " of row " + std::to_string(row) : "";
  if (args.size() != types.size()) {
    err = "the prepared statement takes " + std::to_string(types.size()) +
          " parameters but " + std::to_string(args.size()) +
          " were given" + where;
    return false;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const encoded &a = args[i];
    if (!a.null && a.binary && a.type != types[i]) {
      err = "parameter $" + std::to_string(i + 1) + where + " has type " +
            std::to_string(types[i]) + " but the value is of type " +
            std::to_string(a.type) + "; send the parameter's own type";
      return false;
    }
  }
  return check_params(args, row, err);
}

} // namespace

future<prepared_statement> connection::prepare(std::string_view sql) {
  if (!_impl) {
    return make_exception_future<prepared_statement>(
        detail::status_error(UVPG_ECLOSED,
                             "prepare on a closed connection"));
  }
  detail::loop_scope scope(_impl->loop);
  std::string err;
  size_t count = 0;
  auto text = detail::convert_placeholders(sql, true, nullptr, &count, err);
  if (text && detail::shape_of(*text).copy) {
    // A COPY must run alone, which a prepared statement does not.
    err = "prepare: a COPY cannot be prepared; use copy_in() or copy_out()";
    text.reset();
  }
  if (!text) {
    _impl->set_error(err);
    return make_exception_future<prepared_statement>(
        detail::status_error(UVPG_EPARAM, err));
  }
  auto *o = new prepare_op;
  auto f = o->p.get_future();
  o->sql = std::move(*text);
  o->named = _impl->stmts->prefix + "p" + std::to_string(++_impl->prepared_count);
  o->describe = true;
  o->simple = false;
  _impl->submit(o);
  return f;
}

future<result> prepared_statement::query(params args) const {
  return query(std::move(args), query_options{});
}

future<result> prepared_statement::query(params args,
                                         const query_options &opts) const {
  if (!_s) {
    throw usage_error("prepared_statement::query on an empty statement");
  }
  if (!_s->conn || _s->conn->close_requested) {
    return fail_query(UVPG_ECLOSED, "the statement's connection is closed");
  }
  if (_s->conn->generation != _s->generation) {
    throw usage_error("cannot call prepared_statement.query(): its "
                      "connection went back to its pool");
  }
  detail::loop_scope scope(_s->conn->loop);
  std::string err;
  if (!check_typed(args, _s->types, 0, err)) {
    _s->conn->set_error(err);
    return fail_query(UVPG_EPARAM, err);
  }
  auto *o = new promise_query;
  auto f = detail::future_of<result>(o);
  o->sql = _s->sql;
  o->named = _s->name;
  o->simple = false;
  o->binary_results = opts.binary_results;
  o->timeout = opts.timeout;
  o->values.assign(std::make_move_iterator(args.begin()),
                   std::make_move_iterator(args.end()));
  _s->conn->submit(o);
  return f;
}

future<void> prepared_statement::executemany(std::vector<params> rows) const {
  if (!_s) {
    throw usage_error("prepared_statement::executemany on an empty "
                      "statement");
  }
  if (!_s->conn) {
    return make_exception_future<void>(
        detail::status_error(UVPG_ECLOSED,
                             "the statement's connection is closed"));
  }
  if (rows.empty()) {
    return make_ready_future();
  }
  detail::loop_scope scope(_s->conn->loop);
  std::string err;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!check_typed(rows[r], _s->types, r + 1, err)) {
      _s->conn->set_error(err);
      return make_exception_future<void>(
          detail::status_error(UVPG_EPARAM, err));
    }
  }
  auto *o = new promise_query;
  auto f = detail::future_of<result>(o);
  o->sql = _s->sql;
  o->named = _s->name;
  o->simple = false;
  o->rows = rows.size();
  for (params &row : rows) {
    for (param &v : row) {
      o->values.push_back(std::move(v));
    }
  }
  _s->conn->submit(o);
  return std::move(f).then([](result) {});
}

const std::string &prepared_statement::sql() const { return _s->sql; }
const std::string &prepared_statement::name() const { return _s->name; }
const std::vector<oid_t> &prepared_statement::parameter_types() const {
  return _s->types;
}
const result &prepared_statement::columns() const { return _s->columns; }

future<result> connection::query(std::string_view sql) {
  return query(sql, params{});
}

future<result> connection::query(std::string_view sql, params args) {
  return query(sql, std::move(args), query_options{});
}

future<void> connection::executemany(std::string_view sql,
                                     std::vector<params> rows) {
  return executemany(sql, std::move(rows), query_options{});
}

future<void> connection::executemany(std::string_view sql,
                                     std::vector<params> rows,
                                     const query_options &opts) {
  if (!_impl) {
    return make_exception_future<void>(
        detail::status_error(UVPG_ECLOSED,
                             "executemany on a closed connection"));
  }
  detail::loop_scope scope(_impl->loop);
  if (rows.empty()) {
    return make_ready_future();
  }
  std::string err;
  size_t count = 0;
  size_t n = rows[0].size();
  auto text = detail::convert_placeholders(sql, n > 0, nullptr, &count, err);
  if (text && count && count != n) {
    err = "the statement has " + std::to_string(count) +
          " placeholders but " + std::to_string(n) +
          " parameters were given";
    text.reset();
  }
  // One statement is prepared for every set: each column keeps the type
  // and form of its first non-null value.
  std::vector<const encoded *> first(n, nullptr);
  for (size_t r = 0; text && r < rows.size(); ++r) {
    if (rows[r].size() != n) {
      err = "executemany: row " + std::to_string(r + 1) + " has " +
            std::to_string(rows[r].size()) + " parameters, row 1 has " +
            std::to_string(n);
      text.reset();
      break;
    }
    if (!check_params(rows[r], r + 1, err)) {
      text.reset();
      break;
    }
    for (size_t i = 0; i < n; ++i) {
      const encoded &v = rows[r][i];
      if (v.null) {
        continue;
      }
      if (!first[i]) {
        first[i] = &v;
      } else if (first[i]->type != v.type || first[i]->binary != v.binary) {
        err = "executemany: parameter $" + std::to_string(i + 1) +
              " of row " + std::to_string(r + 1) +
              " has another type than in the rows before it";
        text.reset();
        break;
      }
    }
  }
  if (!text) {
    _impl->set_error(err);
    return make_exception_future<void>(
        detail::status_error(UVPG_EPARAM, err));
  }
  auto *o = new promise_query;
  auto f = detail::future_of<result>(o);
  o->sql = std::move(*text);
  o->simple = false;
  o->timeout = opts.timeout;
  o->binary_results = opts.binary_results;
  o->rows = rows.size();
  o->values.reserve(rows.size() * n);
  for (params &row : rows) {
    for (param &v : row) {
      o->values.push_back(std::move(v));
    }
  }
  _impl->submit(o);
  return std::move(f).then([](result) {});
}

future<result> connection::query(std::string_view sql, params args,
                                 const query_options &opts) {
  if (!_impl) {
    return fail_query(UVPG_ECLOSED, "query on a closed connection");
  }
  return detail::submit_query(_impl, sql, std::move(args), opts);
}

bool detail::fill_query_op(conn_impl *c, op *o, std::string_view sql,
                           params args, const query_options &opts,
                           std::string &err) {
  size_t count = 0;
  auto text = detail::convert_placeholders(sql, !args.empty(), nullptr, &count,
                                           err);
  if (text && count && count != args.size()) {
    err = "the statement has " + std::to_string(count) +
          " placeholders but " + std::to_string(args.size()) +
          " parameters were given";
    text.reset();
  }
  if (text && !check_params(args, 0, err)) {
    text.reset();
  }
  if (!text) {
    c->set_error(err);
    return false;
  }
  o->sql = std::move(*text);
  // Binary results need the extended protocol, even without parameters.
  o->simple = args.empty() && !opts.binary_results;
  o->binary_results = opts.binary_results;
  o->timeout = opts.timeout;
  o->values.assign(std::make_move_iterator(args.begin()),
                   std::make_move_iterator(args.end()));
  return true;
}

future<result> detail::submit_query(conn_impl *_impl, std::string_view sql,
                                    params args, const query_options &opts) {
  detail::loop_scope scope(_impl->loop);
  std::string err;
  auto *o = new promise_query;
  if (!fill_query_op(_impl, o, sql, std::move(args), opts, err)) {
    o->release();
    return fail_query(UVPG_EPARAM, err);
  }
  auto f = detail::future_of<result>(o);
  _impl->submit(o);
  return f;
}

future<result> connection::query(std::string_view sql,
                                 const named_params &args) {
  if (!_impl) {
    return fail_query(UVPG_ECLOSED, "query on a closed connection");
  }
  detail::loop_scope scope(_impl->loop);
  try {
    auto [text, values] = detail::bind_named(sql, args);
    return query(text, std::move(values));
  } catch (const error &e) {
    _impl->set_error(e.what());
    return fail_query(e.status(), e.what());
  }
}

future<oid_t> connection::register_type(std::string_view type_name) {
  if (!_impl) {
    return make_exception_future<oid_t>(
        detail::status_error(UVPG_ECLOSED,
                             "register_type on a closed connection"));
  }
  detail::loop_scope scope(_impl->loop);
  promise<oid_t> p(_impl->loop);
  auto f = p.get_future();
  conn_impl *c = _impl;
  _impl->register_type(
      std::string(type_name), nullptr, nullptr,
      [c, p = std::make_shared<promise<oid_t>>(std::move(p))](
          int status, oid_t oid) {
        if (status < 0) {
          p->set_exception(detail::make_error(c, status, nullptr));
        } else {
          p->set_value(oid);
        }
      });
  return f;
}

future<void> connection::close() {
  if (!_impl) {
    return make_ready_future();
  }
  auto *w = new promise_close;
  auto f = w->p.get_future();
  _impl->handle = nullptr;
  std::exchange(_impl, nullptr)->close(w);
  return f;
}

future<void> connection::cancel() {
  if (!_impl || _impl->is_closed()) {
    return make_exception_future<void>(detail::status_error(
        UVPG_ECLOSED, "cancel on a closed connection"));
  }
  conn_impl *c = _impl;
  auto p = std::make_shared<promise<void>>(c->loop);
  auto f = p->get_future();
  c->cancel_statement([c, p](int status) {
    if (status == 0) {
      p->set_value();
    } else {
      p->set_exception(detail::make_error(c, status, nullptr));
    }
  });
  return f;
}

bool connection::closed() const noexcept {
  return !_impl || _impl->is_closed();
}
std::string connection::dsn() const { return _impl ? _impl->dsn : ""; }
int connection::backend_pid() const noexcept {
  return _impl ? _impl->backend_pid() : 0;
}
std::optional<std::string>
connection::parameter_status(std::string_view name) const {
  const char *v =
      _impl ? _impl->parameter_status(std::string(name).c_str()) : nullptr;
  return v ? std::optional<std::string>(v) : std::nullopt;
}
int connection::transaction_status() const noexcept {
  return _impl ? _impl->transaction_status() : UVPG_TRANS_UNKNOWN;
}
int connection::protocol_version() const noexcept {
  return _impl ? _impl->protocol_version() : 0;
}
int connection::server_version() const noexcept {
  return _impl ? _impl->server_version() : 0;
}
int connection::status() const noexcept {
  return _impl ? _impl->status() : UVPG_CONN_CLOSED;
}
std::string connection::encoding() const {
  const char *e = _impl ? _impl->encoding() : nullptr;
  return e ? e : "";
}
bool connection::autocommit() const noexcept {
  return !_impl || _impl->autocommit();
}
std::string connection::isolation_level() const {
  return _impl ? _impl->isolation : "";
}
std::chrono::milliseconds connection::timeout() const noexcept {
  return _impl ? _impl->opts.timeout : std::chrono::milliseconds(0);
}
bool connection::echo() const noexcept { return _impl && _impl->opts.echo; }
std::string connection::error_message() const {
  return _impl ? _impl->error_msg : "connection is closed";
}
uv_loop_t *connection::loop() const noexcept {
  return _impl ? _impl->loop : nullptr;
}

} // namespace uvpg
