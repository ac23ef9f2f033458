// listener.cc: the state of a reconnecting listener, shared by the C++
// API (listener.cc) and the C ABI (capi/listener.cc).
//
// A listener owns at most one live session at a time, and each session
// has an epoch: everything a session reports (its notifications, its
// loss, the completion of a LISTEN sent on it) carries the epoch it was
// made for, and is dropped when the listener has moved on.  Phases:
//
//   starting -> connecting -> listening -> up
//                  ^  |           |        |
//                  |  v           v        v
//                  waiting <-------------- (a failure or a loss)
//   any -> closing
//
// `listening`: connected, LISTENs in flight for the whole set; `up`:
// every channel of the set is confirmed on this session.
//
// Nothing of the program's runs inside a call of the program's, nor
// in the middle of the listener's own bookkeeping: every completion
// (a listen callback, a future, the close callback) is queued in
// `outbox` and every event in `queue`, and both are handed over by
// pump(), a deferred task, once per loop turn.
#ifndef UVPG_LISTENER_INTERNAL_HH
#define UVPG_LISTENER_INTERNAL_HH

#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "uvpg.h"
#include "uvpg/listener.hh"

#include "engine/engine.hh"

namespace uvpg::detail {

struct listener_impl;

/// A listen() or unlisten() waiting for its answer; deleted once told.
struct listen_req {
  virtual ~listen_req() = default;
  /// From pump() only.  `err` is set when status < 0 and the error has
  /// a C++ form of its own (a server's error).
  virtual void done(listener_impl *l, int status,
                    std::exception_ptr err) noexcept = 0;
};

/// What the listener keeps per channel of the set.
struct channel_state {
  uint64_t listen_seq = 0; // the LISTEN last sent for it (0: none)
  uint64_t confirmed = 0;  // the epoch whose session LISTENs to it
  std::vector<listen_req *> waiters;
};

struct listener_impl {
  listener_impl(uv_loop_t *loop, std::string conninfo,
                const listener_options &o);
  listener_impl(const listener_impl &) = delete;
  listener_impl &operator=(const listener_impl &) = delete;

  enum class phase : unsigned char {
    starting,
    waiting,
    connecting,
    listening,
    up,
    closing,
  };

  uv_loop_t *loop;
  std::string conninfo;
  listener_options opts;
  /// References: the handle (C++ or C), the pending first connect of
  /// listener::connect(), connects, statements and closes in flight,
  /// the pump.  At 0 the timers close and their callbacks free it.
  unsigned refs = 1;
  phase ph = phase::starting;
  bool closing = false;

  // -- sessions --
  uint64_t epoch = 0;         // the current session's (or attempt's)
  conn_impl *dialing = nullptr; // the engine of the connect in flight
  connection conn;            // the session, listening or up
  unsigned closing_conns = 0; // sessions whose close is not done yet
  bool ever_up = false;
  bool fail_first = false;    // listener::connect(): no retry before up
  state<listener> *connect_st = nullptr;
  bool down = false;          // a session was lost since the last up
  uint64_t down_since_ms = 0;
  int down_status = 0;
  std::string down_message;
  uint64_t backoff_ms = 0;
  std::string last_error;
  bool hb_inflight = false;
  uv_timer_t retry_timer;
  uv_timer_t heartbeat_timer;
  int open_handles = 0;

  // -- channels --
  std::map<std::string, channel_state, std::less<>> channels;
  uint64_t seq = 0;                      // LISTEN/UNLISTEN numbering
  std::map<uint64_t, listen_req *> unlistens; // UNLISTENs in flight

  // -- events --
  std::deque<listener_event> queue;
  std::deque<notification> held; // arrived while re-LISTENing
  uint64_t held_dropped = 0;
  listener_stats st;
  /// The consumer: a C callback, or C++ next() callers.
  uvpg_listener_event_cb c_cb = nullptr;
  void *c_data = nullptr;
  bool paused = false;
  std::deque<state<listener_event> *> takers;

  // -- completions, run by pump() --
  std::deque<std::function<void()>> outbox;
  std::vector<std::function<void()>> on_closed;
  bool pump_due = false;

  void add_ref() noexcept { ++refs; }
  void unref() noexcept;

  /// The first attempt, from the loop.
  void start();
  void attempt() noexcept;
  void dialed(uint64_t ep, conn_impl *c, int status) noexcept;
  void send_listen(std::map<std::string, channel_state>::iterator it);
  void listen_done(uint64_t ep, uint64_t seq, const std::string &name,
                   future<result> &r) noexcept;
  void check_up() noexcept;
  void became_up() noexcept;
  /// The session of `ep` is gone (lost, refused a LISTEN, or missed its
  /// heartbeat): it is closed and replaced.
  void session_failed(uint64_t ep, int status, const std::string &why,
                      std::exception_ptr err) noexcept;
  /// An attempt failed (the connect, or a LISTEN before up).
  void give_up_or_retry(int status, const std::string &why,
                        std::exception_ptr err) noexcept;
  /// Queues a disconnected event and the next attempt.
  void away(int status, const std::string &why) noexcept;
  void schedule_retry() noexcept;
  void retire_conn() noexcept;
  void heartbeat() noexcept;
  void on_notification(uint64_t ep, const notification &n) noexcept;

  /// Queues `ev` under the overflow rule (uvpg/listener.hh).
  void push(listener_event ev) noexcept;
  /// Counts `dropped` notifications into the overflow gap at the end of
  /// the queue, appended when the end is not one.
  void overflow(uint64_t dropped) noexcept;
  /// The next event the program may have (its channel still in the
  /// set); false when none.
  bool pop(listener_event &out) noexcept;

  /// Adds `name` to the set; `req` (may be null) is told when it is
  /// LISTENed.  0, or UVPG_ECLOSED (then `req` is still the caller's).
  int listen(std::string_view name, listen_req *req);
  int unlisten(std::string_view name, listen_req *req);
  /// Tells `req` from the loop.
  void answer(listen_req *req, int status,
              std::exception_ptr err = nullptr) noexcept;

  /// Starts closing; `done` (may be empty) runs from the loop once the
  /// connections are closed.
  void close(std::function<void()> done);
  /// The aborted connect's engine is closed.
  void defer_closed() noexcept;
  void maybe_closed() noexcept;

  /// pump() in a deferred task, once per loop turn.
  void kick() noexcept;
  void pump() noexcept;
};

/// True for a channel name LISTEN accepts as it is: 1 to 63 bytes
/// (NAMEDATALEN - 1), no NUL.
bool valid_channel(std::string_view name) noexcept;

/// Checks the options; false with `why` set when one is out of range.
bool valid_options(const listener_options &o, std::string &why);

} // namespace uvpg::detail

/// The C handle is the listener itself.
struct uvpg_listener_s final : uvpg::detail::listener_impl {
  using listener_impl::listener_impl;
};

#endif // UVPG_LISTENER_INTERNAL_HH
