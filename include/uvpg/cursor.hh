/// \file uvpg/cursor.hh
/// DB-API cursors, as aiopg's Cursor: execute a statement, then read its
/// rows a few at a time, move around in them, and learn about them.
///
/// A `uvpg::cursor` works on one `uvpg::connection` and sends every
/// statement through the connection's queue, so its statements and the
/// connection's other queries run in the order they were queued.  The
/// cursor refers to the connection itself, not to the `connection`
/// object: that object may be moved while the cursor lives.  Once the
/// connection is closed, every new operation fails with usage_error
/// ("cannot call cursor.fetchone(): the connection is closed"); only
/// close() and the attributes still work.
///
/// Two kinds of cursor share the interface:
///
///  - A **client-side** cursor (`cursor_options::name` empty) runs the
///    statement with `connection::query()` and keeps its whole result;
///    fetch*, next() and scroll() then read from that result without any
///    network traffic.
///  - A **named** (server-side) cursor sends
///    `DECLARE "name" [NO] SCROLL CURSOR [WITH HOLD] FOR <statement>` and
///    reads the rows with `FETCH FORWARD n FROM "name"` as they are asked
///    for, holding at most one batch: a result set of any size streams in
///    bounded memory.  scroll() sends `MOVE`, close() sends `CLOSE` (or
///    `COMMIT`, see below).
///
/// Operations on one cursor run one at a time in the order they were
/// called, and complete in that order: an operation called while
/// another is pending waits for it.  A row already fetched is handed
/// out at once: next() and fetchone() then return a ready future, and
/// `co_await` does not suspend (no loop iteration per row).
/// Every operation returns a `uvpg::future`; consume it with `co_await`:
///
///     uvpg::cursor cur(conn, {.name = "big", .arraysize = 500});
///     co_await cur.execute("SELECT id, body FROM docs WHERE owner = %s",
///                          user);
///     while (auto r = co_await cur.next()) {    // batches of itersize
///       consume(r->get<int64_t>(0), r->get<std::string_view>(1));
///     }
///     co_await cur.close();
///
/// Transactions of named cursors.  PostgreSQL keeps a cursor without
/// `WITH HOLD` only until the end of the transaction that declared it.
/// When such a cursor is executed while the connection is outside a
/// transaction (the usual autocommit state of a uvpg connection), the
/// cursor opens one itself with `BEGIN` and ends it with `COMMIT` when
/// it is closed or, for a NO SCROLL cursor, as soon as its last row has
/// been read (executing it again keeps the transaction).  Statements the
/// program runs on the connection meanwhile run inside that transaction
/// and are committed with it.  Inside a transaction the program opened
/// (`BEGIN` first), the cursor leaves the transaction alone and lives
/// until its end; so does a second named cursor declared while the
/// first one's transaction is open: it ends when the first one commits,
/// which a NO SCROLL first cursor does as soon as its last row is read.
/// Open several cursors in a transaction of your own (or WITH HOLD) to
/// control when they end.  A `WITH HOLD` cursor needs no transaction
/// and survives `COMMIT`.  The cursor learns the transaction state when
/// its
/// `DECLARE` is about to run, even when other queries are queued ahead
/// of it (it then asks with an empty statement that costs one round
/// trip).
///
/// Errors.  A statement that fails is a `uvpg::server_error` (or another
/// `uvpg::error`), as for `connection::query()`.  Reading rows when the
/// last execute produced no result set, or none ran, is a
/// `uvpg::usage_error`, as is any call on a closed cursor and a backward
/// scroll of a NO SCROLL cursor.  A scroll that would leave the result
/// set fails with `uvpg::error` code `UV_ERANGE`.
/// Closing a cursor (or destroying it) fails every operation still
/// pending on it with `uvpg::error` code `UV_ECANCELED`, and so does
/// closing its connection, before the connection's close completes.
///
/// Everything runs on the thread of the connection's loop.
#ifndef UVPG_CURSOR_HH
#define UVPG_CURSOR_HH

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "uvpg/connection.hh"
#include "uvpg/transaction.hh"
#include "uvpg/future.hh"
#include "uvpg/result.hh"
#include "uvpg/types.hh"

namespace uvpg {

class cursor;

namespace detail {
struct cursor_state;
struct cursor_access;
} // namespace detail

/// How scroll() reads its value.
enum class scroll_mode {
  relative, ///< an offset from the current position
  absolute  ///< a 0-based row index
};

/// One column of cursor::description(): the seven DB-API fields.
struct column {
  /// The column's name.
  std::string name;
  /// The PostgreSQL type OID (see uvpg::oids).
  oid_t type_code = 0;
  /// The longest value's length: never computed, always nullopt.
  std::optional<int> display_size;
  /// The type's size on the server in bytes (libpq's PQfsize), negative
  /// for variable-size types.
  int internal_size = 0;
  /// numeric(p, s) only: the precision p; nullopt for other types and for
  /// numeric without a declared precision.
  std::optional<int> precision;
  /// numeric(p, s) only: the scale s; nullopt otherwise.
  std::optional<int> scale;
  /// Whether NULL is allowed: libpq does not say, always nullopt.
  std::optional<bool> null_ok;
};

/// Options of a cursor.
struct cursor_options {
  /// Empty: a client-side cursor.  Otherwise the name of a server-side
  /// cursor; it is sent as a quoted identifier (any text is safe and
  /// case-sensitive; PostgreSQL truncates names over 63 bytes).
  std::string name{};
  /// Named cursors: declare it SCROLL, so it can move backward.  Without
  /// it the cursor is NO SCROLL and scroll() moves forward only.
  bool scrollable = false;
  /// Named cursors: declare it WITH HOLD, so it survives the end of the
  /// transaction (the server keeps a copy of the rows until close()).
  bool withhold = false;
  /// Bounds each statement the cursor sends (see
  /// query_options::timeout); 0: none.
  std::chrono::milliseconds timeout{0};
  /// Ask for rows in binary form (every codec reads both forms).  For a
  /// client-side cursor it needs the extended protocol, so the statement
  /// must be a single one.
  bool binary = false;
  /// The default number of rows of fetchmany(); at least 1.
  int arraysize = 1;
  /// Named cursors: the number of rows next() and fetchone() ask the
  /// server for at a time (psycopg's itersize); at least 1.
  int itersize = 2000;
};

/// A DB-API cursor on a connection.  Move-only; see the file comment.
class UVPG_CXX_EXTERN cursor {
public:
  /// A cursor on `conn`'s connection (the object may move or go; the
  /// cursor fails with usage_error once the connection is closed).
  /// No statement is sent until execute().
  /// \throws usage_error when arraysize or itersize is below 1.
  explicit cursor(uvpg::connection &conn, cursor_options opts = {});
  cursor(cursor &&o) noexcept;
  /// Closes this cursor as the destructor does, then takes `o`'s.
  cursor &operator=(cursor &&o) noexcept;
  cursor(const cursor &) = delete;
  cursor &operator=(const cursor &) = delete;
  /// Closes the cursor without waiting: pending operations fail with
  /// UV_ECANCELED and a named cursor's CLOSE (or COMMIT) is queued on the
  /// connection, fire-and-forget.  Never blocks, never throws.
  ~cursor();

  /// Runs `sql` with `%s` or `$n` placeholders bound from `args`, as
  /// connection::query().  Without parameters, a client-side cursor may
  /// run several statements separated by semicolons; the last one's
  /// result is the cursor's.  A named cursor declares itself for `sql`
  /// (a single query returning rows), closing what it held before.
  /// The future fails with uvpg::server_error / uvpg::error (UVPG_EPARAM
  /// for placeholder mistakes), usage_error on a closed cursor.
  future<void> execute(std::string_view sql, params args = {});
  /// As execute(sql, args), with `timeout` instead of the cursor's
  /// (0: none).
  future<void> execute(std::string_view sql, params args,
                       std::chrono::milliseconds timeout);
  /// Runs `sql` with `%(name)s` placeholders bound from `args`.
  future<void> execute(std::string_view sql, const named_params &args);
  /// As execute(sql, args), with `timeout` instead of the cursor's.
  future<void> execute(std::string_view sql, const named_params &args,
                       std::chrono::milliseconds timeout);
  /// Runs `sql` with the arguments converted to parameters.
  template <class A0, class... A>
    requires(!std::is_same_v<std::decay_t<A0>, params> &&
             !std::is_same_v<std::decay_t<A0>, named_params> &&
             encodable<A0> && (encodable<A> && ...))
  future<void> execute(std::string_view sql, const A0 &a0, const A &...a) {
    return execute(sql, params{param(a0), param(a)...});
  }

  /// Calls the function `procname` as `SELECT * FROM procname($1, ...)`;
  /// its rows are then read with fetch*.  `procname` is sent as written
  /// (unquoted, so "schema.func" works) and must be one or more
  /// identifiers, plain or double-quoted, joined by dots: anything else
  /// fails with usage_error.  The future yields `args` unchanged: a
  /// function call cannot report OUT parameters the way DB-API's
  /// procedures do (they arrive as result columns instead), so this is
  /// psycopg's "modified copy" with nothing modified.
  future<params> callproc(std::string_view procname, params args = {});
  /// As callproc(procname, args), with `timeout` instead of the cursor's.
  future<params> callproc(std::string_view procname, params args,
                          std::chrono::milliseconds timeout);
  /// Calls `procname("name" => $1, ...)` with named arguments (the names
  /// are quoted identifiers, so they are case-sensitive).
  future<named_params> callproc(std::string_view procname,
                                named_params args);

  /// The statement execute(sql, args) would run, with each parameter
  /// written into it as an SQL literal that means the same: NULL and
  /// booleans bare, integers bare with their type when it is not int4
  /// (`5::int8`; a negative one in parentheses, so that `1-%s` cannot
  /// become a comment), float and numeric values quoted with their type
  /// (`'3'::float8`, never a bare 3 that would divide as an integer),
  /// text as a standard string
  /// constant ('it''s', or E'a\\b' when it holds a backslash), bytea as
  /// '\x0102'::bytea, values of other known types as
  /// 'text form'::typename (binary parameters such as uuid, dates and
  /// inet are converted to their text form).  Never touches the network.
  /// \throws uvpg::error (UVPG_EPARAM) for placeholder mistakes,
  ///         data_error for a binary parameter of a type it cannot show
  ///         or a value holding a NUL byte,
  ///         usage_error on a moved-from cursor.
  std::string mogrify(std::string_view sql, const params &args = {}) const;
  /// As mogrify(sql, args) for `%(name)s` placeholders.
  std::string mogrify(std::string_view sql, const named_params &args) const;
  /// As mogrify(sql, args) with the arguments converted to parameters.
  template <class A0, class... A>
    requires(!std::is_same_v<std::decay_t<A0>, params> &&
             !std::is_same_v<std::decay_t<A0>, named_params> &&
             encodable<A0> && (encodable<A> && ...))
  std::string mogrify(std::string_view sql, const A0 &a0,
                      const A &...a) const {
    return mogrify(sql, params{param(a0), param(a)...});
  }

  /// The next row, or nullopt when there are no more.
  /// The future fails with usage_error when the last execute produced no
  /// result set (or none ran).
  future<std::optional<row>> fetchone();
  /// The next `size` rows (fewer at the end; empty when there are no
  /// more); a negative size means arraysize(), 0 returns no row.
  future<std::vector<row>> fetchmany(int size = -1);
  /// All remaining rows (a named cursor sends FETCH ALL).
  future<std::vector<row>> fetchall();
  /// The next row or nullopt, for iteration:
  ///
  ///     while (auto r = co_await cur.next()) { ... }
  ///
  /// As fetchone(); a named cursor fetches itersize() rows at a time
  /// behind the scenes and hands them out one by one.  A row already
  /// fetched, with no other operation pending, comes as a ready future:
  /// `co_await` does not suspend, so streaming costs a loop iteration
  /// per FETCH, not per row.
  future<std::optional<row>> next();

  /// Moves the position (rownumber) by `value` rows, or to row `value`
  /// with scroll_mode::absolute.  The target must be a row of the result
  /// set (0 <= target < number of rows), else the future fails with
  /// uvpg::error UV_ERANGE and the position does not change.
  ///
  /// A client-side cursor moves without the network.  A named cursor
  /// moves within the batch it holds without the network too, and
  /// otherwise sends MOVE: forward `MOVE FORWARD n` followed by a FETCH
  /// that proves the target row exists (and becomes the next batch);
  /// backward `MOVE ABSOLUTE n`.  When a SCROLL cursor finds the target
  /// beyond the end it moves back with `MOVE ABSOLUTE` to where it was,
  /// so the position is unchanged.  A NO SCROLL cursor cannot move back
  /// (a backward scroll fails at once with usage_error): when its
  /// forward scroll overshoots, the cursor is left at its end, the rows
  /// it skipped are gone, and the error says so.  Once the cursor knows
  /// its row count (it reached the end before), targets past it fail
  /// without moving.
  future<void> scroll(long value, scroll_mode mode = scroll_mode::relative);

  /// Closes the cursor: it is closed at once (closed() is true, new
  /// operations fail with usage_error, pending ones with UV_ECANCELED);
  /// a named cursor then sends `CLOSE "name"`, or `COMMIT` when it opened
  /// the transaction.  The future resolves when that is done and every
  /// pending operation has finished.  It fails only when the COMMIT
  /// fails (the error the server gave, e.g. a deferred constraint);
  /// an error of CLOSE is ignored, since the cursor is gone either way.
  /// Closing again does nothing.
  future<void> close();

  /// Begins a transaction on the cursor's connection, or a SAVEPOINT in
  /// the innermost one of uvpg's open there, as connection::begin()
  /// (uvpg/transaction.hh): aiopg's cur.begin() and cur.begin_nested().
  /// Their `async with` is transaction_scope(cur.connection(), fn).
  /// Fails with usage_error once the connection is closed.
  future<transaction> begin(const transaction_options &opts = {});
  future<transaction> begin_nested();

  /// True once close() was called (or the cursor was moved from).
  bool closed() const noexcept;

  /// Rows fetchmany() returns by default (read/write).
  int arraysize() const noexcept;
  /// Sets arraysize. \throws usage_error when `n` is below 1.
  void arraysize(int n);
  /// Named cursors: rows fetched at a time by next() and fetchone().
  int itersize() const noexcept;
  /// Sets itersize. \throws usage_error when `n` is below 1.
  void itersize(int n);

  /// Rows the last execute produced (SELECT) or affected (INSERT,
  /// UPDATE, ...); -1 before any execute and for commands without a
  /// count.  A named cursor learns its row count only when it reaches
  /// the end of the result set: -1 until then.
  long long rowcount() const noexcept;
  /// 0-based index of the row the next fetch returns; nullopt before an
  /// execute and when the last one produced no result set.
  std::optional<long long> rownumber() const noexcept;
  /// The OID of the row a single-row INSERT added to a table WITH OIDS;
  /// nullopt otherwise.  PostgreSQL 12 removed tables WITH OIDS, so on
  /// current servers this is always nullopt.
  std::optional<oid_t> lastrowid() const noexcept;
  /// The last statement the cursor executed, parameters written in as
  /// mogrify() does (for a named cursor, its DECLARE); nullopt before
  /// any.  When a parameter cannot be shown as a literal, the statement
  /// with its `$n` placeholders.  Valid until the next execute.
  const std::optional<std::string> &query() const noexcept;
  /// The command tag of the last statement the cursor ran, e.g.
  /// "SELECT 3", "INSERT 0 1", "DECLARE CURSOR", "MOVE 5"; nullopt
  /// before any.  Valid until the next operation.
  const std::optional<std::string> &statusmessage() const noexcept;
  /// The columns of the last result set; nullopt before an execute and
  /// for statements that return no rows.  A named cursor knows them
  /// right after execute (it sends `FETCH FORWARD 0` with its DECLARE).
  /// Valid until the next execute.
  const std::optional<std::vector<column>> &description() const noexcept;

  /// The `connection` object that owns the cursor's connection now
  /// (wherever it was moved to).
  /// \throws usage_error on a moved-from cursor, or once the connection
  ///         is closed or its object gone.
  uvpg::connection &connection() const;
  /// The cursor's statement timeout (cursor_options::timeout).
  std::chrono::milliseconds timeout() const noexcept;
  /// Whether the connection logs statements (connect_options::echo).
  bool echo() const noexcept;
  /// The name of a named cursor; empty for a client-side one.
  const std::string &name() const noexcept;
  /// Whether the cursor is named and declared SCROLL.
  bool scrollable() const noexcept;
  /// Whether the cursor is named and declared WITH HOLD.
  bool withhold() const noexcept;

  /// DB-API compliance: accepted and ignored.
  template <class... A> void setinputsizes(const A &...) const noexcept {}
  /// DB-API compliance: accepted and ignored.
  void setoutputsize(long size, int column = -1) const noexcept {
    (void)size;
    (void)column;
  }

private:
  friend struct detail::cursor_access; // the C ABI
  cursor() noexcept = default;
  std::shared_ptr<detail::cursor_state> _s;
};

} // namespace uvpg

#endif // UVPG_CURSOR_HH
