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
#include <cstdio>

#include "internal.hh"

namespace uvpg::detail {

// How long a cancelled statement may take to end, and a cancel request
// to be done, before the connection is given up.
constexpr uint64_t cancel_grace_ms = 5000;

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

void conn_impl::submit(op *o) {
  queue.push(o);
  if (close_requested) {
    o->after_close = true; // failed with UVPG_ECLOSED before close_cb
    return;
  }
  if (st == state::broken) {
    // Fail it from the loop, not from inside the caller's call.
    later([this] { fail_all(UVPG_ECONNBAD); });
    return;
  }
  if (!dispatching) {
    pump();
  }
}

void conn_impl::pump() {
  while (st == state::ready && !inflight && !close_requested &&
         !cancel_pending && !queue.empty()) {
    if (queue.head->refused) {
      // Rejected before the wire (a placeholder mistake): it fails in its
      // place, after everything queued before it, and from the loop, since
      // pump() may run inside the call that queued it.
      if (!refusal_due) {
        refusal_due = true;
        later([this] {
          refusal_due = false;
          while (!close_requested && !queue.empty() && queue.head->refused &&
                 !inflight && st == state::ready) {
            op *o = queue.pop();
            set_error(o->refused_why);
            dispatch(this, [&] { o->complete(this, o->refused, nullptr); });
            o->retire();
          }
          pump();
        });
      }
      return;
    }
    op *o = queue.pop();
    inflight = o;
    if (!send(o)) {
      return;
    }
    if (o->timeout.count() > 0 && !on_connect) {
      arm_timer(static_cast<uint64_t>(o->timeout.count()));
    }
    flush();
  }
}

// The timer bounds the connect, then the running statement, then the
// wait for a cancel request to be done.
void conn_impl::timer_fired() {
  if (on_connect || st == state::resolving || st == state::connecting) {
    connect_timed_out();
  } else if (st == state::ready && inflight) {
    statement_timed_out();
  } else if (st == state::ready && cancel_pending) {
    lost("the cancel request did not complete; the connection was closed");
  }
}


void conn_impl::statement_timed_out() {
  if (inflight->timed_out) {
    lost("statement timeout: the server did not end the statement within " +
         std::to_string(cancel_grace_ms) +
         " ms of the cancel request; the connection was closed");
    return;
  }
  // Ask the server to cancel it: the statement then ends with SQLSTATE
  // 57014 and the session goes on.  If that does not happen in time the
  // connection is given up (aiopg closes it at once).
  inflight->timed_out = true;
  cancel_running();
  arm_timer(cancel_grace_ms);
}

void conn_impl::cancel_running() {
  // PQcancel opens its own connection and blocks, so it runs on libuv's
  // thread pool.  Until it is done the queue holds: a cancel that reaches
  // the backend late would otherwise stop the next statement instead
  // (asyncpg waits the same way).
  // XXX(uvpg): libpq 17's PQcancelStart/PQcancelPoll would let the loop
  // drive it and bound it with a timer.
  PGcancel *cancel = PQgetCancel(pg);
  if (!cancel) {
    return; // the grace timer still bounds the statement
  }
  auto *r = new cancel_link{{}, cancel, this, {}};
  int rc = uv_queue_work(
      loop, &r->work,
      [](uv_work_t *w) {
        auto *r = reinterpret_cast<cancel_link *>(w);
        PQcancel(r->cancel, r->err, sizeof r->err);
      },
      [](uv_work_t *w, int) {
        auto *r = reinterpret_cast<cancel_link *>(w);
        PQfreeCancel(r->cancel);
        if (conn_impl *c = r->conn) {
          loop_scope scope(c->loop);
          c->cancel_pending = nullptr;
          if (!c->inflight && c->st == state::ready) {
            c->disarm_timer(); // the wait for this request is over
          }
          c->pump();
        }
        delete r;
      });
  if (rc < 0) {
    PQfreeCancel(cancel);
    delete r;
    return;
  }
  cancel_pending = r;
}

bool conn_impl::send(op *o) {
  if (opts.echo && !o->internal) {
    echo_statement(o);
  }
  int ok;
  if (o->simple) {
    ok = PQsendQuery(pg, o->sql.c_str());
  } else {
    size_t n = o->values.size();
    std::vector<const char *> values(n);
    std::vector<Oid> types(n);
    std::vector<int> lengths(n), formats(n);
    for (size_t i = 0; i < n; ++i) {
      const encoded &v = o->values[i];
      values[i] = v.null ? nullptr : v.bytes.data();
      types[i] = v.type;
      lengths[i] = static_cast<int>(v.bytes.size());
      formats[i] = v.binary ? 1 : 0;
    }
    ok = PQsendQueryParams(pg, o->sql.c_str(), static_cast<int>(n),
                           types.data(), values.data(), lengths.data(),
                           formats.data(), o->binary_results ? 1 : 0);
  }
  if (!ok) {
    if (dead()) {
      lost(PQerrorMessage(pg));
    } else {
      // libpq refused this statement alone (e.g. too many parameters):
      // it fails in its place, from the loop, and the session goes on.
      inflight = nullptr;
      o->refused = UVPG_EPARAM;
      o->refused_why = PQerrorMessage(pg);
      queue.push_front(o);
      pump();
    }
    return false;
  }
  return true;
}

void conn_impl::flush() {
  if (st != state::ready) {
    return;
  }
  switch (PQflush(pg)) {
  case 0:
    watch(UV_READABLE);
    break;
  case 1:
    watch(UV_READABLE | UV_WRITABLE);
    break;
  default:
    dead();
    lost(PQerrorMessage(pg));
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

void conn_impl::read_input() {
  // Parse what arrived even when the read hit EOF: the server's last
  // words (e.g. FATAL 57P01) are in the buffer.
  bool eof = !PQconsumeInput(pg);
  std::string why = eof ? PQerrorMessage(pg) : "";
  bool gone = dead() || eof;

  // Notifications are freed until the LISTEN module takes them.
  while (PGnotify *n = PQnotifies(pg)) {
    PQfreemem(n);
  }

  while (inflight && st == state::ready) {
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
    if (!r) {
      if (gone && !(inflight_res &&
                    PQresultStatus(inflight_res) != PGRES_FATAL_ERROR)) {
        // Cut off by the disconnect (libpq made up the error result):
        // lost() fails it with UVPG_ECONNBAD and the real reason.
        break;
      }
      complete_inflight();
      if (close_requested || st != state::ready) {
        return;
      }
      if (!gone) {
        pump();
      }
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
      if (gone && PQresultStatus(r) == PGRES_FATAL_ERROR &&
          !PQresultErrorField(r, PG_DIAG_SQLSTATE) && inflight_res) {
        PQclear(r); // libpq's own "connection closed": keep the server's
      } else {
        collect(r);
      }
    }
  }
  if (gone && st == state::ready) {
    lost(why.empty() ? PQerrorMessage(pg) : why);
  }
}

void conn_impl::collect(PGresult *res) {
  // The last result wins, as with PQexec, but a first error is kept.
  if (inflight_res &&
      PQresultStatus(inflight_res) == PGRES_FATAL_ERROR) {
    PQclear(res);
    return;
  }
  PQclear(std::exchange(inflight_res, res));
}

namespace {

int status_of(PGresult *res) {
  switch (PQresultStatus(res)) {
  case PGRES_FATAL_ERROR:
    return UVPG_ESERVER;
  case PGRES_BAD_RESPONSE:
  case PGRES_NONFATAL_ERROR:
    return UVPG_EINTERNAL;
  default:
    return 0;
  }
}

} // namespace

void conn_impl::complete_inflight() {
  op *o = std::exchange(inflight, nullptr);
  PGresult *res = std::exchange(inflight_res, nullptr);
  int status = res ? status_of(res) : 0;
  if (o->timeout.count() > 0) {
    disarm_timer();
    if (cancel_pending) {
      // Bound the wait for the cancel request as the statement was.
      arm_timer(cancel_grace_ms);
    }
  }
  if (o->timed_out && status < 0) {
    status = UV_ETIMEDOUT; // cancelled on our request (SQLSTATE 57014)
  }
  if (std::exchange(copy_refused, false) && status == 0) {
    PQclear(std::exchange(res, nullptr));
    status = UV_ENOTSUP;
    set_error("COPY TO STDOUT is not supported by query(); the rows were "
              "read and dropped");
  } else if (status == UVPG_ESERVER) {
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    set_error(PQresultErrorMessage(res), state ? state : "");
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && std::string_view(sev) == "FATAL") {
      // A FATAL ends the session (57P01 admin shutdown, 57P02/3 crash):
      // the statement failed because the connection did.
      status = UVPG_ECONNBAD;
    }
  }
  dispatch(this, [&] { o->complete(this, status, res); });
  o->retire();
}

void conn_impl::lost(std::string why) {
  if (st == state::broken || st == state::closing) {
    return;
  }
  while (!why.empty() && why.back() == '\n') {
    why.pop_back();
  }
  // A server that ends the session says why first (a FATAL ErrorResponse,
  // delivered to the notice receiver when no query was running, or as
  // the running query's error).
  std::string sqlstate = fatal_sqlstate;
  std::string msg = fatal_message;
  if (inflight_res && PQresultStatus(inflight_res) == PGRES_FATAL_ERROR) {
    const char *s = PQresultErrorField(inflight_res, PG_DIAG_SQLSTATE);
    sqlstate = s ? s : sqlstate;
    msg = PQresultErrorMessage(inflight_res);
  }
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
  unwatch();
  if (pg) {
    PQfinish(std::exchange(pg, nullptr));
  }
  // From the loop, never inside a call of the user's that got here
  // through submit() -> pump() -> send().
  later([this] { fail_all(UVPG_ECONNBAD); });
}

void conn_impl::fail_all(int status) {
  while (inflight || !queue.empty()) {
    op *o = inflight ? std::exchange(inflight, nullptr) : queue.pop();
    PGresult *res = nullptr;
    if (inflight_res) {
      // The running statement keeps the server's last words, if any.
      res = std::exchange(inflight_res, nullptr);
      if (PQresultStatus(res) != PGRES_FATAL_ERROR) {
        PQclear(std::exchange(res, nullptr));
      }
    }
    int s = o->after_close ? UVPG_ECLOSED
            : o->timed_out ? UV_ETIMEDOUT
                           : status;
    dispatch(this, [&] { o->complete(this, s, res); });
    o->retire();
  }
}

void echo_statement(const op *o) {
  std::fprintf(stderr, "uvpg: %s\n", o->sql.c_str());
  for (size_t i = 0; i < o->values.size(); ++i) {
    const encoded &v = o->values[i];
    if (v.null) {
      std::fprintf(stderr, "uvpg:   $%zu = NULL\n", i + 1);
    } else if (v.binary) {
      std::fprintf(stderr, "uvpg:   $%zu = <%zu bytes, binary>\n", i + 1,
                   v.bytes.size());
    } else {
      std::fprintf(stderr, "uvpg:   $%zu = '%s'\n", i + 1, v.bytes.c_str());
    }
  }
}

} // namespace uvpg::detail
