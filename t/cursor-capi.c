/* The cursor C ABI from plain C99, against the test server.
 *
 * Built with -std=c99 -pedantic -Werror and only <uvpg.h>.  Each case
 * owns its loop, counts its callbacks (exactly once, never inside the
 * call, in order, UV_ECANCELED before the close callback) and ends with
 * uv_loop_close() == 0.  The last line is a summary the test command
 * adds up: "[cursor-capi] test cases: N | P passed | F failed | 0
 * skipped".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

static int failures;

static const char *dsn(void) {
  const char *d = getenv("UVPG_DSN");
  if (!d) {
    fprintf(stderr, "UVPG_DSN is not set: run through scripts/check.sh\n");
    exit(1);
  }
  return d;
}

#define MAXCALLS 32

/* Everything a case records; reset before each case. */
static struct {
  uvpg_conn_t *conn;
  uvpg_cursor_t *cur;
  int connect_calls, connect_status;
  int conn_close_calls;
  int conn_close_saw_calls; /* callbacks seen when the connection's close ran */
  int conn_close_saw_cursor_close; /* cursor close callbacks seen by then */
  int cursor_close_calls;
  int close_saw_calls;      /* callbacks seen when the cursor's close ran */
  int calls;                /* operation callbacks, in order */
  int tags[MAXCALLS];       /* the data pointer of each, as an int */
  int statuses[MAXCALLS];
  int first[MAXCALLS], nrows[MAXCALLS];
  long long values[MAXCALLS][8]; /* column 0 of up to 8 rows */
  int had_res[MAXCALLS];
  long long row_sum;
  int row_calls;
  int stop_at;              /* each(): stop at this value (0: never) */
  int close_in_row_cb;      /* each(): close the cursor at this value */
  int close_in_fetch_cb;    /* fetch: close the cursor in this tag's cb */
  int close_conn_in_close_cb;
  int close_called;         /* uvpg_cursor_close() was called */
  int refetch_then_close;   /* fetch: fetch again, then close (tag) */
} st;

static void reset(void) { memset(&st, 0, sizeof st); }

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  (void)data;
  st.conn = conn;
  st.connect_calls++;
  st.connect_status = status;
}

static void on_conn_close(uvpg_conn_t *conn, void *data) {
  CHECK(conn == st.conn);
  (void)data;
  st.conn_close_calls++;
  st.conn_close_saw_calls = st.calls;
  st.conn_close_saw_cursor_close = st.cursor_close_calls;
}

static void on_cursor_close(uvpg_cursor_t *cur, void *data) {
  CHECK(cur == st.cur);
  CHECK(data == &st);
  CHECK(uvpg_cursor_is_closed(cur));
  st.cursor_close_calls++;
  st.close_saw_calls = st.calls;
  if (st.close_conn_in_close_cb) {
    uvpg_conn_close(st.conn, on_conn_close, NULL);
  }
}

static void close_cursor(uvpg_cursor_t *cur) {
  st.close_called = 1;
  uvpg_cursor_close(cur, on_cursor_close, &st);
}

static int record(int tag, int status) {
  int i = st.calls++;
  if (i < MAXCALLS) {
    st.tags[i] = tag;
    st.statuses[i] = status;
  }
  return i;
}

static void on_done(uvpg_cursor_t *cur, int status, void *data) {
  CHECK(cur == st.cur);
  record((int)(size_t)data, status);
}

static void on_fetch(uvpg_cursor_t *cur, int status, const uvpg_result_t *res,
                     int first_row, int nrows, void *data) {
  int i = record((int)(size_t)data, status), r;
  CHECK(cur == st.cur);
  if (i < MAXCALLS) {
    st.first[i] = first_row;
    st.nrows[i] = nrows;
    st.had_res[i] = res != NULL;
    for (r = 0; r < nrows && r < 8; r++) {
      st.values[i][r] = atoll(uvpg_result_value(res, first_row + r, 0));
    }
  }
  if (status < 0) {
    CHECK(res == NULL);
    CHECK_EQ(nrows, 0);
  }
  if (st.refetch_then_close == (int)(size_t)data) {
    /* A client cursor's rows are at hand: this fetch completes at once,
     * inside this callback, and is then canceled by the close. */
    CHECK_EQ(uvpg_cursor_fetch(cur, 1, on_fetch, (void *)99), 0);
    close_cursor(cur);
    CHECK_EQ(st.cursor_close_calls, 0);
  }
  if (st.close_in_fetch_cb == (int)(size_t)data) {
    close_cursor(cur);
    CHECK_EQ(st.cursor_close_calls, 0);
  }
}

static int on_row(uvpg_cursor_t *cur, const uvpg_result_t *res, int row,
                  void *data) {
  long long v = atoll(uvpg_result_value(res, row, 0));
  CHECK(cur == st.cur);
  (void)data;
  st.row_calls++;
  st.row_sum += v;
  if (st.close_in_row_cb && v == st.close_in_row_cb) {
    close_cursor(cur);
  }
  return st.stop_at && v == st.stop_at;
}

/* Runs `loop` until `*count` reaches `want` (or nothing is left). */
static void run_until(uv_loop_t *loop, const int *count, int want) {
  while (*count < want && uv_run(loop, UV_RUN_ONCE)) {
  }
}

static void open_conn(uv_loop_t *loop) {
  CHECK_EQ(uv_loop_init(loop), 0);
  CHECK_EQ(uvpg_connect(loop, dsn(), NULL, on_connect, &st), 0);
  run_until(loop, &st.connect_calls, 1);
  CHECK_EQ(st.connect_calls, 1);
  CHECK_EQ(st.connect_status, 0);
}

/* Closes the cursor (when open) and the connection, then the loop. */
static void finish(uv_loop_t *loop) {
  if (st.cur && !st.close_called) {
    close_cursor(st.cur);
  }
  if (st.cur) {
    run_until(loop, &st.cursor_close_calls, 1);
  }
  CHECK_EQ(st.cursor_close_calls, st.cur ? 1 : 0);
  if (st.conn_close_calls == 0) {
    uvpg_conn_close(st.conn, on_conn_close, NULL);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.conn_close_calls, 1);
  CHECK_EQ(uv_loop_close(loop), 0);
}

/* Opens a connection and a named cursor `name` fetching `itersize` rows
 * at a time, and executes "SELECT g FROM generate_series(1, 9) g" on it
 * with tag 1 (not waited for). */
static void open_named_nine(uv_loop_t *loop, const char *name,
                            int itersize) {
  uvpg_cursor_opts_t o;
  open_conn(loop);
  uvpg_cursor_opts_init(&o);
  o.name = name;
  o.itersize = itersize;
  CHECK_EQ(uvpg_cursor_new(st.conn, &o, &st.cur), 0);
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SELECT g FROM generate_series(1, 9) g",
                               0, NULL, on_done, (void *)1),
           0);
}

/* Opens a connection and a client cursor, and executes "SELECT 1" on it
 * with tag 1 (not waited for). */
static void open_client_one(uv_loop_t *loop) {
  open_conn(loop);
  CHECK_EQ(uvpg_cursor_new(st.conn, NULL, &st.cur), 0);
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SELECT 1", 0, NULL, on_done,
                               (void *)1),
           0);
}

static void test_client_cursor(void) {
  uv_loop_t loop;
  const char *params[] = {"x"};
  open_conn(&loop);
  CHECK_EQ(uvpg_cursor_new(st.conn, NULL, &st.cur), 0);
  /* Before any execute. */
  CHECK_EQ(uvpg_cursor_get_rowcount(st.cur), -1);
  CHECK_EQ(uvpg_cursor_get_rownumber(st.cur), -1);
  CHECK(uvpg_cursor_get_statusmessage(st.cur) == NULL);
  CHECK(uvpg_cursor_get_query(st.cur) == NULL);
  CHECK_EQ(uvpg_cursor_get_ncolumns(st.cur), -1);
  CHECK_EQ(uvpg_cursor_get_arraysize(st.cur), 1);
  CHECK(uvpg_cursor_get_name(st.cur) == NULL);
  CHECK(uvpg_cursor_get_conn(st.cur) == st.conn);
  CHECK_EQ(uvpg_cursor_get_timeout(st.cur), 0);
  CHECK_EQ(uvpg_cursor_get_lastrowid(st.cur), 0);
  CHECK_EQ(uvpg_cursor_is_closed(st.cur), 0);
  CHECK_STR(uvpg_cursor_error_message(st.cur), "");
  uvpg_cursor_set_data(st.cur, &loop);
  CHECK(uvpg_cursor_get_data(st.cur) == &loop);

  CHECK_EQ(uvpg_cursor_execute(st.cur,
                               "SELECT g, 1.5::numeric(6,2) AS p, %s AS t "
                               "FROM generate_series(1, 10) g",
                               1, params, on_done, (void *)1),
           0);
  CHECK_EQ(st.calls, 0); /* never inside the call */
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 3, on_fetch, (void *)2), 0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, -1, on_fetch, (void *)3), 0);
  run_until(&loop, &st.calls, 3);
  CHECK_EQ(uvpg_cursor_set_arraysize(st.cur, 2), 0);
  CHECK_EQ(uvpg_cursor_set_arraysize(st.cur, 0), UV_EINVAL);
  CHECK_EQ(uvpg_cursor_get_arraysize(st.cur), 2);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, -1, on_fetch, (void *)4), 0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 0, on_fetch, (void *)5), 0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 0, on_fetch, (void *)6), 0);
  CHECK_EQ(st.calls, 3);
  run_until(&loop, &st.calls, 6);
  CHECK_EQ(st.calls, 6);
  CHECK_EQ(st.tags[0], 1);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.tags[1], 2);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_EQ(st.first[1], 0);
  CHECK_EQ(st.nrows[1], 3);
  CHECK_EQ(st.values[1][2], 3);
  CHECK_EQ(st.tags[2], 3);
  CHECK_EQ(st.first[2], 3);
  CHECK_EQ(st.nrows[2], 1);
  CHECK_EQ(st.values[2][0], 4);
  CHECK_EQ(st.nrows[3], 2);
  CHECK_EQ(st.values[3][0], 5);
  CHECK_EQ(st.nrows[4], 4);
  CHECK_EQ(st.values[4][3], 10);
  CHECK_EQ(st.statuses[5], 0);
  CHECK_EQ(st.nrows[5], 0); /* exhausted */
  CHECK_EQ(st.had_res[5], 0);

  CHECK_EQ(uvpg_cursor_get_rowcount(st.cur), 10);
  CHECK_EQ(uvpg_cursor_get_rownumber(st.cur), 10);
  CHECK_STR(uvpg_cursor_get_statusmessage(st.cur), "SELECT 10");
  CHECK_STR(uvpg_cursor_get_query(st.cur),
            "SELECT g, 1.5::numeric(6,2) AS p, 'x' AS t "
            "FROM generate_series(1, 10) g");
  CHECK_EQ(uvpg_cursor_get_ncolumns(st.cur), 3);
  CHECK_STR(uvpg_cursor_get_column_name(st.cur, 0), "g");
  CHECK_EQ(uvpg_cursor_get_column_type(st.cur, 0), 23);
  CHECK_EQ(uvpg_cursor_get_column_size(st.cur, 0), 4);
  CHECK_EQ(uvpg_cursor_get_column_precision(st.cur, 0), -1);
  CHECK_EQ(uvpg_cursor_get_column_type(st.cur, 1), 1700);
  CHECK_EQ(uvpg_cursor_get_column_precision(st.cur, 1), 6);
  CHECK_EQ(uvpg_cursor_get_column_scale(st.cur, 1), 2);
  CHECK_EQ(uvpg_cursor_get_column_size(st.cur, 1), -1);
  CHECK(uvpg_cursor_get_column_name(st.cur, 3) == NULL);
  CHECK(uvpg_cursor_get_column_name(st.cur, -1) == NULL);

  close_cursor(st.cur);
  CHECK_EQ(st.cursor_close_calls, 0);
  CHECK_EQ(uvpg_cursor_is_closed(st.cur), 1);
  run_until(&loop, &st.cursor_close_calls, 1);
  CHECK_EQ(st.cursor_close_calls, 1);
  finish(&loop);
}

static void test_named_each(void) {
  uv_loop_t loop;
  uvpg_cursor_opts_t o;
  open_conn(&loop);
  uvpg_cursor_opts_init(&o);
  CHECK_EQ(o.arraysize, 1);
  CHECK_EQ(o.itersize, 2000);
  o.name = "c capi";
  o.itersize = 7;
  o.timeout_ms = 5000;
  CHECK_EQ(uvpg_cursor_new(st.conn, &o, &st.cur), 0);
  CHECK_STR(uvpg_cursor_get_name(st.cur), "c capi");
  CHECK_EQ(uvpg_cursor_get_timeout(st.cur), 5000);
  CHECK_EQ(uvpg_cursor_execute(st.cur,
                               "SELECT g FROM generate_series(1, 100) g", 0,
                               NULL, on_done, (void *)1),
           0);
  CHECK_EQ(uvpg_cursor_each(st.cur, on_row, on_done, &st), 0);
  CHECK_EQ(st.row_calls, 0);
  run_until(&loop, &st.calls, 2);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.statuses[1], 100); /* the rows handed to row_cb */
  CHECK_EQ(st.row_calls, 100);
  CHECK_EQ(st.row_sum, 5050);
  CHECK_EQ(uvpg_cursor_get_rowcount(st.cur), 100);
  CHECK_STR(uvpg_cursor_get_query(st.cur),
            "DECLARE \"c capi\" NO SCROLL CURSOR FOR SELECT g FROM "
            "generate_series(1, 100) g");
  /* Exhausted: each() finds no row. */
  CHECK_EQ(uvpg_cursor_each(st.cur, on_row, on_done, &st), 0);
  run_until(&loop, &st.calls, 3);
  CHECK_EQ(st.statuses[2], 0);

  /* Stopping early: the row that stopped is consumed; a fetch that spans
   * the rest of the batch and the next FETCH comes as one result. */
  st.stop_at = 2;
  st.row_calls = 0;
  CHECK_EQ(uvpg_cursor_execute(st.cur,
                               "SELECT g FROM generate_series(1, 20) g", 0,
                               NULL, on_done, (void *)4),
           0);
  CHECK_EQ(uvpg_cursor_each(st.cur, on_row, on_done, (void *)&st), 0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 8, on_fetch, (void *)6), 0);
  run_until(&loop, &st.calls, 6);
  CHECK_EQ(st.statuses[3], 0);
  CHECK_EQ(st.statuses[4], 2);
  CHECK_EQ(st.row_calls, 2);
  CHECK_EQ(st.statuses[5], 0);
  CHECK_EQ(st.first[5], 0);
  CHECK_EQ(st.nrows[5], 8);
  CHECK_EQ(st.values[5][0], 3);
  CHECK_EQ(st.values[5][7], 10);
  CHECK_EQ(uvpg_cursor_get_rownumber(st.cur), 10);
  finish(&loop);
}

static void test_scroll(void) {
  uv_loop_t loop;
  uvpg_cursor_opts_t o;
  open_conn(&loop);
  uvpg_cursor_opts_init(&o);
  o.name = "scroller";
  o.scrollable = 1;
  o.itersize = 3;
  CHECK_EQ(uvpg_cursor_new(st.conn, &o, &st.cur), 0);
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SELECT g FROM generate_series(0, 9) g",
                               0, NULL, on_done, (void *)1),
           0);
  CHECK_EQ(uvpg_cursor_scroll(st.cur, 4, UVPG_SCROLL_RELATIVE, on_done,
                              (void *)2),
           0);
  CHECK_EQ(uvpg_cursor_scroll(st.cur, 20, UVPG_SCROLL_RELATIVE, on_done,
                              (void *)3),
           0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 1, on_fetch, (void *)4), 0);
  CHECK_EQ(uvpg_cursor_scroll(st.cur, 1, UVPG_SCROLL_ABSOLUTE, on_done,
                              (void *)5),
           0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 2, on_fetch, (void *)6), 0);
  CHECK_EQ(uvpg_cursor_scroll(st.cur, -10, UVPG_SCROLL_ABSOLUTE, on_done,
                              (void *)7),
           0);
  CHECK_EQ(uvpg_cursor_scroll(st.cur, 1, 7, on_done, (void *)99), UV_EINVAL);
  CHECK_EQ(st.calls, 0);
  run_until(&loop, &st.calls, 7);
  CHECK_EQ(st.calls, 7);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_EQ(st.statuses[2], UV_ERANGE);
  CHECK(strstr(uvpg_cursor_error_message(st.cur), "outside") != NULL);
  CHECK_EQ(st.values[3][0], 4); /* the failed scroll did not move */
  CHECK_EQ(st.statuses[4], 0);
  CHECK_EQ(st.nrows[5], 2);
  CHECK_EQ(st.values[5][0], 1);
  CHECK_EQ(st.values[5][1], 2);
  CHECK_EQ(st.statuses[6], UV_ERANGE);
  CHECK_EQ(uvpg_cursor_get_rownumber(st.cur), 3);
  CHECK_EQ(st.tags[6], 7);
  finish(&loop);
}

static void test_mogrify_callproc(void) {
  uv_loop_t loop;
  const char *p1[] = {"it's", NULL, "a\\b"};
  const char *p2[] = {"2", "4"};
  char *out = NULL;
  open_conn(&loop);
  CHECK_EQ(uvpg_cursor_new(st.conn, NULL, &st.cur), 0);
  CHECK_EQ(uvpg_cursor_mogrify(st.cur, "SELECT %s, %s, $3", 3, p1, &out),
           UVPG_EPARAM);
  CHECK(out == NULL);
  CHECK(strstr(uvpg_cursor_error_message(st.cur), "mixes") != NULL);
  CHECK_EQ(uvpg_cursor_mogrify(st.cur, "SELECT %s, %s, %s", 3, p1, &out), 0);
  CHECK_STR(out, "SELECT 'it''s', NULL, E'a\\\\b'");
  uvpg_cursor_free_string(out);
  CHECK_EQ(uvpg_cursor_mogrify(st.cur, "SELECT 1", 0, NULL, &out), 0);
  CHECK_STR(out, "SELECT 1");
  uvpg_cursor_free_string(out);
  uvpg_cursor_free_string(NULL);
  CHECK_EQ(uvpg_cursor_mogrify(st.cur, "SELECT 1", 0, NULL, NULL),
           UV_EINVAL);

  CHECK_EQ(uvpg_cursor_callproc(st.cur, "pg_catalog.int4larger", 2, p2,
                                on_done, (void *)1),
           0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 0, on_fetch, (void *)2), 0);
  CHECK_EQ(uvpg_cursor_callproc(st.cur, "now(); --", 0, NULL, on_done,
                                (void *)3),
           0);
  run_until(&loop, &st.calls, 3);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.nrows[1], 1);
  CHECK_EQ(st.values[1][0], 4);
  CHECK_EQ(st.statuses[2], UV_EINVAL);
  CHECK_STR(uvpg_cursor_get_query(st.cur),
            "SELECT * FROM pg_catalog.int4larger('2', '4')");
  finish(&loop);
}

static void test_no_result_set(void) {
  uv_loop_t loop;
  open_conn(&loop);
  CHECK_EQ(uvpg_cursor_new(st.conn, NULL, &st.cur), 0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 1, on_fetch, (void *)1), 0);
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SET application_name = 'capi'", 0,
                               NULL, on_done, (void *)2),
           0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 1, on_fetch, (void *)3), 0);
  CHECK_EQ(uvpg_cursor_each(st.cur, on_row, on_done, (void *)4), 0);
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SELECT 1/0", 0, NULL, on_done,
                               (void *)5),
           0);
  run_until(&loop, &st.calls, 5);
  CHECK_EQ(st.statuses[0], UV_EINVAL);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_EQ(st.statuses[2], UV_EINVAL);
  CHECK_EQ(st.statuses[3], UV_EINVAL);
  CHECK_EQ(st.statuses[4], UVPG_ESERVER);
  CHECK(strstr(uvpg_cursor_error_message(st.cur), "division by zero") !=
        NULL);
  CHECK_STR(uvpg_conn_error_sqlstate(st.conn), "22012");
  CHECK_EQ(st.row_calls, 0);
  finish(&loop);
}

static void test_close_with_work_pending(void) {
  uv_loop_t loop;
  open_named_nine(&loop, "doomed", 0); /* itersize 0: the default */
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 2, on_fetch, (void *)2), 0);
  CHECK_EQ(uvpg_cursor_scroll(st.cur, 1, UVPG_SCROLL_RELATIVE, on_done,
                              (void *)3),
           0);
  CHECK_EQ(uvpg_cursor_each(st.cur, on_row, on_done, (void *)4), 0);
  close_cursor(st.cur);
  uvpg_cursor_close(st.cur, on_cursor_close, &st); /* ignored */
  CHECK_EQ(st.calls, 0);
  CHECK_EQ(st.cursor_close_calls, 0);
  /* Closing: no new operation. */
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 1, on_fetch, (void *)9), UV_EINVAL);
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SELECT 1", 0, NULL, on_done,
                               (void *)9),
           UV_EINVAL);
  run_until(&loop, &st.cursor_close_calls, 1);
  CHECK_EQ(st.cursor_close_calls, 1);
  CHECK_EQ(st.calls, 4);
  CHECK_EQ(st.close_saw_calls, 4); /* every operation before close_cb */
  CHECK_EQ(st.statuses[0], UV_ECANCELED);
  CHECK_EQ(st.statuses[1], UV_ECANCELED);
  CHECK_EQ(st.statuses[2], UV_ECANCELED);
  CHECK_EQ(st.statuses[3], UV_ECANCELED);
  CHECK_EQ(st.tags[0], 1);
  CHECK_EQ(st.tags[3], 4);
  CHECK_EQ(st.row_calls, 0);
  /* The server has no cursor and no transaction left. */
  CHECK_EQ(uvpg_conn_get_transaction_status(st.conn), UVPG_TRANS_IDLE);
  st.close_conn_in_close_cb = 0;
  finish(&loop);
}

static void test_close_from_callback(void) {
  uv_loop_t loop;
  open_named_nine(&loop, "self-closing", 4);
  st.close_in_fetch_cb = 2;
  st.close_conn_in_close_cb = 1; /* and the connection from close_cb */
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 2, on_fetch, (void *)2), 0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 2, on_fetch, (void *)3), 0);
  run_until(&loop, &st.cursor_close_calls, 1);
  CHECK_EQ(st.calls, 3);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_EQ(st.values[1][1], 2);
  CHECK_EQ(st.statuses[2], UV_ECANCELED); /* pending when it closed */
  CHECK_EQ(st.close_saw_calls, 3);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.conn_close_calls, 1);
  CHECK_EQ(uv_loop_close(&loop), 0);

  /* Closing from inside a per-row callback. */
  reset();
  open_named_nine(&loop, "self-closing", 4);
  st.close_in_row_cb = 3;
  CHECK_EQ(uvpg_cursor_each(st.cur, on_row, on_done, (void *)2), 0);
  run_until(&loop, &st.cursor_close_calls, 1);
  CHECK_EQ(st.row_calls, 3);
  CHECK_EQ(st.calls, 2);
  CHECK_EQ(st.statuses[1], UV_ECANCELED);
  CHECK_EQ(st.close_saw_calls, 2);
  finish(&loop);

  /* A client cursor: fetch again from inside a fetch callback, then
   * close; the new fetch is canceled, the close callback comes last. */
  reset();
  open_conn(&loop);
  CHECK_EQ(uvpg_cursor_new(st.conn, NULL, &st.cur), 0);
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SELECT g FROM generate_series(1, 9) g",
                               0, NULL, on_done, (void *)1),
           0);
  st.refetch_then_close = 2;
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 2, on_fetch, (void *)2), 0);
  run_until(&loop, &st.cursor_close_calls, 1);
  CHECK_EQ(st.calls, 3);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_EQ(st.tags[2], 99);
  CHECK_EQ(st.statuses[2], UV_ECANCELED);
  CHECK_EQ(st.close_saw_calls, 3);
  finish(&loop);
}

static void test_connection_closes_first(void) {
  uv_loop_t loop;
  open_named_nine(&loop, "orphan", 0); /* itersize 0: the default */
  run_until(&loop, &st.calls, 1);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 0, on_fetch, (void *)2), 0);
  uvpg_conn_close(st.conn, on_conn_close, NULL);
  /* The connection is closing: no new operation, no new cursor. */
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 1, on_fetch, (void *)9), UVPG_ECLOSED);
  {
    uvpg_cursor_t *other = NULL;
    CHECK_EQ(uvpg_cursor_new(st.conn, NULL, &other), UVPG_ECLOSED);
    CHECK(other == NULL);
  }
  /* Close the cursor before the connection's close callback returns
   * (here: right away); its pending fetch completes first. */
  close_cursor(st.cur);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.calls, 2);
  CHECK_EQ(st.statuses[1], UV_ECANCELED);
  CHECK_EQ(st.cursor_close_calls, 1);
  CHECK_EQ(st.conn_close_calls, 1);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

/* uvpg(7) rule 3: closing the connection completes every pending cursor
 * operation with UV_ECANCELED, each once, before the close callback. */
static void test_conn_close_cancels_cursor_work(void) {
  uv_loop_t loop;
  open_client_one(&loop);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 1, on_fetch, (void *)2), 0);
  CHECK_EQ(uvpg_cursor_each(st.cur, on_row, on_done, (void *)3), 0);
  uvpg_conn_close(st.conn, on_conn_close, NULL);
  CHECK_EQ(st.calls, 0);
  run_until(&loop, &st.conn_close_calls, 1);
  CHECK_EQ(st.conn_close_calls, 1);
  CHECK_EQ(st.calls, 3);
  CHECK_EQ(st.conn_close_saw_calls, 3); /* every one before close_cb */
  CHECK_EQ(st.tags[0], 1);
  CHECK_EQ(st.tags[1], 2);
  CHECK_EQ(st.tags[2], 3);
  CHECK_EQ(st.statuses[0], UV_ECANCELED);
  CHECK_EQ(st.statuses[1], UV_ECANCELED);
  CHECK_EQ(st.statuses[2], UV_ECANCELED);
  CHECK_EQ(st.row_calls, 0);
  close_cursor(st.cur);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.calls, 3);
  CHECK_EQ(st.cursor_close_calls, 1);
  CHECK_EQ(uv_loop_close(&loop), 0);

  /* A named cursor with a FETCH in flight and more queued, and its own
   * close called before the connection's: the cursor's callbacks, its
   * close callback included, all come before the connection's. */
  reset();
  open_named_nine(&loop, "cut off", 2);
  run_until(&loop, &st.calls, 1);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 3, on_fetch, (void *)2), 0);
  CHECK_EQ(uvpg_cursor_scroll(st.cur, 1, UVPG_SCROLL_RELATIVE, on_done,
                              (void *)3),
           0);
  CHECK_EQ(uvpg_cursor_each(st.cur, on_row, on_done, (void *)4), 0);
  uvpg_conn_close(st.conn, on_conn_close, NULL);
  close_cursor(st.cur);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.calls, 4);
  CHECK_EQ(st.statuses[1], UV_ECANCELED);
  CHECK_EQ(st.statuses[2], UV_ECANCELED);
  CHECK_EQ(st.statuses[3], UV_ECANCELED);
  CHECK_EQ(st.tags[3], 4);
  CHECK_EQ(st.cursor_close_calls, 1);
  CHECK_EQ(st.close_saw_calls, 4);
  CHECK_EQ(st.conn_close_calls, 1);
  CHECK_EQ(st.conn_close_saw_calls, 4);
  CHECK_EQ(st.conn_close_saw_cursor_close, 1);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

static void test_cursor_outlives_connection(void) {
  uv_loop_t loop;
  open_client_one(&loop);
  run_until(&loop, &st.calls, 1);
  /* The connection goes first and its memory with it; the cursor knows,
   * and every later call fails cleanly instead of touching freed memory
   * (run under ASan and valgrind by the test command). */
  uvpg_conn_close(st.conn, on_conn_close, NULL);
  run_until(&loop, &st.conn_close_calls, 1);
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(uvpg_cursor_get_conn(st.cur) == NULL);
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SELECT 2", 0, NULL, on_done,
                               (void *)2),
           UVPG_ECLOSED);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, 1, on_fetch, (void *)3), UVPG_ECLOSED);
  close_cursor(st.cur);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.calls, 1);
  CHECK_EQ(st.cursor_close_calls, 1);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

static void test_bad_arguments(void) {
  uv_loop_t loop;
  uvpg_cursor_opts_t o;
  uvpg_cursor_t *cur = (uvpg_cursor_t *)&o;
  open_conn(&loop);
  CHECK_EQ(uvpg_cursor_new(NULL, NULL, &cur), UV_EINVAL);
  CHECK(cur == NULL);
  CHECK_EQ(uvpg_cursor_new(st.conn, NULL, NULL), UV_EINVAL);
  uvpg_cursor_opts_init(&o);
  o.arraysize = -1;
  CHECK_EQ(uvpg_cursor_new(st.conn, &o, &cur), UV_EINVAL);
  CHECK_EQ(uvpg_cursor_new(st.conn, NULL, &st.cur), 0);
  CHECK_EQ(uvpg_cursor_execute(st.cur, NULL, 0, NULL, on_done, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SELECT $1", 1, NULL, on_done, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_cursor_execute(NULL, "SELECT 1", 0, NULL, on_done, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_cursor_fetch(st.cur, -2, on_fetch, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_cursor_each(st.cur, NULL, on_done, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_cursor_callproc(st.cur, NULL, 0, NULL, on_done, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_cursor_get_rowcount(NULL), -1);
  CHECK_EQ(uvpg_cursor_get_ncolumns(NULL), -1);
  CHECK_EQ(uvpg_cursor_is_closed(NULL), 1);
  uvpg_cursor_close(NULL, on_cursor_close, NULL);
  /* A NULL callback: the statement still runs. */
  CHECK_EQ(uvpg_cursor_execute(st.cur, "SELECT 1", 0, NULL, NULL, NULL), 0);
  CHECK_EQ(st.calls, 0);
  finish(&loop);
}

int main(void) {
  static const struct {
    const char *name;
    void (*fn)(void);
  } cases[] = {
      {"uvpg_cursor_new/execute/fetch/getters: a client cursor",
       test_client_cursor},
      {"uvpg_cursor_each: a named cursor, row callbacks, early stop",
       test_named_each},
      {"uvpg_cursor_scroll: in range, out of range keeps the position",
       test_scroll},
      {"uvpg_cursor_mogrify/callproc", test_mogrify_callproc},
      {"uvpg_cursor_fetch: no result set gives UV_EINVAL",
       test_no_result_set},
      {"uvpg_cursor_close: pending work gets UV_ECANCELED first",
       test_close_with_work_pending},
      {"uvpg_cursor_close: legal inside fetch and row callbacks",
       test_close_from_callback},
      {"uvpg_conn_close first: the cursor still closes cleanly",
       test_connection_closes_first},
      {"uvpg_conn_close: pending cursor work gets UV_ECANCELED first",
       test_conn_close_cancels_cursor_work},
      {"uvpg_cursor_*: a cursor outliving its connection fails cleanly",
       test_cursor_outlives_connection},
      {"bad arguments: sync errors without callbacks", test_bad_arguments},
  };
  size_t i, n = sizeof cases / sizeof cases[0];
  for (i = 0; i < n; i++) {
    reset();
    ctest_failed = 0;
    cases[i].fn();
    printf("%s: %s\n", ctest_failed ? "FAIL" : "ok", cases[i].name);
    failures += ctest_failed;
  }
  printf("[cursor-capi] test cases: %d | %d passed | %d failed | 0 skipped\n",
         (int)n, (int)n - failures, failures);
  return failures ? 1 : 0;
}
