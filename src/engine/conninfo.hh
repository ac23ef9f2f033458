// engine/conninfo.cc: the conninfo parsed, masked and planned into the
// list of connection attempts.
#ifndef UVPG_ENGINE_CONNINFO_HH
#define UVPG_ENGINE_CONNINFO_HH

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>


namespace uvpg::detail {

/// One keyword=value pair of a parsed conninfo.
struct conn_param {
  std::string key;
  std::string value;
  bool secret = false; // libpq marks it for hiding (password, sslpassword)
};

/// The parsed conninfo: what libpq's parser accepted, minus empty values.
struct conninfo {
  std::vector<conn_param> params;
  const std::string *find(std::string_view key) const noexcept;
};

/// Parses a keyword string or URI with PQconninfoParse.  On failure
/// returns nullopt and sets `err` to libpq's message.
std::optional<conninfo> parse_conninfo(const char *text, std::string &err);

/// Replaces every password-like part of `conninfo_text` found in `msg`
/// (a PQconninfoParse error), and every "quoted" piece of one.
std::string scrub_secrets(std::string msg, std::string_view conninfo_text);

/// The conninfo in keyword form with the password masked.
std::string masked_dsn(const conninfo &ci);

/// One host of a multi-host conninfo, before name resolution.
struct host_spec {
  std::string host;     // name, IP literal, socket directory, or empty
  std::string hostaddr; // numeric address given by the user, or empty
  std::string port;     // empty: libpq's default
  /// True when `host` must be resolved before libpq sees it.
  bool needs_dns() const noexcept;
};

/// Merges the pg_service.conf section named by service= / PGSERVICE into
/// `ci` (keys in `ci` win), so hosts are known before libpq runs and
/// resolved off the loop.  Sets `err` when the service is not defined.
bool expand_service(conninfo &ci, std::string &err);

/// The hosts to try in order, from the conninfo or the PG* environment.
/// Sets `err` and returns an empty list when the lists disagree in length.
std::vector<host_spec> plan_hosts(const conninfo &ci, std::string &err);

/// The per-attempt timeout from connect_timeout / PGCONNECT_TIMEOUT, 0 if
/// none (libpq raises values below 2 s to 2 s, and so do we).
std::chrono::milliseconds attempt_timeout(const conninfo &ci);

} // namespace uvpg::detail

#endif // UVPG_ENGINE_CONNINFO_HH
