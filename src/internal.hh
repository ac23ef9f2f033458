// uvpg::detail: what the modules under src/ share.  Never installed.
#ifndef UVPG_INTERNAL_HH
#define UVPG_INTERNAL_HH

#include "config.h"

#include <chrono>
#include <deque>
#include <functional>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libpq-fe.h>
#include <uv.h>

#include "uvpg.h"
#include "uvpg/connection.hh"
#include "uvpg/types/core.hh"

namespace uvpg::detail {

// ---- conninfo.cc: parsing, masking, the list of connection attempts ----

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

/// Replaces every password-like part of `conninfo_text` found in `msg`.
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

// ---- result.cc / types: what decoding needs from the connection ----

/// Per-connection type information shared with results (refcounted, so
/// rows outlive their connection).
struct type_context {
  unsigned refs = 1;
  bool enable_json = true;
  bool enable_hstore = true;
  bool enable_uuid = true;
  oid_t hstore = 0;       // the hstore extension's type, 0 when absent
  oid_t hstore_array = 0;
  // Types registered by the program (register_type), by OID: the name,
  // and for C the decoder uvpg_result_get_custom() calls.
  struct registered {
    std::string name;
    uvpg_decode_cb decode = nullptr;
    void *decode_data = nullptr;
  };
  std::unordered_map<oid_t, registered> registry;
  // src/types/json.cc: the connection's simdjson::dom::parser, made on
  // the first json value read from its results and reused for the next
  // ones (its buffers are kept: one parser per connection, not per row).
  // Opaque here so that nothing else needs simdjson.h; json.cc sets the
  // function that frees it.  Mutable: fields see a const context.
  mutable void *json_parser = nullptr;
  mutable void (*free_json_parser)(void *) = nullptr;

  type_context() = default;
  type_context(const type_context &) = delete;
  type_context &operator=(const type_context &) = delete;
  ~type_context() {
    if (json_parser && free_json_parser) {
      free_json_parser(json_parser);
    }
  }
};
void retain(type_context *c) noexcept;
void release(type_context *c) noexcept;

/// The type context a libpq result of this engine carries (attached by
/// the libpq event procedure registered at connect), or null.
type_context *context_of(const PGresult *res) noexcept;
/// Attaches `ctx` to every result `pg` makes from now on.
bool attach_context(PGconn *pg, type_context *ctx) noexcept;

// ---- sql.cc: placeholder conversion ----

/// Index just past the quoted text, quoted identifier, dollar-quoted
/// body or comment that starts at `i` in `sql`, or `i` when none does:
/// the places where `%` or `$1` is data, not a placeholder.
size_t skip_inert(std::string_view sql, size_t i);
/// True for a character that continues an SQL identifier.
bool ident_char(char c);

/// Rewrites `%s` and `%(name)s` to `$n`, `%%` to `%`, skipping quoted
/// text, quoted identifiers, dollar quotes and comments.  `names`, when
/// given, receives the name bound to each `$n` in order; `count` the
/// number of placeholders converted.  Returns nullopt and sets `err` on
/// a malformed or mixed placeholder.  SQL with `$n` placeholders, or with
/// no placeholder and no parameters, is returned unchanged.
std::optional<std::string> convert_placeholders(
    std::string_view sql, bool with_params, std::vector<std::string> *names,
    size_t *count, std::string &err);

/// What the lexer tells of a statement before it is sent.
struct sql_shape {
  bool single = true; // one statement: the extended protocol can send it
  bool copy = false;  // starts with COPY: the COPY protocol may follow
  /// A query or DML statement (SELECT, INSERT, UPDATE, DELETE, MERGE,
  /// WITH, VALUES, TABLE, CALL): worth a place in the statement cache.
  /// Transaction control, DDL and session commands are prepared unnamed.
  bool cacheable = false;
};
sql_shape shape_of(std::string_view sql);

/// Binds `%(name)s` placeholders: the statement with `$n` and the values
/// in `$n` order.  \throws error (UVPG_EPARAM) for a missing or unused
/// name, or mixed placeholders.
std::pair<std::string, params> bind_named(std::string_view sql,
                                          const named_params &args);

// ---- future.cc ----

/// Makes `loop` the current loop for futures created from here on.
struct loop_scope {
  explicit loop_scope(uv_loop_t *loop) noexcept : saved(current_loop()) {
    set_current_loop(loop);
  }
  // The loop stays current after the scope: futures made later on this
  // thread (a query on a closed handle) still defer to it.
  ~loop_scope() {
    if (saved) {
      set_current_loop(saved);
    }
  }
  uv_loop_t *saved;
};

// ---- pq.cc / conn.cc: the connection engine ----

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
  bool after_close = false; // queued after close: fails with ECLOSED
  bool timed_out = false;   // its deadline passed: it failed UV_ETIMEDOUT
  /// The caller has been told (its deadline passed while it ran): the
  /// engine still reads its results, then retires it without a word.
  bool notified = false;
  std::chrono::milliseconds timeout{0}; // 0: none
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

/// How long a cancelled statement may take to end, and a cancel request
/// to be done, before the connection is given up.
constexpr uint64_t cancel_grace_ms = 5000;

/// A cancel request running on the thread pool.  It may outlive its
/// connection: the connection clears `conn` when it is freed.
struct cancel_link {
  uv_work_t work;
  PGcancel *cancel;
  conn_impl *conn;
  char err[256];
};

/// A statement prepared on the server under `name`, kept in the
/// connection's statement cache.  Refcounted: an op in flight keeps the
/// entry it executes even when the cache lets it go.
struct stmt_entry {
  std::string key;        // the SQL and its parameter types
  std::string name;       // "uvpg_<n>"
  uint64_t created = 0;   // uv_now() at the Parse
  unsigned refs = 1;      // the cache's, and each op's
  bool cached = true;     // still in the cache
  stmt_entry *lru_prev = nullptr;
  stmt_entry *lru_next = nullptr;
};
void release(stmt_entry *e) noexcept;

/// The per-connection LRU of prepared statements, with asyncpg's limits:
/// at most `capacity` statements, each used for at most `lifetime_ms`,
/// none longer than `max_size` bytes.  Statements it lets go are named
/// in `evicted` for the engine to DEALLOCATE.
class stmt_cache {
public:
  size_t capacity = 100;
  uint64_t lifetime_ms = 300000;
  size_t max_size = 15360;
  std::vector<std::string> evicted;

  stmt_cache() = default;
  stmt_cache(const stmt_cache &) = delete;
  stmt_cache &operator=(const stmt_cache &) = delete;
  ~stmt_cache();

  bool enabled() const noexcept { return capacity > 0; }
  /// The entry for `key`, made most recent; null when there is none or
  /// it has outlived its lifetime (then it is evicted).
  stmt_entry *find(std::string_view key, uint64_t now);
  /// A new entry (the caller sends its Parse); evicts the least recent
  /// when full.
  stmt_entry *insert(std::string key, uint64_t now);
  /// Drops `e`; `deallocate` says whether the server still has it.
  void forget(stmt_entry *e, bool deallocate);
  size_t size() const noexcept { return map.size(); }

private:
  std::unordered_map<std::string_view, stmt_entry *> map;
  stmt_entry *lru_head = nullptr; // most recent
  stmt_entry *lru_tail = nullptr;
  uint64_t counter = 0;
  void unlink(stmt_entry *e) noexcept;
  void link_front(stmt_entry *e) noexcept;
};

/// A FIFO of operations, linked through op::next.
struct op_queue {
  op *head = nullptr;
  op *tail = nullptr;
  bool empty() const noexcept { return head == nullptr; }
  void push(op *o) noexcept;
  void push_front(op *o) noexcept;
  op *pop() noexcept;
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
  void cancel_running();
  /// The cancel request on the thread pool, if any: the queue holds
  /// until it is done, or the server could cancel the next statement.
  cancel_link *cancel_pending = nullptr;

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
    };
    kind k;
    int status;
    op *o;
    PGresult *res;
  };
  std::deque<callout> callouts;
  int in_entry = 0;          // depth of loop entry points on the stack
  bool callouts_due = false; // a deferred task will deliver them
  /// Queues a callout; `res` goes with a completion.
  void post(callout::kind k, op *o, int status = 0, PGresult *res = nullptr);
  /// Delivers what is queued; only at a loop entry point or in
  /// maybe_free(), never inside a call of the program's.
  void run_callouts();

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
  uvpg_copy_drain_cb copy_drain_cb = nullptr; // the C API's (copy.cc)
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

/// connection::query() on an engine: what objects bound to a
/// connection (cursors) send their statements through.  `c` is open.
future<result> submit_query(conn_impl *c, std::string_view sql, params args,
                            const query_options &opts);

/// The error a failed status becomes in C++.
std::exception_ptr make_error(conn_impl *c, int status, PGresult *res);

/// Maps text of a libpq connect failure to a status code (see connect.cc).
int classify_connect_error(const std::string &msg, std::string &sqlstate,
                           std::string &clean);

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

/// Writes one statement to stderr when echo is on.
void echo_statement(const op *o);

} // namespace uvpg::detail

/// The C handle is the engine itself.
struct uvpg_conn_s final : uvpg::detail::conn_impl {
  using conn_impl::conn_impl;
};

/// The C handle of an engine (every engine is allocated as one).
inline uvpg_conn_s *c_handle(uvpg::detail::conn_impl *c) {
  return static_cast<uvpg_conn_s *>(c);
}

#endif // UVPG_INTERNAL_HH
