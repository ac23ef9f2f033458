// The C ABI of transactions (include/uvpg/transaction.h): a thin shim
// over transaction.cc.  A C transaction is the connection's one
// outermost transaction of uvpg's (it has no handle: its node keeps
// itself alive until its end is queued); savepoints are the program's,
// by name, inside it.
#include <memory>

#include "../sql.hh"
#include "../transaction.hh"
#include "guard.hh"

using uvpg::detail::capi_guard;
using uvpg::detail::conn_impl;
using uvpg::detail::tx_node;
using uvpg::detail::tx_op;

namespace {

struct c_tx_op final : tx_op {
  uvpg_query_cb cb = nullptr;
  void *data = nullptr;
  void deliver(conn_impl *c, int status, PGresult *res,
               const std::string &) noexcept override {
    if (cb) {
      cb(static_cast<uvpg_conn_t *>(c), status,
         reinterpret_cast<uvpg_result_t *>(res), data);
    } else {
      PQclear(res);
    }
  }
};

// The connection's open C transaction, or null (with the error set).
tx_node *c_transaction(conn_impl *c, const char *what) {
  tx_node *n = c->tx_inner;
  if (!n || !n->self || n->parent) {
    c->set_error(std::string(what) +
                 ": no transaction begun with uvpg_conn_begin is open");
    return nullptr;
  }
  return n;
}

// Queues `step` of the connection's C transaction (`sql` for
// step::inside); `how` says how it ends.
int c_submit(uvpg_conn_t *conn, tx_op::step step, const char *what,
             const char *how, std::string sql, uvpg_query_cb cb,
             void *data) {
  if (conn->is_closed()) {
    return UVPG_ECLOSED;
  }
  return capi_guard([&] {
    tx_node *n = c_transaction(conn, what);
    if (!n) {
      return int{UV_EINVAL};
    }
    uvpg::detail::loop_scope scope(conn->loop);
    auto o = std::make_unique<c_tx_op>();
    o->cb = cb;
    o->data = data;
    o->node = n->shared_from_this();
    o->what = step;
    if (how) {
      n->leave(tx_node::phase::ending, how);
    }
    uvpg::detail::submit_tx_op(conn, o.release(), std::move(sql));
    return 0;
  });
}

int c_end(uvpg_conn_t *conn, tx_op::step step, const char *what,
          const char *how, uvpg_query_cb cb, void *data) {
  if (!conn) {
    return UV_EINVAL;
  }
  return c_submit(conn, step, what, how, {}, cb, data);
}

int c_savepoint(uvpg_conn_t *conn, const char *name, const char *verb,
                const char *what, uvpg_query_cb cb, void *data) {
  if (!conn || !name || !*name) {
    return UV_EINVAL;
  }
  return capi_guard([&] {
    return c_submit(conn, tx_op::step::inside, what, nullptr,
                    verb + uvpg::detail::quote_identifier(name), cb, data);
  });
}

} // namespace

extern "C" {

UVPG_EXTERN void uvpg_tx_opts_init(uvpg_tx_opts_t *opts) UVPG_NOEXCEPT {
  if (opts) {
    *opts = uvpg_tx_opts_t{};
  }
}

UVPG_EXTERN int uvpg_conn_begin(uvpg_conn_t *conn, const uvpg_tx_opts_t *opts,
                                uvpg_query_cb cb, void *data) UVPG_NOEXCEPT {
  if (!conn || (opts && (opts->isolation < UVPG_ISOLATION_DEFAULT ||
                         opts->isolation > UVPG_ISOLATION_READ_UNCOMMITTED))) {
    return UV_EINVAL;
  }
  if (conn->is_closed()) {
    return UVPG_ECLOSED;
  }
  return capi_guard([&] {
    uvpg::detail::forget_ended(conn);
    if (conn->tx_inner) {
      conn->set_error("uvpg_conn_begin: a transaction is already open; "
                      "use uvpg_conn_savepoint to nest");
      return int{UV_EINVAL};
    }
    uvpg::transaction_options o;
    if (opts) {
      o.isolation = static_cast<uvpg::isolation_level>(opts->isolation);
      o.read_only = opts->read_only != 0;
      o.deferrable = opts->deferrable != 0;
    }
    auto op = std::make_unique<c_tx_op>();
    op->cb = cb;
    op->data = data;
    op->what = tx_op::step::begin;
    uvpg::detail::loop_scope scope(conn->loop);
    op->node = uvpg::detail::open_node(conn, nullptr, o);
    op->node->self = op->node;
    uvpg::detail::submit_tx_op(conn, op.release());
    return 0;
  });
}

UVPG_EXTERN int uvpg_conn_commit(uvpg_conn_t *conn, uvpg_query_cb cb,
                                 void *data) UVPG_NOEXCEPT {
  return c_end(conn, tx_op::step::commit, "uvpg_conn_commit", "committed", cb,
               data);
}

UVPG_EXTERN int uvpg_conn_rollback(uvpg_conn_t *conn, uvpg_query_cb cb,
                                   void *data) UVPG_NOEXCEPT {
  return c_end(conn, tx_op::step::rollback, "uvpg_conn_rollback",
               "rolled back", cb, data);
}

UVPG_EXTERN int uvpg_conn_savepoint(uvpg_conn_t *conn, const char *name,
                                    uvpg_query_cb cb, void *data)
    UVPG_NOEXCEPT {
  return c_savepoint(conn, name, "SAVEPOINT ", "uvpg_conn_savepoint", cb,
                     data);
}

UVPG_EXTERN int uvpg_conn_release_savepoint(uvpg_conn_t *conn,
                                            const char *name,
                                            uvpg_query_cb cb, void *data)
    UVPG_NOEXCEPT {
  return c_savepoint(conn, name, "RELEASE SAVEPOINT ",
                     "uvpg_conn_release_savepoint", cb, data);
}

UVPG_EXTERN int uvpg_conn_rollback_to_savepoint(uvpg_conn_t *conn,
                                                const char *name,
                                                uvpg_query_cb cb, void *data)
    UVPG_NOEXCEPT {
  return c_savepoint(conn, name, "ROLLBACK TO SAVEPOINT ",
                     "uvpg_conn_rollback_to_savepoint", cb, data);
}

} // extern "C"
