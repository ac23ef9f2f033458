// LISTEN/NOTIFY: notifications handed to a connection's handlers, its C
// callback and its queue, and LISTEN, UNLISTEN and NOTIFY as statements.
//
// libpq parses a NotificationResponse inside PQconsumeInput, PQisBusy or
// PQgetResult, which run inside the engine and may run inside a call of
// the program's.  notify_input() (called by read_input(), pq.cc) only
// moves what libpq parsed into the lease's state and queues an event
// callout; the event delivers the batch from the loop when the outermost
// entry point ends (uvpg(7), rule 2).  libpq stops parsing at a result
// the program has not taken, so a notification that arrived behind a
// statement's last result is parsed only once that result was taken:
// read_input() calls notify_input() again after the results, or such a
// notification would wait for the next bytes on the socket.
//
// The end of the stream comes three ways, each once:
//  - the loss: notify_lost(), from lost()'s deferred task, queues an
//    event behind the failed statements' callbacks (and behind any batch
//    queued before the loss, which is delivered first);
//  - the close: connection_closing() (free_observer), called from
//    maybe_free() once the engine's own work was failed; the waiters and
//    the C callback are told from a deferred task that holds the close
//    callback back (conn_impl::hold()), since the program's code must
//    not run while the engine walks its observers;
//  - the lease's end (end_lease_notify(), from the pool's give-back,
//    which runs inside the program's call that released the handle):
//    told through an event callout.
#include <atomic>
#include <utility>

#include "engine/engine.hh"
#include "notify_state.hh"
#include "sql.hh"

namespace uvpg::detail {

namespace {

// Handler ids are unique in the process, so an id kept from an earlier
// lease of a pooled connection cannot remove a handler of a later one.
std::atomic<std::uint64_t> last_handler_id{0};

std::exception_ptr released_error(int status) {
  return std::make_exception_ptr(connection_closed(
      status, status == UV_ECANCELED
                  ? "operation canceled: the connection went back to its "
                    "pool"
                  : "the connection went back to its pool"));
}

// The loss's error as a statement pending at the loss got it: make_error()
// reads the connection's error, which callbacks delivered since the loss
// may have changed; `msg` and `sqlstate` are the loss's own.
std::exception_ptr lost_error(conn_impl *c, const std::string &msg,
                              const std::string &sqlstate) {
  std::string saved_msg = std::exchange(c->error_msg, msg);
  std::string saved_state = std::exchange(c->error_sqlstate, sqlstate);
  std::exception_ptr e = make_error(c, UVPG_ECONNBAD, nullptr);
  c->error_msg = std::move(saved_msg);
  c->error_sqlstate = std::move(saved_state);
  return e;
}

// The event callout that delivers what notify_input() took.
void deliver_pending(conn_impl *c) {
  std::shared_ptr<notify_state> s = c->notifications; // it may go meanwhile
  if (!s) {
    return;
  }
  s->delivery_posted = false;
  std::vector<PGnotify *> batch =
      std::exchange(s->pending, std::move(s->spare));
  s->spare.clear();
  for (PGnotify *n : batch) {
    if (s->delivering()) {
      s->deliver(n);
    }
    PQfreemem(n);
  }
  batch.clear();
  if (batch.capacity() > s->spare.capacity()) {
    s->spare = std::move(batch);
  }
}

} // namespace

notify_state::notify_state(conn_impl *conn) : c(conn), loop(conn->loop) {
  c->observe(this);
  if (c->close_requested) {
    ph = phase::closed;
    end_error = make_error(c, UVPG_ECLOSED, nullptr);
  } else if (c->is_closed()) {
    ph = phase::lost; // the loss came before anybody listened
    end_error = make_error(c, UVPG_ECONNBAD, nullptr);
  }
}

notify_state::~notify_state() {
  if (c) {
    c->unobserve(this);
  }
  free_pending();
  // Waiters are told at every end; a state freed with some left (its
  // engine freed without a close, which does not happen) still fails
  // them rather than leave them hanging.
  for (state<notification> *w : waiters) {
    w->fail(released_error(UV_ECANCELED));
    w->release();
  }
}

void notify_state::free_pending() noexcept {
  for (PGnotify *n : pending) {
    PQfreemem(n);
  }
  pending.clear();
}

void notify_state::deliver(const PGnotify *n) {
  // A C++ consumer gets one notification built once: the handlers see
  // it, then the queue takes it over.
  std::optional<notification> note;
  auto make = [&] {
    if (!note) {
      note.emplace(notification{n->relname, n->extra ? n->extra : "",
                                n->be_pid});
    }
  };
  try {
    if (std::shared_ptr<const handler_list> hs = handlers) {
      for (const std::shared_ptr<handler> &h : *hs) {
        if (h->removed) {
          continue;
        }
        make();
        try {
          h->fn(*note);
        } catch (...) {
        }
        if (!delivering()) {
          return;
        }
      }
    }
    if (uvpg_notify_cb cb = c_cb) {
      uvpg_notify_t cn{};
      cn.size = sizeof cn;
      cn.channel = n->relname;
      cn.payload = n->extra ? n->extra : "";
      cn.pid = n->be_pid;
      cb(c_handle(c), 0, &cn, c_data);
      if (!delivering()) {
        return;
      }
    }
    if (keeping) {
      make();
      put(std::move(*note));
    }
  } catch (...) {
    // Out of memory for its strings: this one is lost to C++.
  }
}

void notify_state::put(notification &&n) {
  while (!waiters.empty()) {
    state<notification> *w = waiters.front();
    waiters.pop_front();
    if (w->refs == 1) {
      w->release(); // its future was dropped: it takes nothing
      continue;
    }
    w->set(std::move(n)); // may resume the waiting coroutine now
    w->release();
    return;
  }
  if (queue.size() >= max_queued_notifications) {
    ++dropped;
    return;
  }
  queue.push_back(std::move(n));
}

notify_state::farewell notify_state::end(phase p,
                                         std::exception_ptr later_error) noexcept {
  farewell owed;
  if (ph == phase::open) {
    owed.waiters = std::move(waiters);
    waiters.clear();
    owed.cb = std::exchange(c_cb, nullptr);
    owed.data = std::exchange(c_data, nullptr);
  }
  ph = p;
  end_error = std::move(later_error);
  if (p != phase::lost) {
    queue.clear();
  }
  free_pending();
  return owed;
}

void notify_state::farewell::operator()(conn_impl *conn, int status,
                                        const std::exception_ptr &e) noexcept {
  while (!waiters.empty()) {
    state<notification> *w = waiters.front();
    waiters.pop_front();
    w->fail(e); // may resume the waiting coroutine now
    w->release();
  }
  if (cb) {
    std::exchange(cb, nullptr)(c_handle(conn), status, nullptr, data);
  }
}

void notify_state::connection_closing() noexcept {
  farewell owed = end(phase::closed, make_error(c, UVPG_ECLOSED, nullptr));
  if (owed.empty()) {
    return;
  }
  // From the loop, holding the close callback back until it ran.
  conn_impl *conn = c;
  conn->hold();
  try {
    defer(loop, [conn, owed = std::move(owed)]() mutable {
      {
        entry_scope entry(conn);
        dispatch(conn, [&] {
          owed(conn, UV_ECANCELED, make_error(conn, UV_ECANCELED, nullptr));
        });
      }
      conn->unhold();
    });
  } catch (...) {
    conn->unhold(); // out of memory: nobody is told
  }
}

notify_state &notify_of(conn_impl *c) {
  if (!c->notifications) {
    c->notifications = std::make_shared<notify_state>(c);
  }
  return *c->notifications;
}

void notify_input(conn_impl *c) {
  if (!c->pg) {
    return;
  }
  notify_state *s = c->notifications.get();
  bool take = s && s->ph == notify_state::phase::open && s->wanted();
  while (PGnotify *n = PQnotifies(c->pg)) {
    if (!take) {
      PQfreemem(n);
      continue;
    }
    try {
      s->pending.push_back(n);
    } catch (...) {
      PQfreemem(n);
    }
  }
  if (take && !s->pending.empty() && !s->delivery_posted) {
    try {
      c->events.emplace_back([c] { deliver_pending(c); });
    } catch (...) {
      s->free_pending();
      return;
    }
    s->delivery_posted = true;
    c->post(conn_impl::callout::kind::event, nullptr);
  }
}

void notify_lost(conn_impl *c, const std::string &msg,
                 const std::string &sqlstate) {
  if (!c->notifications ||
      c->notifications->ph != notify_state::phase::open) {
    return;
  }
  // Behind the batches queued before the loss, which are delivered.
  c->events.emplace_back([c, e = lost_error(c, msg, sqlstate)] {
    std::shared_ptr<notify_state> s = c->notifications;
    if (!s || s->ph != notify_state::phase::open) {
      return;
    }
    s->end(notify_state::phase::lost, e)(c, UVPG_ECONNBAD, e);
  });
  c->post(conn_impl::callout::kind::event, nullptr);
}

void end_lease_notify(conn_impl *c) noexcept {
  std::shared_ptr<notify_state> s = std::move(c->notifications);
  if (!s) {
    return;
  }
  c->unobserve(s.get());
  s->c = nullptr;
  notify_state::farewell owed =
      s->end(notify_state::phase::released, released_error(UVPG_ECLOSED));
  if (owed.empty()) {
    return;
  }
  // This runs inside the program's release: the program hears of it
  // from the loop.
  try {
    c->events.emplace_back([c, owed = std::make_shared<notify_state::farewell>(
                                   std::move(owed))] {
      (*owed)(c, UV_ECANCELED, released_error(UV_ECANCELED));
    });
  } catch (...) {
    return; // out of memory: nobody is told
  }
  c->post(conn_impl::callout::kind::event, nullptr);
}

} // namespace uvpg::detail

// ---- the C++ API ----

namespace uvpg {

using detail::notify_state;

notify_queue::notify_queue(std::shared_ptr<notify_state> s) noexcept
    : _s(std::move(s)) {}

future<notification> notify_queue::get() {
  if (!_s) {
    throw usage_error("notify_queue::get on an empty view: take one from "
                      "connection::notifies()");
  }
  notify_state &s = *_s;
  detail::loop_scope scope(s.loop);
  if (!s.queue.empty()) {
    promise<notification> p(s.loop);
    auto f = p.get_future();
    p.set_value(std::move(s.queue.front()));
    s.queue.pop_front();
    return f;
  }
  if (s.ph != notify_state::phase::open) {
    return future<notification>::make_failed(s.end_error);
  }
  if (s.c && s.c->close_requested) {
    // Closed, and the close not yet done: it would fail a waiter soon.
    return future<notification>::make_failed(
        detail::make_error(s.c, UVPG_ECLOSED, nullptr));
  }
  // Waiters whose futures were dropped go first, so a program that
  // keeps asking and giving up does not pile them up.
  while (!s.waiters.empty() && s.waiters.back()->refs == 1) {
    s.waiters.back()->release();
    s.waiters.pop_back();
  }
  auto *st = new detail::state<notification>;
  st->loop = s.loop;
  auto f = detail::future_of(st);
  try {
    s.waiters.push_back(st); // keeps the reference new gave
  } catch (...) {
    st->release();
    throw;
  }
  return f;
}

std::optional<notification> notify_queue::try_get() {
  if (!_s || _s->queue.empty()) {
    return std::nullopt;
  }
  std::optional<notification> n(std::move(_s->queue.front()));
  _s->queue.pop_front();
  return n;
}

std::size_t notify_queue::size() const noexcept {
  return _s ? _s->queue.size() : 0;
}

std::uint64_t notify_queue::dropped() const noexcept {
  return _s ? _s->dropped : 0;
}

namespace {

detail::notify_state &notify_for(detail::conn_impl *c, const char *what) {
  if (!c) {
    throw usage_error(std::string("connection::") + what +
                      " on a closed connection");
  }
  return detail::notify_of(c);
}

future<result> channel_command(connection &conn, const char *verb,
                               std::string_view channel) {
  if (channel.find('\0') != std::string_view::npos) {
    std::string err = "a channel name cannot hold a NUL byte";
    if (conn.impl()) {
      conn.impl()->set_error(err);
    }
    return make_exception_future<result>(
        detail::status_error(UVPG_EPARAM, err));
  }
  return conn.query(verb + detail::quote_identifier(channel));
}

} // namespace

future<result> connection::listen(std::string_view channel) {
  return channel_command(*this, "LISTEN ", channel);
}

future<result> connection::unlisten(std::string_view channel) {
  return channel_command(*this, "UNLISTEN ", channel);
}

future<result> connection::unlisten_all() { return query("UNLISTEN *"); }

future<result> connection::notify(std::string_view channel,
                                  std::string_view payload) {
  return query("SELECT pg_notify($1, $2)",
               params{param(std::string(channel)),
                      param(std::string(payload))});
}

notify_queue connection::notifies() {
  notify_state &s = notify_for(_impl, "notifies");
  s.keeping = true;
  return notify_queue(s.shared_from_this());
}

std::uint64_t connection::add_notify_handler(notify_handler h) {
  notify_state &s = notify_for(_impl, "add_notify_handler");
  auto entry = std::make_shared<notify_state::handler>();
  entry->id = ++detail::last_handler_id;
  entry->fn = std::move(h);
  auto list = s.handlers ? std::make_shared<notify_state::handler_list>(
                               *s.handlers)
                         : std::make_shared<notify_state::handler_list>();
  list->push_back(entry);
  s.handlers = std::move(list);
  return entry->id;
}

bool connection::remove_notify_handler(std::uint64_t id) noexcept {
  if (!_impl || !_impl->notifications || !_impl->notifications->handlers) {
    return false;
  }
  notify_state &s = *_impl->notifications;
  std::shared_ptr<const notify_state::handler_list> hs = s.handlers;
  for (const auto &h : *hs) {
    if (h->id != id || h->removed) {
      continue;
    }
    h->removed = true; // a delivery under way skips it
    try {
      auto list = std::make_shared<notify_state::handler_list>();
      for (const auto &other : *hs) {
        if (!other->removed) {
          list->push_back(other);
        }
      }
      s.handlers = std::move(list);
    } catch (...) {
      // Out of memory: it stays in the list, marked, and is skipped.
    }
    return true;
  }
  return false;
}

} // namespace uvpg
