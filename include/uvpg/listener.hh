/// \file uvpg/listener.hh
/// A LISTEN/NOTIFY listener that survives the loss of its connection.
///
/// A `uvpg::listener` owns one connection of its own (never one from a
/// pool: the pool's reset runs UNLISTEN *), LISTENs to a set of
/// channels, and hands the program, in the order they happened:
///
///  - `notification`: one NOTIFY on a channel of the set;
///  - `connected`: the listener is listening on every channel of the
///    set, on a new session (the first one, or after a loss);
///  - `disconnected`: the session was lost, or an attempt to open one
///    failed; `status` and `message` say why;
///  - `gap`: notifications may have been missed.  The one signal for
///    "you may have missed some": a program that keeps state derived
///    from notifications reads that state again from the database when
///    it sees a gap.  Everything notified after the gap reaches the
///    program (until the next gap).
///
/// What is silent and what is not:
///
///  - **Losses are never silent.**  When the session is lost (the
///    server ended it, the socket failed, or the heartbeat went
///    unanswered), a `disconnected` event is queued at once.  The
///    listener then reconnects on its own, after a pause that starts at
///    `reconnect_min` and doubles up to `reconnect_max` (each pause
///    drawn at random between half and all of it, so that many
///    listeners do not reconnect in step), LISTENs to every channel of
///    the set again, and queues `connected` followed by a `gap` whose
///    `away` is the time from the loss until it listened again.  Each
///    failed attempt queues a `disconnected` event of its own.
///  - **The first connect.**  `listener::create()` connects in the
///    background and treats a failed first attempt like a failed
///    reconnect: a `disconnected` event, and a retry after the pause.
///    `listener::connect()` is for programs that want to fail at once:
///    its future resolves once the listener listens, and fails with the
///    error of the first attempt (a wrong password, no such database,
///    no server) without retrying.  Once a first session worked, every
///    later loss is repaired in the background.  No gap follows the
///    first `connected`: nothing was being listened to before it.
///  - **A bounded queue.**  Events wait in a queue of at most
///    `max_queue` until the program takes them with next().  When it is
///    full, a new event (a notification, or a state change) is dropped
///    and folded into one `gap` event at the end of the queue (status
///    UV_ENOBUFS, `dropped` counting the notifications lost); the queue
///    may hold that one gap beyond `max_queue`.  Later drops while it is
///    still full fold into the same gap.  So a slow program loses
///    notifications, never memory, and is told where it lost them.
///  - **Half-open connections.**  Every `heartbeat_interval` while the
///    listener listens, it runs `SELECT 1` with a deadline of
///    `heartbeat_timeout`.  A heartbeat that gets no answer in time
///    means the session is treated as lost (status UV_ETIMEDOUT): the
///    connection is closed and replaced.  A server too busy to answer
///    `SELECT 1` within the deadline gets the same treatment.  TCP
///    keepalives stay on as for any connection (uvpg/connection.hh).
///  - **Exactly once per session.**  Each session gets its own
///    notification handler, installed once when it opens, so a
///    notification is handed over once.  A notification that arrives
///    while the listener re-LISTENs after a loss is held back until the
///    `connected` and `gap` events are queued; one that arrives from a
///    session the listener has already given up on is dropped (it falls
///    in the gap).
///  - **The set of channels is the truth.**  listen() and unlisten()
///    change the set at once; the LISTEN or UNLISTEN is sent on the
///    current session, and every new session LISTENs to the whole set.
///    A notification is handed over only if its channel is in the set
///    both when it arrives and when the program takes it.  Channel names
///    are exact (they are quoted, so case matters) and 1 to 63 bytes
///    long, as NOTIFY "Name" and pg_notify('Name', ...) use them.
///  - **Closing.**  close() (and the handle's destructor) stops
///    everything: pending next(), listen() and unlisten() futures fail
///    with operation_canceled (UV_ECANCELED), queued events are dropped,
///    and the connection is closed.  Nothing the listener reports
///    (messages, events) holds the password of the conninfo.
///
/// A listener belongs to the loop it was created on; everything runs on
/// that loop's thread.  Its connection and timers keep the loop running
/// until it is closed.
#ifndef UVPG_LISTENER_HH
#define UVPG_LISTENER_HH

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <uv.h>

#include "uvpg/connection.hh"
#include "uvpg/future.hh"
#include "uvpg/notify.hh"

namespace uvpg {

namespace detail {
struct listener_impl;
}

/// Options of listener::create() and listener::connect().
struct listener_options {
  /// The options of each connection the listener opens (the connect
  /// timeout bounds each attempt).
  connect_options conn;
  /// The pause before the first reconnect attempt after a loss, and the
  /// most it doubles to; each pause is drawn at random between half and
  /// all of its value.  0 < reconnect_min <= reconnect_max.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{10000};
  /// Events the queue holds at most (see the overflow rule above); at
  /// least 1.
  std::size_t max_queue = 10000;
  /// How often the heartbeat runs while the listener listens (0: never),
  /// and how long it may take before the session is treated as lost
  /// (more than 0 when the heartbeat is on).
  std::chrono::milliseconds heartbeat_interval{30000};
  std::chrono::milliseconds heartbeat_timeout{10000};
};

/// What a listener_event is.
enum class listener_event_kind : unsigned char {
  notification,
  gap,
  connected,
  disconnected,
};

/// One event of a listener, in the order it happened.
struct listener_event {
  listener_event_kind kind = listener_event_kind::notification;
  /// The notification (kind notification).
  notification notify;
  /// gap and disconnected: why, as a negative C code.  For a
  /// disconnected event, the loss's or the failed attempt's code
  /// (UVPG_ECONNBAD, UV_ETIMEDOUT for an unanswered heartbeat or a
  /// connect timeout, UV_ECONNREFUSED, UVPG_ESERVER for a refused
  /// login, ...).  For a gap, UV_ENOBUFS when the queue overflowed,
  /// else the code of the loss the listener came back from.  0 for the
  /// other kinds.
  int status = 0;
  /// gap and disconnected: the words of the loss, the failure or the
  /// overflow (never the password).
  std::string message;
  /// gap (overflow): how many notifications were dropped into it.
  std::uint64_t dropped = 0;
  /// gap (reconnect): from the loss until the listener listened again.
  std::chrono::milliseconds away{0};
  /// connected: the server process of the new session.
  int backend_pid = 0;
};

/// The counters of a listener.
struct listener_stats {
  std::uint64_t received = 0;  // notifications received on listened channels
  std::uint64_t delivered = 0; // events the program took
  std::uint64_t dropped = 0;   // notifications dropped: the queue was full
  std::uint64_t gaps = 0;      // gap events queued
  std::uint64_t connects = 0;  // sessions opened and listening
  std::uint64_t failed = 0;    // attempts that failed
  std::uint64_t lost = 0;      // sessions lost after they listened
  std::uint64_t heartbeats = 0;         // heartbeats answered
  std::uint64_t heartbeat_timeouts = 0; // heartbeats unanswered in time
};

/// A reconnecting LISTEN/NOTIFY listener.  Move-only; destroying the
/// handle closes it (as close(), without waiting).
class UVPG_CXX_EXTERN listener {
public:
  /// A listener of `channels` on `conninfo`, connecting in the
  /// background (the first attempt starts from the loop, never inside
  /// this call).  A failed attempt, the first one included, is a
  /// `disconnected` event, and the listener tries again after a pause.
  /// \throws usage_error for a null loop, a channel name that is empty,
  /// longer than 63 bytes or holds a NUL, or options out of range.
  static listener create(uv_loop_t *loop, std::string_view conninfo,
                         std::vector<std::string> channels = {},
                         const listener_options &opts = {});
  /// As create(), resolved once the listener listens on every channel
  /// (its first event is then `connected`).  Fails with the error of
  /// the first attempt, whose class names the cause (connection_lost,
  /// timed_out, errors::invalid_password, ...), and then nothing is
  /// left running.  Later losses are repaired in the background.
  /// \throws usage_error as create() does.
  static future<listener> connect(uv_loop_t *loop, std::string_view conninfo,
                                  std::vector<std::string> channels = {},
                                  const listener_options &opts = {});

  listener() noexcept = default;
  listener(listener &&o) noexcept : _impl(std::exchange(o._impl, nullptr)) {}
  listener &operator=(listener &&o) noexcept;
  listener(const listener &) = delete;
  listener &operator=(const listener &) = delete;
  ~listener();

  /// Adds `channel` to the set.  Resolves once the channel is LISTENed
  /// on a live session: from then on its notifications reach the
  /// program (a loss in between is a gap).  Resolves at once (from the
  /// loop) when it already is.  While the listener is away, resolves
  /// when it listens again.  Fails with operation_canceled when
  /// unlisten() or close() comes first, with the server's error if it
  /// refuses the LISTEN (the channel then leaves the set), and with
  /// connection_closed once the listener is closed.
  /// \throws usage_error for a bad channel name or an empty handle.
  future<void> listen(std::string_view channel);
  /// Takes `channel` out of the set: its notifications are no longer
  /// handed over, queued ones included.  Resolves once the UNLISTEN is
  /// done on the live session, or at once (from the loop) when there is
  /// none or the channel was not in the set.
  /// \throws usage_error for a bad channel name or an empty handle.
  future<void> unlisten(std::string_view channel);

  /// The next event.  Resolves at once when one is queued (the future is
  /// then born ready), else when one comes.  Several calls may wait:
  /// they are served in call order.  Fails with operation_canceled when
  /// the listener is closed while it waits, and with connection_closed
  /// once it is closed.  A future dropped before it resolved loses no
  /// event.
  future<listener_event> next();

  /// Stops everything (see the header's overview) and resolves when the
  /// connection is closed.  Calling it again waits for the same end.
  future<void> close();

  /// The channels of the set, sorted.
  std::vector<std::string> channels() const;
  /// True while the listener listens on every channel of the set on a
  /// live session (between `connected` and the next `disconnected`).
  bool connected() const noexcept;
  /// True once close() was called (or for an empty handle).
  bool closed() const noexcept;
  /// The server process of the current session (0 when none).
  int backend_pid() const noexcept;
  /// Events waiting in the queue.
  std::size_t queued() const noexcept;
  /// The words of the last loss, failed attempt or overflow ("" when
  /// none).
  std::string error_message() const;
  listener_stats stats() const noexcept;
  uv_loop_t *loop() const noexcept;

  /// The implementation object (internal use).
  detail::listener_impl *impl() const noexcept { return _impl; }
  explicit listener(detail::listener_impl *impl) noexcept : _impl(impl) {}

private:
  detail::listener_impl *_impl = nullptr;
};

} // namespace uvpg

#endif // UVPG_LISTENER_HH
