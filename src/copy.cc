// COPY: the engine's side of the COPY protocol (data in and out of
// libpq, with backpressure both ways) and the C++ API on it.  The C ABI
// of COPY is in src/capi/copy.cc.
//
// A COPY statement runs alone, outside pipeline mode (libpq allows no
// COPY there); pq.cc hands the op its data (copy_data), tells it the
// server waits for data (copy_ready), and when libpq's buffer has gone
// to the socket (copy_drained).
#include <algorithm>
#include <climits>
#include <cstring>

#include "engine/engine.hh"
#include "sql.hh"
#include "types/wire.hh"
#include "uvpg/copy.hh"

namespace uvpg::detail {

int conn_impl::copy_put(std::string_view data) {
  if (st != state::ready || copying != op::copy_way::in) {
    return st == state::ready ? int{UV_EINVAL} : int{UVPG_ECONNBAD};
  }
  while (!data.empty()) {
    size_t n = std::min<size_t>(data.size(), INT_MAX / 2);
    if (PQputCopyData(pg, data.data(), static_cast<int>(n)) != 1) {
      // libpq grows its buffer for anything, so only a dead socket or no
      // memory gets here.
      if (dead()) {
        lost(PQerrorMessage(pg));
        return UVPG_ECONNBAD;
      }
      set_error(PQerrorMessage(pg));
      return UVPG_EINTERNAL;
    }
    data.remove_prefix(n);
  }
  switch (PQflush(pg)) {
  case 0:
    return 0;
  case 1:
    copy_draining = true;
    watch(UV_READABLE | UV_WRITABLE);
    return 1;
  default:
    dead();
    lost(PQerrorMessage(pg));
    return UVPG_ECONNBAD;
  }
}

int conn_impl::copy_end(const char *why) {
  if (st != state::ready || copying != op::copy_way::in) {
    return st == state::ready ? int{UV_EINVAL} : int{UVPG_ECONNBAD};
  }
  if (PQputCopyEnd(pg, why) != 1) {
    if (dead()) {
      lost(PQerrorMessage(pg));
      return UVPG_ECONNBAD;
    }
    set_error(PQerrorMessage(pg));
    return UVPG_EINTERNAL;
  }
  copying = op::copy_way::none;
  flush();
  // The server may have answered already (an error it found in the data
  // waits in libpq's buffer): read from the loop, not from this call.
  later([this] {
    if (st == state::ready) {
      read_input();
    }
  });
  return 0;
}

void conn_impl::copy_resume() {
  if (!copy_paused || st != state::ready) {
    return;
  }
  copy_paused = false;
  watch(UV_READABLE | (poll_events & UV_WRITABLE));
  // Rows libpq has buffered already bring no socket event.
  later([this] {
    if (st == state::ready) {
      read_input();
    }
  });
}

// The row count of a COPY's command tag ("COPY 42").
static uint64_t rows_of(const PGresult *res) {
  const char *n = res ? PQcmdTuples(const_cast<PGresult *>(res)) : "";
  return std::strtoull(n, nullptr, 10);
}

// What a copy_writer and its op share.  The op clears `conn` when it
// completes, so a writer that outlives its COPY fails cleanly.
struct copy_in_shared {
  conn_impl *conn = nullptr;
  promise<copy_writer> ready;
  bool accepted = false;           // the server took the COPY
  bool ended = false;              // finish() or abort() was called
  std::vector<promise<void>> drains; // writes waiting for the socket
  promise<uint64_t> done;
  future<uint64_t> done_future; // taken at once: done may be set first
  bool done_taken = false;
  std::exception_ptr failure;      // how the op ended, if it failed
};

} // namespace uvpg::detail

namespace uvpg {

using detail::conn_impl;
using detail::copy_in_shared;

namespace {

future<uint64_t> copy_failed(int status, const std::string &what) {
  return make_exception_future<uint64_t>(
      detail::status_error(status, what));
}

// ---- C++ ops ----

struct copy_in_op final : detail::op {
  std::shared_ptr<copy_in_shared> s;
  copy_way copies() const noexcept override { return copy_way::in; }
  void copy_ready(conn_impl *c) noexcept override {
    if (s->accepted) {
      // A second COPY FROM STDIN in the same string: nobody writes it.
      c->copy_end("copy_in() takes one COPY FROM STDIN per statement");
      return;
    }
    s->accepted = true;
    s->ready.set_value(copy_writer(s));
  }
  void copy_drained(conn_impl *) noexcept override {
    auto drains = std::move(s->drains);
    for (auto &p : drains) {
      p.set_value();
    }
  }
  void complete(conn_impl *c, int status, PGresult *res) noexcept override {
    s->conn = nullptr;
    std::exception_ptr e;
    if (status < 0) {
      e = detail::make_error(c, status, res, sql);
    } else if (!s->accepted) {
      c->set_error("copy_in: the statement is not a COPY FROM STDIN");
      e = detail::status_error(UV_EINVAL, c->error_msg);
    }
    auto drains = std::move(s->drains);
    for (auto &p : drains) {
      e ? p.set_exception(e) : p.set_value();
    }
    if (!s->accepted) {
      s->ready.set_exception(e);
    } else if (e) {
      s->failure = e;
      s->done.set_exception(e);
    } else {
      s->done.set_value(detail::rows_of(res));
    }
    PQclear(res);
  }
};

// What a copy_out op and the continuation of a slow sink share.
struct copy_out_shared {
  conn_impl *conn = nullptr;
  std::exception_ptr sink_error;
};

struct copy_out_op final : detail::op {
  copy_sink sink;
  std::shared_ptr<copy_out_shared> s = std::make_shared<copy_out_shared>();
  promise<uint64_t> done;
  bool accepted = false;
  copy_way copies() const noexcept override { return copy_way::out; }
  bool copy_data(conn_impl *, std::string_view d) noexcept override {
    accepted = true;
    if (s->sink_error) {
      return true; // the rest is read and dropped
    }
    try {
      if (sink.now) {
        sink.now(d);
        return true;
      }
      future<void> f = sink.later(d);
      if (f.available()) {
        if (f.failed()) {
          s->sink_error = f.get_exception();
        }
        return true;
      }
      // Pause until the sink is done with it.
      // The continuation is kept by `f`'s state; its own future is not
      // needed.
      (void)std::move(f).then_wrapped([s = s](future<void> g) {
        if (g.failed()) {
          s->sink_error = g.get_exception();
        }
        if (s->conn) {
          s->conn->copy_resume();
        }
      });
      return false;
    } catch (...) {
      s->sink_error = std::current_exception();
      return true;
    }
  }
  void complete(conn_impl *c, int status, PGresult *res) noexcept override {
    s->conn = nullptr;
    if (status >= 0 && s->sink_error) {
      done.set_exception(s->sink_error);
    } else if (status < 0) {
      done.set_exception(detail::make_error(c, status, res, sql));
    } else if (PQresultStatus(res) != PGRES_COMMAND_OK || !accepted) {
      // Not a COPY TO STDOUT (a COPY that sent no row still says
      // "COPY 0" and is fine).
      const char *tag = PQcmdStatus(res);
      if (tag && std::strncmp(tag, "COPY", 4) == 0) {
        done.set_value(detail::rows_of(res));
      } else {
        c->set_error("copy_out: the statement is not a COPY TO STDOUT");
        done.set_exception(
            detail::status_error(UV_EINVAL, c->error_msg));
      }
    } else {
      done.set_value(detail::rows_of(res));
    }
    PQclear(res);
  }
};

future<copy_writer> submit_copy_in(conn_impl *c, std::string sql) {
  detail::loop_scope scope(c->loop);
  auto *o = new copy_in_op;
  o->s = std::make_shared<copy_in_shared>();
  o->s->conn = c;
  o->s->done_future = o->s->done.get_future();
  o->sql = std::move(sql);
  o->simple = true;
  o->exclusive = true;
  auto f = o->s->ready.get_future();
  c->submit(o);
  return f;
}

// A connection's address that turns null when the connection is freed,
// for work that spans several statements.
struct conn_watch final : detail::free_observer {
  conn_impl *conn;
  explicit conn_watch(conn_impl *c) : conn(c) { c->observe(this); }
  conn_watch(const conn_watch &) = delete;
  conn_watch &operator=(const conn_watch &) = delete;
  ~conn_watch() {
    if (conn) {
      conn->unobserve(this);
    }
  }
  void connection_freed() noexcept override { conn = nullptr; }
};

// A statement of uvpg's own with a typed result.
struct lookup_op final : detail::op, detail::state<result> {
  void complete(conn_impl *c, int status, PGresult *res) noexcept override {
    if (status >= 0) {
      set(result(res, c->types));
      return;
    }
    auto e = detail::make_error(c, status, res, sql);
    PQclear(res);
    fail(e);
  }
  void retire() noexcept override { release(); }
};

// SQL's quoting of an identifier and of a literal.
void append_ident(std::string &out, std::string_view id) {
  out += '"';
  for (char ch : id) {
    out += ch;
    if (ch == '"') {
      out += '"';
    }
  }
  out += '"';
}

void append_literal(std::string &out, std::string_view v) {
  out += '\'';
  for (char ch : v) {
    out += ch;
    if (ch == '\'') {
      out += '\'';
    }
  }
  out += '\'';
}

std::string table_name(std::string_view table, const std::string &schema) {
  std::string out;
  if (!schema.empty()) {
    append_ident(out, schema);
    out += '.';
  }
  append_ident(out, table);
  return out;
}

std::string column_list(const std::vector<std::string> &cols) {
  if (cols.empty()) {
    return {};
  }
  std::string out = " (";
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) {
      out += ", ";
    }
    append_ident(out, cols[i]);
  }
  return out + ")";
}

std::string with_options(const copy_options &o) {
  std::vector<std::string> parts;
  if (!o.format.empty()) {
    std::string f = "FORMAT ";
    append_ident(f, o.format);
    parts.push_back(std::move(f));
  }
  if (!o.delimiter.empty()) {
    std::string d = "DELIMITER ";
    append_literal(d, o.delimiter);
    parts.push_back(std::move(d));
  }
  if (o.null_string) {
    std::string n = "NULL ";
    append_literal(n, *o.null_string);
    parts.push_back(std::move(n));
  }
  if (o.header) {
    parts.push_back("HEADER");
  }
  if (parts.empty()) {
    return {};
  }
  std::string out = " (";
  for (size_t i = 0; i < parts.size(); ++i) {
    out += (i ? ", " : "") + parts[i];
  }
  return out + ")";
}

// Writes `data` in chunks, waiting for each to reach the socket.
future<uint64_t> write_all(future<copy_writer> ready, std::string data) {
  copy_writer w = co_await std::move(ready);
  constexpr size_t chunk = 1 << 20;
  for (size_t at = 0; at < data.size(); at += chunk) {
    co_await w.write(std::string_view(data).substr(at, chunk));
  }
  co_return co_await w.finish();
}

// The binary COPY format: a signature, flags, no extension.
constexpr char copy_signature[] = "PGCOPY\n\377\r\n";

struct column_type {
  std::string name;
  oid_t type;
};

// Stores the encoded records once the table's column types are known
// and agree with the values'.
future<uint64_t> copy_binary(std::shared_ptr<conn_watch> w,
                             std::string target, std::string relation,
                             std::vector<std::string> columns,
                             std::vector<oid_t> value_types,
                             std::string data) {
  auto *o = new lookup_op;
  auto looked_up = detail::future_of<result>(o);
  o->sql = "SELECT attname::text, atttypid FROM pg_attribute WHERE "
           "attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped "
           "AND attgenerated = '' ORDER BY attnum";
  o->simple = false;
  o->internal = true;
  o->values.push_back(param(relation));
  w->conn->submit(o);
  result r = co_await std::move(looked_up);
  std::vector<column_type> table;
  for (const row &rw : r) {
    table.push_back({rw.get<std::string>(0), rw.get<uint32_t>(1)});
  }
  std::vector<column_type> used;
  if (columns.empty()) {
    used = table;
  } else {
    for (const std::string &c : columns) {
      auto it = std::find_if(table.begin(), table.end(),
                             [&](const column_type &t) { return t.name == c; });
      if (it == table.end()) {
        throw programming_error(UVPG_EPARAM,
                                "copy_records_to_table: " + relation +
                                    " has no column \"" + c + "\"");
      }
      used.push_back(*it);
    }
  }
  if (!value_types.empty() && value_types.size() != used.size()) {
    throw programming_error(
        UVPG_EPARAM, "copy_records_to_table: the records have " +
                         std::to_string(value_types.size()) + " values, " +
                         relation + " takes " + std::to_string(used.size()));
  }
  for (size_t i = 0; i < value_types.size(); ++i) {
    oid_t v = value_types[i];
    oid_t t = used[i].type;
    bool text_column = detail::is_text_type(t) && t != oids::json &&
                       t != oids::jsonb;
    bool ok = v == static_cast<oid_t>(-1) || v == t ||
              (text_column && (v == 0 || detail::is_text_type(v)));
    if (!ok) {
      throw programming_error(
          UVPG_EPARAM, "copy_records_to_table: column \"" + used[i].name +
                           "\" has type " + std::to_string(t) +
                           " but the records give it values of type " +
                           (v ? std::to_string(v) : "unknown (a string)") +
                           "; send the column's own type");
    }
  }
  if (!w->conn) {
    std::rethrow_exception(detail::status_error(
        UVPG_ECLOSED, "copy_records_to_table: the connection is closed"));
  }
  co_return co_await write_all(submit_copy_in(w->conn, std::move(target)),
                               std::move(data));
}

} // namespace

// ---- copy_writer ----

copy_writer &copy_writer::operator=(copy_writer &&o) noexcept {
  if (this != &o) {
    copy_writer dying(std::move(*this));
    _s = std::move(o._s);
  }
  return *this;
}

copy_writer::~copy_writer() {
  if (_s && !_s->ended && _s->conn) {
    _s->ended = true;
    detail::loop_scope scope(_s->conn->loop);
    _s->conn->copy_end("copy_writer destroyed before finish()");
  }
}

future<void> copy_writer::write(std::string_view data) {
  if (!_s) {
    throw usage_error("copy_writer::write on an empty writer");
  }
  if (_s->ended) {
    return make_exception_future<void>(
        usage_error("copy_writer::write after finish() or abort()"));
  }
  if (!_s->conn) {
    return make_exception_future<void>(
        _s->failure ? _s->failure
                    : detail::status_error(UVPG_ECLOSED,
                                           "the COPY has ended"));
  }
  if (_s->conn->close_requested) {
    return make_exception_future<void>(detail::status_error(
        UVPG_ECLOSED, "copy_writer.write(): the connection is closed (a "
                      "pooled connection given back during a COPY is "
                      "closed)"));
  }
  detail::loop_scope scope(_s->conn->loop);
  int rc = _s->conn->copy_put(data);
  if (rc < 0) {
    return make_exception_future<void>(error(rc, _s->conn->error_msg));
  }
  if (rc == 0) {
    return make_ready_future();
  }
  _s->drains.emplace_back();
  return _s->drains.back().get_future();
}

future<uint64_t> copy_writer::finish() {
  if (!_s) {
    throw usage_error("copy_writer::finish on an empty writer");
  }
  if (_s->done_taken) {
    return make_exception_future<uint64_t>(
        usage_error("copy_writer::finish called twice"));
  }
  _s->done_taken = true;
  if (!_s->ended && _s->conn) {
    _s->ended = true;
    detail::loop_scope scope(_s->conn->loop);
    int rc = _s->conn->copy_end(nullptr);
    if (rc < 0) {
      return copy_failed(rc, _s->conn->error_msg);
    }
  }
  _s->ended = true;
  return std::move(_s->done_future);
}

future<void> copy_writer::abort(std::string_view why) {
  if (!_s) {
    throw usage_error("copy_writer::abort on an empty writer");
  }
  if (_s->done_taken) {
    return make_exception_future<void>(
        usage_error("copy_writer::abort after finish()"));
  }
  _s->done_taken = true;
  if (!_s->ended && _s->conn) {
    _s->ended = true;
    detail::loop_scope scope(_s->conn->loop);
    _s->conn->copy_end(std::string(why).c_str());
  }
  _s->ended = true;
  // The statement fails as asked: that is the success of an abort.
  return std::move(_s->done_future).then_wrapped([](future<uint64_t>) {});
}

// ---- connection ----

future<copy_writer> connection::copy_in(std::string_view sql) {
  if (!_impl) {
    return make_exception_future<copy_writer>(
        detail::status_error(UVPG_ECLOSED,
                             "copy_in on a closed connection"));
  }
  return submit_copy_in(_impl, std::string(sql));
}

future<uint64_t> connection::copy_out(std::string_view sql, copy_sink sink) {
  if (!_impl) {
    return copy_failed(UVPG_ECLOSED, "copy_out on a closed connection");
  }
  if (!sink) {
    throw usage_error("copy_out: the sink is empty");
  }
  detail::loop_scope scope(_impl->loop);
  auto *o = new copy_out_op;
  o->sink = std::move(sink);
  o->s->conn = _impl;
  o->sql = std::string(sql);
  o->simple = true;
  o->exclusive = true;
  auto f = o->done.get_future();
  _impl->submit(o);
  return f;
}

future<uint64_t> connection::copy_from_table(std::string_view table,
                                             copy_sink sink,
                                             const copy_options &opts) {
  return copy_out("COPY " + table_name(table, opts.schema) +
                      column_list(opts.columns) + " TO STDOUT" +
                      with_options(opts),
                  std::move(sink));
}

future<uint64_t> connection::copy_from_query(std::string_view query,
                                             copy_sink sink,
                                             const copy_options &opts) {
  return copy_out("COPY (" + std::string(query) + ") TO STDOUT" +
                      with_options(opts),
                  std::move(sink));
}

future<uint64_t> connection::copy_to_table(std::string_view table,
                                           std::string data,
                                           const copy_options &opts) {
  return write_all(copy_in("COPY " + table_name(table, opts.schema) +
                           column_list(opts.columns) + " FROM STDIN" +
                           with_options(opts)),
                   std::move(data));
}

future<uint64_t> connection::copy_records_to_table(
    std::string_view table, const std::vector<params> &records,
    std::vector<std::string> columns, std::string_view schema) {
  // Encode now, so the records need not outlive the call; each column's
  // values must agree on a type (-1: only NULLs so far).
  std::vector<oid_t> types;
  std::string data(copy_signature, sizeof copy_signature); // with its NUL
  data.append(8, '\0'); // flags, header extension length
  for (size_t r = 0; r < records.size(); ++r) {
    const params &rec = records[r];
    if (r == 0) {
      types.assign(rec.size(), static_cast<oid_t>(-1));
    } else if (rec.size() != types.size()) {
      return copy_failed(UVPG_EPARAM,
                         "copy_records_to_table: record " +
                             std::to_string(r + 1) + " has " +
                             std::to_string(rec.size()) +
                             " values, record 1 has " +
                             std::to_string(types.size()));
    }
    detail::store_be<uint16_t>(data, static_cast<uint16_t>(rec.size()));
    for (size_t i = 0; i < rec.size(); ++i) {
      const encoded &v = rec[i];
      if (v.null) {
        data.append("\xff\xff\xff\xff", 4);
        continue;
      }
      if (!v.binary && v.type != 0 && !detail::is_text_type(v.type)) {
        return copy_failed(UVPG_EPARAM,
                           "copy_records_to_table: value " +
                               std::to_string(i + 1) + " of record " +
                               std::to_string(r + 1) +
                               " has no binary form; use copy_in()");
      }
      if (types[i] == static_cast<oid_t>(-1)) {
        types[i] = v.type;
      } else if (types[i] != v.type) {
        return copy_failed(UVPG_EPARAM,
                           "copy_records_to_table: value " +
                               std::to_string(i + 1) + " of record " +
                               std::to_string(r + 1) +
                               " has another type than in the records "
                               "before it");
      }
      detail::store_be<uint32_t>(data, static_cast<uint32_t>(v.bytes.size()));
      data.append(v.bytes);
    }
  }
  data.append("\xff\xff", 2);
  std::string relation = table_name(table, std::string(schema));
  std::string target = "COPY " + relation + column_list(columns) +
                       " FROM STDIN (FORMAT binary)";
  if (!_impl) {
    return copy_failed(UVPG_ECLOSED,
                       "copy_records_to_table on a closed connection");
  }
  detail::loop_scope scope(_impl->loop);
  return copy_binary(std::make_shared<conn_watch>(_impl), std::move(target),
                     std::move(relation), std::move(columns),
                     std::move(types), std::move(data));
}

} // namespace uvpg
