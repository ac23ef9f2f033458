// The tables scripts/gen-sqlstate.py writes into src/sqlstate.cc.
#ifndef UVPG_SQLSTATE_TABLES_HH
#define UVPG_SQLSTATE_TABLES_HH

#include <cstddef>
#include <exception>

#include "uvpg.h"
#include "uvpg/error.hh"

namespace uvpg::detail {

/// A SQLSTATE and how to throw its class (uvpg/sqlstate.hh) from the
/// plain server_error the fields make.
struct sqlstate_entry {
  char code[6];
  std::exception_ptr (*make)(const server_error &);
};
extern const sqlstate_entry sqlstate_table[];
extern const size_t sqlstate_table_size;

/// A SQLSTATE class (two characters, or the first one) and its DB-API
/// category, as psycopg maps them.
struct sqlstate_category {
  char prefix[3];
  uvpg_error_class_t category;
};
extern const sqlstate_category sqlstate_categories[];
extern const size_t sqlstate_categories_size;

/// The category of any SQLSTATE: its class's, else DATABASE; NONE for
/// what is not five characters of [0-9A-Z].
uvpg_error_class_t sqlstate_category_of(const char *sqlstate) noexcept;

/// The category of a C status without a SQLSTATE (uvpg_err_class()).
uvpg_error_class_t status_category_of(int status) noexcept;

} // namespace uvpg::detail

#endif // UVPG_SQLSTATE_TABLES_HH
