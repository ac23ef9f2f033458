// Notices: kept per connection (the last 50) and handed to the notice
// handlers from the loop.
//
// libpq calls the notice receiver from inside PQconsumeInput or
// PQgetResult, which run inside the engine and may run inside a call of
// the program's: the receiver (conn_impl::notice_receiver, conn.cc)
// copies the fields here and queues an event callout; the handlers run
// when the outermost loop entry ends (uvpg(7), rule 2).  The PGresult
// libpq passes is freed as soon as the receiver returns, so nothing of
// it is kept.
#include "engine/engine.hh"
#include "session_state.hh"

namespace uvpg::detail {

namespace {

// Every diagnostic field a notice may carry (libpq's PG_DIAG_*).
constexpr char field_codes[] = {'S', 'V', 'C', 'M', 'D', 'H', 'P', 'p', 'q',
                                'W', 's', 't', 'c', 'd', 'n', 'F', 'L', 'R'};

} // namespace

session_state &session_of(conn_impl *c) {
  if (!c->session) {
    c->session = std::make_shared<session_state>();
  }
  return *c->session;
}

session_state &session_for(conn_impl *c, const char *what) {
  if (!c) {
    throw usage_error(std::string("connection::") + what +
                      " on a closed connection");
  }
  return session_of(c);
}

namespace {
void keep_notice(conn_impl *c, std::map<char, std::string> fields,
                 std::string message) {
  session_state &s = session_of(c);
  s.kept.emplace_back(std::move(fields), std::move(message));
  if (s.kept.size() > max_kept_notices) {
    s.kept.pop_front();
  }
  if (s.notice_handlers.empty() && !s.c_notice.cb) {
    return;
  }
  // The handlers are those present when it is delivered.
  c->events.emplace_back([c, n = s.kept.back()] {
    session_state &s = session_of(c);
    s.notice_handlers.call(static_cast<const notice &>(n));
    if (uvpg_notice_cb cb = s.c_notice.cb) {
      cb(c_handle(c), 0, &n, s.c_notice.data);
    }
  });
  c->post(conn_impl::callout::kind::event, nullptr);
}
} // namespace

void session_notice(conn_impl *c, const PGresult *res) {
  std::map<char, std::string> fields;
  for (char code : field_codes) {
    if (const char *v = PQresultErrorField(res, code)) {
      fields.emplace(code, v);
    }
  }
  keep_notice(c, std::move(fields), PQresultErrorMessage(res));
}

void client_notice(conn_impl *c, const std::string &message) {
  std::map<char, std::string> fields{{'S', "WARNING"}, {'V', "WARNING"},
                                     {'C', "01000"}, {'M', message}};
  keep_notice(c, std::move(fields), "WARNING:  " + message + "\n");
}

} // namespace uvpg::detail

namespace uvpg {

std::vector<notice> connection::notices() const {
  if (!_impl || !_impl->session) {
    return {};
  }
  const auto &kept = _impl->session->kept;
  return std::vector<notice>(kept.begin(), kept.end());
}

listener_id connection::add_notice_handler(notice_handler fn) {
  auto &s = detail::session_for(_impl, "add_notice_handler");
  listener_id id = s.next_id();
  s.notice_handlers.add(id, std::move(fn));
  return id;
}

bool connection::remove_notice_handler(listener_id id) noexcept {
  return _impl && _impl->session && _impl->session->notice_handlers.remove(id);
}

} // namespace uvpg
