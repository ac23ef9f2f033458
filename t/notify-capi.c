/* The LISTEN/NOTIFY C ABI from plain C99, against the test server,
 * written from the man pages (uvpg_conn_notify_start(3),
 * uvpg_conn_listen(3)).
 *
 * Built with -std=c99 -pedantic -Werror and only <uvpg.h>.  Each case
 * owns its loop and its connections, counts its callbacks (never inside
 * a uvpg call), and ends with uv_loop_close() == 0.  Absence is never
 * checked by waiting: the same sender sends a marker after what must not
 * arrive, and the server delivers one sender's notifications in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

#define MAXNOTES 64

static uv_loop_t loop;

/* What the callbacks saw; reset before each case. */
static struct {
  int connects;
  uvpg_conn_t *conns[3];
  int queries;
  int last_status;
  char last_state[8];
  int closes;
  int closed[3]; /* per connection (the close callback's data) */
  int in_call;       /* set while a uvpg call of this program's runs */
  int called_inside; /* a callback ran inside one */
  /* the notify callback */
  int notes;
  int finals;
  int final_status;
  int calls_after_final;
  int final_before_close; /* the final call came before close_cb */
  size_t size;
  char channel[MAXNOTES][64];
  char payload[MAXNOTES][64];
  size_t payload_len[MAXNOTES];
  int pid[MAXNOTES];
  void *data;
  int close_from_cb; /* close conns[0] from the callback */
  int stop_from_cb;  /* stop from the callback */
  int terminations;
  int final_before_termination;
} st;

static void reset(void) { memset(&st, 0, sizeof st); }

static void on_connect(uvpg_conn_t *c, int status, void *data) {
  CHECK_EQ(status, 0);
  st.conns[(intptr_t)data] = c;
  st.connects++;
}

static void on_query(uvpg_conn_t *c, int status, uvpg_result_t *res,
                     void *data) {
  (void)c;
  (void)data;
  st.called_inside |= st.in_call;
  st.queries++;
  st.last_status = status;
  snprintf(st.last_state, sizeof st.last_state, "%s",
           res && uvpg_result_sqlstate(res) ? uvpg_result_sqlstate(res) : "");
  uvpg_result_free(res);
}

static void on_close(uvpg_conn_t *c, void *data) {
  (void)c;
  st.closed[(intptr_t)data] = 1;
  st.closes++;
}

static void on_notify(uvpg_conn_t *c, int status, const uvpg_notify_t *n,
                      void *data) {
  (void)c;
  st.called_inside |= st.in_call;
  st.data = data;
  if (st.finals > 0) {
    st.calls_after_final++;
    return;
  }
  if (status < 0) {
    CHECK(n == NULL);
    st.finals++;
    st.final_status = status;
    st.final_before_close = !st.closed[0]; /* conns[0] listens */
    st.final_before_termination = st.terminations == 0;
    return;
  }
  CHECK_EQ(status, 0);
  CHECK(n != NULL);
  if (st.notes < MAXNOTES) {
    st.size = n->size;
    snprintf(st.channel[st.notes], sizeof st.channel[0], "%s", n->channel);
    snprintf(st.payload[st.notes], sizeof st.payload[0], "%s", n->payload);
    st.payload_len[st.notes] = strlen(n->payload);
    st.pid[st.notes] = n->pid;
  }
  st.notes++;
  if (st.close_from_cb) {
    uvpg_conn_close(c, on_close, NULL);
    /* Closing: no callback can be set any more. */
    CHECK_EQ(uvpg_conn_notify_start(c, on_notify, NULL), UVPG_ECLOSED);
  }
  if (st.stop_from_cb) {
    CHECK_EQ(uvpg_conn_notify_stop(c), 0);
  }
}

static void on_termination(uvpg_conn_t *c, int status, const char *message,
                           const char *sqlstate, void *data) {
  (void)c;
  (void)status;
  (void)message;
  (void)sqlstate;
  (void)data;
  st.terminations++;
}

/* Runs the loop until *count reaches want, or fails after ~30 s. */
static int run_until(int *count, int want) {
  int turns;
  for (turns = 0; *count < want && turns < 6000; turns++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (*count < want) {
      uv_sleep(5);
    }
  }
  CHECK(*count >= want);
  return *count >= want;
}

/* Opens n connections (st.conns[0..n-1]). */
static int open_conns(int n) {
  int i;
  CHECK_EQ(uv_loop_init(&loop), 0);
  for (i = 0; i < n; i++) {
    CHECK_EQ(uvpg_connect(&loop, ctest_dsn(), NULL, on_connect,
                          (void *)(intptr_t)i),
             0);
  }
  return run_until(&st.connects, n);
}

/* Closes every open connection and the loop. */
static void close_all(int n) {
  int i, want = st.closes;
  for (i = 0; i < n; i++) {
    if (st.conns[i] != NULL) {
      uvpg_conn_close(st.conns[i], on_close, (void *)(intptr_t)i);
      want++;
    }
  }
  run_until(&st.closes, want);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

/* Queues a statement through `r` (the call's return code) and waits. */
#define RUN(call)                                                            \
  do {                                                                       \
    int want_ = st.queries + 1;                                              \
    st.in_call = 1;                                                          \
    CHECK_EQ((call), 0);                                                     \
    st.in_call = 0;                                                          \
    run_until(&st.queries, want_);                                           \
  } while (0)

/* Opens a listener, conns[0] (the callback started, LISTEN on
 * `channel`), and a second connection, conns[1]; 0 when they could not
 * be opened. */
static int listening(const char *channel) {
  if (!open_conns(2)) {
    return 0;
  }
  CHECK_EQ(uvpg_conn_notify_start(st.conns[0], on_notify, NULL), 0);
  RUN(uvpg_conn_listen(st.conns[0], channel, on_query, NULL));
  CHECK_EQ(st.last_status, 0);
  return 1;
}

static void test_start(void) {
  uvpg_conn_t *c, *sender;
  static int mark;
  if (!open_conns(2)) {
    return;
  }
  c = st.conns[0];
  sender = st.conns[1];
  CHECK_EQ(uvpg_conn_notify_start(NULL, on_notify, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_notify_start(c, NULL, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_notify_stop(NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_notify_stop(c), 0); /* nothing to stop */
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_notify_start(c, on_notify, &mark), 0);
  st.in_call = 0;
  RUN(uvpg_conn_listen(c, "t_notify_capi idle", on_query, NULL));
  CHECK_EQ(st.last_status, 0);
  /* Idle: nothing runs on c when it comes. */
  RUN(uvpg_conn_notify(sender, "t_notify_capi idle", "hello", on_query,
                       NULL));
  CHECK_EQ(st.last_status, 0);
  run_until(&st.notes, 1);
  CHECK_STR(st.channel[0], "t_notify_capi idle");
  CHECK_STR(st.payload[0], "hello");
  CHECK_EQ(st.pid[0], uvpg_conn_get_backend_pid(sender));
  CHECK(st.size >= sizeof(uvpg_notify_t));
  CHECK(st.data == &mark);
  /* No payload: an empty string. */
  RUN(uvpg_conn_notify(sender, "t_notify_capi idle", NULL, on_query, NULL));
  run_until(&st.notes, 2);
  CHECK_STR(st.payload[1], "");
  /* Busy: a statement runs on c while the other session notifies. */
  CHECK_EQ(uvpg_conn_query(c, "SELECT pg_sleep(0.3)", 0, NULL, on_query,
                           NULL),
           0);
  RUN(uvpg_conn_notify(sender, "t_notify_capi idle", "busy", on_query,
                       NULL));
  run_until(&st.queries, 5);
  run_until(&st.notes, 3);
  CHECK_STR(st.payload[2], "busy");
  /* Its own NOTIFY comes back too. */
  RUN(uvpg_conn_notify(c, "t_notify_capi idle", "self", on_query, NULL));
  run_until(&st.notes, 4);
  CHECK_STR(st.payload[3], "self");
  CHECK_EQ(st.pid[3], uvpg_conn_get_backend_pid(c));
  close_all(2);
  /* Closed after notify_start: one final call, UV_ECANCELED, before
   * the close callback. */
  CHECK_EQ(st.finals, 1);
  CHECK_EQ(st.final_status, UV_ECANCELED);
  CHECK_EQ(st.final_before_close, 1);
  CHECK_EQ(st.calls_after_final, 0);
}

static void test_stop(void) {
  uvpg_conn_t *c, *sender;
  if (!listening("t_notify_capi_stop")) {
    return;
  }
  c = st.conns[0];
  sender = st.conns[1];
  /* Stopped from inside the callback: the second of a batch is not
   * delivered. */
  st.stop_from_cb = 1;
  RUN(uvpg_conn_query(sender,
                      "SELECT pg_notify('t_notify_capi_stop', 'one'), "
                      "pg_notify('t_notify_capi_stop', 'two')",
                      0, NULL, on_query, NULL));
  run_until(&st.notes, 1);
  st.stop_from_cb = 0;
  /* Started again ("two" came with "one", and was dropped). */
  CHECK_EQ(uvpg_conn_notify_start(c, on_notify, NULL), 0);
  RUN(uvpg_conn_notify(sender, "t_notify_capi_stop", "marker", on_query,
                       NULL));
  run_until(&st.notes, 2);
  CHECK_STR(st.payload[0], "one");
  CHECK_STR(st.payload[1], "marker");
  /* Stopped, then closed: no final call. */
  CHECK_EQ(uvpg_conn_notify_stop(c), 0);
  close_all(2);
  CHECK_EQ(st.finals, 0);
  CHECK_EQ(st.notes, 2);
}

static void test_unlisten_and_names(void) {
  uvpg_conn_t *c, *sender;
  char big[8001];
  /* Quoted identifiers, exact: case and quotes kept. */
  if (!listening("t_notify_capi a b")) {
    return;
  }
  c = st.conns[0];
  sender = st.conns[1];
  RUN(uvpg_conn_listen(c, "t_notify_capi_Mixed\"Case", on_query, NULL));
  CHECK_EQ(st.last_status, 0);
  RUN(uvpg_conn_notify(sender, "t_notify_capi_mixed\"case", "lower",
                       on_query, NULL));
  RUN(uvpg_conn_notify(sender, "t_notify_capi_Mixed\"Case", "exact",
                       on_query, NULL));
  RUN(uvpg_conn_notify(sender, "t_notify_capi a b", "spaces", on_query,
                       NULL));
  run_until(&st.notes, 2);
  CHECK_STR(st.channel[0], "t_notify_capi_Mixed\"Case");
  CHECK_STR(st.payload[0], "exact");
  CHECK_STR(st.channel[1], "t_notify_capi a b");
  CHECK_STR(st.payload[1], "spaces");
  /* UNLISTEN of one channel. */
  RUN(uvpg_conn_unlisten(c, "t_notify_capi a b", on_query, NULL));
  CHECK_EQ(st.last_status, 0);
  RUN(uvpg_conn_notify(sender, "t_notify_capi a b", "gone", on_query, NULL));
  RUN(uvpg_conn_notify(sender, "t_notify_capi_Mixed\"Case", "marker 1",
                       on_query, NULL));
  run_until(&st.notes, 3);
  CHECK_STR(st.payload[2], "marker 1");
  /* UNLISTEN *: nothing more, until a new LISTEN. */
  RUN(uvpg_conn_unlisten(c, NULL, on_query, NULL));
  CHECK_EQ(st.last_status, 0);
  RUN(uvpg_conn_notify(sender, "t_notify_capi_Mixed\"Case", "gone too",
                       on_query, NULL));
  RUN(uvpg_conn_listen(c, "t_notify_capi_marker", on_query, NULL));
  RUN(uvpg_conn_notify(sender, "t_notify_capi_marker", "marker 2", on_query,
                       NULL));
  run_until(&st.notes, 4);
  CHECK_STR(st.payload[3], "marker 2");
  /* The largest payload, and one byte more. */
  memset(big, 'x', sizeof big - 1);
  big[7999] = '\0';
  RUN(uvpg_conn_notify(sender, "t_notify_capi_marker", big, on_query, NULL));
  CHECK_EQ(st.last_status, 0);
  run_until(&st.notes, 5);
  CHECK_EQ(st.payload_len[4], 7999);
  big[7999] = 'x';
  big[8000] = '\0';
  RUN(uvpg_conn_notify(sender, "t_notify_capi_marker", big, on_query, NULL));
  CHECK_EQ(st.last_status, UVPG_ESERVER);
  CHECK_STR(st.last_state, "22023");
  /* Usage errors: no callback. */
  CHECK_EQ(uvpg_conn_listen(NULL, "x", on_query, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_listen(c, NULL, on_query, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_listen(c, "", on_query, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_unlisten(NULL, NULL, on_query, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_unlisten(c, "", on_query, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_notify(NULL, "x", "y", on_query, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_notify(c, NULL, "y", on_query, NULL), UV_EINVAL);
  /* A NULL cb is allowed. */
  CHECK_EQ(uvpg_conn_listen(c, "t_notify_capi_nocb", NULL, NULL), 0);
  RUN(uvpg_conn_query(c, "SELECT 1", 0, NULL, on_query, NULL));
  close_all(2);
  CHECK_EQ(st.notes, 5);
  CHECK_EQ(st.finals, 1);
}

static void test_lost(void) {
  uvpg_conn_t *c, *admin;
  char pid[16];
  const char *params[1];
  if (!listening("t_notify_capi_lost")) {
    return;
  }
  c = st.conns[0];
  admin = st.conns[1];
  CHECK_EQ(uvpg_conn_set_termination_cb(c, on_termination, NULL), 0);
  RUN(uvpg_conn_notify(admin, "t_notify_capi_lost", "before", on_query,
                       NULL));
  run_until(&st.notes, 1);
  snprintf(pid, sizeof pid, "%d", uvpg_conn_get_backend_pid(c));
  params[0] = pid;
  RUN(uvpg_conn_query(admin, "SELECT pg_terminate_backend($1)", 1, params,
                      on_query, NULL));
  run_until(&st.terminations, 1);
  /* One final call, UVPG_ECONNBAD, before the termination callback. */
  CHECK_EQ(st.finals, 1);
  CHECK_EQ(st.final_status, UVPG_ECONNBAD);
  CHECK_EQ(st.final_before_termination, 1);
  /* A lost connection takes no callback. */
  CHECK_EQ(uvpg_conn_notify_start(c, on_notify, NULL), UVPG_ECONNBAD);
  close_all(2);
  CHECK_EQ(st.finals, 1); /* and none at the close */
  CHECK_EQ(st.calls_after_final, 0);
  CHECK_EQ(st.notes, 1);
}

static void test_close_from_callback(void) {
  uvpg_conn_t *sender;
  int closes;
  if (!listening("t_notify_capi_close")) {
    return;
  }
  sender = st.conns[1];
  /* Closed by the callback of the first of three sent in one
   * transaction: the others are dropped, then the final call. */
  st.close_from_cb = 1;
  RUN(uvpg_conn_query(sender,
                      "SELECT pg_notify('t_notify_capi_close', i::text) "
                      "FROM generate_series(1, 3) i",
                      0, NULL, on_query, NULL));
  run_until(&st.closes, 1);
  CHECK_EQ(st.notes, 1);
  CHECK_EQ(st.finals, 1);
  CHECK_EQ(st.final_status, UV_ECANCELED);
  CHECK_EQ(st.final_before_close, 1);
  st.conns[0] = NULL;
  closes = st.closes;
  close_all(2);
  CHECK_EQ(st.closes, closes + 1);
  CHECK_EQ(st.calls_after_final, 0);
}

static void on_acquire(uvpg_pool_t *p, int status, uvpg_conn_t *c,
                       void *data) {
  (void)p;
  (void)data;
  CHECK_EQ(status, 0);
  st.conns[0] = c;
  st.connects++;
}

static void on_pool_closed(uvpg_pool_t *p, void *data) {
  (void)p;
  (void)data;
  st.closes++;
}

static void test_pool_release(void) {
  uvpg_pool_t *pool = NULL;
  uvpg_pool_opts_t opts;
  CHECK_EQ(uv_loop_init(&loop), 0);
  uvpg_pool_opts_init(&opts);
  opts.minsize = 1;
  opts.maxsize = 1;
  CHECK_EQ(uvpg_pool_new(&loop, ctest_dsn(), &opts, &pool), 0);
  CHECK_EQ(uvpg_pool_acquire(pool, on_acquire, NULL, NULL), 0);
  if (!run_until(&st.connects, 1)) {
    return;
  }
  CHECK_EQ(uvpg_conn_notify_start(st.conns[0], on_notify, NULL), 0);
  RUN(uvpg_conn_listen(st.conns[0], "t_notify_capi_pool", on_query, NULL));
  /* Given back: the final call comes from the loop, after the call. */
  st.in_call = 1;
  CHECK_EQ(uvpg_pool_release(pool, st.conns[0]), 0);
  st.in_call = 0;
  CHECK_EQ(st.finals, 0);
  run_until(&st.finals, 1);
  CHECK_EQ(st.final_status, UV_ECANCELED);
  CHECK_EQ(uvpg_pool_close(pool, 0, on_pool_closed, NULL), 0);
  run_until(&st.closes, 1);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(st.finals, 1);
  CHECK_EQ(st.calls_after_final, 0);
  CHECK_EQ(st.called_inside, 0);
}

int main(void) {
  static const struct ctest_case cases[] = {
      {"uvpg_conn_notify_start: idle and busy, from another session and "
       "from itself; a final UV_ECANCELED at the close",
       test_start},
      {"uvpg_conn_notify_stop: no more calls, none for the rest of a "
       "batch, no final call",
       test_stop},
      {"uvpg_conn_listen, uvpg_conn_unlisten, uvpg_conn_notify: quoted "
       "names, UNLISTEN one and *, payload limits, usage errors",
       test_unlisten_and_names},
      {"uvpg_conn_notify_start: pg_terminate_backend gives one final "
       "UVPG_ECONNBAD call before the termination callback",
       test_lost},
      {"uvpg_conn_notify_start: closing from the callback drops the rest "
       "and makes the final call before close_cb",
       test_close_from_callback},
      {"uvpg_conn_notify_start: uvpg_pool_release gives one final "
       "UV_ECANCELED call, from the loop",
       test_pool_release},
  };
  return ctest_run("notify-capi", cases, sizeof cases / sizeof cases[0],
                   reset);
}
