// The C ABI of notices, the query logger and the lost-connection event:
// one callback of each per connection, beside the C++ handlers.
//
// A notice reaches C as an opaque uvpg_notice_t read with
// uvpg_notice_field(), not as a uvpg_result_t: libpq frees the PGresult
// it hands the notice receiver as soon as the receiver returns, and has
// no public way to build one with error fields, while a result handed
// to a callback belongs to the callee, who would have to free it.
#include "../engine/engine.hh"
#include "../session_state.hh"
#include "guard.hh"

using uvpg::detail::capi_guard;
using uvpg::detail::session_of;

extern "C" {

UVPG_EXTERN int uvpg_conn_set_notice_cb(uvpg_conn_t *conn, uvpg_notice_cb cb,
                                        void *data) UVPG_NOEXCEPT {
  if (!conn) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    session_of(conn).c_notice = {cb, cb ? data : nullptr};
    return 0;
  });
}

UVPG_EXTERN int
uvpg_conn_get_notice_count(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  if (!conn || !conn->session) {
    return 0;
  }
  return static_cast<int>(conn->session->kept.size());
}

UVPG_EXTERN const uvpg_notice_t *uvpg_conn_get_notice(const uvpg_conn_t *conn,
                                                      int index) UVPG_NOEXCEPT {
  if (!conn || !conn->session || index < 0 ||
      static_cast<size_t>(index) >= conn->session->kept.size()) {
    return nullptr;
  }
  return &conn->session->kept[static_cast<size_t>(index)];
}

UVPG_EXTERN const char *uvpg_notice_field(const uvpg_notice_t *notice,
                                          int field) UVPG_NOEXCEPT {
  if (!notice || field <= 0 || field > 127) {
    return nullptr;
  }
  const auto &fields = notice->fields();
  auto it = fields.find(static_cast<char>(field));
  return it == fields.end() ? nullptr : it->second.c_str();
}

UVPG_EXTERN const char *
uvpg_notice_message(const uvpg_notice_t *notice) UVPG_NOEXCEPT {
  return notice ? notice->message().c_str() : nullptr;
}

UVPG_EXTERN int uvpg_conn_set_query_logger(uvpg_conn_t *conn,
                                           uvpg_query_log_cb cb,
                                           void *data) UVPG_NOEXCEPT {
  if (!conn) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    session_of(conn).c_logger = {cb, cb ? data : nullptr};
    uvpg::detail::update_query_logging(conn);
    return 0;
  });
}

UVPG_EXTERN int uvpg_conn_set_termination_cb(uvpg_conn_t *conn,
                                             uvpg_termination_cb cb,
                                             void *data) UVPG_NOEXCEPT {
  if (!conn) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    session_of(conn).c_termination = {cb, cb ? data : nullptr};
    return 0;
  });
}

} // extern "C"
