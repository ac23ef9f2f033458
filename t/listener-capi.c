/* The listener's C ABI from plain C99, against the test server, written
 * from the man pages (uvpg_listener_new(3), uvpg_listener_opts_init(3),
 * uvpg_listener_listen(3), uvpg_listener_pause(3),
 * uvpg_listener_close(3), uvpg_listener_get_stats(3),
 * uvpg_listener_error_message(3)): each function once at least.
 *
 * Built with -std=c99 -pedantic -Werror and only <uvpg.h>.  Each case
 * owns its loop, counts its callbacks (exactly once, never inside a
 * call), checks what it claims against the server, and ends with
 * uv_loop_close() == 0.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

#define MAXEV 64

/* What the callbacks saw; reset before each case. */
static struct {
  int events;
  int kinds[MAXEV];
  int statuses[MAXEV];
  int had_notify[MAXEV];
  char channel[MAXEV][72];
  char payload[MAXEV][32];
  int pid[MAXEV];
  size_t size[MAXEV];
  char message[MAXEV][512];
  int listens;              /* listen/unlisten callbacks */
  int listen_status[8];
  int listen_tag[8];
  int closes;
  int close_saw_listens;
  int close_saw_events;
  int in_call;              /* set while a uvpg call runs */
  int called_inside;        /* a callback ran inside a uvpg call */
  int queries;
  int query_status;
} st;

static void reset(void) { memset(&st, 0, sizeof st); }

static void on_event(uvpg_listener_t *l, int status, int kind,
                     const uvpg_notify_t *n, void *data) {
  int i = st.events++;
  CHECK(data == &st);
  if (st.in_call) {
    st.called_inside = 1;
  }
  if (i >= MAXEV) {
    return;
  }
  st.kinds[i] = kind;
  st.statuses[i] = status;
  st.had_notify[i] = n != NULL;
  if (n) {
    snprintf(st.channel[i], sizeof st.channel[i], "%s", n->channel);
    snprintf(st.payload[i], sizeof st.payload[i], "%s", n->payload);
    st.pid[i] = n->pid;
    st.size[i] = n->size;
  } else {
    snprintf(st.message[i], sizeof st.message[i], "%s",
             uvpg_listener_error_message(l));
  }
}

static void on_listen(uvpg_listener_t *l, int status, void *data) {
  int i = st.listens++;
  (void)l;
  if (st.in_call) {
    st.called_inside = 1;
  }
  if (i < 8) {
    st.listen_status[i] = status;
    st.listen_tag[i] = (int)(intptr_t)data;
  }
}

static void on_closed(uvpg_listener_t *l, void *data) {
  (void)l;
  (void)data;
  if (st.in_call) {
    st.called_inside = 1;
  }
  st.closes++;
  st.close_saw_listens = st.listens;
  st.close_saw_events = st.events;
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

static uvpg_conn_t *connected;
static int connect_status;

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  (void)data;
  connected = conn;
  connect_status = status;
}

static uvpg_conn_t *connect_now(uv_loop_t *loop) {
  connected = NULL;
  CHECK_EQ(uvpg_connect(loop, ctest_dsn(), NULL, on_connect, NULL), 0);
  while (!connected) {
    uv_run(loop, UV_RUN_ONCE);
  }
  CHECK_EQ(connect_status, 0);
  return connected;
}

static void on_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  (void)conn;
  (void)data;
  st.query_status = status;
  st.queries++;
  uvpg_result_free(res);
}

/* Runs `sql` with up to two text parameters on `c`, to the end. */
static void sql(uv_loop_t *loop, uvpg_conn_t *c, const char *text,
                const char *a, const char *b) {
  const char *params[2];
  int n = st.queries;
  params[0] = a;
  params[1] = b;
  CHECK_EQ(uvpg_conn_query(c, text, a ? (b ? 2 : 1) : 0, params, on_query,
                           NULL),
           0);
  run_until(loop, &st.queries, n + 1);
  CHECK_EQ(st.query_status, 0);
}

static void notify(uv_loop_t *loop, uvpg_conn_t *c, const char *chan,
                   const char *payload) {
  sql(loop, c, "SELECT pg_notify($1, $2)", chan, payload);
}

/* A local TCP port nothing listens on. */
static int dead_port(uv_loop_t *loop) {
  uv_tcp_t srv;
  struct sockaddr_in addr;
  struct sockaddr_storage name;
  int len = sizeof name;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(loop, &srv);
  CHECK_EQ(uv_tcp_bind(&srv, (const struct sockaddr *)&addr, 0), 0);
  uv_tcp_getsockname(&srv, (struct sockaddr *)&name, &len);
  uv_close((uv_handle_t *)&srv, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return ntohs(((struct sockaddr_in *)&name)->sin_port);
}

/* Closes `l` (and `c`), runs the loop dry, checks the close callback ran
 * once and the loop closes. */
static void finish(uv_loop_t *loop, uvpg_listener_t *l, uvpg_conn_t *c) {
  st.in_call = 1;
  CHECK_EQ(uvpg_listener_close(l, on_closed, NULL), 0);
  st.in_call = 0;
  if (c) {
    uvpg_conn_close(c, NULL, NULL);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.closes, 1);
  CHECK_EQ(uv_loop_close(loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

static void test_opts_init(void) {
  uvpg_listener_opts_t o;
  uvpg_connect_opts_t c;
  memset(&o, 0xff, sizeof o);
  uvpg_listener_opts_init(&o);
  uvpg_connect_opts_init(&c);
  CHECK_EQ(o.reconnect_min_ms, 100);
  CHECK_EQ(o.reconnect_max_ms, 10000);
  CHECK_EQ(o.max_queue, 10000);
  CHECK_EQ(o.heartbeat_ms, 30000);
  CHECK_EQ(o.heartbeat_timeout_ms, 10000);
  CHECK_EQ(o.connect.timeout_ms, c.timeout_ms);
  CHECK_EQ(o.connect.max_pipeline, c.max_pipeline);
  CHECK(o.reserved[0] == NULL && o.reserved[5] == NULL);
  uvpg_listener_opts_init(NULL); /* ignored */
}

/* listen before the first connect, CONNECTED, a notification with its
 * fields, unlisten, close: each callback once, none inside a call. */
static void test_events(void) {
  uv_loop_t loop;
  uvpg_listener_t *l = NULL;
  uvpg_conn_t *c;
  int sender;
  uv_loop_init(&loop);
  st.in_call = 1;
  CHECK_EQ(uvpg_listener_new(&loop, ctest_dsn(), NULL, on_event, &st, &l),
           0);
  CHECK(l != NULL);
  CHECK_EQ(uvpg_listener_listen(l, "tlc_a", on_listen, (void *)1), 0);
  CHECK_EQ(uvpg_listener_listen(l, "tlc_B", on_listen, (void *)2), 0);
  st.in_call = 0;
  CHECK(uvpg_listener_get_loop(l) == &loop);
  CHECK_EQ(uvpg_listener_is_connected(l), 0);
  CHECK_EQ(uvpg_listener_get_backend_pid(l), 0);
  run_until(&loop, &st.events, 1);
  CHECK_EQ(st.kinds[0], UVPG_LISTENER_CONNECTED);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.had_notify[0], 0);
  run_until(&loop, &st.listens, 2);
  CHECK_EQ(st.listen_status[0], 0);
  CHECK_EQ(st.listen_status[1], 0);
  CHECK_EQ(uvpg_listener_is_connected(l), 1);
  CHECK(uvpg_listener_get_backend_pid(l) > 0);

  c = connect_now(&loop);
  sender = uvpg_conn_get_backend_pid(c);
  notify(&loop, c, "tlc_b", "lower case: not listened");
  notify(&loop, c, "tlc_B", "hello");
  notify(&loop, c, "tlc_a", "");
  run_until(&loop, &st.events, 3);
  CHECK_EQ(st.kinds[1], UVPG_LISTENER_NOTIFY);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_STR(st.channel[1], "tlc_B");
  CHECK_STR(st.payload[1], "hello");
  CHECK_EQ(st.pid[1], sender);
  CHECK_EQ(st.size[1], sizeof(uvpg_notify_t));
  CHECK_STR(st.channel[2], "tlc_a");
  CHECK_STR(st.payload[2], "");

  st.in_call = 1;
  CHECK_EQ(uvpg_listener_unlisten(l, "tlc_a", on_listen, (void *)3), 0);
  CHECK_EQ(uvpg_listener_unlisten(l, "tlc_none", on_listen, (void *)4), 0);
  st.in_call = 0;
  run_until(&loop, &st.listens, 4);
  CHECK_EQ(st.listen_status[2], 0);
  CHECK_EQ(st.listen_status[3], 0);
  notify(&loop, c, "tlc_a", "gone");
  notify(&loop, c, "tlc_B", "still");
  run_until(&loop, &st.events, 4);
  CHECK_STR(st.payload[3], "still");
  CHECK_EQ(uvpg_listener_get_queued(l), 0);
  finish(&loop, l, c);
  CHECK_EQ(st.events, 4); /* nothing after the close */
  CHECK_EQ(st.listens, 4);
}

/* Paused, a burst overflows the queue of 3: 3 notifications, then one
 * gap (UV_ENOBUFS) once resumed. */
static void test_pause_overflow(void) {
  uv_loop_t loop;
  uvpg_listener_t *l;
  uvpg_conn_t *c;
  uvpg_listener_opts_t o;
  uvpg_listener_stats_t s;
  uint64_t limit;
  uv_loop_init(&loop);
  uvpg_listener_opts_init(&o);
  o.max_queue = 3;
  CHECK_EQ(uvpg_listener_new(&loop, ctest_dsn(), &o, on_event, &st, &l), 0);
  CHECK_EQ(uvpg_listener_listen(l, "tlc_o", on_listen, NULL), 0);
  run_until(&loop, &st.listens, 1);
  run_until(&loop, &st.events, 1); /* CONNECTED */
  c = connect_now(&loop);
  CHECK_EQ(uvpg_listener_pause(l), 0);
  CHECK_EQ(uvpg_listener_pause(l), 0); /* twice: no error */
  sql(&loop, c,
      "SELECT pg_notify('tlc_o', g::text) FROM generate_series(1, 10) g",
      NULL, NULL);
  uv_update_time(&loop);
  limit = uv_now(&loop) + 30000;
  do {
    uv_run(&loop, UV_RUN_ONCE);
    uvpg_listener_get_stats(l, &s);
  } while (s.received < 10 && uv_now(&loop) < limit);
  CHECK_EQ(s.received, 10);
  CHECK_EQ(st.events, 1); /* paused: nothing handed over */
  CHECK_EQ(uvpg_listener_get_queued(l), 4);
  CHECK_EQ(s.dropped, 7);
  st.in_call = 1;
  CHECK_EQ(uvpg_listener_resume(l), 0);
  st.in_call = 0;
  run_until(&loop, &st.events, 5);
  CHECK_STR(st.payload[1], "1");
  CHECK_STR(st.payload[3], "3");
  CHECK_EQ(st.kinds[4], UVPG_LISTENER_GAP);
  CHECK_EQ(st.statuses[4], UV_ENOBUFS);
  CHECK(st.message[4][0] != '\0');
  CHECK_EQ(uvpg_listener_get_queued(l), 0);
  uvpg_listener_get_stats(l, &s);
  CHECK_EQ(s.gaps, 1);
  CHECK_EQ(s.delivered, 5);
  CHECK_EQ(s.connects, 1);
  notify(&loop, c, "tlc_o", "after");
  run_until(&loop, &st.events, 6);
  CHECK_STR(st.payload[5], "after");
  finish(&loop, l, c);
}

/* pg_terminate_backend: DISCONNECTED, CONNECTED on a new backend, GAP,
 * then a notification once; no password in the words. */
static void test_reconnect(void) {
  uv_loop_t loop;
  uvpg_listener_t *l;
  uvpg_conn_t *c;
  char pid[16];
  const char *password = getenv("UVPG_TEST_PASSWORD");
  uvpg_listener_stats_t s;
  int old;
  CHECK(password != NULL && password[0] != '\0');
  uv_loop_init(&loop);
  CHECK_EQ(uvpg_listener_new(&loop, ctest_dsn(), NULL, on_event, &st, &l),
           0);
  CHECK_EQ(uvpg_listener_listen(l, "tlc_t", NULL, NULL), 0);
  run_until(&loop, &st.events, 1);
  old = uvpg_listener_get_backend_pid(l);
  c = connect_now(&loop);
  snprintf(pid, sizeof pid, "%d", old);
  sql(&loop, c, "SELECT pg_terminate_backend($1)", pid, NULL);
  run_until(&loop, &st.events, 4);
  CHECK_EQ(st.kinds[1], UVPG_LISTENER_DISCONNECTED);
  CHECK_EQ(st.statuses[1], UVPG_ECONNBAD);
  CHECK(st.message[1][0] != '\0');
  CHECK(password && strstr(st.message[1], password) == NULL);
  CHECK_EQ(st.kinds[2], UVPG_LISTENER_CONNECTED);
  CHECK(uvpg_listener_get_backend_pid(l) != old);
  CHECK_EQ(st.kinds[3], UVPG_LISTENER_GAP);
  CHECK_EQ(st.statuses[3], UVPG_ECONNBAD);
  CHECK(password && strstr(st.message[3], password) == NULL);
  notify(&loop, c, "tlc_t", "once");
  notify(&loop, c, "tlc_t", "end");
  run_until(&loop, &st.events, 6);
  CHECK_STR(st.payload[4], "once");
  CHECK_STR(st.payload[5], "end");
  uvpg_listener_get_stats(l, &s);
  CHECK_EQ(s.lost, 1);
  CHECK_EQ(s.connects, 2);
  finish(&loop, l, c);
}

/* A listen waiting for a session that never comes: the close tells it
 * UV_ECANCELED before the close callback; DISCONNECTED events meanwhile. */
static void test_close_pending(void) {
  uv_loop_t loop;
  uvpg_listener_t *l;
  uvpg_listener_opts_t o;
  char conninfo[96];
  uv_loop_init(&loop);
  uvpg_listener_opts_init(&o);
  o.reconnect_min_ms = 10;
  o.reconnect_max_ms = 20;
  snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d",
           dead_port(&loop));
  CHECK_EQ(uvpg_listener_new(&loop, conninfo, &o, on_event, &st, &l), 0);
  CHECK_EQ(uvpg_listener_listen(l, "tlc_p", on_listen, (void *)7), 0);
  run_until(&loop, &st.events, 2);
  CHECK_EQ(st.kinds[0], UVPG_LISTENER_DISCONNECTED);
  CHECK_EQ(st.statuses[0], UV_ECONNREFUSED);
  CHECK_EQ(st.kinds[1], UVPG_LISTENER_DISCONNECTED);
  CHECK_EQ(st.listens, 0);
  CHECK_EQ(uvpg_listener_is_connected(l), 0);
  st.in_call = 1;
  CHECK_EQ(uvpg_listener_close(l, on_closed, NULL), 0);
  CHECK_EQ(uvpg_listener_close(l, on_closed, NULL), UV_EALREADY);
  CHECK_EQ(uvpg_listener_listen(l, "tlc_q", on_listen, NULL), UVPG_ECLOSED);
  CHECK_EQ(uvpg_listener_unlisten(l, "tlc_p", on_listen, NULL),
           UVPG_ECLOSED);
  CHECK_EQ(uvpg_listener_pause(l), UVPG_ECLOSED);
  CHECK_EQ(uvpg_listener_resume(l), UVPG_ECLOSED);
  st.in_call = 0;
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.listens, 1);
  CHECK_EQ(st.listen_status[0], UV_ECANCELED);
  CHECK_EQ(st.listen_tag[0], 7);
  CHECK_EQ(st.closes, 1);
  CHECK_EQ(st.close_saw_listens, 1);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

/* Errors are return codes and call nothing back. */
static void test_usage(void) {
  uv_loop_t loop;
  uvpg_listener_t *l = (uvpg_listener_t *)&loop;
  uvpg_listener_opts_t o;
  uvpg_listener_stats_t s;
  char longname[65];
  uv_loop_init(&loop);
  CHECK_EQ(uvpg_listener_new(&loop, ctest_dsn(), NULL, NULL, NULL, &l),
           UV_EINVAL);
  CHECK(l == NULL);
  CHECK_EQ(uvpg_listener_new(NULL, ctest_dsn(), NULL, on_event, &st, &l),
           UV_EINVAL);
  CHECK_EQ(uvpg_listener_new(&loop, ctest_dsn(), NULL, on_event, &st, NULL),
           UV_EINVAL);
  uvpg_listener_opts_init(&o);
  o.max_queue = 0;
  CHECK_EQ(uvpg_listener_new(&loop, ctest_dsn(), &o, on_event, &st, &l),
           UV_EINVAL);
  uvpg_listener_opts_init(&o);
  o.reconnect_min_ms = 0;
  CHECK_EQ(uvpg_listener_new(&loop, ctest_dsn(), &o, on_event, &st, &l),
           UV_EINVAL);
  uvpg_listener_opts_init(&o);
  o.heartbeat_timeout_ms = 0;
  CHECK_EQ(uvpg_listener_new(&loop, ctest_dsn(), &o, on_event, &st, &l),
           UV_EINVAL);
  CHECK(l == NULL);
  CHECK_EQ(uvpg_listener_listen(NULL, "x", NULL, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_listener_unlisten(NULL, "x", NULL, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_listener_pause(NULL), UV_EINVAL);
  CHECK_EQ(uvpg_listener_resume(NULL), UV_EINVAL);
  CHECK_EQ(uvpg_listener_close(NULL, NULL, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_listener_is_connected(NULL), 0);
  CHECK_EQ(uvpg_listener_get_backend_pid(NULL), 0);
  CHECK_EQ(uvpg_listener_get_queued(NULL), 0);
  CHECK(uvpg_listener_get_loop(NULL) == NULL);
  CHECK_STR(uvpg_listener_error_message(NULL), "");
  memset(&s, 0xff, sizeof s);
  uvpg_listener_get_stats(NULL, &s);
  CHECK_EQ(s.received, 0);
  CHECK_EQ(s.reserved[3], 0);

  CHECK_EQ(uvpg_listener_new(&loop, ctest_dsn(), NULL, on_event, &st, &l),
           0);
  CHECK_STR(uvpg_listener_error_message(l), "");
  uvpg_listener_get_stats(l, NULL); /* ignored */
  memset(longname, 'c', 64);
  longname[64] = '\0';
  CHECK_EQ(uvpg_listener_listen(l, NULL, on_listen, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_listener_listen(l, "", on_listen, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_listener_listen(l, longname, on_listen, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_listener_unlisten(l, longname, on_listen, NULL), UV_EINVAL);
  longname[63] = '\0'; /* 63 bytes: the longest name */
  CHECK_EQ(uvpg_listener_listen(l, longname, on_listen, NULL), 0);
  run_until(&loop, &st.listens, 1);
  CHECK_EQ(st.listen_status[0], 0);
  finish(&loop, l, NULL);
  CHECK_EQ(st.listens, 1);
}

int main(void) {
  static const struct ctest_case cases[] = {
      {"uvpg_listener_opts_init: the defaults", test_opts_init},
      {"listen, connected, notifications, unlisten, close: each callback "
       "once",
       test_events},
      {"pause: a burst overflows the queue into one gap; resume hands it "
       "over",
       test_pause_overflow},
      {"pg_terminate_backend: disconnected, connected, gap, then each "
       "notification once",
       test_reconnect},
      {"close: a pending listen is told UV_ECANCELED before the close "
       "callback",
       test_close_pending},
      {"usage errors are return codes", test_usage},
  };
  return ctest_run("live/listener-capi", cases,
                   sizeof cases / sizeof cases[0], reset);
}
