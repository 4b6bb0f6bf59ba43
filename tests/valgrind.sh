#!/usr/bin/env bash
# tests/valgrind.sh BUILD_DIR - runs every unit test binary (non-sanitized build) under
# valgrind's memcheck; any error or definite/indirect leak fails. Ends with the summary line.
set -uo pipefail
build_dir=${1:?usage: tests/valgrind.sh BUILD_DIR}
cd "$(dirname "$0")/.."
passed=0 failed=0
for t in "$build_dir"/tests/test_*; do
    [ -x "$t" ] || continue
    if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        "$t" >/tmp/quarry-valgrind.$$ 2>&1; then
        passed=$((passed + 1)); echo "clean: $(basename "$t")"
    else
        failed=$((failed + 1)); echo "NOT CLEAN: $(basename "$t")"; cat /tmp/quarry-valgrind.$$
    fi
done
rm -f /tmp/quarry-valgrind.$$
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
