/* The C ABI of error categories, written from the man pages alone:
 * uvpg_sqlstate_class(3), uvpg_err_class(3), uvpg_error_class_name(3),
 * uvpg_result_error_class(3), uvpg_result_sqlstate(3) and
 * uvpg_conn_error_class(3) and uvpg_conn_error_outcome_unknown(3),
 * against the test server. */
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

/* What one callback saw. */
struct seen {
  int calls;
  int status;
  char sqlstate[6];
  uvpg_error_class_t result_class;
  uvpg_error_class_t conn_class;
  uvpg_conn_t *conn;
  int unknown; /* uvpg_conn_error_outcome_unknown() in the callback */
};

static void keep(struct seen *s, uvpg_conn_t *conn, int status,
                 const uvpg_result_t *res) {
  const char *state = uvpg_result_sqlstate(res);
  s->calls++;
  s->status = status;
  s->sqlstate[0] = '\0';
  if (state) {
    strncpy(s->sqlstate, state, sizeof s->sqlstate - 1);
    s->sqlstate[5] = '\0';
  }
  s->result_class = uvpg_result_error_class(res);
  s->conn_class = uvpg_conn_error_class(conn);
  s->unknown = uvpg_conn_error_outcome_unknown(conn);
}

static void on_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  keep(data, conn, status, res);
  uvpg_result_free(res);
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  struct seen *s = data;
  keep(s, conn, status, NULL);
  s->conn = conn;
}

/* Runs the loop until the callback of `s` ran (an open connection keeps
 * the loop alive, so UV_RUN_DEFAULT would not return). */
static void run(uv_loop_t *loop, const struct seen *s) {
  int before = s->calls;
  while (s->calls == before) {
    if (uv_run(loop, UV_RUN_ONCE) == 0 && s->calls == before) {
      CHECK(!"the loop ended before the callback");
      return;
    }
  }
}

static void finish(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(loop), 0);
}

static void test_sqlstate_class(void) {
  CHECK_EQ(uvpg_sqlstate_class(UVPG_SQLSTATE_UNIQUE_VIOLATION),
           UVPG_ERROR_CLASS_INTEGRITY);
  CHECK_EQ(uvpg_sqlstate_class("22012"), UVPG_ERROR_CLASS_DATA);
  CHECK_EQ(uvpg_sqlstate_class("42601"), UVPG_ERROR_CLASS_PROGRAMMING);
  CHECK_EQ(uvpg_sqlstate_class("40001"), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(uvpg_sqlstate_class("28P01"), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(uvpg_sqlstate_class("57014"), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(uvpg_sqlstate_class("25P02"), UVPG_ERROR_CLASS_INTERNAL);
  CHECK_EQ(uvpg_sqlstate_class("XX000"), UVPG_ERROR_CLASS_INTERNAL);
  CHECK_EQ(uvpg_sqlstate_class("0A000"), UVPG_ERROR_CLASS_NOT_SUPPORTED);
  CHECK_EQ(uvpg_sqlstate_class("3D000"), UVPG_ERROR_CLASS_PROGRAMMING);
  /* A class of no category: a plain database error. */
  CHECK_EQ(uvpg_sqlstate_class("02000"), UVPG_ERROR_CLASS_DATABASE);
  /* Not a SQLSTATE. */
  CHECK_EQ(uvpg_sqlstate_class(NULL), UVPG_ERROR_CLASS_NONE);
  CHECK_EQ(uvpg_sqlstate_class(""), UVPG_ERROR_CLASS_NONE);
  CHECK_EQ(uvpg_sqlstate_class("2350"), UVPG_ERROR_CLASS_NONE);
  CHECK_EQ(uvpg_sqlstate_class("235050"), UVPG_ERROR_CLASS_NONE);
  CHECK_EQ(uvpg_sqlstate_class("2350a"), UVPG_ERROR_CLASS_NONE);
  CHECK_STR(UVPG_SQLSTATE_SERIALIZATION_FAILURE, "40001");
  CHECK_STR(UVPG_SQLSTATE_DEADLOCK_DETECTED, "40P01");
  CHECK_STR(UVPG_SQLSTATE_QUERY_CANCELED, "57014");
  CHECK_STR(UVPG_SQLSTATE_INVALID_PASSWORD, "28P01");
}

static void test_err_class_and_names(void) {
  CHECK_EQ(uvpg_err_class(0), UVPG_ERROR_CLASS_NONE);
  CHECK_EQ(uvpg_err_class(5), UVPG_ERROR_CLASS_NONE);
  CHECK_EQ(uvpg_err_class(UVPG_ECONNBAD), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(uvpg_err_class(UVPG_ECLOSED), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(uvpg_err_class(UV_ETIMEDOUT), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(uvpg_err_class(UV_ECANCELED), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(uvpg_err_class(UV_ECONNREFUSED), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(uvpg_err_class(UVPG_EDATA), UVPG_ERROR_CLASS_DATA);
  CHECK_EQ(uvpg_err_class(UVPG_EPARAM), UVPG_ERROR_CLASS_PROGRAMMING);
  CHECK_EQ(uvpg_err_class(UVPG_ENOCODEC), UVPG_ERROR_CLASS_PROGRAMMING);
  CHECK_EQ(uvpg_err_class(UVPG_EINTERNAL), UVPG_ERROR_CLASS_INTERNAL);
  CHECK_EQ(uvpg_err_class(UV_EINVAL), UVPG_ERROR_CLASS_INTERFACE);
  CHECK_EQ(uvpg_err_class(UVPG_ESERVER), UVPG_ERROR_CLASS_DATABASE);
  CHECK_STR(uvpg_error_class_name(UVPG_ERROR_CLASS_NONE), "none");
  CHECK_STR(uvpg_error_class_name(UVPG_ERROR_CLASS_INTEGRITY),
            "integrity_error");
  CHECK_STR(uvpg_error_class_name(UVPG_ERROR_CLASS_NOT_SUPPORTED),
            "not_supported_error");
  CHECK_STR(uvpg_error_class_name((uvpg_error_class_t)99), "unknown");
}

/* Runs `sql` on a fresh connection; `s` gets what the callback saw. */
static void query_on_new(const char *setup, const char *sql,
                         struct seen *s) {
  uv_loop_t loop;
  struct seen c;
  memset(&c, 0, sizeof c);
  memset(s, 0, sizeof *s);
  CHECK_EQ(uv_loop_init(&loop), 0);
  CHECK_EQ(uvpg_connect(&loop, ctest_dsn(), NULL, on_connect, &c), 0);
  run(&loop, &c);
  CHECK_EQ(c.status, 0);
  if (c.status == 0) {
    if (setup) {
      struct seen ok;
      memset(&ok, 0, sizeof ok);
      CHECK_EQ(uvpg_conn_query(c.conn, setup, 0, NULL, on_query, &ok), 0);
      run(&loop, &ok);
      CHECK_EQ(ok.status, 0);
    }
    CHECK_EQ(uvpg_conn_query(c.conn, sql, 0, NULL, on_query, s), 0);
    run(&loop, s);
    CHECK_EQ(s->calls, 1);
  }
  uvpg_conn_close(c.conn, NULL, NULL);
  finish(&loop);
}

static void test_result_classes(void) {
  struct seen s;
  query_on_new("CREATE TEMP TABLE u (id int PRIMARY KEY); "
               "INSERT INTO u VALUES (1)",
               "INSERT INTO u VALUES (1)", &s);
  CHECK_EQ(s.status, UVPG_ESERVER);
  CHECK_STR(s.sqlstate, UVPG_SQLSTATE_UNIQUE_VIOLATION);
  CHECK_EQ(s.result_class, UVPG_ERROR_CLASS_INTEGRITY);
  CHECK_EQ(s.conn_class, UVPG_ERROR_CLASS_INTEGRITY);

  query_on_new(NULL, "SELECT 1 / 0", &s);
  CHECK_STR(s.sqlstate, UVPG_SQLSTATE_DIVISION_BY_ZERO);
  CHECK_EQ(s.result_class, UVPG_ERROR_CLASS_DATA);

  query_on_new(NULL, "SELEC 1", &s);
  CHECK_STR(s.sqlstate, UVPG_SQLSTATE_SYNTAX_ERROR);
  CHECK_EQ(s.result_class, UVPG_ERROR_CLASS_PROGRAMMING);

  query_on_new(NULL,
               "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = "
               "'40001'; END $$",
               &s);
  CHECK_STR(s.sqlstate, UVPG_SQLSTATE_SERIALIZATION_FAILURE);
  CHECK_EQ(s.result_class, UVPG_ERROR_CLASS_OPERATIONAL);

  /* A statement that works: no error, no class. */
  query_on_new(NULL, "SELECT 1", &s);
  CHECK_EQ(s.status, 0);
  CHECK_EQ(s.sqlstate[0], '\0');
  CHECK_EQ(s.result_class, UVPG_ERROR_CLASS_NONE);

  CHECK(uvpg_result_sqlstate(NULL) == NULL);
  CHECK_EQ(uvpg_result_error_class(NULL), UVPG_ERROR_CLASS_NONE);
  CHECK_EQ(uvpg_conn_error_class(NULL), UVPG_ERROR_CLASS_NONE);
}

/* Connects with `conninfo`, which the server refuses with `state`. */
static void refused(uv_loop_t *loop, const char *conninfo, const char *state,
                    uvpg_error_class_t cls) {
  struct seen c;
  memset(&c, 0, sizeof c);
  CHECK_EQ(uvpg_connect(loop, conninfo, NULL, on_connect, &c), 0);
  run(loop, &c);
  CHECK_EQ(c.calls, 1);
  CHECK(c.status < 0);
  CHECK_STR(uvpg_conn_error_sqlstate(c.conn), state);
  CHECK_EQ(c.conn_class, cls);
  uvpg_conn_close(c.conn, NULL, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
}

static void test_connect_classes(void) {
  uv_loop_t loop;
  struct seen c;
  char conninfo[512];
  const char *port = getenv("UVPG_TEST_PORT");
  const char *pw = getenv("UVPG_TEST_PASSWORD");
  CHECK(port != NULL && pw != NULL);
  if (!port || !pw) {
    return;
  }
  CHECK_EQ(uv_loop_init(&loop), 0);

  snprintf(conninfo, sizeof conninfo,
           "host=127.0.0.1 port=%s user=uvpg dbname=postgres "
           "password=wrong-%s",
           port, pw);
  refused(&loop, conninfo, "28P01", UVPG_ERROR_CLASS_OPERATIONAL);
  snprintf(conninfo, sizeof conninfo,
           "host=127.0.0.1 port=%s user=uvpg dbname=no_such_db "
           "password=%s",
           port, pw);
  refused(&loop, conninfo, "3D000", UVPG_ERROR_CLASS_PROGRAMMING);

  /* No server at all: no SQLSTATE; the status tells the category. */
  memset(&c, 0, sizeof c);
  CHECK_EQ(uvpg_connect(&loop, "host=127.0.0.1 port=1 connect_timeout=5",
                        NULL, on_connect, &c),
           0);
  run(&loop, &c);
  CHECK(c.status < 0);
  CHECK_EQ(c.conn_class, UVPG_ERROR_CLASS_NONE);
  CHECK_EQ(uvpg_err_class(c.status), UVPG_ERROR_CLASS_OPERATIONAL);
  uvpg_conn_close(c.conn, NULL, NULL);
  finish(&loop);
}

/* uvpg_conn_error_outcome_unknown(3): a statement whose deadline passed
 * on the server may have run; one whose deadline passed while queued,
 * or one the server refused, did not. */
static void test_outcome_unknown(void) {
  uv_loop_t loop;
  struct seen c, running, queued, refused_stmt;
  uvpg_query_opts_t slow, quick;
  memset(&c, 0, sizeof c);
  memset(&running, 0, sizeof running);
  memset(&queued, 0, sizeof queued);
  memset(&refused_stmt, 0, sizeof refused_stmt);
  CHECK_EQ(uv_loop_init(&loop), 0);
  CHECK_EQ(uvpg_connect(&loop, ctest_dsn(), NULL, on_connect, &c), 0);
  run(&loop, &c);
  CHECK_EQ(c.status, 0);
  CHECK_EQ(c.unknown, 0);
  if (c.status == 0) {
    uvpg_query_opts_init(&slow);
    slow.timeout_ms = 300;
    uvpg_query_opts_init(&quick);
    quick.timeout_ms = 50;
    CHECK_EQ(uvpg_conn_query_ex(c.conn, "SELECT pg_sleep(5)", 0, NULL, &slow,
                                on_query, &running, NULL),
             0);
    CHECK_EQ(uvpg_conn_query_ex(c.conn, "SELECT 2", 0, NULL, &quick,
                                on_query, &queued, NULL),
             0);
    run(&loop, &queued);
    if (running.calls == 0) {
      run(&loop, &running);
    }
    CHECK_EQ(running.status, UV_ETIMEDOUT);
    CHECK_EQ(running.unknown, 1);
    CHECK_EQ(queued.status, UV_ETIMEDOUT);
    CHECK_EQ(queued.unknown, 0);
    CHECK_EQ(uvpg_conn_query(c.conn, "SELECT 1/0", 0, NULL, on_query,
                             &refused_stmt),
             0);
    run(&loop, &refused_stmt);
    CHECK_STR(refused_stmt.sqlstate, "22012");
    CHECK_EQ(refused_stmt.unknown, 0);
  }
  /* Outside a callback, and for NULL: 0. */
  CHECK_EQ(uvpg_conn_error_outcome_unknown(c.conn), 0);
  CHECK_EQ(uvpg_conn_error_outcome_unknown(NULL), 0);
  uvpg_conn_close(c.conn, NULL, NULL);
  finish(&loop);
}

int main(void) {
  static const struct ctest_case cases[] = {
      {"uvpg_sqlstate_class: the category of any SQLSTATE",
       test_sqlstate_class},
      {"uvpg_err_class/uvpg_error_class_name: statuses and names",
       test_err_class_and_names},
      {"uvpg_result_error_class/uvpg_result_sqlstate: real failures",
       test_result_classes},
      {"uvpg_conn_error_class: refused connects", test_connect_classes},
      {"uvpg_conn_error_outcome_unknown: on the server, queued, refused",
       test_outcome_unknown},
  };
  return ctest_run("live/error-capi", cases, sizeof cases / sizeof *cases,
                   NULL);
}
