// uvpg::result: a libpq result with range-checked accessors.
#include <cstdlib>
#include <stdexcept>

#include "internal.hh"

namespace uvpg {

result &result::operator=(result &&o) noexcept {
  if (this != &o) {
    PQclear(std::exchange(_res, std::exchange(o._res, nullptr)));
  }
  return *this;
}

result::~result() { PQclear(_res); }

int result::rows() const noexcept { return _res ? PQntuples(_res) : 0; }

int result::columns() const noexcept { return _res ? PQnfields(_res) : 0; }

void result::check_column(int col) const {
  if (col < 0 || col >= columns()) {
    throw std::out_of_range("result: column " + std::to_string(col) +
                            " out of range (" + std::to_string(columns()) +
                            " columns)");
  }
}

void result::check(int row, int col) const {
  if (col < 0 || col >= columns()) {
    throw std::out_of_range("result: column " + std::to_string(col) +
                            " out of range (" + std::to_string(columns()) +
                            " columns)");
  }
  if (row < 0 || row >= rows()) {
    throw std::out_of_range("result: row " + std::to_string(row) +
                            " out of range (" + std::to_string(rows()) +
                            " rows)");
  }
}

std::string_view result::column_name(int col) const {
  check_column(col);
  return PQfname(_res, col);
}

int result::column_index(std::string_view name) const noexcept {
  for (int i = 0; i < columns(); ++i) {
    if (name == PQfname(_res, i)) {
      return i;
    }
  }
  return -1;
}

unsigned result::column_type(int col) const {
  check_column(col);
  return PQftype(_res, col);
}

bool result::is_null(int row, int col) const {
  check(row, col);
  return PQgetisnull(_res, row, col);
}

std::string_view result::value(int row, int col) const {
  check(row, col);
  return {PQgetvalue(_res, row, col),
          static_cast<size_t>(PQgetlength(_res, row, col))};
}

std::string_view result::command_status() const noexcept {
  return _res ? PQcmdStatus(_res) : "";
}

long long result::affected_rows() const noexcept {
  const char *n = _res ? PQcmdTuples(_res) : "";
  return *n ? std::strtoll(n, nullptr, 10) : -1;
}

} // namespace uvpg
