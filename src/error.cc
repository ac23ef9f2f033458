// The C++ exceptions and their category.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/engine.hh"
#include "sql.hh"
#include "sqlstate.hh"

namespace uvpg {
namespace {

class uvpg_category final : public std::error_category {
public:
  const char *name() const noexcept override { return "uvpg"; }
  std::string message(int code) const override {
    return uvpg_strerror(code);
  }
};

} // namespace

const std::error_category &category() noexcept {
  static const uvpg_category cat;
  return cat;
}

namespace {
// Set by detail::make_error() for the errors it builds: whether the
// failed statement may still have run.  A constructor argument would
// have to pass through every class of the tree and uvpg/sqlstate.hh's.
thread_local bool building_unknown = false;
} // namespace

error::error(int status, const std::string &what)
    : std::system_error(status, category(), what), _what(what),
      _outcome_unknown(building_unknown) {}

server_error::server_error(int status, const std::string &what,
                           std::map<char, std::string> fields,
                           std::string statement, int pid)
    : database_error(status, what), diagnostic(std::move(fields)),
      _statement(std::move(statement)), _backend_pid(pid) {}

const std::string &diagnostic::field(char code) const noexcept {
  static const std::string empty;
  auto it = _fields.find(code);
  return it == _fields.end() ? empty : it->second;
}

int diagnostic::number(char code) const noexcept {
  return std::atoi(field(code).c_str());
}

namespace detail {

uvpg_error_class_t sqlstate_category_of(const char *sqlstate) noexcept {
  if (!sqlstate) {
    return UVPG_ERROR_CLASS_NONE;
  }
  for (int i = 0; i < 5; ++i) {
    char ch = sqlstate[i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z'))) {
      return UVPG_ERROR_CLASS_NONE;
    }
  }
  if (sqlstate[5] != '\0') {
    return UVPG_ERROR_CLASS_NONE;
  }
  // The class's two characters first, then its first one (F0, HV, P0
  // and XX are mapped by their letter).
  for (size_t len : {size_t(2), size_t(1)}) {
    for (size_t i = 0; i < sqlstate_categories_size; ++i) {
      const sqlstate_category &e = sqlstate_categories[i];
      if (std::strlen(e.prefix) == len &&
          std::strncmp(e.prefix, sqlstate, len) == 0) {
        return e.category;
      }
    }
  }
  return UVPG_ERROR_CLASS_DATABASE;
}

uvpg_error_class_t status_category_of(int status) noexcept {
  switch (status) {
  case UVPG_ESERVER:
    return UVPG_ERROR_CLASS_DATABASE; // the SQLSTATE tells more
  case UVPG_EDATA:
    return UVPG_ERROR_CLASS_DATA;
  case UVPG_EPARAM:
  case UVPG_ENOCODEC:
    return UVPG_ERROR_CLASS_PROGRAMMING;
  case UVPG_EINTERNAL:
    return UVPG_ERROR_CLASS_INTERNAL;
  case UV_EINVAL:
    return UVPG_ERROR_CLASS_INTERFACE;
  default:
    // Lost, closed, timed out, canceled, a pipeline aborted, refused,
    // unreachable, out of memory: the database's operation failed.
    return status < 0 ? UVPG_ERROR_CLASS_OPERATIONAL : UVPG_ERROR_CLASS_NONE;
  }
}

namespace {

// The plain category class of an error that has no SQLSTATE.
template <class E> std::exception_ptr plain(int status, const std::string &w) {
  return std::make_exception_ptr(E(status, w));
}

// A category class that is also a server_error: for a code whose
// SQLSTATE class has no class of its own in uvpg/sqlstate.hh (one newer
// than the errcodes.txt it was generated from).
template <class Category>
class unknown_class final : public Category, public server_error {
public:
  explicit unknown_class(const server_error &e)
      : database_error(e), Category(e), server_error(e) {}
};

std::exception_ptr by_sqlstate(const server_error &e) {
  const std::string &code = e.sqlstate();
  auto find = [](const std::string &c) -> const sqlstate_entry * {
    const sqlstate_entry *end = sqlstate_table + sqlstate_table_size;
    const sqlstate_entry *it = std::lower_bound(
        sqlstate_table, end, c, [](const sqlstate_entry &x,
                                   const std::string &k) {
          return std::strcmp(x.code, k.c_str()) < 0;
        });
    return it != end && c == it->code ? it : nullptr;
  };
  if (code.size() == 5) {
    if (const sqlstate_entry *x = find(code)) {
      return x->make(e);
    }
    if (const sqlstate_entry *x = find(code.substr(0, 2) + "000")) {
      return x->make(e);
    }
  }
  switch (sqlstate_category_of(code.c_str())) {
  case UVPG_ERROR_CLASS_DATA:
    return std::make_exception_ptr(unknown_class<data_error>(e));
  case UVPG_ERROR_CLASS_OPERATIONAL:
    return std::make_exception_ptr(unknown_class<operational_error>(e));
  case UVPG_ERROR_CLASS_INTEGRITY:
    return std::make_exception_ptr(unknown_class<integrity_error>(e));
  case UVPG_ERROR_CLASS_INTERNAL:
    return std::make_exception_ptr(unknown_class<internal_error>(e));
  case UVPG_ERROR_CLASS_PROGRAMMING:
    return std::make_exception_ptr(unknown_class<programming_error>(e));
  case UVPG_ERROR_CLASS_NOT_SUPPORTED:
    return std::make_exception_ptr(unknown_class<not_supported_error>(e));
  default:
    return std::make_exception_ptr(e);
  }
}

// The primary message of libpq's text of a server message ("FATAL:  the
// message\nDETAIL:  ..."): its first line without the severity.  The
// severity word may be translated, so the shape is looked for, not the
// word: letters up to the first ":  ".
std::string primary_of(const std::string &text, std::string *severity) {
  std::string line = text.substr(0, text.find('\n'));
  size_t at = line.find(":  ");
  if (at != std::string::npos && at > 0 && at < 20 &&
      line.find(' ') >= at) {
    if (severity) {
      *severity = line.substr(0, at);
    }
    return line.substr(at + 3);
  }
  return line;
}

} // namespace

std::exception_ptr status_error(int status, const std::string &what) {
  switch (status) {
  case UVPG_ECONNBAD:
    return plain<connection_lost>(status, what);
  case UVPG_ECLOSED:
    return plain<connection_closed>(status, what);
  case UV_ETIMEDOUT:
    return plain<timed_out>(status, what);
  case UV_ECANCELED:
    return plain<operation_canceled>(status, what);
  case UVPG_EPOOLFULL:
    return plain<pool_exhausted>(status, what);
  default:
    break;
  }
  switch (status_category_of(status)) {
  case UVPG_ERROR_CLASS_DATA:
    return plain<data_error>(status, what);
  case UVPG_ERROR_CLASS_INTERNAL:
    return plain<internal_error>(status, what);
  case UVPG_ERROR_CLASS_PROGRAMMING:
    return plain<programming_error>(status, what);
  case UVPG_ERROR_CLASS_INTERFACE:
    return plain<interface_error>(status, what);
  case UVPG_ERROR_CLASS_DATABASE:
    return plain<database_error>(status, what);
  default:
    return plain<operational_error>(status, what);
  }
}

std::exception_ptr status_error_unknown(int status, const std::string &what) {
  struct unknown_scope {
    unknown_scope() { building_unknown = true; }
    ~unknown_scope() { building_unknown = false; }
  } scope;
  return status_error(status, what);
}

std::exception_ptr make_error(conn_impl *c, int status, PGresult *res,
                              std::string_view statement) {
  struct unknown_scope {
    explicit unknown_scope(bool v) { building_unknown = v; }
    ~unknown_scope() { building_unknown = false; }
  } scope(c && status < 0 && c->error_outcome_unknown);
  static const char codes[] = "SVCMDHPpqWstcdnFLR";
  int pid = c ? c->backend_pid() : 0;
  if (res && PQresultErrorField(res, PG_DIAG_SQLSTATE)) {
    std::map<char, std::string> fields;
    for (const char *p = codes; *p; ++p) {
      if (const char *v = PQresultErrorField(res, *p)) {
        fields.emplace(*p, v);
      }
    }
    std::string what = PQresultErrorMessage(res);
    while (!what.empty() && what.back() == '\n') {
      what.pop_back();
    }
    return by_sqlstate(server_error(status, what, std::move(fields),
                                    masked_sql(statement), pid));
  }
  std::string what;
  bool closed = c && c->close_requested;
  if (status == UV_ECANCELED && (closed || !c)) {
    what = "operation canceled: the connection was closed";
  } else if (status == UVPG_ECLOSED) {
    what = uvpg_strerror(status);
  }
  if (c && what.empty()) {
    what = c->error_msg;
  }
  if (what.empty()) {
    what = uvpg_strerror(status);
  }
  // A failed connect (status UVPG_ESERVER) or a session the server ended
  // (UVPG_ECONNBAD) with a SQLSTATE: the server's error, from the fields
  // connect.cc read from libpq's text, or from the FATAL's text.
  if (c && !c->error_sqlstate.empty() &&
      (status == UVPG_ESERVER || status == UVPG_ECONNBAD)) {
    std::map<char, std::string> fields;
    if (c->connect_fields.count('C') &&
        c->connect_fields.at('C') == c->error_sqlstate) {
      fields = c->connect_fields;
    } else {
      std::string severity;
      fields['M'] = primary_of(what, &severity);
      if (!severity.empty()) {
        fields['S'] = severity;
      }
    }
    fields['C'] = c->error_sqlstate;
    return by_sqlstate(server_error(status, what, std::move(fields),
                                    masked_sql(statement), pid));
  }
  if (closed && status == UV_ECANCELED) {
    // The program closed the connection with this work pending.
    return plain<connection_closed>(status, what);
  }
  return status_error(status, what);
}

} // namespace detail
} // namespace uvpg
