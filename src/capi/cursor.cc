// The C ABI of cursors: a thin shim over uvpg::cursor.
//
// Every entry point catches everything and returns a code.  Callbacks
// follow uvpg(7): an operation's outcome is queued when its future
// completes and handed to the program from the loop, never inside the
// call that started it, in the order of the calls (an operation waiting
// for its turn that close() cancels completes before the one running).
// uvpg_cursor_close() marks the cursor closed: outcomes not yet handed
// over become UV_ECANCELED, and the close callback comes last, once
// every operation has finished; the memory goes after it returns.
//
// The cursor does not own its connection.  The C++ cursor needs a
// uvpg::connection object to refer to: the C cursor embeds one on the
// same engine and never destroys it (a connection object's destructor
// would close the engine).
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <new>

#include "../engine/engine.hh"
#include "../sql.hh"
#include "uvpg/cursor.h"
#include "uvpg/cursor.hh"

struct uvpg_cursor_s final : uvpg::detail::free_observer {
  uvpg_conn_t *conn; // null once the connection was freed
  uv_loop_t *loop;
  union {
    uvpg::connection handle; // borrowed: never destroyed
  };
  std::optional<uvpg::cursor> cur;
  void *data = nullptr;
  std::string error;     // the message of the last failed operation
  int inflight = 0;      // operations whose outcome is not queued yet
  bool closing = false;  // uvpg_cursor_close() was called
  bool close_ready = false;  // the C++ close finished
  bool close_queued = false; // the close callback is queued
  bool close_done = false;   // the close callback ran: free after it
  std::string close_error;   // why the C++ close failed (a COMMIT), or ""
  uvpg_cursor_close_cb close_cb = nullptr;
  void *close_data = nullptr;
  // Outcomes to hand over, keyed by the operation's call number: they
  // go out in call order even when a later operation finished first (a
  // waiting one canceled by close, say).
  std::map<unsigned long long, std::function<void()>> ready;
  unsigned long long next_call = 0;    // number of the next operation
  unsigned long long next_out = 0;     // number of the next outcome due
  bool flush_scheduled = false;        // a flush task is queued
  bool flushing = false;               // flush() is running

  uvpg_cursor_s(uvpg_conn_t *c, uvpg::cursor_options o)
      : conn(c), loop(c->loop) {
    new (&handle) uvpg::connection(c);
    cur.emplace(handle, std::move(o));
    conn->observe(this);
  }
  ~uvpg_cursor_s() {
    cur.reset();
    if (conn) {
      conn->unobserve(this);
    }
  }
  // The connection is going: forget it.  The borrowed handle becomes an
  // empty one, so the C++ cursor's statements fail with UVPG_ECLOSED.
  void connection_freed() noexcept override {
    conn = nullptr;
    new (&handle) uvpg::connection();
  }
  uvpg_cursor_s(const uvpg_cursor_s &) = delete;
  uvpg_cursor_s &operator=(const uvpg_cursor_s &) = delete;
};

namespace {

using uvpg::future;

// Hands over the outcomes that are due.  Outcomes queued by the
// callbacks it runs are handed over by the same loop, so no other flush
// is pending when the close callback has run and the cursor is freed.
void flush(uvpg_cursor_s *c) {
  c->flush_scheduled = false;
  c->flushing = true;
  for (;;) {
    auto it = c->ready.find(c->next_out);
    if (it == c->ready.end()) {
      break;
    }
    std::function<void()> fn = std::move(it->second);
    c->ready.erase(it);
    ++c->next_out;
    fn();
    if (c->close_done) {
      delete c;
      return;
    }
  }
  c->flushing = false;
}

// Queues the outcome of operation number `call`.
void enqueue(uvpg_cursor_s *c, unsigned long long call,
             std::function<void()> fn) {
  c->ready.emplace(call, std::move(fn));
  if (!c->flush_scheduled && !c->flushing) {
    c->flush_scheduled = true;
    uvpg::detail::defer(c->loop, [c] { flush(c); });
  }
}

// The close callback goes last: after the C++ close finished and every
// operation's outcome is queued.
void maybe_queue_close(uvpg_cursor_s *c) {
  if (!c->closing || !c->close_ready || c->inflight > 0 || c->close_queued) {
    return;
  }
  c->close_queued = true;
  enqueue(c, c->next_call++, [c] {
    c->error = c->close_error;
    if (c->close_cb) {
      c->close_cb(c, c->close_data);
    }
    c->close_done = true;
  });
}

// Queues `deliver(c, f)` for when `f` completes; outcomes go out in
// call order.  On an exception (out of memory) nothing is queued and the
// call number is given back, so the caller can report the error alone.
template <class T, class Deliver>
void track(uvpg_cursor_s *c, future<T> f, Deliver deliver) {
  unsigned long long call = c->next_call++;
  auto done = [c, call, deliver](future<T> &&g) {
    auto held = std::make_shared<future<T>>(std::move(g));
    enqueue(c, call, [c, held, deliver] { deliver(c, std::move(*held)); });
    --c->inflight;
    maybe_queue_close(c);
  };
  try {
    if (f.available()) {
      ++c->inflight;
      done(std::move(f));
    } else {
      (void)std::move(f).then_wrapped(std::move(done));
      ++c->inflight;
    }
  } catch (...) {
    if (c->next_call == call + 1 && !c->ready.count(call)) {
      c->next_call = call;
    }
    throw;
  }
}

// The status of a completed operation (and its message on failure);
// UV_ECANCELED for any outcome handed over after the close started.
template <class T> int outcome(uvpg_cursor_s *c, future<T> &f) {
  int status = 0;
  if (f.failed()) {
    status = uvpg::detail::cursor_status(f.get_exception(), c->error);
  }
  if (c->closing) {
    status = UV_ECANCELED;
    c->error = "cursor closed while the operation was pending";
  }
  return status;
}

uvpg::params c_params(int n, const char *const *values) {
  uvpg::params p;
  p.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    p.emplace_back(values[i]); // NULL: SQL NULL
  }
  return p;
}

// A new operation may start: the cursor is open and so is its
// connection (one being closed would fail it only later).
int usable(const uvpg_cursor_t *cur) {
  if (!cur) {
    return UV_EINVAL;
  }
  if (cur->closing) {
    return UV_EINVAL;
  }
  // A null `conn`: the connection was freed (connection_freed()); the
  // cursor can only be closed.
  if (!cur->conn || cur->conn->close_requested) {
    return UVPG_ECLOSED;
  }
  return 0;
}

void plain_done(uvpg_cursor_cb cb, void *data, uvpg_cursor_s *c,
                int status) {
  if (cb) {
    cb(c, status, data);
  }
}

const uvpg::column *column_at(const uvpg_cursor_t *cur, int col) {
  if (!cur || !cur->cur) {
    return nullptr;
  }
  const auto &d = cur->cur->description();
  if (!d || col < 0 || static_cast<size_t>(col) >= d->size()) {
    return nullptr;
  }
  return &(*d)[static_cast<size_t>(col)];
}

} // namespace

extern "C" {

UVPG_EXTERN void uvpg_cursor_opts_init(uvpg_cursor_opts_t *opts) {
  if (!opts) {
    return;
  }
  *opts = uvpg_cursor_opts_t{};
  opts->arraysize = 1;
  opts->itersize = 2000;
}

UVPG_EXTERN int uvpg_cursor_new(uvpg_conn_t *conn,
                                const uvpg_cursor_opts_t *opts,
                                uvpg_cursor_t **out) {
  if (out) {
    *out = nullptr;
  }
  if (!conn || !out) {
    return UV_EINVAL;
  }
  uvpg_cursor_opts_t defaults;
  if (!opts) {
    uvpg_cursor_opts_init(&defaults);
    opts = &defaults;
  }
  if (opts->arraysize < 0 || opts->itersize < 0) {
    return UV_EINVAL;
  }
  if (conn->close_requested) {
    return UVPG_ECLOSED;
  }
  try {
    uvpg::cursor_options o;
    if (opts->name) {
      o.name = opts->name;
    }
    o.scrollable = opts->scrollable != 0;
    o.withhold = opts->withhold != 0;
    o.timeout = std::chrono::milliseconds(opts->timeout_ms);
    o.arraysize = opts->arraysize ? opts->arraysize : 1;
    o.itersize = opts->itersize ? opts->itersize : 2000;
    o.binary = opts->binary != 0;
    *out = new uvpg_cursor_s(conn, std::move(o));
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  } catch (...) {
    return UVPG_EINTERNAL;
  }
}

UVPG_EXTERN int uvpg_cursor_execute(uvpg_cursor_t *cur, const char *sql,
                                    int nparams, const char *const *params,
                                    uvpg_cursor_cb cb, void *data) {
  if (!sql || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  try {
    auto f = cur->cur->execute(sql, c_params(nparams, params));
    track(cur, std::move(f), [cb, data](uvpg_cursor_s *c, future<void> g) {
      plain_done(cb, data, c, outcome(c, g));
    });
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  } catch (...) {
    return UVPG_EINTERNAL;
  }
}

UVPG_EXTERN int uvpg_cursor_callproc(uvpg_cursor_t *cur,
                                     const char *procname, int nparams,
                                     const char *const *params,
                                     uvpg_cursor_cb cb, void *data) {
  if (!procname || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  try {
    auto f = cur->cur->callproc(procname, c_params(nparams, params));
    track(cur, std::move(f),
          [cb, data](uvpg_cursor_s *c, future<uvpg::params> g) {
            plain_done(cb, data, c, outcome(c, g));
          });
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  } catch (...) {
    return UVPG_EINTERNAL;
  }
}

UVPG_EXTERN int uvpg_cursor_fetch(uvpg_cursor_t *cur, int n,
                                  uvpg_fetch_cb cb, void *data) {
  if (n < -1) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  try {
    long count = n == -1 ? cur->cur->arraysize() : n == 0 ? -1 : n;
    auto f = uvpg::detail::cursor_fetch(*cur->cur, count);
    track(cur, std::move(f),
          [cb, data](uvpg_cursor_s *c,
                     future<uvpg::detail::cursor_chunk> g) {
            int status = outcome(c, g);
            if (!cb) {
              return;
            }
            if (status < 0) {
              cb(c, status, nullptr, 0, 0, data);
              return;
            }
            // The chunk (and its result) lives until the callback
            // returns: `res` is borrowed.
            uvpg::detail::cursor_chunk ch = g.get();
            const auto *res = reinterpret_cast<const uvpg_result_t *>(
                ch.count > 0 ? ch.res.native() : nullptr);
            cb(c, 0, res, ch.first, ch.count, data);
          });
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  } catch (...) {
    return UVPG_EINTERNAL;
  }
}

UVPG_EXTERN int uvpg_cursor_each(uvpg_cursor_t *cur, uvpg_row_cb row_cb,
                                 uvpg_cursor_cb done_cb, void *data) {
  if (!row_cb) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  try {
    auto f = uvpg::detail::cursor_each(
        *cur->cur, [cur, row_cb, data](const uvpg::result &res, int row) {
          return row_cb(cur,
                        reinterpret_cast<const uvpg_result_t *>(res.native()),
                        row, data);
        });
    track(cur, std::move(f),
          [done_cb, data](uvpg_cursor_s *c, future<long long> g) {
            int status = outcome(c, g);
            if (status >= 0) {
              long long n = g.get();
              status = n > INT_MAX ? INT_MAX : static_cast<int>(n);
            }
            plain_done(done_cb, data, c, status);
          });
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  } catch (...) {
    return UVPG_EINTERNAL;
  }
}

UVPG_EXTERN int uvpg_cursor_scroll(uvpg_cursor_t *cur, long value, int mode,
                                   uvpg_cursor_cb cb, void *data) {
  if (mode != UVPG_SCROLL_RELATIVE && mode != UVPG_SCROLL_ABSOLUTE) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  try {
    auto f = cur->cur->scroll(value, mode == UVPG_SCROLL_ABSOLUTE
                                         ? uvpg::scroll_mode::absolute
                                         : uvpg::scroll_mode::relative);
    track(cur, std::move(f), [cb, data](uvpg_cursor_s *c, future<void> g) {
      plain_done(cb, data, c, outcome(c, g));
    });
    return 0;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  } catch (...) {
    return UVPG_EINTERNAL;
  }
}

UVPG_EXTERN int uvpg_cursor_mogrify(uvpg_cursor_t *cur, const char *sql,
                                    int nparams, const char *const *params,
                                    char **out) {
  if (out) {
    *out = nullptr;
  }
  if (!cur || !sql || !out || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  try {
    std::string text = cur->cur->mogrify(sql, c_params(nparams, params));
    char *s = static_cast<char *>(std::malloc(text.size() + 1));
    if (!s) {
      return UV_ENOMEM;
    }
    std::memcpy(s, text.c_str(), text.size() + 1);
    *out = s;
    return 0;
  } catch (...) {
    return uvpg::detail::cursor_status(std::current_exception(), cur->error);
  }
}

UVPG_EXTERN void uvpg_cursor_free_string(char *s) { std::free(s); }

UVPG_EXTERN void uvpg_cursor_close(uvpg_cursor_t *cur,
                                   uvpg_cursor_close_cb cb, void *data) {
  if (!cur || cur->closing) {
    return; // a second close is a programming error: ignored
  }
  cur->closing = true;
  cur->close_cb = cb;
  cur->close_data = data;
  try {
    auto f = cur->cur->close();
    auto closed = [cur](future<void> &&g) {
      if (g.failed()) {
        uvpg::detail::cursor_status(g.get_exception(), cur->close_error);
      }
      cur->close_ready = true;
      maybe_queue_close(cur);
    };
    if (f.available()) {
      closed(std::move(f));
    } else {
      (void)std::move(f).then_wrapped(std::move(closed));
    }
  } catch (...) {
    // Out of memory: the cursor is closed anyway; finish from the loop.
    cur->close_ready = true;
    try {
      maybe_queue_close(cur);
    } catch (...) {
    }
  }
}

UVPG_EXTERN int uvpg_cursor_is_closed(const uvpg_cursor_t *cur) {
  return !cur || cur->closing;
}

UVPG_EXTERN long long uvpg_cursor_get_rowcount(const uvpg_cursor_t *cur) {
  return cur ? cur->cur->rowcount() : -1;
}

UVPG_EXTERN long long uvpg_cursor_get_rownumber(const uvpg_cursor_t *cur) {
  if (!cur) {
    return -1;
  }
  auto n = cur->cur->rownumber();
  return n ? *n : -1;
}

UVPG_EXTERN unsigned int uvpg_cursor_get_lastrowid(const uvpg_cursor_t *cur) {
  if (!cur) {
    return 0;
  }
  auto o = cur->cur->lastrowid();
  return o ? *o : 0;
}

UVPG_EXTERN const char *
uvpg_cursor_get_statusmessage(const uvpg_cursor_t *cur) {
  if (!cur) {
    return nullptr;
  }
  const auto &s = cur->cur->statusmessage();
  return s ? s->c_str() : nullptr;
}

UVPG_EXTERN const char *uvpg_cursor_get_query(const uvpg_cursor_t *cur) {
  if (!cur) {
    return nullptr;
  }
  const auto &q = cur->cur->query();
  return q ? q->c_str() : nullptr;
}

UVPG_EXTERN int uvpg_cursor_get_arraysize(const uvpg_cursor_t *cur) {
  return cur ? cur->cur->arraysize() : 0;
}

UVPG_EXTERN int uvpg_cursor_set_arraysize(uvpg_cursor_t *cur, int n) {
  if (!cur || n < 1) {
    return UV_EINVAL;
  }
  cur->cur->arraysize(n);
  return 0;
}

UVPG_EXTERN const char *uvpg_cursor_get_name(const uvpg_cursor_t *cur) {
  if (!cur || cur->cur->name().empty()) {
    return nullptr;
  }
  return cur->cur->name().c_str();
}

UVPG_EXTERN unsigned int uvpg_cursor_get_timeout(const uvpg_cursor_t *cur) {
  return cur ? static_cast<unsigned int>(cur->cur->timeout().count()) : 0;
}

UVPG_EXTERN uvpg_conn_t *uvpg_cursor_get_conn(const uvpg_cursor_t *cur) {
  return cur ? cur->conn : nullptr;
}

UVPG_EXTERN const char *uvpg_cursor_error_message(const uvpg_cursor_t *cur) {
  return cur ? cur->error.c_str() : "";
}

UVPG_EXTERN void uvpg_cursor_set_data(uvpg_cursor_t *cur, void *data) {
  if (cur) {
    cur->data = data;
  }
}

UVPG_EXTERN void *uvpg_cursor_get_data(const uvpg_cursor_t *cur) {
  return cur ? cur->data : nullptr;
}

UVPG_EXTERN int uvpg_cursor_get_ncolumns(const uvpg_cursor_t *cur) {
  if (!cur) {
    return -1;
  }
  const auto &d = cur->cur->description();
  return d ? static_cast<int>(d->size()) : -1;
}

UVPG_EXTERN const char *uvpg_cursor_get_column_name(const uvpg_cursor_t *cur,
                                                    int col) {
  const uvpg::column *c = column_at(cur, col);
  return c ? c->name.c_str() : nullptr;
}

UVPG_EXTERN unsigned int
uvpg_cursor_get_column_type(const uvpg_cursor_t *cur, int col) {
  const uvpg::column *c = column_at(cur, col);
  return c ? c->type_code : 0;
}

UVPG_EXTERN int uvpg_cursor_get_column_size(const uvpg_cursor_t *cur,
                                            int col) {
  const uvpg::column *c = column_at(cur, col);
  return c ? c->internal_size : 0;
}

UVPG_EXTERN int uvpg_cursor_get_column_precision(const uvpg_cursor_t *cur,
                                                 int col) {
  const uvpg::column *c = column_at(cur, col);
  return c && c->precision ? *c->precision : -1;
}

UVPG_EXTERN int uvpg_cursor_get_column_scale(const uvpg_cursor_t *cur,
                                             int col) {
  const uvpg::column *c = column_at(cur, col);
  return c && c->scale ? *c->scale : 0;
}

} // extern "C"
