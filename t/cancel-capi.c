/* Cancellation from plain C99, against the test server, written from the
 * man pages (uvpg_conn_cancel(3), uvpg_conn_query_ex(3),
 * uvpg_connect_opts_init(3), uvpg(7) CANCELLATION), and samples/cancel
 * run under a real SIGINT.
 *
 * Built with -std=c99 -pedantic -Werror and only <uvpg.h> (and POSIX for
 * fork/exec).  Each case owns its loop, counts its callbacks (exactly
 * once, never inside the call), waits for a statement to be running by
 * asking the server (pg_stat_activity, from a second connection), never
 * by the clock, and ends with uv_loop_close() == 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uvpg.h>

#include "ctest.h"

#define MAXCALLS 32

enum { QUERY = 1, CANCEL = 2 };

/* What the callbacks saw, in the order they ran; reset before each case. */
static struct {
  int calls;
  int kinds[MAXCALLS];      /* QUERY or CANCEL */
  int tags[MAXCALLS];
  int statuses[MAXCALLS];
  int had_res[MAXCALLS];
  char value[MAXCALLS][64]; /* row 0, column 0 */
  char error[MAXCALLS][160]; /* uvpg_conn_error_message() in the callback */
  int in_call;              /* set while a uvpg call runs */
  int called_inside;        /* a callback ran inside a uvpg call */
  int closes;
  int close_saw_calls;
} st;

static void reset(void) { memset(&st, 0, sizeof st); }

/* Records one callback; the index it got, or -1 past MAXCALLS. */
static int record(int kind, uvpg_conn_t *conn, int status, void *data) {
  int i = st.calls++;
  if (st.in_call) {
    st.called_inside = 1;
  }
  if (i >= MAXCALLS) {
    return -1;
  }
  st.kinds[i] = kind;
  st.tags[i] = (int)(intptr_t)data;
  st.statuses[i] = status;
  snprintf(st.error[i], sizeof st.error[i], "%s",
           uvpg_conn_error_message(conn));
  return i;
}

static void on_res(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                   void *data) {
  int i = record(QUERY, conn, status, data);
  if (i >= 0) {
    st.had_res[i] = res != NULL;
    if (res && uvpg_result_ntuples(res) > 0 && uvpg_result_nfields(res) > 0) {
      snprintf(st.value[i], sizeof st.value[i], "%s",
               uvpg_result_value(res, 0, 0));
    }
  }
  uvpg_result_free(res);
}

static void on_cancel(uvpg_conn_t *conn, int status, void *data) {
  record(CANCEL, conn, status, data);
}

static void on_close(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
  st.closes++;
  st.close_saw_calls = st.calls;
}

/* The index of the callback recorded under `kind` and `tag`; -1 if none.
 * Checks that there is exactly one. */
static int find(int kind, int tag) {
  int i, at = -1, n = 0;
  for (i = 0; i < st.calls && i < MAXCALLS; i++) {
    if (st.kinds[i] == kind && st.tags[i] == tag) {
      at = i;
      n++;
    }
  }
  CHECK_EQ(n, 1);
  return at;
}

/* The status of that callback (1 when there is none). */
static int status_of(int kind, int tag) {
  int i = find(kind, tag);
  return i >= 0 ? st.statuses[i] : 1;
}

static uvpg_conn_t *connected;
static int connect_status;

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  (void)data;
  connected = conn;
  connect_status = status;
}

/* Runs the loop until `*flag` reaches `n` (or 30 s pass: a hang, not a
 * measurement; the statements cancelled here sleep 60 s). */
static void run_until(uv_loop_t *loop, const int *flag, int n) {
  uint64_t limit;
  uv_update_time(loop);
  limit = uv_now(loop) + 30000;
  while (*flag < n && uv_now(loop) < limit) {
    uv_run(loop, UV_RUN_ONCE);
  }
  CHECK(*flag >= n);
}

static uvpg_conn_t *connect_opts(uv_loop_t *loop,
                                 const uvpg_connect_opts_t *opts) {
  connected = NULL;
  CHECK_EQ(uvpg_connect(loop, ctest_dsn(), opts, on_connect, NULL), 0);
  while (!connected) {
    uv_run(loop, UV_RUN_ONCE);
  }
  CHECK_EQ(connect_status, 0);
  return connected;
}

static uvpg_conn_t *connect_now(uv_loop_t *loop) {
  return connect_opts(loop, NULL);
}

/* A query whose callback records under `tag`. */
static void q(uvpg_conn_t *c, const char *sql, int tag) {
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_query(c, sql, 0, NULL, on_res, (void *)(intptr_t)tag),
           0);
  st.in_call = 0;
}

/* uvpg_conn_query_ex with a request handle; `timeout_ms` 0: none. */
static uvpg_query_req_t *qx(uvpg_conn_t *c, const char *sql,
                            unsigned timeout_ms, int tag) {
  uvpg_query_opts_t o;
  uvpg_query_req_t *req = NULL;
  uvpg_query_opts_init(&o);
  o.timeout_ms = timeout_ms;
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_query_ex(c, sql, 0, NULL, &o, on_res,
                              (void *)(intptr_t)tag, &req),
           0);
  st.in_call = 0;
  CHECK(req != NULL);
  return req;
}

static int cancel_req(uvpg_query_req_t *req) {
  int rc;
  st.in_call = 1;
  rc = uvpg_query_cancel(req);
  st.in_call = 0;
  return rc;
}

static int cancel_conn(uvpg_conn_t *c, uvpg_cancel_cb cb, int tag) {
  int rc;
  st.in_call = 1;
  rc = uvpg_conn_cancel(c, cb, (void *)(intptr_t)tag);
  st.in_call = 0;
  return rc;
}

/* One value from `watcher`, read with its own callback (not counted). */
static char watched[64];
static int watched_done;

static void on_watch(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  (void)conn;
  (void)data;
  watched[0] = '\0';
  if (status < 0) {
    fprintf(stderr, "watcher: %s\n", uvpg_conn_error_message(conn));
  } else if (uvpg_result_ntuples(res) > 0) {
    snprintf(watched, sizeof watched, "%s", uvpg_result_value(res, 0, 0));
  }
  uvpg_result_free(res);
  watched_done = 1;
}

static const char *watch(uv_loop_t *loop, uvpg_conn_t *watcher,
                         const char *sql, const char *param) {
  const char *params[1];
  params[0] = param;
  watched_done = 0;
  CHECK_EQ(uvpg_conn_query(watcher, sql, param ? 1 : 0,
                           param ? params : NULL, on_watch, NULL),
           0);
  run_until(loop, &watched_done, 1);
  return watched;
}

/* How many sessions that `where` selects sleep in pg_sleep() now. */
static int sleeping(uv_loop_t *loop, uvpg_conn_t *watcher, const char *where,
                    const char *param) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM pg_stat_activity WHERE %s "
           "AND state = 'active' AND wait_event = 'PgSleep'",
           where);
  return atoi(watch(loop, watcher, sql, param));
}

/* Waits until `c`'s backend sleeps in pg_sleep(), asking the server
 * every 20 ms (pacing only; nothing is measured). */
static void until_sleeping(uv_loop_t *loop, uvpg_conn_t *watcher,
                           uvpg_conn_t *c) {
  char pid[16];
  int i;
  snprintf(pid, sizeof pid, "%d", uvpg_conn_get_backend_pid(c));
  for (i = 0; i < 1500; i++) {
    if (sleeping(loop, watcher, "pid = $1::int", pid) == 1) {
      return;
    }
    watch(loop, watcher, "SELECT pg_sleep(0.02)", NULL);
  }
  CHECK(!"the statement never ran");
}

static int backend_sleeps(uv_loop_t *loop, uvpg_conn_t *watcher,
                          uvpg_conn_t *c) {
  char pid[16];
  snprintf(pid, sizeof pid, "%d", uvpg_conn_get_backend_pid(c));
  return sleeping(loop, watcher, "pid = $1::int", pid);
}

static void close_all(uv_loop_t *loop, uvpg_conn_t *a, uvpg_conn_t *b) {
  int calls = st.calls;
  uvpg_conn_close(a, on_close, NULL);
  if (b) {
    uvpg_conn_close(b, on_close, NULL);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.closes, b ? 2 : 1);
  CHECK_EQ(st.calls, calls); /* nothing was still due */
  CHECK_EQ(uv_loop_close(loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

/* Runs "SELECT n" on `c` and checks it comes back: the connection is
 * usable. */
static void still_usable(uv_loop_t *loop, uvpg_conn_t *c, int tag) {
  int n = st.calls;
  char want[16];
  snprintf(want, sizeof want, "%d", tag);
  {
    char sql[32];
    snprintf(sql, sizeof sql, "SELECT %d", tag);
    q(c, sql, tag);
  }
  run_until(loop, &st.calls, n + 1);
  CHECK_EQ(st.statuses[n], 0);
  CHECK_STR(st.value[n], want);
  CHECK_EQ(uvpg_conn_get_status(c), UVPG_CONN_READY);
}

/* uvpg_conn_cancel(3): the running statement's callback gets
 * UV_ECANCELED and a NULL result, the cancel callback 0, each once and
 * from the loop; the connection goes on and the backend is idle. */
static void test_conn_cancel_running(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *w;
  int iq, ic;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  w = connect_now(&loop);
  q(a, "SELECT pg_sleep(60)", 1);
  until_sleeping(&loop, w, a);
  CHECK_EQ(cancel_conn(a, on_cancel, 2), 0);
  CHECK_EQ(st.calls, 0);
  run_until(&loop, &st.calls, 2);
  iq = find(QUERY, 1);
  ic = find(CANCEL, 2);
  if (iq >= 0 && ic >= 0) {
    CHECK_EQ(st.statuses[iq], UV_ECANCELED);
    CHECK_EQ(st.had_res[iq], 0);
    CHECK(strncmp(st.error[iq], "operation canceled", 18) == 0);
    CHECK_EQ(st.statuses[ic], 0);
  }
  still_usable(&loop, a, 3);
  CHECK_EQ(backend_sleeps(&loop, w, a), 0);
  close_all(&loop, a, w);
  CHECK_EQ(st.calls, 3);
}

/* Nothing runs: the callback gets 0, from the loop; the next statement
 * runs.  A NULL callback is allowed. */
static void test_conn_cancel_idle(void) {
  uv_loop_t loop;
  uvpg_conn_t *a;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  CHECK_EQ(cancel_conn(a, on_cancel, 1), 0);
  CHECK_EQ(st.calls, 0);
  run_until(&loop, &st.calls, 1);
  CHECK_EQ(st.kinds[0], CANCEL);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(cancel_conn(a, NULL, 0), 0);
  still_usable(&loop, a, 2);
  close_all(&loop, a, NULL);
  CHECK_EQ(st.calls, 2);
}

/* A NULL callback: the statement is still stopped. */
static void test_conn_cancel_null_cb(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *w;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  w = connect_now(&loop);
  q(a, "SELECT pg_sleep(60)", 1);
  until_sleeping(&loop, w, a);
  CHECK_EQ(cancel_conn(a, NULL, 0), 0);
  run_until(&loop, &st.calls, 1);
  CHECK_EQ(st.kinds[0], QUERY);
  CHECK_EQ(st.statuses[0], UV_ECANCELED);
  still_usable(&loop, a, 2);
  close_all(&loop, a, w);
  CHECK_EQ(st.calls, 2);
}

/* Return codes: NULL is UV_EINVAL; a connection being closed is
 * UVPG_ECLOSED, and nothing calls back. */
static void test_conn_cancel_closed(void) {
  uv_loop_t loop;
  uvpg_conn_t *a;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  CHECK_EQ(uvpg_conn_cancel(NULL, on_cancel, NULL), UV_EINVAL);
  uvpg_conn_close(a, on_close, NULL);
  CHECK_EQ(cancel_conn(a, on_cancel, 1), UVPG_ECLOSED);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.closes, 1);
  CHECK_EQ(st.calls, 0);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

/* Closing never waits for a cancel request: the request still out ends
 * with UV_ECANCELED, as does the statement, both before the close
 * callback. */
static void test_conn_cancel_then_close(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *w;
  int iq, ic;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  w = connect_now(&loop);
  q(a, "SELECT pg_sleep(60)", 1);
  until_sleeping(&loop, w, a);
  CHECK_EQ(cancel_conn(a, on_cancel, 2), 0);
  uvpg_conn_close(a, on_close, NULL); /* the request has not started yet */
  run_until(&loop, &st.closes, 1);
  CHECK_EQ(st.close_saw_calls, 2);
  iq = find(QUERY, 1);
  ic = find(CANCEL, 2);
  if (iq >= 0 && ic >= 0) {
    CHECK_EQ(st.statuses[iq], UV_ECANCELED);
    CHECK_EQ(st.statuses[ic], UV_ECANCELED);
  }
  uvpg_conn_close(w, on_close, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.closes, 2);
  CHECK_EQ(st.calls, 2);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

/* uvpg_query_opts_init: defaults; uvpg_conn_query_ex: usage errors leave
 * *req alone, NULL options and handle make it uvpg_conn_query. */
static void test_query_ex_basics(void) {
  uv_loop_t loop;
  uvpg_conn_t *a;
  uvpg_query_opts_t o;
  uvpg_query_req_t *req = (uvpg_query_req_t *)&o;
  uvpg_connect_opts_t co;
  const char *params[1];
  size_t i;
  memset(&o, 0xff, sizeof o);
  uvpg_query_opts_init(&o);
  CHECK_EQ(o.timeout_ms, 0);
  for (i = 0; i < sizeof o.reserved / sizeof o.reserved[0]; i++) {
    CHECK(o.reserved[i] == NULL);
  }
  uvpg_connect_opts_init(&co);
  CHECK_EQ(co.cancel_timeout_ms, 5000);

  uv_loop_init(&loop);
  a = connect_now(&loop);
  CHECK_EQ(uvpg_conn_query_ex(NULL, "SELECT 1", 0, NULL, &o, on_res, NULL,
                              &req),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query_ex(a, NULL, 0, NULL, &o, on_res, NULL, &req),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query_ex(a, "SELECT 1", -1, NULL, &o, on_res, NULL,
                              &req),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query_ex(a, "SELECT $1", 1, NULL, &o, on_res, NULL,
                              &req),
           UV_EINVAL);
  CHECK(req == (uvpg_query_req_t *)&o);
  CHECK_EQ(uvpg_query_cancel(NULL), UV_EINVAL);
  CHECK_EQ(st.calls, 0);

  params[0] = "41";
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_query_ex(a, "SELECT %s::int + 1", 1, params, NULL,
                              on_res, (void *)1, NULL),
           0);
  st.in_call = 0;
  run_until(&loop, &st.calls, 1);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_STR(st.value[0], "42");
  close_all(&loop, a, NULL);
  CHECK_EQ(st.calls, 1);
}

/* timeout_ms: the callback gets UV_ETIMEDOUT; the statement is cancelled
 * on the server (the next one does not wait out pg_sleep(60)) and the
 * connection goes on. */
static void test_query_ex_timeout(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *w;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  w = connect_now(&loop);
  qx(a, "SELECT pg_sleep(60)", 200, 1);
  run_until(&loop, &st.calls, 1);
  CHECK_EQ(st.statuses[0], UV_ETIMEDOUT);
  CHECK_EQ(st.had_res[0], 0);
  still_usable(&loop, a, 2);
  CHECK_EQ(backend_sleeps(&loop, w, a), 0);
  close_all(&loop, a, w);
  CHECK_EQ(st.calls, 2);
}

/* A queued statement leaves the queue unsent: its callback runs with
 * UV_ECANCELED ahead of the one before it, which completes as usual, as
 * does the one after it; the INSERT never ran. */
static void test_query_cancel_queued(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *w;
  uvpg_connect_opts_t co;
  uvpg_query_req_t *req;
  char tag[32], sql[128];
  int i1, i2, i3;
  uv_loop_init(&loop);
  uvpg_connect_opts_init(&co);
  co.max_pipeline = 1; /* one statement in flight: the others queue */
  a = connect_opts(&loop, &co);
  w = connect_now(&loop);
  watch(&loop, w, "CREATE TABLE IF NOT EXISTS cancel_capi (tag text)", NULL);
  snprintf(tag, sizeof tag, "q%d", uvpg_conn_get_backend_pid(a));
  snprintf(sql, sizeof sql, "INSERT INTO cancel_capi VALUES ('%s')", tag);
  qx(a, "SELECT pg_sleep(0.3)", 0, 1);
  req = qx(a, sql, 0, 2);
  q(a, "SELECT 3", 3);
  CHECK_EQ(cancel_req(req), 0);
  CHECK_EQ(cancel_req(req), UV_EALREADY); /* its callback is due */
  CHECK_EQ(st.calls, 0);
  run_until(&loop, &st.calls, 3);
  i1 = find(QUERY, 1);
  i2 = find(QUERY, 2);
  i3 = find(QUERY, 3);
  CHECK_EQ(i2, 0); /* told first */
  if (i1 >= 0 && i2 >= 0 && i3 >= 0) {
    CHECK_EQ(st.statuses[i1], 0);
    CHECK_EQ(st.statuses[i2], UV_ECANCELED);
    CHECK_EQ(st.had_res[i2], 0);
    CHECK(strstr(st.error[i2], "before it was sent") != NULL);
    CHECK_EQ(st.statuses[i3], 0);
    CHECK_STR(st.value[i3], "3");
  }
  CHECK_STR(watch(&loop, w,
                  "SELECT count(*) FROM cancel_capi WHERE tag = $1", tag),
            "0");
  close_all(&loop, a, w);
  CHECK_EQ(st.calls, 3);
}

/* A statement running alone: told UV_ECANCELED at once, cancelled on the
 * server (the backend stops sleeping, the next statement comes back);
 * a second cancel is UV_EALREADY. */
static void test_query_cancel_running(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *w;
  uvpg_query_req_t *req;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  w = connect_now(&loop);
  req = qx(a, "SELECT pg_sleep(60)", 0, 1);
  until_sleeping(&loop, w, a);
  CHECK_EQ(cancel_req(req), 0);
  CHECK_EQ(cancel_req(req), UV_EALREADY);
  CHECK_EQ(st.calls, 0);
  run_until(&loop, &st.calls, 1);
  CHECK_EQ(st.statuses[0], UV_ECANCELED);
  CHECK_EQ(st.had_res[0], 0);
  CHECK(strstr(st.error[0], "operation canceled") != NULL);
  CHECK(strstr(st.error[0], "before it was sent") == NULL);
  still_usable(&loop, a, 2);
  CHECK_EQ(backend_sleeps(&loop, w, a), 0);
  close_all(&loop, a, w);
  CHECK_EQ(st.calls, 2);
}

/* Pipelined with statements whose callers wait: told at once, ahead of
 * the one before it, but not cancelled on the server: the INSERT ran,
 * and the statements around it succeed. */
static void test_query_cancel_pipelined(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *w;
  uvpg_query_req_t *req;
  char tag[32], sql[160];
  int i1, i2, i3;
  uv_loop_init(&loop);
  a = connect_now(&loop); /* max_pipeline 100: all three are sent */
  w = connect_now(&loop);
  watch(&loop, w, "CREATE TABLE IF NOT EXISTS cancel_capi (tag text)", NULL);
  snprintf(tag, sizeof tag, "p%d", uvpg_conn_get_backend_pid(a));
  snprintf(sql, sizeof sql,
           "INSERT INTO cancel_capi SELECT '%s' FROM pg_sleep(0.2)", tag);
  q(a, "SELECT 1 FROM pg_sleep(0.5)", 1);
  req = qx(a, sql, 0, 2);
  q(a, "SELECT 3", 3);
  CHECK_EQ(cancel_req(req), 0);
  CHECK_EQ(st.calls, 0);
  run_until(&loop, &st.calls, 3);
  i1 = find(QUERY, 1);
  i2 = find(QUERY, 2);
  i3 = find(QUERY, 3);
  CHECK_EQ(i2, 0); /* told before the statement ahead of it */
  if (i1 >= 0 && i2 >= 0 && i3 >= 0) {
    CHECK_EQ(st.statuses[i1], 0);
    CHECK_STR(st.value[i1], "1");
    CHECK_EQ(st.statuses[i2], UV_ECANCELED);
    CHECK_EQ(st.statuses[i3], 0);
    CHECK_STR(st.value[i3], "3");
  }
  CHECK_STR(watch(&loop, w,
                  "SELECT count(*) FROM cancel_capi WHERE tag = $1", tag),
            "1");
  still_usable(&loop, a, 4);
  close_all(&loop, a, w);
  CHECK_EQ(st.calls, 4);
}

/* UV_EALREADY when the connection is being closed: the callback is due
 * with UV_ECANCELED; and for a statement queued after the close, due
 * with UVPG_ECLOSED. */
static void test_query_cancel_closing(void) {
  uv_loop_t loop;
  uvpg_conn_t *a;
  uvpg_query_req_t *r1, *r2;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  r1 = qx(a, "SELECT pg_sleep(60)", 0, 1);
  uvpg_conn_close(a, on_close, NULL);
  r2 = qx(a, "SELECT 2", 0, 2);
  CHECK_EQ(cancel_req(r1), UV_EALREADY);
  CHECK_EQ(cancel_req(r2), UV_EALREADY);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.closes, 1);
  CHECK_EQ(st.close_saw_calls, 2);
  CHECK_EQ(st.calls, 2);
  CHECK_EQ(status_of(QUERY, 1), UV_ECANCELED);
  CHECK_EQ(status_of(QUERY, 2), UVPG_ECLOSED);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

#ifndef UVPG_SAMPLE_CANCEL
#define UVPG_SAMPLE_CANCEL "samples/cancel"
#endif

/* samples/cancel under a real SIGINT, once its pg_sleep runs on the
 * server (found by its application_name): it says the query was
 * canceled and exits 0, having closed everything. */
static void test_sample(void) {
  uv_loop_t loop;
  uvpg_conn_t *w;
  int out[2], status = 0, i, found = 0;
  pid_t child;
  char appname[64], buf[4096];
  size_t len = 0;
  ssize_t n;
  uv_loop_init(&loop);
  w = connect_now(&loop);
  snprintf(appname, sizeof appname, "uvpg_cancel_sample_%ld",
           (long)getpid());
  CHECK_EQ(pipe(out), 0);
  fflush(NULL);
  child = fork();
  if (child == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    setenv("PGAPPNAME", appname, 1);
    execl(UVPG_SAMPLE_CANCEL, UVPG_SAMPLE_CANCEL, ctest_dsn(), "60",
          (char *)NULL);
    fprintf(stderr, "exec %s: %s\n", UVPG_SAMPLE_CANCEL, strerror(errno));
    _exit(127);
  }
  CHECK(child > 0);
  close(out[1]);
  for (i = 0; i < 1500 && child > 0; i++) {
    if (sleeping(&loop, w, "application_name = $1", appname) == 1) {
      found = 1;
      break;
    }
    if (waitpid(child, &status, WNOHANG) == child) {
      child = 0; /* it ended before its query ran */
      break;
    }
    watch(&loop, w, "SELECT pg_sleep(0.02)", NULL);
  }
  CHECK(found);
  if (child > 0) {
    /* Found: Ctrl-C.  Not found (a failure already): no stray process. */
    CHECK_EQ(kill(child, found ? SIGINT : SIGKILL), 0);
    CHECK_EQ(waitpid(child, &status, 0), child);
  }
  while (len < sizeof buf - 1 &&
         (n = read(out[0], buf + len, sizeof buf - 1 - len)) > 0) {
    len += (size_t)n;
  }
  buf[len] = '\0';
  close(out[0]);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
  CHECK(strstr(buf, "press Ctrl-C") != NULL);
  CHECK(strstr(buf, "query canceled") != NULL);
  CHECK(strstr(buf, "the server took the cancel request") != NULL);
  if (ctest_failed) {
    fprintf(stderr, "samples/cancel said:\n%s", buf);
  }
  CHECK_EQ(sleeping(&loop, w, "application_name = $1", appname), 0);
  uvpg_conn_close(w, on_close, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

int main(void) {
  static const struct ctest_case cases[] = {
      {"uvpg_conn_cancel: stops the running statement (UV_ECANCELED), "
       "calls back 0, the connection goes on",
       test_conn_cancel_running},
      {"uvpg_conn_cancel: with nothing running it calls back 0",
       test_conn_cancel_idle},
      {"uvpg_conn_cancel: a NULL callback is allowed",
       test_conn_cancel_null_cb},
      {"uvpg_conn_cancel: UV_EINVAL, UVPG_ECLOSED on a closed connection",
       test_conn_cancel_closed},
      {"uvpg_conn_close: a cancel request still out ends with "
       "UV_ECANCELED before the close callback",
       test_conn_cancel_then_close},
      {"uvpg_conn_query_ex: options, usage errors, NULL opts and req",
       test_query_ex_basics},
      {"uvpg_conn_query_ex: timeout_ms gives UV_ETIMEDOUT and the "
       "connection goes on",
       test_query_ex_timeout},
      {"uvpg_query_cancel: a queued statement leaves the queue unsent",
       test_query_cancel_queued},
      {"uvpg_query_cancel: a statement running alone is cancelled on the "
       "server",
       test_query_cancel_running},
      {"uvpg_query_cancel: a pipelined statement is told at once and runs "
       "to its end",
       test_query_cancel_pipelined},
      {"uvpg_query_cancel: UV_EALREADY on a closing connection",
       test_query_cancel_closing},
      {"samples/cancel: Ctrl-C cancels its query and it exits cleanly",
       test_sample},
  };
  return ctest_run("cancel-capi", cases, sizeof cases / sizeof cases[0],
                   reset);
}
