/// \file uvpg/statement.hh
/// A statement prepared on the server by connection::prepare(), as
/// asyncpg's PreparedStatement: parsed and planned once, described (its
/// parameter types and result columns are known before it runs), and
/// executed by name.
///
///     uvpg::prepared_statement st =
///         co_await conn.prepare("SELECT name FROM users WHERE id = $1");
///     auto name = co_await st.fetchval<std::string>(int32_t{42});
///
/// Values are checked against the parameter types the server decided:
/// a value sent in binary form must have its parameter's type (send an
/// int64_t for bigint); text values go to any type.  The statement lives
/// until its last handle is destroyed, then it is deallocated (if its
/// connection is still open).  Statements run in the connection's queue
/// like any other, pipelined.
#ifndef UVPG_STATEMENT_HH
#define UVPG_STATEMENT_HH

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "uvpg/future.hh"
#include "uvpg/result.hh"
#include "uvpg/types.hh"

namespace uvpg {

class param;
using params = std::vector<param>;
struct query_options;

namespace detail {
struct statement_shared;
}

/// A prepared statement (connection::prepare).  Copies share it.
class UVPG_CXX_EXTERN prepared_statement {
public:
  prepared_statement() noexcept = default;
  explicit prepared_statement(std::shared_ptr<detail::statement_shared> s)
      : _s(std::move(s)) {}

  /// Runs the statement with `args`.  Fails with UVPG_EPARAM (before the
  /// wire) when the count or a binary value's type does not fit.
  future<result> query(params args) const;
  future<result> query(params args, const query_options &opts) const;
  /// Runs it once per set, atomically, in one round trip (as
  /// connection::executemany).
  future<void> executemany(std::vector<params> rows) const;

  /// All rows (asyncpg's fetch).
  template <class... A> future<result> fetch(const A &...args) const;
  /// The first row, or nullopt (asyncpg's fetchrow).
  template <class... A>
  future<std::optional<row>> fetchrow(const A &...args) const;
  /// The first column of the first row as T (asyncpg's fetchval).
  template <class T, class... A> future<T> fetchval(const A &...args) const;

  /// The text it was prepared from, with `$n` placeholders.
  const std::string &sql() const;
  /// Its name on the server.
  const std::string &name() const;
  /// The parameter types the server decided, one per `$n`.
  const std::vector<oid_t> &parameter_types() const;
  /// Its result columns (names, types, modifiers) as an empty result:
  /// columns(), column_name(), column_type().  No columns for a
  /// statement that returns no rows.
  const result &columns() const;

private:
  std::shared_ptr<detail::statement_shared> _s;
};

} // namespace uvpg

#endif // UVPG_STATEMENT_HH
