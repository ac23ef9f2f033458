/* Replicas through the pool's C ABI, from plain C99, written from the
 * man pages (uvpg_pool_acquire_ex(3), uvpg_pool_opts_init(3)), against
 * the primary and standby t/replica.sh starts (UVPG_DSN names both).
 *
 * Each case owns its loop and pool, counts its callbacks (each exactly
 * once, never inside the uvpg call that started it), closes its pool
 * and ends with uv_loop_close() == 0.  Nothing asserts timing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

#define MAXCALLS 16

static struct {
  int in_call, called_inside;
  int acq_calls[MAXCALLS], acq_status[MAXCALLS];
  uvpg_conn_t *acq_conn[MAXCALLS];
  int q_calls[MAXCALLS], q_status[MAXCALLS];
  char q_value[MAXCALLS][16];
  int pool_closes;
} st;

static void reset(void) { memset(&st, 0, sizeof st); }

static void on_acquire(uvpg_pool_t *pool, int status, uvpg_conn_t *conn,
                       void *data) {
  int tag = (int)(intptr_t)data;
  (void)pool;
  if (st.in_call) {
    st.called_inside = 1;
  }
  st.acq_calls[tag]++;
  st.acq_status[tag] = status;
  st.acq_conn[tag] = conn;
}

static void on_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  int tag = (int)(intptr_t)data;
  (void)conn;
  if (st.in_call) {
    st.called_inside = 1;
  }
  st.q_calls[tag]++;
  st.q_status[tag] = status;
  if (res && status == 0 && uvpg_result_ntuples(res) > 0) {
    snprintf(st.q_value[tag], sizeof st.q_value[tag], "%s",
             uvpg_result_value(res, 0, 0));
  }
  uvpg_result_free(res);
}

static void on_closed(uvpg_pool_t *pool, void *data) {
  (void)pool;
  (void)data;
  st.pool_closes++;
}

static void run_until(uv_loop_t *loop, const int *flag) {
  uint64_t limit;
  uv_update_time(loop);
  limit = uv_now(loop) + 30000;
  while (*flag < 1 && uv_now(loop) < limit) {
    uv_run(loop, UV_RUN_ONCE);
  }
  CHECK(*flag >= 1);
}

/* Acquires with `access` under `tag`, asks pg_is_in_recovery() and
 * gives the connection back; returns "t", "f", or "" on a failure. */
static const char *recovery_of(uv_loop_t *loop, uvpg_pool_t *pool,
                               uvpg_access_t access, int tag) {
  uvpg_acquire_opts_t o;
  uvpg_acquire_opts_init(&o);
  o.access = access;
  o.timeout_ms = 20000;
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_acquire_ex(pool, &o, on_acquire, (void *)(intptr_t)tag,
                                NULL),
           0);
  st.in_call = 0;
  run_until(loop, &st.acq_calls[tag]);
  CHECK_EQ(st.acq_status[tag], 0);
  if (st.acq_status[tag] != 0) {
    return "";
  }
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_query(st.acq_conn[tag], "SELECT pg_is_in_recovery()", 0,
                           NULL, on_query, (void *)(intptr_t)tag),
           0);
  st.in_call = 0;
  run_until(loop, &st.q_calls[tag]);
  CHECK_EQ(st.q_status[tag], 0);
  CHECK_EQ(uvpg_pool_release(pool, st.acq_conn[tag]), 0);
  return st.q_value[tag];
}

static void close_pool(uv_loop_t *loop, uvpg_pool_t *pool) {
  CHECK_EQ(uvpg_pool_close(pool, 0, on_closed, NULL), 0);
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.pool_closes, 1);
  CHECK_EQ(uv_loop_close(loop), 0);
}

static void test_routing(void) {
  uv_loop_t loop;
  uvpg_pool_opts_t o;
  uvpg_pool_t *pool = NULL;
  uvpg_acquire_opts_t ao;
  uvpg_acquire_opts_init(&ao);
  CHECK_EQ(ao.access, UVPG_ACCESS_READ_WRITE);
  CHECK_EQ(ao.timeout_ms, -1);
  CHECK_EQ(uv_loop_init(&loop), 0);
  uvpg_pool_opts_init(&o);
  CHECK_EQ(o.access, UVPG_ACCESS_READ_WRITE);
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), &o, &pool), 0);
  CHECK_STR(recovery_of(&loop, pool, UVPG_ACCESS_READ_ONLY, 0), "t");
  CHECK_STR(recovery_of(&loop, pool, UVPG_ACCESS_STANDBY_ONLY, 1), "t");
  CHECK_STR(recovery_of(&loop, pool, UVPG_ACCESS_READ_WRITE, 2), "f");
  /* uvpg_pool_query() runs where the pool's default access says. */
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_query(pool, "SELECT pg_is_in_recovery()", 0, NULL,
                           on_query, (void *)(intptr_t)3),
           0);
  st.in_call = 0;
  run_until(&loop, &st.q_calls[3]);
  CHECK_STR(st.q_value[3], "f");
  /* An access mode out of range: refused, no callback. */
  ao.access = (uvpg_access_t)7;
  CHECK_EQ(uvpg_pool_acquire_ex(pool, &ao, on_acquire, (void *)(intptr_t)4,
                                NULL),
           UV_EINVAL);
  CHECK_EQ(st.acq_calls[4], 0);
  close_pool(&loop, pool);
  CHECK_EQ(st.called_inside, 0);
}

static void test_default_read_only(void) {
  uv_loop_t loop;
  uvpg_pool_opts_t o;
  uvpg_pool_t *pool = NULL;
  CHECK_EQ(uv_loop_init(&loop), 0);
  uvpg_pool_opts_init(&o);
  o.access = UVPG_ACCESS_READ_ONLY;
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), &o, &pool), 0);
  /* NULL options: the pool's access and timeout. */
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_acquire_ex(pool, NULL, on_acquire, (void *)(intptr_t)0,
                                NULL),
           0);
  st.in_call = 0;
  run_until(&loop, &st.acq_calls[0]);
  CHECK_EQ(st.acq_status[0], 0);
  if (st.acq_conn[0]) {
    st.in_call = 1;
    CHECK_EQ(uvpg_conn_query(st.acq_conn[0], "SELECT pg_is_in_recovery()", 0,
                             NULL, on_query, (void *)(intptr_t)0),
             0);
    st.in_call = 0;
    run_until(&loop, &st.q_calls[0]);
    CHECK_STR(st.q_value[0], "t");
    CHECK_EQ(uvpg_pool_release(pool, st.acq_conn[0]), 0);
  }
  close_pool(&loop, pool);
  CHECK_EQ(st.called_inside, 0);
}

static void on_timer(uv_timer_t *t) { *(int *)t->data = 1; }

/* Runs the loop for `ms` (the pool's checks go on meanwhile). */
static void run_for(uv_loop_t *loop, uint64_t ms) {
  uv_timer_t t;
  int fired = 0;
  uv_timer_init(loop, &t);
  t.data = &fired;
  uv_timer_start(&t, on_timer, ms, 0);
  while (!fired) {
    uv_run(loop, UV_RUN_ONCE);
  }
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

/* A query on a lent connection, run to its end; its status. */
static int query_on(uv_loop_t *loop, uvpg_conn_t *conn, const char *sql,
                    int tag) {
  st.q_calls[tag] = 0;
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_query(conn, sql, 0, NULL, on_query,
                           (void *)(intptr_t)tag),
           0);
  st.in_call = 0;
  run_until(loop, &st.q_calls[tag]);
  return st.q_status[tag];
}

/* recovery_of(UVPG_ACCESS_READ_ONLY) every 500 ms, for 30 s at most,
 * until it says `want`; what it said last. */
static const char *read_only_until(uv_loop_t *loop, uvpg_pool_t *pool,
                                   const char *want, int tag) {
  const char *where = "";
  int i;
  for (i = 0; i < 60 && strcmp(where, want) != 0; ++i) {
    st.acq_calls[tag] = st.q_calls[tag] = 0;
    where = recovery_of(loop, pool, UVPG_ACCESS_READ_ONLY, tag);
    if (strcmp(where, want) != 0) {
      run_for(loop, 500);
    }
  }
  return where;
}

/* From uvpg_pool_opts_init(3), max_replica_lag_ms: a standby whose
 * replay is paused while the primary writes is passed over by
 * UVPG_ACCESS_READ_ONLY work until it replays again. */
static void test_max_replica_lag(void) {
  uv_loop_t loop;
  uvpg_pool_opts_t o;
  uvpg_pool_t *pool = NULL;
  uvpg_conn_t *standby, *primary;
  CHECK_EQ(uv_loop_init(&loop), 0);
  uvpg_pool_opts_init(&o);
  CHECK_EQ(o.max_replica_lag_ms, 0);
  o.max_replica_lag_ms = 500;
  o.maxsize = 6;
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), &o, &pool), 0);
  CHECK_STR(recovery_of(&loop, pool, UVPG_ACCESS_READ_ONLY, 0), "t");
  /* Two connections kept for the length of the case: one to the
   * standby (to pause and resume its replay), one to the primary. */
  CHECK_EQ(uvpg_pool_acquire_ex(pool, NULL, on_acquire, (void *)(intptr_t)2,
                                NULL),
           0);
  run_until(&loop, &st.acq_calls[2]);
  CHECK_EQ(st.acq_status[2], 0);
  {
    uvpg_acquire_opts_t ao;
    uvpg_acquire_opts_init(&ao);
    ao.access = UVPG_ACCESS_STANDBY_ONLY;
    CHECK_EQ(uvpg_pool_acquire_ex(pool, &ao, on_acquire,
                                  (void *)(intptr_t)3, NULL),
             0);
    run_until(&loop, &st.acq_calls[3]);
    CHECK_EQ(st.acq_status[3], 0);
  }
  standby = st.acq_conn[3];
  primary = st.acq_conn[2];
  if (!standby || !primary) {
    close_pool(&loop, pool);
    return;
  }
  CHECK_EQ(query_on(&loop, standby, "SELECT pg_wal_replay_pause()", 4), 0);
  CHECK_EQ(query_on(&loop, primary,
                    "CREATE TABLE IF NOT EXISTS lag_c (x int)", 5),
           0);
  CHECK_EQ(query_on(&loop, primary, "INSERT INTO lag_c VALUES (1)", 5), 0);
  /* Within the checks of the next seconds: read-only work goes to the
   * primary, and back to the standby once it replays again. */
  CHECK_STR(read_only_until(&loop, pool, "f", 6), "f");
  CHECK_EQ(query_on(&loop, standby, "SELECT pg_wal_replay_resume()", 4), 0);
  CHECK_STR(read_only_until(&loop, pool, "t", 7), "t");
  CHECK_EQ(uvpg_pool_release(pool, standby), 0);
  CHECK_EQ(uvpg_pool_release(pool, primary), 0);
  close_pool(&loop, pool);
  CHECK_EQ(st.called_inside, 0);
}

int main(void) {
  static const struct ctest_case cases[] = {
      {"acquire_ex routes by access mode", test_routing},
      {"a pool whose default access is read-only", test_default_read_only},
      {"max_replica_lag_ms passes over a lagging standby",
       test_max_replica_lag},
  };
  return ctest_run("replica-capi", cases, sizeof cases / sizeof cases[0],
                   reset);
}
