/* query.c: connect, run one parameterised query, print the rows.
 *
 * Shows the C ABI on a program's own uv_loop_t.  Run it as
 *   samples/query "host=localhost dbname=postgres"
 * or with the conninfo in UVPG_DSN (the README's demo does that).
 */
#include <stdio.h>
#include <stdlib.h>

#include <uvpg.h>

static int exit_code = 1;

static void on_close(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
}

static void on_rows(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                    void *data) {
  int row, col;
  (void)data;
  if (status < 0) {
    fprintf(stderr, "query failed: %s: %s\n", uvpg_err_name(status),
            res ? uvpg_result_error_message(res)
                : uvpg_conn_error_message(conn));
  } else {
    for (col = 0; col < uvpg_result_nfields(res); col++) {
      printf("%s%s", col ? " | " : "", uvpg_result_fname(res, col));
    }
    printf("\n");
    for (row = 0; row < uvpg_result_ntuples(res); row++) {
      for (col = 0; col < uvpg_result_nfields(res); col++) {
        printf("%s%s", col ? " | " : "",
               uvpg_result_isnull(res, row, col)
                   ? "NULL"
                   : uvpg_result_value(res, row, col));
      }
      printf("\n");
    }
    printf("(%s)\n", uvpg_result_cmd_status(res));
    exit_code = 0;
  }
  uvpg_result_free(res);
  uvpg_conn_close(conn, on_close, NULL);
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  const char *params[] = {"3", "uvpg"};
  (void)data;
  if (status < 0) {
    fprintf(stderr, "connect failed: %s: %s\n", uvpg_err_name(status),
            uvpg_conn_error_message(conn));
    uvpg_conn_close(conn, on_close, NULL);
    return;
  }
  printf("connected to %s (server %d, backend pid %d)\n",
         uvpg_conn_get_dsn(conn), uvpg_conn_get_server_version(conn),
         uvpg_conn_get_backend_pid(conn));
  /* The values travel apart from the SQL text: no quoting, no injection. */
  uvpg_conn_query(conn,
                  "SELECT i, $2 || ' #' || i AS label, i * 1.5 AS half "
                  "FROM generate_series(1, $1::int) AS i",
                  2, params, on_rows, NULL);
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
  rc = uv_loop_close(&loop);
  if (rc != 0) {
    fprintf(stderr, "uv_loop_close: %s\n", uv_strerror(rc));
    return 1;
  }
  return exit_code;
}
