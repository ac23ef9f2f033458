/* cursor.c: stream a large result through a named cursor, row by row.
 *
 * Shows a server-side cursor from the C ABI: uvpg_cursor_new() with a
 * name declares the query on the server (DECLARE ... CURSOR FOR), and
 * uvpg_cursor_each() reads it in batches of itersize rows (FETCH FORWARD
 * n), calling a function for each row, so memory stays bounded however
 * many rows there are.  Then the cursor is closed, and the connection
 * from the cursor's close callback.  Run it as
 *   samples/cursor "host=localhost dbname=postgres" [rows]
 * or with the conninfo in UVPG_DSN (empty: the PG* variables).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

struct app {
  const char *rows;   /* how many rows to generate, as text */
  long long count;    /* rows seen */
  long long sum;      /* of column "n" */
  int exit_code;
};

static void on_conn_closed(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
}

static void on_cursor_closed(uvpg_cursor_t *cur, void *data) {
  (void)data;
  /* The cursor is done (its CLOSE or COMMIT ran): close the connection. */
  uvpg_conn_close(uvpg_cursor_get_conn(cur), on_conn_closed, NULL);
}

static int on_row(uvpg_cursor_t *cur, const uvpg_result_t *res, int row,
                  void *data) {
  struct app *app = data;
  (void)cur;
  app->count++;
  app->sum += atoll(uvpg_result_value(res, row, 0));
  if (app->count <= 3) {
    printf("%s | %s\n", uvpg_result_value(res, row, 0),
           uvpg_result_value(res, row, 1));
  }
  return 0; /* non-zero would stop here */
}

static void on_rows_done(uvpg_cursor_t *cur, int status, void *data) {
  struct app *app = data;
  if (status < 0) {
    fprintf(stderr, "reading rows failed: %s: %s\n", uvpg_err_name(status),
            uvpg_cursor_error_message(cur));
  } else {
    printf("...\n%d rows read (rowcount %lld), sum of n = %lld\n", status,
           uvpg_cursor_get_rowcount(cur), app->sum);
    app->exit_code = 0;
  }
  uvpg_cursor_close(cur, on_cursor_closed, app);
}

static void on_executed(uvpg_cursor_t *cur, int status, void *data) {
  int col, rc;
  if (status < 0) {
    fprintf(stderr, "execute failed: %s: %s\n", uvpg_err_name(status),
            uvpg_cursor_error_message(cur));
    uvpg_cursor_close(cur, on_cursor_closed, data);
    return;
  }
  printf("%s\n", uvpg_cursor_get_query(cur));
  for (col = 0; col < uvpg_cursor_get_ncolumns(cur); col++) {
    printf("%s%s", col ? " | " : "", uvpg_cursor_get_column_name(cur, col));
  }
  printf("\n");
  rc = uvpg_cursor_each(cur, on_row, on_rows_done, data);
  if (rc < 0) {
    fprintf(stderr, "each: %s\n", uvpg_strerror(rc));
    uvpg_cursor_close(cur, on_cursor_closed, data);
  }
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  struct app *app = data;
  uvpg_cursor_opts_t opts;
  uvpg_cursor_t *cur;
  const char *params[1];
  int rc;

  if (status < 0) {
    fprintf(stderr, "connect failed: %s: %s\n", uvpg_err_name(status),
            uvpg_conn_error_message(conn));
    uvpg_conn_close(conn, on_conn_closed, NULL);
    return;
  }
  uvpg_cursor_opts_init(&opts);
  opts.name = "stream";  /* a named cursor: rows stay on the server */
  opts.itersize = 1000;  /* rows per FETCH */
  rc = uvpg_cursor_new(conn, &opts, &cur);
  if (rc < 0) {
    fprintf(stderr, "cursor: %s\n", uvpg_strerror(rc));
    uvpg_conn_close(conn, on_conn_closed, NULL);
    return;
  }
  params[0] = app->rows;
  rc = uvpg_cursor_execute(cur,
                           "SELECT g AS n, md5(g::text) AS digest "
                           "FROM generate_series(1, %s::int) g",
                           1, params, on_executed, app);
  if (rc < 0) {
    fprintf(stderr, "execute: %s\n", uvpg_strerror(rc));
    uvpg_cursor_close(cur, on_cursor_closed, app);
  }
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  struct app app;
  const char *conninfo = argc > 1 ? argv[1] : getenv("UVPG_DSN");
  int rc;

  memset(&app, 0, sizeof app);
  app.rows = argc > 2 ? argv[2] : "100000";
  app.exit_code = 1;
  uv_loop_init(&loop);
  rc = uvpg_connect(&loop, conninfo ? conninfo : "", NULL, on_connect, &app);
  if (rc < 0) {
    fprintf(stderr, "uvpg_connect: %s\n", uvpg_strerror(rc));
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: handles left open\n");
    return 1;
  }
  return app.exit_code;
}
