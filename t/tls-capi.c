/* TLS through the C ABI, written from uvpg_connect(3) alone: a conninfo
 * with sslmode=verify-full and sslrootcert connects when the CA is the
 * one that signed the server's certificate, and fails with
 * UVPG_ECONNBAD and libpq's "certificate verify failed" when it is not.
 *
 * t/tls-setup.sh (run first; it restarts the server, so the program has
 * a private cluster of its own) made the CA files and the role.  Built
 * with -std=c99 -pedantic -Werror and only <uvpg.h>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

static char tls_dir[512];
static char user[64];
static char password[64];

static struct {
  int connects;
  int connect_status;
  uvpg_conn_t *conn;
  char error[2048];
  int in_call; /* set while uvpg_connect() runs */
  int called_inside;
  int results;
  int result_status;
  char ssl[8]; /* pg_stat_ssl.ssl of the session */
  int closes;
} st;

static void reset(void) { memset(&st, 0, sizeof st); }

static void read_line(const char *name, char *out, size_t size) {
  char path[600];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", tls_dir, name);
  f = fopen(path, "r");
  if (!f || !fgets(out, (int)size, f)) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  out[strcspn(out, "\n")] = '\0';
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  const char *msg;
  (void)data;
  if (st.in_call) {
    st.called_inside = 1;
  }
  st.connects++;
  st.connect_status = status;
  st.conn = conn;
  msg = uvpg_conn_error_message(conn);
  snprintf(st.error, sizeof st.error, "%s", msg ? msg : "");
}

static void on_result(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                      void *data) {
  (void)conn;
  (void)data;
  st.results++;
  st.result_status = status;
  if (res && uvpg_result_ntuples(res) == 1) {
    snprintf(st.ssl, sizeof st.ssl, "%s", uvpg_result_value(res, 0, 0));
  }
  uvpg_result_free(res);
}

static void on_close(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
  st.closes++;
}

/* Runs the loop until `*counter` reaches 1 (or 60 s pass). */
static void run_until(uv_loop_t *loop, const int *counter) {
  uint64_t limit;
  uv_update_time(loop);
  limit = uv_now(loop) + 60000;
  while (*counter < 1 && uv_now(loop) < limit) {
    uv_run(loop, UV_RUN_ONCE);
  }
  CHECK_EQ(*counter, 1);
}

/* Connects with verify-full to `host`, trusting the root file `root`. */
static void connect_verify_full(uv_loop_t *loop, const char *host,
                                const char *root) {
  char conninfo[2048];
  snprintf(conninfo, sizeof conninfo,
           "host=%s port=%s user=%s password=%s dbname=postgres "
           "sslmode=verify-full sslrootcert=%s/%s",
           host, getenv("UVPG_TEST_PORT"), user, password, tls_dir, root);
  st.in_call = 1;
  CHECK_EQ(uvpg_connect(loop, conninfo, NULL, on_connect, NULL), 0);
  st.in_call = 0;
  run_until(loop, &st.connects);
  CHECK_EQ(st.called_inside, 0);
  CHECK(st.conn != NULL);
}

static void close_conn(uv_loop_t *loop) {
  if (st.conn) {
    uvpg_conn_close(st.conn, on_close, NULL);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ(st.closes, st.conn ? 1 : 0);
  CHECK_EQ(uv_loop_close(loop), 0);
}

static void test_right_ca(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  connect_verify_full(&loop, "localhost", "ca.crt");
  CHECK_EQ(st.connect_status, 0);
  if (st.connect_status == 0) {
    CHECK_EQ(uvpg_conn_query(st.conn,
                             "SELECT ssl FROM pg_stat_ssl "
                             "WHERE pid = pg_backend_pid()",
                             0, NULL, on_result, NULL),
             0);
    run_until(&loop, &st.results);
    CHECK_EQ(st.result_status, 0);
    CHECK_STR(st.ssl, "t");
  } else {
    fprintf(stderr, "connect failed: %s\n", st.error);
  }
  close_conn(&loop);
}

static void test_wrong_ca(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  connect_verify_full(&loop, "localhost", "other-ca.crt");
  CHECK_EQ(st.connect_status, UVPG_ECONNBAD);
  CHECK(strstr(st.error, "certificate verify failed") != NULL);
  CHECK(strstr(st.error, password) == NULL);
  close_conn(&loop);
}

static void test_wrong_name(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  connect_verify_full(&loop, "127.0.0.1", "ca.crt");
  CHECK_EQ(st.connect_status, UVPG_ECONNBAD);
  CHECK(strstr(st.error, "does not match host name \"127.0.0.1\"") != NULL);
  CHECK(strstr(st.error, password) == NULL);
  close_conn(&loop);
}

int main(void) {
  static const struct ctest_case cases[] = {
      {"uvpg_connect: verify-full with the server's CA connects over TLS",
       test_right_ca},
      {"uvpg_connect: verify-full with an unrelated CA fails with "
       "UVPG_ECONNBAD, certificate verify failed",
       test_wrong_ca},
      {"uvpg_connect: verify-full with an address the certificate does "
       "not name fails with UVPG_ECONNBAD",
       test_wrong_name},
  };
  const char *cluster = getenv("UVPG_TEST_CLUSTER");
  if (!cluster || !getenv("UVPG_TEST_PORT")) {
    fprintf(stderr, "UVPG_TEST_CLUSTER is not set: run under "
                    "scripts/with-server.sh --private\n");
    return 1;
  }
  if (system("'" UVPG_TLS_SETUP "'") != 0) {
    fprintf(stderr, "t/tls-setup.sh failed\n");
    return 1;
  }
  snprintf(tls_dir, sizeof tls_dir, "%s/tls", cluster);
  read_line("user", user, sizeof user);
  read_line("password", password, sizeof password);
  return ctest_run("tls-capi", cases, sizeof cases / sizeof cases[0], reset);
}
