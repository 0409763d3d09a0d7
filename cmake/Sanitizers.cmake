# Sanitizers.cmake: the sanitizer and fuzzing builds of supercache.
#
# Included by the top-level CMakeLists.txt after the options and before the
# first target, so that `add_compile_options`/`add_link_options` reach every
# target of the project: library, tests, examples, bench and fuzz targets.
#
# - SUPERCACHE_SANITIZE=ON: AddressSanitizer (with LeakSanitizer) and
#   UndefinedBehaviorSanitizer; any UB report aborts the program. Used by
#   `.ci/sanitize` with g++ (build-asan).
# - SUPERCACHE_FUZZ=ON: the same sanitizers plus libFuzzer coverage on every
#   target; tests/fuzz then builds libFuzzer programs. Requires Clang; used by
#   `.ci/fuzz` with clang++ (build-fuzz).
#
# Both replace malloc (ASan's allocator finds overflows, use after free and
# leaks), so the allocator is always the system one: mimalloc would take
# malloc away from ASan.

if(NOT SUPERCACHE_SANITIZE AND NOT SUPERCACHE_FUZZ)
  return()
endif()

if(SUPERCACHE_FUZZ)
  set(sanitizer_build "SUPERCACHE_FUZZ")
else()
  set(sanitizer_build "SUPERCACHE_SANITIZE")
endif()

if(NOT SUPERCACHE_ALLOCATOR STREQUAL "system")
  message(WARNING
    "${sanitizer_build}=ON: AddressSanitizer replaces malloc, so "
    "SUPERCACHE_ALLOCATOR=${SUPERCACHE_ALLOCATOR} is ignored and the system "
    "allocator is used (pass -DSUPERCACHE_ALLOCATOR=system to silence this)")
  # A normal variable shadows the cache entry for this configure run only, so
  # that switching the sanitizers off again brings the chosen allocator back.
  set(SUPERCACHE_ALLOCATOR system)
endif()

if(SUPERCACHE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR
      "SUPERCACHE_FUZZ=ON needs Clang (libFuzzer is part of Clang), but the "
      "C++ compiler is ${CMAKE_CXX_COMPILER_ID} (${CMAKE_CXX_COMPILER}). "
      "Configure a separate build directory with "
      "-DCMAKE_CXX_COMPILER=clang++, e.g. `bash .ci/fuzz`.")
  endif()
  # Coverage for libFuzzer on every object; the fuzz programs themselves link
  # libFuzzer's main with -fsanitize=fuzzer (tests/fuzz/CMakeLists.txt).
  set(sanitizer_list fuzzer-no-link,address,undefined)
else()
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR
      "SUPERCACHE_SANITIZE=ON needs g++ or clang++, got "
      "${CMAKE_CXX_COMPILER_ID}")
  endif()
  set(sanitizer_list address,undefined)
  # CAF 0.17.6 binds a reference to null in a header on every spawn of a
  # function-based actor without arguments (see cmake/ubsan.supp). UBSan
  # applies suppressions only to recoverable checks, so `null` recovers; run
  # with UBSAN_OPTIONS=halt_on_error=1:suppressions=cmake/ubsan.supp (as
  # .ci/sanitize does) to keep every other null report fatal.
  set(sanitizer_recover -fsanitize-recover=null)
endif()

# CAF 0.17.6's caf::string_view converts from `const char*` only when CAF's
# headers see GCC (`#ifdef CAF_GCC`, caf/string_view.hpp); libcaf itself was
# built by g++ with that constructor, and config/options.cpp relies on it.
# With clang++, define CAF_GCC too, so that the headers match the build of
# libcaf (CAF_CLANG stays defined; the other CAF_GCC branches are no-ops
# with clang and libstdc++).
#
# Function-local statics of CAF's header templates (e.g. the `obj` in
# caf::detail::option_meta_state_instance<T>(), caf/make_config_option.hpp)
# exist both in libcaf (g++: a GNU-unique symbol whose function pointers are
# constant-initialized, only the std::string under the guard) and in our
# clang-compiled code (a weak symbol initialized entirely under the guard).
# When the executable exports its copy, libcaf binds to it, runs its own
# initialization on it, sets the guard and leaves the function pointers null:
# `cfg.parse` then calls a null `check` (SEGV at pc 0 in
# caf::config_option::check, on any size_t option such as
# supercache.buffers). Hidden visibility keeps the two copies apart.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_definitions(CAF_GCC)
  add_compile_options(-fvisibility=hidden -fvisibility-inlines-hidden)
endif()

message(STATUS "${sanitizer_build}=ON: -fsanitize=${sanitizer_list} on every "
               "target, allocator: system")
add_compile_options(-fsanitize=${sanitizer_list} -fno-omit-frame-pointer
                    -fno-sanitize-recover=undefined ${sanitizer_recover})
add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                 ${sanitizer_recover})

unset(sanitizer_build)
unset(sanitizer_list)
unset(sanitizer_recover)
