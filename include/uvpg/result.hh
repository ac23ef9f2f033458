/// \file uvpg/result.hh
/// The result of one statement: rows and columns as text, or a command
/// status.  Typed access to values arrives with the row/typecaster API.
#ifndef UVPG_RESULT_HH
#define UVPG_RESULT_HH

#include <string_view>
#include <utility>

#include "uvpg/error.hh"

struct pg_result;

namespace uvpg {

/// One statement's result.  Move-only; owns the server's result.
class UVPG_CXX_EXTERN result {
public:
  result() noexcept = default;
  /// Takes ownership of a libpq result (internal use).
  explicit result(pg_result *res) noexcept : _res(res) {}
  result(result &&o) noexcept : _res(std::exchange(o._res, nullptr)) {}
  result &operator=(result &&o) noexcept;
  result(const result &) = delete;
  result &operator=(const result &) = delete;
  ~result();

  /// Number of rows.
  int rows() const noexcept;
  /// Number of columns.
  int columns() const noexcept;
  /// A column's name. \throws std::out_of_range for a bad index.
  std::string_view column_name(int col) const;
  /// A column's index by name, -1 when there is none.
  int column_index(std::string_view name) const noexcept;
  /// A column's type OID. \throws std::out_of_range for a bad index.
  unsigned column_type(int col) const;
  /// True when the value is SQL NULL.
  /// \throws std::out_of_range for a bad row or column.
  bool is_null(int row, int col) const;
  /// A value in text form ("" for NULL); valid while the result lives.
  /// \throws std::out_of_range for a bad row or column.
  std::string_view value(int row, int col) const;
  /// The command tag, e.g. "INSERT 0 1" or "SELECT 3".
  std::string_view command_status() const noexcept;
  /// Rows affected by INSERT/UPDATE/DELETE/SELECT/..., -1 when none.
  long long affected_rows() const noexcept;

  /// The underlying libpq result (still owned by this object).
  pg_result *native() const noexcept { return _res; }
  /// Gives up ownership of the libpq result.
  pg_result *release() noexcept { return std::exchange(_res, nullptr); }

private:
  void check(int row, int col) const;
  void check_column(int col) const;
  pg_result *_res = nullptr;
};

} // namespace uvpg

#endif // UVPG_RESULT_HH
