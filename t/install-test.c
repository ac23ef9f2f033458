/* The installed library, as a program outside the source tree sees it.
 *
 * scripts/check.sh installs uvpg into a scratch DESTDIR and builds this
 * file with nothing but what pkg-config reports for the installed uvpg.pc:
 *   gcc -std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Werror \
 *     -DUVPG_PC_VERSION="\"$(pkg-config --modversion uvpg)\"" \
 *     -o install-test t/install-test.c $(pkg-config --cflags --libs uvpg)
 * then runs it with LD_LIBRARY_PATH set to the installed libdir.  It
 * checks that the installed header and the installed library agree (the
 * version, the error names, argument checks) and, when UVPG_DSN is set,
 * that the library talks to that server: connect, SELECT 1, close, and
 * uv_loop_close() == 0.  Prints "install-test: ok" and exits 0 when all
 * of it holds, else names each failure and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvpg.h>

#include "ctest.h"

/* What the callbacks of the live check saw. */
static struct {
  int connect_calls, connect_status;
  int query_calls, query_status;
  char value[16];
  int close_calls;
} st;

static void on_close(uvpg_conn_t *conn, void *data) {
  (void)conn;
  (void)data;
  st.close_calls++;
}

static void on_query(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                     void *data) {
  (void)data;
  st.query_calls++;
  st.query_status = status;
  if (status < 0) {
    fprintf(stderr, "install-test: SELECT 1: %s: %s\n", uvpg_err_name(status),
            res ? uvpg_result_error_message(res)
                : uvpg_conn_error_message(conn));
  } else if (uvpg_result_ntuples(res) == 1 && uvpg_result_nfields(res) == 1) {
    const char *v = uvpg_result_value(res, 0, 0);
    if (v && strlen(v) < sizeof st.value) {
      strcpy(st.value, v);
    }
  }
  uvpg_result_free(res);
  uvpg_conn_close(conn, on_close, NULL);
}

static void on_connect(uvpg_conn_t *conn, int status, void *data) {
  int rc;
  (void)data;
  st.connect_calls++;
  st.connect_status = status;
  if (conn == NULL) { /* out of memory: there is no handle */
    fprintf(stderr, "install-test: connect: %s\n", uvpg_strerror(status));
    return;
  }
  if (status < 0) {
    fprintf(stderr, "install-test: connect: %s: %s\n", uvpg_err_name(status),
            uvpg_conn_error_message(conn));
    uvpg_conn_close(conn, on_close, NULL);
    return;
  }
  rc = uvpg_conn_query(conn, "SELECT 1", 0, NULL, on_query, NULL);
  if (rc < 0) {
    fprintf(stderr, "install-test: uvpg_conn_query: %s\n", uvpg_strerror(rc));
    uvpg_conn_close(conn, on_close, NULL);
  }
}

static void check_live(const char *dsn) {
  uv_loop_t loop;
  uvpg_connect_opts_t opts;
  int rc;

  CHECK(uv_loop_init(&loop) == 0);
  uvpg_connect_opts_init(&opts);
  opts.timeout_ms = 30000; /* a failure, never a hang */
  rc = uvpg_connect(&loop, dsn, &opts, on_connect, NULL);
  CHECK(rc == 0);
  if (rc == 0) {
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  CHECK(st.connect_calls == (rc == 0 ? 1 : 0));
  CHECK(st.connect_status == 0);
  CHECK(st.query_calls == 1);
  CHECK(st.query_status >= 0);
  CHECK(strcmp(st.value, "1") == 0);
  CHECK(st.close_calls == (rc == 0 ? 1 : 0));
  CHECK(uv_loop_close(&loop) == 0);
}

int main(void) {
  const char *vs = uvpg_version_string();
  const char *name = uvpg_err_name(UVPG_ECONNBAD);
  const char *dsn = getenv("UVPG_DSN");
  uv_loop_t *no_loop = NULL;

  /* The header and the library come from the same release, and say
   * what pkg-config says (check-inner.sh defines UVPG_PC_VERSION as
   * pkg-config --modversion uvpg). */
  CHECK(uvpg_version() == UVPG_VERSION_HEX);
  CHECK(vs != NULL && strcmp(vs, UVPG_VERSION_STRING) == 0);
#ifdef UVPG_PC_VERSION
  CHECK(strcmp(vs, UVPG_PC_VERSION) == 0);
#endif
  CHECK(name != NULL && strcmp(name, "UVPG_ECONNBAD") == 0);
  /* An invalid argument is refused, and the callback is never called. */
  CHECK(uvpg_connect(no_loop, "", NULL, on_connect, NULL) == UV_EINVAL);
  CHECK(st.connect_calls == 0);

  if (dsn != NULL) {
    check_live(dsn);
  } else {
    printf("install-test: UVPG_DSN is not set; skipping the live check\n");
  }

  if (ctest_failed) {
    fprintf(stderr, "install-test: some checks failed\n");
    return 1;
  }
  printf("install-test: ok (uvpg %s%s)\n", vs,
         dsn != NULL ? ", SELECT 1 on UVPG_DSN" : "");
  return 0;
}
