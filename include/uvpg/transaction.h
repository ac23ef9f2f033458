/* uvpg transactions: BEGIN with options, COMMIT, ROLLBACK and
 * savepoints on a connection.  Part of the C ABI: a program includes
 * <uvpg.h>, which includes this header.  The model is in uvpg(7); each
 * function has its own page in section 3.
 */
#ifndef UVPG_TRANSACTION_H
#define UVPG_TRANSACTION_H

/* The connection and result types, and UVPG_EXTERN.  <uvpg.h> includes
 * this header after declaring them, so either header may come first. */
#include "../uvpg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Isolation levels, see uvpg_conn_begin(3). */
typedef enum {
  UVPG_ISOLATION_DEFAULT = 0,
  UVPG_ISOLATION_SERIALIZABLE = 1,
  UVPG_ISOLATION_REPEATABLE_READ = 2,
  UVPG_ISOLATION_READ_COMMITTED = 3,
  UVPG_ISOLATION_READ_UNCOMMITTED = 4
} uvpg_isolation_t;

/* See uvpg_tx_opts_init(3). */
typedef struct uvpg_tx_opts_s {
  int isolation;     /* a uvpg_isolation_t */
  int read_only;     /* READ ONLY */
  int deferrable;    /* DEFERRABLE */
  void *reserved[4]; /* zero; room to grow without a new ABI */
} uvpg_tx_opts_t;

/* See uvpg_tx_opts_init(3). */
UVPG_EXTERN void uvpg_tx_opts_init(uvpg_tx_opts_t *opts) UVPG_NOEXCEPT;

/* See uvpg_conn_begin(3). */
UVPG_EXTERN int uvpg_conn_begin(uvpg_conn_t *conn, const uvpg_tx_opts_t *opts,
                                uvpg_query_cb cb, void *data) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_commit(uvpg_conn_t *conn, uvpg_query_cb cb,
                                 void *data) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_rollback(uvpg_conn_t *conn, uvpg_query_cb cb,
                                   void *data) UVPG_NOEXCEPT;

/* See uvpg_conn_savepoint(3). */
UVPG_EXTERN int uvpg_conn_savepoint(uvpg_conn_t *conn, const char *name,
                                    uvpg_query_cb cb, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_release_savepoint(uvpg_conn_t *conn,
                                            const char *name,
                                            uvpg_query_cb cb, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_rollback_to_savepoint(uvpg_conn_t *conn,
                                                const char *name,
                                                uvpg_query_cb cb, void *data)
    UVPG_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* UVPG_TRANSACTION_H */
