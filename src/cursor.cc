// uvpg::cursor: DB-API cursors over the connection's queue.
//
// Every statement goes through the connection's public queue, so a
// cursor's statements and the program's other queries run in the order
// they were queued.  Operations on one cursor are serialised by a "turn"
// (a FIFO gate): an operation starts at once when the cursor is idle,
// else when the one before it has finished.  The turn is the cursor's
// one ordering mechanism: an operation completes inside its turn, so
// outcomes come in call order, for the C ABI too (src/cursor.hh).  A
// C++ operation passes the turn on just before its future is fulfilled,
// so the continuation that consumes a row may ask for the next one and
// get it at once.
//
// Lifetime.  The state is shared by the cursor object and its pending
// operations (coroutines), so the cursor may go away while they finish.
// It holds the connection engine through a conn_ref (conn_ref.hh), never
// the program's uvpg::connection: the ref reads null once the connection
// is closed, and an operation checks it before it sends anything.  When
// the connection closes, connection_closing() comes once pending work
// of the engine's own failed; the cursor then holds the close callback
// back (conn_impl::hold()) until every operation in its turn finished,
// each with UV_ECANCELED (uvpg(7) rule 3).  Once the cursor is closed no
// operation sends anything more, except close() itself.
//
// Named cursors.  The cursor keeps at most one batch of rows (`res`),
// the rows just before the server's position `srv`:
//   res rows = [srv - res.rows(), srv),  rownumber = srv - res.rows() + pos
// A MOVE empties the batch; a FETCH replaces it.
#include <algorithm>
#include <cstring>
#include <deque>

#include "types/wire.hh"
#include "conn_ref.hh"
#include "cursor.hh"
#include "mogrify.hh"
#include "engine/engine.hh"
#include "sql.hh"
#include "transaction.hh"
#include "uvpg/cursor.hh"

namespace uvpg {

namespace detail {

struct cursor_state final : conn_ref::listener {
  explicit cursor_state(conn_impl *c) : conn(c, this), loop(c->loop) {}

  conn_ref conn; // the engine; null once the connection is closed
  uv_loop_t *loop;
  cursor_options opts;
  bool named = false;
  std::string qname; // the quoted name
  bool closed = false;

  // The turn: one operation at a time, in call order.
  bool busy = false;
  std::deque<promise<void>> waiters;
  unsigned c_calls = 0;   // C entry points of this cursor on the stack
  bool conn_held = false; // holds the connection's close callback back

  // What the last execute left.
  bool has_set = false; // a result set to read
  result res;           // client: the whole result; named: one batch
  int pos = 0;          // next row of `res`
  long long rowcount = -1;
  std::optional<oid_t> lastrowid;
  std::optional<std::string> query;
  std::optional<std::string> status;
  std::optional<std::vector<column>> desc;

  // Named cursors.
  bool declared = false;   // DECLARE sent and not known to have failed
  bool owns_tx = false;    // the cursor sent the BEGIN of the transaction
  bool tx_pending = false; // a probe decides owns_tx when its turn comes
  std::vector<promise<void>> tx_waiters;
  long long srv = 0;       // rows the server's position has passed
  bool at_end = false;     // the server stands after the last row
  long long total = -1;    // rows in the result set, once known

  /// Holds the close callback of the closing connection back while an
  /// operation is in the turn (released by release()).
  void hold_connection() noexcept {
    if (!conn_held) {
      conn_held = true;
      conn.engine()->hold();
    }
  }
  /// The connection is closed: what is in the turn must finish, each
  /// with UV_ECANCELED, before the close callback.
  void connection_closing() noexcept override {
    if (busy) {
      hold_connection();
    }
  }
  /// An operation takes the turn.  After connection_closing(), while
  /// other objects still hold the close callback back, it joins them
  /// (a close called from one of their callbacks); with no hold left the
  /// close callback is running or done, and nothing can be held.
  void turn_taken() noexcept {
    conn_impl *c = conn.engine();
    if (c && c->canceled_all && c->holds > 0) {
      hold_connection();
    }
  }
};

} // namespace detail

using detail::conn_impl;
using detail::cursor_state;
using state_ptr = std::shared_ptr<cursor_state>;

namespace {

// ---- errors ----

operation_canceled canceled() {
  return operation_canceled(UV_ECANCELED,
                            "cursor closed while the operation was pending");
}

// Throws when the cursor or its connection was closed while the caller
// was suspended (or waiting for its turn).
void alive(const state_ptr &s) {
  if (s->closed) {
    throw canceled();
  }
  if (!s->conn) {
    throw connection_closed(
        UV_ECANCELED,
        "the connection was closed while the operation was pending");
  }
}

void need_rows(const state_ptr &s, const char *what) {
  if (!s->has_set) {
    throw usage_error(std::string(what) +
                      ": the last execute produced no result set");
  }
}

// ---- the connection ----

// The engine of an open cursor, for a statement.
conn_impl &conn_of(const state_ptr &s) {
  alive(s);
  return *s->conn.get();
}

future<result> query(const state_ptr &s, std::string_view sql,
                     params args, const query_options &opts) {
  return detail::submit_query(&conn_of(s), sql, std::move(args), opts);
}

const char *conn_parameter(const cursor_state &s, const char *name) {
  conn_impl *c = s.conn.get();
  return c ? c->parameter_status(name) : nullptr;
}

// ---- the turn ----

future<void> acquire(const state_ptr &s) {
  if (!s->busy) {
    s->busy = true;
    s->turn_taken();
    return make_ready_future();
  }
  promise<void> p(s->loop);
  auto f = p.get_future();
  s->waiters.push_back(std::move(p));
  return f;
}

// Wakes `p` from the loop: the operation that finishes may be deep in
// its own completion (or unwinding), and the next one must not run
// there.
void wake_later(uv_loop_t *loop, promise<void> p) {
  detail::defer(loop, [p = std::move(p)]() mutable { p.set_value(); });
}

void release(const state_ptr &s) {
  if (!s->waiters.empty()) {
    promise<void> p = std::move(s->waiters.front());
    s->waiters.pop_front();
    wake_later(s->loop, std::move(p));
    return;
  }
  s->busy = false;
  if (s->conn_held) {
    // The last outcome is still to be handed over (the C++ future is
    // fulfilled after this returns); unhold() may run the close callback
    // and free the engine, so it comes from the loop, after that.
    s->conn_held = false;
    conn_impl *c = s->conn.engine();
    detail::defer(s->loop, [c] { c->unhold(); });
  }
}

// From the loop: outcomes of the C ABI never go out inside its calls.
future<void> next_tick(uv_loop_t *loop) {
  promise<void> p(loop);
  auto f = p.get_future();
  wake_later(loop, std::move(p));
  return f;
}

// An operation's outcome, kept while the turn passes on.
template <class T> struct outcome {
  std::optional<T> value;
  std::exception_ptr error;
  T take() {
    if (error) {
      std::rethrow_exception(error);
    }
    return std::move(*value);
  }
  future<T> as_future() {
    if (error) {
      return make_exception_future<T>(error);
    }
    return make_ready_future(std::move(*value));
  }
};
template <> struct outcome<void> {
  std::exception_ptr error;
  void take() {
    if (error) {
      std::rethrow_exception(error);
    }
  }
  future<void> as_future() {
    return error ? make_exception_future<void>(error) : make_ready_future();
  }
};

template <class T, class Body>
future<void> run_body(Body &body, outcome<T> &out) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await body();
    } else {
      out.value.emplace(co_await body());
    }
  } catch (...) {
    out.error = std::current_exception();
  }
}

// Runs `body()`, a future<T>, in the cursor's turn; the turn passes on
// before the returned future is fulfilled.  `body` is a plain callable
// (not a coroutine lambda) that calls a named coroutine.
template <class T, class Body> future<T> in_turn(state_ptr s, Body body) {
  co_await acquire(s);
  outcome<T> out;
  co_await run_body<T>(body, out);
  release(s);
  co_return out.take();
}

// As in_turn(), for the C ABI: `done` gets the outcome inside the turn,
// from the loop.
template <class T, class Body>
future<void> in_turn_c(state_ptr s, Body body,
                       detail::cursor_done<T> done) {
  co_await acquire(s);
  outcome<T> out;
  co_await run_body<T>(body, out);
  if (s->c_calls > 0) {
    co_await next_tick(s->loop); // never inside a call (uvpg(7) rule 2)
  }
  try {
    done(out.as_future());
  } catch (...) {
    // The C shim's functions catch what they can; nothing more to tell.
  }
  release(s);
}

future<void> until_tx_decided(const state_ptr &s) {
  if (!s->tx_pending) {
    return make_ready_future();
  }
  promise<void> p(s->loop);
  auto f = p.get_future();
  s->tx_waiters.push_back(std::move(p));
  return f;
}

void tx_decided(cursor_state *s) {
  s->tx_pending = false;
  // Synchronously: close() may be waiting, and it may queue its
  // statement only while the connection engine is known to be alive.
  for (auto &p : std::exchange(s->tx_waiters, {})) {
    p.set_value();
  }
}

// ---- SQL text ----

// A quoted identifier: "a""b".
std::string quote_ident(std::string_view name) {
  return detail::quote_identifier(name);
}

bool ident_start(unsigned char c) {
  return std::isalpha(c) || c == '_' || c >= 0x80;
}
bool ident_char(unsigned char c) {
  return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

// True for "f", "s.f", "\"My F\"", "s.\"f\"": identifiers joined by dots.
bool valid_procname(std::string_view p) {
  size_t i = 0;
  for (;;) {
    if (i >= p.size()) {
      return false;
    }
    if (p[i] == '"') {
      ++i;
      bool closed = false;
      while (i < p.size()) {
        if (p[i] == '"') {
          if (i + 1 < p.size() && p[i + 1] == '"') {
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        ++i;
      }
      if (!closed) {
        return false;
      }
    } else if (ident_start(static_cast<unsigned char>(p[i]))) {
      while (i < p.size() && ident_char(static_cast<unsigned char>(p[i]))) {
        ++i;
      }
    } else {
      return false;
    }
    if (i == p.size()) {
      return true;
    }
    if (p[i] != '.') {
      return false;
    }
    ++i;
  }
}


// What connection::query(sql, args) sends as its SQL text.
std::string converted(std::string_view sql, size_t nargs) {
  std::string err;
  size_t count = 0;
  auto text = detail::convert_placeholders(sql, nargs > 0, nullptr, &count,
                                           err);
  if (text && count && count != nargs) {
    err = "the statement has " + std::to_string(count) +
          " placeholders but " + std::to_string(nargs) +
          " parameters were given";
    text.reset();
  }
  if (!text) {
    throw programming_error(UVPG_EPARAM, err);
  }
  return *text;
}


// The connection's type information (null once it is gone).
const detail::type_context *types_of(const cursor_state &s) {
  return s.conn ? s.conn.get()->types : nullptr;
}

bool standard_strings(const cursor_state &s) {
  const char *v = conn_parameter(s, "standard_conforming_strings");
  return !v || std::string_view(v) != "off";
}

std::string mogrify_text(const cursor_state &s, std::string_view sql,
                         const params &args) {
  std::string text = converted(sql, args.size());
  std::vector<encoded> values(args.begin(), args.end());
  return detail::inline_params(text, values, standard_strings(s),
                               types_of(s));
}

// cursor.query(): the statement with its parameters written in; when a
// parameter cannot be written, the statement as sent.
std::string shown_text(const cursor_state &s, std::string_view sql,
                       const params &args) {
  try {
    return mogrify_text(s, sql, args);
  } catch (const std::exception &) {
  }
  try {
    return converted(sql, args.size());
  } catch (const std::exception &) {
    return std::string(sql); // the execute fails with UVPG_EPARAM
  }
}

// ---- results ----

bool has_rows(const result &r) {
  auto st = PQresultStatus(r.native());
  return st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE;
}

std::vector<column> describe(const result &r) {
  std::vector<column> cols;
  cols.reserve(static_cast<size_t>(r.columns()));
  for (int c = 0; c < r.columns(); ++c) {
    column col;
    col.name = std::string(r.column_name(c));
    col.type_code = r.column_type(c);
    col.internal_size = r.column_size(c);
    int mod = r.column_modifier(c);
    if (col.type_code == oids::numeric && mod >= 4) {
      // PostgreSQL's NUMERIC_TYPMOD_PRECISION/SCALE: the scale is an
      // 11-bit signed field since PostgreSQL 15.
      int m = mod - 4;
      col.precision = (m >> 16) & 0xffff;
      col.scale = ((m & 0x7ff) ^ 1024) - 1024;
    }
    cols.push_back(std::move(col));
  }
  return cols;
}

void reset_result(cursor_state &s) {
  s.has_set = false;
  s.res = result();
  s.pos = 0;
  s.rowcount = -1;
  s.lastrowid.reset();
  s.status.reset();
  s.desc.reset();
  s.srv = 0;
  s.at_end = false;
  s.total = -1;
}

query_options stmt_opts(const cursor_state &s, bool rows,
                        std::chrono::milliseconds timeout) {
  query_options o;
  o.binary_results = rows && s.opts.binary;
  o.timeout = timeout;
  return o;
}

query_options stmt_opts(const cursor_state &s, bool rows) {
  return stmt_opts(s, rows, s.opts.timeout);
}

// ---- transactions of named cursors ----

// The statement that closes a named cursor whatever became of it: the
// cursor may be gone with the transaction that declared it, and a plain
// CLOSE would then fail and abort the program's next transaction.
std::string close_statement(const cursor_state &s) {
  std::string lit;
  detail::append_quoted(lit, s.opts.name);
  std::string body = "BEGIN EXECUTE 'CLOSE ' || quote_ident(" + lit +
                     "); EXCEPTION WHEN invalid_cursor_name THEN NULL; END";
  std::string tag = "$uvpg$";
  for (int i = 0; body.find(tag) != std::string::npos; ++i) {
    tag = "$uvpg" + std::to_string(i) + "$";
  }
  return "DO " + tag + body + tag;
}

// The op that opens a named cursor's transaction when other queries are
// queued ahead of a DECLARE: the transaction state it will meet is known
// only when they are done (transaction.cc decides at the op's turn).
struct tx_begin_op final : detail::implicit_begin_op {
  state_ptr s;
  void decided(bool begins) noexcept override { s->owns_tx = begins; }
  void complete(detail::conn_impl *, int status,
                PGresult *res) noexcept override {
    PQclear(res);
    if (status < 0) {
      s->owns_tx = false;
    }
    tx_decided(s.get());
  }
};

// Queues the BEGIN-or-nothing on the connection.
void queue_tx_probe(const state_ptr &s, conn_impl &ci) {
  auto *begin = new tx_begin_op;
  begin->s = s;
  s->tx_pending = true;
  ci.submit(begin);
}

// Runs one of a named cursor's statements (FETCH, MOVE, COMMIT).  A
// server error inside the transaction the cursor opened has aborted it:
// the cursor rolls it back at once, so the session is usable again and
// the program's statements no longer fail with 25P02.
future<result> run_stmt(state_ptr s, std::string sql, bool rows) {
  std::exception_ptr err;
  try {
    result r = co_await query(s, sql, {}, stmt_opts(*s, rows));
    alive(s);
    s->status = std::string(r.command_status());
    co_return r;
  } catch (const server_error &) {
    err = std::current_exception();
  }
  if (s->owns_tx && !s->closed && s->conn) {
    s->owns_tx = false;
    s->declared = false;
    try {
      co_await query(s, "ROLLBACK", {}, stmt_opts(*s, false));
    } catch (...) {
    }
  }
  std::rethrow_exception(err);
}

// Ends the transaction the cursor opened once a NO SCROLL cursor has
// read its last row: nothing more can be read from it.
future<void> finish_if_done(state_ptr s) {
  if (!s->owns_tx || s->opts.scrollable || !s->at_end || s->closed) {
    co_return;
  }
  s->owns_tx = false;
  s->declared = false;
  std::string status = s->status.value_or("");
  co_await run_stmt(s, "COMMIT", false);
  s->status = std::move(status); // the FETCH's tag stays the one shown
}

// ---- reading rows ----

// Rows [first, first + count) of one result.
using segments = std::vector<detail::cursor_chunk>;

// FETCH from a named cursor: replaces the batch.
future<result> fetch_forward(state_ptr s, long long count) {
  std::string sql = count < 0 ? "FETCH ALL FROM " + s->qname
                              : "FETCH FORWARD " + std::to_string(count) +
                                    " FROM " + s->qname;
  result r = co_await run_stmt(s, std::move(sql), true);
  s->srv += r.rows();
  s->res = r;
  s->pos = 0;
  if (count < 0 || r.rows() < count) {
    s->at_end = true;
    s->total = s->srv;
    s->rowcount = s->total;
    co_await finish_if_done(s);
  }
  co_return r;
}

// Takes up to `n` rows (n < 0: all) from the position on, as at most two
// segments.  `batch`: refill an empty batch with itersize rows rather
// than asking the server for exactly what is missing (next/fetchone).
future<segments> take(state_ptr s, long long n, bool batch) {
  segments out;
  int avail = s->res.rows() - s->pos;
  int k = n < 0 ? avail : static_cast<int>(std::min<long long>(n, avail));
  if (k > 0) {
    out.push_back({s->res, s->pos, k});
    s->pos += k;
  }
  if (!s->named) {
    co_return out;
  }
  long long need = n < 0 ? -1 : n - k;
  if (need == 0 || s->at_end) {
    co_return out;
  }
  if (batch && k == 0 && need > 0) {
    result r = co_await fetch_forward(s, std::max(s->opts.itersize, 1));
    int m = static_cast<int>(std::min<long long>(need, r.rows()));
    if (m > 0) {
      out.push_back({r, 0, m});
    }
    s->pos = m;
  } else {
    result r = co_await fetch_forward(s, need);
    if (r.rows() > 0) {
      out.push_back({r, 0, r.rows()});
    }
    s->pos = r.rows();
  }
  co_return out;
}

std::vector<row> rows_of(const segments &segs) {
  size_t n = 0;
  for (const auto &g : segs) {
    n += static_cast<size_t>(g.count);
  }
  std::vector<row> rows;
  rows.reserve(n);
  for (const auto &g : segs) {
    for (int i = 0; i < g.count; ++i) {
      rows.emplace_back(g.res, g.first + i);
    }
  }
  return rows;
}

// One result holding the rows of both segments (for the C ABI, which
// hands out rows as one result and a range).
detail::cursor_chunk merge(const segments &segs) {
  if (segs.empty()) {
    return {};
  }
  if (segs.size() == 1) {
    return segs[0];
  }
  const PGresult *first = segs[0].res.native();
  PGresult *m = PQcopyResult(first, PG_COPYRES_ATTRS);
  if (!m) {
    throw std::bad_alloc();
  }
  result out(m, segs[0].res.columns() > 0 && segs[0].count > 0
                    ? segs[0].res.field(segs[0].first, 0).context()
                    : nullptr);
  int nf = PQnfields(first);
  int tup = 0;
  for (const auto &g : segs) {
    const PGresult *src = g.res.native();
    for (int r = g.first; r < g.first + g.count; ++r, ++tup) {
      for (int c = 0; c < nf; ++c) {
        bool null = PQgetisnull(src, r, c);
        if (!PQsetvalue(m, tup, c,
                        null ? nullptr : PQgetvalue(src, r, c),
                        null ? -1 : PQgetlength(src, r, c))) {
          throw std::bad_alloc();
        }
      }
    }
  }
  return {out, 0, tup};
}

// ---- the operations ----
//
// Each is a body (a named coroutine that starts with alive()) run in the
// turn by in_turn() for C++ and in_turn_c() for C.

future<void> execute_body(state_ptr s, std::string sql, params args,
                          std::chrono::milliseconds timeout,
                          std::string shown) {
  conn_impl &conn = conn_of(s);
  reset_result(*s);
  s->query = std::move(shown);

  if (!s->named) {
    result r = co_await query(s, sql, std::move(args),
                              stmt_opts(*s, true, timeout));
    alive(s);
    s->status = std::string(r.command_status());
    if (oid_t o = r.inserted_oid()) {
      s->lastrowid = o;
    }
    if (has_rows(r)) {
      s->has_set = true;
      s->res = r;
      s->rowcount = r.rows();
      s->desc = describe(r);
    } else {
      s->rowcount = r.affected_rows();
    }
    co_return;
  }

  // A named cursor.  Decide the transaction before queueing anything:
  // with nothing else queued the state is known now; otherwise a probe
  // learns it when the DECLARE's turn comes.
  enum class plan { none, begin, probe } tx = plan::none;
  if (!s->opts.withhold && !s->owns_tx) {
    std::optional<bool> now = detail::implicit_begin_now(conn);
    tx = !now ? plan::probe : *now ? plan::begin : plan::none;
  }
  query_options plain = stmt_opts(*s, false, timeout);
  std::optional<future<result>> fclose, fbegin;
  if (s->declared) {
    fclose = query(s, close_statement(*s), {}, plain);
    s->declared = false;
  }
  if (tx == plan::begin) {
    fbegin = query(s, "BEGIN", {}, plain);
    s->owns_tx = true;
  } else if (tx == plan::probe) {
    queue_tx_probe(s, conn);
  }
  auto fdecl = query(s, sql, std::move(args), plain);
  s->declared = true;
  auto fdesc = query(s, "FETCH FORWARD 0 FROM " + s->qname, {},
                     stmt_opts(*s, true, timeout));

  std::exception_ptr err;
  if (fclose) {
    try {
      co_await std::move(*fclose);
    } catch (...) {
      // The DECLARE reports whatever went wrong.
    }
  }
  if (fbegin) {
    try {
      co_await std::move(*fbegin);
    } catch (...) {
      err = std::current_exception();
    }
  }
  try {
    result d = co_await std::move(fdecl);
    s->status = std::string(d.command_status());
  } catch (...) {
    if (!err) {
      err = std::current_exception();
    }
    s->declared = false;
  }
  try {
    result z = co_await std::move(fdesc);
    if (!err) {
      s->desc = describe(z);
    }
  } catch (...) {
    if (!err) {
      err = std::current_exception();
    }
  }
  alive(s);
  if (err) {
    if (s->owns_tx) {
      // The transaction the cursor opened failed with its DECLARE.
      s->owns_tx = false;
      try {
        co_await query(s, "ROLLBACK", {}, plain);
      } catch (...) {
      }
    }
    std::rethrow_exception(err);
  }
  s->has_set = true;
}

future<segments> fetch_body(state_ptr s, long long n, bool batch,
                            const char *what) {
  alive(s);
  need_rows(s, what);
  co_return co_await take(s, n, batch);
}

std::optional<row> first_row(const segments &segs) {
  if (segs.empty()) {
    return std::nullopt;
  }
  return row(segs[0].res, segs[0].first);
}

future<std::optional<row>> fetchone_body(state_ptr s, const char *what) {
  co_return first_row(co_await fetch_body(s, 1, true, what));
}

future<std::vector<row>> fetchmany_body(state_ptr s, long long n,
                                        const char *what) {
  co_return rows_of(co_await fetch_body(s, n, false, what));
}

error out_of_range(long long target, long long rows) {
  std::string msg = "scroll: row " + std::to_string(target) +
                    " is outside the result set";
  if (rows >= 0) {
    msg += " (" + std::to_string(rows) + " rows)";
  }
  return error(UV_ERANGE, msg);
}

future<result> move(state_ptr s, std::string sql) {
  return run_stmt(std::move(s), std::move(sql), false);
}

future<void> scroll_body(state_ptr s, long value, scroll_mode mode) {
  alive(s);
  need_rows(s, "scroll");
  long long rows = s->res.rows();
  long long start = s->named ? s->srv - rows : 0; // index of res's row 0
  long long here = start + s->pos;
  long long target = static_cast<long long>(value);
  if (mode != scroll_mode::absolute &&
      __builtin_add_overflow(here, static_cast<long long>(value), &target)) {
    target = -1; // far out of range either way
  }
  long long known = s->named ? s->total : rows;
  if (target < 0 || (known >= 0 && target >= known)) {
    throw out_of_range(target, known);
  }
  if (s->named && !s->opts.scrollable && target < here) {
    throw usage_error("scroll: a NO SCROLL cursor cannot move backward "
                      "(declare it with cursor_options::scrollable)");
  }
  if (target >= start && target < start + rows) {
    s->pos = static_cast<int>(target - start); // within the batch
    co_return;
  }
  if (target < start) {
    // Backward past the batch (SCROLL): row `target` exists, since the
    // position was past it.
    co_await move(s, "MOVE ABSOLUTE " + std::to_string(target) + " FROM " +
                         s->qname);
    s->srv = target;
    s->res = result();
    s->pos = 0;
    s->at_end = false;
    co_return;
  }
  // Forward past the batch: move up to the target, then fetch from it to
  // prove the row exists (the rows become the next batch).
  long long saved_srv = s->srv;
  result saved_res = s->res;
  int saved_pos = s->pos;
  long long gap = target - s->srv;
  bool out = false;
  if (gap > 0) {
    result m = co_await move(s, "MOVE FORWARD " + std::to_string(gap) +
                                    " FROM " + s->qname);
    long long moved = std::max(m.affected_rows(), 0LL);
    if (moved < gap) {
      out = true;
      s->total = s->srv + moved;
    }
  }
  if (!out) {
    long long batch = std::max(s->opts.itersize, 1);
    result f = co_await run_stmt(
        s, "FETCH FORWARD " + std::to_string(batch) + " FROM " + s->qname,
        true);
    if (f.rows() == 0) {
      out = true;
      s->total = target;
    } else {
      s->srv = target + f.rows();
      s->res = f;
      s->pos = 0;
      if (f.rows() < batch) {
        s->at_end = true;
        s->total = s->srv;
      }
    }
  }
  if (out) {
    s->rowcount = s->total;
    if (s->opts.scrollable) {
      // Back to where it was: the batch is valid again.
      co_await move(s, "MOVE ABSOLUTE " + std::to_string(saved_srv) +
                           " FROM " + s->qname);
      s->srv = saved_srv;
      s->res = saved_res;
      s->pos = saved_pos;
      throw out_of_range(target, s->total);
    }
    s->srv = s->total;
    s->at_end = true;
    s->res = result();
    s->pos = 0;
    co_await finish_if_done(s);
    throw error(UV_ERANGE,
                "scroll: row " + std::to_string(target) +
                    " is outside the result set (" +
                    std::to_string(s->total) +
                    " rows); a NO SCROLL cursor cannot move back, so it "
                    "now stands at its end");
  }
  if (s->at_end) {
    s->rowcount = s->total;
    co_await finish_if_done(s);
  }
}

future<long long> each_body(state_ptr s,
                            std::function<int(const result &, int)> fn) {
  co_await next_tick(s->loop); // rows go out from the loop
  alive(s);
  need_rows(s, "each");
  long long calls = 0;
  for (;;) {
    if (s->pos >= s->res.rows()) {
      if (!s->named || s->at_end) {
        break;
      }
      co_await fetch_forward(s, std::max(s->opts.itersize, 1));
      if (s->res.rows() == 0) {
        break;
      }
    }
    result batch = s->res;
    while (s->pos < batch.rows()) {
      int r = s->pos++;
      ++calls;
      int stop = fn(batch, r);
      alive(s);
      if (stop) {
        co_return calls;
      }
    }
  }
  co_return calls;
}

// The end of close(), in the turn after every operation called before:
// waits for the statement close() queued, drops the rows.
future<void> close_body(state_ptr s, std::optional<future<result>> stmt,
                        bool commit) {
  std::exception_ptr err;
  if (stmt) {
    try {
      co_await std::move(*stmt);
    } catch (const server_error &) {
      if (commit) {
        err = std::current_exception();
      }
    } catch (...) {
      // The connection went away: so did the cursor.
    }
  }
  s->res = result();
  if (err) {
    std::rethrow_exception(err);
  }
}

// Queues a named cursor's CLOSE (or COMMIT) at once, so the program's
// next statements run after it, then completes in the turn.  The engine
// is alive: we are in close()'s call or resumed by the probe's
// completion, and s->conn says whether it is open.
template <class Run> future<void> close_co(state_ptr s, Run run) {
  std::optional<future<result>> stmt;
  bool commit = false;
  if (s->named) {
    if (s->tx_pending) {
      co_await until_tx_decided(s);
    }
    std::string sql;
    commit = s->owns_tx;
    if (commit) {
      sql = "COMMIT";
    } else if (s->declared) {
      sql = close_statement(*s);
    }
    s->owns_tx = false;
    s->declared = false;
    if (!sql.empty() && s->conn) {
      stmt = detail::submit_query(s->conn.get(), sql, {},
                                  stmt_opts(*s, false));
    }
  }
  // Named, not temporaries of the co_await: GCC 12 destroys such
  // temporaries too early.
  auto held = std::make_shared<std::optional<future<result>>>(
      std::move(stmt));
  auto body = [s, held, commit] {
    return close_body(s, std::move(*held), commit);
  };
  future<void> done = run(s, std::move(body));
  co_await std::move(done);
}

// Fails in the operation's turn, so that its failure comes in call
// order like any other outcome.
template <class T> future<T> fail_in_turn(state_ptr s, std::exception_ptr e) {
  return in_turn<T>(std::move(s),
                    [e] { return make_exception_future<T>(e); });
}

state_ptr need(const std::shared_ptr<cursor_state> &s) {
  if (!s) {
    throw usage_error("cursor: the object was moved from");
  }
  return s;
}

// Why a new operation `what` cannot start, or null: the cursor or its
// connection is closed.
template <class T>
std::optional<future<T>> refused(const state_ptr &s, const char *what) {
  if (s->closed) {
    return make_exception_future<T>(
        usage_error(std::string(what) + ": the cursor is closed"));
  }
  if (!s->conn) {
    return make_exception_future<T>(usage_error(
        detail::conn_ref::closed_text(std::string("cursor.") + what)));
  }
  return std::nullopt;
}

// The statement execute() runs: a named cursor's DECLARE.
std::string statement_text(const cursor_state &s, std::string_view sql) {
  std::string text(sql);
  if (s.named) {
    // One query, wrapped in DECLARE; a trailing semicolon would end the
    // DECLARE instead.
    while (!text.empty() &&
           (text.back() == ';' ||
            std::isspace(static_cast<unsigned char>(text.back())))) {
      text.pop_back();
    }
    text = "DECLARE " + s.qname +
           (s.opts.scrollable ? " SCROLL" : " NO SCROLL") + " CURSOR" +
           (s.opts.withhold ? " WITH HOLD" : "") + " FOR " + text;
  }
  return text;
}

// The body of execute(sql, args, timeout), for in_turn().
auto execute_task(const state_ptr &s, std::string_view sql, params args,
                  std::chrono::milliseconds timeout) {
  std::string text = statement_text(*s, sql);
  std::string shown = shown_text(*s, text, args);
  auto a = std::make_shared<params>(std::move(args));
  return [s, text = std::move(text), a, timeout,
          shown = std::move(shown)]() mutable {
    return execute_body(s, std::move(text), std::move(*a), timeout,
                        std::move(shown));
  };
}

std::string call_sql(std::string_view procname, std::string_view what) {
  if (!valid_procname(procname)) {
    throw usage_error(std::string(what) + ": \"" + std::string(procname) +
                      "\" is not a function name");
  }
  return "SELECT * FROM " + std::string(procname) + "(";
}

// SELECT * FROM procname($1, ...), or the usage error, in `sql`.
std::exception_ptr call_text(std::string_view procname, size_t n,
                             std::string &sql) {
  try {
    sql = call_sql(procname, "callproc");
  } catch (const usage_error &) {
    return std::current_exception();
  }
  for (size_t i = 0; i < n; ++i) {
    sql += (i ? ", $" : "$") + std::to_string(i + 1);
  }
  sql += ')';
  return nullptr;
}

future<params> callproc_co(future<void> run, params args) {
  co_await std::move(run);
  co_return args;
}

future<named_params> callproc_named_co(future<void> run, named_params args) {
  co_await std::move(run);
  co_return args;
}

state_ptr new_state(conn_impl *c, cursor_options opts) {
  if (opts.arraysize < 1) {
    throw usage_error("cursor: arraysize must be at least 1");
  }
  if (opts.itersize < 1) {
    throw usage_error("cursor: itersize must be at least 1");
  }
  auto s = std::make_shared<cursor_state>(c);
  s->named = !opts.name.empty();
  s->qname = s->named ? quote_ident(opts.name) : std::string();
  s->opts = std::move(opts);
  return s;
}

} // namespace

// ---- the public class ----

cursor::cursor(uvpg::connection &conn, cursor_options opts) {
  conn_impl *c = conn.impl();
  if (!c || c->close_requested) {
    throw usage_error(detail::conn_ref::closed_text("cursor::cursor"));
  }
  _s = new_state(c, std::move(opts));
}

cursor::cursor(cursor &&o) noexcept : _s(std::move(o._s)) {}

cursor &cursor::operator=(cursor &&o) noexcept {
  if (this != &o) {
    cursor old(std::move(*this)); // closes as it goes
    _s = std::move(o._s);
  }
  return *this;
}

cursor::~cursor() {
  if (!_s || _s->closed) {
    return;
  }
  try {
    detail::loop_scope scope(_s->loop);
    (void)close(); // fire-and-forget
  } catch (...) {
    // Out of memory while closing: the server drops the cursor with
    // its transaction or session.
  }
}

future<void> cursor::execute(std::string_view sql, params args) {
  auto s = need(_s);
  return execute(sql, std::move(args), s->opts.timeout);
}

future<void> cursor::execute(std::string_view sql, params args,
                             std::chrono::milliseconds timeout) {
  auto s = need(_s);
  if (auto f = refused<void>(s, "execute")) {
    return std::move(*f);
  }
  detail::loop_scope scope(s->loop);
  return in_turn<void>(s, execute_task(s, sql, std::move(args), timeout));
}

future<void> cursor::execute(std::string_view sql, const named_params &args) {
  auto s = need(_s);
  return execute(sql, args, s->opts.timeout);
}

future<void> cursor::execute(std::string_view sql, const named_params &args,
                             std::chrono::milliseconds timeout) {
  auto s = need(_s);
  if (auto f = refused<void>(s, "execute")) {
    return std::move(*f);
  }
  detail::loop_scope scope(s->loop);
  try {
    auto [text, values] = detail::bind_named(sql, args);
    return execute(text, std::move(values), timeout);
  } catch (const error &e) {
    s->conn.get()->set_error(e.what());
    return fail_in_turn<void>(s, std::current_exception());
  }
}

future<params> cursor::callproc(std::string_view procname, params args) {
  auto s = need(_s);
  return callproc(procname, std::move(args), s->opts.timeout);
}

future<params> cursor::callproc(std::string_view procname, params args,
                                std::chrono::milliseconds timeout) {
  auto s = need(_s);
  if (auto f = refused<params>(s, "callproc")) {
    return std::move(*f);
  }
  detail::loop_scope scope(s->loop);
  std::string sql;
  if (auto e = call_text(procname, args.size(), sql)) {
    return fail_in_turn<params>(s, e);
  }
  params copy = args;
  return callproc_co(execute(sql, std::move(args), timeout), std::move(copy));
}

future<named_params> cursor::callproc(std::string_view procname,
                                      named_params args) {
  auto s = need(_s);
  if (auto f = refused<named_params>(s, "callproc")) {
    return std::move(*f);
  }
  detail::loop_scope scope(s->loop);
  std::string sql;
  try {
    sql = call_sql(procname, "callproc");
  } catch (const usage_error &) {
    return fail_in_turn<named_params>(s, std::current_exception());
  }
  params values;
  size_t i = 0;
  for (const auto &[name, value] : args) {
    sql += (i ? ", " : "") + quote_ident(name) + " => $" +
           std::to_string(i + 1);
    values.push_back(value);
    ++i;
  }
  sql += ')';
  return callproc_named_co(execute(sql, std::move(values), s->opts.timeout),
                           std::move(args));
}

std::string cursor::mogrify(std::string_view sql, const params &args) const {
  auto s = need(_s);
  return mogrify_text(*s, sql, args);
}

std::string cursor::mogrify(std::string_view sql,
                            const named_params &args) const {
  auto s = need(_s);
  auto [text, values] = detail::bind_named(sql, args);
  std::vector<encoded> enc(values.begin(), values.end());
  return detail::inline_params(text, enc, standard_strings(*s),
                               types_of(*s));
}

namespace {

// next() and fetchone(): a row of the batch at hand is handed out at
// once, as a ready future, when no operation is pending (streaming then
// costs no loop iteration per row); anything else takes the turn.
future<std::optional<row>> one_row(const state_ptr &s, const char *what) {
  if (auto f = refused<std::optional<row>>(s, what)) {
    return std::move(*f);
  }
  if (!s->busy && s->has_set && s->pos < s->res.rows()) {
    return make_ready_future(std::optional<row>(row(s->res, s->pos++)));
  }
  detail::loop_scope scope(s->loop);
  return in_turn<std::optional<row>>(
      s, [s, what] { return fetchone_body(s, what); });
}

future<std::vector<row>> many_rows(const state_ptr &s, long long n,
                                   const char *what) {
  if (auto f = refused<std::vector<row>>(s, what)) {
    return std::move(*f);
  }
  detail::loop_scope scope(s->loop);
  return in_turn<std::vector<row>>(
      s, [s, n, what] { return fetchmany_body(s, n, what); });
}

} // namespace

future<std::optional<row>> cursor::fetchone() {
  return one_row(need(_s), "fetchone");
}

future<std::optional<row>> cursor::next() { return one_row(need(_s), "next"); }

future<std::vector<row>> cursor::fetchmany(int size) {
  auto s = need(_s);
  return many_rows(s, size < 0 ? s->opts.arraysize : size, "fetchmany");
}

future<std::vector<row>> cursor::fetchall() {
  return many_rows(need(_s), -1, "fetchall");
}

future<void> cursor::scroll(long value, scroll_mode mode) {
  auto s = need(_s);
  if (auto f = refused<void>(s, "scroll")) {
    return std::move(*f);
  }
  detail::loop_scope scope(s->loop);
  return in_turn<void>(
      s, [s, value, mode] { return scroll_body(s, value, mode); });
}

future<void> cursor::close() {
  if (!_s || _s->closed) {
    return make_ready_future();
  }
  auto s = _s;
  detail::loop_scope scope(s->loop);
  s->closed = true;
  return close_co(s, [](state_ptr st, auto body) {
    return in_turn<void>(std::move(st), std::move(body));
  });
}

bool cursor::closed() const noexcept { return !_s || _s->closed; }

int cursor::arraysize() const noexcept { return _s ? _s->opts.arraysize : 1; }

void cursor::arraysize(int n) {
  auto s = need(_s);
  if (n < 1) {
    throw usage_error("cursor::arraysize: must be at least 1");
  }
  s->opts.arraysize = n;
}

int cursor::itersize() const noexcept { return _s ? _s->opts.itersize : 1; }

void cursor::itersize(int n) {
  auto s = need(_s);
  if (n < 1) {
    throw usage_error("cursor::itersize: must be at least 1");
  }
  s->opts.itersize = n;
}

long long cursor::rowcount() const noexcept {
  return _s ? _s->rowcount : -1;
}

std::optional<long long> cursor::rownumber() const noexcept {
  if (!_s || !_s->has_set) {
    return std::nullopt;
  }
  long long start = _s->named ? _s->srv - _s->res.rows() : 0;
  return start + _s->pos;
}

std::optional<oid_t> cursor::lastrowid() const noexcept {
  return _s ? _s->lastrowid : std::nullopt;
}

namespace {
const std::optional<std::string> no_text;
const std::optional<std::vector<column>> no_columns;
const std::string no_name;
} // namespace

const std::optional<std::string> &cursor::query() const noexcept {
  return _s ? _s->query : no_text;
}

const std::optional<std::string> &cursor::statusmessage() const noexcept {
  return _s ? _s->status : no_text;
}

const std::optional<std::vector<column>> &
cursor::description() const noexcept {
  return _s ? _s->desc : no_columns;
}

uvpg::connection &cursor::connection() const {
  if (!_s) {
    throw usage_error("cursor::connection: the object was moved from");
  }
  conn_impl *c = _s->conn.get();
  if (!c || !c->handle) {
    throw usage_error(detail::conn_ref::closed_text("cursor.connection"));
  }
  return *c->handle;
}

future<transaction> cursor::begin(const transaction_options &opts) {
  try {
    return connection().begin(opts);
  } catch (...) {
    return make_exception_future<transaction>(std::current_exception());
  }
}

future<transaction> cursor::begin_nested() { return begin(); }

std::chrono::milliseconds cursor::timeout() const noexcept {
  return _s ? _s->opts.timeout : std::chrono::milliseconds(0);
}

bool cursor::echo() const noexcept {
  conn_impl *c = _s ? _s->conn.engine() : nullptr;
  return c && c->opts.echo;
}

const std::string &cursor::name() const noexcept {
  return _s ? _s->opts.name : no_name;
}

bool cursor::scrollable() const noexcept {
  return _s && _s->named && _s->opts.scrollable;
}

bool cursor::withhold() const noexcept {
  return _s && _s->named && _s->opts.withhold;
}

// ---- the C ABI's access (src/cursor.hh) ----

namespace detail {

namespace {

future<cursor_chunk> fetch_chunk_body(state_ptr s, long long n) {
  co_return merge(co_await fetch_body(s, n, false, "fetch"));
}

template <class T, class Body>
void run_c(const state_ptr &s, Body body, cursor_done<T> done) {
  loop_scope scope(s->loop);
  (void)in_turn_c<T>(s, std::move(body), std::move(done));
}

} // namespace

cursor cursor_access::make(conn_impl *c, cursor_options opts) {
  cursor cur;
  cur._s = new_state(c, std::move(opts));
  return cur;
}

cursor_access::call_scope::call_scope(cursor &cur) noexcept
    : _s(cur._s.get()) {
  if (_s) {
    ++_s->c_calls;
  }
}

cursor_access::call_scope::~call_scope() {
  if (_s) {
    --_s->c_calls;
  }
}

void cursor_access::execute(cursor &cur, std::string_view sql, params args,
                            cursor_done<void> done) {
  auto s = need(cur._s);
  run_c<void>(s, execute_task(s, sql, std::move(args), s->opts.timeout),
              std::move(done));
}

void cursor_access::callproc(cursor &cur, std::string_view procname,
                             params args, cursor_done<void> done) {
  auto s = need(cur._s);
  std::string sql;
  if (auto e = call_text(procname, args.size(), sql)) {
    run_c<void>(s, [e] { return make_exception_future<void>(e); },
                std::move(done));
    return;
  }
  run_c<void>(s, execute_task(s, sql, std::move(args), s->opts.timeout),
              std::move(done));
}

void cursor_access::fetch(cursor &cur, long n,
                          cursor_done<cursor_chunk> done) {
  auto s = need(cur._s);
  run_c<cursor_chunk>(s, [s, n] { return fetch_chunk_body(s, n); },
                      std::move(done));
}

void cursor_access::each(cursor &cur,
                         std::function<int(const result &, int)> fn,
                         cursor_done<long long> done) {
  auto s = need(cur._s);
  auto f = std::make_shared<std::function<int(const result &, int)>>(
      std::move(fn));
  run_c<long long>(s, [s, f] { return each_body(s, std::move(*f)); },
                   std::move(done));
}

void cursor_access::scroll(cursor &cur, long value, scroll_mode mode,
                           cursor_done<void> done) {
  auto s = need(cur._s);
  run_c<void>(s, [s, value, mode] { return scroll_body(s, value, mode); },
              std::move(done));
}

void cursor_access::close(cursor &cur, cursor_done<void> done) {
  auto s = need(cur._s);
  loop_scope scope(s->loop);
  s->closed = true;
  (void)close_co(s, [done = std::move(done)](state_ptr st, auto body) {
    return in_turn_c<void>(std::move(st), std::move(body), done);
  });
}

conn_impl *cursor_access::conn(const cursor &cur) noexcept {
  return cur._s ? cur._s->conn.get() : nullptr;
}

conn_impl *cursor_access::engine(const cursor &cur) noexcept {
  return cur._s ? cur._s->conn.engine() : nullptr;
}

int cursor_status(std::exception_ptr e, std::string &msg) {
  try {
    std::rethrow_exception(e);
  } catch (const error &x) {
    msg = x.what();
    return x.status();
  } catch (const usage_error &x) {
    msg = x.what();
    return UV_EINVAL;
  } catch (const std::bad_alloc &) {
    msg = "out of memory";
    return UV_ENOMEM;
  } catch (const std::exception &x) {
    msg = x.what();
    return UVPG_EINTERNAL;
  } catch (...) {
    msg = "unknown error";
    return UVPG_EINTERNAL;
  }
}

} // namespace detail

} // namespace uvpg
