/// \file uvpg/transaction.hh
/// Transactions and savepoints on a connection, as asyncpg's
/// `Transaction` and aiopg's `begin()` / `begin_nested()`.
///
/// `co_await conn.begin(opts)` sends BEGIN (with the isolation level,
/// READ ONLY and DEFERRABLE asked for) and resolves with a
/// `uvpg::transaction`; statements sent on the connection after it run
/// inside it, still pipelined.  `tx.commit()` / `tx.rollback()` end it.
/// `tx.begin()` opens a nested transaction, a SAVEPOINT with a name of
/// uvpg's: its rollback (ROLLBACK TO SAVEPOINT, then RELEASE) undoes its
/// own work alone, its commit RELEASEs it, and the outermost transaction
/// still decides for the whole.  `conn.begin()` while a transaction of
/// uvpg's is open on the connection nests in the innermost one (aiopg's
/// `begin_nested()`).
///
/// Whether BEGIN or SAVEPOINT is sent is decided when the statement's
/// turn comes, with the session's exact transaction status: a
/// connection already inside a transaction that uvpg did not start (a
/// BEGIN the program typed) makes begin() fail with `usage_error`, and
/// nothing is sent.
///
/// After an error inside a transaction the server refuses every later
/// statement of it with SQLSTATE 25P02 ("current transaction is
/// aborted"); `commit()` of such a transaction fails (the server rolled
/// it back), `rollback()` succeeds.
///
/// Misuse fails the returned future with `uvpg::usage_error` (it is not
/// thrown): commit or rollback twice or after the end, commit, rollback
/// or begin() on a transaction while a nested one is open, and any of
/// them once the connection was closed.  COMMIT and ROLLBACK are sent
/// alone and check at their turn that the session is still in the
/// transaction: when the program ended it with a COMMIT or ROLLBACK of
/// its own, commit() and rollback() fail with usage_error and send
/// nothing (the next begin() starts a new transaction).
///
/// A `transaction` is a move-only handle holding its connection by a
/// non-owning, checked reference: it does not keep the connection open.
/// Destroying one that is still open queues its rollback without waiting
/// and never throws.  `transaction_scope()` runs a function in a
/// transaction (commit on success, rollback on an exception), and
/// `retry_transaction()` retries it on serialization failures and
/// deadlocks.
///
/// Everything runs on the thread of the connection's loop.
#ifndef UVPG_TRANSACTION_HH
#define UVPG_TRANSACTION_HH

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "uvpg/connection.hh"
#include "uvpg/error.hh"
#include "uvpg/future.hh"

namespace uvpg {

namespace detail {
struct tx_node;
}

/// The isolation level of a transaction.
enum class isolation_level {
  server_default, ///< BEGIN alone: default_transaction_isolation decides
  serializable,
  repeatable_read,
  read_committed,
  read_uncommitted,
};

/// How a transaction begins (asyncpg's `transaction()` arguments).  A
/// nested transaction takes none of them.
struct transaction_options {
  isolation_level isolation = isolation_level::server_default;
  bool read_only = false;  ///< READ ONLY
  bool deferrable = false; ///< DEFERRABLE (serializable, read-only)
};

/// A transaction, or a savepoint nested in one.  Move-only.
class UVPG_CXX_EXTERN transaction {
public:
  /// Begins a transaction on `conn` (or, inside an open transaction of
  /// uvpg's, a nested one on the innermost).  Fails with uvpg::error
  /// (UVPG_ECLOSED) on a closed connection, with usage_error when the
  /// session is in a transaction uvpg did not start or options are given
  /// for a nested one, with server_error when the server refuses.
  static future<transaction> begin(connection &conn,
                                   const transaction_options &opts = {});

  transaction() noexcept = default;
  transaction(transaction &&o) noexcept = default;
  /// Rolls back what this handle held if it was open (without waiting).
  transaction &operator=(transaction &&o) noexcept;
  transaction(const transaction &) = delete;
  transaction &operator=(const transaction &) = delete;
  /// Queues the rollback of an open transaction; never blocks or throws.
  ~transaction();

  /// A nested transaction: SAVEPOINT with a generated name.
  future<transaction> begin();
  /// COMMIT, or RELEASE SAVEPOINT for a nested one.
  future<void> commit();
  /// ROLLBACK, or ROLLBACK TO SAVEPOINT and RELEASE for a nested one.
  future<void> rollback();

  /// Begun (or beginning) and not yet committed or rolled back.
  bool active() const noexcept;
  /// A savepoint inside another transaction.
  bool nested() const noexcept;
  /// The savepoint's name ("" for the outermost transaction).
  std::string savepoint_name() const;
  /// The options it began with.
  transaction_options options() const noexcept;

  /// Internal use.
  explicit transaction(std::shared_ptr<detail::tx_node> n) noexcept
      : _n(std::move(n)) {}

private:
  void abandon() noexcept;
  std::shared_ptr<detail::tx_node> _n;
};

/// The SQLSTATE of a failure worth running the transaction again:
/// serialization_failure (40001) and deadlock_detected (40P01).
UVPG_CXX_EXTERN bool is_retryable(const std::exception_ptr &e) noexcept;

namespace detail {
template <class> struct future_value;
template <class T> struct future_value<future<T>> {
  using type = T;
};
/// T of the future<T> that `fn(tx)` returns.
template <class F>
using scope_result_t =
    typename future_value<std::invoke_result_t<F &, transaction &>>::type;
} // namespace detail

/// Runs `fn(tx)` (a function returning a future) in a new transaction on
/// `conn`: commits when its future succeeds, rolls back when it fails,
/// then rethrows.  If `fn` ended the transaction itself, nothing more is
/// sent.  `fn` is kept until the end, so a capturing coroutine lambda is
/// safe; `conn` must outlive the returned future.
template <class F>
auto transaction_scope(connection &conn, transaction_options opts, F fn)
    -> future<detail::scope_result_t<F>> {
  using T = detail::scope_result_t<F>;
  transaction tx = co_await transaction::begin(conn, opts);
  std::exception_ptr err;
  std::optional<std::conditional_t<std::is_void_v<T>, int, T>> value;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await fn(tx);
      value.emplace(0);
    } else {
      value.emplace(co_await fn(tx));
    }
  } catch (...) {
    err = std::current_exception();
  }
  if (err) {
    if (tx.active()) {
      try {
        co_await tx.rollback();
      } catch (...) {
        // The first failure is the one the caller hears of.
      }
    }
    std::rethrow_exception(err);
  }
  if (tx.active()) {
    co_await tx.commit();
  }
  if constexpr (std::is_void_v<T>) {
    co_return;
  } else {
    co_return std::move(*value);
  }
}

/// transaction_scope() with the default options.
template <class F>
auto transaction_scope(connection &conn, F fn)
    -> future<detail::scope_result_t<F>> {
  return transaction_scope(conn, transaction_options{}, std::move(fn));
}

/// Options of retry_transaction().
struct retry_options {
  /// How many times `fn` runs at most (at least once).
  unsigned attempts = 3;
  /// How each attempt's transaction begins.
  transaction_options tx;
};

/// Runs `fn(tx)` as transaction_scope() does, and runs it again in a new
/// transaction when it (or the COMMIT) fails with serialization_failure
/// (40001) or deadlock_detected (40P01), at most `opts.attempts` times;
/// the last failure propagates, and any other one at once.  Each failed
/// attempt is rolled back before the next begins.  `fn` is called once
/// per attempt, so its effects outside the database must bear repeating.
template <class F>
auto retry_transaction(connection &conn, F fn, retry_options opts = {})
    -> future<detail::scope_result_t<F>> {
  using T = detail::scope_result_t<F>;
  for (unsigned attempt = 1;; ++attempt) {
    std::exception_ptr err;
    try {
      // fn by reference: it is called once more on the next attempt.
      auto call = [&fn](transaction &tx) { return fn(tx); };
      if constexpr (std::is_void_v<T>) {
        co_await transaction_scope(conn, opts.tx, call);
        co_return;
      } else {
        co_return co_await transaction_scope(conn, opts.tx, call);
      }
    } catch (...) {
      err = std::current_exception();
    }
    if (attempt >= opts.attempts || !is_retryable(err)) {
      std::rethrow_exception(err);
    }
  }
}

} // namespace uvpg

#endif // UVPG_TRANSACTION_HH
