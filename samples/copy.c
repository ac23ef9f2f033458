/* copy.c: load rows with COPY FROM STDIN, read them back with COPY TO
 * STDOUT, from the C ABI.
 *
 * uvpg_conn_copy_in() runs the COPY; its ready callback writes the data
 * with uvpg_conn_copy_write().  When a write returns 1, libpq holds data
 * the socket has not taken yet: the program waits for the drained
 * callback before writing more, so memory stays bounded however slow
 * the server is.  uvpg_conn_copy_end() ends the data and the done
 * callback gets "COPY n".  uvpg_conn_copy_out() then hands each row to
 * a callback.  Run it as
 *   samples/copy "host=localhost dbname=postgres" [rows]
 * or with the conninfo in UVPG_DSN (empty: the PG* variables).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

struct app {
  long rows;      /* how many rows to load */
  long next;      /* the next row to write */
  long read;      /* rows read back */
  int exit_code;
};

static void on_closed(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
}

static void fail(uvpg_conn_t *conn, struct app *app) {
  fprintf(stderr, "copy: %s\n", uvpg_conn_error_message(conn));
  app->exit_code = 1;
  uvpg_conn_close(conn, on_closed, NULL);
}

static int on_row(uvpg_conn_t *conn, const char *buf, size_t len,
                  void *data) {
  struct app *app = data;
  (void)conn;
  if (app->read++ < 3)
    printf("row: %.*s", (int)len, buf);
  return 0; /* go on; non-zero would pause until uvpg_conn_copy_resume() */
}

static void on_copied_out(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                          void *data) {
  struct app *app = data;
  if (status < 0) {
    uvpg_result_free(res);
    fail(conn, app);
    return;
  }
  printf("read back: %s (%ld rows seen)\n", uvpg_result_cmd_status(res),
         app->read);
  uvpg_result_free(res);
  uvpg_conn_close(conn, on_closed, NULL);
}

static void on_copied_in(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                         void *data) {
  struct app *app = data;
  if (status < 0) {
    uvpg_result_free(res);
    fail(conn, app);
    return;
  }
  printf("loaded: %s\n", uvpg_result_cmd_status(res));
  uvpg_result_free(res);
  uvpg_conn_copy_out(conn, "COPY samples_copy TO STDOUT (FORMAT csv)",
                     on_row, on_copied_out, app);
}

static void write_rows(uvpg_conn_t *conn, void *data);

/* libpq's buffer went to the socket: write the next batch. */
static void on_drained(uvpg_conn_t *conn, void *data) {
  write_rows(conn, data);
}

static void write_rows(uvpg_conn_t *conn, void *data) {
  struct app *app = data;
  char batch[8192];
  while (app->next < app->rows) {
    size_t len = 0;
    int rc;
    /* A batch of whole rows in COPY's text format: tab between fields. */
    while (app->next < app->rows && len < sizeof batch - 64) {
      len += (size_t)sprintf(batch + len, "%ld\trow %ld\n", app->next,
                             app->next);
      app->next++;
    }
    rc = uvpg_conn_copy_write(conn, batch, len, on_drained, app);
    if (rc < 0) {
      fail(conn, app);
      return;
    }
    if (rc == 1)
      return; /* on_drained() goes on */
  }
  if (uvpg_conn_copy_end(conn, NULL) < 0)
    fail(conn, app);
}

static void on_created(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                       void *data) {
  uvpg_result_free(res);
  if (status < 0) {
    fail(conn, data);
    return;
  }
  uvpg_conn_copy_in(conn, "COPY samples_copy FROM STDIN", write_rows,
                    on_copied_in, data);
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  if (status < 0) {
    fail(conn, data);
    return;
  }
  uvpg_conn_query(conn,
                  "CREATE TEMP TABLE samples_copy (id bigint, label text)", 0,
                  NULL, on_created, data);
}

int main(int argc, char **argv) {
  const char *env = getenv("UVPG_DSN");
  const char *conninfo = argc > 1 ? argv[1] : env ? env : "";
  struct app app = {0, 0, 0, 0};
  uv_loop_t loop;
  app.rows = argc > 2 ? atol(argv[2]) : 100000;
  uv_loop_init(&loop);
  if (uvpg_connect(&loop, conninfo, NULL, on_connect, &app) < 0) {
    fprintf(stderr, "copy: bad arguments\n");
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return app.exit_code;
}
