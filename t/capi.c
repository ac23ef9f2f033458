/* The C ABI from plain C99, against the test server.
 *
 * Built with -std=c99 -pedantic -Werror and only <uvpg.h>, as a libuv
 * program would be.  Each case owns its loop, counts its callbacks and
 * ends with uv_loop_close() == 0.  The last line is a summary the test
 * command adds up: "[capi] test cases: N | P passed | F failed".
 */
#include <limits.h>
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

/* Everything a case records; reset before each case. */
static struct {
  uvpg_conn_t *conn;
  int connect_calls, connect_status;
  int close_calls;
  int query_calls;
  int statuses[16];
  int order[16];
  char values[16][64];
  char sqlstate[16][6];
  int close_seen_queries; /* query callbacks seen when close_cb ran */
} st;

static void reset(void) { memset(&st, 0, sizeof st); }

static void on_close(uvpg_conn_t *conn, void *data) {
  CHECK(conn == st.conn);
  CHECK(data == &st);
  st.close_calls++;
  st.close_seen_queries = st.query_calls;
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  CHECK(data == &st);
  CHECK(conn != NULL);
  st.conn = conn;
  st.connect_calls++;
  st.connect_status = status;
}

static void on_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  int i = st.query_calls++;
  CHECK(conn == st.conn);
  if (i < 16) {
    st.statuses[i] = status;
    st.order[i] = (int)(size_t)data;
    if (res && uvpg_result_ntuples(res) > 0) {
      const char *v = uvpg_result_value(res, 0, 0);
      strncpy(st.values[i], v, sizeof st.values[i] - 1);
    }
    if (res && uvpg_result_error_field(res, UVPG_DIAG_SQLSTATE)) {
      strncpy(st.sqlstate[i],
              uvpg_result_error_field(res, UVPG_DIAG_SQLSTATE), 5);
    }
  }
  uvpg_result_free(res);
}

/* Connects on `loop` and runs it until the connect callback ran. */
static int connect_now(uv_loop_t *loop, const char *conninfo) {
  CHECK_EQ(uvpg_connect(loop, conninfo, NULL, on_connect, &st), 0);
  while (st.connect_calls == 0 && uv_run(loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.connect_calls, 1);
  return st.connect_status;
}

static void finish(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(loop), 0);
}

static void test_connect_query_close(void) {
  uv_loop_t loop;
  const char *params[] = {"41", NULL};
  uvpg_result_t *none = NULL;
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_get_status(st.conn), UVPG_CONN_READY);
  CHECK(uvpg_conn_get_backend_pid(st.conn) > 0);
  CHECK(uvpg_conn_get_server_version(st.conn) >= 140000);
  CHECK_EQ(uvpg_conn_get_protocol_version(st.conn), 3);
  CHECK_STR(uvpg_conn_get_encoding(st.conn), "UTF8");
  CHECK_STR(uvpg_conn_get_parameter_status(st.conn, "integer_datetimes"),
            "on");
  CHECK(uvpg_conn_get_parameter_status(st.conn, "no_such_thing") == NULL);
  CHECK_EQ(uvpg_conn_get_transaction_status(st.conn), UVPG_TRANS_IDLE);
  CHECK_STR(uvpg_conn_get_isolation_level(st.conn), "read committed");
  CHECK_EQ(uvpg_conn_get_autocommit(st.conn), 1);
  CHECK_EQ(uvpg_conn_get_timeout(st.conn), 60000);
  CHECK_EQ(uvpg_conn_get_echo(st.conn), 0);
  CHECK(uvpg_conn_get_loop(st.conn) == &loop);
  CHECK(strstr(uvpg_conn_get_dsn(st.conn), "password=********") != NULL);
  CHECK(strstr(uvpg_conn_get_dsn(st.conn), getenv("UVPG_TEST_PASSWORD")) ==
        NULL);
  uvpg_conn_set_data(st.conn, &loop);
  CHECK(uvpg_conn_get_data(st.conn) == &loop);

  /* $n and %s placeholders; NULL is SQL NULL. */
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT $1::int + 1, $2::text IS NULL",
                           2, params, on_query, (void *)1),
           0);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT %s::text || '%' || (7 %% 4)", 1, params,
                           on_query, (void *)2),
           0);
  CHECK_EQ(uvpg_conn_get_status(st.conn), UVPG_CONN_BUSY);
  CHECK_EQ(st.query_calls, 0); /* never from inside the call */
  while (st.query_calls < 2 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.query_calls, 2);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_STR(st.values[0], "42");
  CHECK_EQ(st.statuses[1], 0);
  CHECK_STR(st.values[1], "41%3");

  /* Results are libpq's, with range checks. */
  (void)none;
  CHECK(uvpg_result_value(NULL, 0, 0) == NULL);
  CHECK_EQ(uvpg_result_ntuples(NULL), 0);
  uvpg_result_free(NULL);

  uvpg_conn_close(st.conn, on_close, &st);
  CHECK_EQ(st.close_calls, 0);
  finish(&loop);
  CHECK_EQ(st.close_calls, 1);
}

static void rows_cb(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                    void *data) {
  (void)conn;
  (void)data;
  st.query_calls++;
  CHECK_EQ(status, 0);
  CHECK_EQ(uvpg_result_ntuples(res), 3);
  CHECK_EQ(uvpg_result_nfields(res), 2);
  CHECK_STR(uvpg_result_fname(res, 1), "t");
  CHECK_EQ(uvpg_result_fnumber(res, "t"), 1);
  CHECK_EQ(uvpg_result_fnumber(res, "nope"), -1);
  CHECK_EQ(uvpg_result_ftype(res, 0), 23); /* int4 */
  CHECK_EQ(uvpg_result_ftype(res, 1), 25); /* text */
  CHECK_STR(uvpg_result_value(res, 2, 0), "3");
  CHECK_EQ(uvpg_result_isnull(res, 1, 1), 1);
  CHECK_STR(uvpg_result_value(res, 1, 1), "");
  CHECK_EQ(uvpg_result_length(res, 0, 1), 2);
  CHECK(uvpg_result_value(res, 3, 0) == NULL);
  CHECK(uvpg_result_value(res, 0, 2) == NULL);
  CHECK(uvpg_result_fname(res, 5) == NULL);
  CHECK_STR(uvpg_result_cmd_status(res), "SELECT 3");
  CHECK_EQ(uvpg_result_cmd_tuples(res), 3);
  CHECK_STR(uvpg_result_error_message(res), "");
  CHECK(uvpg_result_error_field(res, UVPG_DIAG_SQLSTATE) == NULL);
  uvpg_result_free(res);
}

static void test_result_accessors(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_query(st.conn,
                           "SELECT i, CASE WHEN i = 2 THEN NULL ELSE "
                           "'r' || i END AS t FROM generate_series(1, 3) i",
                           0, NULL, rows_cb, NULL),
           0);
  while (st.query_calls < 1 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.query_calls, 1);
  uvpg_conn_close(st.conn, on_close, &st);
  finish(&loop);
  CHECK_EQ(st.close_calls, 1);
}

static void error_cb(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  (void)data;
  st.query_calls++;
  CHECK_EQ(status, UVPG_ESERVER);
  CHECK(res != NULL);
  CHECK_STR(uvpg_result_error_field(res, UVPG_DIAG_SQLSTATE), "42601");
  CHECK_STR(uvpg_result_error_field(res, UVPG_DIAG_STATEMENT_POSITION), "13");
  CHECK(strstr(uvpg_result_error_message(res), "syntax error") != NULL);
  CHECK(strstr(uvpg_conn_error_message(conn), "syntax error") != NULL);
  CHECK_STR(uvpg_conn_error_sqlstate(conn), "42601");
  uvpg_result_free(res);
}

static void test_server_error_keeps_connection(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT FROM WHERE", 0, NULL, error_cb,
                           NULL),
           0);
  while (st.query_calls < 1 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT 'still fine'", 0, NULL, on_query,
                           NULL),
           0);
  while (st.query_calls < 2 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.statuses[1], 0);
  CHECK_STR(st.values[1], "still fine");
  CHECK_EQ(uvpg_conn_is_closed(st.conn), 0);
  uvpg_conn_close(st.conn, NULL, NULL);
  finish(&loop);
}

static void test_queue_order_and_close_cancels(void) {
  uv_loop_t loop;
  int i;
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  /* Ten at once: they queue in order, never "another operation is in
   * progress". */
  for (i = 0; i < 10; i++) {
    char sql[64];
    sprintf(sql, "SELECT %d", i);
    CHECK_EQ(uvpg_conn_query(st.conn, sql, 0, NULL, on_query,
                             (void *)(size_t)i),
             0);
  }
  while (st.query_calls < 10 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  for (i = 0; i < 10; i++) {
    char want[16];
    sprintf(want, "%d", i);
    CHECK_EQ(st.order[i], i);
    CHECK_STR(st.values[i], want);
  }
  /* Closing with work pending: each callback once, with UV_ECANCELED,
   * before the close callback. */
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT pg_sleep(10)", 0, NULL, on_query,
                           (void *)10),
           0);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT 11", 0, NULL, on_query,
                           (void *)11),
           0);
  uvpg_conn_close(st.conn, on_close, &st);
  CHECK_EQ(st.query_calls, 10); /* not from inside close */
  finish(&loop);
  CHECK_EQ(st.query_calls, 12);
  CHECK_EQ(st.statuses[10], UV_ECANCELED);
  CHECK_EQ(st.statuses[11], UV_ECANCELED);
  CHECK_EQ(st.close_calls, 1);
  CHECK_EQ(st.close_seen_queries, 12);
}

static void close_inside_cb(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                            void *data) {
  (void)data;
  st.query_calls++;
  CHECK_EQ(status, 0);
  uvpg_result_free(res);
  /* Legal from inside a callback, and so is queueing more: it fails
   * with UVPG_ECLOSED, still before the close callback. */
  uvpg_conn_close(conn, on_close, &st);
  CHECK_EQ(uvpg_conn_query(conn, "SELECT 2", 0, NULL, on_query, (void *)2),
           0);
  CHECK_EQ(uvpg_conn_is_closed(conn), 1);
  CHECK_EQ(uvpg_conn_get_status(conn), UVPG_CONN_CLOSED);
}

static void test_close_from_callback(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT 1", 0, NULL, close_inside_cb,
                           NULL),
           0);
  finish(&loop);
  CHECK_EQ(st.query_calls, 2);
  CHECK_EQ(st.statuses[1], UVPG_ECLOSED);
  CHECK_EQ(st.close_calls, 1);
  CHECK_EQ(st.close_seen_queries, 2);
}

static void test_bad_arguments(void) {
  uv_loop_t loop;
  const char *one[] = {"1"};
  uv_loop_init(&loop);
  /* Errors returned by the call: the callback never runs. */
  CHECK_EQ(uvpg_connect(NULL, dsn(), NULL, on_connect, &st), UV_EINVAL);
  CHECK_EQ(uvpg_connect(&loop, dsn(), NULL, NULL, &st), UV_EINVAL);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_query(st.conn, NULL, 0, NULL, on_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT $1", -1, NULL, on_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT $1", 1, NULL, on_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query(NULL, "SELECT 1", 0, NULL, on_query, NULL),
           UV_EINVAL);
  /* Placeholder mistakes fail through the callback with UVPG_EPARAM. */
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT %s, %s", 1, one, on_query,
                           (void *)0),
           0);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT %s, $1", 1, one, on_query,
                           (void *)1),
           0);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT %d", 1, one, on_query,
                           (void *)2),
           0);
  /* Too few values for $n: the server says so. */
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT $1, $2", 1, one, on_query,
                           (void *)3),
           0);
  CHECK_EQ(st.query_calls, 0);
  while (st.query_calls < 4 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.statuses[0], UVPG_EPARAM);
  CHECK_EQ(st.statuses[1], UVPG_EPARAM);
  CHECK_EQ(st.statuses[2], UVPG_EPARAM);
  CHECK_EQ(st.statuses[3], UVPG_ESERVER);
  CHECK_STR(st.sqlstate[3], "08P01");
  /* The NULL callback is allowed: the result is freed for us. */
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT 1", 0, NULL, NULL, NULL), 0);
  uvpg_conn_close(st.conn, NULL, NULL);
  finish(&loop);
  CHECK_EQ(st.query_calls, 4);
}

static void test_malformed_conninfo(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, "host=localhost port"), UV_EINVAL);
  CHECK(st.conn != NULL);
  CHECK(strstr(uvpg_conn_error_message(st.conn), "missing \"=\"") != NULL);
  CHECK_EQ(uvpg_conn_is_closed(st.conn), 1);
  CHECK_EQ(uvpg_conn_get_status(st.conn), UVPG_CONN_BROKEN);
  uvpg_conn_close(st.conn, on_close, &st);
  finish(&loop);
  CHECK_EQ(st.close_calls, 1);
}

static void typed_cb(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  long long i = 0;
  double d = 0;
  int b = -1;
  (void)conn;
  (void)data;
  st.query_calls++;
  CHECK_EQ(status, 0);
  CHECK_EQ(uvpg_result_get_int64(res, 0, 0, &i), 0);
  CHECK_EQ(i, -9223372036854775807LL - 1);
  CHECK_EQ(uvpg_result_get_double(res, 0, 1, &d), 0);
  CHECK(d == 2.5);
  CHECK_EQ(uvpg_result_get_bool(res, 0, 2, &b), 0);
  CHECK_EQ(b, 1);
  /* NULL: 1, the output untouched. */
  i = 7;
  CHECK_EQ(uvpg_result_get_int64(res, 0, 3, &i), 1);
  CHECK_EQ(i, 7);
  /* A text column is not an integer; out of range is EINVAL. */
  CHECK_EQ(uvpg_result_get_int64(res, 0, 4, &i), UVPG_EDATA);
  CHECK_EQ(uvpg_result_get_int64(res, 1, 0, &i), UV_EINVAL);
  CHECK_EQ(uvpg_result_get_int64(res, 0, 0, NULL), UV_EINVAL);
  /* numeric(10,3): the type modifier carries precision and scale. */
  CHECK_EQ(uvpg_result_fmod(res, 5), ((10 << 16) | 3) + 4);
  CHECK_EQ(uvpg_result_fsize(res, 0), 8);
  CHECK(uvpg_result_fsize(res, 4) < 0);
  uvpg_result_free(res);
}

static void test_typed_getters(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_query(st.conn,
                           "SELECT (-9223372036854775807 - 1)::int8, "
                           "2.5::float8, true, NULL::int4, 'x'::text, "
                           "1.5::numeric(10,3)",
                           0, NULL, typed_cb, NULL),
           0);
  while (st.query_calls < 1 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.query_calls, 1);
  uvpg_conn_close(st.conn, NULL, NULL);
  finish(&loop);
}

/* A decoder of the user's own type: the label of an enum as its
 * position, so 'happy' reads as 2. */
static int decode_mood(const char *value, int len, int binary,
                       unsigned int type_oid, void *out, void *data) {
  static const char *const labels[] = {"sad", "ok", "happy"};
  int i;
  (void)binary;
  (void)type_oid;
  CHECK(data == &st);
  for (i = 0; i < 3; i++) {
    if ((int)strlen(labels[i]) == len && memcmp(labels[i], value, len) == 0) {
      *(int *)out = i;
      return 0;
    }
  }
  return UVPG_EDATA;
}

static unsigned int registered_oid;

static void on_registered(uvpg_conn_t *conn, int status,
                          unsigned int type_oid, void *data) {
  (void)conn;
  st.statuses[st.query_calls++] = status;
  if ((size_t)data == 1) {
    registered_oid = type_oid;
  }
}

static void custom_cb(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                      void *data) {
  int mood = -1;
  (void)conn;
  (void)data;
  st.query_calls++;
  CHECK_EQ(status, 0);
  CHECK_EQ(uvpg_result_ftype(res, 0), registered_oid);
  CHECK_EQ(uvpg_result_get_custom(res, 0, 0, &mood), 0);
  CHECK_EQ(mood, 2);
  mood = -1;
  CHECK_EQ(uvpg_result_get_custom(res, 1, 0, &mood), 0);
  CHECK_EQ(mood, 0);
  CHECK_EQ(uvpg_result_get_custom(res, 2, 0, &mood), 1); /* NULL */
  CHECK_EQ(uvpg_result_get_custom(res, 0, 1, &mood), UVPG_ENOCODEC);
  CHECK_EQ(uvpg_result_get_custom(res, 9, 0, &mood), UV_EINVAL);
  uvpg_result_free(res);
}

static void test_register_type(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_register_type(st.conn, "uvpg_mood", NULL, NULL,
                                   on_registered, NULL),
           UV_EINVAL);
  /* A type of this session only (pg_temp); queued before its lookup. */
  CHECK_EQ(uvpg_conn_query(st.conn,
                           "CREATE TYPE pg_temp.uvpg_mood AS ENUM "
                           "('sad', 'ok', 'happy')",
                           0, NULL, on_query, NULL),
           0);
  CHECK_EQ(uvpg_conn_register_type(st.conn, "uvpg_mood", decode_mood, &st,
                                   on_registered, (void *)1),
           0);
  CHECK_EQ(uvpg_conn_register_type(st.conn, "no_such_type", decode_mood,
                                   &st, on_registered, (void *)2),
           0);
  while (st.query_calls < 3 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.statuses[1], 0);
  CHECK(registered_oid >= 16384);
  CHECK_EQ(st.statuses[2], UV_ENOENT);
  CHECK(strstr(uvpg_conn_error_message(st.conn), "no_such_type") != NULL);
  CHECK_EQ(uvpg_conn_query(st.conn,
                           "SELECT m, 1 FROM (VALUES ('happy'::uvpg_mood), "
                           "('sad'), (NULL)) v(m)",
                           0, NULL, custom_cb, NULL),
           0);
  while (st.query_calls < 4 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.query_calls, 4);
  uvpg_conn_close(st.conn, NULL, NULL);
  finish(&loop);
}

/* The C boundary: calls that fail return a code, never run their
 * callback (uvpg(7) rule 1), and let no C++ exception out. */
static int stray_calls; /* callbacks of calls that returned an error */

static void stray_connect(uvpg_conn_t *conn, int status, void *data) {
  (void)conn;
  (void)status;
  (void)data;
  stray_calls++;
}

static void stray_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                        void *data) {
  (void)conn;
  (void)status;
  (void)data;
  stray_calls++;
  uvpg_result_free(res);
}

static void stray_registered(uvpg_conn_t *conn, int status,
                             unsigned int type_oid, void *data) {
  (void)conn;
  (void)status;
  (void)type_oid;
  (void)data;
  stray_calls++;
}

static int stray_copy_row(uvpg_conn_t *conn, const char *buf, size_t len,
                          void *data) {
  (void)conn;
  (void)buf;
  (void)len;
  (void)data;
  stray_calls++;
  return 0;
}

static void stray_copy_ready(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
  stray_calls++;
}

static void stray_drained(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
  stray_calls++;
}

/* Runs `sql`, which must be the only statement left, then closes: its
 * callback and the close callback must be the only ones to run. */
static void last_query_and_close(uv_loop_t *loop, const char *sql) {
  CHECK_EQ(uvpg_conn_query(st.conn, sql, 0, NULL, on_query, NULL), 0);
  while (st.query_calls < 1 && uv_run(loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.statuses[0], 0);
  uvpg_conn_close(st.conn, on_close, &st);
  finish(loop);
  CHECK_EQ(st.query_calls, 1);
  CHECK_EQ(st.close_calls, 1);
  CHECK_EQ(stray_calls, 0);
}

static void test_errors_never_call_back(void) {
  uv_loop_t loop;
  const char *one[] = {"1"};
  stray_calls = 0;
  uv_loop_init(&loop);
  CHECK_EQ(uvpg_connect(NULL, dsn(), NULL, stray_connect, NULL), UV_EINVAL);
  CHECK_EQ(connect_now(&loop, dsn()), 0);

  CHECK_EQ(uvpg_conn_query(NULL, "SELECT 1", 0, NULL, stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query(st.conn, NULL, 0, NULL, stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT $1", -1, one, stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT $1", 1, NULL, stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_executemany(st.conn, "SELECT $1", -1, 1, one,
                                 stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_executemany(st.conn, "SELECT $1", 1, -1, one,
                                 stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_executemany(st.conn, "SELECT $1", 1, 1, NULL,
                                 stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_prepare(st.conn, "", "SELECT 1", stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_prepare(st.conn, NULL, "SELECT 1", stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_prepare(st.conn, "s", NULL, stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query_prepared(st.conn, "", 0, NULL, stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_query_prepared(st.conn, "s", 1, NULL, stray_query,
                                    NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_register_type(st.conn, NULL, decode_mood, NULL,
                                   stray_registered, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_register_type(st.conn, "int4", NULL, NULL,
                                   stray_registered, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_copy_out(st.conn, NULL, stray_copy_row, stray_query,
                              NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_copy_out(st.conn, "COPY (SELECT 1) TO STDOUT", NULL,
                              stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_copy_in(st.conn, NULL, stray_copy_ready, stray_query,
                             NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_copy_in(st.conn, "COPY t FROM STDIN", NULL,
                             stray_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_copy_in(st.conn, "COPY t FROM STDIN", stray_copy_ready,
                             NULL, NULL),
           UV_EINVAL);
  /* No COPY FROM STDIN runs: the write is refused, its drain never runs. */
  CHECK_EQ(uvpg_conn_copy_write(st.conn, "1\n", 2, stray_drained, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_copy_write(st.conn, NULL, 2, stray_drained, NULL),
           UV_EINVAL);
  last_query_and_close(&loop, "SELECT 1");
}

/* A parameter table of INT_MAX x INT_MAX values is more than memory can
 * hold: the copy of the parameters throws inside the library (today
 * std::length_error), and the guard at the C boundary turns that into
 * UV_ENOMEM instead of std::terminate().  `params` is never read: the
 * table is refused before its first value. */
static void test_guard_turns_throw_into_code(void) {
  uv_loop_t loop;
  const char *one[] = {"1"};
  stray_calls = 0;
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_executemany(st.conn, "SELECT $1", INT_MAX, INT_MAX, one,
                                 stray_query, NULL),
           UV_ENOMEM);
  /* The connection is unharmed and nothing was queued. */
  CHECK_EQ(uvpg_conn_get_status(st.conn), UVPG_CONN_READY);
  last_query_and_close(&loop, "SELECT 2");
  CHECK_STR(st.values[0], "2");
}

static void test_strerror(void) {
  CHECK_STR(uvpg_err_name(UVPG_ESERVER), "UVPG_ESERVER");
  CHECK_STR(uvpg_err_name(UV_ECONNREFUSED), "ECONNREFUSED");
  CHECK_STR(uvpg_strerror(UVPG_ECONNBAD), "connection to the server is broken");
  CHECK_STR(uvpg_strerror(UV_ETIMEDOUT), uv_strerror(UV_ETIMEDOUT));
  CHECK(strstr(uvpg_strerror(-29000), "-29000") != NULL);
  CHECK(strstr(uvpg_err_name(-29000), "-29000") != NULL);
  CHECK_EQ(uvpg_version(), UVPG_VERSION_HEX);
  CHECK(strncmp(uvpg_version_string(), "0.1.0", 5) == 0);
}


/* uvpg_conn_executemany: every set in one round trip, atomic. */
static void test_executemany(void) {
  uv_loop_t loop;
  const char *sets[] = {"1", "one", "2", NULL, "3", "three"};
  const char *dup[] = {"10", "a", "10", "b"};
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_query(st.conn, "CREATE TEMP TABLE em (a int PRIMARY "
                           "KEY, b text)", 0, NULL, on_query, NULL), 0);
  CHECK_EQ(uvpg_conn_executemany(st.conn, "INSERT INTO em VALUES ($1, $2)",
                                 3, 2, sets, on_query, NULL), 0);
  CHECK_EQ(uvpg_conn_executemany(st.conn, "INSERT INTO em VALUES (%s, %s)",
                                 2, 2, dup, on_query, NULL), 0);
  CHECK_EQ(uvpg_conn_query(st.conn, "SELECT count(*) || ':' || count(b) "
                           "FROM em", 0, NULL, on_query, NULL), 0);
  CHECK_EQ(uvpg_conn_executemany(st.conn, "INSERT INTO em VALUES ($1)", 0,
                                 1, NULL, on_query, NULL), 0);
  CHECK_EQ(uvpg_conn_executemany(st.conn, "SELECT %s, %s", 1, 1, sets,
                                 on_query, NULL), 0);
  CHECK_EQ(uvpg_conn_executemany(NULL, "x", 1, 1, sets, on_query, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_executemany(st.conn, "x", -1, 1, sets, on_query, NULL),
           UV_EINVAL);
  while (st.query_calls < 6 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_EQ(st.statuses[2], UVPG_ESERVER); /* duplicate key: none stored */
  CHECK_STR(st.sqlstate[2], "23505");
  CHECK_STR(st.values[3], "3:2");
  CHECK_EQ(st.statuses[4], 0);            /* no sets: nothing to do */
  CHECK_EQ(st.statuses[5], UVPG_EPARAM);  /* 2 placeholders, 1 value */
  uvpg_conn_close(st.conn, NULL, NULL);
  finish(&loop);
}

static int prepared_nparams = -1;
static unsigned int prepared_type0;

static void on_prepared(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                        void *data) {
  if (status == 0) {
    prepared_nparams = uvpg_result_nparams(res);
    prepared_type0 = uvpg_result_paramtype(res, 0);
  }
  on_query(conn, status, res, data);
}

/* uvpg_conn_prepare/uvpg_conn_query_prepared: by name, described. */
static void test_prepare(void) {
  uv_loop_t loop;
  const char *one[] = {"41"};
  const char *two[] = {"1", "2"};
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_prepare(st.conn, "add1", "SELECT %s::int8 + 1", on_prepared,
                             NULL), 0);
  CHECK_EQ(uvpg_conn_query_prepared(st.conn, "add1", 1, one, on_query, NULL),
           0);
  CHECK_EQ(uvpg_conn_query_prepared(st.conn, "add1", 2, two, on_query, NULL),
           0);
  CHECK_EQ(uvpg_conn_query_prepared(st.conn, "nope", 1, one, on_query, NULL),
           0);
  CHECK_EQ(uvpg_conn_prepare(st.conn, "", "SELECT 1", on_query, NULL),
           UV_EINVAL);
  while (st.query_calls < 4 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(prepared_nparams, 1);
  CHECK_EQ(prepared_type0, 20); /* int8 */
  CHECK_EQ(st.statuses[1], 0);
  CHECK_STR(st.values[1], "42");
  CHECK_EQ(st.statuses[2], UVPG_ESERVER); /* 2 values for 1 parameter */
  CHECK_STR(st.sqlstate[2], "08P01");
  CHECK_EQ(st.statuses[3], UVPG_ESERVER);
  CHECK_STR(st.sqlstate[3], "26000");     /* no such statement */
  uvpg_conn_close(st.conn, NULL, NULL);
  finish(&loop);
}

/* What the COPY cases record. */
static struct {
  char out[256];
  size_t out_len;
  int rows_seen;
  int paused;
  int ready_calls;
  int drained_calls;
  uv_timer_t resume;
} cp;

static void on_resume(uv_timer_t *t);

static int on_copy_row(uvpg_conn_t *conn, const char *buf, size_t len,
                       void *data) {
  CHECK(conn == st.conn);
  CHECK(data == &cp);
  if (cp.out_len + len < sizeof cp.out) {
    memcpy(cp.out + cp.out_len, buf, len);
    cp.out_len += len;
  }
  /* Pause after the first row; a timer resumes from the loop. */
  if (++cp.rows_seen == 1) {
    cp.paused = 1;
    uv_timer_init(uvpg_conn_get_loop(conn), &cp.resume);
    uv_timer_start(&cp.resume, on_resume, 20, 0);
    return 1;
  }
  CHECK_EQ(cp.paused, 0);
  return 0;
}

static void on_resume(uv_timer_t *t) {
  CHECK_EQ(uvpg_conn_copy_resume(st.conn), 0);
  cp.paused = 0;
  uv_close((uv_handle_t *)t, NULL);
}

static void on_drained(uvpg_conn_t *conn, void *data) {
  (void)conn;
  CHECK(data == &cp);
  cp.drained_calls++;
}

static void on_copy_ready(uvpg_conn_t *conn, void *data) {
  static const char rows[] = "1\tone\n2\t\\N\n";
  int rc;
  CHECK(data == &cp);
  cp.ready_calls++;
  rc = uvpg_conn_copy_write(conn, rows, sizeof rows - 1, on_drained, &cp);
  CHECK(rc == 0 || rc == 1);
  CHECK_EQ(uvpg_conn_copy_end(conn, NULL), 0);
  CHECK_EQ(uvpg_conn_copy_write(conn, "x", 1, NULL, NULL), UV_EINVAL);
}

static void on_copy_ready_bad(uvpg_conn_t *conn, void *data) {
  static const char rows[] = "3\tthree\nfour\tfour\n";
  (void)data;
  cp.ready_calls++;
  uvpg_conn_copy_write(conn, rows, sizeof rows - 1, NULL, NULL);
  CHECK_EQ(uvpg_conn_copy_end(conn, NULL), 0);
}

static void on_copy_ready_abort(uvpg_conn_t *conn, void *data) {
  (void)data;
  cp.ready_calls++;
  uvpg_conn_copy_write(conn, "5\tfive\n", 7, NULL, NULL);
  CHECK_EQ(uvpg_conn_copy_end(conn, "changed my mind"), 0);
}

static void on_copy_done(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                         void *data) {
  int i = st.query_calls++;
  (void)conn;
  (void)data;
  if (i < 16) {
    st.statuses[i] = status;
    if (res && status == 0) {
      strncpy(st.values[i], uvpg_result_cmd_status(res),
              sizeof st.values[i] - 1);
    } else if (res) {
      strncpy(st.values[i], uvpg_result_error_message(res),
              sizeof st.values[i] - 1);
    }
    if (res && uvpg_result_error_field(res, UVPG_DIAG_SQLSTATE)) {
      strncpy(st.sqlstate[i],
              uvpg_result_error_field(res, UVPG_DIAG_SQLSTATE), 5);
    }
  }
  uvpg_result_free(res);
}

/* COPY both ways: rows, a paused reader, a bad row, an abort. */
static void test_copy(void) {
  uv_loop_t loop;
  memset(&cp, 0, sizeof cp);
  uv_loop_init(&loop);
  CHECK_EQ(connect_now(&loop, dsn()), 0);
  CHECK_EQ(uvpg_conn_query(st.conn, "CREATE TEMP TABLE cp (a int, b text)",
                           0, NULL, on_copy_done, NULL), 0);
  CHECK_EQ(uvpg_conn_copy_in(st.conn, "COPY cp FROM STDIN", on_copy_ready,
                             on_copy_done, &cp), 0);
  CHECK_EQ(uvpg_conn_copy_in(st.conn, "COPY cp FROM STDIN",
                             on_copy_ready_bad, on_copy_done, &cp), 0);
  CHECK_EQ(uvpg_conn_copy_in(st.conn, "COPY cp FROM STDIN",
                             on_copy_ready_abort, on_copy_done, &cp), 0);
  CHECK_EQ(uvpg_conn_copy_in(st.conn, "SELECT 1", on_copy_ready_abort,
                             on_copy_done, &cp), 0);
  CHECK_EQ(uvpg_conn_copy_out(st.conn, "COPY cp TO STDOUT (FORMAT csv)",
                              on_copy_row, on_copy_done, &cp), 0);
  while (st.query_calls < 6 && uv_run(&loop, UV_RUN_ONCE)) {
  }
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_STR(st.values[1], "COPY 2");
  CHECK_EQ(st.statuses[2], UVPG_ESERVER); /* "four" is not an integer */
  CHECK_STR(st.sqlstate[2], "22P02");
  CHECK_EQ(st.statuses[3], UVPG_ESERVER); /* aborted with a message */
  CHECK(strstr(st.values[3], "changed my mind") != NULL);
  CHECK_EQ(st.statuses[4], UV_EINVAL);    /* SELECT is no COPY */
  CHECK_EQ(st.statuses[5], 0);
  CHECK_STR(st.values[5], "COPY 2");
  CHECK_EQ(cp.ready_calls, 3);
  CHECK_EQ(cp.rows_seen, 2);
  CHECK(cp.out_len == 9 && memcmp(cp.out, "1,one\n2,\n", 9) == 0);
  uvpg_conn_close(st.conn, NULL, NULL);
  finish(&loop);
}

int main(void) {
  static const struct {
    const char *name;
    void (*fn)(void);
  } cases[] = {
      {"uvpg_connect/query/close: rows, properties, one close callback",
       test_connect_query_close},
      {"uvpg_result_*: accessors and range checks", test_result_accessors},
      {"uvpg_conn_query: server error gives UVPG_ESERVER, connection lives",
       test_server_error_keeps_connection},
      {"uvpg_conn_query: queue order; close cancels pending",
       test_queue_order_and_close_cancels},
      {"uvpg_conn_close: legal inside a query callback",
       test_close_from_callback},
      {"bad arguments: sync EINVAL without callback, EPARAM through it",
       test_bad_arguments},
      {"uvpg_connect: malformed conninfo gives UV_EINVAL and a handle",
       test_malformed_conninfo},
      {"uvpg_result_get_*: typed values, NULL, wrong types",
       test_typed_getters},
      {"uvpg_conn_register_type/uvpg_result_get_custom: a C typecaster",
       test_register_type},
      {"uvpg_strerror/uvpg_err_name/uvpg_version", test_strerror},
      {"uvpg_conn_executemany: sets in one round trip, atomic",
       test_executemany},
      {"uvpg_conn_copy_*: both ways, a pause, a bad row, an abort",
       test_copy},
      {"uvpg_conn_prepare/uvpg_conn_query_prepared: by name, described",
       test_prepare},
      {"C boundary: a call that returns an error never runs its callback",
       test_errors_never_call_back},
      {"C boundary: an exception inside a call gives a code (UV_ENOMEM)",
       test_guard_turns_throw_into_code},
  };
  size_t i, n = sizeof cases / sizeof cases[0];
  for (i = 0; i < n; i++) {
    reset();
    ctest_failed = 0;
    cases[i].fn();
    printf("%s: %s\n", ctest_failed ? "FAIL" : "ok", cases[i].name);
    failures += ctest_failed;
  }
  printf("[capi] test cases: %d | %d passed | %d failed | 0 skipped\n",
         (int)n, (int)n - failures, failures);
  return failures ? 1 : 0;
}
