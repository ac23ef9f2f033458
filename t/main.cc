// doctest's main(), compiled once into t/libtestmain.a.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
