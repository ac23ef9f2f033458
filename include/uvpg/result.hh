/// \file uvpg/result.hh
/// The result of one statement, its rows and their fields.
///
/// A result is a cheap, copyable handle on the server's answer (copies
/// share it).  A `row` and a `field` are views into it; a row keeps the
/// result alive, a field is valid while its row or result lives.
///
///     for (const uvpg::row &r : res) {
///       int64_t id = r.get<int64_t>(0);
///       auto name = r["name"].as<std::optional<std::string>>();
///     }
#ifndef UVPG_RESULT_HH
#define UVPG_RESULT_HH

#include <cstddef>
#include <iterator>
#include <string_view>
#include <tuple>
#include <utility>

#include "uvpg/error.hh"
#include "uvpg/types.hh"

struct pg_result;

namespace uvpg {

namespace detail {
struct result_data;
UVPG_CXX_EXTERN void retain(result_data *d) noexcept;
UVPG_CXX_EXTERN void release(result_data *d) noexcept;
} // namespace detail

class row;

/// One statement's result: rows and columns, or a command status.
class UVPG_CXX_EXTERN result {
public:
  result() noexcept = default;
  /// Takes ownership of a libpq result (internal use).
  explicit result(pg_result *res, const detail::type_context *ctx = nullptr);
  result(const result &o) noexcept : _d(o._d) { detail::retain(_d); }
  result(result &&o) noexcept : _d(std::exchange(o._d, nullptr)) {}
  result &operator=(result o) noexcept {
    std::swap(_d, o._d);
    return *this;
  }
  ~result() { detail::release(_d); }

  /// Number of rows.
  int rows() const noexcept;
  /// Number of columns.
  int columns() const noexcept;
  /// A column's name. \throws usage_error for a bad index.
  std::string_view column_name(int col) const;
  /// A column's index by name, -1 when there is none.
  int column_index(std::string_view name) const noexcept;
  /// A column's type OID. \throws usage_error for a bad index.
  oid_t column_type(int col) const;
  /// A column's type modifier (e.g. numeric precision/scale), -1: none.
  int column_modifier(int col) const;
  /// The column's size on the server in bytes, negative when variable.
  int column_size(int col) const;
  /// True when the value is SQL NULL.
  /// \throws usage_error for a bad row or column.
  bool is_null(int row, int col) const;
  /// A value in text form ("" for NULL); valid while the result lives.
  /// \throws usage_error for a bad row or column.
  std::string_view value(int row, int col) const;
  /// One field. \throws usage_error for a bad row or column.
  uvpg::field field(int row, int col) const;
  /// The command tag, e.g. "INSERT 0 1" or "SELECT 3".
  std::string_view command_status() const noexcept;
  /// Rows affected by INSERT/UPDATE/DELETE/SELECT/..., -1 when none.
  long long affected_rows() const noexcept;
  /// The OID of a single inserted row, 0 when none.
  oid_t inserted_oid() const noexcept;

  /// A row. \throws usage_error for a bad index.
  uvpg::row operator[](int row) const;
  class iterator;
  iterator begin() const noexcept;
  iterator end() const noexcept;

  /// The underlying libpq result (owned by this object).
  pg_result *native() const noexcept;

private:
  friend class row;
  void check(int row, int col) const;
  void check_column(int col) const;
  detail::result_data *_d = nullptr;
};

/// One row of a result.  Copyable; keeps its result alive.
class UVPG_CXX_EXTERN row {
public:
  row(result res, int index) noexcept : _res(std::move(res)), _row(index) {}
  /// Number of fields.
  int size() const noexcept { return _res.columns(); }
  /// This row's index in its result.
  int index() const noexcept { return _row; }
  /// A field by position. \throws usage_error for a bad index.
  uvpg::field operator[](int col) const { return _res.field(_row, col); }
  /// A field by column name. \throws usage_error for none.
  uvpg::field operator[](std::string_view name) const;
  /// The value of a field as T (see field::as).
  template <class T> T get(int col) const { return (*this)[col].as<T>(); }
  template <class T> T get(std::string_view name) const {
    return (*this)[name].as<T>();
  }
  /// The row as a tuple of the given types, one per column in order.
  /// \throws usage_error when the count differs from the row's size.
  template <class... T> std::tuple<T...> as_tuple() const {
    if (sizeof...(T) != static_cast<size_t>(size())) {
      throw usage_error("row::as_tuple: " + std::to_string(sizeof...(T)) +
                        " types for " + std::to_string(size()) + " columns");
    }
    return as_tuple_impl<T...>(std::index_sequence_for<T...>{});
  }

  /// Iterates over the fields.
  class iterator {
  public:
    using value_type = uvpg::field;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const row *r, int c) : _r(r), _c(c) {}
    uvpg::field operator*() const { return (*_r)[_c]; }
    iterator &operator++() {
      ++_c;
      return *this;
    }
    iterator operator++(int) {
      auto t = *this;
      ++_c;
      return t;
    }
    bool operator==(const iterator &o) const { return _c == o._c; }

  private:
    const row *_r = nullptr;
    int _c = 0;
  };
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, size()}; }

  /// The result this row belongs to.
  const result &owner() const noexcept { return _res; }

private:
  template <class... T, std::size_t... I>
  std::tuple<T...> as_tuple_impl(std::index_sequence<I...>) const {
    return std::tuple<T...>((*this)[static_cast<int>(I)].template as<T>()...);
  }
  result _res;
  int _row;
};

/// Iterates over the rows of a result.
class result::iterator {
public:
  using value_type = uvpg::row;
  using difference_type = std::ptrdiff_t;
  iterator() = default;
  iterator(const result *r, int i) : _r(r), _i(i) {}
  uvpg::row operator*() const { return uvpg::row(*_r, _i); }
  iterator &operator++() {
    ++_i;
    return *this;
  }
  iterator operator++(int) {
    auto t = *this;
    ++_i;
    return t;
  }
  bool operator==(const iterator &o) const { return _i == o._i; }

private:
  const result *_r = nullptr;
  int _i = 0;
};

inline result::iterator result::begin() const noexcept { return {this, 0}; }
inline result::iterator result::end() const noexcept {
  return {this, rows()};
}

} // namespace uvpg

#endif // UVPG_RESULT_HH
