/* The C ABI of notices, the query logger and the lost-connection event,
 * written from their man pages (uvpg_conn_set_notice_cb(3),
 * uvpg_conn_set_query_logger(3), uvpg_conn_set_termination_cb(3)):
 * plain C99 against <uvpg.h> only, with a live server. */
#include <stdio.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

static uv_loop_t loop;
static uvpg_conn_t *conn;  /* the connection under test */
static uvpg_conn_t *admin; /* terminates it */
static int in_call;        /* inside a uvpg call of this program's */
static int outside_violations;

static int connects, queries, closes;
static int last_status;
static char last_sqlstate[8];

static int notices;
static char notice_primary[64][32];
static char notice_state[8], notice_detail[64], notice_hint[64];
static char notice_message[256];

static int logs;
static uvpg_query_log_t last_log;
static char log_sql[128], log_state[8], log_tag[32], log_port[16];
static size_t log_size;

static int terminations;
static int term_status;
static char term_state[8], term_message[256];
static int sleep_done;       /* the terminated statement's callback ran */
static int term_after_sleep; /* ... before the termination callback */

static void copy(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src ? src : "(null)");
}

static void on_connect(uvpg_conn_t *c, int status, void *data) {
  CHECK_EQ(status, 0);
  *(uvpg_conn_t **)data = c;
  connects++;
}

static void on_query(uvpg_conn_t *c, int status, uvpg_result_t *res,
                     void *data) {
  (void)c;
  (void)data;
  outside_violations += in_call;
  queries++;
  last_status = status;
  copy(last_sqlstate, sizeof last_sqlstate,
       res ? uvpg_result_error_field(res, UVPG_DIAG_SQLSTATE) : NULL);
  uvpg_result_free(res);
}

static void on_sleep(uvpg_conn_t *c, int status, uvpg_result_t *res,
                     void *data) {
  (void)c;
  (void)data;
  outside_violations += in_call;
  CHECK_EQ(status, UVPG_ECONNBAD);
  CHECK_EQ(terminations, 0);
  sleep_done = 1;
  uvpg_result_free(res);
}

static void on_close(uvpg_conn_t *c, void *data) {
  (void)c;
  (void)data;
  closes++;
}

static void on_notice(uvpg_conn_t *c, int status, const uvpg_notice_t *notice,
                      void *data) {
  CHECK(c == conn);
  CHECK_EQ(status, 0);
  CHECK(data == &notices);
  outside_violations += in_call;
  if (notices < 64) {
    copy(notice_primary[notices], sizeof notice_primary[0],
         uvpg_notice_field(notice, UVPG_DIAG_MESSAGE_PRIMARY));
  }
  notices++;
  copy(notice_state, sizeof notice_state,
       uvpg_notice_field(notice, UVPG_DIAG_SQLSTATE));
  copy(notice_detail, sizeof notice_detail,
       uvpg_notice_field(notice, UVPG_DIAG_MESSAGE_DETAIL));
  copy(notice_hint, sizeof notice_hint,
       uvpg_notice_field(notice, UVPG_DIAG_MESSAGE_HINT));
  copy(notice_message, sizeof notice_message, uvpg_notice_message(notice));
}

static void on_log(uvpg_conn_t *c, int status, const uvpg_query_log_t *rec,
                   void *data) {
  (void)data;
  CHECK(c == conn);
  CHECK_EQ(status, rec->status);
  outside_violations += in_call;
  logs++;
  last_log = *rec;
  log_size = rec->size;
  copy(log_sql, sizeof log_sql, rec->sql);
  copy(log_state, sizeof log_state, rec->sqlstate);
  copy(log_tag, sizeof log_tag, rec->command_status);
  copy(log_port, sizeof log_port, rec->port);
}

static void on_termination(uvpg_conn_t *c, int status, const char *message,
                           const char *sqlstate, void *data) {
  (void)data;
  CHECK(c == conn);
  outside_violations += in_call;
  terminations++;
  term_status = status;
  term_after_sleep = sleep_done;
  copy(term_state, sizeof term_state, sqlstate);
  copy(term_message, sizeof term_message, message);
}

/* Runs the loop until *count reaches want, or fails after ~20 s. */
static int run_until(int *count, int want) {
  int turns;
  for (turns = 0; *count < want && turns < 4000; turns++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_sleep(5);
  }
  CHECK(*count >= want);
  return *count >= want;
}

static void query(uvpg_conn_t *c, const char *sql, int n,
                  const char *const *params) {
  int want = queries + 1;
  in_call = 1;
  CHECK_EQ(uvpg_conn_query(c, sql, n, params, on_query, NULL), 0);
  in_call = 0;
  run_until(&queries, want);
}

static void test_notices(void) {
  CHECK_EQ(uvpg_conn_get_notice_count(conn), 0);
  CHECK(uvpg_conn_get_notice(conn, 0) == NULL);
  CHECK_EQ(uvpg_conn_set_notice_cb(NULL, on_notice, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_set_notice_cb(conn, on_notice, &notices), 0);

  query(conn,
        "DO $$ BEGIN RAISE NOTICE 'hello' USING DETAIL = 'the "
        "detail', HINT = 'the hint'; END $$",
        0, NULL);
  CHECK_EQ(last_status, 0);
  CHECK_EQ(notices, 1);
  CHECK_STR(notice_primary[0], "hello");
  CHECK_STR(notice_state, "00000");
  CHECK_STR(notice_detail, "the detail");
  CHECK_STR(notice_hint, "the hint");
  CHECK(strncmp(notice_message, "NOTICE:  hello\n", 15) == 0);

  query(conn, "CREATE TEMP TABLE notice_capi_t (a int)", 0, NULL);
  query(conn, "CREATE TEMP TABLE IF NOT EXISTS notice_capi_t (a int)", 0, NULL);
  CHECK_EQ(notices, 2);
  CHECK_STR(notice_state, "42P07");

  /* 60 more: 62 in all, the last 50 kept, oldest first. */
  query(conn,
        "DO $$ BEGIN FOR i IN 1..60 LOOP RAISE NOTICE 'n %', i; "
        "END LOOP; END $$",
        0, NULL);
  CHECK_EQ(notices, 62);
  CHECK_STR(notice_primary[61], "n 60");
  CHECK_EQ(uvpg_conn_get_notice_count(conn), 50);
  CHECK_STR(uvpg_notice_field(uvpg_conn_get_notice(conn, 0),
                              UVPG_DIAG_MESSAGE_PRIMARY),
            "n 11");
  CHECK_STR(uvpg_notice_field(uvpg_conn_get_notice(conn, 49),
                              UVPG_DIAG_MESSAGE_PRIMARY),
            "n 60");
  CHECK(uvpg_conn_get_notice(conn, 50) == NULL);
  CHECK(uvpg_conn_get_notice(conn, -1) == NULL);
  CHECK(uvpg_notice_field(uvpg_conn_get_notice(conn, 0),
                          UVPG_DIAG_TABLE_NAME) == NULL);

  /* Removed: kept, not delivered. */
  CHECK_EQ(uvpg_conn_set_notice_cb(conn, NULL, NULL), 0);
  query(conn, "DROP TABLE IF EXISTS notice_capi_missing", 0, NULL);
  CHECK_EQ(notices, 62);
  CHECK_STR(
      uvpg_notice_field(uvpg_conn_get_notice(conn, 49), UVPG_DIAG_SQLSTATE),
      "00000");
}

static void test_query_logger(void) {
  const char *params[2] = {"4", "1"};

  CHECK_EQ(uvpg_conn_set_query_logger(NULL, on_log, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_set_query_logger(conn, on_log, NULL), 0);
  query(conn, "SELECT generate_series($1::int, $2::int, -1)", 2, params);
  CHECK_EQ(logs, 1);
  CHECK(log_size >= sizeof(uvpg_query_log_t));
  CHECK_STR(log_sql, "SELECT generate_series($1::int, $2::int, -1)");
  CHECK_EQ(last_log.nparams, 2);
  CHECK_EQ(last_log.status, 0);
  CHECK_STR(log_state, "(null)");
  CHECK_STR(log_tag, "SELECT 4");
  CHECK_EQ(last_log.rows, 4);
  CHECK(last_log.start_us > 0);
  CHECK(last_log.elapsed_us >= 0);
  CHECK_STR(log_port, getenv("UVPG_TEST_PORT"));

  query(conn, "SELECT * FROM notice_capi_no_such_table", 0, NULL);
  CHECK_EQ(logs, 2);
  CHECK_EQ(last_log.status, UVPG_ESERVER);
  CHECK_STR(log_state, "42P01");
  CHECK_EQ(last_log.rows, -1);

  CHECK_EQ(uvpg_conn_set_query_logger(conn, NULL, NULL), 0);
  query(conn, "SELECT 1", 0, NULL);
  CHECK_EQ(logs, 2);
}

static void test_termination(void) {
  char pid[16];
  const char *p[1];

  CHECK_EQ(uvpg_conn_set_termination_cb(NULL, on_termination, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_set_termination_cb(conn, on_termination, NULL), 0);
  /* Busy: a statement runs while the backend is terminated. */
  in_call = 1;
  CHECK_EQ(
      uvpg_conn_query(conn, "SELECT pg_sleep(30)", 0, NULL, on_sleep, NULL), 0);
  in_call = 0;
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_sleep(200);
  uv_run(&loop, UV_RUN_NOWAIT);
  snprintf(pid, sizeof pid, "%d", uvpg_conn_get_backend_pid(conn));
  p[0] = pid;
  CHECK_EQ(uvpg_conn_query(admin, "SELECT pg_terminate_backend($1)", 1, p,
                           on_query, NULL),
           0);
  run_until(&terminations, 1);
  CHECK_EQ(term_status, UVPG_ECONNBAD);
  CHECK_STR(term_state, "57P01");
  CHECK(strstr(term_message, "administrator command") != NULL);
  /* After the failed statement's callback. */
  CHECK_EQ(term_after_sleep, 1);
  CHECK_EQ(uvpg_conn_get_status(conn), UVPG_CONN_BROKEN);
}

int main(void) {
  const char *dsn = ctest_dsn();
  int failures = 0;
  if (uv_loop_init(&loop) != 0) {
    return 1;
  }
  CHECK_EQ(uvpg_connect(&loop, dsn, NULL, on_connect, &conn), 0);
  CHECK_EQ(uvpg_connect(&loop, dsn, NULL, on_connect, &admin), 0);
  if (!run_until(&connects, 2)) {
    return 1;
  }
  test_notices();
  printf("%s: notices\n", ctest_failed ? "FAIL" : "ok");
  failures += ctest_failed;
  ctest_failed = 0;
  test_query_logger();
  printf("%s: query logger\n", ctest_failed ? "FAIL" : "ok");
  failures += ctest_failed;
  ctest_failed = 0;
  test_termination();
  printf("%s: termination\n", ctest_failed ? "FAIL" : "ok");
  failures += ctest_failed;
  ctest_failed = 0;

  uvpg_conn_close(conn, on_close, NULL);
  uvpg_conn_close(admin, on_close, NULL);
  run_until(&closes, 2);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(terminations, 1); /* once, and not at close */
  CHECK_EQ(outside_violations, 0);
  CHECK_EQ(uv_loop_close(&loop), 0);
  failures += ctest_failed;
  printf("[notice-capi] test cases: 3 | %d passed | %d failed | 0 skipped\n",
         3 - (failures > 3 ? 3 : failures), failures > 3 ? 3 : failures);
  return failures ? 1 : 0;
}
