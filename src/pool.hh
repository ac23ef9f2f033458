// pool.cc: the state of a connection pool, shared by the C++ API
// (pool.cc) and the C ABI (capi/pool.cc).
//
// A pool owns slots; a slot owns one connection engine from its connect
// to its free.  The slot is the engine's lessor (a handle's destructor
// gives the connection back through it) and its free_observer (it hears
// of the close and the free).  Phases of a slot:
//
//   connecting -> initializing -> idle <-> lent -> returning -> idle
//   any -> closing (the engine's close is requested) -> freed (deleted)
//
// Waiters are served first come, first served, and only from serve(),
// which runs as a deferred task or from a timer: a release made inside
// a callback of the program's never runs the next waiter's code inside
// that call.
#ifndef UVPG_POOL_INTERNAL_HH
#define UVPG_POOL_INTERNAL_HH

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <vector>

#include "uvpg.h"
#include "uvpg/pool.hh"

#include "engine/engine.hh"

namespace uvpg::detail {

struct pool_impl;

struct pool_slot final : conn_lessor, free_observer {
  enum class phase : unsigned char {
    connecting,
    initializing,
    idle,
    lent,
    returning,
    closing,
  };
  pool_impl *pool = nullptr;
  conn_impl *c = nullptr;
  phase ph = phase::connecting;
  bool doomed = false;      // closed when it comes back (clear())
  uint64_t expires_ms = 0;  // uv_now() after which it is replaced; 0: never
  uint64_t idle_since_ms = 0;
  uint64_t lent_at_ns = 0;
  std::list<pool_slot *>::iterator idle_it;
  connection hook_conn; // the handle a hook runs on (init, setup, reset)
  unsigned shared = 0;  // pool-level statements in flight on it, idle
  unsigned told = 0;    // of those, told their deadline passed
  bool in_hook = false; // a hook's continuation still holds the slot
  bool freed = false;   // its engine went meanwhile: the hook deletes it
  // Multi-host pools (pool_impl::routed) only:
  bool standby = false; // opened for read-only work (target_session_attrs)
  size_t host = 0;      // the index of its server in pool_impl::hosts
  bool lag_known = false; // max_replica_lag: checked at least once
  bool lagging = false;   // ... and past the bound at the last check
  bool lag_asking = false; // a check is in flight
  bool pooler_counted = false; // in pool_stats::behind_pooler

  void give_back(conn_impl *c) noexcept override;
  void connection_lost(conn_impl *c) noexcept override;
  void connection_closing() noexcept override;
  void connection_freed() noexcept override;
};

/// One caller waiting for a connection.
struct pool_waiter {
  virtual ~pool_waiter() = default;
  /// The caller no longer waits (its future was dropped).
  virtual bool abandoned() const noexcept { return false; }
  /// Deleted by the pool once told; a shared call deletes itself.
  virtual bool pool_owned() const noexcept { return true; }
  /// Hands `c` over (status 0), or fails the wait.  From serve() or a
  /// timer only.
  virtual void deliver(conn_impl *c, int status,
                       const std::string &why) noexcept = 0;
  uint64_t deadline_ms = 0; // uv_now(); 0: none
  uint64_t since_ns = 0;
  bool canceled = false;    // the C request was cancelled
  bool queued = false;      // in pool_impl::waiters
  bool in_setup = false;    // a connection's setup hook runs for it
  bool answered = false;    // told (its deadline passed during setup)
  pool_access access = pool_access::read_write; // multi-host pools only
  std::list<pool_waiter *>::iterator it;
  std::multimap<uint64_t, pool_waiter *>::iterator deadline_it;
};

/// A pool-level statement pipelined on an idle connection it does not
/// lease (pool_impl::shareable): it is its own implicit transaction and
/// leaves the session as it was, so the connection stays free to share.
/// Its deadline is the pool's (it waits in `deadlines` as a waiter): at
/// the deadline the caller is told; the statement is cancelled on the
/// server when it runs alone, else its result is dropped when it comes.
struct shared_call : pool_waiter, op {
  pool_impl *pool = nullptr;
  pool_slot *slot = nullptr;
  bool told = false; // the deadline passed: the caller knows
  uint64_t timeout_ms = 0;

  /// The outcome: `res` is the callee's (a C++ result, or PQclear).
  virtual void answer(conn_impl *c, int status, PGresult *res) noexcept = 0;
  /// The deadline passed first.
  virtual void too_late(int status, const std::string &why) noexcept = 0;

  bool pool_owned() const noexcept override { return false; }
  void deliver(conn_impl *c, int status,
               const std::string &why) noexcept override;
  void complete(conn_impl *c, int status, PGresult *res) noexcept override;
  void retire() noexcept override;
};

struct pool_impl {
  pool_impl(uv_loop_t *loop, std::string conninfo, const pool_options &o);
  pool_impl(const pool_impl &) = delete;
  pool_impl &operator=(const pool_impl &) = delete;

  uv_loop_t *loop;
  std::string conninfo;
  pool_options opts;
  /// References: the handle (C++ or C), connects and hooks in flight,
  /// the serve task, open timers.  The pool goes when none is left.
  unsigned refs = 1;
  bool closing = false;
  bool terminating = false;
  bool c_closed = false; // uvpg_pool_close() was called

  std::list<pool_slot *> idle; // most recently used first
  std::list<pool_slot *> slots;
  size_t counts[6] = {};       // slots per phase
  std::list<pool_waiter *> waiters;
  std::multimap<uint64_t, pool_waiter *> deadlines;
  pool_stats st;
  std::string last_connect_error;
  uint64_t backoff_ms = 0;
  bool serve_due = false;
  uv_timer_t deadline_timer;
  uint64_t armed_for = 0; // the deadline deadline_timer is set for
  uv_timer_t maint_timer;
  uv_timer_t retry_timer;
  bool retry_armed = false;
  int open_handles = 0;
  // Multi-host pools: the hosts, and the conninfo of each role's
  // connects.  Standby connects keep their own backoff and last error;
  // the fields above serve the primary's.
  bool routed = false;
  std::vector<host_spec> hosts;
  std::string primary_info;          // all hosts, read-write
  std::vector<std::string> standby_info; // per start host, standby
  uv_timer_t sb_retry_timer;
  bool sb_retry_armed = false;
  uint64_t sb_backoff_ms = 0;
  std::string sb_last_connect_error;
  bool standby_down = false; // the last standby connect failed

  /// Told when the pool is closed: every connection freed.
  std::list<std::function<void()>> on_closed;

  size_t count(pool_slot::phase p) const noexcept {
    return counts[static_cast<int>(p)];
  }
  /// Connections that count against maxsize.
  size_t size() const noexcept {
    return slots.size() - count(pool_slot::phase::closing);
  }
  void set_phase(pool_slot *s, pool_slot::phase p) noexcept;

  void add_ref() noexcept { ++refs; }
  void unref() noexcept;

  /// Queues `w`: 0, or the refusal (closed, max_waiting) with `why`;
  /// then `w` is still the caller's.
  int wait(pool_waiter *w, std::chrono::milliseconds timeout,
           std::string &why);
  void cancel(pool_waiter *w) noexcept;
  /// serve() in a deferred task, once per loop turn.
  void kick() noexcept;
  void serve() noexcept;
  void hand_out(pool_slot *s, pool_waiter *w) noexcept;
  void lend(pool_slot *s, pool_waiter *w) noexcept;
  void forget(pool_waiter *w) noexcept;
  void arm_deadline() noexcept;
  void deadline_passed() noexcept;
  void maintain() noexcept;
  void refill() noexcept;
  void open_slot(bool standby = false) noexcept;
  /// refill() for a multi-host pool: each role on its own.
  void refill_routed() noexcept;
  /// An idle connection for `w` in a multi-host pool, or null.
  pool_slot *routed_slot(const pool_waiter *w) noexcept;
  /// The server of `s` no longer has the role it was opened for.
  bool wrong_role(const pool_slot *s) const noexcept;
  /// max_replica_lag: `s` is a standby not known to be within the bound.
  bool lag_unfit(const pool_slot *s) const noexcept;
  /// read_only work goes to the primary: no standby is up, or each
  /// idle standby connection checked lags past max_replica_lag.
  bool reads_to_primary() const noexcept;
  /// wrong_role(), counted in the stats: for a slot about to be closed.
  bool role_changed(const pool_slot *s) noexcept;
  /// max_replica_lag: asks the standby of idle `s` for its lag.
  void check_lag(pool_slot *s) noexcept;
  /// The multi-host form of serve()'s hand-out loop.
  void serve_routed() noexcept;
  void connected(pool_slot *s) noexcept;
  void connect_failed(pool_slot *s, std::string why) noexcept;
  void run_hook(pool_slot *s,
                const std::function<future<void>(connection &)> &hook,
                void (pool_impl::*next)(pool_slot *)) noexcept;
  void ready(pool_slot *s) noexcept;
  void returned(pool_slot *s) noexcept;
  void reset(pool_slot *s) noexcept;
  void after_reset(pool_slot *s) noexcept;
  void close_slot(pool_slot *s) noexcept;
  void slot_closing(pool_slot *s) noexcept;
  void slot_freed(pool_slot *s) noexcept;
  /// A hook's continuation is done with `s`: false when the slot is gone.
  bool hook_done(pool_slot *s) noexcept;

  /// The connection to pipeline `sql` on without a lease, or null: it
  /// leaves the session as it was, nobody waits for a lease, and a
  /// connection has room.
  pool_slot *shareable(std::string_view sql) noexcept;
  /// Fills `o` and sends it on `s` (one refused before the wire, for
  /// its placeholders or parameters, fails in its turn).
  void start_shared(pool_slot *s, shared_call *o, std::string_view sql,
                    params args, bool binary,
                    std::chrono::milliseconds timeout);
  /// An idle connection a pool-level statement may be pipelined on:
  /// the least loaded, or null.
  pool_slot *shared_slot() noexcept;
  /// A pool-level statement on `s` ended.
  void shared_done(pool_slot *s) noexcept;
  /// An idle connection to lend, not running pool-level statements.
  pool_slot *free_slot() noexcept;

  /// Starts closing: waiters fail, idle connections close (all of them
  /// with `terminate`).  `done` runs from the loop once all are freed.
  void close(bool terminate, std::function<void()> done);
  void clear() noexcept;
  void maybe_closed() noexcept;
  std::string timeout_text(std::chrono::milliseconds t,
                           const pool_waiter *w = nullptr) const;
};

} // namespace uvpg::detail

/// The C handle is the pool itself.
struct uvpg_pool_s final : uvpg::detail::pool_impl {
  using pool_impl::pool_impl;
};

#endif // UVPG_POOL_INTERNAL_HH
