#!/bin/bash
# Runs the test program "$@" (the whole suite in one process) and passes on
# its exit status. If it fails, it prints each failure again at the very end,
# under the name of its test case: a CI log that keeps only the head and the
# tail of a long output still shows which case failed and how.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  echo "== the failures of the whole suite, each under its test case =="
  awk '/^TEST CASE:/ { name = $0 }
       /ERROR: / && shown < 20 { print name; print; left = 4; ++shown; next }
       left > 0 { print; --left }' "$log"
  echo "== exit status $rc =="
fi
exit "$rc"
