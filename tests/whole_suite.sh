#!/bin/bash
# Runs the test program "$@" (the whole suite in one process). Each case
# also runs in a process of its own (doctest_discover_tests), without a
# second chance. This run is there for state that one instance leaves to
# the next, which fails every run in the same order; so a failed run is
# repeated once, and the test fails only if the repeat fails as well. Each
# failure is printed again at the very end of the output, under the name of
# its test case, so that a log that keeps only its head and tail still shows
# which case failed and how.
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Prints each failure of the log, under its test case.
failures() {
  awk '/^TEST CASE:/ { name = $0 }
       /ERROR: / && shown < 20 { print name; print; left = 4; ++shown; next }
       left > 0 { print; --left }' "$log"
}

"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && exit 0
first=$(failures)
echo "== the whole suite failed (exit status $rc); once more =="
"$@" 2>&1 | tee "$log"
again=${PIPESTATUS[0]}
echo "== the failures of the first run, each under its test case =="
echo "$first"
if [ "$again" -ne 0 ]; then
  echo "== the failures of the second run =="
  failures
  echo "== the whole suite failed twice (exit status $again) =="
  exit "$again"
fi
echo "== the second run passed: the first run's failures (above) did not" \
     "repeat in the same order =="
exit 0
