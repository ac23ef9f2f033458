// sql.cc: the SQL lexer, placeholders and the shape of a statement.
#ifndef UVPG_SQL_HH
#define UVPG_SQL_HH

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "uvpg/connection.hh"


namespace uvpg::detail {

/// Index just past the quoted text, quoted identifier, dollar-quoted
/// body or comment that starts at `i` in `sql`, or `i` when none does:
/// the places where `%` or `$1` is data, not a placeholder.
size_t skip_inert(std::string_view sql, size_t i);
/// True for a character that continues an SQL identifier.
bool ident_char(char c);

/// Rewrites `%s` and `%(name)s` to `$n`, `%%` to `%`, skipping quoted
/// text, quoted identifiers, dollar quotes and comments.  `names`, when
/// given, receives the name bound to each `$n` in order; `count` the
/// number of placeholders converted.  Returns nullopt and sets `err` on
/// a malformed or mixed placeholder.  SQL with `$n` placeholders, or with
/// no placeholder and no parameters, is returned unchanged.
std::optional<std::string> convert_placeholders(
    std::string_view sql, bool with_params, std::vector<std::string> *names,
    size_t *count, std::string &err);

/// Whether `sql` may hold DISCARD ALL or DEALLOCATE: it has "discard
/// all" or "deallocate" in it, in any case.  Errs on the side of yes.
bool may_drop_statements(std::string_view sql) noexcept;

/// What the lexer tells of a statement before it is sent.
struct sql_shape {
  bool single = true; // one statement: the extended protocol can send it
  bool copy = false;  // starts with COPY: the COPY protocol may follow
  /// A query or DML statement (SELECT, INSERT, UPDATE, DELETE, MERGE,
  /// WITH, VALUES, TABLE, CALL): worth a place in the statement cache.
  /// Transaction control, DDL and session commands are prepared unnamed.
  bool cacheable = false;
  /// Starts with a query, DML, COPY or transaction control keyword
  /// (see session_neutral()).
  bool neutral_start = false;
};
sql_shape shape_of(std::string_view sql);

/// Leaves the session as it found it once any transaction it is in
/// ends: one statement, a query, DML, COPY or transaction control, that
/// names none of the functions and words whose effects outlive a
/// transaction (set_config, pg_settings, advisory locks, LISTEN, dblink,
/// TEMP and pg_temp, setseed, nextval, setval).  A pool skips its
/// session reset after a lease of such statements only.  It cannot see
/// inside a function the statement calls.  Scans the whole text: only
/// for pooled connections.
bool session_neutral(std::string_view sql, const sql_shape &shape);

/// Binds `%(name)s` placeholders: the statement with `$n` and the values
/// in `$n` order.  \throws error (UVPG_EPARAM) for a missing or unused
/// name, or mixed placeholders.
std::pair<std::string, params> bind_named(std::string_view sql,
                                          const named_params &args);

/// `sql` as a log or an error may show it: the literal after a PASSWORD
/// keyword, and a conninfo password inside any literal, masked.
std::string masked_sql(std::string_view sql);

/// True when `sql` has the word "password" (any case) anywhere: it may
/// carry one (ALTER ROLE ... PASSWORD, a conninfo in a literal).
bool mentions_password(std::string_view sql) noexcept;

/// `name` as a quoted SQL identifier: "a""b".
std::string quote_identifier(std::string_view name);

} // namespace uvpg::detail

#endif // UVPG_SQL_HH
