// The non-blocking connect.
//
// libpq's PQconnectPoll would block the loop on DNS (getaddrinfo inside
// libpq) and ignores connect_timeout, so uvpg splits the work:
//
//   for each host of the conninfo (and, for prefer-standby, a second pass)
//     resolve the name with uv_getaddrinfo (in libuv's thread pool)
//     for each address it resolved to
//       PQconnectStartParams with host=name hostaddr=address port=port,
//       driven by PQconnectPoll from the socket's uv_poll_t, bounded by a
//       uv_timer_t (connect_timeout per attempt, opts.timeout overall)
//
// The name still goes to libpq as `host`, so TLS verification and
// .pgpass lookups see the name, not the address.  Each failed attempt's
// message is kept; the final error lists them all, as libpq does.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <netdb.h>

#include "engine.hh"

namespace uvpg::detail {
namespace {

// Scrubs libpq's verbose decoration from a connect error: it pulls the
// SQLSTATE out of "FATAL:  28P01: ..." and drops LOCATION lines.  Into
// `fields` (when given) go the server's fields that the text carries:
// severity, SQLSTATE, primary message, and the DETAIL, HINT, CONTEXT
// and LOCATION lines that follow (libpq's English labels only: a
// translated label leaves its line in the message alone).
std::string strip_verbose(const std::string &msg, std::string &sqlstate,
                          std::map<char, std::string> *fields) {
  static const struct {
    const char *label;
    char code;
  } labels[] = {{"DETAIL:  ", 'D'},      {"HINT:  ", 'H'},
                {"CONTEXT:  ", 'W'},     {"SCHEMA NAME:  ", 's'},
                {"TABLE NAME:  ", 't'},  {"COLUMN NAME:  ", 'c'},
                {"DATATYPE NAME:  ", 'd'}, {"CONSTRAINT NAME:  ", 'n'}};
  std::string out;
  bool in_message = false; // past the line with the SQLSTATE
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t nl = msg.find('\n', pos);
    std::string line = msg.substr(pos, nl == std::string::npos
                                           ? std::string::npos
                                           : nl - pos);
    pos = nl == std::string::npos ? msg.size() : nl + 1;
    if (line.rfind("LOCATION:", 0) == 0) {
      // "LOCATION:  function, file:line"
      if (fields && in_message) {
        std::string where = line.substr(std::min(line.size(), size_t(11)));
        size_t comma = where.find(", ");
        size_t colon = where.rfind(':');
        if (comma != std::string::npos && colon != std::string::npos &&
            colon > comma) {
          (*fields)['R'] = where.substr(0, comma);
          (*fields)['F'] = where.substr(comma + 2, colon - comma - 2);
          (*fields)['L'] = where.substr(colon + 1);
        }
      }
      continue;
    }
    if (fields && in_message) {
      for (const auto &l : labels) {
        if (line.rfind(l.label, 0) == 0) {
          (*fields)[l.code] = line.substr(std::strlen(l.label));
        }
      }
    }
    // Verbose form: "<severity>:  <SQLSTATE>: <message>".  The severity
    // word may be translated, so look for the shape, not the word.
    for (size_t at = line.find(":  "); at != std::string::npos;
         at = line.find(":  ", at + 1)) {
      size_t code = at + 3;
      bool is_state = line.size() >= code + 7 && line[code + 5] == ':' &&
                      line[code + 6] == ' ';
      for (size_t k = 0; is_state && k < 5; ++k) {
        char ch = line[code + k];
        is_state = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z');
      }
      if (is_state) {
        if (sqlstate.empty()) {
          sqlstate = line.substr(code, 5);
          if (fields) {
            size_t word = line.rfind(' ', at);
            word = word == std::string::npos ? 0 : word + 1;
            fields->clear();
            (*fields)['S'] = line.substr(word, at - word);
            (*fields)['C'] = sqlstate;
            (*fields)['M'] = line.substr(code + 7);
            in_message = true;
          }
        }
        line.erase(code, 7);
        break;
      }
    }
    out += line;
    out += '\n';
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

// libpq names a server by the hostaddr it was given ("connection to
// server at \"127.0.0.1\", port 5432 failed: ..."); uvpg resolved a name
// the program wrote, so each attempt's message names it beside the
// address, as libpq's own does when it resolves the name itself:
// "connection to server at \"localhost\" (127.0.0.1), port ...".  A
// translated message is left as it is.
std::string name_the_host(std::string msg, const host_spec &h,
                          const std::string &addr) {
  if (!h.needs_dns() || h.host == addr) {
    return msg;
  }
  const std::string from = "connection to server at \"" + addr + "\", port";
  const std::string to =
      "connection to server at \"" + h.host + "\" (" + addr + "), port";
  for (size_t at = msg.find(from); at != std::string::npos;
       at = msg.find(from, at + to.size())) {
    msg.replace(at, from.size(), to);
  }
  return msg;
}

} // namespace

int classify_connect_error(const std::string &msg, std::string &sqlstate,
                           std::string &clean,
                           std::map<char, std::string> *fields) {
  if (fields) {
    fields->clear();
  }
  clean = strip_verbose(msg, sqlstate, fields);
  if (!sqlstate.empty()) {
    return UVPG_ESERVER;
  }
  // libpq words socket errors with strerror() in this process's locale,
  // so comparing with our own strerror() text is locale-proof.
  static const struct {
    int sys, uv;
  } errnos[] = {
      {ECONNREFUSED, UV_ECONNREFUSED}, {ENOENT, UV_ENOENT},
      {EHOSTUNREACH, UV_EHOSTUNREACH}, {ENETUNREACH, UV_ENETUNREACH},
      {ETIMEDOUT, UV_ETIMEDOUT},       {ECONNRESET, UV_ECONNRESET},
      {EACCES, UV_EACCES},             {EADDRNOTAVAIL, UV_EADDRNOTAVAIL},
  };
  for (const auto &e : errnos) {
    if (clean.find(std::strerror(e.sys)) != std::string::npos) {
      return e.uv;
    }
  }
  return UVPG_ECONNBAD;
}

namespace {

// The bootstrap query's list of user types: "oid base array text" per
// type, space-separated (see connected()).
void read_user_types(const char *list,
                     std::unordered_map<oid_t, type_context::user_type> &out) {
  out.clear();
  const char *p = list;
  for (;;) {
    char *end;
    unsigned long v[4];
    int n = 0;
    for (; n < 4; ++n) {
      v[n] = std::strtoul(p, &end, 10);
      if (end == p) {
        break;
      }
      p = end;
    }
    if (n < 4) {
      return;
    }
    type_context::user_type &t = out[static_cast<oid_t>(v[0])];
    t.base = static_cast<oid_t>(v[1]);
    t.text_binary = v[3] != 0;
    if (v[2] != 0) {
      out[static_cast<oid_t>(v[2])].element = static_cast<oid_t>(v[0]);
    }
  }
}

} // namespace

void conn_impl::start(const char *conninfo_text) {
  std::string err;
  auto parsed = parse_conninfo(conninfo_text, err);
  if (parsed) {
    info = std::move(*parsed);
    dsn = masked_dsn(info);
    if (expand_service(info, err)) {
      hosts = plan_hosts(info, err);
    }
  }
  if (!parsed || hosts.empty()) {
    set_error(err);
    last_status = UV_EINVAL;
    later([this] { finish_connect(UV_EINVAL); });
    return;
  }
  if (const std::string *v = info.find("target_session_attrs")) {
    tsa = *v;
  } else if (const char *e = std::getenv("PGTARGETSESSIONATTRS")) {
    tsa = e;
  }
  per_attempt = attempt_timeout(info);
  uv_update_time(loop);
  if (opts.timeout.count() > 0) {
    deadline = uv_now(loop) + static_cast<uint64_t>(opts.timeout.count());
  }
  // Start from the loop: every failure must reach the callback from
  // there, never from inside uvpg_connect().
  later([this] {
    if (deadline) {
      arm_timer(deadline - std::min(deadline, uv_now(loop)));
    }
    next_host();
  });
}

void conn_impl::next_host() {
  if (host_index == hosts.size()) {
    if (tsa == "prefer-standby" && pass == 0) {
      pass = 1; // no standby answered: take any server
      host_index = 0;
    } else {
      finish_connect(last_status ? last_status : UVPG_ECONNBAD);
      return;
    }
  }
  const host_spec &h = hosts[host_index];
  addrs.clear();
  addr_index = 0;
  if (!h.needs_dns()) {
    addrs.push_back(h.hostaddr);
    next_attempt();
    return;
  }
  st = state::resolving;
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  resolver.data = this;
  int rc = uv_getaddrinfo(
      loop, &resolver,
      [](uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
        auto *c = static_cast<conn_impl *>(req->data);
        c->resolver_busy = false;
        if (c->st != state::resolving) {
          // Closed or timed out meanwhile; the request was only waited for.
          uv_freeaddrinfo(res);
          c->handle_closed();
          return;
        }
        entry_scope entry(c);
        c->resolved(status, res);
      },
      h.host.c_str(), nullptr, &hints);
  if (rc < 0) {
    attempt_failed(rc, "could not translate host name \"" + h.host +
                           "\" to address: " + uv_strerror(rc));
    return;
  }
  resolver_busy = true;
  ++open_handles;
}

void conn_impl::resolved(int status, struct addrinfo *res) {
  --open_handles;
  if (status < 0) {
    attempt_failed(status, "could not translate host name \"" +
                               hosts[host_index].host +
                               "\" to address: " + uv_strerror(status));
    return;
  }
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    char name[64] = "";
    if (ai->ai_family == AF_INET) {
      uv_ip4_name(reinterpret_cast<sockaddr_in *>(ai->ai_addr), name,
                  sizeof name);
    } else if (ai->ai_family == AF_INET6) {
      uv_ip6_name(reinterpret_cast<sockaddr_in6 *>(ai->ai_addr), name,
                  sizeof name);
    }
    if (*name &&
        std::find(addrs.begin(), addrs.end(), name) == addrs.end()) {
      addrs.push_back(name);
    }
  }
  uv_freeaddrinfo(res);
  next_attempt();
}

void conn_impl::next_attempt() {
  if (addr_index == addrs.size()) {
    ++host_index;
    next_host();
    return;
  }
  start_attempt(addrs[addr_index++]);
}

void conn_impl::start_attempt(const std::string &hostaddr) {
  const host_spec &h = hosts[host_index];
  std::vector<const char *> keys;
  std::vector<const char *> vals;
  for (const auto &p : info.params) {
    if (p.key != "host" && p.key != "hostaddr" && p.key != "port" &&
        p.key != "target_session_attrs") {
      keys.push_back(p.key.c_str());
      vals.push_back(p.value.c_str());
    }
  }
  auto add = [&](const char *k, const std::string &v) {
    if (!v.empty()) {
      keys.push_back(k);
      vals.push_back(v.c_str());
    }
  };
  add("host", h.host);
  add("hostaddr", hostaddr);
  add("port", h.port);
  std::string attrs = tsa;
  if (tsa == "prefer-standby") {
    attrs = pass == 0 ? "standby" : "any";
  }
  add("target_session_attrs", attrs);
  // `add` keeps c_str() pointers: every value must outlive the call
  // below, so no temporaries.
  // TCP keepalives on by default, so a peer that vanished without a
  // word (a crashed host, a NAT or firewall that forgot the flow) is
  // noticed while the connection idles: the first probe after 60 s of
  // silence, then every 10 s, given up after 6 unanswered, so about
  // 2 minutes instead of the kernel's 2 hours and more.  What the
  // conninfo (or its service) says wins: keepalives=0 turns them off.
  // libpq applies them to TCP sockets only.
  static const std::pair<const char *, std::string> keepalive[] = {
      {"keepalives", "1"},
      {"keepalives_idle", "60"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "6"},
  };
  for (const auto &[key, value] : keepalive) {
    if (!info.find(key)) {
      add(key, value);
    }
  }
  static const std::string app_name = "uvpg";
  if (!info.find("application_name")) {
    add("fallback_application_name", app_name);
  }
  keys.push_back(nullptr);
  vals.push_back(nullptr);

  st = state::connecting;
  pg = PQconnectStartParams(keys.data(), vals.data(), 0);
  if (!pg) {
    set_error("out of memory");
    finish_connect(UV_ENOMEM);
    return;
  }
  // From the start: libpq's default processor prints notices to stderr.
  PQsetNoticeReceiver(pg, notice_receiver, this);
  if (PQstatus(pg) == CONNECTION_BAD) {
    std::string sqlstate, clean;
    int status = classify_connect_error(
        name_the_host(PQerrorMessage(pg), h, hostaddr), sqlstate, clean,
        &connect_fields);
    attempt_failed(status, clean, sqlstate);
    return;
  }
  // Verbose errors carry the SQLSTATE of a refusal (28P01, 3D000, 53300)
  // that libpq 15 has no other way to report for a connect.
  PQsetErrorVerbosity(pg, PQERRORS_VERBOSE);

  uint64_t ms = per_attempt.count();
  if (deadline) {
    uint64_t left = deadline - std::min(deadline, uv_now(loop));
    ms = ms ? std::min(ms, left) : left;
  }
  if (ms) {
    arm_timer(ms);
  }
  // libpq's docs: before the first PQconnectPoll, act as if it had
  // returned PGRES_POLLING_WRITING.
  watch(UV_WRITABLE);
  if (!poll) {
    poll_connect();
  }
}

void conn_impl::poll_connect() {
  switch (PQconnectPoll(pg)) {
  case PGRES_POLLING_READING:
    watch(UV_READABLE);
    break;
  case PGRES_POLLING_WRITING:
    watch(UV_WRITABLE);
    break;
  case PGRES_POLLING_OK:
    connected();
    break;
  default: {
    std::string sqlstate, clean;
    int status = classify_connect_error(
        name_the_host(PQerrorMessage(pg), hosts[host_index],
                      addrs[addr_index - 1]),
        sqlstate, clean, &connect_fields);
    attempt_failed(status, clean, sqlstate);
    break;
  }
  }
}

void conn_impl::attempt_failed(int status, std::string msg,
                               std::string sqlstate) {
  // The final error is the last attempt's: its SQLSTATE goes with it.
  error_sqlstate = std::move(sqlstate);
  disarm_timer();
  unwatch();
  if (pg) {
    PQfinish(std::exchange(pg, nullptr));
  }
  while (!msg.empty() && msg.back() == '\n') {
    msg.pop_back();
  }
  if (!attempt_errors.empty()) {
    attempt_errors += '\n';
  }
  attempt_errors += msg;
  last_status = status;
  // As libpq does: a server that was reached but refused the credentials
  // (class 28) ends the connect; other hosts are not tried with them.
  if (status == UV_ENOMEM || error_sqlstate.rfind("28", 0) == 0) {
    finish_connect(status);
    return;
  }
  if (deadline) {
    if (uv_now(loop) >= deadline) {
      finish_connect(UV_ETIMEDOUT);
      return;
    }
    arm_timer(deadline - uv_now(loop));
  }
  next_attempt();
}

void conn_impl::connect_timed_out() {
  bool overall = deadline && uv_now(loop) >= deadline;
  if (st == state::connecting && !overall) {
    const host_spec &h = hosts[host_index];
    std::string where = h.host.empty() ? std::string("local socket")
                                       : "\"" + h.host + "\"";
    attempt_failed(UV_ETIMEDOUT,
                   "connection to server at " + where +
                       (h.port.empty() ? "" : ", port " + h.port) +
                       " failed: timeout expired after " +
                       std::to_string(per_attempt.count()) + " ms");
    return;
  }
  if (st != state::connecting && st != state::resolving &&
      !(st == state::ready && on_connect)) {
    return;
  }
  std::string msg = "timeout expired: could not connect within " +
                    std::to_string(opts.timeout.count()) + " ms";
  if (!attempt_errors.empty()) {
    attempt_errors += '\n';
  }
  attempt_errors += msg;
  finish_connect(UV_ETIMEDOUT);
}

void conn_impl::connected() {
  disarm_timer();
  if (deadline) {
    // The bootstrap query below is still bounded by the overall timeout.
    arm_timer(deadline - std::min(deadline, uv_now(loop)));
  }
  PQsetErrorVerbosity(pg, PQERRORS_DEFAULT);
  if (!attach_context(pg, types)) {
    lost("cannot register the libpq event procedure");
    finish_connect(UVPG_EINTERNAL);
    return;
  }
  if (PQsetnonblocking(pg, 1) != 0) {
    lost(PQerrorMessage(pg));
    finish_connect(UVPG_ECONNBAD);
    return;
  }
  st = state::ready;
  attempt_errors.clear();
  error_sqlstate.clear();
  connect_fields.clear();
  watch(UV_READABLE);

  // One round trip for what the session needs to know without asking:
  // its default isolation level, the OIDs of the hstore extension's
  // types (per database; absent when the extension is not installed,
  // and then hstore stays text, silently), the server version, and the
  // user types the typecasters resolve (type_context::user_types): per
  // type "oid base array text_binary", all on one line.
  struct bootstrap final : op {
    void complete(conn_impl *c, int status, PGresult *res) noexcept override {
      if (status >= 0 && res && PQntuples(res) == 1 && PQnfields(res) == 6) {
        c->isolation = PQgetvalue(res, 0, 0);
        c->types->hstore = std::strtoul(PQgetvalue(res, 0, 1), nullptr, 10);
        c->types->hstore_array =
            std::strtoul(PQgetvalue(res, 0, 2), nullptr, 10);
        c->types->server_version =
            static_cast<int>(std::strtol(PQgetvalue(res, 0, 3), nullptr, 10));
        read_user_types(PQgetvalue(res, 0, 4), c->types->user_types);
        // A pooler (PgBouncer, Odyssey, pgcat) hands the client a key of
        // its own: the process that runs the session is another.  In
        // transaction mode each transaction may run on another session,
        // where a prepared statement is missing and pipelined results
        // would come back from two sessions; so no cache, no pipeline.
        int pid = std::atoi(PQgetvalue(res, 0, 5));
        if (pid != PQbackendPID(c->pg)) {
          c->enter_pooler_mode(
              "uvpg: this connection runs through a connection pooler "
              "(the session's server process is " +
              std::to_string(pid) + ", the connection was given " +
              std::to_string(PQbackendPID(c->pg)) +
              "): its statement cache and pipelining are off, as a "
              "pooler in transaction mode needs");
        }
      }
      PQclear(res);
      if (c->on_connect) {
        // A server error here (a pooler that rejects SHOW) is not fatal.
        c->finish_connect(status == UVPG_ESERVER ? 0 : std::min(status, 0));
      }
    }
  };
  auto *b = new bootstrap;
  // The senders whose binary form is the value's text (enum_send is
  // every enum's; citext's send function is textsend under another
  // name, so prosrc is compared, not the name).
  static constexpr const char *user_types_sql =
      "current_setting('server_version_num'), "
      "(SELECT string_agg(concat_ws(' ', oid, typbasetype, typarray, "
      "tb::int), ' ') FROM (SELECT u.oid, u.typtype, u.typbasetype, "
      "u.typarray, COALESCE(p.prolang = 12 AND p.prosrc IN ('textsend', "
      "'varcharsend', 'bpcharsend', 'namesend', 'enum_send', 'json_send', "
      "'xml_send', 'unknownsend'), false) AS tb FROM pg_type u LEFT JOIN "
      "pg_proc p ON p.oid = u.typsend WHERE u.oid >= 16384) s "
      "WHERE typtype = 'd' OR tb)";
  b->sql = "SELECT current_setting('default_transaction_isolation'), ";
  b->sql += opts.enable_hstore ? "t.oid, t.typarray, " : "NULL, NULL, ";
  b->sql += user_types_sql;
  b->sql += ", pg_backend_pid()";
  if (opts.enable_hstore) {
    b->sql += " FROM (SELECT to_regtype('hstore') AS r) x LEFT JOIN pg_type "
              "t ON t.oid = x.r";
  }
  b->internal = true;
  submit(b);
}

void conn_impl::finish_connect(int status) {
  connect_waiter *w = std::exchange(on_connect, nullptr);
  if (!w) {
    return;
  }
  error_outcome_unknown = false; // the bootstrap's is no statement's
  disarm_timer();
  if (status < 0) {
    // resolved() sees the state and only releases the request.
    st = state::broken;
    if (resolver_busy) {
      uv_cancel(reinterpret_cast<uv_req_t *>(&resolver));
    }
    unwatch();
    if (pg) {
      PQfinish(std::exchange(pg, nullptr));
    }
    if (!attempt_errors.empty()) {
      set_error(attempt_errors, error_sqlstate);
    } else if (error_msg.empty()) {
      set_error(uvpg_strerror(status));
    }
    fail_all(UVPG_ECONNBAD);
  }
  dispatch(this, [&] { w->done(this, status); });
  delete w;
  pump(); // what the callback queued
}

} // namespace uvpg::detail
