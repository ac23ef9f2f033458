// The guard at the C boundary (src/capi/guard.hh): what each exception
// becomes, and that nothing gets past it.
#include <stdexcept>
#include <system_error>

#include "../src/capi/guard.hh"
#include "test.hh"

TEST_SUITE_BEGIN("guard");

using uvpg::detail::capi_guard;
using uvpg::detail::capi_guard_or;
using uvpg::detail::nothing;

namespace {

template <class E> int code_of(E e) {
  return capi_guard([&]() -> int { throw e; });
}

} // namespace

TEST_CASE("capi_guard: the body's code when nothing throws") {
  CHECK(capi_guard([] { return 0; }) == 0);
  CHECK(capi_guard([] { return 1; }) == 1);
  CHECK(capi_guard([] { return int{UV_EBUSY}; }) == UV_EBUSY);
}

TEST_CASE("capi_guard: each exception becomes its documented code") {
  CHECK(code_of(std::bad_alloc()) == UV_ENOMEM);
  CHECK(code_of(std::bad_array_new_length()) == UV_ENOMEM);
  CHECK(code_of(std::length_error("vector::reserve")) == UV_ENOMEM);
  CHECK(code_of(uvpg::error(UVPG_EDATA, "not an integer")) == UVPG_EDATA);
  CHECK(code_of(uvpg::error(UVPG_ECLOSED, "closed")) == UVPG_ECLOSED);
  CHECK(code_of(uvpg::usage_error("misuse")) == UV_EINVAL);
  CHECK(code_of(std::runtime_error("surprise")) == UVPG_EINTERNAL);
  CHECK(code_of(std::system_error(std::make_error_code(std::errc::io_error))) ==
        UVPG_EINTERNAL);
  CHECK(code_of(42) == UVPG_EINTERNAL);
}

TEST_CASE("capi_guard: an error without a negative code is no success") {
  CHECK(code_of(uvpg::error(0, "zero")) == UVPG_EINTERNAL);
}

TEST_CASE("capi_guard_or: the value, or the fallback when the body throws") {
  static const char text[] = "x";
  CHECK(capi_guard_or(nullptr, [] { return text; }) == text);
  CHECK(capi_guard_or(nullptr, []() -> const char * {
          throw std::bad_alloc();
        }) == nullptr);
  CHECK(capi_guard_or(-1, []() -> long long { throw 1; }) == -1);
  int ran = 0;
  capi_guard_or(nothing, [&] {
    ++ran;
    throw std::runtime_error("dropped");
  });
  CHECK(ran == 1);
}

TEST_CASE("capi_guard: noexcept whatever the body") {
  auto throws = []() -> int { throw 1; };
  static_assert(noexcept(capi_guard(throws)));
  static_assert(noexcept(capi_guard_or(0, throws)));
}
