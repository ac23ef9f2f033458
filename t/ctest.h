/* Assertions for the plain-C tests (t/capi.c, t/install-test.c).
 * A failed check prints where and why and sets ctest_failed; the test
 * decides what a failure ends (a case, or the program). */
#ifndef UVPG_CTEST_H
#define UVPG_CTEST_H

#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
__attribute__((unused))
#endif
static int ctest_failed;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,       \
              #cond);                                                        \
      ctest_failed = 1;                                                      \
    }                                                                        \
  } while (0)

#define CHECK_EQ(a, b)                                                       \
  do {                                                                       \
    long long a_ = (long long)(a), b_ = (long long)(b);                      \
    if (a_ != b_) {                                                          \
      fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n",      \
              __FILE__, __LINE__, #a, #b, a_, b_);                           \
      ctest_failed = 1;                                                      \
    }                                                                        \
  } while (0)

#define CHECK_STR(a, b)                                                      \
  do {                                                                       \
    const char *a_ = (a), *b_ = (b);                                         \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                 \
      fprintf(stderr, "%s:%d: CHECK_STR(%s, %s) failed: \"%s\" != \"%s\"\n", \
              __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",                \
              b_ ? b_ : "(null)");                                           \
      ctest_failed = 1;                                                      \
    }                                                                        \
  } while (0)

#include <stdlib.h>

#if defined(__GNUC__)
#define CTEST_UNUSED __attribute__((unused))
#else
#define CTEST_UNUSED
#endif

/* The test server's conninfo; the program ends when there is none. */
CTEST_UNUSED static const char *ctest_dsn(void) {
  const char *d = getenv("UVPG_DSN");
  if (!d) {
    fprintf(stderr, "UVPG_DSN is not set: run through scripts/check.sh\n");
    exit(1);
  }
  return d;
}

struct ctest_case {
  const char *name;
  void (*fn)(void);
};

/* Runs `n` cases in order, `before` (if not NULL) ahead of each; prints a
 * line per case and the summary the test command adds up ("[SUITE] test
 * cases: N | P passed | F failed"); returns the exit status. */
CTEST_UNUSED static int ctest_run(const char *suite,
                                  const struct ctest_case *cases, size_t n,
                                  void (*before)(void)) {
  size_t i;
  int failures = 0;
  for (i = 0; i < n; i++) {
    if (before) {
      before();
    }
    ctest_failed = 0;
    cases[i].fn();
    printf("%s: %s\n", ctest_failed ? "FAIL" : "ok", cases[i].name);
    failures += ctest_failed;
  }
  printf("[%s] test cases: %d | %d passed | %d failed | 0 skipped\n", suite,
         (int)n, (int)n - failures, failures);
  return failures ? 1 : 0;
}

#endif /* UVPG_CTEST_H */
