/* uvpg: asynchronous PostgreSQL client for libuv programs.
 *
 * This is the C ABI, the only header a C program includes.  The model,
 * the callback contract and the threading rules are in uvpg(7); each
 * function has its own page in section 3.
 */
#ifndef UVPG_H
#define UVPG_H

#include <stddef.h>
#include <uv.h>

#include "uvpg/errno.h"
#include "uvpg/sqlstate.h"
#include "uvpg/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define UVPG_EXTERN __attribute__((visibility("default")))
#else
#define UVPG_EXTERN
#endif

/* No function of the C ABI lets a C++ exception out: to C++ callers they
 * are noexcept.  See uvpg(7). */
#ifdef __cplusplus
#define UVPG_NOEXCEPT noexcept
#else
#define UVPG_NOEXCEPT
#endif

typedef struct uvpg_conn_s uvpg_conn_t;
typedef struct uvpg_result_s uvpg_result_t;

/* The DB-API category of an error (PEP 249, as psycopg maps SQLSTATE
 * classes to it).  See uvpg_sqlstate_class(3) and uvpg-errors(7). */
typedef enum {
  UVPG_ERROR_CLASS_NONE = 0,
  UVPG_ERROR_CLASS_INTERFACE = 1,
  UVPG_ERROR_CLASS_DATABASE = 2,
  UVPG_ERROR_CLASS_DATA = 3,
  UVPG_ERROR_CLASS_OPERATIONAL = 4,
  UVPG_ERROR_CLASS_INTEGRITY = 5,
  UVPG_ERROR_CLASS_INTERNAL = 6,
  UVPG_ERROR_CLASS_PROGRAMMING = 7,
  UVPG_ERROR_CLASS_NOT_SUPPORTED = 8
} uvpg_error_class_t;

/* See uvpg_sqlstate_class(3). */
UVPG_EXTERN uvpg_error_class_t uvpg_sqlstate_class(const char *sqlstate)
    UVPG_NOEXCEPT;
UVPG_EXTERN uvpg_error_class_t uvpg_err_class(int err) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_error_class_name(uvpg_error_class_t cls)
    UVPG_NOEXCEPT;

/* See uvpg_connect_opts_init(3). */
typedef struct uvpg_connect_opts_s {
  unsigned int timeout_ms; /* bounds the connect; 0 = none.  Statements
                              have their own per-statement timeout, see
                              uvpg_conn_query(3) */
  int echo;                /* log every statement to stderr */
  int enable_json;         /* decode json/jsonb (typecaster module) */
  int enable_hstore;       /* decode hstore when the extension exists */
  int enable_uuid;         /* decode uuid */
  unsigned int max_pipeline;         /* statements in flight; 1 = off */
  unsigned int statement_cache_size; /* prepared statements kept; 0 = off */
  unsigned int statement_lifetime_s; /* re-prepare after; 0 = never */
  unsigned int max_cacheable_size;   /* longer statements: not cached */
  unsigned int cancel_timeout_ms;    /* bounds a cancel request; 0 = 5000 */
  void *reserved[6];       /* zero; room to grow without a new ABI */
} uvpg_connect_opts_t;

/* See uvpg_connect(3), uvpg_conn_query(3), uvpg_conn_close(3). */
typedef void (*uvpg_connect_cb)(uvpg_conn_t *conn, int status, void *data);
typedef void (*uvpg_query_cb)(uvpg_conn_t *conn, int status,
                              uvpg_result_t *res, void *data);
typedef void (*uvpg_close_cb)(uvpg_conn_t *conn, void *data);

/* See uvpg_conn_copy_out(3), uvpg_conn_copy_in(3). */
typedef int (*uvpg_copy_data_cb)(uvpg_conn_t *conn, const char *buf,
                                 size_t len, void *data);
typedef void (*uvpg_copy_ready_cb)(uvpg_conn_t *conn, void *data);
typedef void (*uvpg_copy_drain_cb)(uvpg_conn_t *conn, void *data);

/* Connection status, see uvpg_conn_get_status(3). */
typedef enum {
  UVPG_CONN_CONNECTING = 0,
  UVPG_CONN_READY = 1,
  UVPG_CONN_BUSY = 2,
  UVPG_CONN_BROKEN = 3,
  UVPG_CONN_CLOSED = 4
} uvpg_conn_status_t;

/* Transaction status, the values of libpq's PGTransactionStatusType.
 * See uvpg_conn_get_transaction_status(3). */
typedef enum {
  UVPG_TRANS_IDLE = 0,
  UVPG_TRANS_ACTIVE = 1,
  UVPG_TRANS_INTRANS = 2,
  UVPG_TRANS_INERROR = 3,
  UVPG_TRANS_UNKNOWN = 4
} uvpg_trans_status_t;

/* Diagnostic fields, the PG_DIAG_* codes of libpq.
 * See uvpg_result_error_field(3). */
typedef enum {
  UVPG_DIAG_SEVERITY = 'S',
  UVPG_DIAG_SEVERITY_NONLOCALIZED = 'V',
  UVPG_DIAG_SQLSTATE = 'C',
  UVPG_DIAG_MESSAGE_PRIMARY = 'M',
  UVPG_DIAG_MESSAGE_DETAIL = 'D',
  UVPG_DIAG_MESSAGE_HINT = 'H',
  UVPG_DIAG_STATEMENT_POSITION = 'P',
  UVPG_DIAG_INTERNAL_POSITION = 'p',
  UVPG_DIAG_INTERNAL_QUERY = 'q',
  UVPG_DIAG_CONTEXT = 'W',
  UVPG_DIAG_SCHEMA_NAME = 's',
  UVPG_DIAG_TABLE_NAME = 't',
  UVPG_DIAG_COLUMN_NAME = 'c',
  UVPG_DIAG_DATATYPE_NAME = 'd',
  UVPG_DIAG_CONSTRAINT_NAME = 'n',
  UVPG_DIAG_SOURCE_FILE = 'F',
  UVPG_DIAG_SOURCE_LINE = 'L',
  UVPG_DIAG_SOURCE_FUNCTION = 'R'
} uvpg_diag_field_t;

/* See uvpg_version(3). */
UVPG_EXTERN unsigned int uvpg_version(void) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_version_string(void) UVPG_NOEXCEPT;

/* See uvpg_strerror(3). */
UVPG_EXTERN const char *uvpg_strerror(int err) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_err_name(int err) UVPG_NOEXCEPT;

/* See uvpg_connect_opts_init(3). */
UVPG_EXTERN void uvpg_connect_opts_init(uvpg_connect_opts_t *opts)
    UVPG_NOEXCEPT;

/* See uvpg_connect(3). */
UVPG_EXTERN int uvpg_connect(uv_loop_t *loop, const char *conninfo,
                             const uvpg_connect_opts_t *opts,
                             uvpg_connect_cb cb, void *data) UVPG_NOEXCEPT;

/* See uvpg_conn_query(3). */
UVPG_EXTERN int uvpg_conn_query(uvpg_conn_t *conn, const char *sql,
                                int nparams, const char *const *params,
                                uvpg_query_cb cb, void *data) UVPG_NOEXCEPT;

/* See uvpg_conn_query_ex(3). */
typedef struct uvpg_query_req_s uvpg_query_req_t;
typedef struct uvpg_query_opts_s {
  unsigned int timeout_ms; /* the statement's deadline; 0 = none */
  void *reserved[4];       /* zero; room to grow without a new ABI */
} uvpg_query_opts_t;
UVPG_EXTERN void uvpg_query_opts_init(uvpg_query_opts_t *opts) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_query_ex(uvpg_conn_t *conn, const char *sql,
                                   int nparams, const char *const *params,
                                   const uvpg_query_opts_t *opts,
                                   uvpg_query_cb cb, void *data,
                                   uvpg_query_req_t **req) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_query_cancel(uvpg_query_req_t *req) UVPG_NOEXCEPT;

/* See uvpg_conn_cancel(3). */
typedef void (*uvpg_cancel_cb)(uvpg_conn_t *conn, int status, void *data);
UVPG_EXTERN int uvpg_conn_cancel(uvpg_conn_t *conn, uvpg_cancel_cb cb,
                                 void *data) UVPG_NOEXCEPT;

/* See uvpg_conn_executemany(3). */
UVPG_EXTERN int uvpg_conn_executemany(uvpg_conn_t *conn, const char *sql,
                                      int nsets, int nparams,
                                      const char *const *params,
                                      uvpg_query_cb cb, void *data)
    UVPG_NOEXCEPT;

/* See uvpg_conn_prepare(3). */
UVPG_EXTERN int uvpg_conn_prepare(uvpg_conn_t *conn, const char *name,
                                  const char *sql, uvpg_query_cb cb,
                                  void *data) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_query_prepared(uvpg_conn_t *conn, const char *name,
                                         int nparams,
                                         const char *const *params,
                                         uvpg_query_cb cb, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_nparams(const uvpg_result_t *res) UVPG_NOEXCEPT;
UVPG_EXTERN unsigned int uvpg_result_paramtype(const uvpg_result_t *res,
                                               int index) UVPG_NOEXCEPT;

/* See uvpg_conn_copy_out(3). */
UVPG_EXTERN int uvpg_conn_copy_out(uvpg_conn_t *conn, const char *sql,
                                   uvpg_copy_data_cb on_data,
                                   uvpg_query_cb done, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_copy_resume(uvpg_conn_t *conn) UVPG_NOEXCEPT;

/* See uvpg_conn_copy_in(3). */
UVPG_EXTERN int uvpg_conn_copy_in(uvpg_conn_t *conn, const char *sql,
                                  uvpg_copy_ready_cb ready,
                                  uvpg_query_cb done, void *data) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_copy_write(uvpg_conn_t *conn, const void *buf,
                                     size_t len, uvpg_copy_drain_cb drained,
                                     void *data) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_copy_end(uvpg_conn_t *conn, const char *errmsg)
    UVPG_NOEXCEPT;

/* See uvpg_conn_close(3). */
UVPG_EXTERN void uvpg_conn_close(uvpg_conn_t *conn, uvpg_close_cb cb,
                                 void *data) UVPG_NOEXCEPT;

/* See uvpg_conn_error_message(3). */
UVPG_EXTERN const char *uvpg_conn_error_message(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_conn_error_sqlstate(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
/* See uvpg_conn_error_class(3). */
UVPG_EXTERN uvpg_error_class_t uvpg_conn_error_class(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
/* See uvpg_conn_error_outcome_unknown(3). */
UVPG_EXTERN int uvpg_conn_error_outcome_unknown(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;

/* See uvpg_conn_set_data(3). */
UVPG_EXTERN void uvpg_conn_set_data(uvpg_conn_t *conn, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN void *uvpg_conn_get_data(const uvpg_conn_t *conn) UVPG_NOEXCEPT;
UVPG_EXTERN uv_loop_t *uvpg_conn_get_loop(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;

/* See uvpg_conn_get_status(3). */
UVPG_EXTERN int uvpg_conn_is_closed(const uvpg_conn_t *conn) UVPG_NOEXCEPT;
UVPG_EXTERN uvpg_conn_status_t uvpg_conn_get_status(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN uvpg_trans_status_t
uvpg_conn_get_transaction_status(const uvpg_conn_t *conn) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_conn_get_dsn(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_get_backend_pid(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_conn_get_parameter_status(const uvpg_conn_t *conn,
                                                       const char *name)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_get_protocol_version(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_get_server_version(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_conn_get_encoding(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_get_autocommit(const uvpg_conn_t *conn) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_conn_get_isolation_level(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN unsigned int uvpg_conn_get_timeout(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_get_echo(const uvpg_conn_t *conn) UVPG_NOEXCEPT;

/* Notices, see uvpg_conn_set_notice_cb(3). */
typedef struct uvpg_notice_s uvpg_notice_t;
typedef void (*uvpg_notice_cb)(uvpg_conn_t *conn, int status,
                               const uvpg_notice_t *notice, void *data);
UVPG_EXTERN int uvpg_conn_set_notice_cb(uvpg_conn_t *conn, uvpg_notice_cb cb,
                                        void *data) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_get_notice_count(const uvpg_conn_t *conn)
    UVPG_NOEXCEPT;
UVPG_EXTERN const uvpg_notice_t *uvpg_conn_get_notice(const uvpg_conn_t *conn,
                                                      int index) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_notice_field(const uvpg_notice_t *notice,
                                          int field) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_notice_message(const uvpg_notice_t *notice)
    UVPG_NOEXCEPT;

/* See uvpg_conn_set_query_logger(3). */
typedef struct uvpg_query_log_s {
  size_t size;                /* sizeof (uvpg_query_log_t) in the library */
  const char *sql;            /* the statement as sent */
  int nparams;                /* its parameters (never their values) */
  int status;                 /* 0 or the completion's error code */
  const char *sqlstate;       /* the server's error, or NULL */
  const char *command_status; /* e.g. "INSERT 0 1"; "" on failure */
  long long rows;             /* returned or affected; -1: failed */
  long long start_us;         /* wall clock: microseconds since 1970 */
  long long elapsed_us;       /* microseconds from the call to the end */
  const char *host;           /* host, address or socket directory */
  const char *port;
  void *reserved[8];          /* room to grow without a new ABI */
} uvpg_query_log_t;
typedef void (*uvpg_query_log_cb)(uvpg_conn_t *conn, int status,
                                  const uvpg_query_log_t *rec, void *data);
UVPG_EXTERN int uvpg_conn_set_query_logger(uvpg_conn_t *conn,
                                           uvpg_query_log_cb cb,
                                           void *data) UVPG_NOEXCEPT;

/* See uvpg_conn_set_termination_cb(3). */
typedef void (*uvpg_termination_cb)(uvpg_conn_t *conn, int status,
                                    const char *message,
                                    const char *sqlstate, void *data);
UVPG_EXTERN int uvpg_conn_set_termination_cb(uvpg_conn_t *conn,
                                             uvpg_termination_cb cb,
                                             void *data) UVPG_NOEXCEPT;

/* See uvpg_result_ntuples(3). */
UVPG_EXTERN int uvpg_result_ntuples(const uvpg_result_t *res) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_nfields(const uvpg_result_t *res) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_result_fname(const uvpg_result_t *res, int col)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_fnumber(const uvpg_result_t *res,
                                    const char *name) UVPG_NOEXCEPT;
UVPG_EXTERN unsigned int uvpg_result_ftype(const uvpg_result_t *res, int col)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_result_value(const uvpg_result_t *res, int row,
                                          int col) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_length(const uvpg_result_t *res, int row,
                                   int col) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_isnull(const uvpg_result_t *res, int row,
                                   int col) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_fmod(const uvpg_result_t *res, int col)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_fsize(const uvpg_result_t *res, int col)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_result_cmd_status(const uvpg_result_t *res)
    UVPG_NOEXCEPT;
UVPG_EXTERN long long uvpg_result_cmd_tuples(const uvpg_result_t *res)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_result_error_message(const uvpg_result_t *res)
    UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_result_error_field(const uvpg_result_t *res,
                                                int field) UVPG_NOEXCEPT;
/* See uvpg_result_error_class(3). */
UVPG_EXTERN uvpg_error_class_t
uvpg_result_error_class(const uvpg_result_t *res) UVPG_NOEXCEPT;
UVPG_EXTERN const char *uvpg_result_sqlstate(const uvpg_result_t *res)
    UVPG_NOEXCEPT;
UVPG_EXTERN void uvpg_result_free(uvpg_result_t *res) UVPG_NOEXCEPT;

/* See uvpg_conn_register_type(3). */
typedef int (*uvpg_decode_cb)(const char *value, int len, int binary,
                              unsigned int type_oid, void *out, void *data);
typedef void (*uvpg_register_cb)(uvpg_conn_t *conn, int status,
                                 unsigned int type_oid, void *data);
UVPG_EXTERN int uvpg_conn_register_type(uvpg_conn_t *conn,
                                        const char *type_name,
                                        uvpg_decode_cb decode,
                                        void *decode_data,
                                        uvpg_register_cb cb, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_get_custom(const uvpg_result_t *res, int row,
                                       int col, void *out) UVPG_NOEXCEPT;

/* See uvpg_result_get_int64(3). */
UVPG_EXTERN int uvpg_result_get_bool(const uvpg_result_t *res, int row,
                                     int col, int *out) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_get_int64(const uvpg_result_t *res, int row,
                                      int col, long long *out) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_result_get_double(const uvpg_result_t *res, int row,
                                       int col, double *out) UVPG_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#include "uvpg/cursor.h"
#include "uvpg/listener.h"
#include "uvpg/notify.h"
#include "uvpg/pool.h"
#include "uvpg/transaction.h"

#endif /* UVPG_H */
