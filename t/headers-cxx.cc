// The C++ headers from a C++ translation unit, linked into t/headers.
//
// "uvpg/future.hh" comes first, before anything else, so this file only
// compiles if that header brings everything it needs.  (One translation
// unit proves that for its first include only; t/headers-alone.sh checks
// every public header on its own.)  The umbrella header follows, to show
// the C++ headers and the C header combine.  cxx_headers_ok() is called
// from t/headers.c, so the binary also shows that a C program can link
// a C++ part built on uvpg.hh.
#include "uvpg/future.hh"

#include <exception>
#include <string>

#include "uvpg.hh"

namespace {

// A coroutine whose awaited future is already available: it runs to the
// end inside the call, without a loop.
uvpg::future<int> twice(uvpg::future<int> f) {
  int v = co_await std::move(f);
  co_return v * 2;
}

bool future_and_promise() {
  uvpg::promise<int> p;
  uvpg::future<int> f = p.get_future();
  if (f.available()) {
    return false;
  }
  p.set_value(21);
  if (!f.available() || f.failed()) {
    return false;
  }
  uvpg::future<int> g = twice(std::move(f));
  return g.available() && g.get() == 42;
}

bool broken_promise() {
  uvpg::future<std::string> f;
  {
    uvpg::promise<std::string> p;
    f = p.get_future();
  }
  try {
    (void)f.get();
  } catch (const uvpg::broken_promise &) {
    return true;
  }
  return false;
}

bool errors() {
  uvpg::error e(UVPG_ESERVER, "x");
  return e.status() == UVPG_ESERVER && e.code().category() == uvpg::category();
}

} // namespace

// Called from C: no exception may cross into it.
extern "C" int cxx_headers_ok(void) {
  try {
    return future_and_promise() && broken_promise() && errors() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}
