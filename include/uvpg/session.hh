/// \file uvpg/session.hh
/// Watching a session: the query logger (asyncpg's add_query_logger)
/// and the lost-connection event (asyncpg's add_termination_listener).
///
/// A query logger is called once for every statement the program ran on
/// the connection, from the loop, right after the statement's own
/// callback (or future continuation).  Its record holds the statement
/// text and the number of its parameters, never their values, nor the
/// error message (a server's message may quote a value): a password
/// passed as a parameter cannot reach a log through it.  uvpg's own
/// statements (type lookups, DEALLOCATE, a named cursor's implicit
/// BEGIN) are not logged; a transaction's BEGIN, SAVEPOINT, COMMIT and
/// ROLLBACK are.
///
/// A termination listener is called once when the connection is lost
/// (the server ended the session, the socket failed, a cancelled
/// statement outlived its grace), whether it was idle or busy, from the
/// loop, after the callbacks of the operations the loss failed.  It is
/// not called when the program closes the connection, nor when the
/// program closed it before the loss was reported.
#ifndef UVPG_SESSION_HH
#define UVPG_SESSION_HH

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "uvpg/notice.hh"

namespace uvpg {

/// One statement, as a query logger sees it.
struct query_log_record {
  /// The statement as sent (placeholders already converted to $n).
  std::string sql;
  /// How many parameters it had (per set, for executemany).
  std::size_t nparams = 0;
  /// When the program called (wall clock), and how long until its
  /// completion, waiting in the queue included.
  std::chrono::system_clock::time_point start;
  std::chrono::microseconds elapsed{0};
  /// The completion status: 0, or a negative code as the C API reports
  /// it (UVPG_ESERVER, UVPG_ECONNBAD, UV_ETIMEDOUT, UV_ECANCELED, ...).
  int status = 0;
  /// The server's SQLSTATE when it sent an error, else empty.
  std::string sqlstate;
  /// The command tag, e.g. "INSERT 0 3" (empty on failure).
  std::string command_status;
  /// Rows returned (a SELECT) or affected (INSERT, UPDATE, ...);
  /// 0 for other commands, -1 when the statement failed.
  std::int64_t rows = -1;
  /// The server it ran on: host name or address, or the unix socket
  /// directory, and the port.
  std::string host;
  std::string port;
};

/// Called from the loop with each record.  An exception it throws is
/// caught and dropped.
using query_logger = std::function<void(const query_log_record &)>;

/// Why a connection was lost.
struct termination_event {
  /// UVPG_ECONNBAD.
  int status = 0;
  /// The server's FATAL message when it sent one (57P01 for
  /// pg_terminate_backend or a server shutdown), and libpq's word on the
  /// socket (e.g. "server closed the connection unexpectedly").
  std::string message;
  /// The server's SQLSTATE when it sent a FATAL, else empty.
  std::string sqlstate;
};

/// Called once from the loop when the connection is lost.  An exception
/// it throws is caught and dropped.
using termination_listener = std::function<void(const termination_event &)>;

} // namespace uvpg

#endif // UVPG_SESSION_HH
