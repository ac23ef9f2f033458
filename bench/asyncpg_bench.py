#!/usr/bin/env python3
"""asyncpg_bench: asyncpg with uvloop on the workloads of uvpg's issue 4.

The peer that bench/uvpg_bench.cc is measured against: the same SQL, the
same shapes, the same output, one line per run:

    <workload> <count> <seconds> <count/s> [peak RSS kB]

(W1: queries; W2, W3, W4, W5: rows; W5 adds the process's peak RSS;
W6: notifications, and adds the rate from the first received to the
last.)
Run by bench/run.sh against a throwaway cluster; never a unit test.

    asyncpg_bench.py W1a|W1b|W1c|W2|W3a|W3b|W4|W5|W6|W6q SECONDS [dsn]

The dsn is one asyncpg understands, e.g.
postgresql://uvpg@/postgres?host=/tmp/sock&port=5432; without it, the
PG* environment.  W1, W2 and W4 run for SECONDS; W3, W5 and W6 run to
completion.  BENCH_W3_ROWS, BENCH_W5_ROWS and BENCH_W6_COUNT change
their sizes.

How asyncpg is used where it differs from uvpg:
 - an asyncpg connection runs one operation at a time, so W1b's 32
   callers share a pool of 8 connections (pool.fetchval acquires one
   per query) and W1c's 32 callers take turns on one connection under a
   lock;
 - W4 decodes jsonb with json.loads, installed as the type's codec.

Exit status: 0 done, 1 failed, 2 usage.
"""

import asyncio
import json
import os
import resource
import sys
import time

import asyncpg
import uvloop

# The same SQL as bench/uvpg_bench.cc and bench/run.sh's pgbench scripts.
POINT_SQL = "SELECT $1::int"
ROWS_SQL = ("SELECT i, i::text, now(), i*1.5::float8 "
            "FROM generate_series(1,1000) i")
JSON_SQL = "SELECT id, doc FROM bench_w4"
W3_TABLE_SQL = "CREATE TEMP TABLE bench_w3 (a int, b text, c float8)"
W3_INSERT_SQL = "INSERT INTO bench_w3 (a, b, c) VALUES ($1, $2, $3)"
# Rows a W5 fetch asks for (uvpg_bench.cc uses the same).
W5_BATCH = 10000

# W6's channel, and the statement that sends its burst: payloads "1" to
# "<n>", in one transaction (uvpg_bench.cc sends the same).
W6_CHANNEL = "bench_w6"
W6_SEND_SQL = ("SELECT count(pg_notify('bench_w6', i::text)) "
               "FROM generate_series(1, %d) i")

TIMED = ("W1a", "W1b", "W1c", "W2", "W4")
WORKLOADS = TIMED + ("W3a", "W3b", "W5", "W6", "W6q")


def env_count(name, default):
    """A positive count from the environment, else the default."""
    try:
        n = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return n if n > 0 else default


def peak_rss_kb():
    """The process's peak resident set size, in kB (Linux units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Run:
    """What the callers of one timed workload share."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds
        self.count = 0
        self.failed = False


# ---- W1: `SELECT $1::int` with a changing parameter, one row ----

async def point_caller(run, fetchval, first):
    """Queries back to back until time is up; checks every answer.

    fetchval is a connection's or a pool's fetchval."""
    i = first
    while time.monotonic() < run.end:
        if await fetchval(POINT_SQL, i) != i:
            run.failed = True
        run.count += 1
        i += 1


async def locked_point_caller(run, conn, lock, first):
    """W1c: as point_caller, taking turns on one shared connection."""
    i = first
    while time.monotonic() < run.end:
        async with lock:
            v = await conn.fetchval(POINT_SQL, i)
        if v != i:
            run.failed = True
        run.count += 1
        i += 1


# ---- W2: 1000 rows of (int, text, timestamptz, float8) ----

async def rows_caller(run, conn):
    """asyncpg decodes every value into an int, str, datetime and float
    while it builds the records; count them and look at each row."""
    while time.monotonic() < run.end:
        for a, b, t, d in await conn.fetch(ROWS_SQL):
            if a <= 0 or not b or t is None or d <= 0:
                run.failed = True
            run.count += 1


# ---- W4: 1000 jsonb documents of about 1 KB, decoded ----

async def json_caller(run, conn):
    """Each doc arrives as a Python object (json.loads is its codec);
    its "id" must be the row's id."""
    while time.monotonic() < run.end:
        for row_id, doc in await conn.fetch(JSON_SQL):
            if doc["id"] != row_id:
                run.failed = True
            run.count += 1


async def use_json_codec(conn):
    """Decode jsonb to Python objects, as asyncpg's documentation shows."""
    await conn.set_type_codec("jsonb", encoder=json.dumps,
                              decoder=json.loads, schema="pg_catalog")


async def timed(workload, seconds, dsn):
    """W1a, W1b, W1c, W2, W4: (count, seconds, ok)."""
    pool = None
    conns = []
    if workload == "W1b":
        # 32 callers over a pool of 8 connections.
        pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8)
    else:
        n = 8 if workload in ("W2", "W4") else 1
        conns = [await asyncpg.connect(dsn) for _ in range(n)]
        if workload == "W4":
            for c in conns:
                await use_json_codec(c)

    run = Run(seconds)
    start = time.monotonic()
    if workload == "W1a":
        callers = [point_caller(run, conns[0].fetchval, 0)]
    elif workload == "W1b":
        callers = [point_caller(run, pool.fetchval, i * 1000000)
                   for i in range(32)]
    elif workload == "W1c":
        lock = asyncio.Lock()
        callers = [locked_point_caller(run, conns[0], lock, i * 1000000)
                   for i in range(32)]
    elif workload == "W2":
        callers = [rows_caller(run, c) for c in conns]
    else:
        callers = [json_caller(run, c) for c in conns]
    await asyncio.gather(*callers)
    took = time.monotonic() - start

    if pool is not None:
        await pool.close()
    for c in conns:
        await c.close()
    return run.count, took, not run.failed


# ---- W3: 100,000 (int, text, float8) rows in one transaction ----

async def insert(workload, dsn):
    """W3a (executemany) or W3b (copy_records_to_table): (rows, s, ok)."""
    n = env_count("BENCH_W3_ROWS", 100000)
    conn = await asyncpg.connect(dsn)
    await conn.execute(W3_TABLE_SQL)
    # The rows are built before the clock starts, as uvpg_bench's are.
    rows = [(i, "row %d" % i, i * 1.5) for i in range(1, n + 1)]
    start = time.monotonic()
    async with conn.transaction():
        if workload == "W3a":
            await conn.executemany(W3_INSERT_SQL, rows)
        else:
            await conn.copy_records_to_table(
                "bench_w3", records=rows, columns=["a", "b", "c"])
    took = time.monotonic() - start
    got = await conn.fetchval("SELECT count(*) FROM bench_w3")
    await conn.close()
    return n, took, got == n


# ---- W5: 10,000,000 rows through a cursor ----

async def stream(dsn):
    """Reads every row through a cursor in a transaction, W5_BATCH rows
    a fetch; counts them and sums the values: (rows, s, ok)."""
    n = env_count("BENCH_W5_ROWS", 10000000)
    conn = await asyncpg.connect(dsn)
    count = 0
    total = 0
    start = time.monotonic()
    async with conn.transaction():
        cur = await conn.cursor(
            "SELECT i FROM generate_series(1,%d) i" % n)
        while True:
            batch = await cur.fetch(W5_BATCH)
            if not batch:
                break
            for (i,) in batch:
                total += i
            count += len(batch)
    took = time.monotonic() - start
    await conn.close()
    return count, took, count == n and total == n * (n + 1) // 2


# ---- W6: a burst of notifications from another connection ----

class Burst:
    """What W6 received: the payloads must count up from 1."""

    def __init__(self, expected, done):
        self.expected = expected
        self.done = done
        self.got = 0
        self.failed = False
        self.first = self.last = None

    def take(self, payload):
        if self.got == 0:
            self.first = time.monotonic()
        self.got += 1
        if int(payload) != self.got:
            self.failed = True
        if self.got == self.expected:
            self.last = time.monotonic()
            self.done.set_result(None)


async def burst(workload, dsn):
    """W6: add_listener's callback takes each notification; W6q: the
    callback puts it in an asyncio.Queue that a task reads with get()
    (aiopg's conn.notifies).  BENCH_W6_COUNT (100,000) notifications sent
    by another connection in one statement, timed from the send to the
    last one received: (count, s, first-to-last rate, ok)."""
    n = env_count("BENCH_W6_COUNT", 100000)
    listener = await asyncpg.connect(dsn)
    sender = await asyncpg.connect(dsn)
    b = Burst(n, asyncio.get_running_loop().create_future())
    taker = None
    if workload == "W6":
        def on_notify(conn, pid, channel, payload):
            b.take(payload)
    else:
        queue = asyncio.Queue()

        def on_notify(conn, pid, channel, payload):
            queue.put_nowait(payload)

        async def take_all():
            while b.got < n:
                b.take(await queue.get())
        taker = asyncio.ensure_future(take_all())
    await listener.add_listener(W6_CHANNEL, on_notify)
    start = time.monotonic()
    await sender.fetchval(W6_SEND_SQL % n)
    await b.done
    if taker is not None:
        await taker
    took = b.last - start
    spread = b.last - b.first
    await listener.close()
    await sender.close()
    return b.got, took, (b.got - 1) / spread, not b.failed


async def main(workload, seconds, dsn):
    if workload in ("W6", "W6q"):
        count, took, spread_rate, ok = await burst(workload, dsn)
        print("%s %d %.3f %.0f %.0f" % (workload, count, took, count / took,
                                        spread_rate))
        return ok
    if workload in TIMED:
        count, took, ok = await timed(workload, seconds, dsn)
    elif workload == "W5":
        count, took, ok = await stream(dsn)
        print("W5 %d %.3f %.0f %d" % (count, took, count / took,
                                      peak_rss_kb()))
        return ok
    else:
        count, took, ok = await insert(workload, dsn)
    print("%s %d %.3f %.0f" % (workload, count, took, count / took))
    return ok


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in WORKLOADS:
        sys.stderr.write("usage: asyncpg_bench.py %s SECONDS [dsn]\n"
                         % "|".join(WORKLOADS))
        sys.exit(2)
    dsn_arg = sys.argv[3] if len(sys.argv) > 3 else None
    uvloop.install()
    try:
        good = asyncio.run(main(sys.argv[1], float(sys.argv[2]), dsn_arg))
    except Exception as e:  # one line on stderr, as uvpg_bench does
        sys.stderr.write("asyncpg_bench %s: %s: %s\n"
                         % (sys.argv[1], type(e).__name__, e))
        sys.exit(1)
    sys.exit(0 if good else 1)
