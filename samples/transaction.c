/* transaction.c: a transaction with a savepoint, from C.
 *
 * Queues a whole unit of work at once: BEGIN (serializable), an INSERT,
 * a SAVEPOINT, an INSERT that fails, ROLLBACK TO the savepoint (which
 * undoes the failure alone), another INSERT and COMMIT.  The calls only
 * queue; the statements run in that order, and each callback reports
 * its own step.  Then it reads the table back: rows 1 and 3 are there.
 * Run it as
 *   samples/transaction "host=localhost dbname=postgres"
 * or with the conninfo in UVPG_DSN.
 */
#include <stdio.h>
#include <stdlib.h>

#include <uvpg.h>

static int failures;

static void on_close(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
}

/* One step's outcome; `data` names the step and whether it should fail. */
static void on_step(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                    void *data) {
  const char *step = data;
  int expect_failure = step[0] == '!';
  (void)conn;
  if (status < 0) {
    printf("%-28s failed: %s\n", step,
           res ? uvpg_result_error_field(res, UVPG_DIAG_MESSAGE_PRIMARY)
               : uvpg_conn_error_message(conn));
  } else {
    printf("%-28s %s\n", step, uvpg_result_cmd_status(res));
  }
  if ((status < 0) != expect_failure) {
    failures++;
  }
  uvpg_result_free(res);
}

static void on_rows(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                    void *data) {
  int row;
  (void)data;
  if (status < 0) {
    fprintf(stderr, "select failed: %s\n", uvpg_conn_error_message(conn));
    failures++;
  } else {
    for (row = 0; row < uvpg_result_ntuples(res); row++) {
      printf("row: %s\n", uvpg_result_value(res, row, 0));
    }
    if (uvpg_result_ntuples(res) != 2) {
      failures++;
    }
  }
  uvpg_result_free(res);
  uvpg_conn_close(conn, on_close, NULL);
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  uvpg_tx_opts_t opts;
  (void)data;
  if (status < 0) {
    fprintf(stderr, "connect failed: %s\n", uvpg_conn_error_message(conn));
    failures++;
    uvpg_conn_close(conn, on_close, NULL);
    return;
  }
  uvpg_conn_query(conn, "CREATE TEMP TABLE item (id int PRIMARY KEY)", 0,
                  NULL, on_step, "create table");

  uvpg_tx_opts_init(&opts);
  opts.isolation = UVPG_ISOLATION_SERIALIZABLE;
  uvpg_conn_begin(conn, &opts, on_step, "begin");
  uvpg_conn_query(conn, "INSERT INTO item VALUES (1)", 0, NULL, on_step,
                  "insert 1");
  uvpg_conn_savepoint(conn, "risky", on_step, "savepoint risky");
  /* A '!' marks the step expected to fail: a duplicate key. */
  uvpg_conn_query(conn, "INSERT INTO item VALUES (1)", 0, NULL, on_step,
                  "!insert 1 again");
  uvpg_conn_rollback_to_savepoint(conn, "risky", on_step,
                                  "rollback to savepoint risky");
  uvpg_conn_query(conn, "INSERT INTO item VALUES (3)", 0, NULL, on_step,
                  "insert 3");
  uvpg_conn_commit(conn, on_step, "commit");

  uvpg_conn_query(conn, "SELECT id FROM item ORDER BY id", 0, NULL, on_rows,
                  NULL);
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  const char *conninfo = argc > 1 ? argv[1] : getenv("UVPG_DSN");
  int rc;

  uv_loop_init(&loop);
  rc = uvpg_connect(&loop, conninfo, NULL, on_connect, NULL);
  if (rc < 0) {
    fprintf(stderr, "uvpg_connect: %s\n", uvpg_strerror(rc));
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) {
    return 1;
  }
  return failures ? 1 : 0;
}
