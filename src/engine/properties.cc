// What a connection reports about itself: its status, and libpq's view
// of the session.  Both APIs read these (uvpg_conn_get_*() in
// src/capi/conn.cc, uvpg::connection in src/conn.cc): the engine holds
// the logic, the shims only translate.
#include "engine.hh"

namespace uvpg::detail {

namespace {

// libpq answers for a live session only; a closed or lost one has none.
const PGconn *live_pg(const conn_impl *c) noexcept {
  return c->st == conn_impl::state::ready ? c->pg : nullptr;
}

} // namespace

bool conn_impl::is_closed() const noexcept {
  return close_requested || st == state::broken;
}

uvpg_conn_status_t conn_impl::status() const noexcept {
  if (close_requested) {
    return UVPG_CONN_CLOSED;
  }
  switch (st) {
  case state::resolving:
  case state::connecting:
    return UVPG_CONN_CONNECTING;
  case state::ready:
    // The bootstrap query (isolation level, hstore's OIDs) runs before
    // the connect callback: until that callback the connect goes on.
    if (on_connect) {
      return UVPG_CONN_CONNECTING;
    }
    return busy() ? UVPG_CONN_BUSY : UVPG_CONN_READY;
  case state::broken:
    return UVPG_CONN_BROKEN;
  default:
    return UVPG_CONN_CLOSED;
  }
}

uvpg_trans_status_t conn_impl::transaction_status() const noexcept {
  const PGconn *p = live_pg(this);
  // uvpg_trans_status_t has the values of PGTransactionStatusType.
  return p ? static_cast<uvpg_trans_status_t>(PQtransactionStatus(p))
           : UVPG_TRANS_UNKNOWN;
}

int conn_impl::backend_pid() const noexcept {
  const PGconn *p = live_pg(this);
  return p ? PQbackendPID(p) : 0;
}

const char *conn_impl::parameter_status(const char *name) const noexcept {
  const PGconn *p = live_pg(this);
  return p && name ? PQparameterStatus(p, name) : nullptr;
}

int conn_impl::protocol_version() const noexcept {
  const PGconn *p = live_pg(this);
  return p ? PQprotocolVersion(p) : 0;
}

int conn_impl::server_version() const noexcept {
  const PGconn *p = live_pg(this);
  return p ? PQserverVersion(p) : 0;
}

const char *conn_impl::encoding() const noexcept {
  return parameter_status("client_encoding");
}

bool conn_impl::autocommit() const noexcept {
  // With nothing in flight the server's word is exact (a transaction of
  // uvpg's the program ended with its own COMMIT is over).  While
  // statements are in flight libpq says ACTIVE and cannot tell more: a
  // transaction of uvpg's not yet ended counts, and a BEGIN the program
  // sent itself shows once they are done.
  uvpg_trans_status_t t = transaction_status();
  if (tx_inner && busy()) {
    return false;
  }
  return t != UVPG_TRANS_INTRANS && t != UVPG_TRANS_INERROR;
}

} // namespace uvpg::detail
