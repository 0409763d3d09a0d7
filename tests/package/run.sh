#!/usr/bin/env bash
# Builds and runs the consumer project in consumer/ against supercache in one
# of two ways (ctest runs both, see tests/CMakeLists.txt):
#
#   run.sh install      SOURCE_DIR BUILD_DIR WORK_DIR [CMAKE_ARG...]
#     installs the already-built tree BUILD_DIR into WORK_DIR/prefix with
#     `cmake --install`, then builds the consumer with find_package
#     (CMAKE_PREFIX_PATH=WORK_DIR/prefix);
#   run.sh subdirectory SOURCE_DIR BUILD_DIR WORK_DIR [CMAKE_ARG...]
#     builds the consumer with add_subdirectory(SOURCE_DIR) (BUILD_DIR is
#     unused).
#
# WORK_DIR is removed first. CMAKE_ARGs go to the consumer's configure step
# (compiler, build type, ...). $CMAKE names the cmake binary (default: cmake).
# Exits non-zero on any failed step or if the consumer does not store exactly
# its records.
set -euo pipefail

if [ $# -lt 4 ]; then
  echo "usage: $0 install|subdirectory SOURCE_DIR BUILD_DIR WORK_DIR" \
       "[CMAKE_ARG...]" >&2
  exit 2
fi
mode=$1 source_dir=$2 build_dir=$3 work=$4
shift 4
cmake=${CMAKE:-cmake}
consumer="$source_dir/tests/package/consumer"

rm -rf "$work"
mkdir -p "$work"

# Prints the value of cache entry $1 of the consumer's build tree.
cache_value() {
  sed -n "s/^$1:[A-Z]*=//p" "$work/build/CMakeCache.txt"
}

case $mode in
  install)
    prefix="$work/prefix"
    "$cmake" --install "$build_dir" --prefix "$prefix"
    for f in supercache.hpp actors/buffer.hpp config/options.hpp; do
      [ -f "$prefix/include/supercache/$f" ] || {
        echo "package: $prefix/include/supercache/$f not installed" >&2
        exit 1
      }
    done
    "$cmake" -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" "$@"
    # The package must come from the prefix, not from anywhere else.
    found=$(cache_value supercache_DIR)
    case $found in
      "$prefix"/*) echo "package: supercache_DIR=$found" ;;
      *) echo "package: supercache_DIR is '$found', not under $prefix" >&2
         exit 1 ;;
    esac
    ;;
  subdirectory)
    "$cmake" -S "$consumer" -B "$work/build" \
      -DSUPERCACHE_SOURCE_DIR="$source_dir" "$@"
    # Not the top-level project: no tests, examples or benchmark to build.
    for opt in SUPERCACHE_BUILD_TESTS SUPERCACHE_BUILD_EXAMPLES \
               SUPERCACHE_BUILD_BENCH; do
      value=$(cache_value "$opt")
      [ "$value" = OFF ] || {
        echo "package: $opt is '$value' in a subdirectory build, not OFF" >&2
        exit 1
      }
    done
    ;;
  *)
    echo "package: unknown mode '$mode'" >&2
    exit 2
    ;;
esac

"$cmake" --build "$work/build" -j2
"$work/build/consumer" --scheduler.max-threads=2
