/// \file uvpg/connection.hh
/// A connection to a PostgreSQL server, driven by a libuv loop.
///
/// A connection lent by a pool (uvpg/pool.hh) is the same class:
/// destroying its handle gives it back to the pool, and close() closes
/// it for good (the pool then replaces it).
///
/// `connection::connect()` resolves host names with uv_getaddrinfo,
/// drives libpq's non-blocking connect and resolves its future with a
/// ready connection or fails it with a `uvpg::error`.  Operations on one
/// connection queue in order; several may be outstanding at once.  A
/// connection is a move-only handle: destroying it closes the connection
/// (without waiting); `co_await conn.close()` closes and waits.
///
/// Everything runs on the thread of the loop the connection belongs to.
#ifndef UVPG_CONNECTION_HH
#define UVPG_CONNECTION_HH

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <uv.h>

#include "uvpg/copy.hh"
#include "uvpg/future.hh"
#include "uvpg/notice.hh"
#include "uvpg/notify.hh"
#include "uvpg/result.hh"
#include "uvpg/session.hh"
#include "uvpg/statement.hh"
#include "uvpg/types.hh"
#include "uvpg/types/core.hh"

namespace uvpg {

namespace detail {
struct conn_impl;
}
class transaction;           // uvpg/transaction.hh
struct transaction_options;  // uvpg/transaction.hh

/// Options of connect(), as aiopg's connect() keywords.
struct connect_options {
  /// Bounds the whole connect (every host and address); 0 = none.
  std::chrono::milliseconds timeout{60000};
  /// Log every statement and its parameters to stderr, after it
  /// completed, with its outcome and time (a built-in query logger; see
  /// uvpg/session.hh).  Parameter values are printed: do not turn it on
  /// where they may hold secrets.
  bool echo = false;
  /// Typecaster switches (used by the typecaster modules).
  bool enable_json = true;
  bool enable_hstore = true;
  bool enable_uuid = true;
  /// Statements sent ahead of their results on one connection (libpq's
  /// pipeline mode); each runs as its own implicit transaction, so an
  /// error fails only its own statement.  1 turns pipelining off: each
  /// statement is sent when the one before it has completed.
  unsigned max_pipeline = 100;
  /// Prepared statements kept per connection, least recently used
  /// dropped first (asyncpg's defaults).  0 turns the cache off: every
  /// statement is prepared unnamed, as PgBouncer's transaction mode needs.
  size_t statement_cache_size = 100;
  /// A cached statement older than this is prepared again (0: never).
  std::chrono::seconds max_cached_statement_lifetime{300};
  /// Longer statements are never cached.
  size_t max_cacheable_statement_size = 15 * 1024;
  /// Bounds a cancel request (connection::cancel(), a statement's
  /// timeout, future::cancel()), and the time a statement the program
  /// was already told about gets to end after it: past it the
  /// connection is closed (never 0: 0 means the default).
  std::chrono::milliseconds cancel_timeout{5000};
};

/// A query parameter: any value with a typecaster (see uvpg/types.hh),
/// encoded when the parameter is built.  std::nullopt, nullptr and a
/// default-constructed param are SQL NULL.
class param : public encoded {
public:
  param() noexcept { null = true; }
  template <class T>
    requires(!std::is_same_v<std::decay_t<T>, param> && encodable<T>)
  param(const T &v) : encoded(uvpg::encode(v)) {}
  param(std::nullopt_t) noexcept { null = true; }
  param(std::nullptr_t) noexcept { null = true; }
};
/// Positional parameters, for `$n` and `%s` placeholders.
using params = std::vector<param>;
/// Named parameters, for `%(name)s` placeholders.
using named_params = std::map<std::string, param, std::less<>>;

/// Per-statement options.
struct query_options {
  /// Ask for every result column in binary form (each codec reads both).
  bool binary_results = false;
  /// The statement's deadline, counted from the call (0: none).  At the
  /// deadline the future fails with UV_ETIMEDOUT, whatever the server
  /// does: a statement still queued leaves the queue; a running one is
  /// cancelled on the server and its results are read and dropped in
  /// the background (statements behind it wait for that, so a late
  /// cancel cannot hit them), and the connection stays usable.  If the
  /// server does not end it within connect_options::cancel_timeout (5 s)
  /// of the cancel request, or the request fails, the connection is
  /// closed and what is pending fails with UVPG_ECONNBAD.
  /// A statement told UV_ETIMEDOUT may still have run: its outcome is
  /// unknown.
  std::chrono::milliseconds timeout{0};
};

namespace detail {
/// fetchrow()'s answer: the first row, or nullopt when there is none.
inline std::optional<row> first_row(result r) {
  if (r.rows() == 0) {
    return std::nullopt;
  }
  return r[0];
}
/// fetchval()'s answer: column `column` of the first row as T; no row
/// reads as NULL (nullopt for std::optional<U>, data_error otherwise).
template <class T> T first_value(const result &r, int column) {
  if (r.rows() == 0) {
    if constexpr (is_optional<T>::value) {
      return std::nullopt;
    } else {
      throw data_error("fetchval: the statement returned no row");
    }
  }
  return r.field(0, column).template as<T>();
}
} // namespace detail

/// A connection to one server.  Move-only.
class UVPG_CXX_EXTERN connection {
public:
  /// Connects to the server named by `conninfo` (a keyword string such
  /// as "host=db user=app" or a URI "postgresql://app@db/app"; empty
  /// means the PG* environment).  Fails with uvpg::error (code UV_EINVAL,
  /// UV_EAI_*, UV_ECONNREFUSED, UV_ETIMEDOUT, UVPG_ESERVER, ...).
  ///
  /// TCP keepalives are on unless `conninfo` says otherwise:
  /// keepalives=1 keepalives_idle=60 keepalives_interval=10
  /// keepalives_count=6, so a silently dead peer is noticed in about two
  /// minutes (add_termination_listener() hears of it).  Each key the
  /// conninfo sets wins; keepalives=0 turns them off.  Unix-domain
  /// sockets ignore them.  Notices are never printed (notices()).
  static future<connection> connect(uv_loop_t *loop,
                                    std::string_view conninfo,
                                    const connect_options &opts = {});

  connection() noexcept = default;
  connection(connection &&o) noexcept;
  connection &operator=(connection &&o) noexcept;
  connection(const connection &) = delete;
  connection &operator=(const connection &) = delete;
  /// Starts closing the connection; does not wait.
  ~connection();

  /// Runs `sql`.  Without parameters it may hold several statements and
  /// the last one's result is returned.  Fails with uvpg::server_error
  /// when the server reports an error, uvpg::error otherwise.
  future<result> query(std::string_view sql);
  /// Runs `sql` with server-side parameters: `$1`.., or `%s` converted to
  /// `$n` (`%%` is a literal `%` then).
  future<result> query(std::string_view sql, params args);
  /// As query(sql, args), with options (e.g. binary results).
  future<result> query(std::string_view sql, params args,
                       const query_options &opts);
  /// Runs `sql` with `%(name)s` placeholders bound from `args`.
  future<result> query(std::string_view sql, const named_params &args);
  /// Runs `sql` with the arguments converted to text parameters.
  template <class A0, class... A>
    requires(!std::is_same_v<std::decay_t<A0>, params> &&
             !std::is_same_v<std::decay_t<A0>, named_params>)
  future<result> query(std::string_view sql, const A0 &a0, const A &...a) {
    return query(sql, params{param(a0), param(a)...});
  }

  /// Runs `sql` once for every set of parameters in `rows`, as
  /// asyncpg's executemany(): one Parse, a Bind/Execute per set and one
  /// Sync, all in one round trip.  Atomic: the sets run in one implicit
  /// transaction (or the program's own), so an error in any set fails
  /// the call and leaves none of them done.  Every set has the same
  /// number of parameters, and each column one type.
  future<void> executemany(std::string_view sql, std::vector<params> rows);
  /// As executemany(sql, rows), with a deadline for the whole batch
  /// (query_options::timeout, as for query()).
  future<void> executemany(std::string_view sql, std::vector<params> rows,
                           const query_options &opts);

  /// Runs a COPY ... FROM STDIN and resolves with its writer once the
  /// server accepts data (see uvpg/copy.hh).  Fails with UV_EINVAL when
  /// the statement turns out not to be a COPY FROM STDIN.
  future<copy_writer> copy_in(std::string_view sql);
  /// Runs a COPY ... TO STDOUT, handing each row to `sink`; resolves
  /// with the number of rows.  A sink that throws (or whose future
  /// fails) fails the call once the server has sent the rest.
  future<uint64_t> copy_out(std::string_view sql, copy_sink sink);
  /// COPY table TO STDOUT (asyncpg's copy_from_table).
  future<uint64_t> copy_from_table(std::string_view table, copy_sink sink,
                                   const copy_options &opts = {});
  /// COPY (query) TO STDOUT (asyncpg's copy_from_query).  COPY takes no
  /// parameters: `query` is sent as it is.
  future<uint64_t> copy_from_query(std::string_view query, copy_sink sink,
                                   const copy_options &opts = {});
  /// COPY table FROM STDIN with `data` in the options' format (asyncpg's
  /// copy_to_table); resolves with the number of rows stored.
  future<uint64_t> copy_to_table(std::string_view table, std::string data,
                                 const copy_options &opts = {});
  /// Stores `records` in `table` through binary COPY (asyncpg's
  /// copy_records_to_table).  Each record holds one parameter per column
  /// (all of them, or `columns` in order); each value must have the
  /// column's type (a string goes to text-like columns only), checked
  /// against the table before any data is sent: UVPG_EPARAM otherwise.
  /// The records are encoded before the call returns, so they need not
  /// outlive it.  `schema` names the table's schema (empty: the
  /// search_path decides).  Resolves with the number of rows stored.
  future<uint64_t> copy_records_to_table(std::string_view table,
                                         const std::vector<params> &records,
                                         std::vector<std::string> columns = {},
                                         std::string_view schema = {});

  /// All rows of a statement, as asyncpg's fetch().
  template <class... A>
  future<result> fetch(std::string_view sql, const A &...args) {
    return query(sql, args...);
  }

  /// The first row, or nullopt when there is none (asyncpg's fetchrow).
  template <class... A>
  future<std::optional<row>> fetchrow(std::string_view sql,
                                      const A &...args) {
    return query(sql, args...).then(detail::first_row);
  }

  /// Column `column` of the first row as T (asyncpg's fetchval).  No row
  /// reads as NULL: nullopt for std::optional<U>, data_error otherwise.
  template <class T, class... A>
  future<T> fetchval_at(int column, std::string_view sql, const A &...args) {
    return query(sql, args...).then(
        [column](result r) { return detail::first_value<T>(r, column); });
  }
  /// The first column of the first row as T (asyncpg's fetchval).
  template <class T, class... A>
  future<T> fetchval(std::string_view sql, const A &...args) {
    return fetchval_at<T>(0, sql, args...);
  }

  /// Runs a command and returns its status tag, e.g. "INSERT 0 1"
  /// (asyncpg's execute).
  template <class... A>
  future<std::string> execute(std::string_view sql, const A &...args) {
    return query(sql, args...).then(
        [](result r) { return std::string(r.command_status()); });
  }

  /// Prepares `sql` (`$n` or `%s` placeholders) under a name of its own
  /// and describes it (asyncpg's prepare): see uvpg/statement.hh.
  /// Fails with the server's error for a statement it cannot prepare,
  /// and with UVPG_EPARAM for a COPY (use copy_in/copy_out).
  future<prepared_statement> prepare(std::string_view sql);

  /// Looks up a type by name (a user-defined type, an extension's) and
  /// registers it on this connection, so typecasters find its OID with
  /// uvpg::oid_of(field, name).  Fails with UV_ENOENT for no such type.
  future<oid_t> register_type(std::string_view type_name);

  /// Begins a transaction (see uvpg/transaction.hh), or a nested one
  /// inside the innermost open transaction of uvpg's.
  future<transaction> begin();
  future<transaction> begin(const transaction_options &opts);

  /// Asks the server to cancel the statement it runs now (aiopg cannot;
  /// psycopg's cancel_safe()).  The request goes on a connection of its
  /// own, driven by the loop, never on a thread, and is bounded by
  /// connect_options::cancel_timeout.  The future resolves when the
  /// server has taken the request, at once when nothing runs; it fails
  /// with timed_out or the request's error, and unless the request
  /// certainly never reached the server, the connection is then closed
  /// (the server might still act on it later and stop another
  /// statement).  A statement it stops fails with
  /// operation_canceled (UV_ECANCELED), never with the server's
  /// query_canceled, which stays the mark of statement_timeout.
  /// With statements pipelined, the server stops the one it executes
  /// when the request arrives; those after it run.  Statements not yet
  /// sent wait until the request has ended, so it cannot meet them.
  /// To stop one statement, whether queued or running, cancel its
  /// future (future::cancel()).
  future<void> cancel();

  /// Closes at once: pending operations fail with UV_ECANCELED, then the
  /// returned future resolves when every handle is closed.
  future<void> close();

  /// True when the connection is unusable (closed or lost).
  bool closed() const noexcept;
  /// The conninfo in keyword form with the password masked.
  std::string dsn() const;
  /// The server process serving this session (0 when not connected).
  int backend_pid() const noexcept;
  /// True once uvpg found a connection pooler (PgBouncer, ...) between
  /// this connection and the server: at connect (the session's process
  /// is not the one the connection was given) or later (a statement it
  /// prepared went missing outside any transaction).  Its statement
  /// cache and pipelining are off from then on, and a notice (SQLSTATE
  /// 01000) said so.
  bool behind_pooler() const noexcept;
  /// A server parameter reported to the client (server_version,
  /// client_encoding, TimeZone, ...); nullopt when not reported.
  std::optional<std::string> parameter_status(std::string_view name) const;
  /// libpq's PGTransactionStatusType value (UVPG_TRANS_* in uvpg.h).
  /// UVPG_TRANS_ACTIVE while statements are pipelined (libpq cannot tell
  /// more then), even inside a completion with others behind it, and
  /// while uvpg deallocates statements its cache let go; exact whenever
  /// nothing is in flight (status() is UVPG_CONN_READY).
  int transaction_status() const noexcept;
  /// Frontend/backend protocol version (3).
  int protocol_version() const noexcept;
  /// Server version as an integer, e.g. 150018.
  int server_version() const noexcept;
  /// uvpg_conn_status_t value (UVPG_CONN_* in uvpg.h).
  int status() const noexcept;
  /// The client encoding, e.g. "UTF8".
  std::string encoding() const;
  /// False while the session is inside a transaction block: one of
  /// uvpg's (from begin() until its end is sent) or one the server
  /// reports (exact when nothing is in flight).
  bool autocommit() const noexcept;
  /// The session's default_transaction_isolation read at connect.
  std::string isolation_level() const;
  /// The connect/operation timeout given to connect().
  std::chrono::milliseconds timeout() const noexcept;
  /// Whether statements are logged.
  bool echo() const noexcept;
  /// The last error message on this connection ("" when none).
  std::string error_message() const;
  /// The loop this connection runs on.
  uv_loop_t *loop() const noexcept;

  // ---- notices and observers (uvpg/notice.hh, uvpg/session.hh) ----
  // Each add_*() returns an id for the matching remove_*(), which
  // returns false for an id it does not know.  Throws usage_error on a
  // closed handle.  What was added goes with the connection: what was
  // queued before a close (or the handle's destruction) is still
  // delivered before the close completes, so what a function captures
  // must live until then.

  /// The last 50 notices received, oldest first (aiopg's `notices`).
  std::vector<notice> notices() const;
  /// Calls `fn` from the loop with every notice received from now on
  /// (psycopg's add_notice_handler).
  listener_id add_notice_handler(notice_handler fn);
  bool remove_notice_handler(listener_id id) noexcept;
  /// Calls `fn` from the loop after each statement the program runs
  /// from now on (asyncpg's add_query_logger).
  listener_id add_query_logger(query_logger fn);
  bool remove_query_logger(listener_id id) noexcept;
  /// Calls `fn` once from the loop if the connection is lost (asyncpg's
  /// add_termination_listener); not when it is closed.
  listener_id add_termination_listener(termination_listener fn);
  bool remove_termination_listener(listener_id id) noexcept;

  // ---- LISTEN/NOTIFY (uvpg/notify.hh) ----

  /// LISTEN on `channel`, named exactly as given (case kept, any
  /// character but NUL): it is sent as a quoted identifier, never as
  /// SQL text.  PostgreSQL truncates a name longer than 63 bytes (with
  /// a notice), while notify() refuses one.  Inside a transaction it
  /// takes effect at the commit.  Resolves with the command's result;
  /// fails as query() does.
  future<result> listen(std::string_view channel);
  /// UNLISTEN `channel` (quoted as by listen()).
  future<result> unlisten(std::string_view channel);
  /// UNLISTEN *: stops listening to every channel.
  future<result> unlisten_all();
  /// Sends `payload` (up to 7999 bytes) on `channel`: SELECT
  /// pg_notify($1, $2), both values as parameters.  Listeners get it
  /// when the transaction it runs in commits.
  future<result> notify(std::string_view channel, std::string_view payload);
  /// The connection's notification queue (aiopg's conn.notifies).  The
  /// first call makes the connection keep what arrives from then on for
  /// get() and try_get() (see uvpg/notify.hh for the bound).
  /// 	hrows usage_error on a closed handle.
  notify_queue notifies();
  /// Calls `h` from the loop with every notification received from now
  /// on, beside the other handlers and the queue (psycopg's
  /// add_notify_handler).  Returns an id for remove_notify_handler(),
  /// never 0.
  /// 	hrows usage_error on a closed handle.
  std::uint64_t add_notify_handler(notify_handler h);
  /// Removes a handler: it is not called again, even for a notification
  /// being delivered.  False for an id it does not know.
  bool remove_notify_handler(std::uint64_t id) noexcept;

  /// The implementation object (internal use).
  detail::conn_impl *impl() const noexcept { return _impl; }
  explicit connection(detail::conn_impl *impl) noexcept;
  /// Empties the handle without closing or giving back (internal use).
  detail::conn_impl *detach() noexcept;

private:
  void let_go() noexcept;
  detail::conn_impl *_impl = nullptr;
};

template <class... A>
future<result> prepared_statement::fetch(const A &...args) const {
  return query(params{param(args)...});
}

template <class... A>
future<std::optional<row>>
prepared_statement::fetchrow(const A &...args) const {
  return query(params{param(args)...}).then(detail::first_row);
}

template <class T, class... A>
future<T> prepared_statement::fetchval(const A &...args) const {
  return query(params{param(args)...}).then(
      [](result r) { return detail::first_value<T>(r, 0); });
}

} // namespace uvpg

#endif // UVPG_CONNECTION_HH
