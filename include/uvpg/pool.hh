/// \file uvpg/pool.hh
/// A pool of connections to one server, on one loop (aiopg's Pool, with
/// asyncpg's and psycopg_pool's limits and hooks).
///
/// `pool::create()` starts opening `minsize` connections in the
/// background.  `acquire()` hands out a `uvpg::connection` that is lent,
/// not owned: destroying it (or `release()`) gives it back.  Waiters are
/// served first come, first served.  On release the pool resets the
/// session when the lease may have changed it (see pool_reset) and hands
/// the connection to the next waiter; a connection that is broken, was
/// closed by the program, or fails its reset is dropped and replaced.
/// Idle connections stay under read watch: one the server ends is
/// dropped at once and the pool refills to `minsize` in the background,
/// backing off while the server is down.
///
/// The pool-level calls (query, fetch, fetchrow, fetchval, execute,
/// executemany, the COPY helpers, run, transaction) run one call on a
/// pooled connection.  query and its forms run under one deadline
/// (`timeout`) that covers the wait for a connection, the connect and
/// the statement.  A query or DML statement that leaves the session as
/// it was takes no lease while nobody waits for one: it is pipelined on
/// the least loaded idle connection (its own implicit transaction), so
/// many callers share few connections.  At the deadline the caller is
/// told; a statement running alone is cancelled on the server and its
/// connection reused, one pipelined behind others runs on and its result
/// is dropped.  The other calls acquire, run and release; their deadline
/// bounds the wait for the connection.
///
/// Replicas: with a multi-host conninfo ("host=a,b,c") the pool keeps
/// connections to the primary (opened with target_session_attrs=
/// read-write over all hosts) and to standbys (target_session_attrs=
/// standby, each new one starting at the host with the fewest), and
/// routes each lease by its pool_access: read-only work to the idle
/// standby connection on the least busy standby (fewest lent out), or
/// to the primary while no standby is up.  A connection whose server
/// changed role (a promoted standby, a primary gone read-only) or was
/// lost is dropped, and the pool reconnects, looking for a primary among
/// all hosts with backoff (1 s at most): after a failover, writes resume
/// on the promoted standby.  Writes a caller saw acknowledged survive
/// the failover only when the primary replicates synchronously
/// (synchronous_standby_names).
///
/// A pool belongs to the loop it was created on; everything runs on that
/// loop's thread.  A program with several loops makes a pool per loop.
#ifndef UVPG_POOL_HH
#define UVPG_POOL_HH

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <uv.h>

#include "uvpg/connection.hh"
#include "uvpg/cursor.hh"
#include "uvpg/future.hh"
#include "uvpg/transaction.hh"

namespace uvpg {

namespace detail {
struct pool_impl;
}

/// What the pool does to a session when a connection comes back.
enum class pool_reset : unsigned char {
  /// Ends an open or failed transaction, and when the lease ran a
  /// statement that may have changed the session (anything but queries,
  /// DML, COPY and transaction control, or one naming set_config,
  /// advisory locks, LISTEN, dblink or TEMP), runs the full reset:
  /// CLOSE ALL, UNLISTEN *, RESET ALL, pg_advisory_unlock_all(),
  /// DISCARD TEMP.  Session state changed inside a function a plain
  /// query calls is not seen: choose `always` for such schemas.
  automatic,
  /// The full reset after every lease (asyncpg's): costs a round trip
  /// and server time per release.
  always,
  /// Only an open transaction is ended (psycopg_pool's and PgBouncer's
  /// transaction mode).
  transaction_only,
};

/// Which server a lease may run on, in a pool whose conninfo names more
/// than one host (see pool_options::access).  A single-host pool ignores
/// it: every connection goes to the one server.
enum class pool_access : unsigned char {
  /// The primary: a server that accepts writes (target_session_attrs=
  /// read-write).  While none is found, the caller waits until its
  /// deadline, which then fails naming why.
  read_write,
  /// A standby (in recovery, hot standby), the least busy one; the
  /// primary while no standby is up.
  read_only,
  /// A standby only: while none is up, the caller waits until its
  /// deadline, which then fails naming why.
  standby_only,
};

/// Options of pool::create(), aiopg's create_pool() keywords and
/// asyncpg's and psycopg_pool's limits.
struct pool_options {
  /// Options of every connection (timeout bounds each connect).
  connect_options connect;
  /// Connections kept open, idle or not.
  size_t minsize = 1;
  /// Connections at most; 0 = no limit.
  size_t maxsize = 10;
  /// The default deadline of acquire() and of each pool-level call
  /// (aiopg's timeout); 0 = none.
  std::chrono::milliseconds timeout{60000};
  /// Callers that may wait for a connection at once; one more fails at
  /// once with pool_exhausted.  0 = no limit.
  size_t max_waiting = 0;
  /// A connection is replaced when it comes back after it ran this
  /// many statements (asyncpg's max_queries); 0 = never.
  uint64_t max_queries = 50000;
  /// An idle connection above minsize is closed after this long
  /// (asyncpg's max_inactive_connection_lifetime); 0 = never.
  std::chrono::milliseconds max_inactive_connection_lifetime{300000};
  /// A connection is replaced when it comes back after this long
  /// (aiopg's pool_recycle, psycopg's max_lifetime), each one's lifetime
  /// cut by up to 10 % at random so they do not all go at once;
  /// 0 = never.
  std::chrono::milliseconds max_lifetime{0};
  /// See pool_reset.
  pool_reset reset = pool_reset::automatic;
  /// With a multi-host conninfo: where acquire() without an access mode
  /// and the pool-level calls run.  Ignored with one host.
  pool_access access = pool_access::read_write;
  /// With a multi-host conninfo: a standby whose replay lags more than
  /// this is passed over (as if it were down) until it catches up.  The
  /// lag, asked of each idle standby connection every second, is the
  /// time since the last transaction it replayed while WAL it received
  /// waits to be replayed, else 0.  0 = no check.
  std::chrono::milliseconds max_replica_lag{0};
  /// Opens a connection instead of connection::connect() (asyncpg's
  /// connect hook).
  std::function<future<connection>(uv_loop_t *, const std::string &conninfo,
                                   const connect_options &)>
      connect_fn;
  /// Runs once on every new connection before first use (aiopg's
  /// on_connect, asyncpg's init); a failure drops the connection.  Do not
  /// move the connection out of the reference.
  std::function<future<void>(connection &)> init;
  /// Runs on a connection each time before it is handed out (asyncpg's
  /// setup); a failure drops it, and the pool tries another.
  std::function<future<void>(connection &)> setup;
  /// Runs after the pool's own reset each time a connection comes back
  /// (asyncpg's reset); a failure drops it.
  std::function<future<void>(connection &)> reset_fn;
};

/// The counters of a pool (psycopg_pool's get_stats()).  Times in ns.
struct pool_stats {
  size_t size = 0;       // open connections, idle, in use or in reset
  size_t idle = 0;       // ready to be handed out
  size_t in_use = 0;     // lent out
  size_t waiting = 0;    // callers waiting for a connection
  size_t connecting = 0; // connects in flight
  uint64_t acquired = 0;        // connections handed out
  uint64_t wait_ns = 0;         // total time callers waited for them
  uint64_t usage_ns = 0;        // total time they were lent out
  uint64_t timeouts = 0;        // acquires that met their deadline
  uint64_t exhausted = 0;       // acquires refused by max_waiting
  uint64_t opened = 0;          // connections opened
  uint64_t failed = 0;          // connects that failed
  uint64_t lost = 0;            // connections the server ended
  uint64_t closed = 0;          // connections the pool closed
  uint64_t resets = 0;          // full session resets run
  uint64_t behind_pooler = 0;   // connections found behind a connection
                                // pooler: no statement cache, no pipelining
  uint64_t role_changes = 0;    // connections closed as their server
                                // changed role (promoted, or a standby)
};

/// A cursor with the pooled connection it runs on (pool::cursor()):
/// close() closes the cursor and gives the connection back, and so does
/// destroying it.
class UVPG_CXX_EXTERN pooled_cursor {
public:
  pooled_cursor(connection conn, cursor_options opts);
  pooled_cursor(pooled_cursor &&) noexcept = default;
  pooled_cursor &operator=(pooled_cursor &&) noexcept = default;
  ~pooled_cursor();
  uvpg::cursor &operator*() noexcept { return _cur; }
  uvpg::cursor *operator->() noexcept { return &_cur; }
  uvpg::connection &conn() noexcept { return _conn; }
  /// Closes the cursor, then gives the connection back.
  future<void> close();

private:
  uvpg::connection _conn;
  uvpg::cursor _cur;
};

/// A pool of connections.  Move-only; destroying the handle closes the
/// pool (as close(), without waiting).
class UVPG_CXX_EXTERN pool {
public:
  /// A pool of connections to `conninfo`; `minsize` connects start in
  /// the background.  \throws usage_error for a null loop or minsize >
  /// maxsize (when maxsize is not 0).
  static pool create(uv_loop_t *loop, std::string_view conninfo,
                     const pool_options &opts = {});
  /// create(), resolved once `minsize` connections are open (aiopg's
  /// from_pool_fill); fails with the connect error, the pool closed,
  /// when one of them cannot be opened.
  static future<pool> create_filled(uv_loop_t *loop,
                                    std::string_view conninfo,
                                    const pool_options &opts = {});

  pool() noexcept = default;
  pool(pool &&o) noexcept : _impl(std::exchange(o._impl, nullptr)) {}
  pool &operator=(pool &&o) noexcept;
  pool(const pool &) = delete;
  pool &operator=(const pool &) = delete;
  ~pool();

  /// A connection, lent: destroy it or release() it to give it back.
  /// Waits (first come, first served) while all are in use.  Fails with
  /// timed_out at the deadline (options' timeout, or `timeout`; 0 =
  /// none; the message names the last connect error, if any),
  /// pool_exhausted when max_waiting callers already wait, and
  /// interface_error once the pool is closing.  A future dropped before
  /// it is resolved gives its connection back; future::cancel() ends the
  /// wait, and the future fails with operation_canceled.
  future<connection> acquire();
  future<connection> acquire(std::chrono::milliseconds timeout);
  /// acquire() on a server of the kind `mode` names, in a pool whose
  /// conninfo names more than one host (see pool_access); a single-host
  /// pool lends any connection.
  future<connection> acquire(pool_access mode);
  future<connection> acquire(pool_access mode,
                             std::chrono::milliseconds timeout);
  /// Gives `conn` back (as destroying it does) and resolves at once: the
  /// pool resets it in the background.  usage_error for a connection
  /// not lent by this pool.
  future<void> release(connection conn);

  /// A cursor on a connection of the pool, given back when the cursor
  /// is closed (aiopg's pool.cursor()).
  future<pooled_cursor> cursor(cursor_options opts = {});

  // ---- one call on a pooled connection, under one deadline ----
  future<result> query(std::string_view sql, params args = {},
                       const query_options &opts = {});
  template <class... A>
  future<result> fetch(std::string_view sql, const A &...args) {
    return query(sql, params{param(args)...});
  }
  template <class... A>
  future<std::optional<row>> fetchrow(std::string_view sql,
                                      const A &...args) {
    return query(sql, params{param(args)...}).then(detail::first_row);
  }
  template <class T, class... A>
  future<T> fetchval(std::string_view sql, const A &...args) {
    return query(sql, params{param(args)...}).then(
        [](result r) { return detail::first_value<T>(r, 0); });
  }
  template <class... A>
  future<std::string> execute(std::string_view sql, const A &...args) {
    return query(sql, params{param(args)...}).then([](result r) {
      return std::string(r.command_status());
    });
  }
  future<void> executemany(std::string_view sql, std::vector<params> rows);
  future<uint64_t> copy_to_table(std::string_view table, std::string data,
                                 const copy_options &opts = {});
  future<uint64_t> copy_from_table(std::string_view table, copy_sink sink,
                                   const copy_options &opts = {});
  future<uint64_t> copy_from_query(std::string_view query, copy_sink sink,
                                   const copy_options &opts = {});
  future<uint64_t> copy_records_to_table(std::string_view table,
                                         std::vector<params> records,
                                         std::vector<std::string> columns = {},
                                         std::string_view schema = {});

  /// Runs `fn(connection &)` (returning a future) on a pooled
  /// connection and gives it back when that future is done.  The
  /// deadline bounds the wait for the connection only.
  template <class F>
  auto run(F fn) -> future<typename detail::future_value<
      std::invoke_result_t<F &, connection &>>::type> {
    using T = typename detail::future_value<
        std::invoke_result_t<F &, connection &>>::type;
    connection c = co_await acquire();
    if constexpr (std::is_void_v<T>) {
      co_await fn(c);
    } else {
      co_return co_await fn(c);
    }
  }
  /// Runs `fn(connection &)` in a transaction on a pooled connection,
  /// retried on serialization failures and deadlocks as
  /// retry_transaction() does, and gives the connection back.
  template <class F>
  auto transaction(F fn, retry_options opts = {})
      -> future<typename detail::future_value<
          std::invoke_result_t<F &, connection &>>::type> {
    using T = typename detail::future_value<
        std::invoke_result_t<F &, connection &>>::type;
    connection c = co_await acquire();
    auto body = [&c, &fn](uvpg::transaction &) { return fn(c); };
    if constexpr (std::is_void_v<T>) {
      co_await retry_transaction(c, body, std::move(opts));
    } else {
      co_return co_await retry_transaction(c, body, std::move(opts));
    }
  }

  /// Closes the idle connections; those lent out are closed when they
  /// come back (aiopg's clear()).  The pool refills to minsize.
  void clear();
  /// No acquire from now on (waiters fail with interface_error); idle
  /// connections close now, lent ones when they come back; resolves
  /// when every connection is closed (aiopg's close + wait_closed).
  future<void> close();
  /// close(), and the connections lent out are closed now too: their
  /// pending work fails with UV_ECANCELED.
  future<void> terminate();
  /// Resolves when the pool is closed (after close() or terminate()).
  future<void> wait_closed();

  size_t minsize() const noexcept;
  size_t maxsize() const noexcept;
  /// Open connections (idle, lent out, or being reset).
  size_t size() const noexcept;
  /// Idle connections (aiopg's freesize).
  size_t freesize() const noexcept;
  std::chrono::milliseconds timeout() const noexcept;
  bool closed() const noexcept;
  pool_stats stats() const noexcept;
  uv_loop_t *loop() const noexcept;

  /// The implementation object (internal use).
  detail::pool_impl *impl() const noexcept { return _impl; }

private:
  explicit pool(detail::pool_impl *impl) noexcept : _impl(impl) {}
  detail::pool_impl *_impl = nullptr;
};

} // namespace uvpg

#endif // UVPG_POOL_HH
