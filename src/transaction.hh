// transaction.cc: the state of a transaction of uvpg's and the engine
// ops that begin and end it, shared by the C++ API (transaction.cc) and
// the C ABI (capi/transaction.cc).
#ifndef UVPG_TRANSACTION_INTERNAL_HH
#define UVPG_TRANSACTION_INTERNAL_HH

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "uvpg/transaction.hh"

#include "conn_ref.hh"
#include "engine/engine.hh"

namespace uvpg::detail {

/// One transaction, or one savepoint nested in one.  Shared by its
/// handle, its nested transactions and its queued ops.
///
/// Invariants: `phase` moves opening -> open -> ending -> done (or
/// straight to ending/done); a node counts in its parent's
/// `open_children` while opening or open; conn_impl::tx_inner is the
/// innermost node opening or open on the connection, or null.
struct tx_node final : std::enable_shared_from_this<tx_node>,
                 private conn_ref::listener {
  enum class phase : unsigned char { opening, open, ending, done };

  explicit tx_node(conn_impl *c) : ref(c, this) {}
  tx_node(const tx_node &) = delete;
  tx_node &operator=(const tx_node &) = delete;
  ~tx_node();

  conn_ref ref;
  std::shared_ptr<tx_node> parent; // null: the outermost
  transaction_options opts;
  std::string savepoint;           // a nested one's name (unquoted)
  phase ph = phase::opening;
  bool begun = false;              // its BEGIN/SAVEPOINT went through
  bool begin_failed = false;       // it was refused or failed
  unsigned open_children = 0;
  const char *ended = "";          // "committed" / "rolled back"
  /// A transaction of the C ABI has no handle: it keeps itself alive
  /// until its end is queued.
  std::shared_ptr<tx_node> self;

  bool active() const noexcept {
    return ph == phase::opening || ph == phase::open;
  }
  /// The checks of a call on this transaction (`what` names it, e.g.
  /// "transaction.commit"): "" when it may go on, else the usage error.
  std::string misuse(std::string_view what) const;
  /// Leaves the open state (its end is queued, or it failed to begin).
  void leave(phase to, const char *how) noexcept;

private:
  /// The session is over: a C transaction lets itself go.  (A handle's
  /// stays as it is, so that its commit says the connection closed.)
  void connection_closing() noexcept override;
};

/// An engine op of a transaction: begins it, ends it, or (the C ABI's
/// savepoints) runs inside it.  At its turn it refuses to run when the
/// session is not where it should be; it then sends nothing and its
/// outcome is a usage error.
struct tx_op : op {
  enum class step : unsigned char { begin, commit, rollback, inside };
  std::shared_ptr<tx_node> node;
  step what = step::inside;
  std::string refused_usage; // set at the turn: nothing was sent

  bool at_turn(conn_impl *c) noexcept override;
  bool turn_ok(conn_impl *c) noexcept;
  void complete(conn_impl *c, int status, PGresult *res) noexcept override;
  /// The outcome, once the node's state is up to date: `usage` is the
  /// usage error ("" when none); a COMMIT that rolled back has status
  /// UVPG_EROLLEDBACK and its result.
  virtual void deliver(conn_impl *c, int status, PGresult *res,
                       const std::string &usage) noexcept = 0;
};

/// BEGIN with the options, e.g. "BEGIN ISOLATION LEVEL SERIALIZABLE".
std::string begin_sql(const transaction_options &o);

/// A new transaction on `c` nested in `parent` (null: the outermost),
/// registered as the connection's innermost.
std::shared_ptr<tx_node> open_node(conn_impl *c,
                                   std::shared_ptr<tx_node> parent,
                                   const transaction_options &o);

/// Queues `o` (its `node` and `what` set): the SQL of its step, sent
/// alone when the node's BEGIN has not completed yet, so the turn can
/// check it went through.  `sql` is used for step::inside only.
void submit_tx_op(conn_impl *c, tx_op *o, std::string sql = {});

/// The transaction of a named cursor (cursor.cc), which a DECLARE
/// needs: opened when the session is idle, and nothing inside a
/// transaction (the program's own or one of uvpg's).  The cursor ends
/// the one it opened with its own COMMIT or ROLLBACK.
///
/// Whether to open one now: true or false when the session's state is
/// known at once (nothing queued or in flight), nullopt when only the
/// DECLARE's turn can tell; then the cursor queues an implicit_begin_op.
std::optional<bool> implicit_begin_now(conn_impl &c) noexcept;

/// The op that decides at its turn, when the transaction status is
/// exact: BEGIN on an idle session, else nothing (it then completes at
/// once with status 0 and no result).  decided() is told which, at the
/// turn.
struct implicit_begin_op : op {
  implicit_begin_op();
  bool at_turn(conn_impl *c) noexcept final;
  virtual void decided(bool begins) noexcept = 0;
};

/// Marks uvpg's open transactions on `c` ended when the server, with
/// nothing in flight, says the session is idle: the program ended them
/// with a COMMIT or ROLLBACK of its own.  Called before a begin().
void forget_ended(conn_impl *c) noexcept;

/// The usage error of an end the program's own statement made moot.
extern const char *const ended_by_program_text;

/// The text of the error a COMMIT that rolled back gives.
extern const char *const rolled_back_text;

/// The connection went back to its pool: uvpg's transactions on it are
/// over for the program (the pool's reset rolls back what is open).
void end_lease_transactions(conn_impl *c) noexcept;

} // namespace uvpg::detail

#endif // UVPG_TRANSACTION_INTERNAL_HH
