/* The public C header on its own, from plain C99.
 *
 * Built with -std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Werror
 * and nothing but <uvpg.h>: if the header needed another include, a
 * compiler extension or C++, this file would not compile.  The cases
 * then check a few symbols at run time, and t/headers-cxx.cc, linked
 * into the same binary, does the same for the C++ headers (that each
 * header also compiles alone is t/headers-alone.sh's job).  The last
 * line is a summary the test command adds up:
 * "[headers] test cases: N | P passed | F failed | 0 skipped".
 */
#include <uvpg.h>

/* Nothing else is included, so nothing can hide a missing include in
 * <uvpg.h>.  printf comes from <stdio.h>, which <uv.h> includes because
 * its API takes a FILE * (uv_print_all_handles). */

/* Defined in t/headers-cxx.cc: 1 when the C++ headers work. */
int cxx_headers_ok(void);

static int failures;
static int case_failed;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,       \
              #cond);                                                        \
      case_failed = 1;                                                       \
    }                                                                        \
  } while (0)

static int same(const char *a, const char *b) {
  if (a == NULL || b == NULL) {
    return 0;
  }
  while (*a != '\0' && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

/* Compile-time checks, C99 style (a negative array size fails). */
typedef char uvpg_check_codes_negative[UVPG_ESERVER < 0 ? 1 : -1];
typedef char uvpg_check_hex[UVPG_VERSION_HEX ==
                                    ((UVPG_VERSION_MAJOR << 16) |
                                     (UVPG_VERSION_MINOR << 8) |
                                     UVPG_VERSION_PATCH)
                                ? 1
                                : -1];
typedef char uvpg_check_diag[UVPG_DIAG_SQLSTATE == 'C' ? 1 : -1];

/* The features of 0.1.0 (uvpg(7), FEATURE MACROS); #error, not CHECK:
 * a missing one must stop the build. */
#if !defined(UVPG_HAS_CONNECT) || !defined(UVPG_HAS_QUERY_PARAMS) ||        \
    !defined(UVPG_HAS_CONN_PROPERTIES) || !defined(UVPG_HAS_CURSOR) ||       \
    !defined(UVPG_HAS_COPY) || !defined(UVPG_HAS_PREPARE) ||                 \
    !defined(UVPG_HAS_EXECUTEMANY) || !defined(UVPG_HAS_REGISTER_TYPE) ||    \
    !defined(UVPG_HAS_TYPED_GETTERS)
#error "a UVPG_HAS_ macro of 0.1.0 is missing from <uvpg/version.h>"
#endif

static void test_version(void) {
  const char *s = uvpg_version_string();
  CHECK(uvpg_version() == UVPG_VERSION_HEX);
  /* One version everywhere: the library, the header and configure's
   * AC_INIT (which uvpg.pc states too; the install test compares with
   * pkg-config --modversion). */
  CHECK(same(s, UVPG_VERSION_STRING));
  CHECK(same(s, UVPG_TEST_PACKAGE_VERSION));
  CHECK(UVPG_VERSION_IS_RELEASE == (UVPG_VERSION_SUFFIX[0] == '\0'));
}

static void test_errors(void) {
  const char *msg = uvpg_strerror(UVPG_ESERVER);
  CHECK(msg != NULL && msg[0] != '\0');
  CHECK(same(uvpg_err_name(UVPG_ESERVER), "UVPG_ESERVER"));
  /* libuv's codes pass through. */
  CHECK(same(uvpg_err_name(UV_EINVAL), "EINVAL"));
}

static void test_types(void) {
  uvpg_connect_opts_t opts;
  uvpg_conn_status_t st = UVPG_CONN_READY;
  uvpg_query_cb cb = NULL;
  uvpg_connect_opts_init(&opts);
  CHECK(opts.timeout_ms > 0);
  CHECK(st == 1);
  CHECK(cb == NULL);
  CHECK(uvpg_connect(NULL, "", NULL, NULL, NULL) == UV_EINVAL);
}

static void test_cxx(void) { CHECK(cxx_headers_ok() == 1); }

int main(void) {
  static const struct {
    const char *name;
    void (*fn)(void);
  } cases[] = {
      {"uvpg_version: equals UVPG_VERSION_HEX", test_version},
      {"uvpg_strerror: knows UVPG_ESERVER", test_errors},
      {"uvpg.h: types and enums usable from C99", test_types},
      {"uvpg.hh: future and promise work when linked with C", test_cxx},
  };
  int n = (int)(sizeof cases / sizeof cases[0]);
  int i;

  for (i = 0; i < n; i++) {
    case_failed = 0;
    cases[i].fn();
    printf("%s: %s\n", case_failed ? "FAIL" : "ok", cases[i].name);
    failures += case_failed;
  }
  printf("[headers] test cases: %d | %d passed | %d failed | 0 skipped\n", n,
         n - failures, failures);
  return failures ? 1 : 0;
}
