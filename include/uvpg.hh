/// \file uvpg.hh
/// The C++ API of uvpg: include this one header.
///
/// The model: a `uvpg::connection` belongs to one libuv loop and one
/// thread.  Every operation returns a `uvpg::future<T>` that completes on
/// that loop; consume it with `co_await` in a coroutine returning
/// `uvpg::future<U>`, or with `then()`.  Failures are exceptions derived
/// from `uvpg::error` (runtime) or `uvpg::usage_error` (misuse).  See
/// uvpg++(7).
#ifndef UVPG_HH
#define UVPG_HH

#include "uvpg.h"
#include "uvpg/connection.hh"
#include "uvpg/cursor.hh"
#include "uvpg/error.hh"
#include "uvpg/future.hh"
#include "uvpg/listener.hh"
#include "uvpg/notice.hh"
#include "uvpg/notify.hh"
#include "uvpg/pool.hh"
#include "uvpg/result.hh"
#include "uvpg/session.hh"
#include "uvpg/sqlstate.hh"
#include "uvpg/transaction.hh"

#endif // UVPG_HH
