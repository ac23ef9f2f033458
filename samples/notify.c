/* notify.c: LISTEN/NOTIFY between two connections, from C.
 *
 * One connection starts a notification callback
 * (uvpg_conn_notify_start()) and listens on "channel"; once the LISTEN
 * has run, the other sends five messages, then "finish", with
 * uvpg_conn_notify().  The callback prints each one; at "finish" it
 * closes both connections, and the callback's final call (status
 * UV_ECANCELED, no notification) tells it the stream is over.  A lost
 * connection ends it the same way, with UVPG_ECONNBAD.
 * Run it as
 *   samples/notify-c "host=localhost dbname=postgres"
 * or with the conninfo in UVPG_DSN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

static uvpg_conn_t *listener;
static uvpg_conn_t *sender;
static int connected;
static int exit_code = 1;

static void on_close(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
}

static void close_both(void) {
  if (listener != NULL) {
    uvpg_conn_close(listener, on_close, NULL);
    listener = NULL;
  }
  if (sender != NULL) {
    uvpg_conn_close(sender, on_close, NULL);
    sender = NULL;
  }
}

static void on_notify(uvpg_conn_t *conn, int status, const uvpg_notify_t *n,
                      void *data) {
  (void)conn;
  (void)data;
  if (status < 0) {
    /* The last call: the stream ended (here, with the close below). */
    printf("notifications ended: %s\n", uvpg_err_name(status));
    return;
  }
  if (strcmp(n->payload, "finish") == 0) {
    exit_code = 0;
    close_both();
    return;
  }
  printf("Receive <- %s (channel %s, from server process %d)\n", n->payload,
         n->channel, n->pid);
}

static void on_sent(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                    void *data) {
  (void)data;
  if (status < 0) {
    fprintf(stderr, "NOTIFY: %s\n", uvpg_conn_error_message(conn));
    close_both();
  }
  uvpg_result_free(res);
}

static void on_listen(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                      void *data) {
  char msg[32];
  int i;
  (void)data;
  uvpg_result_free(res);
  if (status < 0) {
    fprintf(stderr, "LISTEN: %s\n", uvpg_conn_error_message(conn));
    close_both();
    return;
  }
  /* Queued at once, sent in order, each in its own transaction. */
  for (i = 0; i < 5; i++) {
    snprintf(msg, sizeof msg, "message %d", i);
    printf("Send -> %s\n", msg);
    uvpg_conn_notify(sender, "channel", msg, on_sent, NULL);
  }
  uvpg_conn_notify(sender, "channel", "finish", on_sent, NULL);
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  int r;
  *(uvpg_conn_t **)data = conn;
  if (status < 0) {
    fprintf(stderr, "connect: %s\n", uvpg_conn_error_message(conn));
    close_both();
    return;
  }
  if (++connected < 2) {
    return;
  }
  r = uvpg_conn_notify_start(listener, on_notify, NULL);
  if (r == 0) {
    r = uvpg_conn_listen(listener, "channel", on_listen, NULL);
  }
  if (r < 0) {
    fprintf(stderr, "listen: %s\n", uvpg_strerror(r));
    close_both();
  }
}

int main(int argc, char **argv) {
  const char *dsn = argc > 1 ? argv[1] : getenv("UVPG_DSN");
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    return 1;
  }
  if (uvpg_connect(&loop, dsn, NULL, on_connect, &listener) < 0 ||
      uvpg_connect(&loop, dsn, NULL, on_connect, &sender) < 0) {
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  printf("ALL DONE\n");
  return uv_loop_close(&loop) == 0 ? exit_code : 1;
}
