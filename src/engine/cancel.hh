// A cancel request: a second, short connection to the server that asks
// it to stop what a session runs.  It runs on the loop, never on a
// thread, and always ends: delivered, failed, or out of time.
#ifndef UVPG_ENGINE_CANCEL_HH
#define UVPG_ENGINE_CANCEL_HH

#include <cstdint>
#include <string>

namespace uvpg::detail {

struct conn_impl;

struct cancel_request {
  /// Starts asking the server to cancel what `c` runs now, bounded by
  /// `timeout_ms` (> 0).  When it ends, `c->cancel_finished()` is called
  /// from a loop callback.  Null with `why` set when it cannot start.
  static cancel_request *start(conn_impl *c, uint64_t timeout_ms,
                               std::string &why);
  /// The connection no longer waits for it (closed or lost): it stops
  /// now without a word and frees itself once its handles are closed.
  virtual void abandon() noexcept = 0;

protected:
  virtual ~cancel_request() = default;
};

} // namespace uvpg::detail

#endif // UVPG_ENGINE_CANCEL_HH
