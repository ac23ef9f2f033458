// The query engine: the only caller of libpq's send, flush, consume and
// getResult.  One queue of operations is the single path to the wire.
//
// libpq's non-blocking rules, as its docs give them: after a send, call
// PQflush until it returns 0; while it returns 1 wait for the socket to
// be readable *or* writable, and consume input when readable, or a large
// send can deadlock against a server blocked on writing its results.
// Results are read with PQconsumeInput and then PQgetResult only while
// PQisBusy says it will not block.  The socket stays under read watch
// while idle, so a server that goes away is noticed at once.
#include <chrono>

#include "../sql.hh"
#include "engine.hh"
#include "cancel.hh"

namespace uvpg::detail {

// libpq's limit on parameters per statement.
constexpr size_t max_params = 65535;

void op_queue::push(op *o) noexcept {
  o->next = nullptr;
  if (tail) {
    tail->next = o;
  } else {
    head = o;
  }
  tail = o;
}

void op_queue::push_front(op *o) noexcept {
  o->next = head;
  head = o;
  if (!tail) {
    tail = o;
  }
}

op *op_queue::pop() noexcept {
  op *o = head;
  if (o) {
    head = o->next;
    if (!head) {
      tail = nullptr;
    }
    o->next = nullptr;
  }
  return o;
}

bool op_queue::remove(op *o) noexcept {
  op *prev = nullptr;
  for (op **link = &head; *link; prev = *link, link = &(*link)->next) {
    if (*link == o) {
      *link = o->next;
      if (tail == o) {
        tail = prev;
      }
      o->next = nullptr;
      return true;
    }
  }
  return false;
}

void conn_impl::submit(op *o) {
  queue.push(o);
  if (close_requested) {
    o->after_close = true; // failed with UVPG_ECLOSED before close_cb
    return;
  }
  if (st == state::broken) {
    fail_all(UVPG_ECONNBAD); // delivered from the loop, like any callout
    return;
  }
  o->owner = this;
  if (!o->internal) {
    ++statements;
  }
  if ((query_logging || opts.echo) && !o->internal && !o->started_ns) {
    o->started_ns = uv_hrtime();
    o->started_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  }
  if (o->timeout.count() > 0 && !o->deadline) {
    // The deadline runs from the call, queued or not.
    uv_update_time(loop);
    o->deadline = uv_now(loop) + static_cast<uint64_t>(o->timeout.count());
    ++timed_ops;
    arm_deadlines();
  }
  // Decide how it travels: one statement goes in the extended protocol
  // and may be pipelined; several (simple protocol), a COPY, and a
  // statement with a timeout (a cancel must hit it and nothing else)
  // run alone, outside pipeline mode.
  if (!o->refused && o->rows && o->values.size() / o->rows > max_params) {
    o->refused = UVPG_EPARAM;
    o->refused_why = "a statement takes at most 65535 parameters";
  }
  if (!o->refused && o->named.empty()) {
    sql_shape shape = shape_of(o->sql);
    o->cacheable = shape.cacheable;
    if (o->simple || o->values.empty()) {
      if (shape.copy) {
        o->exclusive = true;
        o->simple = true;
      } else if (!shape.single) {
        o->exclusive = true;
      } else {
        o->simple = false;
      }
    }
    if (o->timeout.count() > 0 || o->simple) {
      o->exclusive = true;
      o->alone_in_pipeline = !o->simple;
    }
    // A statement that may hold a password (ALTER ROLE ... PASSWORD)
    // runs alone, with libpq's terse errors: its default ones quote the
    // statement ("LINE 1: ..."), and an error must not show a password.
    if (!o->internal && mentions_password(o->sql)) {
      o->exclusive = true;
      o->alone_in_pipeline = false;
      o->secret = true;
    }
    if (lessor && !o->internal && !session_touched &&
        !session_neutral(o->sql, shape)) {
      session_touched = true; // the pool's reset is due
    }
  } else if (lessor && !o->refused && o->describe && !o->internal &&
             !session_touched && !session_neutral(o->sql, shape_of(o->sql))) {
    session_touched = true; // prepare() of a statement that may touch it
  } else if (!o->refused && !o->describe && o->timeout.count() > 0) {
    // A prepared statement with a timeout runs alone, by its text.
    o->exclusive = true;
    o->simple = false;
  }
  if (!dispatching) {
    pump();
  }
}

namespace {

bool is_query_canceled(const PGresult *res) {
  const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  return state && std::string_view(state) == "57014";
}

std::string first_line(const char *s) {
  std::string_view v = s ? s : "";
  return std::string(v.substr(0, v.find('\n')));
}

void push_wire(conn_impl *c, op *o) {
  o->wire_next = nullptr;
  (c->wire_tail ? c->wire_tail->wire_next : c->wire_head) = o;
  c->wire_tail = o;
}

// The Sync that ends a pipelined statement's segment.  libpq 17's
// PQsendPipelineSync only queues it, so what one pass of pump() sends
// goes out in one write, at pump()'s flush() (or flush()'s, for a
// segment finished when the socket took the rest).  libpq 15's
// PQpipelineSync writes every segment at once.
int pipeline_sync(PGconn *pg) {
#ifdef HAVE_PQSENDPIPELINESYNC
  return PQsendPipelineSync(pg);
#else
  return PQpipelineSync(pg);
#endif
}

} // namespace

void conn_impl::pump() {
  while (st == state::ready && !close_requested && !cancel_pending &&
         !sending && !write_broken && !queue.empty()) {
    op *h = queue.head;
    if (h->refused) {
      // Rejected before the wire (a placeholder mistake): it fails in its
      // place, after everything sent before it.
      op *o = queue.pop();
      if (sent.empty()) {
        finish(o);
      } else {
        o->done = true;
        sent.push(o);
        ++sent_count;
      }
      continue;
    }
    if (h->exclusive && !sent.empty()) {
      break; // it waits for the pipeline to drain
    }
    if (h->exclusive && !h->alone_in_pipeline) {
      if (pipeline_on) {
        if (!PQexitPipelineMode(pg)) {
          lost(PQerrorMessage(pg));
          return;
        }
        pipeline_on = false;
      }
    } else {
      if (!sent.empty() &&
          (sent.head->exclusive || sent_count >= opts.max_pipeline)) {
        break;
      }
      if (!pipeline_on) {
        if (!PQenterPipelineMode(pg)) {
          lost(PQerrorMessage(pg));
          return;
        }
        pipeline_on = true;
      }
    }
    op *o = queue.pop();
    if (o->exclusive && !o->at_turn(this)) {
      finish(o);
      continue;
    }
    bool outside = o->exclusive && !o->alone_in_pipeline;
    if (!(outside ? send(o) : send_pipelined(o))) {
      if (st != state::ready) {
        return;
      }
      continue; // refused: it fails in its turn
    }
  }
  flush();
}

// The connection's timer bounds the connect, then the grace a cancelled
// statement gets to end (the operations' own deadlines have a timer of
// their own, callout.cc; the cancel request has its own, cancel.cc).
void conn_impl::timer_fired() {
  if (on_connect || st == state::resolving || st == state::connecting) {
    connect_timed_out();
  } else if (st == state::ready && running() && running()->graced) {
    lost("the server did not end a cancelled statement within " +
         std::to_string(opts.cancel_timeout.count()) +
         " ms of the cancel request; the connection was closed");
  }
}

namespace {

// The arrays libpq wants for one set of parameters.
struct param_arrays {
  std::vector<const char *> values;
  std::vector<Oid> types;
  std::vector<int> lengths, formats;

  // Set `row` of `o`; the types are those of the first set with a
  // non-null value in each column (executemany checked they agree).
  void fill(const op *o, size_t n, size_t row) {
    values.resize(n);
    lengths.resize(n);
    formats.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const encoded &v = o->values[row * n + i];
      values[i] = v.null ? nullptr : v.bytes.data();
      lengths[i] = static_cast<int>(v.bytes.size());
      formats[i] = v.binary ? 1 : 0;
    }
  }
  void fill_types(const op *o, size_t n) {
    types.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      for (size_t r = 0; r < o->rows; ++r) {
        const encoded &v = o->values[r * n + i];
        if (!v.null || v.type) {
          types[i] = v.type;
          break;
        }
      }
    }
  }
};

// One thread's buffers for the arrays libpq wants: a statement costs no
// allocation for them once they have grown.
param_arrays &scratch_arrays() {
  thread_local param_arrays a;
  return a;
}

// The statement cache's key: the text and the parameter types, since a
// statement is prepared for the types it was first sent with.  Built in
// a buffer of the thread's, copied only when a new entry keeps it.
std::string_view cache_key(const std::string &sql,
                           const std::vector<Oid> &types) {
  thread_local std::string key;
  key.assign(sql);
  key.push_back('\0');
  key.append(reinterpret_cast<const char *>(types.data()),
             types.size() * sizeof(Oid));
  return key;
}

struct dealloc_op final : op {
  void complete(conn_impl *, int, PGresult *res) noexcept override {
    PQclear(res); // a statement the server no longer has is fine too
  }
};

} // namespace

// libpq's terse errors for a statement that may hold a password, its
// default ones (with DETAIL, HINT and the statement excerpt) otherwise.
// Only an op sent alone changes it, so the error libpq formats next is
// that op's.
void conn_impl::terse_errors(bool on) {
  if (on != errors_terse) {
    errors_terse = on;
    PQsetErrorVerbosity(pg, on ? PQERRORS_TERSE : PQERRORS_DEFAULT);
  }
}

// A statement that runs alone, outside pipeline mode: the simple
// protocol (several statements, COPY), or one with a timeout.
bool conn_impl::send(op *o) {
  terse_errors(o->secret);
  o->maybe_sent = true;
  sent.push(o);
  ++sent_count;
  push_wire(this, o);
  int ok;
  o->groups = 1;
  if (o->simple) {
    forget_if_dropped(o);
    ok = PQsendQuery(pg, o->sql.c_str());
  } else {
    size_t n = o->values.size();
    param_arrays &a = scratch_arrays();
    a.fill(o, n, 0);
    a.fill_types(o, n);
    ok = PQsendQueryParams(pg, o->sql.c_str(), static_cast<int>(n),
                           a.types.data(), a.values.data(),
                           a.lengths.data(), a.formats.data(),
                           o->binary_results ? 1 : 0);
  }
  if (!ok) {
    if (dead()) {
      write_failed();
      return false;
    }
    // libpq refused this statement alone (e.g. too many parameters):
    // it fails in its turn, from the loop, and the session goes on.
    // It is alone on the wire: put it back, refused.
    sent.pop();
    --sent_count;
    wire_head = wire_tail = nullptr;
    o->refused = UVPG_EPARAM;
    o->refused_why = PQerrorMessage(pg);
    queue.push_front(o);
    return false;
  }
  return true;
}

// A statement sent in pipeline mode, as its own segment: Parse (once per
// cached statement), Bind/Execute per parameter set, then a Sync, so an
// error ends its segment and nothing else.
bool conn_impl::send_pipelined(op *o) {
  terse_errors(false);
  forget_if_dropped(o);
  size_t n = o->rows ? o->values.size() / o->rows : 0;
  param_arrays &a = scratch_arrays();
  a.fill_types(o, n);
  int ok = 1;
  const char *name = "";
  o->groups = 0;
  o->prepares = false;
  stmt_entry *e = nullptr;
  if (o->describe) {
    name = o->named.c_str(); // prepare(): Parse and Describe, no cache
    o->prepares = true;
  } else if (!o->named.empty()) {
    // A statement of prepare(): executed by its name.
  } else if (stmts && stmts->enabled() && !o->internal && o->cacheable &&
             o->sql.size() <= stmts->max_size) {
    std::string_view key = cache_key(o->sql, a.types);
    uint64_t now = uv_hrtime() / 1000000;
    e = stmts->find(key, now);
    if (!e) {
      e = stmts->insert(std::string(key), now);
      o->prepares = true;
    }
    ++e->refs;
    o->stmt = e;
    name = e->name.c_str();
  } else if (o->rows != 1) {
    o->prepares = true; // the unnamed statement, once for every set
  }
  o->maybe_sent = true;
  if (!o->retried) {
    sent.push(o);
    ++sent_count;
  }
  push_wire(this, o);
  o->rows_sent = 0;
  o->parse_pending = false;
  o->parsed = false;
  o->pipelined = true;
  o->awaiting_sync = false;
  if (o->prepares) {
    ok = ok && PQsendPrepare(pg, name, o->sql.c_str(), static_cast<int>(n),
                             a.types.data());
    ++o->groups;
    o->parse_pending = true;
  }
  if (o->describe) {
    ok = ok && PQsendDescribePrepared(pg, name) && pipeline_sync(pg);
    ++o->groups;
  }
  if (!ok) {
    // Part of the segment may be in libpq's buffer already: there is no
    // taking it back, so the session is given up.
    write_failed();
    return false;
  }
  return o->describe || send_rows(o);
}

// Sends the parameter sets of `o` from the first one not sent yet, then
// its Sync.  A long executemany stops when the socket is full and
// flush() goes on when it is writable: libpq would otherwise try the
// full socket again (a failing send and recv) on every message.
bool conn_impl::send_rows(op *o) {
  size_t n = o->rows ? o->values.size() / o->rows : 0;
  const char *name = !o->named.empty() ? o->named.c_str()
                     : o->stmt        ? o->stmt->name.c_str()
                                      : "";
  bool named = !o->named.empty() || o->stmt || o->prepares;
  param_arrays &a = scratch_arrays();
  if (!named) {
    a.fill_types(o, n);
  }
  int fmt = o->binary_results ? 1 : 0;
  size_t unflushed = 0;
  int ok = 1;
  sending = nullptr;
  while (ok && o->rows_sent < o->rows) {
    a.fill(o, n, o->rows_sent);
    if (named) {
      ok = PQsendQueryPrepared(pg, name, static_cast<int>(n),
                               a.values.data(), a.lengths.data(),
                               a.formats.data(), fmt);
    } else {
      ok = PQsendQueryParams(pg, o->sql.c_str(), static_cast<int>(n),
                             a.types.data(), a.values.data(),
                             a.lengths.data(), a.formats.data(), fmt);
    }
    ++o->groups;
    ++o->rows_sent;
    unflushed += 32;
    for (int len : a.lengths) {
      unflushed += 4 + static_cast<size_t>(len);
    }
    if (ok && unflushed >= 32768 && o->rows_sent < o->rows) {
      unflushed = 0;
      int f = PQflush(pg);
      if (f == 1) {
        sending = o;
        watch(UV_READABLE | UV_WRITABLE);
        return true;
      }
      ok = f == 0;
    }
  }
  ok = ok && pipeline_sync(pg);
  if (!ok) {
    write_failed();
    return false;
  }
  return true;
}

// Sending failed.  The server may have said why, and answered earlier
// statements, before it went: that is in libpq's buffer.  Read it from
// the loop (this may run inside the call that queued a statement),
// sending nothing meanwhile, then give the connection up.
void conn_impl::write_failed() {
  if (write_broken) {
    return;
  }
  write_broken = true;
  std::string why = PQerrorMessage(pg);
  later([this, why] {
    if (st == state::ready) {
      read_input();
    }
    if (st == state::ready) {
      dead();
      lost(why);
    }
  });
}

void conn_impl::flush() {
  if (st != state::ready || write_broken) {
    return;
  }
  // A paused COPY TO STDOUT stops reading: the server then blocks on a
  // full socket instead of our memory filling up.
  int readable = copy_paused ? 0 : UV_READABLE;
  switch (PQflush(pg)) {
  case 0:
    if (sending) {
      // The socket took everything: send the rest of the segment.
      if (!send_rows(sending) || sending) {
        return;
      }
      pump();
      return;
    }
    watch(readable);
    if (copy_draining && wire_head) {
      copy_draining = false;
      post(callout::kind::copy_drained, wire_head);
    }
    break;
  case 1:
    watch(readable | UV_WRITABLE);
    break;
  default:
    write_failed();
    break;
  }
}

bool conn_impl::dead() {
  if (PQstatus(pg) != CONNECTION_BAD) {
    return false;
  }
  // libpq has closed its socket.  Stop the poll handle now, before any
  // callback runs: a descriptor the user opens there may get the same
  // number, and a stale watcher would steal it from epoll.
  unwatch();
  return true;
}

namespace {

bool is_error(const PGresult *r) {
  ExecStatusType s = PQresultStatus(r);
  return s == PGRES_FATAL_ERROR || s == PGRES_PIPELINE_ABORTED ||
         s == PGRES_BAD_RESPONSE || s == PGRES_NONFATAL_ERROR;
}

bool sqlstate_is(const PGresult *r, const char *state) {
  const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return s && std::string_view(s) == state;
}

} // namespace

void conn_impl::read_input() {
  // Parse what arrived even when the read hit EOF: the server's last
  // words (e.g. FATAL 57P01) are in the buffer.
  bool eof = !PQconsumeInput(pg);
  std::string why = eof ? PQerrorMessage(pg) : "";
  bool gone = dead() || eof;

  notify_input(this); // LISTEN/NOTIFY (notify.cc)

  while (wire_head && st == state::ready) {
    if (copying == op::copy_way::out) {
      if (copy_paused) {
        break;
      }
      // COPY data goes to its sink at once (the sink's answer is the
      // backpressure), which is a callout: only at a loop entry point,
      // after what was queued before it.
      run_callouts();
      if (close_requested || st != state::ready || !wire_head) {
        return;
      }
      op *o = wire_head;
      char *buf = nullptr;
      int n;
      bool more = true;
      while (more && (n = PQgetCopyData(pg, &buf, 1)) > 0) {
        dispatch(this, [&] {
          more = o->copy_data(this, std::string_view(buf, n));
        });
        PQfreemem(buf);
        if (close_requested || st != state::ready) {
          return;
        }
      }
      if (!more) {
        copy_paused = true;
        watch(0);
        break;
      }
      if (n == 0) {
        break; // more to come
      }
      copying = op::copy_way::none; // done (-1) or failed (-2): the
                                     // statement's result follows
    }
    if (copying == op::copy_way::in) {
      break; // its result comes after copy_end()
    }
    if (draining_copy) {
      char *buf = nullptr;
      int n;
      while ((n = PQgetCopyData(pg, &buf, 1)) > 0) {
        PQfreemem(buf);
      }
      if (n == 0) {
        break; // more COPY data to come
      }
      draining_copy = false;
    }
    if (PQisBusy(pg)) {
      break;
    }
    PGresult *r = PQgetResult(pg);
    op *o = wire_head;
    if (o == sending && o->groups == 0) {
      break; // the results caught up with a segment still being sent
    }
    if (o->awaiting_sync) {
      if (!r) {
        break; // libpq has not parsed the sync yet
      }
      if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
        PQclear(r);
        end_of_results(o);
      } else {
        collect(o, r); // a FATAL after the statement ended
      }
      continue;
    }
    if (!r) {
      if (gone && !(o->res && !is_error(o->res))) {
        // Cut off by the disconnect (libpq made up the error result):
        // lost() fails it with UVPG_ECONNBAD and the real reason.
        break;
      }
      if (o->groups > 0) {
        --o->groups;
      }
      o->parse_pending = false;
      if (o->groups > 0 || o == sending) {
        continue;
      }
      if (o->pipelined) {
        o->awaiting_sync = true;
      } else {
        end_of_results(o);
      }
      continue;
    }
    if (PQresultStatus(r) == PGRES_COPY_OUT &&
        o->copies() == op::copy_way::out) {
      PQclear(r);
      copying = op::copy_way::out;
      continue;
    }
    if (PQresultStatus(r) == PGRES_COPY_IN &&
        o->copies() == op::copy_way::in) {
      PQclear(r);
      copying = op::copy_way::in;
      post(callout::kind::copy_ready, o);
      continue;
    }
    switch (PQresultStatus(r)) {
    case PGRES_COPY_IN:
      // query() has no data to send: end the COPY with an error so the
      // server fails the statement and the session goes on.
      PQclear(r);
      PQputCopyEnd(pg, "COPY FROM STDIN is not supported by query(); "
                       "use the COPY API");
      flush();
      continue;
    case PGRES_COPY_OUT:
      PQclear(r);
      copy_refused = true;
      draining_copy = true;
      continue;
    case PGRES_COPY_BOTH:
      PQclear(r);
      lost("replication (COPY BOTH) is not supported");
      return;
    default:
      break;
    }
    if (gone && PQresultStatus(r) == PGRES_FATAL_ERROR &&
        !PQresultErrorField(r, PG_DIAG_SQLSTATE) && o->res) {
      PQclear(r); // libpq's own "connection closed": keep the server's
    } else if (o->parse_pending && !is_error(r)) {
      o->parsed = true; // the Parse went through
      PQclear(r);
    } else {
      collect(o, r);
    }
  }
  notify_input(this); // those behind the results just taken
  if (gone && st == state::ready) {
    lost(why.empty() ? PQerrorMessage(pg) : why);
    return;
  }
  complete_done();
}

void conn_impl::collect(op *o, PGresult *res) {
  const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (sev && (std::string_view(sev) == "FATAL" ||
              std::string_view(sev) == "PANIC")) {
    // The server ends the session and says why: lost() reports that,
    // not an error the statement met before (a 57014 of a cancel).
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    fatal_message = PQresultErrorMessage(res);
    fatal_sqlstate = state ? state : "";
  }
  // The last result wins, as with PQexec, but a first error is kept.
  if (o->res && is_error(o->res)) {
    PQclear(res);
    return;
  }
  PQclear(std::exchange(o->res, res));
}

// Every result of the wire's first op is read.  A cached statement the
// server no longer has, or whose result type changed under it, is
// prepared and sent once more; anything else is done and completes in
// its turn.
void conn_impl::end_of_results(op *o) {
  wire_head = o->wire_next;
  if (!wire_head) {
    wire_tail = nullptr;
  }
  o->wire_next = nullptr;
  stmt_entry *e = std::exchange(o->stmt, nullptr);
  if (e && o->res && stmts) {
    // The error must be about our statement, not one the SQL raised.
    const char *msg = PQresultErrorField(o->res, PG_DIAG_MESSAGE_PRIMARY);
    std::string_view m = msg ? msg : "";
    bool missing = sqlstate_is(o->res, "26000") &&
                   m.find("\"" + e->name + "\"") != std::string_view::npos;
    bool changed = sqlstate_is(o->res, "0A000") &&
                   m.starts_with("cached plan must not change result type");
    if (missing || changed) {
      stmts->forget(e, changed);
      // Sent again only when nothing was sent behind it (it keeps its
      // turn) and outside a transaction (inside one, the error aborted
      // it: a second try would run outside the program's transaction
      // or fail with 25P02).  Otherwise the error stands, as asyncpg's
      // does, and the next use prepares the statement afresh.
      // Nor when its caller was told already (a deadline, a cancel).
      if (!o->retried && !o->notified && !wire_head && pipeline_on &&
          PQexitPipelineMode(pg)) {
        pipeline_on = false;
        // Out of pipeline mode PQtransactionStatus tells the truth.
        if (missing && PQtransactionStatus(pg) == PQTRANS_IDLE) {
          // Prepared by this connection, missing outside any
          // transaction: the server session changed under it (a pooler
          // in transaction mode that kept the server's process id).
          enter_pooler_mode("uvpg: the server session changed under this "
                            "connection (prepared statement \"" + e->name +
                            "\" is missing): a connection pooler in "
                            "transaction mode is in between; its statement "
                            "cache and pipelining are off");
        }
        if (PQtransactionStatus(pg) == PQTRANS_IDLE &&
            PQenterPipelineMode(pg)) {
          pipeline_on = true;
          release(e);
          o->retried = true;
          PQclear(std::exchange(o->res, nullptr));
          send_pipelined(o);
          return;
        }
      }
    }
  }
  if (e && o->prepares && !o->parsed && stmts) {
    stmts->forget(e, false); // its Parse failed: the server has no such
  }
  release(e);
  o->done = true;
}

namespace {

int status_of(PGresult *res) {
  switch (PQresultStatus(res)) {
  case PGRES_FATAL_ERROR:
  case PGRES_PIPELINE_ABORTED:
    return UVPG_ESERVER;
  case PGRES_BAD_RESPONSE:
  case PGRES_NONFATAL_ERROR:
    return UVPG_EINTERNAL;
  default:
    return 0;
  }
}

} // namespace

// Completes the done ops at the head of the completion order, then
// sends what waited.
void conn_impl::complete_done() {
  while (!sent.empty() && sent.head->done && !close_requested &&
         st == state::ready) {
    if (!wire_head && pipeline_on && PQexitPipelineMode(pg)) {
      // Nothing more to read: leave pipeline mode before the callbacks,
      // so PQtransactionStatus tells the truth in them and between
      // statements (in pipeline mode it says "active" throughout).
      pipeline_on = false;
    }
    op *o = sent.pop();
    --sent_count;
    finish(o);
  }
  if (close_requested || st != state::ready) {
    return;
  }
  if (sent.empty() && !pipeline_on && stmts && !stmts->evicted.empty() &&
      PQtransactionStatus(pg) == PQTRANS_IDLE) {
    // Statements the cache let go are deallocated now that the session
    // is idle outside a transaction: inside one, a DEALLOCATE that
    // fails (the program ran DEALLOCATE ALL) would abort it.  One
    // simple-protocol string does them all, ahead of what waits.
    auto *d = new dealloc_op;
    for (const std::string &name : stmts->evicted) {
      d->sql += "DEALLOCATE " + name + ";";
    }
    stmts->evicted.clear();
    d->internal = true;
    d->simple = true;
    d->exclusive = true;
    queue.push_front(d);
  }
  pump();
}

void conn_impl::finish(op *o) {
  PGresult *res = std::exchange(o->res, nullptr);
  if (o->graced) {
    // The cancel grace is over for it; a cancel request still out keeps
    // its own bound.
    disarm_timer();
  }
  if (o->notified) {
    // Told at its deadline or cancelled: what it did is nobody's now.
    PQclear(res);
    std::exchange(copy_refused, false);
    post(callout::kind::retire, o);
    return;
  }
  int status = res ? status_of(res) : 0;
  if (o->refused) {
    o->why = o->refused_why;
    status = o->refused;
  }
  if (std::exchange(copy_refused, false) && status == 0) {
    PQclear(std::exchange(res, nullptr));
    status = UV_ENOTSUP;
    o->why = "COPY TO STDOUT is not supported by query(); the rows were "
             "read and dropped";
  } else if (status == UVPG_ESERVER) {
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && std::string_view(sev) == "FATAL") {
      // A FATAL ends the session (57P01 admin shutdown, 57P02/3 crash):
      // the statement failed because the connection did.
      status = UVPG_ECONNBAD;
    } else if (o->cancel_asked && is_query_canceled(res)) {
      // connection::cancel() stopped it: the program's doing, told as
      // such (the server's statement_timeout stays a 57014 error).
      o->why = std::string("operation canceled: the program's cancel "
                           "request stopped the statement on the server (") +
               first_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) +
               ")";
      PQclear(std::exchange(res, nullptr));
      status = UV_ECANCELED;
    }
  }
  post(callout::kind::complete, o, status, res);
}

void conn_impl::lost(std::string why) {
  if (st == state::broken || st == state::closing) {
    return;
  }
  while (!why.empty() && why.back() == '\n') {
    why.pop_back();
  }
  // A server that ends the session says why first: a FATAL
  // ErrorResponse, delivered to the notice receiver when no query was
  // running, or as a query's result (collect() keeps it).  An ERROR the
  // running statement met is no reason for the connection's end.
  std::string sqlstate = fatal_sqlstate;
  std::string msg = fatal_message;
  while (!msg.empty() && msg.back() == '\n') {
    msg.pop_back();
  }
  if (!msg.empty() && msg.find(why) == std::string::npos) {
    msg += '\n';
  }
  if (msg.find(why) == std::string::npos) {
    msg += why;
  }
  set_error(msg, sqlstate);
  st = state::broken;
  disarm_timer();
  if (cancel_pending) {
    std::exchange(cancel_pending, nullptr)->abandon(); // moot now
  }
  unwatch();
  if (pg) {
    PQfinish(std::exchange(pg, nullptr));
  }
  pipeline_on = false;
  sending = nullptr;
  copying = op::copy_way::none;
  copy_paused = copy_draining = false;
  // From the loop, never inside a call of the user's that got here
  // through submit() -> pump() -> send().  The lost-connection event
  // follows the failed operations' callbacks; a connection that never
  // finished its connect has none (the connect fails instead).
  bool established = !on_connect;
  later([this, established, msg = error_msg, state = error_sqlstate] {
    fail_all(UVPG_ECONNBAD);
    end_cancel_waiters(UVPG_ECONNBAD, msg);
    if (established) {
      notify_lost(this, msg, state);
      session_lost(this, msg, state);
      if (lessor) {
        lessor->connection_lost(this);
      }
    }
  });
}

void conn_impl::fail_all(int status) {
  wire_head = wire_tail = nullptr;
  sending = nullptr;
  while (!sent.empty() || !queue.empty()) {
    op *o = !sent.empty() ? sent.pop() : queue.pop();
    release(std::exchange(o->stmt, nullptr));
    PGresult *res = std::exchange(o->res, nullptr);
    if (res && PQresultStatus(res) != PGRES_FATAL_ERROR) {
      // Only the server's last words are worth keeping.
      PQclear(std::exchange(res, nullptr));
    }
    if (o->notified) {
      PQclear(res); // told at its deadline already
      post(callout::kind::retire, o);
      continue;
    }
    int s = o->after_close ? UVPG_ECLOSED : status;
    if (s == UVPG_ECLOSED) {
      o->why = "the connection is closed";
    } else if (s == UV_ECANCELED) {
      o->why = "operation canceled: the connection was closed";
    } else {
      o->why = error_msg; // why the connection was lost
      o->why_state = error_sqlstate;
    }
    if (res && s != UVPG_ECONNBAD) {
      PQclear(std::exchange(res, nullptr));
    }
    post(callout::kind::complete, o, s, res);
  }
  sent_count = 0;
}

} // namespace uvpg::detail
