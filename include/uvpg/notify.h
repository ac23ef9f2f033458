/* uvpg LISTEN/NOTIFY: notifications from other sessions, a callback per
 * connection, and LISTEN, UNLISTEN and NOTIFY as statements.  Part of
 * the C ABI: a program includes <uvpg.h>, which includes this header.
 * The model is in uvpg(7); each function has its own page in section 3.
 */
#ifndef UVPG_NOTIFY_H
#define UVPG_NOTIFY_H

/* The connection type, the query callback and UVPG_EXTERN.  <uvpg.h>
 * includes this header after declaring them, so either header may come
 * first. */
#include "../uvpg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* See uvpg_conn_notify_start(3).  Valid only during the callback. */
typedef struct uvpg_notify_s {
  size_t size;         /* sizeof(uvpg_notify_t) in the library */
  const char *channel; /* the channel, as named */
  const char *payload; /* "" when none was given */
  int pid;             /* the sending session's server process */
} uvpg_notify_t;

typedef void (*uvpg_notify_cb)(uvpg_conn_t *conn, int status,
                               const uvpg_notify_t *n, void *data);

/* See uvpg_conn_notify_start(3). */
UVPG_EXTERN int uvpg_conn_notify_start(uvpg_conn_t *conn, uvpg_notify_cb cb,
                                       void *data) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_notify_stop(uvpg_conn_t *conn) UVPG_NOEXCEPT;

/* See uvpg_conn_listen(3). */
UVPG_EXTERN int uvpg_conn_listen(uvpg_conn_t *conn, const char *channel,
                                 uvpg_query_cb cb, void *data) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_unlisten(uvpg_conn_t *conn, const char *channel,
                                   uvpg_query_cb cb, void *data)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_conn_notify(uvpg_conn_t *conn, const char *channel,
                                 const char *payload, uvpg_query_cb cb,
                                 void *data) UVPG_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* UVPG_NOTIFY_H */
