// The libpq socket <-> libuv bridge: one uv_poll_t on PQsocket() and the
// connection's uv_timer_t.  This is the only file that calls uv_poll_*.
// Each callback into the engine is a loop entry point (entry_scope): the
// callouts it queued are delivered when it ends.
//
// libpq may open a new socket during PQconnectPoll (a second host or
// address, SSL or GSS fallback), so watch() compares PQsocket() with the
// watched descriptor every time and re-creates the poll handle when it
// changed.  A poll handle is stopped before libpq closes its descriptor
// (PQfinish or a failed attempt), so the kernel never reuses a number
// that epoll still watches.
#include "engine.hh"

namespace uvpg::detail {
namespace {

conn_impl *owner(uv_handle_t *h) { return static_cast<conn_impl *>(h->data); }

void on_poll(uv_poll_t *h, int status, int events) {
  if (auto *c = owner(reinterpret_cast<uv_handle_t *>(h))) {
    entry_scope entry(c);
    c->on_io(status, events);
  }
}

void on_timer(uv_timer_t *h) {
  auto *c = owner(reinterpret_cast<uv_handle_t *>(h));
  entry_scope entry(c);
  c->timer_fired();
}

void on_poll_closed(uv_handle_t *h) {
  conn_impl *c = owner(h);
  delete reinterpret_cast<uv_poll_t *>(h);
  if (c) {
    c->handle_closed();
  }
}

} // namespace

void conn_impl::watch(int events) {
  int fd = pg ? PQsocket(pg) : -1;
  if (poll && poll_fd != fd) {
    unwatch();
  }
  if (fd < 0) {
    return;
  }
  if (!poll) {
    poll = new uv_poll_t;
    int rc = uv_poll_init_socket(loop, poll, fd);
    if (rc < 0) {
      delete poll;
      poll = nullptr;
      set_error(std::string("cannot watch the connection socket: ") +
                uv_strerror(rc));
      return;
    }
    poll->data = this;
    poll_fd = fd;
    poll_events = 0;
    ++open_handles;
  }
  // While connecting, libpq may close its socket and open another that
  // gets the same number (SSL or GSS fallback): restart the watcher every
  // step so epoll watches the socket that exists now.
  if (events != poll_events || st == state::connecting) {
    uv_poll_start(poll, events, on_poll);
    poll_events = events;
  }
}

void conn_impl::unwatch() {
  if (!poll) {
    return;
  }
  uv_poll_stop(poll);
  uv_close(reinterpret_cast<uv_handle_t *>(std::exchange(poll, nullptr)),
           on_poll_closed);
  poll_fd = -1;
  poll_events = 0;
}

void conn_impl::arm_timer(uint64_t ms) {
  uv_timer_start(&timer, on_timer, ms, 0);
}

void conn_impl::disarm_timer() { uv_timer_stop(&timer); }

void conn_impl::on_io(int status, int events) {
  if (status < 0) {
    // libuv stopped the handle (it reports POLLERR as UV_EBADF); the next
    // watch() must start it again.
    poll_events = 0;
  }
  if (st == state::connecting) {
    // Errors surface through PQconnectPoll, which reads the socket error.
    poll_connect();
    return;
  }
  if (status < 0) {
    // Let libpq read the socket: it words the real error ("connection
    // reset by peer"), which libuv's status does not carry.
    read_input();
    if (st == state::ready) {
      lost(std::string("error polling the connection socket: ") +
           uv_strerror(status));
    }
    return;
  }
  if (events & UV_WRITABLE) {
    flush();
  }
  if ((events & UV_READABLE) && st != state::broken &&
      st != state::closing) {
    read_input();
  }
}

} // namespace uvpg::detail
