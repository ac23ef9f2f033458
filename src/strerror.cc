// uvpg_strerror() and uvpg_err_name(): one table for uvpg's codes, libuv
// answers for its own.  These entry points switch over codes and call
// libuv and snprintf() only: nothing throws, so noexcept is their whole
// guard (src/capi/guard.hh).
#include <cstdio>
#include <cstring>

#include "config.h"

#include "uvpg.h"

namespace {

#define UVPG__STRERROR_CASE(name, value, message)                            \
  case UVPG_##name:                                                          \
    return message;
#define UVPG__ERRNAME_CASE(name, value, message)                             \
  case UVPG_##name:                                                          \
    return "UVPG_" #name;

const char *own_message(int err) noexcept {
  switch (err) { UVPG_ERRNO_MAP(UVPG__STRERROR_CASE) }
  return nullptr;
}

const char *own_name(int err) noexcept {
  switch (err) { UVPG_ERRNO_MAP(UVPG__ERRNAME_CASE) }
  return nullptr;
}

// libuv's uv_strerror() and uv_err_name() allocate (and leak) a string
// for a code they do not know, so unknown codes are answered here, from a
// small per-thread ring so two calls in one printf() both stay valid.
bool libuv_knows(int err) noexcept {
  char buf[64];
  uv_err_name_r(err, buf, sizeof buf);
  return std::strncmp(buf, "Unknown system error", 20) != 0;
}

const char *unknown(const char *what, int err) noexcept {
  thread_local char ring[4][48];
  thread_local unsigned next;
  char *buf = ring[next++ % 4];
  std::snprintf(buf, sizeof ring[0], "%s %d", what, err);
  return buf;
}

} // namespace

extern "C" {

UVPG_EXTERN const char *uvpg_strerror(int err) UVPG_NOEXCEPT {
  if (const char *m = own_message(err)) {
    return m;
  }
  if (err == 0) {
    return "success";
  }
  return libuv_knows(err) ? uv_strerror(err)
                          : unknown("Unknown system error", err);
}

UVPG_EXTERN const char *uvpg_err_name(int err) UVPG_NOEXCEPT {
  if (const char *n = own_name(err)) {
    return n;
  }
  if (err == 0) {
    return "OK";
  }
  return libuv_knows(err) ? uv_err_name(err) : unknown("Unknown error", err);
}

UVPG_EXTERN unsigned int uvpg_version(void) UVPG_NOEXCEPT {
  return UVPG_VERSION_HEX;
}

UVPG_EXTERN const char *uvpg_version_string(void) UVPG_NOEXCEPT {
  return UVPG_VERSION_STRING;
}

} // extern "C"
