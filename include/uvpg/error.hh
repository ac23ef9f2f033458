/// \file uvpg/error.hh
/// Exceptions of the C++ API.
///
/// Every runtime failure is a `uvpg::error`, a `std::system_error` whose
/// code lives in `uvpg::category()` and equals the C status (libuv codes
/// such as UV_ECONNREFUSED, or UVPG_E*; see uvpg-errors(7)).  A failure
/// the server reported is a `uvpg::server_error` carrying its diagnostic
/// fields.  Misuse of the API (a logic error in the calling program) is a
/// `uvpg::usage_error`, which is not a `uvpg::error`.  The class tree is
/// described at uvpg::error below and in uvpg-errors(7); the class of
/// each SQLSTATE is in uvpg/sqlstate.hh, which uvpg.hh includes.
#ifndef UVPG_ERROR_HH
#define UVPG_ERROR_HH

#include <map>
#include <stdexcept>
#include <string>
#include <system_error>

#include "uvpg/diagnostic.hh"
#include "uvpg/errno.h"

#ifndef UVPG_CXX_EXTERN
#if defined(__GNUC__) || defined(__clang__)
#define UVPG_CXX_EXTERN __attribute__((visibility("default")))
#else
#define UVPG_CXX_EXTERN
#endif
#endif

namespace uvpg {

/// The category of uvpg status codes (libuv's and uvpg's).
UVPG_CXX_EXTERN const std::error_category &category() noexcept;

/// A runtime failure: connection, protocol, server or resource error.
///
/// The classes below it follow the DB-API (PEP 249) as psycopg has them:
///
///     error                       (std::system_error; code = C status)
///      +-- interface_error        (the library, not the database)
///      |    +-- broken_promise    (uvpg/future.hh)
///      +-- database_error
///           +-- data_error
///           +-- operational_error
///           |    +-- connection_lost, connection_closed,
///           |    |   timed_out, operation_canceled
///           +-- integrity_error
///           +-- internal_error
///           +-- programming_error
///           +-- not_supported_error
///           +-- server_error      (also a diagnostic)
///
/// An error the server sent is a server_error *and* the category of its
/// SQLSTATE class: its class is the one of uvpg/sqlstate.hh for its
/// SQLSTATE (uvpg::errors::unique_violation), derived from both
/// integrity_error and server_error.  database_error is therefore a
/// virtual base of every class below it, so that each error holds one
/// database_error (and one uvpg::error) however it is reached, and
/// `catch (const uvpg::error &)` is never ambiguous.
class UVPG_CXX_EXTERN error : public std::system_error {
public:
  /// \param status a negative C status code (UV_E* or UVPG_E*)
  /// \param what   the message, in libpq's words where libpq gave one
  error(int status, const std::string &what);
  /// The C status code, e.g. UV_ETIMEDOUT or UVPG_ECONNBAD.
  int status() const noexcept { return code().value(); }
  /// The message alone (std::system_error would append the code's text).
  const char *what() const noexcept override { return _what.c_str(); }
  /// True when the statement that failed may still have run, even
  /// committed: it had gone to the server when the connection broke,
  /// its deadline passed, the program cancelled it or closed the
  /// connection, and the server never said it failed.  False when it surely did not take
  /// effect: the server refused it, or it never left uvpg.  A write
  /// that is not idempotent is retried only when this is false.
  bool outcome_unknown() const noexcept { return _outcome_unknown; }

private:
  std::string _what;
  bool _outcome_unknown = false;
};

/// Errors of the interface (uvpg itself) rather than the database.
class UVPG_CXX_EXTERN interface_error : public error {
public:
  using error::error;
};

/// Errors of the database or the connection to it.  A virtual base: see
/// uvpg::error.
class UVPG_CXX_EXTERN database_error : public error {
public:
  using error::error;
};

// The DB-API categories.  Each is built from (status, what) when it is
// the object's class, and from a database_error when it is a base of one
// of uvpg/sqlstate.hh's classes (whose constructor builds the virtual
// base itself, so the argument is then ignored).
#define UVPG__DBAPI_CATEGORY(name)                                            \
  class UVPG_CXX_EXTERN name : public virtual database_error {                \
  public:                                                                     \
    name(int status, const std::string &what)                                 \
        : database_error(status, what) {}                                     \
    explicit name(const database_error &e) : database_error(e) {}             \
  }

/// A value that does not fit: division by zero, a number out of range,
/// a malformed value (the server's class 22, or a value the server sent
/// that cannot become the C++ type asked for: status UVPG_EDATA).
class UVPG_CXX_EXTERN data_error : public virtual database_error {
public:
  explicit data_error(const std::string &what)
      : database_error(UVPG_EDATA, what) {}
  data_error(int status, const std::string &what)
      : database_error(status, what) {}
  explicit data_error(const database_error &e) : database_error(e) {}
};
/// Errors of the database's operation, not of the program: the
/// connection lost, a serialization failure, a statement cancelled,
/// too many connections, a wrong password.
UVPG__DBAPI_CATEGORY(operational_error);
/// A constraint was violated (the server's class 23).
UVPG__DBAPI_CATEGORY(integrity_error);
/// The database is in a state it should not be (classes 24, 25, XX...).
UVPG__DBAPI_CATEGORY(internal_error);
/// The program's SQL is wrong: syntax, no such table or column (class
/// 42, ...), or wrong parameters (status UVPG_EPARAM).
UVPG__DBAPI_CATEGORY(programming_error);
/// The database does not support what was asked (class 0A).
UVPG__DBAPI_CATEGORY(not_supported_error);
#undef UVPG__DBAPI_CATEGORY

/// The connection broke (UVPG_ECONNBAD) and the server gave no reason:
/// a reset socket, a server that went away.  When the server did say
/// why (a FATAL such as 57P01 admin_shutdown), the error is that
/// SQLSTATE's class instead, still with status UVPG_ECONNBAD.
class UVPG_CXX_EXTERN connection_lost : public operational_error {
public:
  connection_lost(int status, const std::string &what)
      : database_error(status, what), operational_error(status, what) {}
};

/// The program closed the connection: work queued after the close
/// (UVPG_ECLOSED) or still pending when it closed (UV_ECANCELED).
class UVPG_CXX_EXTERN connection_closed : public operational_error {
public:
  connection_closed(int status, const std::string &what)
      : database_error(status, what), operational_error(status, what) {}
};

/// uvpg's own deadline passed (UV_ETIMEDOUT): the connect timeout or a
/// statement's timeout.  Not the server's statement_timeout, which is
/// uvpg::errors::query_canceled (57014).
class UVPG_CXX_EXTERN timed_out : public operational_error {
public:
  timed_out(int status, const std::string &what)
      : database_error(status, what), operational_error(status, what) {}
};

/// The operation was abandoned before it ended (UV_ECANCELED): a cursor
/// closed with work pending, a promise never kept.  Not the server's
/// query_canceled (57014).
class UVPG_CXX_EXTERN operation_canceled : public operational_error {
public:
  operation_canceled(int status, const std::string &what)
      : database_error(status, what), operational_error(status, what) {}
};

/// A pool refused to queue one more caller for a connection: its
/// max_waiting callers already wait (UVPG_EPOOLFULL).
class UVPG_CXX_EXTERN pool_exhausted : public operational_error {
public:
  pool_exhausted(int status, const std::string &what)
      : database_error(status, what), operational_error(status, what) {}
};

/// An error the server sent (an ErrorResponse), with its diagnostic
/// fields (uvpg/diagnostic.hh), the statement and the session.  What is
/// thrown is the class of its SQLSTATE (uvpg/sqlstate.hh), or a plain
/// server_error for a code of no known class.
class UVPG_CXX_EXTERN server_error : public virtual database_error,
                                     public diagnostic {
public:
  /// \param status    UVPG_ESERVER, or UVPG_ECONNBAD when the error ended
  ///                  the session (e.g. 57P01 admin_shutdown)
  /// \param fields    the diagnostic fields keyed by UVPG_DIAG_* code
  /// \param statement the statement that failed, empty when none
  /// \param pid       the server process, 0 when unknown
  server_error(int status, const std::string &what,
               std::map<char, std::string> fields,
               std::string statement = {}, int pid = 0);

  /// The statement the server refused; empty for a connect failure or
  /// a lost connection.
  const std::string &statement() const noexcept { return _statement; }
  /// The server process that raised it (as uvpg_conn_get_backend_pid()),
  /// 0 when there was none (a failed connect).
  int backend_pid() const noexcept { return _backend_pid; }

private:
  std::string _statement;
  int _backend_pid = 0;
};

/// Misuse of the API: a bug in the calling program, not a runtime failure.
class UVPG_CXX_EXTERN usage_error : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

} // namespace uvpg

#endif // UVPG_ERROR_HH
