// Conninfo parsing, password masking and the host plan.
//
// libpq parses both forms (keywords and URIs) in PQconninfoParse, which
// does no I/O.  We need the parsed form for two things libpq's
// non-blocking connect does not do: resolving host names off the loop
// (libpq would call getaddrinfo inside PQconnectPoll) and enforcing a
// timeout per attempt (libpq ignores connect_timeout in async mode).
#include "config.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>

#include <libpq-fe.h>

#include "conninfo.hh"

namespace uvpg::detail {

const std::string *conninfo::find(std::string_view key) const noexcept {
  for (const auto &p : params) {
    if (p.key == key) {
      return &p.value;
    }
  }
  return nullptr;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The password-like parts of a conninfo that failed to parse.  libpq's
// parse errors quote the offending token, which may be (part of) the
// password: "missing \"=\" after \"def\"" for password=abc def, or the
// whole URI for an unterminated IPv6 address.
std::vector<std::string> secrets_in(std::string_view t) {
  std::vector<std::string> out;
  // Anything like a URI, also after a blank (which makes libpq read
  // keywords and quote the URI in its error).
  bool uri = t.find("://") != t.npos;
  // Keyword form: every token after password= up to the next key=.
  for (size_t at = t.find("password"); at != t.npos;
       at = t.find("password", at + 1)) {
    size_t i = at + 8;
    while (i < t.size() && is_space(t[i])) {
      ++i;
    }
    if (i >= t.size() || t[i] != '=') {
      continue;
    }
    ++i;
    while (i < t.size() && is_space(t[i])) {
      ++i;
    }
    size_t end = i;
    while (end < t.size()) {
      size_t tok = end;
      while (end < t.size() && !is_space(t[end])) {
        ++end;
      }
      std::string_view token = t.substr(tok, end - tok);
      if (tok > i && token.find('=') != token.npos) {
        break; // the next keyword
      }
      for (std::string_view part : {token, token.substr(token[0] == '\'')}) {
        if (!part.empty() && part != "'") {
          out.emplace_back(part);
        }
      }
      while (end < t.size() && is_space(t[end])) {
        ++end;
      }
    }
    // URI query form: password=...&  (in a URI only: in keywords an '&'
    // is part of the value, and a cut there can be one character that
    // would mask every copy of it; found by fuzz/conninfo)
    if (uri) {
      std::string_view q = t.substr(i);
      out.emplace_back(q.substr(0, q.find_first_of("& \t")));
    }
  }
  // URI form: scheme://user:password@host
  size_t scheme = t.find("://");
  if (uri) {
    std::string_view rest = t.substr(scheme + 3);
    std::string_view auth = rest.substr(0, rest.find_first_of("/?"));
    size_t atsign = auth.rfind('@');
    if (atsign != auth.npos) {
      std::string_view user = auth.substr(0, atsign);
      size_t colon = user.find(':');
      if (colon != user.npos && colon + 1 < user.size()) {
        out.emplace_back(user.substr(colon + 1));
      }
    }
    // And as libpq reads it: up to the first '@' before any '/', so the
    // password may hold a '?' (found by fuzz/conninfo).
    size_t end = rest.find_first_of("@/");
    if (end != rest.npos && rest[end] == '@') {
      std::string_view user = rest.substr(0, end);
      size_t colon = user.find(':');
      if (colon != user.npos && colon + 1 < user.size()) {
        out.emplace_back(user.substr(colon + 1));
      }
    }
  }
  return out;
}

} // namespace

std::string scrub_secrets(std::string msg, std::string_view conninfo_text) {
  auto secrets = secrets_in(conninfo_text);
  // Each once (a hostile string can repeat password= thousands of
  // times; found by fuzz/core).
  std::sort(secrets.begin(), secrets.end());
  secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
  // What to mask is marked on libpq's message as it is, then each run
  // of marks becomes one "********": one mask cannot hide what the
  // next must find (found by fuzz/conninfo).
  std::vector<bool> mark(msg.size());
  for (const auto &sec : secrets) {
    // One character says next to nothing, and masking every '"' or 'a'
    // would leave libpq's message unreadable.
    if (sec.size() < 2) {
      continue;
    }
    for (size_t at = msg.find(sec); at != msg.npos;
         at = msg.find(sec, at + 1)) {
      std::fill(mark.begin() + at, mark.begin() + at + sec.size(), true);
    }
  }
  // libpq quotes the token it stopped at, which can be the tail of a
  // password it read shorter than written: password='ab'cd9 gives
  // missing "=" after "cd9".  So every quoted piece that is part of a
  // secret, save libpq's own "=", "]", ":" and "/".
  for (size_t open = msg.find('"'); open != msg.npos;) {
    size_t close = msg.find('"', open + 1);
    if (close == msg.npos) {
      break;
    }
    std::string_view piece(msg.data() + open + 1, close - open - 1);
    bool literal = piece.size() == 1 &&
                   std::string_view("=]:/").find(piece[0]) != piece.npos;
    if (!piece.empty() && !literal &&
        std::any_of(secrets.begin(), secrets.end(), [&](const auto &sec) {
          return sec.find(piece) != sec.npos;
        })) {
      std::fill(mark.begin() + open + 1, mark.begin() + close, true);
    }
    open = close;
  }
  std::string out;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (!mark[i]) {
      out += msg[i];
    } else if (i == 0 || !mark[i - 1]) {
      out += "********";
    }
  }
  return out;
}

std::optional<conninfo> parse_conninfo(const char *text, std::string &err) {
  char *msg = nullptr;
  PQconninfoOption *opts = PQconninfoParse(text ? text : "", &msg);
  if (!opts) {
    err = msg ? scrub_secrets(msg, text ? text : "")
              : "out of memory parsing the connection string";
    while (!err.empty() && err.back() == '\n') {
      err.pop_back();
    }
    PQfreemem(msg);
    return std::nullopt;
  }
  conninfo ci;
  for (PQconninfoOption *o = opts; o->keyword; ++o) {
    if (o->val && *o->val) {
      ci.params.push_back({o->keyword, o->val,
                           o->dispchar && o->dispchar[0] == '*'});
    }
  }
  PQconninfoFree(opts);
  return ci;
}

std::string masked_dsn(const conninfo &ci) {
  std::string out;
  for (const auto &p : ci.params) {
    if (!out.empty()) {
      out += ' ';
    }
    out += p.key;
    out += '=';
    if (p.secret) {
      out += "********";
      continue;
    }
    // Quote as libpq's keyword syntax wants: '' around values with
    // spaces or quotes, backslash before ' and \.
    // Every blank libpq skips (isspace: \r, \f and \v too, found by
    // fuzz/conninfo).
    bool quote = p.value.empty() ||
                 p.value.find_first_of(" \t\n\r\f\v'\\") != std::string::npos;
    if (quote) {
      out += '\'';
    }
    for (char ch : p.value) {
      if (ch == '\'' || ch == '\\') {
        out += '\\';
      }
      out += ch;
    }
    if (quote) {
      out += '\'';
    }
  }
  return out;
}

namespace {

std::vector<std::string> split_commas(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) {
      return out;
    }
    start = comma + 1;
  }
}

std::string param_or_env(const conninfo &ci, const char *key,
                         const char *env) {
  if (const std::string *v = ci.find(key)) {
    return *v;
  }
  const char *e = std::getenv(env);
  return e ? e : "";
}

} // namespace

namespace {

std::string trim(std::string_view v) {
  size_t b = v.find_first_not_of(" \t\r");
  size_t e = v.find_last_not_of(" \t\r");
  return b == v.npos ? "" : std::string(v.substr(b, e - b + 1));
}

// Looks `name` up in one pg_service.conf; false when the file or the
// section is missing.  Keys already in `ci` win over the file's.
bool read_service(const std::string &path, const std::string &name,
                  conninfo &ci) {
  std::ifstream in(path);
  if (!in) {
    return false;
  }
  bool found = false, inside = false;
  std::string line;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') {
      continue;
    }
    if (t[0] == '[') {
      if (found && inside) {
        break; // the section ended
      }
      inside = t == "[" + name + "]";
      found = found || inside;
      continue;
    }
    size_t eq = t.find('=');
    if (!inside || eq == std::string::npos) {
      continue;
    }
    std::string key = trim(std::string_view(t).substr(0, eq));
    if (!ci.find(key)) {
      ci.params.push_back({key, trim(std::string_view(t).substr(eq + 1)),
                           key == "password" || key == "sslpassword"});
    }
  }
  return found;
}

// libpq's check of one port of a list, in its words: an integer from 1
// to 65535 with spaces around it, or empty for the default.  libpq
// would only say so while connecting, as a failed attempt.
bool valid_port(const std::string &port, std::string &err) {
  size_t begin = 0;
  size_t end = port.size();
  while (begin < end && is_space(port[begin])) {
    ++begin;
  }
  while (end > begin && is_space(port[end - 1])) {
    --end;
  }
  if (begin == end && !port.empty()) {
    // Blanks only: libpq fails it, so must we, with a message (found
    // by fuzz/conninfo).
    err = "invalid integer value \"" + port +
          "\" for connection option \"port\"";
    return false;
  }
  if (begin == end) {
    return true;
  }
  long value = 0;
  for (size_t i = begin; i < end; ++i) {
    if (port[i] < '0' || port[i] > '9' || value > 65535) {
      err = "invalid integer value \"" + port +
            "\" for connection option \"port\"";
      return false;
    }
    value = value * 10 + (port[i] - '0');
  }
  if (value < 1 || value > 65535) {
    err = "invalid port number: \"" + port + "\"";
    return false;
  }
  return true;
}

} // namespace

bool expand_service(conninfo &ci, std::string &err) {
  std::string name = param_or_env(ci, "service", "PGSERVICE");
  if (name.empty()) {
    return true;
  }
  // libpq's order: the user's file, then the system one.
  std::string user_file;
  if (const char *f = std::getenv("PGSERVICEFILE")) {
    user_file = f;
  } else if (const char *home = std::getenv("HOME")) {
    user_file = std::string(home) + "/.pg_service.conf";
  }
  const char *sysconf = std::getenv("PGSYSCONFDIR");
  std::string sys_file =
      std::string(sysconf ? sysconf : UVPG_PG_SYSCONFDIR) + "/pg_service.conf";
  if (!read_service(user_file, name, ci) &&
      !read_service(sys_file, name, ci)) {
    err = "definition of service \"" + name + "\" not found";
    return false;
  }
  // libpq must not read the file again and take its hosts itself.
  std::erase_if(ci.params, [](const conn_param &p) {
    return p.key == "service";
  });
  return true;
}

bool host_spec::needs_dns() const noexcept {
  // Empty hosts, socket directories (/...) and abstract sockets (@...) go
  // to libpq as they are; so do hosts with a numeric hostaddr.
  return hostaddr.empty() && !host.empty() && host[0] != '/' &&
         host[0] != '@';
}

std::vector<host_spec> plan_hosts(const conninfo &ci, std::string &err) {
  std::string host = param_or_env(ci, "host", "PGHOST");
  std::string hostaddr = param_or_env(ci, "hostaddr", "PGHOSTADDR");
  std::string port = param_or_env(ci, "port", "PGPORT");

  std::vector<std::string> hosts = split_commas(host);
  std::vector<std::string> addrs = split_commas(hostaddr);
  std::vector<std::string> ports = split_commas(port);
  size_t n = std::max(host.empty() ? 0 : hosts.size(),
                      hostaddr.empty() ? 0 : addrs.size());
  if (n == 0) {
    n = 1; // libpq's default: the local socket directory
  }
  if (!host.empty() && hosts.size() != n) {
    err = "could not match " + std::to_string(hosts.size()) +
          " host names to " + std::to_string(n) + " hostaddr values";
    return {};
  }
  if (!hostaddr.empty() && addrs.size() != n) {
    err = "could not match " + std::to_string(addrs.size()) +
          " hostaddr values to " + std::to_string(n) + " host names";
    return {};
  }
  if (ports.size() != 1 && ports.size() != n) {
    err = "could not match " + std::to_string(ports.size()) +
          " port numbers to " + std::to_string(n) + " hosts";
    return {};
  }
  for (const std::string &p : ports) {
    if (!valid_port(p, err)) {
      return {};
    }
  }
  std::vector<host_spec> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].host = host.empty() ? "" : hosts[i];
    out[i].hostaddr = hostaddr.empty() ? "" : addrs[i];
    out[i].port = ports.size() == 1 ? ports[0] : ports[i];
  }
  return out;
}

std::chrono::milliseconds attempt_timeout(const conninfo &ci) {
  std::string v = param_or_env(ci, "connect_timeout", "PGCONNECT_TIMEOUT");
  long secs = std::strtol(v.c_str(), nullptr, 10);
  if (secs <= 0) {
    return std::chrono::milliseconds(0);
  }
  // libpq refuses more than INT_MAX; no overflow in milliseconds before
  // it does (found by fuzz/conninfo).
  secs = std::min<long>(secs, INT_MAX);
  return std::chrono::seconds(secs < 2 ? 2 : secs);
}

} // namespace uvpg::detail
