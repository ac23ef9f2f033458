/* uvpg/pool.h: the C ABI of connection pools.  Included by uvpg.h; see
 * uvpg_pool_new(3).  A pool belongs to one loop; every function is
 * called on that loop's thread. */
#ifndef UVPG_POOL_H
#define UVPG_POOL_H

/* The connection, options and callback types, and UVPG_EXTERN.  <uvpg.h>
 * includes this header after declaring them, so either may come first. */
#include "../uvpg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uvpg_pool_s uvpg_pool_t;
typedef struct uvpg_acquire_s uvpg_acquire_t;

/* What the pool does to a session when a connection comes back; see
 * uvpg_pool_opts_init(3). */
typedef enum {
  UVPG_POOL_RESET_AUTO = 0,
  UVPG_POOL_RESET_ALWAYS = 1,
  UVPG_POOL_RESET_TRANSACTION = 2
} uvpg_pool_reset_t;

/* Which server a lease runs on, with a multi-host conninfo; see
 * uvpg_pool_acquire_ex(3). */
typedef enum {
  UVPG_ACCESS_READ_WRITE = 0,  /* the primary */
  UVPG_ACCESS_READ_ONLY = 1,   /* a standby, else the primary */
  UVPG_ACCESS_STANDBY_ONLY = 2 /* a standby only */
} uvpg_access_t;

/* See uvpg_pool_opts_init(3). */
typedef struct uvpg_pool_opts_s {
  uvpg_connect_opts_t connect;   /* every connection's options */
  unsigned int minsize;          /* kept open; default 1 */
  unsigned int maxsize;          /* at most; 0 = no limit; default 10 */
  unsigned int timeout_ms;       /* acquire / pool call deadline; 0 = none */
  unsigned int max_waiting;      /* waiters at most; 0 = no limit */
  unsigned long long max_queries; /* replace after; 0 = never */
  unsigned int max_inactive_ms;  /* close idle above minsize; 0 = never */
  unsigned int max_lifetime_ms;  /* replace after; 0 = never */
  uvpg_pool_reset_t reset;       /* default UVPG_POOL_RESET_AUTO */
  uvpg_access_t access;          /* default UVPG_ACCESS_READ_WRITE */
  unsigned int max_replica_lag_ms; /* pass over a standby lagging more;
                                      0 = no check */
  void *reserved[5];             /* zero */
} uvpg_pool_opts_t;

/* See uvpg_pool_acquire_ex(3). */
typedef struct uvpg_acquire_opts_s {
  uvpg_access_t access; /* default UVPG_ACCESS_READ_WRITE */
  int timeout_ms;       /* -1 (default): the pool's; 0: none */
  void *reserved[4];    /* zero */
} uvpg_acquire_opts_t;

/* See uvpg_pool_get_stats(3).  Times in nanoseconds. */
typedef struct uvpg_pool_stats_s {
  size_t size, idle, in_use, waiting, connecting;
  unsigned long long acquired, wait_ns, usage_ns, timeouts, exhausted;
  unsigned long long opened, failed, lost, closed, resets;
  unsigned long long behind_pooler, role_changes;
  unsigned long long reserved[2];
} uvpg_pool_stats_t;

typedef void (*uvpg_acquire_cb)(uvpg_pool_t *pool, int status,
                                uvpg_conn_t *conn, void *data);
typedef void (*uvpg_pool_close_cb)(uvpg_pool_t *pool, void *data);

UVPG_EXTERN void uvpg_pool_opts_init(uvpg_pool_opts_t *opts) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_pool_new(uv_loop_t *loop, const char *conninfo,
                              const uvpg_pool_opts_t *opts,
                              uvpg_pool_t **pool) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_pool_acquire(uvpg_pool_t *pool, uvpg_acquire_cb cb,
                                  void *data,
                                  uvpg_acquire_t **req) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_pool_acquire_timeout(uvpg_pool_t *pool,
                                          unsigned int timeout_ms,
                                          uvpg_acquire_cb cb, void *data,
                                          uvpg_acquire_t **req)
    UVPG_NOEXCEPT;
UVPG_EXTERN void uvpg_acquire_opts_init(uvpg_acquire_opts_t *opts)
    UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_pool_acquire_ex(uvpg_pool_t *pool,
                                     const uvpg_acquire_opts_t *opts,
                                     uvpg_acquire_cb cb, void *data,
                                     uvpg_acquire_t **req) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_pool_cancel(uvpg_acquire_t *req) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_pool_release(uvpg_pool_t *pool,
                                  uvpg_conn_t *conn) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_pool_query(uvpg_pool_t *pool, const char *sql,
                                int nparams, const char *const *params,
                                uvpg_query_cb cb, void *data) UVPG_NOEXCEPT;
UVPG_EXTERN void uvpg_pool_clear(uvpg_pool_t *pool) UVPG_NOEXCEPT;
UVPG_EXTERN int uvpg_pool_close(uvpg_pool_t *pool, int terminate,
                                uvpg_pool_close_cb cb,
                                void *data) UVPG_NOEXCEPT;
UVPG_EXTERN size_t uvpg_pool_get_size(const uvpg_pool_t *pool) UVPG_NOEXCEPT;
UVPG_EXTERN size_t uvpg_pool_get_freesize(const uvpg_pool_t *pool)
    UVPG_NOEXCEPT;
UVPG_EXTERN size_t uvpg_pool_get_minsize(const uvpg_pool_t *pool)
    UVPG_NOEXCEPT;
UVPG_EXTERN size_t uvpg_pool_get_maxsize(const uvpg_pool_t *pool)
    UVPG_NOEXCEPT;
UVPG_EXTERN void uvpg_pool_get_stats(const uvpg_pool_t *pool,
                                     uvpg_pool_stats_t *stats) UVPG_NOEXCEPT;
UVPG_EXTERN uv_loop_t *uvpg_pool_get_loop(const uvpg_pool_t *pool)
    UVPG_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* UVPG_POOL_H */
