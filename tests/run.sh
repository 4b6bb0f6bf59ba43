#!/usr/bin/env bash
# tests/run.sh BUILD_DIR [unit|e2e|all] - runs Quarry's tests and ends with one line
# "N passed, N failed, N skipped".
#
# unit: every cmocka binary in BUILD_DIR/tests (sanitized when BUILD_DIR is build/san).
# e2e:  starts a private stack (run folder .run-test, its own ports, binaries from
#       BUILD_DIR) with real PostgreSQL and Kafka, runs tests/e2e/*.py against it, and
#       tears it down; a sanitizer report in any daemon log fails the run.
set -uo pipefail

build_dir=${1:?usage: tests/run.sh BUILD_DIR [unit|e2e|all]}
what=${2:-all}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

passed=0 failed=0 skipped=0
failures=()

note_failure() { failures+=("$1"); }

run_unit() {
    local t out p f s
    for t in "$build_dir"/tests/test_*; do
        [ -x "$t" ] || continue
        echo "=== unit: $(basename "$t")"
        out=$("$t" 2>&1)
        local rc=$?
        echo "$out"
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
        s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
        passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
        if [ $rc -ne 0 ]; then
            # a crash, a sanitizer report or a leak after the summary
            [ -z "$f" ] || [ "$f" = 0 ] && failed=$((failed + 1))
            note_failure "$(basename "$t") exited $rc"
        fi
    done
}

run_e2e() {
    export QUARRY_RUN_DIR=${QUARRY_TEST_RUN_DIR:-$repo/.run-test}
    export QUARRY_BIN_DIR="$repo/$build_dir"
    export QUARRY_PG_PORT=${QUARRY_TEST_PG_PORT:-15439}
    export QUARRY_KAFKA_PORT=${QUARRY_TEST_KAFKA_PORT:-19192}
    export QUARRY_KAFKA_CONTROLLER_PORT=${QUARRY_TEST_KAFKA_CONTROLLER_PORT:-19193}
    export QUARRY_EMULATOR_PORT=${QUARRY_TEST_EMULATOR_PORT:-18090}
    export QUARRY_INTAKE_PORT=${QUARRY_TEST_INTAKE_PORT:-18080}
    # Sanitized daemons: report leaks and UB into their logs, which are checked below.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:log_exe_name=1:quarantine_size_mb=16}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$repo/tests/lsan.supp:print_suppressions=0}
    # Short leases, sweeps and backoff so crash and fault tests finish in seconds.
    export QUARRY_LEASE_SECONDS=${QUARRY_LEASE_SECONDS:-6}
    export QUARRY_SWEEP_INTERVAL_SECONDS=${QUARRY_SWEEP_INTERVAL_SECONDS:-2}
    export QUARRY_SWEEP_QUEUED_AFTER_SECONDS=${QUARRY_SWEEP_QUEUED_AFTER_SECONDS:-8}
    export QUARRY_SWEEP_AGAIN_SECONDS=${QUARRY_SWEEP_AGAIN_SECONDS:-8}
    # Enough attempts that random throttling in tests never exhausts a job by chance
    # (0.4^10 per job), so a failure means a bug, not bad luck.
    export QUARRY_MAX_ATTEMPTS=${QUARRY_MAX_ATTEMPTS:-10}
    export QUARRY_BACKOFF_BASE_MS=${QUARRY_BACKOFF_BASE_MS:-50}
    export QUARRY_BACKOFF_CAP_MS=${QUARRY_BACKOFF_CAP_MS:-1000}
    export QUARRY_BEDROCK_TIMEOUT_MS=${QUARRY_BEDROCK_TIMEOUT_MS:-3000}
    export QUARRY_DRAIN_SECONDS=${QUARRY_DRAIN_SECONDS:-10}
    # Claude 3.5 Haiku falls back to Claude 3 Haiku, and Nova Pro to Claude 3 Haiku (another
    # request format) (tests/e2e/test_consumer_resilience.py)
    export QUARRY_MODEL_FALLBACKS=${QUARRY_MODEL_FALLBACKS:-anthropic.claude-3-5-haiku-20241022-v1:0=anthropic.claude-3-haiku-20240307-v1:0;amazon.nova-pro-v1:0=anthropic.claude-3-haiku-20240307-v1:0}
    # The test stack always uses the emulator, whatever AWS settings the caller has.
    unset AWS_PROFILE AWS_BEARER_TOKEN_BEDROCK AWS_SESSION_TOKEN
    unset QUARRY_BEDROCK_ENDPOINT

    rm -rf "$QUARRY_RUN_DIR"
    trap 'scripts/stack.sh down >/dev/null 2>&1 || true' EXIT
    echo "=== e2e: starting a private stack in $QUARRY_RUN_DIR"
    if ! scripts/stack.sh up; then
        echo "e2e: the test stack did not start" >&2
        failed=$((failed + 1)); note_failure "stack did not start"
        for f in "$QUARRY_RUN_DIR"/logs/*.log; do echo "--- $f"; tail -20 "$f"; done
        return
    fi
    local out
    out=$(python3 tests/e2e/run.py 2>&1 | tee /dev/stderr | tail -1)
    if [[ "$out" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
        passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
        skipped=$((skipped + BASH_REMATCH[3]))
        [ "${BASH_REMATCH[2]}" = 0 ] || note_failure "e2e tests"
    else
        failed=$((failed + 1)); note_failure "e2e runner printed no summary"
    fi
    echo "=== e2e: stopping the stack"
    scripts/stack.sh down
    trap - EXIT
    # Daemons exit on SIGTERM, so LeakSanitizer has run: any report is a failure.
    if grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$QUARRY_RUN_DIR"/logs/*.log; then
        echo "e2e: sanitizer reports in the daemon logs above" >&2
        grep -hE -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$QUARRY_RUN_DIR"/logs/*.log | head -80
        failed=$((failed + 1)); note_failure "sanitizer report in daemon logs"
    else
        passed=$((passed + 1))
        echo "e2e: daemon logs free of sanitizer reports"
    fi
}

case "$what" in
    unit) run_unit ;;
    e2e) run_e2e ;;
    all) run_unit; run_e2e ;;
    *) echo "unknown test set: $what" >&2; exit 2 ;;
esac

if [ ${#failures[@]} -gt 0 ]; then
    echo "failures:"
    printf '  - %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
