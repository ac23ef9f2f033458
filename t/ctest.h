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

#endif /* UVPG_CTEST_H */
