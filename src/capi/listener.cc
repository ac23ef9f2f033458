// The C ABI of the reconnecting listener (uvpg/listener.h) over
// listener_impl (src/listener.hh).  The C handle is the listener itself;
// its events go to the program's callback from pump(), and a listen or
// unlisten request is a listen_req that calls the program back.
#include <memory>
#include <string>

#include "../listener.hh"
#include "connect_opts.hh"
#include "guard.hh"

using uvpg::detail::capi_guard;
using uvpg::detail::listener_impl;

namespace {

struct c_req final : uvpg::detail::listen_req {
  uvpg_listen_cb cb = nullptr;
  void *data = nullptr;
  void done(listener_impl *l, int status,
            std::exception_ptr) noexcept override {
    if (cb) {
      cb(static_cast<uvpg_listener_s *>(l), status, data);
    }
  }
};

using change_fn = int (listener_impl::*)(std::string_view,
                                         uvpg::detail::listen_req *);

int change(uvpg_listener_t *l, const char *channel, uvpg_listen_cb cb,
           void *data, change_fn fn) {
  if (!l || !channel || !uvpg::detail::valid_channel(channel)) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    uvpg::detail::loop_scope scope(l->loop);
    if (l->closing) {
      return static_cast<int>(UVPG_ECLOSED); // rule 1: no callback
    }
    auto req = std::make_unique<c_req>();
    req->cb = cb;
    req->data = data;
    int rc = (l->*fn)(channel, req.get());
    if (rc == 0) {
      req.release(); // the listener tells it, from the loop
    }
    return rc;
  });
}

} // namespace

UVPG_EXTERN void uvpg_listener_opts_init(uvpg_listener_opts_t *opts)
    UVPG_NOEXCEPT {
  if (!opts) {
    return;
  }
  *opts = uvpg_listener_opts_t{};
  uvpg_connect_opts_init(&opts->connect);
  uvpg::listener_options d;
  opts->reconnect_min_ms = static_cast<unsigned>(d.reconnect_min.count());
  opts->reconnect_max_ms = static_cast<unsigned>(d.reconnect_max.count());
  opts->max_queue = static_cast<unsigned>(d.max_queue);
  opts->heartbeat_ms = static_cast<unsigned>(d.heartbeat_interval.count());
  opts->heartbeat_timeout_ms =
      static_cast<unsigned>(d.heartbeat_timeout.count());
}

UVPG_EXTERN int uvpg_listener_new(uv_loop_t *loop, const char *conninfo,
                                  const uvpg_listener_opts_t *opts,
                                  uvpg_listener_event_cb cb, void *data,
                                  uvpg_listener_t **listener) UVPG_NOEXCEPT {
  if (listener) {
    *listener = nullptr;
  }
  if (!loop || !cb || !listener) {
    return UV_EINVAL;
  }
  uvpg_listener_opts_t defaults;
  if (!opts) {
    uvpg_listener_opts_init(&defaults);
    opts = &defaults;
  }
  return capi_guard([&] {
    using std::chrono::milliseconds;
    uvpg::listener_options o;
    o.conn = uvpg::detail::connect_options_of(opts->connect);
    o.reconnect_min = milliseconds(opts->reconnect_min_ms);
    o.reconnect_max = milliseconds(opts->reconnect_max_ms);
    o.max_queue = opts->max_queue;
    o.heartbeat_interval = milliseconds(opts->heartbeat_ms);
    o.heartbeat_timeout = milliseconds(opts->heartbeat_timeout_ms);
    std::string why;
    if (!uvpg::detail::valid_options(o, why)) {
      return static_cast<int>(UV_EINVAL);
    }
    uvpg::detail::loop_scope scope(loop);
    // Once made it holds timers on the loop: it goes only through its
    // close, never a plain delete.
    auto *l = new uvpg_listener_s(loop, conninfo ? conninfo : "", o);
    l->c_cb = cb;
    l->c_data = data;
    l->start(); // the connect begins from the loop
    *listener = l;
    return 0;
  });
}

UVPG_EXTERN int uvpg_listener_listen(uvpg_listener_t *listener,
                                     const char *channel, uvpg_listen_cb cb,
                                     void *data) UVPG_NOEXCEPT {
  return change(listener, channel, cb, data, &listener_impl::listen);
}

UVPG_EXTERN int uvpg_listener_unlisten(uvpg_listener_t *listener,
                                       const char *channel, uvpg_listen_cb cb,
                                       void *data) UVPG_NOEXCEPT {
  return change(listener, channel, cb, data, &listener_impl::unlisten);
}

UVPG_EXTERN int uvpg_listener_pause(uvpg_listener_t *listener) UVPG_NOEXCEPT {
  if (!listener) {
    return UV_EINVAL;
  }
  if (listener->closing) {
    return UVPG_ECLOSED;
  }
  listener->paused = true;
  return 0;
}

UVPG_EXTERN int uvpg_listener_resume(uvpg_listener_t *listener)
    UVPG_NOEXCEPT {
  if (!listener) {
    return UV_EINVAL;
  }
  if (listener->closing) {
    return UVPG_ECLOSED;
  }
  listener->paused = false;
  uvpg::detail::loop_scope scope(listener->loop);
  listener->kick(); // what waits is handed over from the loop
  return 0;
}

UVPG_EXTERN int uvpg_listener_close(uvpg_listener_t *listener,
                                    uvpg_listener_close_cb cb,
                                    void *data) UVPG_NOEXCEPT {
  if (!listener) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    uvpg::detail::loop_scope scope(listener->loop);
    if (listener->closing) {
      return static_cast<int>(UV_EALREADY); // the handle is going
    }
    listener->close([listener, cb, data] {
      if (cb) {
        cb(listener, data);
      }
      listener->unref(); // the handle's reference: it may go now
    });
    return 0;
  });
}

UVPG_EXTERN int uvpg_listener_is_connected(const uvpg_listener_t *listener)
    UVPG_NOEXCEPT {
  return listener && listener->ph == listener_impl::phase::up ? 1 : 0;
}

UVPG_EXTERN int uvpg_listener_get_backend_pid(const uvpg_listener_t *listener)
    UVPG_NOEXCEPT {
  return listener && listener->ph == listener_impl::phase::up
             ? listener->conn.backend_pid()
             : 0;
}

UVPG_EXTERN size_t uvpg_listener_get_queued(const uvpg_listener_t *listener)
    UVPG_NOEXCEPT {
  return listener ? listener->queue.size() : 0;
}

UVPG_EXTERN void uvpg_listener_get_stats(const uvpg_listener_t *listener,
                                         uvpg_listener_stats_t *out)
    UVPG_NOEXCEPT {
  if (!out) {
    return;
  }
  *out = uvpg_listener_stats_t{};
  if (!listener) {
    return;
  }
  const uvpg::listener_stats &s = listener->st;
  out->received = s.received;
  out->delivered = s.delivered;
  out->dropped = s.dropped;
  out->gaps = s.gaps;
  out->connects = s.connects;
  out->failed = s.failed;
  out->lost = s.lost;
  out->heartbeats = s.heartbeats;
  out->heartbeat_timeouts = s.heartbeat_timeouts;
}

UVPG_EXTERN uv_loop_t *uvpg_listener_get_loop(const uvpg_listener_t *listener)
    UVPG_NOEXCEPT {
  return listener ? listener->loop : nullptr;
}

UVPG_EXTERN const char *
uvpg_listener_error_message(const uvpg_listener_t *listener) UVPG_NOEXCEPT {
  return listener ? listener->last_error.c_str() : "";
}
