// The query log and the lost-connection event.
//
// A record is taken when a statement's completion is delivered
// (callout.cc), before its result goes to the callback, and handed to
// the loggers right after that callback: a logger sees the statement as
// done.  Statements are timed from the call only while some logger (or
// echo) listens (conn_impl::query_logging).  The record has the
// parameters' count, never their values: a password given as a
// parameter must not reach a log through it (echo, which the program
// turns on for debugging, is the one exception and says so).
//
// The lost-connection event is queued by conn_impl::lost() (pq.cc) from
// the loop, after the operations the loss failed were told: their
// callbacks come first.  lost() runs once per connection (the state
// becomes broken), so the event fires once.  close() never calls lost().
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "engine/engine.hh"
#include "session_state.hh"
#include "sql.hh"

namespace uvpg::detail {

void update_query_logging(conn_impl *c) {
  c->query_logging = c->session && c->session->logging();
}

namespace {

// echo: the statement, its parameters and its outcome, for stderr.
std::string echo_text(const op *o, const query_log_record &r) {
  std::string out = "uvpg: " + r.sql + "\n";
  size_t n = o->rows ? o->values.size() / o->rows : 0;
  for (size_t i = 0; n && i < o->values.size(); ++i) {
    const encoded &v = o->values[i];
    out += "uvpg:   $" + std::to_string(i % n + 1);
    if (o->rows > 1) {
      out += "[" + std::to_string(i / n + 1) + "]"; // its set
    }
    if (v.null) {
      out += " = NULL\n";
    } else if (v.binary) {
      out += " = <" + std::to_string(v.bytes.size()) + " bytes, binary>\n";
    } else {
      out += " = '" + v.bytes + "'\n";
    }
  }
  char tail[128];
  double ms = static_cast<double>(r.elapsed.count()) / 1000.0;
  if (r.status >= 0) {
    std::snprintf(
        tail, sizeof tail, "uvpg:   -> %s, %" PRId64 " rows, %.3f ms\n",
        r.command_status.empty() ? "ok" : r.command_status.c_str(), r.rows, ms);
  } else {
    std::snprintf(tail, sizeof tail, "uvpg:   -> %s%s%s, %.3f ms\n",
                  uvpg_err_name(r.status), r.sqlstate.empty() ? "" : " ",
                  r.sqlstate.c_str(), ms);
  }
  return out + tail;
}

int64_t rows_of(const PGresult *res) {
  const char *tuples = PQcmdTuples(const_cast<PGresult *>(res));
  if (tuples && *tuples) {
    return std::strtoll(tuples, nullptr, 10);
  }
  return PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
}

} // namespace

std::function<void()> query_log(conn_impl *c, const op *o, int status,
                                const PGresult *res) {
  if (o->internal || !o->started_ns || !(c->query_logging || c->opts.echo)) {
    return {};
  }
  auto r = std::make_shared<query_log_record>();
  r->sql = masked_sql(o->sql);
  r->nparams = o->rows ? o->values.size() / o->rows : 0;
  r->start = std::chrono::system_clock::time_point(
      std::chrono::microseconds(o->started_us));
  r->elapsed = std::chrono::microseconds((uv_hrtime() - o->started_ns) / 1000);
  r->status = status;
  if (status < 0) {
    const char *state =
        res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    r->sqlstate = state ? state : "";
    if (!res && !o->why_state.empty()) {
      r->sqlstate = o->why_state;
    }
  } else if (res) {
    r->command_status = PQcmdStatus(const_cast<PGresult *>(res));
    r->rows = rows_of(res);
  } else {
    r->rows = 0;
  }
  // Where it ran: libpq's answer while the session lives, the host
  // connected to once it is gone.
  if (c->pg) {
    const char *h = PQhost(c->pg);
    const char *p = PQport(c->pg);
    r->host = h ? h : "";
    r->port = p ? p : "";
  } else if (c->host_index < c->hosts.size()) {
    r->host = c->hosts[c->host_index].host;
    r->port = c->hosts[c->host_index].port;
  }
  std::string echoed = c->opts.echo ? echo_text(o, *r) : std::string();
  return [c, r, echoed = std::move(echoed)] {
    if (!echoed.empty()) {
      std::fputs(echoed.c_str(), stderr);
    }
    if (!c->session) {
      return;
    }
    session_state &s = *c->session;
    s.loggers.call(*r);
    if (uvpg_query_log_cb cb = s.c_logger.cb) {
      uvpg_query_log_t rec{};
      rec.size = sizeof rec;
      rec.sql = r->sql.c_str();
      rec.nparams = static_cast<int>(r->nparams);
      rec.status = r->status;
      rec.sqlstate = r->sqlstate.empty() ? nullptr : r->sqlstate.c_str();
      rec.command_status = r->command_status.c_str();
      rec.rows = r->rows;
      rec.start_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         r->start.time_since_epoch())
                         .count();
      rec.elapsed_us = r->elapsed.count();
      rec.host = r->host.c_str();
      rec.port = r->port.c_str();
      cb(c_handle(c), r->status, &rec, s.c_logger.data);
    }
  };
}

void end_lease_session(conn_impl *c) noexcept {
  if (c->session) {
    c->session.reset();
    update_query_logging(c);
  }
}

void session_lost(conn_impl *c, std::string msg, std::string sqlstate) {
  if (!c->session ||
      (c->session->terminations.empty() && !c->session->c_termination.cb)) {
    return;
  }
  termination_event e{UVPG_ECONNBAD, std::move(msg), std::move(sqlstate)};
  c->events.emplace_back([c, e = std::move(e)] {
    session_state &s = session_of(c);
    s.terminations.call(e);
    if (uvpg_termination_cb cb = s.c_termination.cb) {
      cb(c_handle(c), e.status, e.message.c_str(),
         e.sqlstate.empty() ? nullptr : e.sqlstate.c_str(),
         s.c_termination.data);
    }
  });
  c->post(conn_impl::callout::kind::event, nullptr);
}

} // namespace uvpg::detail

namespace uvpg {

listener_id connection::add_query_logger(query_logger fn) {
  auto &s = detail::session_for(_impl, "add_query_logger");
  listener_id id = s.next_id();
  s.loggers.add(id, std::move(fn));
  detail::update_query_logging(_impl);
  return id;
}

bool connection::remove_query_logger(listener_id id) noexcept {
  if (!_impl || !_impl->session || !_impl->session->loggers.remove(id)) {
    return false;
  }
  detail::update_query_logging(_impl);
  return true;
}

listener_id connection::add_termination_listener(termination_listener fn) {
  auto &s = detail::session_for(_impl, "add_termination_listener");
  listener_id id = s.next_id();
  s.terminations.add(id, std::move(fn));
  return id;
}

bool connection::remove_termination_listener(listener_id id) noexcept {
  return _impl && _impl->session && _impl->session->terminations.remove(id);
}

} // namespace uvpg
