// Transactions and savepoints (uvpg/transaction.hh): the state of each
// one, the engine ops that begin and end it, and the C++ handle.
//
// The BEGIN (or SAVEPOINT) op runs alone, so that at its turn the
// session's transaction status is exact (op::at_turn): an outermost
// transaction begins only on an idle session; anything else means the
// program is inside a transaction of its own making, and begin() fails
// with a usage error without sending anything.  The ops that end a
// transaction, and the C ABI's savepoint statements, are pipelined like
// any statement once the BEGIN went through; queued before that, they
// also run alone and check at their turn that it did, so that nothing
// meant for a transaction that never began runs outside it (or commits
// a transaction that is not uvpg's).
#include "transaction.hh"

#include <cstring>
#include <vector>

#include "sql.hh"

namespace uvpg::detail {

const char *const ended_by_program_text =
    "the transaction was already ended by a COMMIT or ROLLBACK the "
    "program sent as a statement; nothing was sent";

const char *const rolled_back_text =
    "commit: the server rolled the transaction back instead, as a "
    "statement in it failed (later ones failed with SQLSTATE 25P02)";

namespace {

// Savepoint names: unique on a thread, so unique on each connection.
thread_local unsigned long long savepoint_count = 0;

// The innermost opening or open transaction from `n` outwards.
tx_node *innermost_active(tx_node *n) noexcept {
  while (n && !n->active()) {
    n = n->parent.get();
  }
  return n;
}

} // namespace

tx_node::~tx_node() {
  // A node is unregistered when it leaves the open state; this only
  // guards against a dangling pointer should that ever be missed.
  if (conn_impl *c = ref.engine(); c && c->tx_inner == this) {
    c->tx_inner = nullptr;
  }
}

void tx_node::connection_closing() noexcept {
  if (self) {
    leave(phase::done, "rolled back");
    auto keep = std::move(self); // this node goes when `keep` does
  }
}

std::string tx_node::misuse(std::string_view what) const {
  std::string w(what);
  if (!ref) {
    return conn_ref::closed_text(what);
  }
  if (ph == phase::ending || ph == phase::done) {
    if (begin_failed) {
      return "cannot call " + w + "(): the transaction did not begin";
    }
    return "cannot call " + w + "(): the transaction is already " + ended;
  }
  if (open_children > 0) {
    return "cannot call " + w +
           "(): a nested transaction inside it is still open; commit or "
           "roll that back first";
  }
  for (const tx_node *p = parent.get(); p; p = p->parent.get()) {
    if (!p->active()) {
      return "cannot call " + w +
             "(): the transaction it is nested in has ended";
    }
  }
  return {};
}

void tx_node::leave(phase to, const char *how) noexcept {
  bool was_active = active();
  ph = to;
  if (how) {
    ended = how;
  }
  if (!was_active) {
    return;
  }
  if (parent && parent->open_children > 0) {
    --parent->open_children;
  }
  // The connection's innermost transaction may be this one or one
  // nested in it (when this one ended first, as its destructor may).
  if (conn_impl *c = ref.engine()) {
    for (tx_node *n = c->tx_inner; n; n = n->parent.get()) {
      if (n == this) {
        c->tx_inner = innermost_active(parent.get());
        break;
      }
    }
  }
}

void forget_ended(conn_impl *c) noexcept {
  if (!c->tx_inner || c->busy() ||
      c->transaction_status() != UVPG_TRANS_IDLE) {
    return;
  }
  // Nothing in flight and no transaction on the server: the program
  // ended uvpg's with a statement of its own.  (A C transaction owns
  // itself until it ends: it goes with `keep`.)
  std::vector<std::shared_ptr<tx_node>> keep;
  while (tx_node *n = c->tx_inner) {
    keep.push_back(std::move(n->self));
    n->leave(tx_node::phase::done, "ended by a statement of the program's");
    if (c->tx_inner == n) {
      c->tx_inner = nullptr; // leave() found no active node outside it
    }
  }
}

void end_lease_transactions(conn_impl *c) noexcept {
  std::vector<std::shared_ptr<tx_node>> keep;
  while (tx_node *n = c->tx_inner) {
    keep.push_back(std::move(n->self));
    n->leave(tx_node::phase::done,
             "rolled back: the connection went back to its pool");
    if (c->tx_inner == n) {
      c->tx_inner = nullptr;
    }
  }
}

std::string begin_sql(const transaction_options &o) {
  std::string sql = "BEGIN";
  const char *level = nullptr;
  switch (o.isolation) {
  case isolation_level::serializable:
    level = "SERIALIZABLE";
    break;
  case isolation_level::repeatable_read:
    level = "REPEATABLE READ";
    break;
  case isolation_level::read_committed:
    level = "READ COMMITTED";
    break;
  case isolation_level::read_uncommitted:
    level = "READ UNCOMMITTED";
    break;
  case isolation_level::server_default:
    break;
  }
  if (level) {
    sql += " ISOLATION LEVEL ";
    sql += level;
  }
  if (o.read_only) {
    sql += level ? ", READ ONLY" : " READ ONLY";
  }
  if (o.deferrable) {
    sql += level || o.read_only ? ", DEFERRABLE" : " DEFERRABLE";
  }
  return sql;
}

std::shared_ptr<tx_node> open_node(conn_impl *c,
                                   std::shared_ptr<tx_node> parent,
                                   const transaction_options &o) {
  auto n = std::make_shared<tx_node>(c);
  n->opts = o;
  if (parent) {
    n->savepoint = "uvpg_sp_" + std::to_string(++savepoint_count);
    ++parent->open_children;
  }
  n->parent = std::move(parent);
  c->tx_inner = n.get();
  return n;
}

bool tx_op::at_turn(conn_impl *c) noexcept {
  if (turn_ok(c)) {
    return true;
  }
  started_ns = 0; // nothing was sent: no query log record
  return false;
}

bool tx_op::turn_ok(conn_impl *c) noexcept {
  tx_node &n = *node;
  if (what == step::begin && !n.parent) {
    if (c->transaction_status() != UVPG_TRANS_IDLE) {
      refused_usage =
          "begin(): the connection is already inside a transaction that "
          "begin() did not start (a BEGIN sent as a statement, or a named "
          "cursor's); end it first";
      // Set now, not at the completion: that is a callout, and the ops
      // queued behind this one may meet their turn before it runs.
      n.begin_failed = true;
      return false;
    }
    return true;
  }
  // A nested transaction, an end or a savepoint statement: the
  // transaction it belongs to must have begun.
  const tx_node *owner = what == step::begin ? n.parent.get() : &n;
  bool failed = false;
  for (const tx_node *p = owner; p; p = p->parent.get()) {
    failed = failed || p->begin_failed;
  }
  // An idle session is in no transaction at all: its BEGIN failed (and
  // the completion saying so is still to be delivered), or the program
  // ended it with a COMMIT or ROLLBACK of its own.
  bool begun = owner && owner->begun;
  for (const tx_node *p = owner; p; p = p->parent.get()) {
    begun = begun && p->begun;
  }
  if (!failed && begun && c->transaction_status() == UVPG_TRANS_IDLE) {
    refused_usage = ended_by_program_text;
    return false;
  }
  if (failed || c->transaction_status() == UVPG_TRANS_IDLE) {
    refused_usage = "the transaction did not begin; nothing was sent";
    if (what == step::begin) {
      n.begin_failed = true;
    }
    return false;
  }
  return true;
}

void tx_op::complete(conn_impl *c, int status, PGresult *res) noexcept {
  tx_node &n = *node;
  if (!refused_usage.empty()) {
    status = UV_EINVAL;
    c->set_error(refused_usage);
  }
  switch (what) {
  case step::begin:
    if (status < 0) {
      n.begin_failed = true;
      n.leave(tx_node::phase::done, nullptr);
    } else {
      n.begun = true;
      if (n.ph == tx_node::phase::opening) {
        n.ph = tx_node::phase::open;
      }
    }
    break;
  case step::commit:
    if (status >= 0 && !n.parent && res &&
        std::strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
      status = UVPG_EROLLEDBACK;
      // transaction_rollback: the server rolled it back (its class,
      // operational, is the status's too).
      c->set_error(rolled_back_text, "40000");
      n.ended = "rolled back";
    }
    n.ph = tx_node::phase::done;
    break;
  case step::rollback:
    n.ph = tx_node::phase::done;
    break;
  case step::inside:
    break;
  }
  if (n.ph == tx_node::phase::done) {
    n.self.reset(); // this op still holds the node
  }
  deliver(c, status, res, refused_usage);
}

void submit_tx_op(conn_impl *c, tx_op *o, std::string sql) {
  tx_node &n = *o->node;
  const std::string sp =
      n.parent ? quote_identifier(n.savepoint) : std::string();
  switch (o->what) {
  case tx_op::step::begin:
    o->sql = n.parent ? "SAVEPOINT " + sp : begin_sql(n.opts);
    break;
  case tx_op::step::commit:
    o->sql = n.parent ? "RELEASE SAVEPOINT " + sp : "COMMIT";
    break;
  case tx_op::step::rollback:
    // A savepoint rolled back is also released: the nested transaction
    // is over, as asyncpg's is.
    o->sql = n.parent ? "ROLLBACK TO SAVEPOINT " + sp +
                            "; RELEASE SAVEPOINT " + sp
                      : "ROLLBACK";
    break;
  case tx_op::step::inside:
    o->sql = std::move(sql);
    break;
  }
  // The program's statements, BEGIN and COMMIT too: logged and echoed.
  o->simple = true;
  // Alone (so at_turn runs) to begin, and while the BEGIN of the
  // transaction (or of one around it) has not completed.
  // Alone, so that at_turn() runs with the exact transaction status:
  // to begin; to end (the program may have ended it with a statement of
  // its own, and a COMMIT on an idle session would say "COMMIT"); and
  // while the BEGIN of the transaction (or of one around it) has not
  // completed.
  bool pending = o->what != tx_op::step::inside;
  for (const tx_node *p = &n; p && !pending; p = p->parent.get()) {
    pending = !p->begun;
  }
  o->exclusive = pending;
  c->submit(o);
}

// ---- the implicit transaction of named cursors ----

std::optional<bool> implicit_begin_now(conn_impl &c) noexcept {
  if (c.status() != UVPG_CONN_READY) {
    return std::nullopt;
  }
  return c.transaction_status() == UVPG_TRANS_IDLE;
}

implicit_begin_op::implicit_begin_op() {
  sql = "BEGIN";
  internal = true;
  simple = true;
  exclusive = true; // so that at_turn() runs, with nothing in flight
}

bool implicit_begin_op::at_turn(conn_impl *c) noexcept {
  bool idle = c->transaction_status() == UVPG_TRANS_IDLE;
  decided(idle);
  return idle;
}

} // namespace uvpg::detail

// ---- the C++ handle ----

namespace uvpg {

using detail::conn_impl;
using detail::tx_node;
using detail::tx_op;

namespace {

struct begin_op final : tx_op {
  promise<transaction> p;
  void deliver(conn_impl *c, int status, PGresult *res,
               const std::string &usage) noexcept override {
    if (!usage.empty()) {
      p.set_exception(std::make_exception_ptr(usage_error(usage)));
    } else if (status < 0) {
      p.set_exception(detail::make_error(c, status, res));
    } else {
      p.set_value(transaction(node));
    }
    PQclear(res);
  }
};

struct end_op final : tx_op {
  promise<void> p;
  void deliver(conn_impl *c, int status, PGresult *res,
               const std::string &usage) noexcept override {
    if (!usage.empty()) {
      p.set_exception(std::make_exception_ptr(usage_error(usage)));
    } else if (status == UVPG_EROLLEDBACK) {
      p.set_exception(
          detail::status_error(status, detail::rolled_back_text));
    } else if (status < 0) {
      p.set_exception(detail::make_error(c, status, res));
    } else {
      p.set_value();
    }
    PQclear(res);
  }
};

// The rollback a handle destroyed while open queues: nobody waits.
struct abandon_op final : tx_op {
  void deliver(conn_impl *, int, PGresult *res,
               const std::string &) noexcept override {
    PQclear(res);
  }
};

bool is_default(const transaction_options &o) noexcept {
  return o.isolation == isolation_level::server_default && !o.read_only &&
         !o.deferrable;
}

future<transaction> start(conn_impl *c, std::shared_ptr<tx_node> parent,
                          const transaction_options &opts) {
  detail::loop_scope scope(c->loop);
  auto *o = new begin_op;
  auto f = o->p.get_future();
  o->node = detail::open_node(c, std::move(parent), opts);
  o->what = tx_op::step::begin;
  detail::submit_tx_op(c, o);
  return f;
}

future<void> end(const std::shared_ptr<tx_node> &n, tx_op::step step,
                 const char *what, const char *how) {
  if (!n) {
    return make_exception_future<void>(usage_error(
        std::string("cannot call ") + what + "(): empty transaction"));
  }
  std::string misuse = n->misuse(what);
  if (!misuse.empty()) {
    return make_exception_future<void>(usage_error(misuse));
  }
  conn_impl *c = n->ref.get();
  detail::loop_scope scope(c->loop);
  auto *o = new end_op;
  auto f = o->p.get_future();
  o->node = n;
  o->what = step;
  n->leave(tx_node::phase::ending, how);
  detail::submit_tx_op(c, o);
  return f;
}

} // namespace

future<transaction> transaction::begin(connection &conn,
                                       const transaction_options &opts) {
  conn_impl *c = conn.impl();
  if (!c || c->is_closed()) {
    return make_exception_future<transaction>(
        detail::status_error(UVPG_ECLOSED, "begin on a closed connection"));
  }
  forget_ended(c);
  if (!c->tx_inner) {
    return start(c, nullptr, opts);
  }
  if (!is_default(opts)) {
    return make_exception_future<transaction>(usage_error(
        "cannot call begin(): a transaction is open on this connection, "
        "so this one nests in it as a savepoint, which takes no isolation "
        "level, READ ONLY or DEFERRABLE"));
  }
  return start(c, c->tx_inner->shared_from_this(), opts);
}

future<transaction> connection::begin() {
  return transaction::begin(*this, transaction_options{});
}

future<transaction> connection::begin(const transaction_options &opts) {
  return transaction::begin(*this, opts);
}

future<transaction> transaction::begin() {
  if (!_n) {
    return make_exception_future<transaction>(
        usage_error("cannot call transaction.begin(): empty transaction"));
  }
  std::string misuse = _n->misuse("transaction.begin");
  if (!misuse.empty()) {
    return make_exception_future<transaction>(usage_error(misuse));
  }
  return start(_n->ref.get(), _n, transaction_options{});
}

future<void> transaction::commit() {
  return end(_n, tx_op::step::commit, "transaction.commit", "committed");
}

future<void> transaction::rollback() {
  return end(_n, tx_op::step::rollback, "transaction.rollback",
             "rolled back");
}

void transaction::abandon() noexcept {
  std::shared_ptr<tx_node> n = std::move(_n);
  if (!n || !n->active()) {
    return;
  }
  conn_impl *c = n->ref.get();
  bool inside_ended = false;
  for (const tx_node *p = n->parent.get(); p; p = p->parent.get()) {
    inside_ended = inside_ended || !p->active();
  }
  n->leave(tx_node::phase::ending, "rolled back");
  if (!c || inside_ended) {
    // Closed: the server rolled it back.  Nested in a transaction that
    // ended: that end took this one with it.
    n->ph = tx_node::phase::done;
    return;
  }
  try {
    detail::loop_scope scope(c->loop);
    auto *o = new abandon_op;
    o->node = std::move(n);
    o->what = tx_op::step::rollback;
    detail::submit_tx_op(c, o);
  } catch (...) {
    // Out of memory: the transaction stays open on the server until the
    // connection's next transaction command or its close.
  }
}

transaction &transaction::operator=(transaction &&o) noexcept {
  if (this != &o) {
    abandon();
    _n = std::move(o._n);
  }
  return *this;
}

transaction::~transaction() { abandon(); }

bool transaction::active() const noexcept { return _n && _n->active(); }
bool transaction::nested() const noexcept { return _n && _n->parent; }
std::string transaction::savepoint_name() const {
  return _n ? _n->savepoint : std::string();
}
transaction_options transaction::options() const noexcept {
  return _n ? _n->opts : transaction_options{};
}

bool is_retryable(const std::exception_ptr &e) noexcept {
  if (!e) {
    return false;
  }
  try {
    std::rethrow_exception(e);
  } catch (const server_error &s) {
    return s.sqlstate() == "40001" || s.sqlstate() == "40P01";
  } catch (...) {
    return false;
  }
}

} // namespace uvpg
