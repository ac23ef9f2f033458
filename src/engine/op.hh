// One operation of the engine's queue, and who waits for the engine.
#ifndef UVPG_ENGINE_OP_HH
#define UVPG_ENGINE_OP_HH

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

#include "uvpg/types.hh"


namespace uvpg::detail {

struct conn_impl;
struct stmt_entry;

/// One queued statement.  Completion hands over `res` (may be null):
/// status >= 0 with a result, or < 0 with the server's error result when
/// there was one.
struct op {
  op *next = nullptr;      // the queue, then the completion order
  op *wire_next = nullptr; // the order its results come back in
  std::string sql;
  /// The parameters, `rows` sets of them one after the other
  /// (executemany sends one Bind/Execute per set).
  std::vector<encoded> values;
  size_t rows = 1;
  /// A statement of connection::prepare(): executed by this name, or,
  /// with `describe`, prepared under it and described.
  std::string named;
  bool describe = false;
  bool binary_results = false;
  bool simple = true; // no parameters: simple protocol, several statements
  bool internal = false;    // uvpg's own (not echoed, not cached)
  bool cacheable = false;   // see sql_shape
  bool exclusive = false;   // runs alone, outside pipeline mode
  /// Runs alone (nothing else in flight, so a cancel hits it only) but
  /// in pipeline mode, keeping the statement cache: a single statement
  /// with a timeout.
  bool alone_in_pipeline = false;
  bool after_close = false; // queued after close: fails with ECLOSED
  bool timed_out = false;   // its deadline passed: it failed UV_ETIMEDOUT
  /// Handed to libpq for the server: if it fails without the server's
  /// word on it (a lost connection, a deadline), it may still have run.
  bool maybe_sent = false;
  /// Told early (a deadline, a cancel) and cancelled on the server: it
  /// has the cancel grace to end, or the connection is lost.
  bool graced = false;
  /// On the wire when connection::cancel() asked the server: a 57014 it
  /// gets is that cancel's doing (UV_ECANCELED), not the server's own.
  bool cancel_asked = false;
  conn_impl *owner = nullptr; // set by submit(), for cancel_op()
  bool secret = false;      // may hold a password: errors do not quote it
  /// The caller has been told (its deadline passed, or it was cancelled,
  /// while it ran): the
  /// engine still reads its results, then retires it without a word.
  bool notified = false;
  std::chrono::milliseconds timeout{0}; // 0: none
  /// When it was submitted (for the query log; 0 when nobody logs):
  /// uv_hrtime() ns, and the wall clock in µs since the epoch.
  uint64_t started_ns = 0;
  int64_t started_us = 0;
  uint64_t deadline = 0;    // uv_now() ms by which the caller hears; 0: none
  int refused = 0;          // fails with this status when its turn comes
  std::string refused_why;
  /// Why it failed when no result says so; the connection's error is set
  /// from it (or from the result) just before the callback, so each
  /// callback reads its own error, not the last one.
  std::string why;
  std::string why_state;

  // The engine's bookkeeping once it is sent (pq.cc).
  PGresult *res = nullptr;   // what it will complete with
  stmt_entry *stmt = nullptr; // the cached statement it executes
  unsigned groups = 0;       // result groups still to come (each ends
                             // with a null PGresult)
  bool prepares = false;     // its first group is the Parse of `stmt`
  bool parse_pending = false; // that Parse's result is still to come
  bool parsed = false;       // and it went through
  size_t rows_sent = 0;      // parameter sets handed to libpq
  bool pipelined = false;    // sent in pipeline mode: a sync ends it
  bool awaiting_sync = false;
  bool done = false;         // every result read; completes in turn
  bool retried = false;

  virtual void complete(conn_impl *c, int status, PGresult *res) noexcept = 0;

  /// Called by the engine when an exclusive op's turn comes, with
  /// nothing in flight, so PQtransactionStatus() is exact: the op may
  /// decide its SQL now (BEGIN or nothing).  False: nothing to send, it
  /// completes at once with status 0 and no result.
  virtual bool at_turn(conn_impl *) noexcept { return true; }

  // COPY (copy.cc): an op of the COPY API says which way its data goes;
  // any other op meeting a COPY refuses it.
  enum class copy_way : unsigned char { none, out, in };
  virtual copy_way copies() const noexcept { return copy_way::none; }
  /// COPY TO STDOUT: one row of data.  False pauses reading the socket
  /// until conn_impl::copy_resume().
  virtual bool copy_data(conn_impl *, std::string_view) noexcept {
    return true;
  }
  /// COPY FROM STDIN: the server is ready for data.
  virtual void copy_ready(conn_impl *) noexcept {}
  /// COPY FROM STDIN: what copy_put() left in libpq's buffer is sent.
  virtual void copy_drained(conn_impl *) noexcept {}

  /// Called once the engine is done with the op (after complete(), or
  /// after its results were read when the caller was told early).
  virtual void retire() noexcept { delete this; }
  virtual ~op() {
    PQclear(res);
  }
};

/// Whoever waits for the connect to finish (a C callback or a promise).
struct connect_waiter {
  virtual void done(conn_impl *c, int status) noexcept = 0;
  virtual ~connect_waiter() = default;
};

/// Whoever waits for the close to finish.
struct close_waiter {
  virtual void done(conn_impl *c) noexcept = 0;
  virtual ~close_waiter() = default;
};

/// Something that holds a connection's address without owning it (a C
/// cursor) and must forget it when the connection is freed.
struct free_observer {
  free_observer *next_observer = nullptr;
  /// Called once from the loop when the connection is closed, after its
  /// own pending operations were failed with UV_ECANCELED and before the
  /// close callback: fail what is pending here the same way (use
  /// conn_impl::hold() to keep the close callback back until done).
  virtual void connection_closing() noexcept {}
  /// Called once, just before the connection's memory goes.
  virtual void connection_freed() noexcept = 0;

protected:
  ~free_observer() = default;
};


/// A FIFO of operations, linked through op::next.
struct op_queue {
  op *head = nullptr;
  op *tail = nullptr;
  bool empty() const noexcept { return head == nullptr; }
  void push(op *o) noexcept;
  void push_front(op *o) noexcept;
  op *pop() noexcept;
  /// Unlinks `o`; false when it is not in this queue.
  bool remove(op *o) noexcept;
};


} // namespace uvpg::detail

#endif // UVPG_ENGINE_OP_HH
