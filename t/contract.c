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
  /* Rows of 1 MB until the socket takes no more at once. */
  do {
    rc = CALL(uvpg_conn_copy_write(conn, big, sizeof big, on_drained, NULL));
    CHECK(rc >= 0);
  } while (rc == 0 && ++st.rows < 64);
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

static void test_copy_drain_outside_query(void) {
  connect_now();
  uv_timer_init(&st.loop, &st.tick);
  CHECK_EQ(CALL(uvpg_conn_query(st.conn, "CREATE TEMP TABLE big (t text CHECK "
                                "(length(md5(repeat(t, 20))) = 32))",
                                0, NULL, on_query, NULL)),
           0);
  CHECK_EQ(CALL(uvpg_conn_copy_in(st.conn, "COPY big FROM STDIN", on_ready,
                                  on_copy_done, NULL)),
           0);
  finish();
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

int main(void) {
  static const struct ctest_case cases[] = {
      {"uvpg_conn_copy_write: the drain callback never runs inside another "
       "uvpg call",
       test_copy_drain_outside_query},
      {"every call: callbacks from the loop, once each, all before close's",
       test_every_call_and_close},
  };
  return ctest_run("contract", cases, sizeof cases / sizeof cases[0], NULL);
}
