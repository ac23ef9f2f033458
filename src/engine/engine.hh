// The connection engine (conn_impl): its state and the members the files
// of src/engine/ implement, and how the engine reaches the loop.
#ifndef UVPG_ENGINE_ENGINE_HH
#define UVPG_ENGINE_ENGINE_HH

#include "config.h"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <libpq-fe.h>
#include <uv.h>

#include "uvpg.h"
#include "uvpg/connection.hh"

#include "../loop_scope.hh"
#include "../type_context.hh"
#include "conninfo.hh"
#include "op.hh"
#include "stmt_cache.hh"


namespace uvpg::detail {

struct tx_node; // transaction.cc

/// Notices, query loggers and the lost-connection event of a connection
/// (src/session.hh); created when the first is needed.
struct session_state;

/// A cancel request on its own socket (cancel.cc).
struct cancel_request;

/// LISTEN/NOTIFY of a connection's lease (src/notify_state.hh): its
/// handlers and queue, created when the first is needed.
struct notify_state;

/// Who lent a connection out (a pool's slot, src/pool.cc).  The C++
/// handle's destructor and uvpg_pool_release() give a lent connection
/// back through it instead of closing it.
struct conn_lessor {
  /// The program is done with the connection (its handle went).
  virtual void give_back(conn_impl *c) noexcept = 0;
  /// The connection was lost (not closed): from the loop, after its
  /// pending operations were failed.
  virtual void connection_lost(conn_impl *c) noexcept = 0;

protected:
  ~conn_lessor() = default;
};

/// The connection engine.  Lives from connect until its close completes;
/// uvpg_conn_t is this object.  State machine:
///   resolving -> connecting -> (bootstrap) ready <-> busy
///   any -> broken (lost)      any -> closing -> freed
struct conn_impl {
  enum class state : unsigned char {
    resolving,
    connecting,
    ready,
    broken,
    closing,
  };

  explicit conn_impl(uv_loop_t *loop, const connect_options &o);
  conn_impl(const conn_impl &) = delete;
  conn_impl &operator=(const conn_impl &) = delete;
  ~conn_impl();

  uv_loop_t *loop;
  connect_options opts;
  void *user_data = nullptr;
  state st = state::resolving;
  PGconn *pg = nullptr;

  // What the user sees of errors.
  std::string error_msg;
  std::string error_sqlstate;
  /// The error being delivered left the statement's outcome unknown
  /// (see uvpg::error::outcome_unknown()); set by deliver_callouts().
  bool error_outcome_unknown = false;
  /// Behind a pooler that may hand each transaction to another server
  /// session (enter_pooler_mode()): no statement cache, no pipelining.
  bool behind_pooler = false;
  /// The server's fields of a refused connect, read from libpq's text
  /// (connect.cc); make_error uses them while their SQLSTATE is
  /// error_sqlstate.
  std::map<char, std::string> connect_fields;
  std::string dsn;
  std::string isolation;
  type_context *types = nullptr; // shared with this connection's results

  // -- connect (connect.cc) --
  conninfo info;
  std::vector<host_spec> hosts;
  size_t host_index = 0;
  std::vector<std::string> addrs; // resolved addresses of the current host
  size_t addr_index = 0;
  int pass = 0;                   // prefer-standby tries twice
  std::string tsa;                // target_session_attrs as given
  std::chrono::milliseconds per_attempt{0};
  uint64_t deadline = 0;          // uv_now() ms; 0 = none
  int last_status = 0;
  std::string attempt_errors;
  connect_waiter *on_connect = nullptr;
  uv_getaddrinfo_t resolver;
  bool resolver_busy = false;

  void start(const char *conninfo_text);
  void next_host();
  void resolved(int status, struct addrinfo *res);
  void next_attempt();
  void start_attempt(const std::string &hostaddr);
  void attempt_failed(int status, std::string msg,
                      std::string sqlstate = {});
  void poll_connect();
  void connected();
  void finish_connect(int status);
  void connect_timed_out();
  void timer_fired();

  // -- cancel (cancel.cc) --
  // A cancel request runs on the loop on its own socket, bounded by
  // opts.cancel_timeout; until it ended the queue holds (a cancel that
  // reaches the backend late would stop the next statement instead).
  // Closing or losing the connection abandons it: nothing waits for it.
  cancel_request *cancel_pending = nullptr;
  /// Who waits for the cancel request to end (connection::cancel()):
  /// each is called once from the loop with its status.
  std::vector<std::function<void(int status)>> cancel_waiters;
  /// connection::cancel(), uvpg_conn_cancel(): cancels what the server
  /// runs now; `done(status)` is called once from the loop when the
  /// request ended (at once when nothing runs).
  void cancel_statement(std::function<void(int status)> done);
  /// Asks the server to cancel what it runs, unless a request is out;
  /// false (with the connection's error set) when none could start.
  bool request_cancel();
  /// As request_cancel(), for a statement the program was told about
  /// already (a deadline, a cancelled future): the running op gets the
  /// grace of opts.cancel_timeout to end, or the connection is lost.
  void cancel_told();
  /// Stops `o` for its caller (future::cancel(), uvpg_req_cancel()).
  /// False when it has ended already.
  bool cancel_op(op *o);
  /// Called by the request when it ended: 0 (delivered) or an error;
  /// `maybe_sent`: false when it certainly never reached the server.
  void cancel_finished(int status, std::string why, bool maybe_sent);
  /// The ops on the wire no longer wait for connection::cancel().
  void clear_cancel_asked();
  /// Ends the waiters of connection::cancel() with `status`.
  void end_cancel_waiters(int status, const std::string &why);

  // -- I/O (io.cc): one uv_poll_t on PQsocket; a uv_timer_t for the
  // connect and the cancel grace, another for the operations' deadlines --
  uv_poll_t *poll = nullptr;
  int poll_fd = -1;
  int poll_events = 0;
  uv_timer_t timer;
  uv_timer_t deadline_timer;
  int open_handles = 0; // handles whose close callback is still due

  void watch(int events);
  void unwatch();
  void arm_timer(uint64_t ms);
  void disarm_timer();
  void on_io(int status, int events);

  // -- callouts (callout.cc): the one way the engine calls the program --
  // User code runs only from a loop entry point (a libuv callback into
  // the engine, marked by an entry_scope): what the engine has for the
  // program is queued here and delivered in order when the outermost
  // entry ends, or from a deferred task when it was queued inside a
  // call of the program's.  So no callback ever runs inside a uvpg call.
  struct callout {
    enum class kind : unsigned char {
      complete,     // complete(status, res), then retire()
      notify,       // complete(status, res) early; the engine keeps it
      retire,       // the engine is done with a notified op
      copy_ready,   // op->copy_ready()
      copy_drained, // op->copy_drained()
      event,        // the front of `events` (session.cc): a notice, a
                    // query log record, the lost-connection event
    };
    kind k;
    int status;
    op *o;
    PGresult *res;
  };
  std::deque<callout> callouts;
  std::deque<std::function<void()>> events; // see callout::kind::event
  std::shared_ptr<session_state> session;
  std::shared_ptr<notify_state> notifications;
  bool query_logging = false; // a query logger listens: ops are timed
  int in_entry = 0;          // depth of loop entry points on the stack
  bool callouts_due = false; // a deferred task will deliver them
  /// Queues a callout; `res` goes with a completion.
  void post(callout::kind k, op *o, int status = 0, PGresult *res = nullptr);
  /// Delivers what is queued; only at a loop entry point or in
  /// maybe_free(), never inside a call of the program's.
  void run_callouts();
  void deliver_callouts();

  // -- deadlines (callout.cc): each operation's own --
  unsigned timed_ops = 0; // ops with a deadline not yet told
  void arm_deadlines();
  void deadlines_passed();

  // -- queries (pq.cc) --
  // An op waits in `queue`, then sits in `sent` (completion order) until
  // its turn to complete; `wire` lists the sent ops whose results are
  // still to come, in the order the server answers.  The two differ only
  // while a statement is sent a second time (its cached plan changed).
  op_queue queue;
  op_queue sent;
  op *wire_head = nullptr;
  op *wire_tail = nullptr;
  size_t sent_count = 0;
  bool pipeline_on = false;   // libpq pipeline mode is entered
  int dispatching = 0;        // depth of user callbacks running
  bool draining_copy = false; // reading COPY TO STDOUT data to drop it
  op::copy_way copying = op::copy_way::none; // the COPY API's data flows
  bool copy_paused = false;   // its consumer asked for a pause
  bool copy_draining = false; // copy_drained() is due when flushed
  uvpg_copy_drain_cb copy_drain_cb = nullptr; // capi/copy.cc's
  void *copy_drain_data = nullptr;
  bool copy_refused = false;
  std::string fatal_message; // a FATAL the server sent while idle
  std::string fatal_sqlstate;
  stmt_cache *stmts = nullptr; // prepared statements (stmt_cache.cc)
  uint64_t prepared_count = 0; // names of connection::prepare()

  /// The statement a timeout concerns: the one running alone.
  op *running() const noexcept { return sent.head; }
  bool busy() const noexcept { return !sent.empty() || !queue.empty(); }

  void submit(op *o);
  void pump();
  bool send(op *o);
  bool send_pipelined(op *o);
  bool send_rows(op *o);
  op *sending = nullptr; // a segment only partly sent (the socket is full)
  bool write_broken = false; // a send failed: read what is left, then lost()
  void write_failed();
  bool errors_terse = false; // see terse_errors()
  void terse_errors(bool on);
  void flush();
  void read_input();
  bool dead();
  void collect(op *o, PGresult *res);
  void end_of_results(op *o);
  void complete_done();
  void finish(op *o);
  void lost(std::string why);
  void fail_all(int status);

  // -- COPY (copy.cc) --
  /// Queues `data` for the server: 0 when all of it is sent, 1 when
  /// some waits for the socket (copy_drained() follows), < 0 on error.
  int copy_put(std::string_view data);
  /// Ends COPY FROM STDIN: with `why` the server fails the statement.
  int copy_end(const char *why);
  /// Reads COPY TO STDOUT data again after a pause.
  void copy_resume();

  // -- lifecycle (conn.cc) --
  close_waiter *on_close = nullptr;
  bool close_requested = false;
  /// The lease: bumped when the connection is released (closed today;
  /// returned to its pool later), so that a conn_ref taken before knows
  /// it no longer may use the connection (conn_ref.hh).
  uint64_t generation = 0;
  /// The pool the connection belongs to, if any (conn_lessor).
  conn_lessor *lessor = nullptr;
  /// A pooled connection ran a statement of the program's that may
  /// have changed the session (session_neutral() in sql.hh) since the
  /// pool last cleared this: the pool's reset is due.
  bool session_touched = false;
  /// Statements the program submitted (the pool's max_queries).
  uint64_t statements = 0;
  /// The C++ handle that owns the engine, if any (kept up to date by
  /// uvpg::connection's constructors and moves), so that objects bound
  /// to the connection find it without pointing at it.
  connection *handle = nullptr;
  bool canceled_all = false; // pending work was told UV_ECANCELED
  /// Objects bound to the connection (cursors) hold back the close
  /// callback while they still owe callbacks of their own: they are told
  /// of the close by free_observer::connection_closing() and release
  /// their hold once those callbacks ran.
  unsigned holds = 0;
  void hold() noexcept { ++holds; }
  void unhold();
  void close(close_waiter *w);
  /// Looks `name` up (to_regtype, so search_path applies) and records it
  /// in the registry; `done(status, oid)` runs from the loop: 0, or
  /// UV_ENOENT when there is no such type, or the query's error.
  void register_type(std::string name, uvpg_decode_cb decode,
                     void *decode_data,
                     std::function<void(int, oid_t)> done);
  free_observer *observers = nullptr;
  void observe(free_observer *o) noexcept;
  void unobserve(free_observer *o) noexcept;
  void handle_closed();
  void maybe_free();
  void set_error(std::string msg, std::string sqlstate = {});
  /// From now on this connection runs as a transaction-mode pooler
  /// needs: every statement unnamed and alone on the wire.  Tells the
  /// notice handlers `why`.
  void enter_pooler_mode(const std::string &why);
  void forget_if_dropped(const op *o);
  /// The innermost open transaction of uvpg's (transaction.cc): what
  /// connection::begin() nests in, and what autocommit() reads.
  tx_node *tx_inner = nullptr;

  // -- properties (properties.cc): what the C and C++ APIs report --
  /// Closed, closing or lost: no statement will run on it again.
  bool is_closed() const noexcept;
  uvpg_conn_status_t status() const noexcept;
  uvpg_trans_status_t transaction_status() const noexcept;
  /// libpq's answers for a live session; 0 or null for a closed or lost
  /// one (libpq keeps the last values, which no longer hold).
  int backend_pid() const noexcept;
  const char *parameter_status(const char *name) const noexcept;
  int protocol_version() const noexcept;
  int server_version() const noexcept;
  const char *encoding() const noexcept;
  /// False inside a transaction block: one of uvpg's, or one the server
  /// reports.
  bool autocommit() const noexcept;

  /// Runs `f` from the loop; the connection is not freed before it ran.
  template <class F> void later(F &&f);
  static void notice_receiver(void *arg, const PGresult *res);
};

/// Runs a user callback with the engine marked as dispatching, so calls
/// made from inside it (query, close) are deferred safely.  Only from a
/// loop entry point (see conn_impl::callouts).
template <class F> void dispatch(conn_impl *c, F &&f) {
  ++c->dispatching;
  f();
  --c->dispatching;
}

/// Marks a libuv callback into the engine for its duration; when the
/// outermost one ends, the queued callouts are delivered.
class entry_scope {
public:
  explicit entry_scope(conn_impl *c) noexcept : _c(c), _scope(c->loop) {
    ++_c->in_entry;
  }
  ~entry_scope() {
    if (_c->in_entry == 1) {
      _c->run_callouts();
    }
    --_c->in_entry;
  }
  entry_scope(const entry_scope &) = delete;
  entry_scope &operator=(const entry_scope &) = delete;

private:
  conn_impl *_c;
  loop_scope _scope;
};

/// The error a failed status becomes in C++.
/// connection::query() on an engine: what objects bound to a
/// connection (cursors) send their statements through.  `c` is open.
future<result> submit_query(conn_impl *c, std::string_view sql, params args,
                            const query_options &opts);

/// Fills a query op from connection::query()'s arguments (placeholders
/// converted, parameters checked): false with `err` set when refused.
bool fill_query_op(conn_impl *c, op *o, std::string_view sql, params args,
                   const query_options &opts, std::string &err);

/// `statement`: the SQL that failed, kept by a server_error (error.cc).
std::exception_ptr make_error(conn_impl *c, int status, PGresult *res,
                              std::string_view statement = {});
/// The class of a status without a SQLSTATE: connection_lost,
/// connection_closed, timed_out, ... (error.cc).
std::exception_ptr status_error(int status, const std::string &what);
/// status_error() for a statement that may still run or have run: its
/// outcome_unknown() is true (a pool's shared call told its deadline).
std::exception_ptr status_error_unknown(int status, const std::string &what);

// The session's hooks (src/session.cc, src/notice.cc).
/// A notice libpq handed the receiver: kept, and queued for the handlers.
void session_notice(conn_impl *c, const PGresult *res);
/// A notice of uvpg's own (severity WARNING, SQLSTATE 01000), delivered
/// like the server's.
void client_notice(conn_impl *c, const std::string &message);
/// The query log record of `o`, about to complete with `status` and
/// `res`, as a call to the loggers; empty when nobody listens.
std::function<void()> query_log(conn_impl *c, const op *o, int status,
                                const PGresult *res);
/// The connection was lost (not closed): queues the termination event.
void session_lost(conn_impl *c, std::string msg, std::string sqlstate);

// LISTEN/NOTIFY's hooks (src/notify.cc).
/// Takes what libpq parsed (PQnotifies) and queues it for the program;
/// after every PQconsumeInput and after results were read, since libpq
/// parses a notification behind a result only once that is taken.
void notify_input(conn_impl *c);
/// The connection was lost: ends the notification stream (from the
/// loop, after the failed operations' callbacks); `msg` and `sqlstate`
/// say why, as for session_lost().
void notify_lost(conn_impl *c, const std::string &msg,
                 const std::string &sqlstate);
/// The connection went back to its pool: the lease's handlers and queue
/// go with it.
void end_lease_notify(conn_impl *c) noexcept;

/// Maps text of a libpq connect failure to a status code (see connect.cc).
/// `fields`, when given, gets the server's fields the text carries.
int classify_connect_error(const std::string &msg, std::string &sqlstate,
                           std::string &clean,
                           std::map<char, std::string> *fields = nullptr);

/// Defers `f()` to the loop (used for completions that must not run
/// inside the call that started them).
template <class F> void defer(uv_loop_t *loop, F &&f) {
  using Fn = std::decay_t<F>;
  struct deferred final : task {
    Fn fn;
    explicit deferred(Fn &&g) : fn(std::move(g)) {}
    void run() noexcept override {
      fn();
      delete this;
    }
  };
  schedule(loop, new deferred(Fn(std::forward<F>(f))));
}

template <class F> void conn_impl::later(F &&f) {
  ++open_handles;
  defer(loop, [this, fn = std::forward<F>(f)]() mutable {
    {
      entry_scope entry(this);
      if (!close_requested) {
        fn();
      }
    }
    handle_closed();
  });
}

} // namespace uvpg::detail

/// The C handle is the engine itself.
struct uvpg_conn_s final : uvpg::detail::conn_impl {
  using conn_impl::conn_impl;
};

/// The C handle of an engine (every engine is allocated as one).
inline uvpg_conn_s *c_handle(uvpg::detail::conn_impl *c) {
  return static_cast<uvpg_conn_s *>(c);
}

#endif // UVPG_ENGINE_ENGINE_HH
