// Cancel requests, driven by the loop and bounded by a timer.
//
// PQcancel() opens a connection and blocks until the server closes it;
// run on libuv's thread pool (as uvpg 0.1 did), four of them against a
// frozen server filled the pool, and DNS for healthy servers and the
// program's own work waited with them.  So a cancel request never
// blocks and never takes a thread:
//
//  - libpq >= 17: PQcancelCreate/PQcancelStart, then PQcancelPoll on
//    PQcancelSocket() under a uv_poll_t (libpq does the encryption the
//    connection uses).
//  - older libpq has no non-blocking cancel.  The CancelRequest message
//    is 16 bytes (length, code 80877102, backend pid, secret key), sent
//    here over a uv_tcp_t or uv_pipe_t to the address the connection
//    uses.  libpq does not export the secret key, so it is read from the
//    head of PGcancel, whose layout (the server address, then pid and
//    key) is the same in every libpq from 9.x to 16; the pid read there
//    must equal PQbackendPID(), or the request is refused rather than
//    sent with a key we are not sure of (userver reads it the same way).
//    A thread of our own was the other way: it cannot be stopped while
//    blocked in PQcancel, so a frozen server would keep it forever.
//
// Either way a timer bounds the whole request, and abandon() (the
// connection closed or was lost) ends it at once.
#include "cancel.hh"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "engine.hh"

namespace uvpg::detail {
namespace {

struct request_base : cancel_request {
  conn_impl *conn; // null once it ended or was abandoned
  uv_timer_t timer;
  int handles = 0; // libuv handles whose close callback is due
  bool ended = false;

  explicit request_base(conn_impl *c) : conn(c) {}

  /// Starts the timer; false when libuv refuses.
  bool arm(uint64_t timeout_ms) {
    if (uv_timer_init(conn->loop, &timer) < 0) {
      return false;
    }
    timer.data = this;
    ++handles;
    uv_timer_start(
        &timer,
        [](uv_timer_t *t) {
          auto *r = static_cast<request_base *>(t->data);
          r->end(UV_ETIMEDOUT, "the cancel request got no answer in time");
        },
        timeout_ms, 0);
    return true;
  }

  void close_handle(uv_handle_t *h) {
    h->data = this;
    uv_close(h, [](uv_handle_t *h) {
      auto *r = static_cast<request_base *>(h->data);
      if (--r->handles == 0) {
        delete r;
      }
    });
  }

  /// The subclass closes its socket and handles.
  virtual void stop_io() noexcept = 0;

  /// The request is over: everything closes, and the connection hears
  /// of it (unless abandoned), from the libuv callback that ended it.
  void end(int status, std::string why) noexcept {
    if (ended) {
      return;
    }
    ended = true;
    stop_io();
    if (handles > 0 && !uv_is_closing(reinterpret_cast<uv_handle_t *>(&timer))) {
      uv_timer_stop(&timer);
      close_handle(reinterpret_cast<uv_handle_t *>(&timer));
    }
    if (conn_impl *c = std::exchange(conn, nullptr)) {
      entry_scope entry(c);
      c->cancel_finished(status, std::move(why));
    }
  }

  void abandon() noexcept override {
    conn = nullptr;
    end(UV_ECANCELED, {});
  }
};

#ifdef HAVE_PQCANCELCREATE

// libpq 17: its own cancel connection, polled like a connect.
struct pq_request final : request_base {
  PGcancelConn *cc = nullptr;
  uv_poll_t *poll = nullptr;
  int poll_fd = -1;

  using request_base::request_base;
  ~pq_request() override {
    if (cc) {
      PQcancelFinish(cc);
    }
  }

  bool begin(PGconn *pg, std::string &why) {
    cc = PQcancelCreate(pg);
    if (!cc) {
      why = "out of memory";
      return false;
    }
    if (PQcancelStatus(cc) == CONNECTION_BAD || !PQcancelStart(cc)) {
      why = PQcancelErrorMessage(cc);
      return false;
    }
    return watch(UV_WRITABLE, why);
  }

  // libpq may replace its socket between steps (an SSL or GSS retry):
  // the poll handle follows PQcancelSocket().
  bool watch(int events, std::string &why) {
    int fd = PQcancelSocket(cc);
    if (poll && fd != poll_fd) {
      drop_poll();
    }
    if (fd < 0) {
      why = "the cancel connection has no socket";
      return false;
    }
    if (!poll) {
      poll = new uv_poll_t;
      int rc = uv_poll_init_socket(conn->loop, poll, fd);
      if (rc < 0) {
        delete poll;
        poll = nullptr;
        why = std::string("cannot watch the cancel socket: ") +
              uv_strerror(rc);
        return false;
      }
      ++handles;
      poll->data = this;
      poll_fd = fd;
    }
    uv_poll_start(poll, events, [](uv_poll_t *h, int, int) {
      static_cast<pq_request *>(h->data)->step();
    });
    return true;
  }

  void step() {
    std::string why;
    switch (PQcancelPoll(cc)) {
    case PGRES_POLLING_OK:
      end(0, {});
      return;
    case PGRES_POLLING_READING:
      if (!watch(UV_READABLE, why)) {
        end(UV_EIO, why);
      }
      return;
    case PGRES_POLLING_WRITING:
      if (!watch(UV_WRITABLE, why)) {
        end(UV_EIO, why);
      }
      return;
    default:
      end(UV_EIO, PQcancelErrorMessage(cc));
      return;
    }
  }

  void drop_poll() {
    uv_poll_stop(poll);
    auto *h = reinterpret_cast<uv_handle_t *>(std::exchange(poll, nullptr));
    h->data = this;
    uv_close(h, [](uv_handle_t *h) {
      auto *r = static_cast<pq_request *>(h->data);
      delete reinterpret_cast<uv_poll_t *>(h);
      if (--r->handles == 0) {
        delete r;
      }
    });
    poll_fd = -1;
  }

  void stop_io() noexcept override {
    // The handle stops watching before libpq closes the descriptor.
    if (poll) {
      drop_poll();
    }
    PQcancelFinish(std::exchange(cc, nullptr));
  }
};

#else

// The head of libpq's struct pg_cancel (libpq-int.h, 9.x to 16).
struct pg_cancel_head {
  struct sockaddr_storage addr;
  socklen_t salen;
  alignas(sockaddr_storage) int be_pid; // after SockAddr's tail padding
  int be_key;
};

// Older libpq: the CancelRequest message over a socket of libuv's.
struct wire_request final : request_base {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } sock;
  bool sock_open = false;
  uv_connect_t connecting;
  uv_write_t writing;
  uint32_t packet[4];
  char scratch[64];

  using request_base::request_base;

  uv_stream_t *stream() { return reinterpret_cast<uv_stream_t *>(&sock); }

  bool begin(PGconn *pg, std::string &why) {
    pg_cancel_head head;
    PGcancel *pc = PQgetCancel(pg);
    if (!pc) {
      why = "libpq has no cancel key for this connection";
      return false;
    }
    std::memcpy(&head, pc, sizeof head);
    PQfreeCancel(pc);
    int family = head.addr.ss_family;
    if (head.be_pid != PQbackendPID(pg) || head.salen == 0 ||
        head.salen > sizeof head.addr ||
        (family != AF_INET && family != AF_INET6 && family != AF_UNIX)) {
      why = "this libpq keeps its cancel key in a way uvpg does not know; "
            "no cancel request was sent";
      return false;
    }
    packet[0] = htonl(16);
    packet[1] = htonl(80877102); // (1234 << 16) | 5678: CancelRequest
    packet[2] = htonl(static_cast<uint32_t>(head.be_pid));
    packet[3] = htonl(static_cast<uint32_t>(head.be_key));
    connecting.data = this;
    int rc;
    if (family == AF_UNIX) {
      const auto *un = reinterpret_cast<const sockaddr_un *>(&head.addr);
      std::string path(un->sun_path,
                       strnlen(un->sun_path, sizeof un->sun_path));
      if (path.empty()) {
        why = "the server's socket has no path; no cancel request was sent";
        return false;
      }
      if ((rc = uv_pipe_init(conn->loop, &sock.pipe, 0)) < 0) {
        why = uv_strerror(rc);
        return false;
      }
      ++handles;
      sock_open = true;
      uv_pipe_connect(&connecting, &sock.pipe, path.c_str(), on_connect);
      return true;
    }
    if ((rc = uv_tcp_init(conn->loop, &sock.tcp)) < 0) {
      why = uv_strerror(rc);
      return false;
    }
    ++handles;
    sock_open = true;
    rc = uv_tcp_connect(&connecting, &sock.tcp,
                        reinterpret_cast<const sockaddr *>(&head.addr),
                        on_connect);
    if (rc < 0) {
      why = std::string("cannot reach the server to cancel: ") +
            uv_strerror(rc);
      return false;
    }
    return true;
  }

  static void on_connect(uv_connect_t *req, int status) {
    auto *r = static_cast<wire_request *>(req->data);
    if (r->ended) {
      return; // closed meanwhile: libuv cancels the request
    }
    if (status < 0) {
      r->end(status, std::string("cannot reach the server to cancel: ") +
                         uv_strerror(status));
      return;
    }
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char *>(r->packet),
                               sizeof r->packet);
    r->writing.data = r;
    int rc = uv_write(&r->writing, r->stream(), &buf, 1, on_written);
    if (rc < 0) {
      r->end(rc, std::string("cannot send the cancel request: ") +
                     uv_strerror(rc));
    }
  }

  static void on_written(uv_write_t *req, int status) {
    auto *r = static_cast<wire_request *>(req->data);
    if (r->ended) {
      return;
    }
    if (status < 0) {
      r->end(status, std::string("cannot send the cancel request: ") +
                         uv_strerror(status));
      return;
    }
    // The server closes the connection once it has acted on the request:
    // only then can the next statement go without meeting this cancel.
    r->stream()->data = r;
    uv_read_start(
        r->stream(),
        [](uv_handle_t *h, size_t, uv_buf_t *buf) {
          auto *r = static_cast<wire_request *>(h->data);
          *buf = uv_buf_init(r->scratch, sizeof r->scratch);
        },
        [](uv_stream_t *s, ssize_t n, const uv_buf_t *) {
          auto *r = static_cast<wire_request *>(s->data);
          if (n == UV_EOF || n == UV_ECONNRESET) {
            r->end(0, {});
          } else if (n < 0) {
            r->end(static_cast<int>(n),
                   std::string("the cancel request failed: ") +
                       uv_strerror(static_cast<int>(n)));
          }
          // Data: the server says nothing to a CancelRequest; ignore.
        });
  }

  void stop_io() noexcept override {
    if (sock_open) {
      sock_open = false;
      close_handle(reinterpret_cast<uv_handle_t *>(&sock));
    }
  }
};

#endif

} // namespace

cancel_request *cancel_request::start(conn_impl *c, uint64_t timeout_ms,
                                      std::string &why) {
  if (!c->pg) {
    why = "the connection is closed";
    return nullptr;
  }
#ifdef HAVE_PQCANCELCREATE
  auto *r = new pq_request(c);
#else
  auto *r = new wire_request(c);
#endif
  if (!r->arm(timeout_ms)) {
    why = "cannot start the cancel request's timer";
    delete r;
    return nullptr;
  }
  if (!r->begin(c->pg, why)) {
    r->conn = nullptr; // ends without a word: the caller has `why`
    r->end(UV_EIO, {});
    return nullptr;
  }
  return r;
}

} // namespace uvpg::detail

// ---- the connection's side ----

namespace uvpg::detail {

bool conn_impl::request_cancel() {
  if (cancel_pending) {
    return true;
  }
  std::string why;
  cancel_pending = cancel_request::start(
      this, static_cast<uint64_t>(opts.cancel_timeout.count()), why);
  if (!cancel_pending) {
    set_error("cannot send a cancel request: " + why);
    return false;
  }
  return true;
}

void conn_impl::cancel_statement(std::function<void(int status)> done) {
  cancel_waiters.push_back(std::move(done));
  if (cancel_pending) {
    return; // it ends with the request out
  }
  bool running = false;
  for (op *o = wire_head; o; o = o->wire_next) {
    o->cancel_asked = true;
    running = true;
  }
  if (!running) {
    end_cancel_waiters(0, {}); // nothing runs: nothing to cancel
  } else if (!request_cancel()) {
    end_cancel_waiters(UV_EIO, error_msg);
  }
}

void conn_impl::cancel_told() {
  // Even a request that could not start leaves the grace to bound the
  // statement: the server may end it by itself.
  request_cancel();
  if (op *o = running()) {
    o->graced = true;
  }
  arm_timer(static_cast<uint64_t>(opts.cancel_timeout.count()));
}

bool conn_impl::cancel_op(op *o) {
  if (o->notified || o->done || close_requested || st != state::ready) {
    return false; // it ended, or it ends with the connection
  }
  o->why_state.clear();
  if (queue.remove(o)) {
    o->why = "operation canceled before it was sent";
    o->notified = true;
    post(callout::kind::complete, o, UV_ECANCELED);
    arm_deadlines();
    return true;
  }
  // Sent: the caller is told now; its results are read and dropped.  The
  // server is asked to stop it only when every statement on the wire was
  // told already, so that the cancel, whichever it meets, stops nothing
  // a caller still waits for.
  o->why = "operation canceled while it ran";
  o->notified = true;
  post(callout::kind::notify, o, UV_ECANCELED);
  for (op *w = wire_head; w; w = w->wire_next) {
    if (!w->notified) {
      return true;
    }
  }
  cancel_told();
  return true;
}

void conn_impl::cancel_finished(int status, std::string why) {
  cancel_pending = nullptr;
  end_cancel_waiters(status, why);
  if (close_requested || st != state::ready) {
    return;
  }
  if (status < 0) {
    // Whether the server got it is unknown: it may act on it later and
    // stop whatever runs then.  Better a lost connection than a
    // statement of someone else's cancelled.
    lost("the cancel request failed (" + why +
         "); the connection was closed so that a late cancel cannot stop "
         "a later statement");
    return;
  }
  pump();
}

void conn_impl::end_cancel_waiters(int status, const std::string &why) {
  if (cancel_waiters.empty()) {
    return;
  }
  auto waiters = std::move(cancel_waiters);
  cancel_waiters.clear();
  for (auto &w : waiters) {
    events.push_back([this, w = std::move(w), status, why] {
      if (status < 0) {
        set_error(why);
      }
      w(status);
    });
    post(callout::kind::event, nullptr);
  }
}

} // namespace uvpg::detail
