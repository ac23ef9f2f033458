// LISTEN/NOTIFY on one lease of a connection: its C++ handlers, its C
// callback and its queue (src/notify.cc, and the C shim
// src/capi/notify.cc).  The engine holds it as conn_impl::notifications,
// created when the program first asks for one of them; a view
// (uvpg::notify_queue) may hold it past the lease, and then sees it
// ended.
//
// The way in: the engine's read_input() calls notify_input() after
// every PQconsumeInput and again after the results, which moves what
// libpq parsed into `pending`, as libpq's own PGnotify structs, and
// queues one `event` callout per batch.  That event hands each one to
// the consumers, from the loop, and frees it.  So a notification costs
// libpq's allocation, plus its two strings when a C++ consumer (a
// handler or the queue) wants it: a C callback reads libpq's struct.
#ifndef UVPG_NOTIFY_STATE_HH
#define UVPG_NOTIFY_STATE_HH

#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <vector>

#include "uvpg.h"
#include "uvpg/notify.hh"

#include "engine/engine.hh"

namespace uvpg::detail {

struct notify_state final : free_observer,
                            std::enable_shared_from_this<notify_state> {
  explicit notify_state(conn_impl *conn);
  ~notify_state();
  notify_state(const notify_state &) = delete;
  notify_state &operator=(const notify_state &) = delete;

  /// open until the connection is lost, closed or goes back to its pool;
  /// nothing is delivered after, and get() fails with `end_error` once
  /// the queue is empty.
  enum class phase : unsigned char { open, lost, closed, released };

  conn_impl *c;    // null once the lease ended or the engine was freed
  uv_loop_t *loop; // for the futures of get()
  phase ph = phase::open;
  std::exception_ptr end_error;

  /// Taken from libpq, for the next delivery; `spare` keeps the
  /// capacity of the last batch.
  std::vector<PGnotify *> pending;
  std::vector<PGnotify *> spare;
  bool delivery_posted = false; // an event callout will deliver them

  struct handler {
    std::uint64_t id;
    notify_handler fn;
    bool removed = false;
  };
  using handler_list = std::vector<std::shared_ptr<handler>>;
  /// Copy on write: a delivery walks the list it started with, without
  /// copying it; a handler removed meanwhile is marked and skipped.
  std::shared_ptr<const handler_list> handlers;

  uvpg_notify_cb c_cb = nullptr;
  void *c_data = nullptr;

  /// connection::notifies() was called: the queue keeps what arrives.
  bool keeping = false;
  std::deque<notification> queue;
  /// get() calls waiting, oldest first; each holds a reference.
  std::deque<state<notification> *> waiters;
  std::uint64_t dropped = 0;

  /// Somebody takes notifications: the others are freed on arrival.
  bool wanted() const noexcept {
    return keeping || c_cb || (handlers && !handlers->empty());
  }
  /// The lease is open and the program has not asked for the close.
  bool delivering() const noexcept {
    return ph == phase::open && c && c->notifications.get() == this &&
           !c->close_requested;
  }
  /// Hands `n` to every consumer; stops when one of them ends delivery.
  void deliver(const PGnotify *n);
  /// Gives `n` to the oldest waiting get(), or keeps it.
  void put(notification &&n);
  /// What is owed when the stream ends: the get() calls still waiting
  /// and the C callback's final call.
  struct farewell {
    std::deque<state<notification> *> waiters;
    uvpg_notify_cb cb = nullptr;
    void *data = nullptr;
    bool empty() const noexcept { return waiters.empty() && !cb; }
    /// Fails the waiters with `e`, then calls `cb` with `status`; only
    /// from the loop, as a callout of `conn`'s.
    void operator()(conn_impl *conn, int status,
                    const std::exception_ptr &e) noexcept;
  };
  /// Ends the stream: nothing is delivered from now on, and get() fails
  /// with `later_error` once the queue is empty (which it is made,
  /// except after a loss).  Returns what is owed, for the caller to pay
  /// from the loop.
  farewell end(phase p, std::exception_ptr later_error) noexcept;
  void free_pending() noexcept;

  // free_observer: the close is the end of the stream.
  void connection_closing() noexcept override;
  void connection_freed() noexcept override { c = nullptr; }
};

/// The notification state of the connection's lease, created on first
/// use.  \throws std::bad_alloc
notify_state &notify_of(conn_impl *c);

} // namespace uvpg::detail

#endif // UVPG_NOTIFY_STATE_HH
