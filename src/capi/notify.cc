// The C ABI of LISTEN/NOTIFY: one callback per connection, beside the
// C++ handlers and queue (src/notify.cc), and LISTEN, UNLISTEN and
// NOTIFY as statements through uvpg_conn_query().
//
// A notification reaches C as a uvpg_notify_t that points into libpq's
// own PGnotify, valid during the callback: the C path copies nothing.
#include <string>

#include "../engine/engine.hh"
#include "../notify_state.hh"
#include "../sql.hh"
#include "guard.hh"

using uvpg::detail::capi_guard;

extern "C" {

UVPG_EXTERN int uvpg_conn_notify_start(uvpg_conn_t *conn, uvpg_notify_cb cb,
                                       void *data) UVPG_NOEXCEPT {
  if (!conn || !cb) {
    return UV_EINVAL;
  }
  if (conn->close_requested) {
    return UVPG_ECLOSED;
  }
  if (conn->is_closed()) {
    return UVPG_ECONNBAD; // lost: its final call would have no stream
  }
  return capi_guard([&] {
    uvpg::detail::notify_state &s = uvpg::detail::notify_of(conn);
    s.c_cb = cb;
    s.c_data = data;
    return 0;
  });
}

UVPG_EXTERN int uvpg_conn_notify_stop(uvpg_conn_t *conn) UVPG_NOEXCEPT {
  if (!conn) {
    return UV_EINVAL;
  }
  if (conn->notifications) {
    conn->notifications->c_cb = nullptr;
    conn->notifications->c_data = nullptr;
  }
  return 0;
}

UVPG_EXTERN int uvpg_conn_listen(uvpg_conn_t *conn, const char *channel,
                                 uvpg_query_cb cb, void *data) UVPG_NOEXCEPT {
  if (!conn || !channel || !*channel) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    std::string sql = "LISTEN " + uvpg::detail::quote_identifier(channel);
    return uvpg_conn_query(conn, sql.c_str(), 0, nullptr, cb, data);
  });
}

UVPG_EXTERN int uvpg_conn_unlisten(uvpg_conn_t *conn, const char *channel,
                                   uvpg_query_cb cb,
                                   void *data) UVPG_NOEXCEPT {
  if (!conn || (channel && !*channel)) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    std::string sql =
        channel ? "UNLISTEN " + uvpg::detail::quote_identifier(channel)
                : std::string("UNLISTEN *");
    return uvpg_conn_query(conn, sql.c_str(), 0, nullptr, cb, data);
  });
}

UVPG_EXTERN int uvpg_conn_notify(uvpg_conn_t *conn, const char *channel,
                                 const char *payload, uvpg_query_cb cb,
                                 void *data) UVPG_NOEXCEPT {
  if (!conn || !channel) {
    return UV_EINVAL;
  }
  const char *params[2] = {channel, payload ? payload : ""};
  return uvpg_conn_query(conn, "SELECT pg_notify($1, $2)", 2, params, cb,
                         data);
}

} // extern "C"
