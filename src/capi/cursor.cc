// The C ABI of cursors: a thin shim over uvpg::cursor.
//
// Callbacks follow uvpg(7).  Each operation runs in the C++ cursor's
// turn, which hands its outcome to the shim inside the turn and from the
// loop (src/cursor.hh): so callbacks come in call order, never inside a
// call of the program's, and each exactly once.  uvpg_cursor_close()
// marks the cursor closed: operations not yet completed end with
// UV_ECANCELED, and the close callback comes in the turn after all of
// them; the memory goes after it returns.  Closing the connection ends
// pending operations with UV_ECANCELED, and the cursor holds the
// connection's close callback back until their callbacks ran.
//
// The cursor does not own its connection: the C++ cursor refers to the
// engine (a conn_ref), which the C connection handle is.
//
// Every entry point is noexcept; those that can throw run their body
// through guard(): capi_guard() (guard.hh), with the call marked on the
// cursor's stack.
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <stdexcept>

#include "../cursor.hh"
#include "../engine/engine.hh"
#include "guard.hh"
#include "uvpg/cursor.h"
#include "uvpg/cursor.hh"

using uvpg::future;
using uvpg::detail::cursor_access;

struct uvpg_cursor_s final {
  explicit uvpg_cursor_s(uvpg_conn_t *c, uvpg::cursor_options o)
      : cur(cursor_access::make(c, std::move(o))) {}
  uvpg::cursor cur;
  void *data = nullptr;
  std::string error;    // the message of the last failed operation
  bool closing = false; // uvpg_cursor_close() was called
};

namespace {

// Runs `f`, a body that returns a code, through capi_guard() with the
// call marked on `cur`'s stack (outcomes reached meanwhile wait for the
// loop).
template <class F> int guard(uvpg_cursor_t *cur, F &&f) noexcept {
  std::optional<cursor_access::call_scope> mark;
  if (cur) {
    mark.emplace(cur->cur);
  }
  return uvpg::detail::capi_guard(std::forward<F>(f));
}

// The status of an operation's outcome (and its message on failure);
// UV_ECANCELED once uvpg_cursor_close() was called (its callback not yet
// run, the operation was pending).
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
// connection.
int usable(const uvpg_cursor_t *cur) noexcept {
  if (!cur || cur->closing) {
    return UV_EINVAL;
  }
  return cursor_access::conn(cur->cur) ? 0 : UVPG_ECLOSED;
}

// The outcome of an operation whose callback takes only a status.
uvpg::detail::cursor_done<void> plain(uvpg_cursor_s *c, uvpg_cursor_cb cb,
                                      void *data) {
  return [c, cb, data](future<void> &&f) {
    int status = outcome(c, f);
    if (cb) {
      cb(c, status, data);
    }
  };
}

const uvpg::column *column_at(const uvpg_cursor_t *cur, int col) noexcept {
  if (!cur) {
    return nullptr;
  }
  const auto &d = cur->cur.description();
  if (!d || col < 0 || static_cast<size_t>(col) >= d->size()) {
    return nullptr;
  }
  return &(*d)[static_cast<size_t>(col)];
}

} // namespace

extern "C" {

UVPG_EXTERN void uvpg_cursor_opts_init(uvpg_cursor_opts_t *opts) noexcept {
  if (!opts) {
    return;
  }
  *opts = uvpg_cursor_opts_t{};
  opts->arraysize = 1;
  opts->itersize = 2000;
}

UVPG_EXTERN int uvpg_cursor_new(uvpg_conn_t *conn,
                                const uvpg_cursor_opts_t *opts,
                                uvpg_cursor_t **out) noexcept {
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
  return guard(nullptr, [&] {
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
  });
}

UVPG_EXTERN int uvpg_cursor_execute(uvpg_cursor_t *cur, const char *sql,
                                    int nparams, const char *const *params,
                                    uvpg_cursor_cb cb, void *data) noexcept {
  if (!sql || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  return guard(cur, [&] {
    cursor_access::execute(cur->cur, sql, c_params(nparams, params),
                           plain(cur, cb, data));
    return 0;
  });
}

UVPG_EXTERN int uvpg_cursor_callproc(uvpg_cursor_t *cur,
                                     const char *procname, int nparams,
                                     const char *const *params,
                                     uvpg_cursor_cb cb, void *data) noexcept {
  if (!procname || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  return guard(cur, [&] {
    cursor_access::callproc(cur->cur, procname, c_params(nparams, params),
                            plain(cur, cb, data));
    return 0;
  });
}

UVPG_EXTERN int uvpg_cursor_fetch(uvpg_cursor_t *cur, int n,
                                  uvpg_fetch_cb cb, void *data) noexcept {
  if (n < -1) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  return guard(cur, [&] {
    long count = n == -1 ? cur->cur.arraysize() : n == 0 ? -1 : n;
    cursor_access::fetch(
        cur->cur, count,
        [cur, cb, data](future<uvpg::detail::cursor_chunk> &&g) {
          int status = outcome(cur, g);
          if (!cb) {
            return;
          }
          if (status < 0) {
            cb(cur, status, nullptr, 0, 0, data);
            return;
          }
          // The chunk (and its result) lives until the callback
          // returns: `res` is borrowed.
          uvpg::detail::cursor_chunk ch = g.get();
          const auto *res = reinterpret_cast<const uvpg_result_t *>(
              ch.count > 0 ? ch.res.native() : nullptr);
          cb(cur, 0, res, ch.first, ch.count, data);
        });
    return 0;
  });
}

UVPG_EXTERN int uvpg_cursor_each(uvpg_cursor_t *cur, uvpg_row_cb row_cb,
                                 uvpg_cursor_cb done_cb, void *data) noexcept {
  if (!row_cb) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  return guard(cur, [&] {
    cursor_access::each(
        cur->cur,
        [cur, row_cb, data](const uvpg::result &res, int row) {
          return row_cb(cur,
                        reinterpret_cast<const uvpg_result_t *>(res.native()),
                        row, data);
        },
        [cur, done_cb, data](future<long long> &&g) {
          int status = outcome(cur, g);
          if (status >= 0) {
            long long n = g.get();
            status = n > INT_MAX ? INT_MAX : static_cast<int>(n);
          }
          if (done_cb) {
            done_cb(cur, status, data);
          }
        });
    return 0;
  });
}

UVPG_EXTERN int uvpg_cursor_scroll(uvpg_cursor_t *cur, long value, int mode,
                                   uvpg_cursor_cb cb, void *data) noexcept {
  if (mode != UVPG_SCROLL_RELATIVE && mode != UVPG_SCROLL_ABSOLUTE) {
    return UV_EINVAL;
  }
  if (int rc = usable(cur)) {
    return rc;
  }
  return guard(cur, [&] {
    cursor_access::scroll(cur->cur, value,
                          mode == UVPG_SCROLL_ABSOLUTE
                              ? uvpg::scroll_mode::absolute
                              : uvpg::scroll_mode::relative,
                          plain(cur, cb, data));
    return 0;
  });
}

UVPG_EXTERN int uvpg_cursor_mogrify(uvpg_cursor_t *cur, const char *sql,
                                    int nparams, const char *const *params,
                                    char **out) noexcept {
  if (out) {
    *out = nullptr;
  }
  if (!cur || !sql || !out || nparams < 0 || (nparams > 0 && !params)) {
    return UV_EINVAL;
  }
  return guard(cur, [&] {
    std::string text;
    try {
      text = cur->cur.mogrify(sql, c_params(nparams, params));
    } catch (...) {
      // The message is the program's to read.
      return uvpg::detail::cursor_status(std::current_exception(),
                                         cur->error);
    }
    char *s = static_cast<char *>(std::malloc(text.size() + 1));
    if (!s) {
      return int{UV_ENOMEM};
    }
    std::memcpy(s, text.c_str(), text.size() + 1);
    *out = s;
    return 0;
  });
}

UVPG_EXTERN void uvpg_cursor_free_string(char *s) noexcept { std::free(s); }

UVPG_EXTERN void uvpg_cursor_close(uvpg_cursor_t *cur,
                                   uvpg_cursor_close_cb cb,
                                   void *data) noexcept {
  if (!cur || cur->closing) {
    return; // a second close is a programming error: ignored
  }
  cur->closing = true;
  int rc = guard(cur, [&] {
    cursor_access::close(cur->cur, [cur, cb, data](future<void> &&f) {
      cur->error.clear();
      if (f.failed()) {
        uvpg::detail::cursor_status(f.get_exception(), cur->error);
      }
      if (cb) {
        cb(cur, data);
      }
      delete cur;
    });
    return 0;
  });
  if (rc < 0) {
    // Out of memory before the close was queued: the cursor is closed
    // (the server drops a named one with its transaction or session),
    // and its callback must still come once, from the loop.
    uvpg::detail::conn_impl *c = cursor_access::engine(cur->cur);
    uv_loop_t *loop = c ? c->loop : uvpg::detail::current_loop();
    if (!loop) {
      return; // nothing can run the callback: keep the memory
    }
    struct late final : uvpg::detail::task {
      uvpg_cursor_t *cur;
      uvpg_cursor_close_cb cb;
      void *data;
      void run() noexcept override {
        if (cb) {
          cb(cur, data);
        }
        delete cur;
        delete this;
      }
    };
    if (auto *t = new (std::nothrow) late) {
      t->cur = cur;
      t->cb = cb;
      t->data = data;
      uvpg::detail::schedule(loop, t);
    }
  }
}

UVPG_EXTERN int uvpg_cursor_is_closed(const uvpg_cursor_t *cur) noexcept {
  return !cur || cur->closing;
}

UVPG_EXTERN long long
uvpg_cursor_get_rowcount(const uvpg_cursor_t *cur) noexcept {
  return cur ? cur->cur.rowcount() : -1;
}

UVPG_EXTERN long long
uvpg_cursor_get_rownumber(const uvpg_cursor_t *cur) noexcept {
  if (!cur) {
    return -1;
  }
  auto n = cur->cur.rownumber();
  return n ? *n : -1;
}

UVPG_EXTERN unsigned int
uvpg_cursor_get_lastrowid(const uvpg_cursor_t *cur) noexcept {
  if (!cur) {
    return 0;
  }
  auto o = cur->cur.lastrowid();
  return o ? *o : 0;
}

UVPG_EXTERN const char *
uvpg_cursor_get_statusmessage(const uvpg_cursor_t *cur) noexcept {
  if (!cur) {
    return nullptr;
  }
  const auto &s = cur->cur.statusmessage();
  return s ? s->c_str() : nullptr;
}

UVPG_EXTERN const char *
uvpg_cursor_get_query(const uvpg_cursor_t *cur) noexcept {
  if (!cur) {
    return nullptr;
  }
  const auto &q = cur->cur.query();
  return q ? q->c_str() : nullptr;
}

UVPG_EXTERN int uvpg_cursor_get_arraysize(const uvpg_cursor_t *cur) noexcept {
  return cur ? cur->cur.arraysize() : 0;
}

UVPG_EXTERN int uvpg_cursor_set_arraysize(uvpg_cursor_t *cur,
                                          int n) noexcept {
  if (!cur || n < 1) {
    return UV_EINVAL;
  }
  return guard(cur, [&] {
    cur->cur.arraysize(n);
    return 0;
  });
}

UVPG_EXTERN const char *
uvpg_cursor_get_name(const uvpg_cursor_t *cur) noexcept {
  if (!cur || cur->cur.name().empty()) {
    return nullptr;
  }
  return cur->cur.name().c_str();
}

UVPG_EXTERN unsigned int
uvpg_cursor_get_timeout(const uvpg_cursor_t *cur) noexcept {
  return cur ? static_cast<unsigned int>(cur->cur.timeout().count()) : 0;
}

UVPG_EXTERN uvpg_conn_t *
uvpg_cursor_get_conn(const uvpg_cursor_t *cur) noexcept {
  // The engine until it is freed: a closing connection is still the
  // program's handle until its close callback returned.
  return cur ? c_handle(cursor_access::engine(cur->cur))
             : nullptr;
}

UVPG_EXTERN const char *
uvpg_cursor_error_message(const uvpg_cursor_t *cur) noexcept {
  return cur ? cur->error.c_str() : "";
}

UVPG_EXTERN void uvpg_cursor_set_data(uvpg_cursor_t *cur,
                                      void *data) noexcept {
  if (cur) {
    cur->data = data;
  }
}

UVPG_EXTERN void *uvpg_cursor_get_data(const uvpg_cursor_t *cur) noexcept {
  return cur ? cur->data : nullptr;
}

UVPG_EXTERN int uvpg_cursor_get_ncolumns(const uvpg_cursor_t *cur) noexcept {
  if (!cur) {
    return -1;
  }
  const auto &d = cur->cur.description();
  return d ? static_cast<int>(d->size()) : -1;
}

UVPG_EXTERN const char *
uvpg_cursor_get_column_name(const uvpg_cursor_t *cur, int col) noexcept {
  const uvpg::column *c = column_at(cur, col);
  return c ? c->name.c_str() : nullptr;
}

UVPG_EXTERN unsigned int
uvpg_cursor_get_column_type(const uvpg_cursor_t *cur, int col) noexcept {
  const uvpg::column *c = column_at(cur, col);
  return c ? c->type_code : 0;
}

UVPG_EXTERN int uvpg_cursor_get_column_size(const uvpg_cursor_t *cur,
                                            int col) noexcept {
  const uvpg::column *c = column_at(cur, col);
  return c ? c->internal_size : 0;
}

UVPG_EXTERN int uvpg_cursor_get_column_precision(const uvpg_cursor_t *cur,
                                                 int col) noexcept {
  const uvpg::column *c = column_at(cur, col);
  return c && c->precision ? *c->precision : -1;
}

UVPG_EXTERN int uvpg_cursor_get_column_scale(const uvpg_cursor_t *cur,
                                             int col) noexcept {
  const uvpg::column *c = column_at(cur, col);
  return c && c->scale ? *c->scale : 0;
}

} // extern "C"
