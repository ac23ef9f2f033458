// Callouts and deadlines: how and when the engine calls the program.
//
// The engine never calls the program from inside submit(), pump(),
// flush() or a libpq callback: those can run inside a call of the
// program's (uvpg_conn_query() from a timer callback, say), and a
// callback there would break uvpg(7)'s rule 2.  What is done is queued
// here instead and delivered, in order, when the outermost loop entry
// point ends (the pattern of c-ares's ares_flush_requeue).  A completion
// queued outside any entry point (inside a call of the program's)
// brings a deferred task that delivers it from the loop.
//
// Deadlines are the operations' own: an operation with a timeout is told
// UV_ETIMEDOUT when its deadline passes, whatever the server does.  A
// queued one leaves the queue; a running one is cancelled on the server
// and its results are read and dropped in the background (the next
// statement cannot start before, or the cancel could hit it), under the
// cancel grace of the connection's timer.
#include "engine.hh"

namespace uvpg::detail {

void conn_impl::post(callout::kind k, op *o, int status, PGresult *res) {
  callouts.push_back({k, status, o, res});
  // Once closed, maybe_free() delivers what is left: a deferred task
  // could outlive the connection.
  if (!in_entry && !callouts_due && !close_requested) {
    callouts_due = true;
    later([this] { callouts_due = false; }); // its entry_scope delivers
  }
}

void conn_impl::run_callouts() {
  for (;;) {
    deliver_callouts();
    if (dispatching || close_requested || st != state::ready) {
      break;
    }
    // What the callbacks queued goes out now; what that posts (a COPY
    // drained as the socket took the rest) is delivered here too, or it
    // would wait for an entry point that may never come.
    pump();
    if (callouts.empty()) {
      break;
    }
  }
  if (timed_ops == 0) {
    uv_timer_stop(&deadline_timer);
  }
}

void conn_impl::deliver_callouts() {
  using kind = callout::kind;
  while (!callouts.empty() && !dispatching) {
    callout c = callouts.front();
    callouts.pop_front();
    op *o = c.o;
    switch (c.k) {
    case kind::retire:
      o->retire();
      continue;
    case kind::copy_ready:
    case kind::copy_drained:
      // COPY's events mean nothing once the connection is closed or lost.
      if (!close_requested && st == state::ready) {
        dispatch(this, [&] {
          if (c.k == kind::copy_ready) {
            o->copy_ready(this);
          } else {
            o->copy_drained(this);
          }
        });
      }
      continue;
    case kind::event: {
      // Queued before any close: delivered, like a completion.
      std::function<void()> f = std::move(events.front());
      events.pop_front();
      dispatch(this, f);
      continue;
    }
    case kind::complete:
    case kind::notify:
      break;
    }
    if (close_requested && !canceled_all && c.status >= 0) {
      // Closed by an earlier callback of this batch: rule 3 says pending
      // work ends with UV_ECANCELED.
      PQclear(std::exchange(c.res, nullptr));
      c.status = UV_ECANCELED;
      o->why = "the connection was closed";
      o->why_state.clear();
    }
    if (c.status < 0) {
      // Each callback reads its own error from the connection.
      if (c.res && PQresultErrorMessage(c.res)[0]) {
        const char *state = PQresultErrorField(c.res, PG_DIAG_SQLSTATE);
        set_error(PQresultErrorMessage(c.res), state ? state : "");
      } else if (!o->why.empty()) {
        set_error(std::move(o->why), std::move(o->why_state));
      }
      // Without the server's word on it, a statement that reached libpq
      // may have run (even committed): the connection broke, its
      // deadline passed, the program cancelled it (told at once, kind
      // notify: the cancel may come too late) or closed the connection
      // under it.  A cancel the server confirmed (57014) is its word.
      error_outcome_unknown =
          o->maybe_sent &&
          (c.status == UVPG_ECONNBAD || c.status == UV_ETIMEDOUT ||
           (c.status == UV_ECANCELED &&
            (close_requested || c.k == kind::notify)));
    }
    if (o->deadline) {
      --timed_ops;
    }
    // The query log record is taken before the result goes to the
    // callback, and handed to the loggers after it (session.cc).
    std::function<void()> log = query_log(this, o, c.status, c.res);
    dispatch(this, [&] { o->complete(this, c.status, c.res); });
    error_outcome_unknown = false;
    if (log) {
      dispatch(this, log);
    }
    if (c.k == kind::complete) {
      o->retire();
    }
  }
}

void conn_impl::unhold() {
  if (--holds == 0) {
    maybe_free();
  }
}

namespace {

void on_deadline(uv_timer_t *h) {
  auto *c = static_cast<conn_impl *>(h->data);
  entry_scope entry(c);
  c->deadlines_passed();
}

// Calls `f` on every sent, then every queued op.
template <class F> void each_op(conn_impl *c, F &&f) {
  for (op *o = c->sent.head; o; o = o->next) {
    f(o);
  }
  for (op *o = c->queue.head; o; o = o->next) {
    f(o);
  }
}

} // namespace

// Arms the deadline timer for the earliest deadline not yet told.  Only
// connections with timed operations pay for the walk.
void conn_impl::arm_deadlines() {
  if (timed_ops == 0 || close_requested) {
    uv_timer_stop(&deadline_timer);
    return;
  }
  uint64_t first = UINT64_MAX;
  each_op(this, [&](op *o) {
    if (o->deadline && !o->notified) {
      first = std::min(first, o->deadline);
    }
  });
  if (first == UINT64_MAX) {
    uv_timer_stop(&deadline_timer);
    return;
  }
  uint64_t now = uv_now(loop);
  uv_timer_start(&deadline_timer, on_deadline, first > now ? first - now : 0,
                 0);
}

void conn_impl::deadlines_passed() {
  if (close_requested || st != state::ready) {
    return; // lost() or close() fails them all
  }
  uint64_t now = uv_now(loop);
  auto expired = [&](const op *o) {
    return o->deadline && o->deadline <= now && !o->notified && !o->done;
  };
  // Queued ones leave the queue and fail in call order.
  op **link = &queue.head;
  op *prev = nullptr;
  while (op *o = *link) {
    if (!expired(o)) {
      prev = o;
      link = &o->next;
      continue;
    }
    *link = o->next;
    if (queue.tail == o) {
      queue.tail = prev;
    }
    o->next = nullptr;
    o->timed_out = true;
    o->why = "statement timeout: not started within " +
             std::to_string(o->timeout.count()) + " ms";
    o->why_state.clear();
    o->notified = true;
    post(callout::kind::complete, o, UV_ETIMEDOUT);
  }
  // A sent one runs alone (an op with a timeout has nothing in flight
  // beside it, in pipeline mode or not): it is told now, cancelled on
  // the server, and read to its end later.
  for (op *o = sent.head; o; o = o->next) {
    if (!expired(o)) {
      continue;
    }
    o->timed_out = true;
    o->why = "statement timeout: no result within " +
             std::to_string(o->timeout.count()) + " ms; the statement is "
             "being cancelled";
    o->why_state.clear();
    o->notified = true;
    post(callout::kind::notify, o, UV_ETIMEDOUT);
    // Ask the server to end it (SQLSTATE 57014) and give it the grace
    // period: a server that does not end it loses the connection.
    cancel_told();
  }
  arm_deadlines();
}

} // namespace uvpg::detail
