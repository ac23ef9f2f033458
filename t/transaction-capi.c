/* The transaction C ABI from plain C99, against the test server, written
 * from the man pages (uvpg_conn_begin(3), uvpg_conn_commit(3),
 * uvpg_conn_savepoint(3), uvpg_tx_opts_init(3)).
 *
 * Built with -std=c99 -pedantic -Werror and only <uvpg.h>.  Each case
 * owns its loop, counts its callbacks (exactly once, in call order,
 * never inside the call), checks what it claims from the server or from
 * another connection, and ends with uv_loop_close() == 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

#define MAXCALLS 32

/* What the callbacks saw; reset before each case. */
static struct {
  int calls;
  int tags[MAXCALLS];
  int statuses[MAXCALLS];
  int had_res[MAXCALLS];
  char cmd[MAXCALLS][32];   /* the command status */
  char value[MAXCALLS][64]; /* row 0, column 0 */
  int in_call;              /* set while a uvpg call runs */
  int called_inside;        /* a callback ran inside a uvpg call */
  int closes;
  int close_saw_calls;
} st;

static void reset(void) { memset(&st, 0, sizeof st); }

static void on_res(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                   void *data) {
  int i = st.calls++;
  (void)conn;
  if (st.in_call) {
    st.called_inside = 1;
  }
  if (i >= MAXCALLS) {
    uvpg_result_free(res);
    return;
  }
  st.tags[i] = (int)(intptr_t)data;
  st.statuses[i] = status;
  st.had_res[i] = res != NULL;
  if (res) {
    const char *c = uvpg_result_cmd_status(res);
    snprintf(st.cmd[i], sizeof st.cmd[i], "%s", c ? c : "");
    if (uvpg_result_ntuples(res) > 0 && uvpg_result_nfields(res) > 0) {
      snprintf(st.value[i], sizeof st.value[i], "%s",
               uvpg_result_value(res, 0, 0));
    }
  }
  uvpg_result_free(res);
}

static void on_close(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
  st.closes++;
  st.close_saw_calls = st.calls;
}

static uvpg_conn_t *connected;
static int connect_status;

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  (void)data;
  connected = conn;
  connect_status = status;
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

static uvpg_conn_t *connect_now(uv_loop_t *loop) {
  connected = NULL;
  CHECK_EQ(uvpg_connect(loop, ctest_dsn(), NULL, on_connect, NULL), 0);
  while (!connected) {
    uv_run(loop, UV_RUN_ONCE);
  }
  CHECK_EQ(connect_status, 0);
  return connected;
}

/* A query whose callback records under `tag`. */
static void q(uvpg_conn_t *c, const char *sql, int tag) {
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_query(c, sql, 0, NULL, on_res, (void *)(intptr_t)tag),
           0);
  st.in_call = 0;
}

static void close_all(uv_loop_t *loop, uvpg_conn_t *a, uvpg_conn_t *b) {
  uvpg_conn_close(a, on_close, NULL);
  if (b) {
    uvpg_conn_close(b, on_close, NULL);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.closes, b ? 2 : 1);
  CHECK_EQ(uv_loop_close(loop), 0);
  CHECK_EQ(st.called_inside, 0);
}

/* The rows of tx_c (id) seen from `c`, as "1,3" (after `tag`). */
static const char *ids(uv_loop_t *loop, uvpg_conn_t *c, int tag) {
  int n = st.calls;
  q(c, "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') "
       "FROM tx_c", tag);
  run_until(loop, &st.calls, n + 1);
  return st.value[n];
}

static void make_table(uv_loop_t *loop, uvpg_conn_t *c) {
  int n = st.calls;
  q(c, "DROP TABLE IF EXISTS tx_c; "
       "CREATE TABLE tx_c (id int PRIMARY KEY)", 900);
  run_until(loop, &st.calls, n + 1);
  CHECK_EQ(st.statuses[n], 0);
}

/* A loop, two connections and an empty table tx_c; counts from 0. */
static void setup(uv_loop_t *loop, uvpg_conn_t **a, uvpg_conn_t **b) {
  uv_loop_init(loop);
  *a = connect_now(loop);
  *b = connect_now(loop);
  make_table(loop, *a);
  st.calls = 0;
}

static void test_commit(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *b;
  setup(&loop, &a, &b);
  CHECK_EQ(uvpg_conn_get_autocommit(a), 1);
  st.in_call = 1;
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)1), 0);
  st.in_call = 0;
  CHECK_EQ(uvpg_conn_get_autocommit(a), 0);
  q(a, "INSERT INTO tx_c VALUES (1)", 2);
  run_until(&loop, &st.calls, 2);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_STR(st.cmd[0], "BEGIN");
  CHECK_EQ(st.statuses[1], 0);
  CHECK_EQ(uvpg_conn_get_transaction_status(a), UVPG_TRANS_INTRANS);
  CHECK_STR(ids(&loop, b, 3), ""); /* not committed yet */
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)4), 0);
  run_until(&loop, &st.calls, 4);
  CHECK_EQ(st.tags[3], 4);
  CHECK_EQ(st.statuses[3], 0);
  CHECK_STR(st.cmd[3], "COMMIT");
  CHECK_EQ(uvpg_conn_get_autocommit(a), 1);
  CHECK_EQ(uvpg_conn_get_transaction_status(a), UVPG_TRANS_IDLE);
  CHECK_STR(ids(&loop, b, 5), "1");
  CHECK_EQ(st.calls, 5);
  close_all(&loop, a, b);
}

static void test_rollback(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *b;
  setup(&loop, &a, &b);
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)1), 0);
  q(a, "INSERT INTO tx_c VALUES (1)", 2);
  CHECK_EQ(uvpg_conn_rollback(a, on_res, (void *)3), 0);
  run_until(&loop, &st.calls, 3);
  CHECK_EQ(st.tags[0], 1);
  CHECK_EQ(st.tags[1], 2);
  CHECK_EQ(st.tags[2], 3);
  CHECK_EQ(st.statuses[2], 0);
  CHECK_STR(st.cmd[2], "ROLLBACK");
  CHECK_STR(ids(&loop, b, 4), "");
  CHECK_STR(ids(&loop, a, 5), "");
  close_all(&loop, a, b);
}

static void test_savepoint(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *b;
  setup(&loop, &a, &b);
  /* All queued at once, as uvpg_conn_begin(3) allows. */
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)1), 0);
  q(a, "INSERT INTO tx_c VALUES (1)", 2);
  CHECK_EQ(uvpg_conn_savepoint(a, "Risky \"one\"", on_res, (void *)3), 0);
  q(a, "INSERT INTO tx_c VALUES (1)", 4);  /* duplicate: fails */
  q(a, "INSERT INTO tx_c VALUES (2)", 5);  /* 25P02 */
  CHECK_EQ(uvpg_conn_rollback_to_savepoint(a, "Risky \"one\"", on_res,
                                           (void *)6), 0);
  q(a, "INSERT INTO tx_c VALUES (3)", 7);
  CHECK_EQ(uvpg_conn_release_savepoint(a, "Risky \"one\"", on_res,
                                       (void *)8), 0);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)9), 0);
  run_until(&loop, &st.calls, 9);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_EQ(st.statuses[2], 0);
  CHECK_STR(st.cmd[2], "SAVEPOINT");
  CHECK_EQ(st.statuses[3], UVPG_ESERVER);
  CHECK_EQ(st.statuses[4], UVPG_ESERVER);
  CHECK_EQ(st.statuses[5], 0);
  CHECK_EQ(st.statuses[6], 0);
  CHECK_EQ(st.statuses[7], 0);
  CHECK_STR(st.cmd[7], "RELEASE");
  CHECK_EQ(st.statuses[8], 0);
  CHECK_STR(st.cmd[8], "COMMIT");
  CHECK_STR(ids(&loop, b, 10), "1,3");
  close_all(&loop, a, b);
}

/* Usage errors are return codes and call nothing back. */
static void test_usage(void) {
  uv_loop_t loop;
  uvpg_conn_t *a;
  uvpg_tx_opts_t o;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  st.calls = 0;
  CHECK_EQ(uvpg_conn_commit(a, on_res, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_rollback(a, on_res, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_savepoint(a, "s", on_res, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_release_savepoint(a, "s", on_res, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_rollback_to_savepoint(a, "s", on_res, NULL),
           UV_EINVAL);
  CHECK_EQ(uvpg_conn_begin(NULL, NULL, on_res, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_commit(NULL, on_res, NULL), UV_EINVAL);
  uvpg_tx_opts_init(&o);
  o.isolation = 99;
  CHECK_EQ(uvpg_conn_begin(a, &o, on_res, NULL), UV_EINVAL);

  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)1), 0);
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, NULL), UV_EINVAL); /* open */
  CHECK_EQ(uvpg_conn_savepoint(a, NULL, on_res, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_savepoint(a, "", on_res, NULL), UV_EINVAL);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)2), 0);
  CHECK_EQ(uvpg_conn_commit(a, on_res, NULL), UV_EINVAL); /* twice */
  CHECK_EQ(uvpg_conn_rollback(a, on_res, NULL), UV_EINVAL);
  run_until(&loop, &st.calls, 2);
  CHECK_EQ(st.calls, 2);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.statuses[1], 0);
  close_all(&loop, a, NULL);
  CHECK_EQ(st.calls, 2);
}

/* A BEGIN the program sent itself: uvpg_conn_begin fails at its turn
 * with UV_EINVAL and sends nothing, nor does the commit queued after. */
static void test_foreign(void) {
  uv_loop_t loop;
  uvpg_conn_t *a;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  st.calls = 0;
  q(a, "BEGIN", 1);
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)2), 0);
  CHECK_EQ(uvpg_conn_savepoint(a, "s", on_res, (void *)3), 0);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)4), 0);
  q(a, "SELECT 1", 5);
  run_until(&loop, &st.calls, 5);
  CHECK_EQ(st.statuses[0], 0);
  CHECK_EQ(st.statuses[1], UV_EINVAL);
  CHECK_EQ(st.had_res[1], 0);
  CHECK_EQ(st.statuses[2], UV_EINVAL);
  CHECK_EQ(st.statuses[3], UV_EINVAL);
  CHECK_EQ(st.statuses[4], 0);
  /* The program's own transaction is still open: nothing was sent. */
  CHECK_EQ(uvpg_conn_get_transaction_status(a), UVPG_TRANS_INTRANS);
  CHECK_EQ(uvpg_conn_get_autocommit(a), 0);
  q(a, "ROLLBACK", 6);
  run_until(&loop, &st.calls, 6);
  CHECK_EQ(uvpg_conn_get_autocommit(a), 1);
  close_all(&loop, a, NULL);
}

/* A failed statement: the later ones fail with 25P02 and the commit
 * gives UVPG_EROLLEDBACK with the ROLLBACK result. */
static void test_rolled_back(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *b;
  setup(&loop, &a, &b);
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)1), 0);
  q(a, "INSERT INTO tx_c VALUES (1)", 2);
  q(a, "SELECT 1/0", 3);
  q(a, "INSERT INTO tx_c VALUES (2)", 4);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)5), 0);
  run_until(&loop, &st.calls, 5);
  CHECK_EQ(st.statuses[1], 0);
  CHECK_EQ(st.statuses[2], UVPG_ESERVER);
  CHECK_EQ(st.statuses[3], UVPG_ESERVER);
  /* transaction_rollback: an operational error, as the status is */
  CHECK_STR(uvpg_conn_error_sqlstate(a), "40000");
  CHECK_EQ(uvpg_conn_error_class(a), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(uvpg_err_class(UVPG_EROLLEDBACK), UVPG_ERROR_CLASS_OPERATIONAL);
  CHECK_EQ(st.statuses[4], UVPG_EROLLEDBACK);
  CHECK_EQ(st.had_res[4], 1);
  CHECK_STR(st.cmd[4], "ROLLBACK");
  CHECK_STR(uvpg_err_name(UVPG_EROLLEDBACK), "UVPG_EROLLEDBACK");
  CHECK_STR(ids(&loop, b, 6), "");
  CHECK_EQ(uvpg_conn_get_transaction_status(a), UVPG_TRANS_IDLE);
  close_all(&loop, a, b);
}

static void test_options(void) {
  uv_loop_t loop;
  uvpg_conn_t *a;
  uvpg_tx_opts_t o;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  st.calls = 0;
  uvpg_tx_opts_init(&o);
  CHECK_EQ(o.isolation, UVPG_ISOLATION_DEFAULT);
  CHECK_EQ(o.read_only, 0);
  CHECK_EQ(o.deferrable, 0);
  o.isolation = UVPG_ISOLATION_SERIALIZABLE;
  o.read_only = 1;
  o.deferrable = 1;
  CHECK_EQ(uvpg_conn_begin(a, &o, on_res, (void *)1), 0);
  q(a, "SHOW transaction_isolation", 2);
  q(a, "SHOW transaction_read_only", 3);
  q(a, "SHOW transaction_deferrable", 4);
  CHECK_EQ(uvpg_conn_rollback(a, on_res, (void *)5), 0);
  o.isolation = UVPG_ISOLATION_REPEATABLE_READ;
  o.read_only = 0;
  o.deferrable = 0;
  CHECK_EQ(uvpg_conn_begin(a, &o, on_res, (void *)6), 0);
  q(a, "SHOW transaction_isolation", 7);
  q(a, "SHOW transaction_read_only", 8);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)9), 0);
  o.isolation = UVPG_ISOLATION_READ_UNCOMMITTED;
  CHECK_EQ(uvpg_conn_begin(a, &o, on_res, (void *)10), 0);
  q(a, "SHOW transaction_isolation", 11);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)12), 0);
  o.isolation = UVPG_ISOLATION_READ_COMMITTED;
  CHECK_EQ(uvpg_conn_begin(a, &o, on_res, (void *)13), 0);
  q(a, "SHOW transaction_isolation", 14);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)15), 0);
  run_until(&loop, &st.calls, 15);
  CHECK_STR(st.cmd[0], "BEGIN");
  CHECK_STR(st.value[1], "serializable");
  CHECK_STR(st.value[2], "on");
  CHECK_STR(st.value[3], "on");
  CHECK_STR(st.value[6], "repeatable read");
  CHECK_STR(st.value[7], "off");
  CHECK_STR(st.value[10], "read uncommitted");
  CHECK_STR(st.value[13], "read committed");
  close_all(&loop, a, NULL);
}

/* Closing with the transaction's statements pending: each callback runs
 * once with UV_ECANCELED before the close callback. */
static void test_close_pending(void) {
  uv_loop_t loop;
  uvpg_conn_t *a;
  uv_loop_init(&loop);
  a = connect_now(&loop);
  st.calls = 0;
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)1), 0);
  CHECK_EQ(uvpg_conn_savepoint(a, "s", on_res, (void *)2), 0);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)3), 0);
  close_all(&loop, a, NULL);
  CHECK_EQ(st.calls, 3);
  CHECK_EQ(st.close_saw_calls, 3);
  CHECK_EQ(st.statuses[0], UV_ECANCELED);
  CHECK_EQ(st.statuses[1], UV_ECANCELED);
  CHECK_EQ(st.statuses[2], UV_ECANCELED);
}

/* Closing with the transaction open and nothing pending: the server
 * rolls it back, and uvpg keeps nothing of it (valgrind: no leak). */
static void test_close_open(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *b;
  setup(&loop, &a, &b);
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)1), 0);
  q(a, "INSERT INTO tx_c VALUES (1)", 2);
  run_until(&loop, &st.calls, 2);
  CHECK_EQ(st.statuses[1], 0);
  uvpg_conn_close(a, on_close, NULL);
  CHECK_EQ(uvpg_conn_commit(a, on_res, NULL), UVPG_ECLOSED);
  run_until(&loop, &st.closes, 1);
  CHECK_STR(ids(&loop, b, 3), "");
  uvpg_conn_close(b, on_close, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.closes, 2);
  CHECK_EQ(st.calls, 3);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

/* The program ends the transaction with a ROLLBACK of its own: the
 * connection says autocommit at once, uvpg_conn_commit is refused at its
 * turn (UV_EINVAL, nothing sent), and uvpg_conn_begin starts afresh. */
static void test_ended_by_program(void) {
  uv_loop_t loop;
  uvpg_conn_t *a, *b;
  setup(&loop, &a, &b);
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)1), 0);
  q(a, "INSERT INTO tx_c VALUES (1)", 2);
  q(a, "ROLLBACK", 3);
  run_until(&loop, &st.calls, 3);
  CHECK_EQ(uvpg_conn_get_autocommit(a), 1);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)4), 0);
  run_until(&loop, &st.calls, 4);
  CHECK_EQ(st.statuses[3], UV_EINVAL);
  CHECK(strstr(uvpg_conn_error_message(a), "ended by a COMMIT or ROLLBACK")
        != NULL);
  CHECK_EQ(uvpg_conn_begin(a, NULL, on_res, (void *)5), 0);
  q(a, "INSERT INTO tx_c VALUES (2)", 6);
  CHECK_EQ(uvpg_conn_commit(a, on_res, (void *)7), 0);
  run_until(&loop, &st.calls, 7);
  CHECK_EQ(st.statuses[4], 0);
  CHECK_EQ(st.statuses[6], 0);
  CHECK_STR(st.cmd[6], "COMMIT");
  CHECK_STR(ids(&loop, b, 8), "2");
  close_all(&loop, a, b);
}

int main(void) {
  static const struct ctest_case cases[] = {
      {"uvpg_conn_begin/commit: committed work seen from another "
       "connection", test_commit},
      {"uvpg_conn_rollback: the work is gone", test_rollback},
      {"uvpg_conn_savepoint: rolling back to it keeps the outer work",
       test_savepoint},
      {"transaction calls: usage errors are return codes", test_usage},
      {"uvpg_conn_begin: inside the program's own transaction fails with "
       "UV_EINVAL", test_foreign},
      {"uvpg_conn_commit: after a failed statement gives "
       "UVPG_EROLLEDBACK", test_rolled_back},
      {"uvpg_tx_opts_t: isolation, read-only, deferrable as the server "
       "shows them", test_options},
      {"uvpg_conn_close: pending transaction calls get UV_ECANCELED",
       test_close_pending},
      {"uvpg_conn_close: an open transaction is rolled back and freed",
       test_close_open},
      {"uvpg_conn_commit: refused when the program ended the transaction "
       "itself; uvpg_conn_begin starts afresh",
       test_ended_by_program},
  };
  return ctest_run("transaction-capi", cases,
                   sizeof cases / sizeof cases[0], reset);
}
