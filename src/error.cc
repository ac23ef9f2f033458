// The C++ exceptions and their category.
#include <cstdlib>

#include "engine/engine.hh"

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

error::error(int status, const std::string &what)
    : std::system_error(status, category(), what), _what(what) {}

server_error::server_error(int status, const std::string &what,
                           std::map<char, std::string> fields)
    : error(status, what), diagnostic(std::move(fields)) {}

const std::string &diagnostic::field(char code) const noexcept {
  static const std::string empty;
  auto it = _fields.find(code);
  return it == _fields.end() ? empty : it->second;
}

int diagnostic::number(char code) const noexcept {
  return std::atoi(field(code).c_str());
}

namespace detail {

std::exception_ptr make_error(conn_impl *c, int status, PGresult *res) {
  static const char codes[] = "SVCMDHPpqWstcdnFLR";
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
    return std::make_exception_ptr(
        server_error(status, what, std::move(fields)));
  }
  std::string what;
  if (status == UV_ECANCELED) {
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
  if (c && !c->error_sqlstate.empty() && status != UV_ECANCELED) {
    std::map<char, std::string> fields{{'C', c->error_sqlstate},
                                       {'M', what}};
    return std::make_exception_ptr(
        server_error(status, what, std::move(fields)));
  }
  return std::make_exception_ptr(error(status, what));
}

} // namespace detail
} // namespace uvpg
