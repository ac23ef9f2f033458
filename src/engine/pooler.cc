// Connection poolers (PgBouncer, Odyssey, pgcat) between a connection
// and the server: what the engine does once it finds one, and how a
// program's own DISCARD ALL is told apart from one.  A pooler in
// transaction mode hands each transaction to any server session, so a
// named statement may be missing and pipelined results may come from two
// sessions: such a connection prepares unnamed and sends one statement
// at a time.  Found at connect (connect.cc's bootstrap) or by a cached
// statement missing outside a transaction (pq.cc, end_of_results).
#include "../sql.hh"
#include "engine.hh"

namespace uvpg::detail {

void conn_impl::enter_pooler_mode(const std::string &why) {
  if (behind_pooler) {
    return;
  }
  behind_pooler = true;
  opts.max_pipeline = 1;
  if (stmts) {
    // Their names would be looked up on whatever session comes next.
    stmts->forget_all(false);
    stmts->evicted.clear();
    stmts->capacity = 0;
  }
  client_notice(this, why);
}

// DISCARD ALL or DEALLOCATE ALL takes the cached statements with it
// (psycopg does the same); otherwise each would fail 26000 once, and
// look like a change of server session.  Such a statement is not
// cacheable, so cached statements' texts are scanned only when they
// come as a string of several (the simple protocol).
void conn_impl::forget_if_dropped(const op *o) {
  if (stmts && stmts->size() && (!o->cacheable || o->simple) &&
      !o->internal && may_drop_statements(o->sql)) {
    // The word may be in a name or a string, or the statement may fail:
    // the names go to DEALLOCATE, which is harmless when they are gone.
    stmts->forget_all(!behind_pooler);
  }
}

} // namespace uvpg::detail
