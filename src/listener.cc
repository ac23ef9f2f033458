// The reconnecting LISTEN/NOTIFY listener (uvpg/listener.hh): sessions
// and their epochs, the set of channels, the bounded event queue, the
// heartbeat, and the C++ handle.  See listener.hh for the phases and the
// rule that the program is only called from pump().
//
// It is built on the per-connection notification API (uvpg/notify.hh)
// and the lost-connection event (uvpg/session.hh), not inside the
// engine: a session is an ordinary uvpg::connection that nobody else
// holds.  Only its connect goes through the engine directly, so that a
// close can abort a connect in flight instead of waiting for its timeout.
#include <algorithm>
#include <random>

#include "listener.hh"

namespace uvpg::detail {

using phase = listener_impl::phase;

namespace {

uint64_t now_ms(uv_loop_t *loop) {
  uv_update_time(loop);
  return uv_now(loop);
}

// The status and words of a failed future's error.
int status_of(std::exception_ptr e, std::string &why) {
  try {
    std::rethrow_exception(e);
  } catch (const error &x) {
    why = x.what();
    return x.status() < 0 ? x.status() : int{UVPG_EINTERNAL};
  } catch (const std::exception &x) {
    why = x.what();
  } catch (...) {
    why = "unknown error";
  }
  return UVPG_EINTERNAL;
}

// A failure that says the session itself is gone, not the statement.
bool session_gone(int status) {
  return status == UVPG_ECONNBAD || status == UVPG_ECLOSED ||
         status == UV_ECANCELED;
}

struct dial_waiter final : connect_waiter {
  listener_impl *l;
  uint64_t ep;
  dial_waiter(listener_impl *li, uint64_t e) : l(li), ep(e) {}
  void done(conn_impl *c, int status) noexcept override {
    listener_impl *li = l;
    li->dialed(ep, c, status);
    li->unref();
  }
};

struct dial_closed final : close_waiter {
  listener_impl *l;
  explicit dial_closed(listener_impl *li) : l(li) {}
  void done(conn_impl *) noexcept override {
    listener_impl *li = l;
    li->defer_closed();
  }
};

} // namespace

bool valid_channel(std::string_view name) noexcept {
  return !name.empty() && name.size() <= 63 &&
         name.find('\0') == std::string_view::npos;
}

bool valid_options(const listener_options &o, std::string &why) {
  if (o.reconnect_min.count() <= 0 || o.reconnect_max < o.reconnect_min) {
    why = "reconnect_min must be more than 0 and at most reconnect_max";
  } else if (o.max_queue == 0) {
    why = "max_queue must be at least 1";
  } else if (o.heartbeat_interval.count() < 0 ||
             (o.heartbeat_interval.count() > 0 &&
              o.heartbeat_timeout.count() <= 0)) {
    why = "the heartbeat needs an interval of 0 or more, and a timeout of "
          "more than 0 when its interval is";
  } else {
    return true;
  }
  return false;
}

listener_impl::listener_impl(uv_loop_t *l, std::string info,
                             const listener_options &o)
    : loop(l), conninfo(std::move(info)), opts(o) {
  for (uv_timer_t *t : {&retry_timer, &heartbeat_timer}) {
    uv_timer_init(loop, t);
    t->data = this;
    ++open_handles;
  }
}

void listener_impl::unref() noexcept {
  if (--refs > 0) {
    return;
  }
  // Last reference: the timers' close callbacks free the listener.
  for (uv_timer_t *t : {&retry_timer, &heartbeat_timer}) {
    uv_close(reinterpret_cast<uv_handle_t *>(t), [](uv_handle_t *h) {
      auto *l = static_cast<listener_impl *>(h->data);
      if (--l->open_handles == 0) {
        delete static_cast<uvpg_listener_s *>(l);
      }
    });
  }
}

// ---- sessions ----

void listener_impl::start() {
  add_ref();
  defer(loop, [this] {
    loop_scope scope(loop);
    if (!closing && ph == phase::starting) {
      attempt();
    }
    unref();
  });
}

void listener_impl::attempt() noexcept {
  ph = phase::connecting;
  hb_inflight = false;
  uint64_t ep = ++epoch;
  add_ref(); // the dial_waiter's
  uvpg_conn_s *c = nullptr;
  dial_waiter *w = nullptr;
  try {
    // The waiter first: an engine, once made, holds timers on the loop
    // and goes only through its close.
    w = new dial_waiter(this, ep);
    c = new uvpg_conn_s(loop, opts.conn);
  } catch (const std::exception &e) {
    // Only memory can fail here.
    delete w;
    unref();
    give_up_or_retry(UV_ENOMEM, e.what(), std::current_exception());
    return;
  }
  dialing = c;
  c->on_connect = w;
  try {
    c->start(conninfo.c_str());
  } catch (...) {
    // The close tells the waiter (UV_ECANCELED): dialed() retries.
    c->close(nullptr);
  }
}

void listener_impl::dialed(uint64_t ep, conn_impl *c, int status) noexcept {
  if (dialing == c) {
    dialing = nullptr;
  }
  if (status < 0) {
    std::string why = c->error_msg;
    std::exception_ptr err = make_error(c, status, nullptr);
    c->close(nullptr); // nobody else holds it (a second close is ignored)
    if (!closing && ep == epoch) {
      give_up_or_retry(status, why, err);
    }
    return;
  }
  if (closing || ep != epoch) {
    c->close(nullptr);
    return;
  }
  conn = connection(c);
  ph = phase::listening;
  try {
    // Installed once per session, on a connection nobody else holds:
    // a notification cannot reach the listener twice.
    conn.add_notify_handler(
        [this, ep](const notification &n) { on_notification(ep, n); });
    conn.add_termination_listener(
        [this, ep](const termination_event &e) {
          session_failed(ep, e.status, e.message, nullptr);
        });
  } catch (const std::exception &e) {
    session_failed(ep, UV_ENOMEM, e.what(), std::current_exception());
    return;
  }
  for (auto it = channels.begin(); it != channels.end(); ++it) {
    send_listen(it);
  }
  check_up();
}

void listener_impl::send_listen(
    std::map<std::string, channel_state>::iterator it) {
  uint64_t s = ++seq;
  uint64_t ep = epoch;
  it->second.listen_seq = s;
  add_ref();
  future<result> f;
  try {
    f = conn.listen(it->first);
  } catch (...) {
    f = make_exception_future<result>(std::current_exception());
  }
  (void)std::move(f).then_wrapped(
      [this, ep, s, name = it->first](future<result> r) {
        loop_scope scope(loop);
        listen_done(ep, s, name, r);
        unref();
      });
}

void listener_impl::listen_done(uint64_t ep, uint64_t s,
                                const std::string &name,
                                future<result> &r) noexcept {
  if (closing || ep != epoch) {
    return; // its session is gone: the next one LISTENs again
  }
  auto it = channels.find(name);
  if (it == channels.end() || it->second.listen_seq != s) {
    return; // unlisten() came, or a later LISTEN answers for it
  }
  if (!r.failed()) {
    it->second.confirmed = ep;
    for (listen_req *w : std::exchange(it->second.waiters, {})) {
      answer(w, 0);
    }
    check_up();
    return;
  }
  std::string why;
  std::exception_ptr err = r.get_exception();
  int status = status_of(err, why);
  if (session_gone(status) || conn.closed()) {
    session_failed(ep, status, why, err);
  } else if (ph == phase::listening) {
    // The server refuses to LISTEN (a standby in recovery: 25006): this
    // session is no use; the next attempt may find a primary.
    session_failed(ep, status, why, err);
  } else {
    // A channel added while up, refused on its own: it leaves the set.
    for (listen_req *w : std::exchange(it->second.waiters, {})) {
      answer(w, status, err);
    }
    channels.erase(it);
  }
}

void listener_impl::check_up() noexcept {
  if (ph != phase::listening) {
    return;
  }
  for (const auto &[name, ch] : channels) {
    if (ch.confirmed != epoch) {
      return;
    }
  }
  became_up();
}

void listener_impl::became_up() noexcept {
  ph = phase::up;
  backoff_ms = 0;
  ++st.connects;
  listener_event ev;
  ev.kind = listener_event_kind::connected;
  ev.backend_pid = conn.backend_pid();
  push(std::move(ev));
  if (down) {
    listener_event gap;
    gap.kind = listener_event_kind::gap;
    gap.status = down_status;
    gap.away = std::chrono::milliseconds(now_ms(loop) - down_since_ms);
    // The loss's first line: the disconnected event had all of it.
    gap.message = "listener: listening again after " +
                  std::to_string(gap.away.count()) +
                  " ms away; notifications sent meanwhile may be lost (" +
                  down_message.substr(0, down_message.find('\n')) + ")";
    push(std::move(gap));
    down = false;
  }
  // What arrived while the session re-LISTENed comes after the gap.
  for (notification &n : held) {
    if (channels.count(n.channel)) {
      listener_event e;
      e.notify = std::move(n);
      push(std::move(e));
    }
  }
  held.clear();
  if (held_dropped > 0) {
    overflow(std::exchange(held_dropped, 0));
  }
  if (opts.heartbeat_interval.count() > 0) {
    auto every = static_cast<uint64_t>(opts.heartbeat_interval.count());
    uv_timer_start(
        &heartbeat_timer,
        [](uv_timer_t *t) {
          auto *l = static_cast<listener_impl *>(t->data);
          loop_scope scope(l->loop);
          l->heartbeat();
        },
        every, every);
  }
  bool first = !ever_up;
  ever_up = true;
  if (first && connect_st) {
    outbox.emplace_back([this] {
      auto *cs = std::exchange(connect_st, nullptr);
      if (cs->refs == 1) {
        // The program dropped the future: nobody will hold the handle.
        cs->release();
        close(nullptr);
        unref();
        return;
      }
      cs->set(listener(this)); // the handle takes the connect's ref
      cs->release();
    });
    kick();
  }
}

void listener_impl::session_failed(uint64_t ep, int status,
                                   const std::string &why,
                                   std::exception_ptr err) noexcept {
  if (closing || ep != epoch ||
      (ph != phase::listening && ph != phase::up)) {
    return; // told already (the loss and a failed statement both say so)
  }
  bool was_up = ph == phase::up;
  uv_timer_stop(&heartbeat_timer);
  retire_conn();
  held.clear();
  held_dropped = 0;
  // What the session still reports (notifications it read before its
  // close, answers to its statements) is dropped from here on.
  ++epoch;
  ph = phase::waiting; // until schedule_retry() or the close
  if (!was_up) {
    give_up_or_retry(status, why, err);
    return;
  }
  ++st.lost;
  if (!down) {
    down = true;
    down_since_ms = now_ms(loop);
    down_status = status;
    down_message = why;
  }
  away(status, why);
}

void listener_impl::away(int status, const std::string &why) noexcept {
  last_error = why;
  listener_event ev;
  ev.kind = listener_event_kind::disconnected;
  ev.status = status;
  ev.message = why;
  push(std::move(ev));
  schedule_retry();
}

void listener_impl::give_up_or_retry(int status, const std::string &why,
                                     std::exception_ptr err) noexcept {
  ++st.failed;
  if (fail_first && !ever_up) {
    // listener::connect(): the first attempt's error is the answer, once
    // the connection is closed.
    if (!err) {
      err = status_error(status, why);
    }
    close([this, err] {
      auto *cs = std::exchange(connect_st, nullptr);
      cs->fail(err);
      cs->release();
      unref(); // the connect's reference
    });
    last_error = why;
    return;
  }
  away(status, why);
}

void listener_impl::schedule_retry() noexcept {
  ph = phase::waiting;
  auto lo = static_cast<uint64_t>(opts.reconnect_min.count());
  auto hi = static_cast<uint64_t>(opts.reconnect_max.count());
  backoff_ms = backoff_ms ? std::min(backoff_ms * 2, hi) : lo;
  // Between half and all of it, so listeners that lost one server do
  // not all come back in the same millisecond.
  thread_local std::minstd_rand rng{std::random_device{}()};
  uint64_t half = backoff_ms / 2;
  uint64_t delay = backoff_ms - half + rng() % (half + 1);
  uv_timer_start(
      &retry_timer,
      [](uv_timer_t *t) {
        auto *l = static_cast<listener_impl *>(t->data);
        loop_scope scope(l->loop);
        if (!l->closing && l->ph == phase::waiting) {
          l->attempt();
        }
      },
      delay, 0);
}

void listener_impl::retire_conn() noexcept {
  if (!conn.impl()) {
    return;
  }
  // What the session queued before the close is still delivered (and
  // dropped by its epoch); the listener lives until that is done.
  ++closing_conns;
  add_ref();
  (void)conn.close().then_wrapped([this](future<void>) {
    loop_scope scope(loop);
    --closing_conns;
    maybe_closed();
    unref();
  });
}

void listener_impl::heartbeat() noexcept {
  if (ph != phase::up || hb_inflight || closing) {
    return;
  }
  hb_inflight = true;
  uint64_t ep = epoch;
  query_options qo;
  qo.timeout = opts.heartbeat_timeout;
  add_ref();
  future<result> f;
  try {
    f = conn.query("SELECT 1", params{}, qo);
  } catch (...) {
    f = make_exception_future<result>(std::current_exception());
  }
  (void)std::move(f).then_wrapped([this, ep](future<result> r) {
    loop_scope scope(loop);
    if (ep == epoch) {
      hb_inflight = false;
    }
    if (!closing && ep == epoch) {
      if (!r.failed()) {
        ++st.heartbeats;
      } else {
        std::string why;
        int status = status_of(r.get_exception(), why);
        if (status == UV_ETIMEDOUT) {
          // A half-open socket, a stopped server, or one too busy to
          // answer SELECT 1: the session is of no use either way.
          ++st.heartbeat_timeouts;
          session_failed(ep, status,
                         "listener: the heartbeat got no answer within " +
                             std::to_string(opts.heartbeat_timeout.count()) +
                             " ms",
                         nullptr);
        } else if (session_gone(status) || conn.closed()) {
          session_failed(ep, status, why, nullptr);
        }
        // Anything else (a server error on SELECT 1) says the server
        // answered: the session lives.
      }
    }
    unref();
  });
}

void listener_impl::on_notification(uint64_t ep,
                                    const notification &n) noexcept {
  if (closing || ep != epoch ||
      (ph != phase::listening && ph != phase::up) ||
      !channels.count(n.channel)) {
    // A session given up on: what it still had falls in the gap.
    return;
  }
  ++st.received;
  if (ph == phase::listening) {
    if (held.size() >= opts.max_queue) {
      ++held_dropped; // a gap once the session is up
      return;
    }
    held.push_back(n);
    return;
  }
  listener_event ev;
  ev.notify = n;
  push(std::move(ev));
}

// ---- the queue ----

void listener_impl::push(listener_event ev) noexcept {
  if (closing) {
    return;
  }
  if (queue.size() >= opts.max_queue) {
    // Full: the event is dropped into one gap at the end, the one event
    // allowed beyond max_queue.
    overflow(ev.kind == listener_event_kind::notification ? 1 : 0);
    return;
  }
  if (ev.kind == listener_event_kind::gap) {
    ++st.gaps;
  }
  queue.push_back(std::move(ev));
  kick();
}

void listener_impl::overflow(uint64_t dropped) noexcept {
  if (queue.empty() || queue.back().kind != listener_event_kind::gap ||
      queue.back().status != UV_ENOBUFS) {
    listener_event gap;
    gap.kind = listener_event_kind::gap;
    gap.status = UV_ENOBUFS;
    gap.message = "listener: the queue of " + std::to_string(opts.max_queue) +
                  " events was full; notifications were dropped";
    last_error = gap.message;
    ++st.gaps;
    queue.push_back(std::move(gap));
  }
  queue.back().dropped += dropped;
  st.dropped += dropped;
  kick();
}

bool listener_impl::pop(listener_event &out) noexcept {
  while (!queue.empty()) {
    listener_event ev = std::move(queue.front());
    queue.pop_front();
    if (ev.kind == listener_event_kind::notification &&
        !channels.count(ev.notify.channel)) {
      continue; // unlisten() came after it arrived
    }
    ++st.delivered;
    out = std::move(ev);
    return true;
  }
  return false;
}

// ---- the set of channels ----

int listener_impl::listen(std::string_view name, listen_req *req) {
  if (closing) {
    return UVPG_ECLOSED;
  }
  auto [it, added] = channels.try_emplace(std::string(name));
  bool live = ph == phase::listening || ph == phase::up;
  if (!added && live && it->second.confirmed == epoch) {
    if (req) {
      answer(req, 0);
    }
    return 0;
  }
  if (req) {
    it->second.waiters.push_back(req);
  }
  if (added && live) {
    send_listen(it);
  }
  // Not live: the next session LISTENs to the whole set.
  return 0;
}

int listener_impl::unlisten(std::string_view name, listen_req *req) {
  if (closing) {
    return UVPG_ECLOSED;
  }
  auto it = channels.find(name);
  if (it == channels.end()) {
    if (req) {
      answer(req, 0);
    }
    return 0;
  }
  for (listen_req *w : std::exchange(it->second.waiters, {})) {
    answer(w, UV_ECANCELED);
  }
  std::string chan = it->first;
  channels.erase(it);
  if (ph != phase::listening && ph != phase::up) {
    // No session: the next one will not LISTEN to it.
    if (req) {
      answer(req, 0);
    }
    return 0;
  }
  uint64_t s = ++seq;
  uint64_t ep = epoch;
  if (req) {
    unlistens.emplace(s, req);
  }
  add_ref();
  future<result> f;
  try {
    f = conn.unlisten(chan);
  } catch (...) {
    f = make_exception_future<result>(std::current_exception());
  }
  (void)std::move(f).then_wrapped([this, s, ep](future<result> r) {
    loop_scope scope(loop);
    auto w = unlistens.find(s);
    if (w != unlistens.end()) {
      listen_req *req = w->second;
      unlistens.erase(w);
      std::string why;
      std::exception_ptr err = r.failed() ? r.get_exception() : nullptr;
      int status = err ? status_of(err, why) : 0;
      // A session that is gone no longer listens: done all the same.
      if (status < 0 && (session_gone(status) || ep != epoch)) {
        status = 0;
        err = nullptr;
      }
      answer(req, status, err);
    }
    unref();
  });
  check_up(); // it may have been the last channel the session waited for
  return 0;
}

void listener_impl::answer(listen_req *req, int status,
                           std::exception_ptr err) noexcept {
  outbox.emplace_back([this, req, status, err] {
    req->done(this, status, err);
    delete req;
  });
  kick();
}

// ---- closing ----

void listener_impl::close(std::function<void()> done) {
  if (done) {
    on_closed.push_back(std::move(done));
  }
  if (!closing) {
    closing = true;
    ph = phase::closing;
    uv_timer_stop(&retry_timer);
    uv_timer_stop(&heartbeat_timer);
    queue.clear();
    held.clear();
    for (auto &[name, ch] : channels) {
      for (listen_req *w : std::exchange(ch.waiters, {})) {
        answer(w, UV_ECANCELED);
      }
    }
    for (auto &[s, w] : std::exchange(unlistens, {})) {
      answer(w, UV_ECANCELED);
    }
    auto takers_now = std::exchange(takers, {});
    if (!takers_now.empty()) {
      outbox.emplace_back([takers_now] {
        for (auto *t : takers_now) {
          t->fail(status_error(UV_ECANCELED,
                               "listener: closed while next() waited"));
          t->release();
        }
      });
    }
    if (dialing) {
      // A connect in flight is aborted, not waited for.
      ++closing_conns;
      add_ref();
      std::exchange(dialing, nullptr)->close(new dial_closed(this));
    }
    retire_conn();
  }
  maybe_closed();
  kick();
}

void listener_impl::defer_closed() noexcept {
  --closing_conns;
  maybe_closed();
  unref();
}

void listener_impl::maybe_closed() noexcept {
  if (!closing || closing_conns > 0 || on_closed.empty()) {
    return;
  }
  for (auto &f : std::exchange(on_closed, {})) {
    outbox.push_back(std::move(f));
  }
  kick();
}

// ---- handing over ----

void listener_impl::kick() noexcept {
  if (pump_due) {
    return;
  }
  pump_due = true;
  add_ref();
  defer(loop, [this] {
    loop_scope scope(loop);
    pump_due = false;
    pump();
    unref();
  });
}

void listener_impl::pump() noexcept {
  // Completions first, in the order they came; then events.  Each call
  // of the program's may change anything: every step looks again.
  while (!outbox.empty()) {
    auto f = std::move(outbox.front());
    outbox.pop_front();
    f();
  }
  if (c_cb) {
    listener_event ev;
    while (!closing && !paused && pop(ev)) {
      int kind = UVPG_LISTENER_NOTIFY;
      switch (ev.kind) {
      case listener_event_kind::notification:
        break;
      case listener_event_kind::gap:
        kind = UVPG_LISTENER_GAP;
        break;
      case listener_event_kind::connected:
        kind = UVPG_LISTENER_CONNECTED;
        break;
      case listener_event_kind::disconnected:
        kind = UVPG_LISTENER_DISCONNECTED;
        break;
      }
      if (ev.kind == listener_event_kind::notification) {
        uvpg_notify_t n{};
        n.size = sizeof n;
        n.channel = ev.notify.channel.c_str();
        n.payload = ev.notify.payload.c_str();
        n.pid = ev.notify.pid;
        c_cb(static_cast<uvpg_listener_s *>(this), 0, kind, &n, c_data);
      } else {
        if (!ev.message.empty()) {
          last_error = ev.message; // what error_message() tells in there
        }
        c_cb(static_cast<uvpg_listener_s *>(this), ev.status, kind, nullptr,
             c_data);
      }
    }
  } else {
    while (!takers.empty() && !queue.empty()) {
      state<listener_event> *t = takers.front();
      if (t->refs == 1) {
        // Its future was dropped: the event goes to the next caller.
        takers.pop_front();
        t->release();
        continue;
      }
      listener_event ev;
      if (!pop(ev)) {
        break;
      }
      takers.pop_front();
      t->set(std::move(ev));
      t->release();
    }
  }
  // A callback may have queued completions (listen() inside an event).
  if (!outbox.empty()) {
    kick();
  }
}

} // namespace uvpg::detail

// ---- the C++ handle ----

namespace uvpg {

using detail::listener_impl;

namespace {

struct promise_req final : detail::listen_req {
  detail::state<void> *st = new detail::state<void>;
  ~promise_req() override { st->release(); }
  void done(listener_impl *, int status,
            std::exception_ptr err) noexcept override {
    if (status >= 0) {
      st->set();
    } else if (err) {
      st->fail(err);
    } else if (status == UV_ECANCELED) {
      st->fail(detail::status_error(
          status, "listener: unlisten() or close() came first"));
    } else {
      st->fail(detail::status_error(status, uvpg_strerror(status)));
    }
  }
};

void check_channel(std::string_view name, const char *fn) {
  if (!detail::valid_channel(name)) {
    throw usage_error(std::string("listener::") + fn +
                      ": a channel name is 1 to 63 bytes, without NUL");
  }
}

listener_impl *make_impl(uv_loop_t *loop, std::string_view conninfo,
                         const std::vector<std::string> &channels,
                         const listener_options &opts, const char *fn) {
  if (!loop) {
    throw usage_error(std::string("listener::") + fn + ": loop is null");
  }
  std::string why;
  if (!detail::valid_options(opts, why)) {
    throw usage_error(std::string("listener::") + fn + ": " + why);
  }
  for (const auto &c : channels) {
    check_channel(c, fn);
  }
  detail::loop_scope scope(loop);
  auto *l = new uvpg_listener_s(loop, std::string(conninfo), opts);
  for (const auto &c : channels) {
    l->channels.try_emplace(c);
  }
  return l;
}

future<void> closed_future(const char *fn) {
  return make_exception_future<void>(detail::status_error(
      UVPG_ECLOSED, std::string("listener::") + fn + ": the listener is "
                                                     "closed"));
}

} // namespace

listener listener::create(uv_loop_t *loop, std::string_view conninfo,
                          std::vector<std::string> channels,
                          const listener_options &opts) {
  listener_impl *l = make_impl(loop, conninfo, channels, opts, "create");
  l->start();
  return listener(l);
}

future<listener> listener::connect(uv_loop_t *loop,
                                   std::string_view conninfo,
                                   std::vector<std::string> channels,
                                   const listener_options &opts) {
  listener_impl *l = make_impl(loop, conninfo, channels, opts, "connect");
  l->fail_first = true;
  l->connect_st = new detail::state<listener>;
  auto f = detail::future_of(l->connect_st);
  l->start();
  return f;
}

listener &listener::operator=(listener &&o) noexcept {
  if (this != &o) {
    if (_impl) {
      detail::loop_scope scope(_impl->loop);
      _impl->close(nullptr);
      _impl->unref();
    }
    _impl = std::exchange(o._impl, nullptr);
  }
  return *this;
}

listener::~listener() {
  if (_impl) {
    detail::loop_scope scope(_impl->loop);
    _impl->close(nullptr);
    _impl->unref();
  }
}

namespace {

// listen() and unlisten(): the change is made now, the future resolves
// from the loop.
future<void> change(listener_impl *l, std::string_view channel,
                    const char *fn,
                    int (listener_impl::*op)(std::string_view,
                                             detail::listen_req *)) {
  if (!l) {
    throw usage_error(std::string("listener::") + fn +
                      ": the listener handle is empty");
  }
  check_channel(channel, fn);
  detail::loop_scope scope(l->loop);
  if (l->closing) {
    return closed_future(fn);
  }
  auto *req = new promise_req;
  auto f = detail::future_of(req->st);
  (l->*op)(channel, req);
  return f;
}

} // namespace

future<void> listener::listen(std::string_view channel) {
  return change(_impl, channel, "listen", &listener_impl::listen);
}

future<void> listener::unlisten(std::string_view channel) {
  return change(_impl, channel, "unlisten", &listener_impl::unlisten);
}

future<listener_event> listener::next() {
  if (!_impl || _impl->closing) {
    return make_exception_future<listener_event>(detail::status_error(
        UVPG_ECLOSED, "listener::next: the listener is closed"));
  }
  detail::loop_scope scope(_impl->loop);
  listener_event ev;
  if (_impl->takers.empty() && _impl->pop(ev)) {
    return make_ready_future(std::move(ev)); // born ready
  }
  auto *t = new detail::state<listener_event>;
  auto f = detail::future_of(t);
  _impl->takers.push_back(t); // the taker keeps the state's first ref
  return f;
}

future<void> listener::close() {
  if (!_impl) {
    return make_ready_future();
  }
  detail::loop_scope scope(_impl->loop);
  auto p = std::make_shared<promise<void>>();
  auto f = p->get_future();
  _impl->close([p] { p->set_value(); });
  return f;
}

std::vector<std::string> listener::channels() const {
  std::vector<std::string> out;
  if (_impl) {
    for (const auto &[name, ch] : _impl->channels) {
      out.push_back(name);
    }
  }
  return out;
}

bool listener::connected() const noexcept {
  return _impl && _impl->ph == listener_impl::phase::up;
}
bool listener::closed() const noexcept { return !_impl || _impl->closing; }
int listener::backend_pid() const noexcept {
  return _impl && _impl->ph == listener_impl::phase::up
             ? _impl->conn.backend_pid()
             : 0;
}
std::size_t listener::queued() const noexcept {
  return _impl ? _impl->queue.size() : 0;
}
std::string listener::error_message() const {
  return _impl ? _impl->last_error : std::string();
}
listener_stats listener::stats() const noexcept {
  return _impl ? _impl->st : listener_stats{};
}
uv_loop_t *listener::loop() const noexcept {
  return _impl ? _impl->loop : nullptr;
}

} // namespace uvpg
