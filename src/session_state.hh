// A connection's notices, notice handlers, query loggers and
// termination listeners (src/notice.cc, src/session.cc, and their C
// shim src/capi/session.cc).  The engine holds it as conn_impl::session,
// created when first needed; everything it calls runs from the loop as
// a callout of kind `event` (engine.hh).
#ifndef UVPG_SESSION_STATE_HH
#define UVPG_SESSION_STATE_HH

#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "uvpg.h"
#include "uvpg/notice.hh"
#include "uvpg/session.hh"

#include "engine/engine.hh"

/// The C handle of a notice is the C++ notice.
struct uvpg_notice_s final : uvpg::notice {
  using notice::notice;
};

namespace uvpg::detail {

/// Functions added to a connection, in the order added.  A call runs
/// over a snapshot, so a function may add or remove any (itself too).
template <class F> struct listeners {
  std::vector<std::pair<listener_id, std::shared_ptr<F>>> list;
  bool empty() const noexcept { return list.empty(); }
  void add(listener_id id, F fn) {
    list.emplace_back(id, std::make_shared<F>(std::move(fn)));
  }
  bool remove(listener_id id) noexcept {
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->first == id) {
        list.erase(it);
        return true;
      }
    }
    return false;
  }
  bool has(listener_id id) const noexcept {
    for (const auto &entry : list) {
      if (entry.first == id) {
        return true;
      }
    }
    return false;
  }
  /// Calls each with `arg`; an exception one throws is dropped.  Those
  /// added meanwhile wait for the next event; one removed meanwhile (by
  /// an earlier one) is not called, as its owner may have freed what it
  /// uses once remove() returned.
  template <class A> void call(const A &arg) const {
    auto snapshot = list;
    for (auto &[id, fn] : snapshot) {
      if (!has(id)) {
        continue;
      }
      try {
        (*fn)(arg);
      } catch (...) {
      }
    }
  }
};

/// One C callback and its data (NULL: none).
template <class Cb> struct c_slot {
  Cb cb = nullptr;
  void *data = nullptr;
};

struct session_state {
  listener_id last_id = 0;
  /// The last max_kept_notices notices, oldest first.
  std::deque<uvpg_notice_s> kept;
  listeners<notice_handler> notice_handlers;
  c_slot<uvpg_notice_cb> c_notice;
  listeners<query_logger> loggers;
  c_slot<uvpg_query_log_cb> c_logger;
  listeners<termination_listener> terminations;
  c_slot<uvpg_termination_cb> c_termination;

  listener_id next_id() noexcept { return ++last_id; }
  bool logging() const noexcept { return !loggers.empty() || c_logger.cb; }
};

/// The connection's session state, created on first use.
session_state &session_of(conn_impl *c);

/// The same for a C++ handle's method `what`: usage_error when closed.
session_state &session_for(conn_impl *c, const char *what);

/// Turns the timing of statements on or off with the loggers.
void update_query_logging(conn_impl *c);

/// The connection went back to its pool: the notices, handlers,
/// loggers and listeners of the lease go with it.
void end_lease_session(conn_impl *c) noexcept;

} // namespace uvpg::detail

#endif // UVPG_SESSION_STATE_HH
