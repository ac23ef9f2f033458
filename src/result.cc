// uvpg::result, row and field access over a libpq result.
//
// A result_data is shared by the result handles and rows that refer to
// it (intrusive count, loop thread only) and keeps the connection's type
// context alive, so rows outlive their connection safely.
#include <cstdlib>
#include <stdexcept>

#include <libpq-events.h>

#include <vector>

#include "type_context.hh"
#include "types/wire.hh"
#include "uvpg/result.hh"

namespace uvpg {

namespace detail {

struct result_data {
  PGresult *pg;
  type_context *ctx;
  unsigned refs = 1;
  int rows = 0;
  // What every field of a column shares, read from libpq once (a
  // field would otherwise ask for its column's name, and strlen it,
  // once per row).
  struct column {
    oid_t type;
    bool binary;
    std::string_view name;
  };
  std::vector<column> columns;
};

void retain(result_data *d) noexcept {
  if (d) {
    ++d->refs;
  }
}

void release(result_data *d) noexcept {
  if (d && --d->refs == 0) {
    PQclear(d->pg);
    release(d->ctx);
    delete d;
  }
}

void retain(type_context *c) noexcept {
  if (c) {
    ++c->refs;
  }
}

void release(type_context *c) noexcept {
  if (c && --c->refs == 0) {
    delete c;
  }
}

namespace {

// libpq's event procedure: every result the connection makes carries a
// reference to the connection's type context, so a C result (a bare
// PGresult) still knows its connection's registered types.
int on_pq_event(PGEventId id, void *info, void *pass) {
  switch (id) {
  case PGEVT_RESULTCREATE: {
    auto *e = static_cast<PGEventResultCreate *>(info);
    auto *ctx = static_cast<type_context *>(pass);
    retain(ctx);
    PQresultSetInstanceData(e->result, on_pq_event, ctx);
    break;
  }
  case PGEVT_RESULTCOPY: {
    auto *e = static_cast<PGEventResultCopy *>(info);
    if (auto *ctx = static_cast<type_context *>(
            PQresultInstanceData(e->src, on_pq_event))) {
      retain(ctx);
      PQresultSetInstanceData(e->dest, on_pq_event, ctx);
    }
    break;
  }
  case PGEVT_RESULTDESTROY: {
    auto *e = static_cast<PGEventResultDestroy *>(info);
    release(static_cast<type_context *>(
        PQresultInstanceData(e->result, on_pq_event)));
    break;
  }
  default:
    break;
  }
  return 1;
}

} // namespace

type_context *context_of(const PGresult *res) noexcept {
  return res ? static_cast<type_context *>(
                   PQresultInstanceData(res, on_pq_event))
             : nullptr;
}

bool attach_context(PGconn *pg, type_context *ctx) noexcept {
  return PQregisterEventProc(pg, on_pq_event, "uvpg types", ctx) != 0;
}

} // namespace detail

oid_t oid_of(const field &f, std::string_view type_name) noexcept {
  if (const detail::type_context *ctx = f.context()) {
    for (const auto &[oid, entry] : ctx->registry) {
      if (entry.name == type_name) {
        return oid;
      }
    }
  }
  return 0;
}

result::result(pg_result *res, const detail::type_context *ctx) {
  if (!res) {
    return;
  }
  auto *c = const_cast<detail::type_context *>(ctx);
  _d = new detail::result_data{res, c, 1, 0, {}};
  detail::retain(c);
  _d->rows = PQntuples(res);
  int n = PQnfields(res);
  _d->columns.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    // A domain reads as the type it is over (field::type()).
    _d->columns.push_back({detail::base_type(PQftype(res, i), ctx),
                           PQfformat(res, i) == 1, PQfname(res, i)});
  }
}

pg_result *result::native() const noexcept { return _d ? _d->pg : nullptr; }

int result::rows() const noexcept { return _d ? _d->rows : 0; }

int result::columns() const noexcept {
  return _d ? static_cast<int>(_d->columns.size()) : 0;
}

void result::check_column(int col) const {
  if (col < 0 || col >= columns()) {
    throw usage_error("result: column " + std::to_string(col) +
                            " out of range (" + std::to_string(columns()) +
                            " columns)");
  }
}

void result::check(int row, int col) const {
  check_column(col);
  if (row < 0 || row >= rows()) {
    throw usage_error("result: row " + std::to_string(row) +
                            " out of range (" + std::to_string(rows()) +
                            " rows)");
  }
}

std::string_view result::column_name(int col) const {
  check_column(col);
  return PQfname(_d->pg, col);
}

int result::column_index(std::string_view name) const noexcept {
  for (int i = 0; i < columns(); ++i) {
    if (name == PQfname(_d->pg, i)) {
      return i;
    }
  }
  return -1;
}

oid_t result::column_type(int col) const {
  check_column(col);
  return PQftype(_d->pg, col);
}

int result::column_modifier(int col) const {
  check_column(col);
  return PQfmod(_d->pg, col);
}

int result::column_size(int col) const {
  check_column(col);
  return PQfsize(_d->pg, col);
}

bool result::is_null(int row, int col) const {
  check(row, col);
  return PQgetisnull(_d->pg, row, col);
}

std::string_view result::value(int row, int col) const {
  check(row, col);
  return {PQgetvalue(_d->pg, row, col),
          static_cast<size_t>(PQgetlength(_d->pg, row, col))};
}

field result::field(int row, int col) const {
  check(row, col);
  PGresult *pg = _d->pg;
  const detail::result_data::column &c = _d->columns[col];
  return uvpg::field(PQgetvalue(pg, row, col), PQgetlength(pg, row, col),
                     PQgetisnull(pg, row, col), c.type, c.binary, c.name,
                     _d->ctx);
}

std::string_view result::command_status() const noexcept {
  return _d ? PQcmdStatus(_d->pg) : "";
}

long long result::affected_rows() const noexcept {
  const char *n = _d ? PQcmdTuples(_d->pg) : "";
  return *n ? std::strtoll(n, nullptr, 10) : -1;
}

oid_t result::inserted_oid() const noexcept {
  if (!_d) {
    return 0;
  }
  Oid o = PQoidValue(_d->pg);
  return o == InvalidOid ? 0 : o;
}

row result::operator[](int index) const {
  if (index < 0 || index >= rows()) {
    throw usage_error("result: row " + std::to_string(index) +
                            " out of range (" + std::to_string(rows()) +
                            " rows)");
  }
  return uvpg::row(*this, index);
}

field row::operator[](std::string_view name) const {
  int col = _res.column_index(name);
  if (col < 0) {
    throw usage_error("row: no column named \"" + std::string(name) +
                            "\"");
  }
  return _res.field(_row, col);
}

} // namespace uvpg
