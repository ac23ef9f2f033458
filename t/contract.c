/* The callback contract of uvpg(7), rule by rule, from plain C99.
 *
 * Every uvpg call here goes through CALL(), which marks the program as
 * being inside a uvpg call; every callback checks that it is not (rule
 * 2: never from inside the call that queued it, nor from inside any
 * other uvpg call) and counts itself (exactly once).  Each case owns its
 * loop and ends with uv_loop_close() == 0.  The last line is the
 * summary the test command adds up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uvpg.h>

#include "ctest.h"

static int in_call; /* inside a uvpg call of this program's */
static int call_end(int v) {
  in_call--;
  return v;
}
/* A uvpg call returning int, and one returning nothing. */
#define CALL(expr) (in_call++, call_end(expr))
#define CALLV(expr) (in_call++, (expr), (void)call_end(0))


static struct {
  uv_loop_t loop;
  uvpg_conn_t *conn;
  uv_timer_t tick;
  int connects, queries, query_ok, readies, drains, dones, closes;
  int writes_waiting, ticks, rows;
  int order[64], norder; /* 'q' query, 'd' done, 'c' close */
} st;

static void expect_outside(const char *what) {
  if (in_call) {
    fprintf(stderr, "%s callback ran inside a uvpg call\n", what);
    ctest_failed = 1;
  }
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  (void)data;
  expect_outside("connect");
  st.connects++;
  st.conn = conn;
  CHECK_EQ(status, 0);
}

static void on_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  (void)conn;
  (void)data;
  expect_outside("query");
  st.queries++;
  st.query_ok += status == 0;

  if (st.norder < 64) {
    st.order[st.norder++] = 'q';
  }
  uvpg_result_free(res);
}

static void on_close(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
  expect_outside("close");
  st.closes++;
  if (st.norder < 64) {
    st.order[st.norder++] = 'c';
  }
}

static void connect_now(void) {
  memset(&st, 0, sizeof st);
  uv_loop_init(&st.loop);
  CHECK_EQ(CALL(uvpg_connect(&st.loop, ctest_dsn(), NULL, on_connect, NULL)), 0);
  while (!st.connects && uv_run(&st.loop, UV_RUN_ONCE)) {
  }
  CHECK(st.conn != NULL);
}

static void finish(void) {
  uv_run(&st.loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.closes, 1);
  CHECK_EQ(uv_loop_close(&st.loop), 0);
}

/* ---- COPY FROM STDIN: the drain callback and a later query ----
 * The table's CHECK makes the server slow to take each 1 MB row (it
 * hashes 20 MB), so the socket stays full while the program's timer
 * ticks: the drain is pending when a tick calls uvpg_conn_query(). */

static void on_drained(uvpg_conn_t *conn, void *data);

/* The program's own timer: it is busy a while (the socket drains), then
 * queues a query.  The drain must not be delivered inside that call. */
static void on_tick(uv_timer_t *t) {
  (void)t;
  st.ticks++;
  sleep_ms(20);
  CHECK_EQ(CALL(uvpg_conn_query(st.conn, "SELECT 1", 0, NULL, on_query,
                                NULL)),
           0);
}

static void on_drained(uvpg_conn_t *conn, void *data) {
  (void)data;
  expect_outside("drain");
  st.drains++;
  uv_timer_stop(&st.tick);
  CHECK_EQ(CALL(uvpg_conn_copy_end(conn, NULL)), 0);
}

static void on_ready(uvpg_conn_t *conn, void *data) {
  static char big[1 << 20];
  int rc;
  (void)data;
  expect_outside("ready");
  st.readies++;
  memset(big, 'x', sizeof big);
  big[sizeof big - 1] = '\n';
  /* Rows of 1 MB until the socket takes no more at once, and three at
   * least: the server then hashes a whole row while the later ones wait,
   * so the write stays pending for a while, not only while the server
   * reads the first row. */
  do {
    rc = CALL(uvpg_conn_copy_write(conn, big, sizeof big, on_drained, NULL));
    CHECK(rc >= 0);
  } while ((rc == 0 || st.rows < 2) && ++st.rows < 64);
  if (rc == 1) {
    st.writes_waiting++;
    uv_timer_start(&st.tick, on_tick, 1, 5);
  } else {
    CHECK_EQ(CALL(uvpg_conn_copy_end(conn, NULL)), 0);
  }
}

static void on_last(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                    void *data) {
  on_query(conn, status, res, data);
  CALLV(uvpg_conn_close(conn, on_close, NULL));
}

static void on_copy_done(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                         void *data) {
  (void)data;
  expect_outside("copy done");
  st.dones++;
  CHECK_EQ(status, 0);
  uvpg_result_free(res);
  uv_close((uv_handle_t *)&st.tick, NULL);
  /* The ticks' queries were queued behind the COPY: this one comes last. */
  CHECK_EQ(CALL(uvpg_conn_query(conn, "SELECT 1", 0, NULL, on_last, NULL)),
           0);
}

/* One run with the server hashing `factor` MB per row; the number of
 * the program's ticks that met the pending write. */
static int copy_drain_run(int factor) {
  char sql[160];
  st.rows = 0;
  connect_now();
  uv_timer_init(&st.loop, &st.tick);
  snprintf(sql, sizeof sql,
           "CREATE TEMP TABLE big (t text CHECK "
           "(length(md5(repeat(t, %d))) = 32))",
           factor);
  CHECK_EQ(CALL(uvpg_conn_query(st.conn, sql, 0, NULL, on_query, NULL)), 0);
  CHECK_EQ(CALL(uvpg_conn_copy_in(st.conn, "COPY big FROM STDIN", on_ready,
                                  on_copy_done, NULL)),
           0);
  finish();
  return st.ticks;
}

static void test_copy_drain_outside_query(void) {
  /* A slow program (valgrind) may see the socket drain before its timer
   * ticks once, which proves nothing: then the server is made slower. */
  if (copy_drain_run(20) == 0) {
    copy_drain_run(400);
  }
  CHECK_EQ(st.readies, 1);
  CHECK_EQ(st.writes_waiting, 1); /* else the case proved nothing */
  CHECK_EQ(st.drains, st.writes_waiting);
  CHECK_EQ(st.dones, 1);
  /* The CREATE, one query per tick, the last: all ran, after the COPY. */
  CHECK(st.ticks >= 1);
  CHECK_EQ(st.queries, 2 + st.ticks);
  CHECK_EQ(st.query_ok, st.queries);
}

/* ---- rule 2 for every call with a callback, rule 3 on close ---- */

static void on_prepared(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                        void *data) {
  const char *params[] = {"5"};
  (void)data;
  on_query(conn, status, res, NULL);
  CHECK_EQ(CALL(uvpg_conn_query_prepared(conn, "contract_p", 1, params,
                                         on_query, NULL)),
           0);
  /* Queued now, pending when the close comes: cancelled before it. */
  CHECK_EQ(CALL(uvpg_conn_query(conn, "SELECT pg_sleep(5)", 0, NULL,
                                on_query, NULL)),
           0);
  CALLV(uvpg_conn_close(conn, on_close, NULL));
}

static void test_every_call_and_close(void) {
  const char *sets[] = {"1", "2", "3"};
  connect_now();
  CHECK_EQ(CALL(uvpg_conn_query(st.conn, "SELECT 1", 0, NULL, on_query,
                                NULL)),
           0);
  CHECK_EQ(CALL(uvpg_conn_executemany(st.conn, "SELECT $1::int", 3, 1, sets,
                                      on_query, NULL)),
           0);
  CHECK_EQ(CALL(uvpg_conn_query(st.conn, "SELEC 1", 0, NULL, on_query,
                                NULL)),
           0);
  CHECK_EQ(CALL(uvpg_conn_query(st.conn, "SELECT %s", 2, sets, on_query,
                                NULL)),
           0); /* refused: one placeholder, two values */
  CHECK_EQ(CALL(uvpg_conn_prepare(st.conn, "contract_p", "SELECT $1::int",
                                  on_prepared, NULL)),
           0);
  finish();
  /* query, executemany, error, refused, prepare, prepared, sleep */
  CHECK_EQ(st.queries, 7);
  CHECK_EQ(st.norder, 8);
  CHECK_EQ(st.order[7], 'c'); /* every callback before close's */
}

/* ---- transactions, notices, the query logger, the lost connection ----
 * Each callback of the 0.2.0 calls: from the loop, once each, before
 * close's; the termination callback after the failed statement's, and
 * never for a close. */

static struct {
  int notices, logs, terminations, tx_ok;
  uvpg_conn_t *admin;
  int pid, admin_done;
} ev;

static void on_notice(uvpg_conn_t *conn, int status,
                      const uvpg_notice_t *notice, void *data) {
  (void)conn;
  (void)data;
  expect_outside("notice");
  CHECK_EQ(status, 0);
  CHECK(notice != NULL);
  ev.notices++;
  if (st.norder < 64) {
    st.order[st.norder++] = 'n';
  }
}

static void on_log(uvpg_conn_t *conn, int status, const uvpg_query_log_t *rec,
                   void *data) {
  (void)conn;
  (void)status;
  (void)data;
  expect_outside("query logger");
  CHECK(rec != NULL && rec->sql != NULL);
  ev.logs++;
}

static void on_terminated(uvpg_conn_t *conn, int status, const char *message,
                          const char *sqlstate, void *data) {
  (void)data;
  expect_outside("termination");
  ev.terminations++;
  CHECK_EQ(status, UVPG_ECONNBAD);
  CHECK(message != NULL);
  CHECK(sqlstate != NULL && strcmp(sqlstate, "57P01") == 0);
  if (st.norder < 64) {
    st.order[st.norder++] = 't';
  }
  CALLV(uvpg_conn_close(conn, on_close, NULL));
}

static void on_tx(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                  void *data) {
  ev.tx_ok += status == 0;
  on_query(conn, status, res, data);
}

static void on_committed(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                         void *data) {
  on_tx(conn, status, res, data);
  /* A transaction pending when the close comes: its callbacks (the
   * BEGIN's and the sleep's) run, cancelled, before close's. */
  CHECK_EQ(CALL(uvpg_conn_begin(conn, NULL, on_query, NULL)), 0);
  CHECK_EQ(CALL(uvpg_conn_query(conn, "SELECT pg_sleep(5)", 0, NULL,
                                on_query, NULL)),
           0);
  CHECK_EQ(CALL(uvpg_conn_rollback(conn, on_query, NULL)), 0);
  CALLV(uvpg_conn_close(conn, on_close, NULL));
}

static void test_transactions_and_session_events(void) {
  uvpg_tx_opts_t opts;
  connect_now();
  memset(&ev, 0, sizeof ev);
  CHECK_EQ(CALL(uvpg_conn_set_notice_cb(st.conn, on_notice, NULL)), 0);
  CHECK_EQ(CALL(uvpg_conn_set_query_logger(st.conn, on_log, NULL)), 0);
  CHECK_EQ(CALL(uvpg_conn_set_termination_cb(st.conn, on_terminated, NULL)),
           0);
  CALLV(uvpg_tx_opts_init(&opts));
  opts.isolation = UVPG_ISOLATION_REPEATABLE_READ;
  CHECK_EQ(CALL(uvpg_conn_begin(st.conn, &opts, on_tx, NULL)), 0);
  CHECK_EQ(CALL(uvpg_conn_savepoint(st.conn, "a", on_tx, NULL)), 0);
  CHECK_EQ(CALL(uvpg_conn_query(st.conn,
                                "DO $$BEGIN RAISE NOTICE 'contract'; END$$",
                                0, NULL, on_tx, NULL)),
           0);
  CHECK_EQ(CALL(uvpg_conn_rollback_to_savepoint(st.conn, "a", on_tx, NULL)),
           0);
  CHECK_EQ(CALL(uvpg_conn_release_savepoint(st.conn, "a", on_tx, NULL)), 0);
  CHECK_EQ(CALL(uvpg_conn_commit(st.conn, on_committed, NULL)), 0);
  finish();
  CHECK_EQ(ev.tx_ok, 6);
  CHECK_EQ(ev.notices, 1);
  /* the notice before its statement's callback: order n before the 3rd q */
  CHECK(st.norder >= 4 && st.order[2] == 'n' && st.order[3] == 'q');
  /* 6 statements, then BEGIN, the sleep and ROLLBACK cancelled */
  CHECK_EQ(st.queries, 9);
  CHECK_EQ(ev.logs, 9);
  CHECK_EQ(st.order[st.norder - 1], 'c');
  CHECK_EQ(ev.terminations, 0); /* a close is no loss */
}

static void on_admin(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  (void)data;
  expect_outside("admin query");
  CHECK_EQ(status, 0);
  uvpg_result_free(res);
  ev.admin_done++;
  CALLV(uvpg_conn_close(conn, NULL, NULL));
}

static void on_admin_connect(uvpg_conn_t *conn, int status, void *data) {
  char pid[32];
  const char *params[1];
  (void)data;
  CHECK_EQ(status, 0);
  snprintf(pid, sizeof pid, "%d", ev.pid);
  params[0] = pid;
  CHECK_EQ(CALL(uvpg_conn_query(conn, "SELECT pg_terminate_backend($1)", 1,
                                params, on_admin, NULL)),
           0);
}

static void on_sleep_started(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, NULL);
  CHECK_EQ(CALL(uvpg_connect(&st.loop, ctest_dsn(), NULL, on_admin_connect,
                             NULL)),
           0);
}

static void test_termination_after_failed_statement(void) {
  connect_now();
  memset(&ev, 0, sizeof ev);
  ev.pid = CALL(uvpg_conn_get_backend_pid(st.conn));
  CHECK(ev.pid > 0);
  CHECK_EQ(CALL(uvpg_conn_set_termination_cb(st.conn, on_terminated, NULL)),
           0);
  CHECK_EQ(CALL(uvpg_conn_query(st.conn, "SELECT pg_sleep(30)", 0, NULL,
                                on_query, NULL)),
           0);
  uv_timer_init(&st.loop, &st.tick);
  uv_timer_start(&st.tick, on_sleep_started, 200, 0);
  finish();
  CHECK_EQ(ev.admin_done, 1);
  CHECK_EQ(ev.terminations, 1);
  CHECK_EQ(st.queries, 1);
  CHECK_EQ(st.query_ok, 0);
  /* the failed sleep, the termination, the close */
  CHECK_EQ(st.norder, 3);
  CHECK(st.order[0] == 'q' && st.order[1] == 't' && st.order[2] == 'c');
}

/* ---- pools: every pool call, from the loop, once each ----
 * Acquire, a statement on the lent connection, release from its
 * callback; two uvpg_pool_query(); a cancelled acquire; refusals
 * (max_waiting) that never call back; then the close, whose callback
 * comes after every other. */

static struct {
  uvpg_pool_t *pool;
  int acquired, canceled, refused_cb, pool_queries, released, pool_closes;
  int jobs;
  int order[16], norder; /* 'a' acquired, 'x' cancelled, 'q' query, 'c' close */
} pv;

static void pool_note(int what) {
  if (pv.norder < 16) {
    pv.order[pv.norder++] = what;
  }
}

static void on_pool_closed(uvpg_pool_t *pool, void *data) {
  (void)data;
  expect_outside("pool close");
  CHECK(pool == pv.pool);
  pv.pool_closes++;
  pool_note('c');
}

/* Four jobs: the lease, the cancelled acquire, the two pool queries. */
static void pool_job_done(void) {
  if (++pv.jobs == 4) {
    CHECK_EQ(CALL(uvpg_pool_close(pv.pool, 0, on_pool_closed, NULL)), 0);
  }
}

static void on_lent_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                          void *data) {
  (void)data;
  expect_outside("lent connection's query");
  CHECK_EQ(status, 0);
  uvpg_result_free(res);
  CHECK_EQ(CALL(uvpg_pool_release(pv.pool, conn)), 0);
  pv.released++;
  pool_job_done();
}

static void on_pool_acquired(uvpg_pool_t *pool, int status,
                             uvpg_conn_t *conn, void *data) {
  (void)data;
  expect_outside("acquire");
  CHECK(pool == pv.pool);
  if (status == UV_ECANCELED) {
    CHECK(conn == NULL);
    pv.canceled++;
    pool_note('x');
    pool_job_done();
    return;
  }
  CHECK_EQ(status, 0);
  pv.acquired++;
  pool_note('a');
  CHECK_EQ(CALL(uvpg_conn_query(conn, "SELECT 1", 0, NULL, on_lent_query,
                                NULL)),
           0);
}

static void on_refused(uvpg_pool_t *pool, int status, uvpg_conn_t *conn,
                       void *data) {
  (void)pool;
  (void)status;
  (void)conn;
  (void)data;
  pv.refused_cb++;
}

static void on_pool_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                          void *data) {
  (void)data;
  expect_outside("pool query");
  CHECK(conn != NULL);
  CHECK_EQ(status, 0);
  uvpg_result_free(res);
  pv.pool_queries++;
  pool_note('q');
  pool_job_done();
}

static void test_pool_calls(void) {
  uvpg_pool_opts_t opts;
  uvpg_acquire_t *req = NULL;
  uv_loop_t loop;
  memset(&pv, 0, sizeof pv);
  uv_loop_init(&loop);
  CALLV(uvpg_pool_opts_init(&opts));
  opts.maxsize = 1;
  opts.max_waiting = 4;
  CHECK_EQ(CALL(uvpg_pool_new(&loop, ctest_dsn(), &opts, &pv.pool)), 0);
  CHECK_EQ(CALL(uvpg_pool_acquire(pv.pool, on_pool_acquired, NULL, NULL)),
           0);
  CHECK_EQ(CALL(uvpg_pool_query(pv.pool, "SELECT 2", 0, NULL, on_pool_query,
                                NULL)),
           0);
  CHECK_EQ(CALL(uvpg_pool_acquire_timeout(pv.pool, 60000, on_pool_acquired,
                                          NULL, &req)),
           0);
  CHECK_EQ(CALL(uvpg_pool_query(pv.pool, "SELECT 3", 0, NULL, on_pool_query,
                                NULL)),
           0);
  /* max_waiting reached: refusals are return codes, never callbacks */
  CHECK_EQ(CALL(uvpg_pool_acquire(pv.pool, on_refused, NULL, NULL)),
           UVPG_EPOOLFULL);
  CHECK_EQ(CALL(uvpg_pool_query(pv.pool, "SELECT 4", 0, NULL, on_pool_query,
                                NULL)),
           UVPG_EPOOLFULL);
  CHECK_EQ(CALL(uvpg_pool_cancel(req)), 0);
  CHECK_EQ(pv.norder, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(pv.acquired, 1);
  CHECK_EQ(pv.released, 1);
  CHECK_EQ(pv.canceled, 1);
  CHECK_EQ(pv.pool_queries, 2);
  CHECK_EQ(pv.refused_cb, 0);
  CHECK_EQ(pv.pool_closes, 1);
  /* the cancelled acquire first (the others wait for the one
   * connection), the close last */
  CHECK(pv.norder == 5 && pv.order[0] == 'x' && pv.order[4] == 'c');
  CHECK_EQ(uv_loop_close(&loop), 0);
}

int main(void) {
  static const struct ctest_case cases[] = {
      {"uvpg_conn_copy_write: the drain callback never runs inside another "
       "uvpg call",
       test_copy_drain_outside_query},
      {"every call: callbacks from the loop, once each, all before close's",
       test_every_call_and_close},
      {"transactions, notices, query logger: from the loop, once each, "
       "before close's; no termination event on close",
       test_transactions_and_session_events},
      {"termination callback: once, after the failed statement's, from the "
       "loop",
       test_termination_after_failed_statement},
      {"pool calls: callbacks from the loop, once each, refusals never "
       "call back, the close's last",
       test_pool_calls},
  };
  return ctest_run("contract", cases, sizeof cases / sizeof cases[0], NULL);
}
