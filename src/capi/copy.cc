// The C ABI of COPY (uvpg_conn_copy_*): a thin shim over the engine's
// side of the protocol (conn_impl::copy_put, copy_end, copy_resume).
// The C++ API of COPY is in src/copy.cc.
//
// A C COPY op hands its data to the program's callbacks; the drain
// callback of uvpg_conn_copy_write() waits in conn_impl::copy_drain_cb
// until libpq's buffer has gone to the socket.
#include <memory>
#include <utility>

#include "../engine/engine.hh"
#include "../sql.hh"
#include "guard.hh"

using uvpg::detail::capi_guard;
using uvpg::detail::conn_impl;

namespace {

struct c_copy_out final : uvpg::detail::op {
  uvpg_copy_data_cb on_data;
  uvpg_query_cb done;
  void *data;
  c_copy_out(uvpg_copy_data_cb d, uvpg_query_cb q, void *u)
      : on_data(d), done(q), data(u) {}
  copy_way copies() const noexcept override { return copy_way::out; }
  bool copy_data(conn_impl *c, std::string_view d) noexcept override {
    return on_data(c_handle(c), d.data(), d.size(), data) == 0;
  }
  void complete(conn_impl *c, int status, PGresult *res) noexcept override {
    done(c_handle(c), status, reinterpret_cast<uvpg_result_t *>(res), data);
  }
};

struct c_copy_in final : uvpg::detail::op {
  uvpg_copy_ready_cb ready;
  uvpg_query_cb done;
  void *data;
  bool accepted = false;
  c_copy_in(uvpg_copy_ready_cb r, uvpg_query_cb q, void *u)
      : ready(r), done(q), data(u) {}
  copy_way copies() const noexcept override { return copy_way::in; }
  void copy_ready(conn_impl *c) noexcept override {
    if (accepted) {
      c->copy_end("uvpg_conn_copy_in() takes one COPY FROM STDIN per "
                  "statement");
      return;
    }
    accepted = true;
    ready(c_handle(c), data);
  }
  void copy_drained(conn_impl *c) noexcept override {
    if (uvpg_copy_drain_cb cb = std::exchange(c->copy_drain_cb, nullptr)) {
      cb(c_handle(c), std::exchange(c->copy_drain_data, nullptr));
    }
  }
  void complete(conn_impl *c, int status, PGresult *res) noexcept override {
    c->copy_drain_cb = nullptr;
    if (status >= 0 && !accepted) {
      PQclear(std::exchange(res, nullptr));
      c->set_error("uvpg_conn_copy_in: the statement is not a COPY FROM "
                   "STDIN");
      status = UV_EINVAL;
    }
    done(c_handle(c), status, reinterpret_cast<uvpg_result_t *>(res), data);
  }
};

// Queues a C COPY op, made of the COPY's own callback `first` (data or
// ready), `done` and `data`; it runs alone, in the simple protocol.
template <class Op, class Cb>
int submit_c_copy(uvpg_conn_t *conn, const char *sql, Cb first,
                  uvpg_query_cb done, void *data) noexcept {
  if (!conn || !sql || !first || !done) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    auto o = std::make_unique<Op>(first, done, data);
    o->sql = sql;
    o->simple = true;
    o->exclusive = true;
    conn->submit(o.release());
    return 0;
  });
}

} // namespace

extern "C" {

UVPG_EXTERN int uvpg_conn_copy_out(uvpg_conn_t *conn, const char *sql,
                                   uvpg_copy_data_cb on_data,
                                   uvpg_query_cb done,
                                   void *data) UVPG_NOEXCEPT {
  return submit_c_copy<c_copy_out>(conn, sql, on_data, done, data);
}

UVPG_EXTERN int uvpg_conn_copy_resume(uvpg_conn_t *conn) UVPG_NOEXCEPT {
  if (!conn) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    conn->copy_resume();
    return 0;
  });
}

UVPG_EXTERN int uvpg_conn_copy_in(uvpg_conn_t *conn, const char *sql,
                                  uvpg_copy_ready_cb ready,
                                  uvpg_query_cb done,
                                  void *data) UVPG_NOEXCEPT {
  return submit_c_copy<c_copy_in>(conn, sql, ready, done, data);
}

UVPG_EXTERN int uvpg_conn_copy_write(uvpg_conn_t *conn, const void *buf,
                                     size_t len, uvpg_copy_drain_cb drained,
                                     void *data) UVPG_NOEXCEPT {
  if (!conn || (!buf && len)) {
    return UV_EINVAL;
  }
  if (conn->copy_drain_cb) {
    return UV_EBUSY; // wait for the drain callback before writing more
  }
  return capi_guard([&] {
    int rc = conn->copy_put(
        std::string_view(static_cast<const char *>(buf), buf ? len : 0));
    if (rc == 1 && drained) {
      conn->copy_drain_cb = drained;
      conn->copy_drain_data = data;
    }
    return rc;
  });
}

UVPG_EXTERN int uvpg_conn_copy_end(uvpg_conn_t *conn,
                                   const char *errmsg) UVPG_NOEXCEPT {
  if (!conn) {
    return UV_EINVAL;
  }
  return capi_guard([&] { return conn->copy_end(errmsg); });
}

} // extern "C"
