/* cancel.c: run a long query, and cancel it when the user presses Ctrl-C.
 *
 * The query runs on the server; Ctrl-C (SIGINT) arrives on the loop
 * through a uv_signal_t, and uvpg_conn_cancel() asks the server to stop
 * the query.  The query's callback then receives UV_ECANCELED, and the
 * connection could run more statements.  The program closes the signal
 * handle and the connection, and ends when the loop has nothing left.
 * Run it as
 *   samples/cancel "host=localhost dbname=postgres" [SECONDS]
 * or with the conninfo in UVPG_DSN, then press Ctrl-C.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <uvpg.h>

static uv_signal_t sigint;
static uvpg_conn_t *conn;
static const char *seconds = "30";
static int query_done;     /* the query's callback ran */
static int cancel_pending; /* a cancel request has not called back yet */
static int exit_code = 1;

static void on_close(uvpg_conn_t *c, void *data) {
  (void)c;
  (void)data;
}

/* Once the query and any cancel request are over, nothing keeps the
 * loop: the signal handle and the connection close, and uv_run returns. */
static void finish(void) {
  if (!query_done || cancel_pending) {
    return;
  }
  uv_close((uv_handle_t *)&sigint, NULL);
  uvpg_conn_close(conn, on_close, NULL);
}

static void on_cancel(uvpg_conn_t *c, int status, void *data) {
  (void)data;
  cancel_pending = 0;
  if (status < 0) {
    /* The server may not have got it; uvpg closed the connection. */
    printf("the cancel request failed: %s: %s\n", uvpg_err_name(status),
           uvpg_conn_error_message(c));
  } else {
    printf("the server took the cancel request\n");
  }
  finish();
}

static void on_sigint(uv_signal_t *handle, int signum) {
  int rc;
  (void)handle;
  (void)signum;
  if (query_done || cancel_pending) {
    return; /* already on its way out */
  }
  printf("Ctrl-C: asking the server to cancel the query\n");
  fflush(stdout);
  rc = uvpg_conn_cancel(conn, on_cancel, NULL);
  if (rc < 0) {
    printf("cannot cancel: %s\n", uvpg_strerror(rc));
    return;
  }
  cancel_pending = 1;
}

static void on_query(uvpg_conn_t *c, int status, uvpg_result_t *res,
                     void *data) {
  (void)data;
  query_done = 1;
  if (status == UV_ECANCELED) {
    printf("query canceled: %s\n", uvpg_conn_error_message(c));
    exit_code = 0; /* what the user asked for */
  } else if (status < 0) {
    printf("query failed: %s: %s\n", uvpg_err_name(status),
           res ? uvpg_result_error_message(res)
               : uvpg_conn_error_message(c));
  } else {
    printf("query finished: %s\n", uvpg_result_cmd_status(res));
    exit_code = 0;
  }
  fflush(stdout);
  uvpg_result_free(res);
  finish();
}

static void on_connect(uvpg_conn_t *c, int status, void *data) {
  const char *params[1];
  int rc;
  (void)data;
  conn = c;
  if (status < 0) {
    fprintf(stderr, "connect failed: %s: %s\n", uvpg_err_name(status),
            uvpg_conn_error_message(c));
    uv_close((uv_handle_t *)&sigint, NULL);
    uvpg_conn_close(c, on_close, NULL);
    return;
  }
  uv_signal_start(&sigint, on_sigint, SIGINT);
  params[0] = seconds;
  rc = uvpg_conn_query(c, "SELECT pg_sleep($1::float8)", 1, params,
                       on_query, NULL);
  if (rc < 0) {
    fprintf(stderr, "uvpg_conn_query: %s\n", uvpg_strerror(rc));
    query_done = 1;
    finish();
    return;
  }
  printf("running SELECT pg_sleep(%s) on backend %d; "
         "press Ctrl-C to cancel it\n",
         seconds, uvpg_conn_get_backend_pid(c));
  fflush(stdout);
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  const char *conninfo = argc > 1 ? argv[1] : getenv("UVPG_DSN");
  int rc;

  if (argc > 2) {
    seconds = argv[2];
  }
  uv_loop_init(&loop);
  uv_signal_init(&loop, &sigint);
  rc = uvpg_connect(&loop, conninfo, NULL, on_connect, NULL);
  if (rc < 0) {
    fprintf(stderr, "uvpg_connect: %s\n", uvpg_strerror(rc));
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
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
