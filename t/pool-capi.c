/* The pool C ABI from plain C99, against the test server, written from
 * the man pages (uvpg_pool_new(3), uvpg_pool_opts_init(3),
 * uvpg_pool_acquire(3), uvpg_pool_release(3), uvpg_pool_query(3),
 * uvpg_pool_close(3), uvpg_pool_get_stats(3)).
 *
 * Built with -std=c99 -pedantic -Werror and only <uvpg.h>.  Each case
 * owns its loop and pool, counts its callbacks (each exactly once, never
 * inside the uvpg call that started it: a flag is set around every call),
 * closes its pool and ends with uv_loop_close() == 0.  Nothing asserts
 * timing: waits are bounded only so that a bug fails instead of hanging.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

#define MAXCALLS 64

/* What the callbacks saw; reset before each case. */
static struct {
  int in_call;       /* set while a uvpg call runs */
  int called_inside; /* a callback ran inside a uvpg call */
  /* acquire callbacks, by tag */
  int acquires;
  int acq_calls[MAXCALLS];
  int acq_status[MAXCALLS];
  uvpg_conn_t *acq_conn[MAXCALLS];
  uvpg_pool_t *acq_pool[MAXCALLS];
  /* query callbacks (pool or connection), by tag */
  int queries;
  int q_calls[MAXCALLS];
  int q_status[MAXCALLS];
  int q_had_conn[MAXCALLS];
  char q_value[MAXCALLS][64]; /* row 0, column 0; "(null)" for NULL */
  /* close callbacks */
  int pool_closes;
  uvpg_pool_t *closed_pool;
  void *closed_data;
  int pool_close_acquire_rc; /* uvpg_pool_acquire() inside the close cb */
  int conn_closes;
} st;

static void reset(void) { memset(&st, 0, sizeof st); }

static void note_callback(void) {
  if (st.in_call) {
    st.called_inside = 1;
  }
}

static void on_acquire(uvpg_pool_t *pool, int status, uvpg_conn_t *conn,
                       void *data) {
  int tag = (int)(intptr_t)data;
  note_callback();
  st.acquires++;
  if (tag < 0 || tag >= MAXCALLS) {
    return;
  }
  st.acq_calls[tag]++;
  st.acq_status[tag] = status;
  st.acq_conn[tag] = conn;
  st.acq_pool[tag] = pool;
  if (status < 0) {
    CHECK(conn == NULL);
  } else {
    CHECK(conn != NULL);
  }
}

static void on_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  int tag = (int)(intptr_t)data;
  note_callback();
  st.queries++;
  if (tag >= 0 && tag < MAXCALLS) {
    st.q_calls[tag]++;
    st.q_status[tag] = status;
    st.q_had_conn[tag] = conn != NULL;
    st.q_value[tag][0] = '\0';
    if (res && status == 0 && uvpg_result_ntuples(res) > 0 &&
        uvpg_result_nfields(res) > 0) {
      snprintf(st.q_value[tag], sizeof st.q_value[tag], "%s",
               uvpg_result_isnull(res, 0, 0) ? "(null)"
                                             : uvpg_result_value(res, 0, 0));
    }
  }
  uvpg_result_free(res);
}

static void on_pool_closed(uvpg_pool_t *pool, void *data) {
  note_callback();
  st.pool_closes++;
  st.closed_pool = pool;
  st.closed_data = data;
  /* The handle is still valid here; the pool lends nothing. */
  st.pool_close_acquire_rc = uvpg_pool_acquire(pool, on_acquire,
                                               (void *)(intptr_t)63, NULL);
}

static void on_conn_closed(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
  note_callback();
  st.conn_closes++;
}

/* Runs the loop until `*flag` reaches `n` (or 30 s pass). */
static void run_until(uv_loop_t *loop, const int *flag, int n) {
  uint64_t limit;
  uv_update_time(loop);
  limit = uv_now(loop) + 30000;
  while (*flag < n && uv_now(loop) < limit) {
    uv_run(loop, UV_RUN_ONCE);
  }
  CHECK(*flag >= n);
}

/* Runs a few loop turns without blocking. */
static void spin(uv_loop_t *loop, int turns) {
  int i;
  for (i = 0; i < turns; i++) {
    uv_run(loop, UV_RUN_NOWAIT);
  }
}

static uvpg_pool_t *make_pool(uv_loop_t *loop, unsigned minsize,
                              unsigned maxsize, unsigned timeout_ms,
                              unsigned max_waiting) {
  uvpg_pool_opts_t o;
  uvpg_pool_t *pool = NULL;
  uvpg_pool_opts_init(&o);
  o.minsize = minsize;
  o.maxsize = maxsize;
  o.timeout_ms = timeout_ms;
  o.max_waiting = max_waiting;
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_new(loop, ctest_dsn(), &o, &pool), 0);
  st.in_call = 0;
  CHECK(pool != NULL);
  return pool;
}

static int acquire(uvpg_pool_t *pool, int tag, uvpg_acquire_t **req) {
  int rc;
  st.in_call = 1;
  rc = uvpg_pool_acquire(pool, on_acquire, (void *)(intptr_t)tag, req);
  st.in_call = 0;
  return rc;
}

/* Acquires and waits for the connection under `tag`. */
static uvpg_conn_t *acquire_now(uv_loop_t *loop, uvpg_pool_t *pool,
                                int tag) {
  CHECK_EQ(acquire(pool, tag, NULL), 0);
  run_until(loop, &st.acq_calls[tag], 1);
  CHECK_EQ(st.acq_calls[tag], 1);
  CHECK_EQ(st.acq_status[tag], 0);
  CHECK(st.acq_pool[tag] == pool);
  return st.acq_conn[tag];
}

static int pool_query(uvpg_pool_t *pool, const char *sql, int n,
                      const char *const *params, int tag) {
  int rc;
  st.in_call = 1;
  rc = uvpg_pool_query(pool, sql, n, params, on_query, (void *)(intptr_t)tag);
  st.in_call = 0;
  return rc;
}

/* A statement on a lent connection, waited for, under `tag`. */
static void conn_query_now(uv_loop_t *loop, uvpg_conn_t *c, const char *sql,
                           int tag) {
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_query(c, sql, 0, NULL, on_query, (void *)(intptr_t)tag),
           0);
  st.in_call = 0;
  run_until(loop, &st.q_calls[tag], 1);
}

static int release(uvpg_pool_t *pool, uvpg_conn_t *c) {
  int rc;
  st.in_call = 1;
  rc = uvpg_pool_release(pool, c);
  st.in_call = 0;
  return rc;
}

/* Closes the pool (gently), runs the loop dry and checks the ends. */
static void close_pool(uv_loop_t *loop, uvpg_pool_t *pool) {
  int closes = st.pool_closes;
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_close(pool, 0, on_pool_closed, (void *)pool), 0);
  st.in_call = 0;
  CHECK_EQ(st.pool_closes, closes);
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.pool_closes, closes + 1);
  CHECK(st.closed_pool == pool);
  CHECK(st.closed_data == (void *)pool);
  CHECK_EQ(st.pool_close_acquire_rc, UVPG_ECLOSED);
  CHECK_EQ(st.acq_calls[63], 0);
  CHECK_EQ(uv_loop_close(loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

/* Waits until the pool has `n` idle connections. */
static void wait_idle(uv_loop_t *loop, uvpg_pool_t *pool, size_t n) {
  uint64_t limit;
  uv_update_time(loop);
  limit = uv_now(loop) + 30000;
  while (uvpg_pool_get_freesize(pool) < n && uv_now(loop) < limit) {
    uv_run(loop, UV_RUN_ONCE);
  }
  CHECK_EQ(uvpg_pool_get_freesize(pool), n);
}

/* ---- the cases ---- */

static void test_opts_init(void) {
  uvpg_pool_opts_t o;
  size_t i;
  memset(&o, 0x5a, sizeof o);
  uvpg_pool_opts_init(&o);
  CHECK_EQ(o.minsize, 1);
  CHECK_EQ(o.maxsize, 10);
  CHECK_EQ(o.timeout_ms, 60000);
  CHECK_EQ(o.max_waiting, 0);
  CHECK_EQ(o.max_queries, 50000);
  CHECK_EQ(o.max_inactive_ms, 300000);
  CHECK_EQ(o.max_lifetime_ms, 0);
  CHECK_EQ(o.reset, UVPG_POOL_RESET_AUTO);
  CHECK_EQ(o.connect.timeout_ms, 60000); /* uvpg_connect_opts_init(3) */
  CHECK_EQ(o.connect.max_pipeline, 100);
  for (i = 0; i < sizeof o.reserved / sizeof o.reserved[0]; i++) {
    CHECK(o.reserved[i] == NULL);
  }
  uvpg_pool_opts_init(NULL); /* ignored */
}

static void test_new(void) {
  uv_loop_t loop;
  uvpg_pool_opts_t o;
  uvpg_pool_t *pool = (uvpg_pool_t *)&o; /* not NULL: must be cleared */
  CHECK_EQ(uv_loop_init(&loop), 0);
  uvpg_pool_opts_init(&o);
  CHECK_EQ(uvpg_pool_new(NULL, ctest_dsn(), &o, &pool), UV_EINVAL);
  CHECK(pool == NULL);
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), &o, NULL), UV_EINVAL);
  o.minsize = 3;
  o.maxsize = 2;
  pool = (uvpg_pool_t *)&o;
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), &o, &pool), UV_EINVAL);
  CHECK(pool == NULL);
  uvpg_pool_opts_init(&o);
  o.reset = (uvpg_pool_reset_t)7;
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), &o, &pool), UV_EINVAL);
  CHECK(pool == NULL);
  /* minsize above a maxsize of 0 (no limit) is fine */
  uvpg_pool_opts_init(&o);
  o.minsize = 2;
  o.maxsize = 0;
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), &o, &pool), 0);
  CHECK(pool != NULL);
  CHECK(uvpg_pool_get_loop(pool) == &loop);
  CHECK_EQ(uvpg_pool_get_minsize(pool), 2);
  CHECK_EQ(uvpg_pool_get_maxsize(pool), 0);
  wait_idle(&loop, pool, 2);
  close_pool(&loop, pool);
  /* NULL options are the defaults */
  CHECK_EQ(uv_loop_init(&loop), 0);
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), NULL, &pool), 0);
  CHECK_EQ(uvpg_pool_get_minsize(pool), 1);
  CHECK_EQ(uvpg_pool_get_maxsize(pool), 10);
  CHECK_EQ(st.acquires, 0); /* uvpg_pool_new() takes no callback */
  close_pool(&loop, pool);
}

static void test_acquire_release(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_conn_t *c;
  uvpg_acquire_t *req = (uvpg_acquire_t *)&loop;
  uvpg_pool_stats_t s;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 1, 2, 0, 0);
  wait_idle(&loop, pool, 1);
  /* an idle connection: still no callback inside the call */
  CHECK_EQ(acquire(pool, 1, &req), 0);
  CHECK(req != NULL);
  CHECK_EQ(st.acq_calls[1], 0);
  run_until(&loop, &st.acq_calls[1], 1);
  CHECK_EQ(st.acq_status[1], 0);
  c = st.acq_conn[1];
  CHECK(c != NULL);
  CHECK(st.acq_pool[1] == pool);
  /* an ordinary connection for the lease */
  CHECK(uvpg_conn_get_loop(c) == &loop);
  CHECK_EQ(uvpg_conn_get_status(c), UVPG_CONN_READY);
  conn_query_now(&loop, c, "SELECT 40 + 2", 2);
  CHECK_EQ(st.q_status[2], 0);
  CHECK_STR(st.q_value[2], "42");
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.in_use, 1);
  CHECK_EQ(s.acquired, 1);
  CHECK_EQ(release(pool, c), 0);
  /* released: not lent any more */
  CHECK_EQ(release(pool, c), UV_EINVAL);
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.in_use, 0);
  wait_idle(&loop, pool, 1);
  /* errors are return codes, without callbacks */
  req = (uvpg_acquire_t *)&loop;
  CHECK_EQ(uvpg_pool_acquire(NULL, on_acquire, NULL, &req), UV_EINVAL);
  CHECK(req == NULL);
  CHECK_EQ(uvpg_pool_acquire(pool, NULL, NULL, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_pool_acquire_timeout(NULL, 10, on_acquire, NULL, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_pool_acquire_timeout(pool, 10, NULL, NULL, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_pool_release(NULL, c), UV_EINVAL);
  CHECK_EQ(uvpg_pool_release(pool, NULL), UV_EINVAL);
  CHECK_EQ(st.acquires, 1);
  /* the same connection again: the pool reuses it */
  CHECK(acquire_now(&loop, pool, 3) == c);
  CHECK_EQ(release(pool, c), 0);
  close_pool(&loop, pool);
  CHECK_EQ(st.acquires, 2);
}

static void test_query(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_pool_stats_t s;
  char sql[64];
  char arg[16];
  const char *p[2];
  int i;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 0, 2, 0, 0);
  /* more statements than connections: all run, each callback once */
  for (i = 0; i < 6; i++) {
    snprintf(arg, sizeof arg, "%d", i);
    p[0] = arg;
    p[1] = NULL;
    snprintf(sql, sizeof sql, "SELECT $1::int * 10, $2::text");
    CHECK_EQ(pool_query(pool, sql, 2, p, i), 0); /* values are copied */
    arg[0] = 'x';
  }
  CHECK_EQ(st.queries, 0);
  run_until(&loop, &st.queries, 6);
  for (i = 0; i < 6; i++) {
    char want[16];
    snprintf(want, sizeof want, "%d", i * 10);
    CHECK_EQ(st.q_calls[i], 1);
    CHECK_EQ(st.q_status[i], 0);
    CHECK_EQ(st.q_had_conn[i], 1);
    CHECK_STR(st.q_value[i], want);
  }
  uvpg_pool_get_stats(pool, &s);
  CHECK(s.size <= 2);
  CHECK_EQ(s.acquired, 6);
  /* a NULL parameter is SQL NULL */
  p[0] = NULL;
  CHECK_EQ(pool_query(pool, "SELECT $1::text", 1, p, 10), 0);
  /* a server error: the result carries it, and the pool goes on */
  CHECK_EQ(pool_query(pool, "SELECT 1/0", 0, NULL, 11), 0);
  CHECK_EQ(pool_query(pool, "SELECT 'after'", 0, NULL, 12), 0);
  run_until(&loop, &st.queries, 9);
  CHECK_STR(st.q_value[10], "(null)");
  CHECK_EQ(st.q_status[11], UVPG_ESERVER);
  CHECK_EQ(st.q_had_conn[11], 1);
  CHECK_EQ(st.q_status[12], 0);
  CHECK_STR(st.q_value[12], "after");
  /* usage errors: returned, no callback */
  CHECK_EQ(uvpg_pool_query(NULL, "SELECT 1", 0, NULL, on_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_pool_query(pool, NULL, 0, NULL, on_query, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_pool_query(pool, "SELECT 1", 0, NULL, NULL, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_pool_query(pool, "SELECT 1", -1, NULL, on_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_pool_query(pool, "SELECT $1", 1, NULL, on_query, NULL),
           UV_EINVAL);
  /* every connection went back */
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.in_use, 0);
  close_pool(&loop, pool);
  CHECK_EQ(st.queries, 9);
}

static void test_timeout(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_conn_t *held;
  uvpg_pool_stats_t s;
  CHECK_EQ(uv_loop_init(&loop), 0);
  /* the pool's timeout_ms applies to uvpg_pool_acquire and
   * uvpg_pool_query */
  pool = make_pool(&loop, 1, 1, 100, 0);
  /* the one connection, without a deadline however slow the connect */
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_acquire_timeout(pool, 0, on_acquire,
                                     (void *)(intptr_t)0, NULL),
           0);
  st.in_call = 0;
  run_until(&loop, &st.acq_calls[0], 1);
  CHECK_EQ(st.acq_status[0], 0);
  held = st.acq_conn[0];
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_acquire_timeout(pool, 50, on_acquire,
                                     (void *)(intptr_t)1, NULL),
           0);
  st.in_call = 0;
  CHECK_EQ(acquire(pool, 2, NULL), 0);
  CHECK_EQ(pool_query(pool, "SELECT 1", 0, NULL, 3), 0);
  run_until(&loop, &st.acq_calls[1], 1);
  run_until(&loop, &st.acq_calls[2], 1);
  run_until(&loop, &st.q_calls[3], 1);
  CHECK_EQ(st.acq_status[1], UV_ETIMEDOUT);
  CHECK(st.acq_conn[1] == NULL);
  CHECK_EQ(st.acq_status[2], UV_ETIMEDOUT);
  CHECK_EQ(st.q_status[3], UV_ETIMEDOUT);
  CHECK_EQ(st.q_had_conn[3], 0);
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.timeouts, 3);
  CHECK_EQ(s.waiting, 0);
  /* a deadline of 0 is none: this one waits for the release */
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_acquire_timeout(pool, 0, on_acquire,
                                     (void *)(intptr_t)4, NULL),
           0);
  st.in_call = 0;
  spin(&loop, 5);
  CHECK_EQ(st.acq_calls[4], 0);
  CHECK_EQ(release(pool, held), 0);
  run_until(&loop, &st.acq_calls[4], 1);
  CHECK_EQ(st.acq_status[4], 0);
  CHECK(st.acq_conn[4] == held);
  CHECK_EQ(release(pool, st.acq_conn[4]), 0);
  close_pool(&loop, pool);
  CHECK_EQ(st.acquires, 4);
  CHECK_EQ(st.queries, 1);
}

static void test_max_waiting(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_conn_t *held;
  uvpg_acquire_t *req = (uvpg_acquire_t *)&loop;
  uvpg_pool_stats_t s;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 1, 1, 0, 2);
  held = acquire_now(&loop, pool, 0);
  CHECK_EQ(acquire(pool, 1, NULL), 0);
  CHECK_EQ(pool_query(pool, "SELECT 'q'", 0, NULL, 2), 0);
  /* two wait: the third is refused at once, without a callback */
  CHECK_EQ(acquire(pool, 3, &req), UVPG_EPOOLFULL);
  CHECK(req == NULL);
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_acquire_timeout(pool, 10, on_acquire,
                                     (void *)(intptr_t)4, NULL),
           UVPG_EPOOLFULL);
  st.in_call = 0;
  CHECK_EQ(pool_query(pool, "SELECT 1", 0, NULL, 5), UVPG_EPOOLFULL);
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.exhausted, 3);
  CHECK_EQ(s.waiting, 2);
  CHECK_EQ(release(pool, held), 0);
  run_until(&loop, &st.acq_calls[1], 1);
  CHECK_EQ(st.acq_status[1], 0);
  CHECK_EQ(release(pool, st.acq_conn[1]), 0);
  run_until(&loop, &st.q_calls[2], 1);
  CHECK_EQ(st.q_status[2], 0);
  CHECK_STR(st.q_value[2], "q");
  spin(&loop, 5);
  CHECK_EQ(st.acq_calls[3], 0);
  CHECK_EQ(st.acq_calls[4], 0);
  CHECK_EQ(st.q_calls[5], 0);
  close_pool(&loop, pool);
  CHECK_EQ(st.acquires, 2);
  CHECK_EQ(st.queries, 1);
}

static void test_cancel(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_conn_t *held;
  uvpg_acquire_t *req = NULL;
  uvpg_pool_stats_t s;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 1, 1, 0, 0);
  held = acquire_now(&loop, pool, 0);
  CHECK_EQ(acquire(pool, 1, &req), 0);
  CHECK(req != NULL);
  CHECK_EQ(acquire(pool, 2, NULL), 0); /* behind it */
  spin(&loop, 3);
  CHECK_EQ(st.acq_calls[1], 0);
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_cancel(req), 0);
  CHECK_EQ(uvpg_pool_cancel(req), UV_EALREADY); /* its callback is due */
  st.in_call = 0;
  CHECK_EQ(st.acq_calls[1], 0);
  CHECK_EQ(uvpg_pool_cancel(NULL), UV_EINVAL);
  run_until(&loop, &st.acq_calls[1], 1);
  CHECK_EQ(st.acq_status[1], UV_ECANCELED);
  CHECK(st.acq_conn[1] == NULL);
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.waiting, 1);
  /* the one behind it gets the connection */
  CHECK_EQ(release(pool, held), 0);
  run_until(&loop, &st.acq_calls[2], 1);
  CHECK_EQ(st.acq_status[2], 0);
  CHECK_EQ(release(pool, st.acq_conn[2]), 0);
  spin(&loop, 3);
  CHECK_EQ(st.acq_calls[1], 1);
  close_pool(&loop, pool);
  CHECK_EQ(st.acquires, 3);
}

static uvpg_conn_t *plain;
static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  (void)data;
  note_callback();
  CHECK_EQ(status, 0);
  plain = conn;
}

static void test_release_foreign(void) {
  uv_loop_t loop;
  uvpg_pool_t *a, *b;
  uvpg_conn_t *c;
  CHECK_EQ(uv_loop_init(&loop), 0);
  a = make_pool(&loop, 1, 2, 0, 0);
  b = make_pool(&loop, 1, 2, 0, 0);
  /* a connection of uvpg_connect(3) */
  plain = NULL;
  CHECK_EQ(uvpg_connect(&loop, ctest_dsn(), NULL, on_connect, NULL), 0);
  while (!plain) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  CHECK_EQ(release(a, plain), UV_EINVAL);
  /* the connection still works: release did nothing */
  conn_query_now(&loop, plain, "SELECT 'plain'", 0);
  CHECK_STR(st.q_value[0], "plain");
  /* a connection lent by another pool */
  c = acquire_now(&loop, a, 1);
  CHECK_EQ(release(b, c), UV_EINVAL);
  uvpg_pool_get_stats(a, NULL); /* ignored */
  CHECK_EQ(uvpg_pool_get_size(a), 1);
  CHECK_EQ(release(a, c), 0);
  uvpg_conn_close(plain, on_conn_closed, NULL);
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_close(b, 0, NULL, NULL), 0); /* cb may be NULL */
  st.in_call = 0;
  close_pool(&loop, a);
  CHECK_EQ(st.conn_closes, 1);
}

static void test_close_with_lent(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_conn_t *c;
  uvpg_pool_stats_t s;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 1, 2, 0, 0);
  c = acquire_now(&loop, pool, 0);
  CHECK_EQ(acquire(pool, 1, NULL), 0); /* will be failed by the close */
  CHECK_EQ(pool_query(pool, "SELECT 1", 0, NULL, 2), 0);
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_close(pool, 0, on_pool_closed, (void *)pool), 0);
  CHECK_EQ(uvpg_pool_close(pool, 0, on_pool_closed, NULL), UV_EALREADY);
  CHECK_EQ(uvpg_pool_close(NULL, 0, on_pool_closed, NULL), UV_EINVAL);
  st.in_call = 0;
  CHECK_EQ(acquire(pool, 3, NULL), UVPG_ECLOSED);
  CHECK_EQ(pool_query(pool, "SELECT 1", 0, NULL, 4), UVPG_ECLOSED);
  /* the lent connection stays the program's until it is released */
  conn_query_now(&loop, c, "SELECT 'still mine'", 5);
  CHECK_STR(st.q_value[5], "still mine");
  spin(&loop, 10);
  CHECK_EQ(st.pool_closes, 0);
  CHECK_EQ(st.acq_calls[1], 1);
  CHECK_EQ(st.acq_status[1], UVPG_ECLOSED);
  run_until(&loop, &st.q_calls[2], 1);
  CHECK_EQ(st.q_status[2], UVPG_ECLOSED);
  CHECK_EQ(st.q_had_conn[2], 0);
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.in_use, 1);
  CHECK_EQ(release(pool, c), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.pool_closes, 1);
  CHECK(st.closed_pool == pool);
  CHECK_EQ(st.pool_close_acquire_rc, UVPG_ECLOSED);
  CHECK_EQ(st.acq_calls[3], 0);
  CHECK_EQ(st.acq_calls[63], 0);
  CHECK_EQ(st.q_calls[4], 0);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(st.called_inside, 0);
  CHECK_EQ(st.acquires, 2);
}

static void test_terminate(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_conn_t *c;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 2, 2, 0, 0);
  c = acquire_now(&loop, pool, 0);
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_query(c, "SELECT pg_sleep(60)", 0, NULL, on_query,
                           (void *)(intptr_t)1),
           0);
  st.in_call = 0;
  spin(&loop, 3);
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_close(pool, 1, on_pool_closed, (void *)pool), 0);
  st.in_call = 0;
  CHECK_EQ(st.q_calls[1], 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  /* the statement pending on the lent connection ended, then the pool */
  CHECK_EQ(st.q_calls[1], 1);
  CHECK(st.q_status[1] == UV_ECANCELED || st.q_status[1] == UVPG_ECLOSED);
  CHECK_EQ(st.pool_closes, 1);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

static void test_stats(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_pool_stats_t s;
  uvpg_conn_t *c;
  size_t i;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 2, 3, 0, 0);
  CHECK(uvpg_pool_get_loop(pool) == &loop);
  CHECK_EQ(uvpg_pool_get_minsize(pool), 2);
  CHECK_EQ(uvpg_pool_get_maxsize(pool), 3);
  wait_idle(&loop, pool, 2);
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.size, 2);
  CHECK_EQ(s.idle, 2);
  CHECK_EQ(s.in_use, 0);
  CHECK_EQ(s.waiting, 0);
  CHECK_EQ(s.connecting, 0);
  CHECK_EQ(s.opened, 2);
  CHECK_EQ(s.failed, 0);
  CHECK_EQ(s.acquired, 0);
  for (i = 0; i < sizeof s.reserved / sizeof s.reserved[0]; i++) {
    CHECK_EQ(s.reserved[i], 0);
  }
  CHECK_EQ(uvpg_pool_get_size(pool), 2);
  CHECK_EQ(uvpg_pool_get_freesize(pool), 2);
  c = acquire_now(&loop, pool, 0);
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.in_use, 1);
  CHECK_EQ(s.idle, 1);
  CHECK_EQ(s.acquired, 1);
  CHECK_EQ(uvpg_pool_get_freesize(pool), 1);
  CHECK_EQ(uvpg_pool_get_size(pool), 2);
  CHECK_EQ(release(pool, c), 0);
  wait_idle(&loop, pool, 2);
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.in_use, 0);
  CHECK_EQ(s.acquired, 1);
  CHECK_EQ(s.timeouts, 0);
  CHECK_EQ(s.exhausted, 0);
  /* NULL pool: zeros */
  CHECK_EQ(uvpg_pool_get_size(NULL), 0);
  CHECK_EQ(uvpg_pool_get_freesize(NULL), 0);
  CHECK_EQ(uvpg_pool_get_minsize(NULL), 0);
  CHECK_EQ(uvpg_pool_get_maxsize(NULL), 0);
  CHECK(uvpg_pool_get_loop(NULL) == NULL);
  memset(&s, 0x5a, sizeof s);
  uvpg_pool_get_stats(NULL, &s);
  CHECK_EQ(s.size, 0);
  CHECK_EQ(s.opened, 0);
  close_pool(&loop, pool);
}

/* One lease that runs `sql`, then one that reads the application_name,
 * on a pool of one connection with `mode`; returns the full resets
 * counted after both leases. */
static unsigned long long lease_then_read(uvpg_pool_reset_t mode,
                                          const char *sql, char *out,
                                          size_t outsize, int *txstatus) {
  uv_loop_t loop;
  uvpg_pool_opts_t o;
  uvpg_pool_t *pool = NULL;
  uvpg_pool_stats_t s;
  uvpg_conn_t *c;
  reset();
  CHECK_EQ(uv_loop_init(&loop), 0);
  uvpg_pool_opts_init(&o);
  o.maxsize = 1;
  o.reset = mode;
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), &o, &pool), 0);
  c = acquire_now(&loop, pool, 0);
  conn_query_now(&loop, c, sql, 0);
  CHECK_EQ(st.q_status[0], 0);
  CHECK_EQ(release(pool, c), 0);
  c = acquire_now(&loop, pool, 1);
  *txstatus = (int)uvpg_conn_get_transaction_status(c);
  conn_query_now(&loop, c, "SHOW application_name", 1);
  snprintf(out, outsize, "%s", st.q_value[1]);
  CHECK_EQ(release(pool, c), 0);
  uvpg_pool_get_stats(pool, &s);
  close_pool(&loop, pool);
  return s.resets;
}

static void test_reset(void) {
  char name[64];
  int tx;
  /* AUTO: SET touches the session: the full reset runs */
  CHECK_EQ(lease_then_read(UVPG_POOL_RESET_AUTO,
                           "SET application_name = 'lease1'", name,
                           sizeof name, &tx),
           1);
  CHECK(strcmp(name, "lease1") != 0);
  CHECK_EQ(tx, UVPG_TRANS_IDLE);
  /* AUTO: a transaction left open is rolled back, without a full reset */
  CHECK_EQ(lease_then_read(UVPG_POOL_RESET_AUTO, "BEGIN", name, sizeof name,
                           &tx),
           0);
  CHECK_EQ(tx, UVPG_TRANS_IDLE);
  /* AUTO: plain queries need no reset */
  CHECK_EQ(lease_then_read(UVPG_POOL_RESET_AUTO, "SELECT 1", name,
                           sizeof name, &tx),
           0);
  /* ALWAYS: even after a plain query */
  CHECK_EQ(lease_then_read(UVPG_POOL_RESET_ALWAYS, "SELECT 1", name,
                           sizeof name, &tx),
           2); /* both leases */
  /* TRANSACTION: the setting stays for the next borrower */
  CHECK_EQ(lease_then_read(UVPG_POOL_RESET_TRANSACTION,
                           "SET application_name = 'lease1'", name,
                           sizeof name, &tx),
           0);
  CHECK_STR(name, "lease1");
  /* TRANSACTION: the open transaction is still rolled back */
  lease_then_read(UVPG_POOL_RESET_TRANSACTION, "BEGIN", name, sizeof name,
                  &tx);
  CHECK_EQ(tx, UVPG_TRANS_IDLE);
}

static void test_conn_close_lent(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_conn_t *c, *d;
  uvpg_pool_stats_t s;
  int pid;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 1, 1, 0, 0);
  c = acquire_now(&loop, pool, 0);
  pid = uvpg_conn_get_backend_pid(c);
  /* a waiter for the slot the closed connection frees */
  CHECK_EQ(acquire(pool, 1, NULL), 0);
  st.in_call = 1;
  uvpg_conn_close(c, on_conn_closed, NULL);
  st.in_call = 0;
  /* it left the pool: it is not lent by it any more */
  CHECK_EQ(release(pool, c), UV_EINVAL);
  run_until(&loop, &st.conn_closes, 1);
  /* the pool opened another in its place */
  run_until(&loop, &st.acq_calls[1], 1);
  CHECK_EQ(st.acq_status[1], 0);
  d = st.acq_conn[1];
  CHECK(d != NULL);
  CHECK(uvpg_conn_get_backend_pid(d) != pid);
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.size, 1);
  CHECK_EQ(s.opened, 2);
  CHECK_EQ(release(pool, d), 0);
  close_pool(&loop, pool);
  CHECK_EQ(st.conn_closes, 1);
}

static void test_release_pending(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_conn_t *c;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 1, 1, 0, 0);
  c = acquire_now(&loop, pool, 0);
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_query(c, "SELECT pg_sleep(0.05), 'a'", 0, NULL,
                           on_query, (void *)(intptr_t)1),
           0);
  CHECK_EQ(uvpg_conn_query(c, "SELECT 'b'", 0, NULL, on_query,
                           (void *)(intptr_t)2),
           0);
  st.in_call = 0;
  /* released with two statements queued: they still run, once each */
  CHECK_EQ(release(pool, c), 0);
  CHECK_EQ(acquire(pool, 3, NULL), 0);
  run_until(&loop, &st.acq_calls[3], 1);
  CHECK_EQ(st.q_calls[1], 1);
  CHECK_EQ(st.q_calls[2], 1);
  CHECK_EQ(st.q_status[1], 0);
  CHECK_STR(st.q_value[2], "b");
  /* the next borrower gets it once they are done */
  CHECK_EQ(st.acq_status[3], 0);
  CHECK(st.acq_conn[3] == c);
  CHECK_EQ(release(pool, st.acq_conn[3]), 0);
  close_pool(&loop, pool);
}

static void test_clear(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_conn_t *c;
  int pid1, pid2;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 1, 2, 0, 0);
  c = acquire_now(&loop, pool, 0);
  pid1 = uvpg_conn_get_backend_pid(c);
  st.in_call = 1;
  uvpg_pool_clear(pool);
  st.in_call = 0;
  uvpg_pool_clear(NULL); /* nothing */
  /* lent during the clear: closed when it comes back */
  CHECK_EQ(release(pool, c), 0);
  c = acquire_now(&loop, pool, 1);
  pid2 = uvpg_conn_get_backend_pid(c);
  CHECK(pid2 != pid1);
  CHECK_EQ(release(pool, c), 0);
  wait_idle(&loop, pool, 1);
  /* an idle connection is closed at once */
  uvpg_pool_clear(pool);
  CHECK_EQ(uvpg_pool_get_freesize(pool), 0);
  c = acquire_now(&loop, pool, 2);
  CHECK(uvpg_conn_get_backend_pid(c) != pid2);
  CHECK_EQ(release(pool, c), 0);
  close_pool(&loop, pool);
}

/* uvpg_pool_query(3): statements that leave the session as it was are
 * pipelined on idle connections (no lease), and the pool's timeout_ms
 * bounds the statement too: a slow one hears UV_ETIMEDOUT with no
 * connection, is cancelled, and the connection serves the next one. */
static void test_query_shared_deadline(void) {
  uv_loop_t loop;
  uvpg_pool_t *pool;
  uvpg_pool_stats_t s;
  char arg[16];
  const char *p[1];
  int i;
  CHECK_EQ(uv_loop_init(&loop), 0);
  pool = make_pool(&loop, 2, 2, 300, 0);
  wait_idle(&loop, pool, 2);
  for (i = 0; i < 20; i++) {
    snprintf(arg, sizeof arg, "%d", i);
    p[0] = arg;
    CHECK_EQ(pool_query(pool, "SELECT $1::int + 1", 1, p, i), 0);
  }
  run_until(&loop, &st.queries, 20);
  for (i = 0; i < 20; i++) {
    char want[16];
    snprintf(want, sizeof want, "%d", i + 1);
    CHECK_EQ(st.q_calls[i], 1);
    CHECK_STR(st.q_value[i], want);
  }
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.acquired, 0); /* no lease was taken */
  CHECK_EQ(s.opened, 2);
  CHECK_EQ(pool_query(pool, "SELECT pg_sleep(5)", 0, NULL, 30), 0);
  run_until(&loop, &st.q_calls[30], 1);
  CHECK_EQ(st.q_status[30], UV_ETIMEDOUT);
  CHECK_EQ(st.q_had_conn[30], 0);
  CHECK_EQ(pool_query(pool, "SELECT 7", 0, NULL, 31), 0);
  run_until(&loop, &st.q_calls[31], 1);
  CHECK_EQ(st.q_status[31], 0);
  CHECK_STR(st.q_value[31], "7");
  uvpg_pool_get_stats(pool, &s);
  CHECK_EQ(s.lost, 0);
  CHECK_EQ(s.closed, 0);
  CHECK_EQ(st.q_calls[30], 1);
  close_pool(&loop, pool);
  CHECK(!st.called_inside);
}

int main(void) {
  static const struct ctest_case cases[] = {
      {"uvpg_pool_opts_init: the documented defaults", test_opts_init},
      {"uvpg_pool_new: usage errors are return codes; minsize opened",
       test_new},
      {"uvpg_pool_acquire/release: lent, used, given back, reused",
       test_acquire_release},
      {"uvpg_pool_query: concurrent statements, parameters, errors",
       test_query},
      {"uvpg_pool_acquire_timeout: UV_ETIMEDOUT through the callback",
       test_timeout},
      {"max_waiting: UVPG_EPOOLFULL returned, no callback",
       test_max_waiting},
      {"uvpg_pool_cancel: a queued acquire hears UV_ECANCELED once",
       test_cancel},
      {"uvpg_pool_release: a foreign connection is UV_EINVAL",
       test_release_foreign},
      {"uvpg_pool_close: waits for the lent connection; waiters hear "
       "UVPG_ECLOSED",
       test_close_with_lent},
      {"uvpg_pool_close(terminate): lent connections closed too",
       test_terminate},
      {"uvpg_pool_get_stats and the getters", test_stats},
      {"the reset on release: AUTO, ALWAYS, TRANSACTION", test_reset},
      {"uvpg_conn_close on a lent connection: it leaves, the pool "
       "replaces it",
       test_conn_close_lent},
      {"uvpg_pool_release: statements still queued run, then the next "
       "lease",
       test_release_pending},
      {"uvpg_pool_clear: new connections from now on", test_clear},
      {"uvpg_pool_query: shared connections, and the deadline bounds the "
       "statement",
       test_query_shared_deadline},
  };
  return ctest_run("pool-capi", cases, sizeof cases / sizeof cases[0],
                   reset);
}
