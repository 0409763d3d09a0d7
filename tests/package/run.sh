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
# its records, and with a message naming the problem if
#   - install: the prefix holds any header but exactly the public ones of
#     include/supercache/ (no actors/, core/, config/, instance/ headers);
#   - subdirectory: add_subdirectory(supercache) sets the build type of a
#     consumer that leaves it unset (the first configure runs without
#     CMAKE_BUILD_TYPE; the consumer's CMakeLists checks it too; the second
#     configure adds the CMAKE_ARGs' build type for the build).
# The consumer (main.cpp) has headers of its own at supercache-internal paths
# and its own nlohmann::inspect; it fails to build if supercache's include
# path or public headers get in their way.
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

# Checks that the install prefix $1 holds exactly the public headers of
# include/supercache/ as include/supercache/..., and no other header anywhere
# (in particular none of the internal actors/, core/, config/, instance/).
check_installed_headers() {
  local prefix=$1 expected actual missing extra
  expected=$(cd "$source_dir/include" &&
             find supercache -type f -name '*.hpp' | sed 's|^|include/|' |
             LC_ALL=C sort)
  [ -n "$expected" ] || {
    echo "package: no public headers in $source_dir/include/supercache" >&2
    exit 1
  }
  # Every file under include/, and every header-like file elsewhere.
  actual=$(cd "$prefix" &&
           { [ ! -d include ] || find include -type f
             find . -path ./include -prune -o -type f \
               \( -name '*.h' -o -name '*.hh' -o -name '*.hpp' \
                  -o -name '*.hxx' -o -name '*.ipp' -o -name '*.inl' \) \
               -print | sed 's|^\./||'; } | LC_ALL=C sort)
  missing=$(LC_ALL=C comm -23 <(echo "$expected") <(echo "$actual"))
  extra=$(LC_ALL=C comm -13 <(echo "$expected") <(echo "$actual"))
  if [ -n "$missing" ] || [ -n "$extra" ]; then
    echo "package: the install tree $prefix must hold exactly the public" \
         "headers of include/supercache/" >&2
    [ -z "$missing" ] || printf 'package:   public header not installed: %s\n' \
                                $missing >&2
    [ -z "$extra" ] || printf 'package:   installed, not a public header: %s\n' \
                              $extra >&2
    exit 1
  fi
  local dir
  for dir in actors core config instance; do
    if [ -n "$(find "$prefix/include" -type d -name "$dir" -print -quit)" ]; then
      echo "package: the install tree $prefix has a directory '$dir'" \
           "(internal headers)" >&2
      exit 1
    fi
  done
  echo "package: installed headers: exactly the $(echo "$expected" | wc -l)" \
       "public ones of include/supercache/"
}

case $mode in
  install)
    prefix="$work/prefix"
    "$cmake" --install "$build_dir" --prefix "$prefix"
    check_installed_headers "$prefix"
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
    # First without a build type (neither -D nor the environment variable
    # that CMake >= 3.22 reads): supercache must not pick one for the
    # consumer. The consumer's CMakeLists fails if add_subdirectory changed
    # it; the cache must still say so afterwards.
    unset_args=()
    for arg in "$@"; do
      case $arg in
        -DCMAKE_BUILD_TYPE=* | -DCMAKE_BUILD_TYPE:*=*) ;;
        *) unset_args+=("$arg") ;;
      esac
    done
    env -u CMAKE_BUILD_TYPE "$cmake" -S "$consumer" -B "$work/build" \
      -DSUPERCACHE_SOURCE_DIR="$source_dir" ${unset_args[@]+"${unset_args[@]}"}
    value=$(cache_value CMAKE_BUILD_TYPE)
    [ -z "$value" ] || {
      echo "package: CMAKE_BUILD_TYPE is '$value' after configuring a" \
           "consumer that leaves it unset: add_subdirectory(supercache)" \
           "set it" >&2
      exit 1
    }
    echo "package: CMAKE_BUILD_TYPE stays unset in a subdirectory build"
    # Then with the CMAKE_ARGs' build type (if any), for the build.
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
