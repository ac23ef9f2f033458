/// \file uvpg/notify.hh
/// LISTEN/NOTIFY: notifications from other sessions (aiopg's
/// `conn.notifies`, psycopg's add_notify_handler, asyncpg's add_listener).
///
/// A session receives the notifications of the channels it listens to
/// (connection::listen()) once the transaction that sent them commits.
/// uvpg takes each one as soon as it arrives, whether the connection is
/// idle or busy with statements, and hands it, from the loop and never
/// inside a uvpg call, to every consumer the program has on that
/// connection, in arrival order:
///
///  - each handler added with connection::add_notify_handler(), in the
///    order added (and the C callback of uvpg_conn_notify_start(3));
///  - the connection's queue, read through connection::notifies(): the
///    oldest caller of notify_queue::get() still waiting gets it, or the
///    queue keeps it for the next get() or try_get().
///
/// What is kept.  The queue keeps notifications only once the program
/// called connection::notifies() on the connection (a program that only
/// uses handlers keeps nothing), and at most max_queued_notifications of
/// them: while it is full, newly arrived notifications are not kept
/// (handlers still get them) and notify_queue::dropped() counts them.
/// A notification that arrives while the connection has no handler, no
/// C callback and no queue is dropped.  A get() whose future the program
/// dropped before it was fulfilled takes no notification.
///
/// When the connection is lost (the server ended the session, the
/// socket failed), every pending get() fails with status UVPG_ECONNBAD,
/// from the loop, after the callbacks of the statements the loss failed:
/// a uvpg::connection_lost, or the class of the server's reason when it
/// gave one (uvpg::errors::admin_shutdown for pg_terminate_backend(),
/// SQLSTATE 57P01); both are uvpg::operational_error.  Notifications
/// that arrived before the loss and were still queued stay: try_get()
/// and get() return them, then get() fails at once with that error.
/// A reconnecting program should LISTEN again on a new connection and
/// resynchronise: what was sent meanwhile is lost.
///
/// When the program closes the connection, pending get() calls fail
/// with uvpg::connection_closed (UV_ECANCELED) before the close
/// completes, the queue is emptied, and later get() calls fail at once
/// with uvpg::connection_closed (UVPG_ECLOSED).  A notification not yet
/// delivered when the close was asked for is dropped.
///
/// Pooled connections.  Handlers, the queue and the LISTENs belong to
/// the lease: when the connection goes back to its pool the handlers and
/// the queue go (pending get() calls fail with uvpg::connection_closed,
/// UV_ECANCELED), and the pool's session reset runs UNLISTEN *, so the
/// next lease hears nothing of this one's channels.  (A pool with
/// pool_reset::transaction_only runs no reset: its connections keep
/// their LISTENs, and their notifications are dropped while nobody
/// listens.)  A listener that must stay up belongs on a connection of
/// its own.
///
/// Everything here runs on the thread of the connection's loop.
#ifndef UVPG_NOTIFY_HH
#define UVPG_NOTIFY_HH

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "uvpg/future.hh"

namespace uvpg {

namespace detail {
struct notify_state;
}

/// One notification (PostgreSQL's NotificationResponse).
struct notification {
  /// The channel it was sent on, exactly as named (case kept).
  std::string channel;
  /// The payload: empty when none was given; at most 7999 bytes.
  std::string payload;
  /// The server process of the session that sent it (the receiving
  /// connection's own backend_pid() for one it sent itself).
  int pid = 0;
};

/// Called from the loop with each notification.  An exception it throws
/// is caught and dropped.
using notify_handler = std::function<void(const notification &)>;

/// How many notifications a connection's queue keeps for get() and
/// try_get(); while it is full, new ones are counted in dropped().
constexpr std::size_t max_queued_notifications = 100000;

/// A view of a connection's notification queue (aiopg's conn.notifies),
/// from connection::notifies().  Copies view the same queue.  A view may
/// outlive the connection's handle: once the connection is closed (or
/// back in its pool) its get() fails at once.
class UVPG_CXX_EXTERN notify_queue {
public:
  notify_queue() noexcept = default;
  explicit notify_queue(std::shared_ptr<detail::notify_state> s) noexcept;

  /// The next notification in arrival order: a queued one at once, else
  /// the next to arrive.  Several callers waiting are served in the
  /// order they called.  Fails with the connection's loss or close (see
  /// above); never times out on its own.
  /// \throws usage_error on a default-constructed view.
  future<notification> get();
  /// The oldest queued notification, if any, without waiting.
  std::optional<notification> try_get();
  /// How many notifications are queued.
  std::size_t size() const noexcept;
  /// How many were not kept because the queue was full.
  std::uint64_t dropped() const noexcept;

private:
  std::shared_ptr<detail::notify_state> _s;
};

} // namespace uvpg

#endif // UVPG_NOTIFY_HH
