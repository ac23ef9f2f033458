// The C ABI of error classes: the DB-API category of a SQLSTATE, of a
// status, of a failed result and of a connection's last error.  The
// tables are src/sqlstate.cc's (generated); error.cc reads them.
#include "../engine/engine.hh"
#include "../sqlstate.hh"
#include "guard.hh"

using uvpg::detail::capi_guard_or;

UVPG_EXTERN uvpg_error_class_t
uvpg_sqlstate_class(const char *sqlstate) UVPG_NOEXCEPT {
  return capi_guard_or(UVPG_ERROR_CLASS_NONE, [&] {
    return uvpg::detail::sqlstate_category_of(sqlstate);
  });
}

UVPG_EXTERN uvpg_error_class_t uvpg_err_class(int err) UVPG_NOEXCEPT {
  return capi_guard_or(UVPG_ERROR_CLASS_NONE, [&] {
    return uvpg::detail::status_category_of(err);
  });
}

UVPG_EXTERN const char *
uvpg_error_class_name(uvpg_error_class_t cls) UVPG_NOEXCEPT {
  switch (cls) {
  case UVPG_ERROR_CLASS_NONE:
    return "none";
  case UVPG_ERROR_CLASS_INTERFACE:
    return "interface_error";
  case UVPG_ERROR_CLASS_DATABASE:
    return "database_error";
  case UVPG_ERROR_CLASS_DATA:
    return "data_error";
  case UVPG_ERROR_CLASS_OPERATIONAL:
    return "operational_error";
  case UVPG_ERROR_CLASS_INTEGRITY:
    return "integrity_error";
  case UVPG_ERROR_CLASS_INTERNAL:
    return "internal_error";
  case UVPG_ERROR_CLASS_PROGRAMMING:
    return "programming_error";
  case UVPG_ERROR_CLASS_NOT_SUPPORTED:
    return "not_supported_error";
  }
  return "unknown";
}

UVPG_EXTERN const char *
uvpg_result_sqlstate(const uvpg_result_t *res) UVPG_NOEXCEPT {
  return res ? PQresultErrorField(reinterpret_cast<const PGresult *>(res),
                                  PG_DIAG_SQLSTATE)
             : nullptr;
}

UVPG_EXTERN uvpg_error_class_t
uvpg_result_error_class(const uvpg_result_t *res) UVPG_NOEXCEPT {
  return capi_guard_or(UVPG_ERROR_CLASS_NONE, [&] {
    return uvpg::detail::sqlstate_category_of(uvpg_result_sqlstate(res));
  });
}

UVPG_EXTERN uvpg_error_class_t
uvpg_conn_error_class(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return capi_guard_or(UVPG_ERROR_CLASS_NONE, [&] {
    return uvpg::detail::sqlstate_category_of(uvpg_conn_error_sqlstate(conn));
  });
}

UVPG_EXTERN int
uvpg_conn_error_outcome_unknown(const uvpg_conn_t *conn) UVPG_NOEXCEPT {
  return conn && conn->error_outcome_unknown ? 1 : 0;
}
