/* pool.c: a connection pool, from C.
 *
 * Creates a pool of at most three connections, then
 *   - starts five statements at once with uvpg_pool_query(): each
 *     borrows a connection, runs, and gives the connection back when its
 *     callback returns; the pool runs three at a time and the others
 *     wait their turn;
 *   - borrows one connection with uvpg_pool_acquire() for two statements
 *     in a row on the same session, and gives it back with
 *     uvpg_pool_release().
 * When all six are done it prints the pool's counters and closes the
 * pool; uv_run() returns once the pool is gone.
 * Run it as
 *   samples/pool-c "host=localhost dbname=postgres"
 * or with the conninfo in UVPG_DSN.
 */
#include <stdio.h>
#include <stdlib.h>

#include <uvpg.h>

static uvpg_pool_t *pool;
static int pending; /* jobs still running */
static int failures;

static void on_pool_closed(uvpg_pool_t *p, void *data) {
  (void)p;
  (void)data;
  printf("pool closed\n");
}

/* One job fewer; after the last one, the counters and the close. */
static void job_done(void) {
  uvpg_pool_stats_t st;
  if (--pending > 0) {
    return;
  }
  uvpg_pool_get_stats(pool, &st);
  printf("%llu connections opened, %llu leases, %zu idle now\n",
         st.opened, st.acquired, st.idle);
  uvpg_pool_close(pool, 0, on_pool_closed, NULL);
}

/* The outcome of one uvpg_pool_query(). */
static void on_square(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                      void *data) {
  const char *n = data;
  if (status < 0) {
    /* conn is NULL when no connection was free in time */
    fprintf(stderr, "square of %s: %s\n", n,
            conn ? uvpg_conn_error_message(conn) : uvpg_strerror(status));
    failures++;
  } else {
    printf("%s squared is %s (server process %s)\n", n,
           uvpg_result_value(res, 0, 0), uvpg_result_value(res, 0, 1));
  }
  uvpg_result_free(res);
  job_done(); /* the connection goes back when this returns */
}

/* The second statement of the borrowed connection: then release it. */
static void on_read_back(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                         void *data) {
  (void)data;
  if (status < 0) {
    fprintf(stderr, "read back: %s\n", uvpg_conn_error_message(conn));
    failures++;
  } else {
    printf("borrowed connection: application_name is %s\n",
           uvpg_result_value(res, 0, 0));
  }
  uvpg_result_free(res);
  uvpg_pool_release(pool, conn); /* the pool resets the setting */
  job_done();
}

static void on_set(uvpg_conn_t *conn, int status, uvpg_result_t *res,
                   void *data) {
  (void)conn;
  (void)data;
  if (status < 0) {
    failures++;
  }
  uvpg_result_free(res);
}

static void on_acquired(uvpg_pool_t *p, int status, uvpg_conn_t *conn,
                        void *data) {
  (void)p;
  (void)data;
  if (status < 0) {
    fprintf(stderr, "acquire: %s\n", uvpg_strerror(status));
    failures++;
    job_done();
    return;
  }
  /* Both statements run on this one session, in order. */
  uvpg_conn_query(conn, "SET application_name = 'pool sample'", 0, NULL,
                  on_set, NULL);
  if (uvpg_conn_query(conn, "SHOW application_name", 0, NULL, on_read_back,
                      NULL) < 0) {
    failures++;
    uvpg_pool_release(pool, conn);
    job_done();
  }
}

int main(int argc, char **argv) {
  static const char *numbers[] = {"1", "2", "3", "4", "5"};
  const char *dsn = argc > 1 ? argv[1] : getenv("UVPG_DSN");
  uv_loop_t *loop = uv_default_loop();
  uvpg_pool_opts_t opts;
  int i, rc;

  uvpg_pool_opts_init(&opts);
  opts.minsize = 1;
  opts.maxsize = 3;
  opts.timeout_ms = 10000; /* wait at most 10 s for a connection */
  rc = uvpg_pool_new(loop, dsn ? dsn : "", &opts, &pool);
  if (rc < 0) {
    fprintf(stderr, "uvpg_pool_new: %s\n", uvpg_strerror(rc));
    return 1;
  }

  for (i = 0; i < 5; i++) {
    const char *params[1];
    params[0] = numbers[i];
    rc = uvpg_pool_query(pool, "SELECT $1::int * $1::int, pg_backend_pid()",
                         1, params, on_square, (void *)numbers[i]);
    if (rc < 0) {
      fprintf(stderr, "uvpg_pool_query: %s\n", uvpg_strerror(rc));
      failures++;
    } else {
      pending++;
    }
  }
  rc = uvpg_pool_acquire(pool, on_acquired, NULL, NULL);
  if (rc < 0) {
    fprintf(stderr, "uvpg_pool_acquire: %s\n", uvpg_strerror(rc));
    failures++;
  } else {
    pending++;
  }
  if (pending == 0) {
    uvpg_pool_close(pool, 0, on_pool_closed, NULL);
  }

  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return failures ? 1 : 0;
}
