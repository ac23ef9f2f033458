/* libpq alone, W1c's shape: `SELECT $1::int` (prepared) pipelined on one
 * connection, 32 statements in flight, a Sync after every EVERY
 * statements; prints "libpq-sync-every-EVERY <count> <seconds> <per s>".
 * EVERY 1 is what uvpg sends (each statement its own segment, so an error
 * ends that statement only); pgbench's pipeline syncs once per 100.
 * With libpq 17 the Syncs do not flush (PQsendPipelineSync): one write
 * per pass, as uvpg does.  bench/w1c-builds.sh builds and runs it.
 *
 *   libpq_pipeline CONNINFO SECONDS EVERY
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>

/* The Sync: queued only, with libpq 17; written at once before. */
static int sync_queued(PGconn *c) {
#ifdef LIBPQ_HAS_SEND_PIPELINE_SYNC
  return PQsendPipelineSync(c);
#else
  return sync_queued(c);
#endif
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: libpq_pipeline CONNINFO SECONDS EVERY\n");
    return 2;
  }
  double secs = atof(argv[2]);
  int every = atoi(argv[3]);
  const long depth = 32;
  PGconn *c = PQconnectdb(argv[1]);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "%s", PQerrorMessage(c));
    return 1;
  }
  PGresult *p = PQprepare(c, "s", "SELECT $1::int", 0, NULL);
  if (PQresultStatus(p) != PGRES_COMMAND_OK) {
    fprintf(stderr, "%s", PQerrorMessage(c));
    return 1;
  }
  PQclear(p);
  if (PQsetnonblocking(c, 1) != 0 || !PQenterPipelineMode(c)) {
    fprintf(stderr, "%s", PQerrorMessage(c));
    return 1;
  }
  long sent = 0, done = 0;
  int unsynced = 0, expect_null = 0;
  double start = now(), end = start + secs;
  for (;;) {
    int stop = now() >= end;
    while (!stop && sent - done < depth) {
      char buf[24];
      snprintf(buf, sizeof buf, "%ld", sent);
      const char *v[1] = {buf};
      if (!PQsendQueryPrepared(c, "s", 1, v, NULL, NULL, 0)) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
      }
      ++sent;
      if (++unsynced == every) {
        unsynced = 0;
        sync_queued(c);
      }
    }
    if (unsynced) { /* nothing more goes out before these are answered */
      unsynced = 0;
      sync_queued(c);
    }
    if (PQflush(c) < 0) {
      fprintf(stderr, "%s", PQerrorMessage(c));
      return 1;
    }
    if (stop && done == sent) {
      break;
    }
    struct pollfd pfd = {PQsocket(c), POLLIN, 0};
    poll(&pfd, 1, 1000);
    if (!PQconsumeInput(c)) {
      fprintf(stderr, "%s", PQerrorMessage(c));
      return 1;
    }
    while (!PQisBusy(c)) {
      PGresult *r = PQgetResult(c);
      if (!r) {
        if (!expect_null) {
          break;
        }
        expect_null = 0; /* the end of one statement's results */
        continue;
      }
      ExecStatusType s = PQresultStatus(r);
      if (s == PGRES_TUPLES_OK) {
        ++done;
        expect_null = 1;
      } else if (s != PGRES_PIPELINE_SYNC) {
        fprintf(stderr, "%s: %s", PQresStatus(s), PQresultErrorMessage(r));
        return 1;
      }
      PQclear(r);
    }
  }
  double took = now() - start;
  printf("libpq-sync-every-%d %ld %.3f %.0f\n", every, done, took,
         (double)done / took);
  PQfinish(c);
  return 0;
}
