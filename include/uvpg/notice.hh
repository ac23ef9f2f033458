/// \file uvpg/notice.hh
/// Notices: the messages a server sends that are not errors (NOTICE,
/// WARNING, INFO, DEBUG, LOG), as `RAISE NOTICE` in PL/pgSQL or
/// `DROP TABLE IF EXISTS` of a missing table produce.
///
/// A connection keeps the last 50 notices it received, oldest first
/// (aiopg's `notices`, connection::notices()), and hands each one to the
/// notice handlers the program added (psycopg's add_notice_handler,
/// connection::add_notice_handler()).  Handlers run from the loop, after
/// libpq has parsed the message and never inside a uvpg call: a notice
/// raised by a statement reaches the handlers before that statement's
/// own completion.  Nothing is printed to stderr unless a handler does
/// it (libpq's default notice processor prints; uvpg replaces it).
#ifndef UVPG_NOTICE_HH
#define UVPG_NOTICE_HH

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "uvpg/diagnostic.hh"

namespace uvpg {

/// One notice: its diagnostic fields (severity, SQLSTATE, primary
/// message, detail, hint, context, ...) and the text libpq formats from
/// them, e.g. "NOTICE:  relation \"t\" already exists, skipping\n".
class UVPG_CXX_EXTERN notice : public diagnostic {
public:
  notice() = default;
  notice(std::map<char, std::string> fields, std::string message) noexcept
      : diagnostic(std::move(fields)), _message(std::move(message)) {}

  /// The whole message as libpq formats it (severity, primary message,
  /// and DETAIL/HINT lines when present), ending with a newline.
  const std::string &message() const noexcept { return _message; }

private:
  std::string _message;
};

/// How many notices a connection keeps (connection::notices()).
constexpr std::size_t max_kept_notices = 50;

/// Identifies a handler, logger or listener added to a connection, for
/// its removal.  Never 0.
using listener_id = std::uint64_t;

/// Called from the loop with each notice.  An exception it throws is
/// caught and dropped.
using notice_handler = std::function<void(const notice &)>;

} // namespace uvpg

#endif // UVPG_NOTICE_HH
