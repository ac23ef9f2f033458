// future.cc: the loop futures made from here on belong to.
#ifndef UVPG_LOOP_SCOPE_HH
#define UVPG_LOOP_SCOPE_HH

#include <uv.h>

#include "uvpg/future.hh"


namespace uvpg::detail {

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

} // namespace uvpg::detail

#endif // UVPG_LOOP_SCOPE_HH
