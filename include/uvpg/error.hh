/// \file uvpg/error.hh
/// Exceptions of the C++ API.
///
/// Every runtime failure is a `uvpg::error`, a `std::system_error` whose
/// code lives in `uvpg::category()` and equals the C status (libuv codes
/// such as UV_ECONNREFUSED, or UVPG_E*; see uvpg-errors(7)).  A failure
/// the server reported is a `uvpg::server_error` carrying its diagnostic
/// fields.  Misuse of the API (a logic error in the calling program) is a
/// `uvpg::usage_error`, which is not a `uvpg::error`.
#ifndef UVPG_ERROR_HH
#define UVPG_ERROR_HH

#include <map>
#include <stdexcept>
#include <string>
#include <system_error>

#include "uvpg/diagnostic.hh"

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
class UVPG_CXX_EXTERN error : public std::system_error {
public:
  /// \param status a negative C status code (UV_E* or UVPG_E*)
  /// \param what   the message, in libpq's words where libpq gave one
  error(int status, const std::string &what);
  /// The C status code, e.g. UV_ETIMEDOUT or UVPG_ECONNBAD.
  int status() const noexcept { return code().value(); }
  /// The message alone (std::system_error would append the code's text).
  const char *what() const noexcept override { return _what.c_str(); }

private:
  std::string _what;
};

/// An error the server sent (an ErrorResponse), with its diagnostic
/// fields (uvpg/diagnostic.hh).
class UVPG_CXX_EXTERN server_error : public error, public diagnostic {
public:
  /// \param status UVPG_ESERVER, or UVPG_ECONNBAD when the error ended
  ///               the session (e.g. 57P01 admin_shutdown)
  /// \param fields the diagnostic fields keyed by UVPG_DIAG_* code
  server_error(int status, const std::string &what,
               std::map<char, std::string> fields);
};

/// Misuse of the API: a bug in the calling program, not a runtime failure.
class UVPG_CXX_EXTERN usage_error : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

} // namespace uvpg

#endif // UVPG_ERROR_HH
