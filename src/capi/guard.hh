// The C boundary (STYLE.md section 3): no exception ever reaches C code.
//
// Every extern "C" entry point is declared UVPG_NOEXCEPT (noexcept in
// C++, see uvpg.h) and runs its body through capi_guard(), which turns
// whatever the body throws into the code the program is told:
//
//   std::bad_alloc           UV_ENOMEM
//   std::length_error        UV_ENOMEM (a container refused a size
//                            larger than memory could hold)
//   uvpg::error              its status (UVPG_EDATA, UVPG_ECLOSED, ...)
//   uvpg::usage_error        UV_EINVAL (the C side misused the API)
//   anything else            UVPG_EINTERNAL (a bug in uvpg)
//
// An entry point reads:
//
//   UVPG_EXTERN int uvpg_thing_do(uvpg_thing_t *t, uvpg_do_cb cb,
//                                 void *data) UVPG_NOEXCEPT {
//     if (!t || !cb) {
//       return UV_EINVAL;
//     }
//     return uvpg::detail::capi_guard([&] {
//       ... build the request; hand it over last ...
//       return 0;
//     });
//   }
//
// and one that returns no code (a pointer, a count, void) gives the value
// it answers with when the body throws:
//
//     return capi_guard_or(nullptr, [&] { return ...; });
//     capi_guard_or(nothing, [&] { ...; });     // void
//
// A body that only reads members and calls libpq cannot throw: it is
// noexcept and has no guard.  Anything that allocates, or calls C++ that
// may throw, goes through one.
//
// Rule 1 of uvpg(7): a call that returns an error never calls its
// callback.  So a body does everything that can throw (allocating the
// request, copying parameters) before it hands the request to the engine
// (conn_impl::submit), owns it until then (std::unique_ptr), and does
// nothing after: a throw then leaves no request behind that could call
// back.  XXX(capi): conn_impl::submit() queues the op first and can
// still throw after that, while it sends; the code returned and a later
// callback would then both happen.  submit() must not throw once the op
// is queued: that is the engine's to guarantee.
//
// The guard is for every C shim: src/capi/conn.cc, src/capi/copy.cc,
// src/strerror.cc, and src/capi/cursor.cc, whose hand-written try/catch
// blocks it replaces as that file is rewritten (its declarations in
// include/uvpg/cursor.h then take UVPG_NOEXCEPT, as uvpg.h's do: a
// definition must repeat the declaration's exception specification).
// t/guard.cc tests the mapping above.
#ifndef UVPG_CAPI_GUARD_HH
#define UVPG_CAPI_GUARD_HH

#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "uvpg.h"
#include "uvpg/error.hh"

namespace uvpg::detail {

/// The C code of the exception being handled.  Call it only from a
/// catch handler.
inline int capi_error_code() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc &) {
    return UV_ENOMEM;
  } catch (const std::length_error &) {
    return UV_ENOMEM;
  } catch (const error &e) {
    // A code is negative; anything else would read as success in C.
    return e.status() < 0 ? e.status() : int{UVPG_EINTERNAL};
  } catch (const usage_error &) {
    return UV_EINVAL;
  } catch (...) {
    return UVPG_EINTERNAL;
  }
}

/// Runs `f`, an entry point's body that returns a code (an int), and
/// returns that code, or the code of what `f` threw.
template <class F> int capi_guard(F &&f) noexcept {
  static_assert(std::is_convertible_v<std::invoke_result_t<F>, int>,
                "capi_guard: the body returns a code; see capi_guard_or");
  try {
    return std::forward<F>(f)();
  } catch (...) {
    return capi_error_code();
  }
}

/// What capi_guard_or() gives back for a void body.
struct nothing_t {};
inline constexpr nothing_t nothing{};

/// Runs `f`, the body of an entry point that has no room for a code, and
/// returns what it returns, or `failed` when it throws.  With `nothing`
/// as `failed`, `f` returns void and a throw is dropped.
template <class R, class F>
auto capi_guard_or(R failed, F &&f) noexcept {
  using result = std::invoke_result_t<F>;
  if constexpr (std::is_same_v<R, nothing_t>) {
    static_assert(std::is_void_v<result>, "capi_guard_or: a void body");
    try {
      std::forward<F>(f)();
    } catch (...) {
    }
  } else {
    try {
      return static_cast<result>(std::forward<F>(f)());
    } catch (...) {
      return static_cast<result>(failed);
    }
  }
}

} // namespace uvpg::detail

#endif // UVPG_CAPI_GUARD_HH
