/* uvpg error codes.  See uvpg-errors(7) and uvpg_strerror(3).
 *
 * Every status in uvpg is an int: 0 or more is success, less than 0 an
 * error.  libuv's codes (UV_ECONNREFUSED, UV_ETIMEDOUT, UV_ECANCELED,
 * UV_EINVAL, UV_ENOMEM, UV_EAI_*) pass through unchanged; the codes below
 * cover what libuv has no code for.  Values are never renumbered.
 */
#ifndef UVPG_ERRNO_H
#define UVPG_ERRNO_H

#define UVPG__EBASE (-30000)

/* XX(name, value, message) */
#define UVPG_ERRNO_MAP(XX)                                                    \
  XX(ESERVER, UVPG__EBASE - 1, "server reported an error")                    \
  XX(ECONNBAD, UVPG__EBASE - 2, "connection to the server is broken")         \
  XX(EPIPELINE_ABORTED, UVPG__EBASE - 3, "pipeline aborted by an earlier error") \
  XX(ENOCODEC, UVPG__EBASE - 4, "no codec for this type")                     \
  XX(EINTERNAL, UVPG__EBASE - 5, "internal error in uvpg or libpq")           \
  XX(ECLOSED, UVPG__EBASE - 6, "connection is closed")                        \
  XX(EPARAM, UVPG__EBASE - 7, "invalid query parameters")                   \
  XX(EDATA, UVPG__EBASE - 8, "malformed or unconvertible value")            \
  XX(EROLLEDBACK, UVPG__EBASE - 9, "transaction rolled back, not committed") \
  XX(EPOOLFULL, UVPG__EBASE - 10, "pool exhausted: too many callers wait for a connection")

typedef enum {
#define UVPG__ERRNO_ENUM(name, value, message) UVPG_##name = (value),
  UVPG_ERRNO_MAP(UVPG__ERRNO_ENUM)
#undef UVPG__ERRNO_ENUM
  UVPG__ERRNO_MAX = UVPG__EBASE - 1000
} uvpg_errno_t;

#endif /* UVPG_ERRNO_H */
