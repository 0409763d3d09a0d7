#pragma once

#include <cstdio>
#include <cstdlib>

/// Aborts with a message naming the property that failed, so that libFuzzer
/// (and the regression replay in ctest) reports the input.
#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                   #cond);                                                     \
      std::abort();                                                            \
    }                                                                          \
  } while (false)
