#!/usr/bin/env bash
# bench/run.sh - `make bench`: runs every benchmark and prints its figures. Each one starts
# what it needs on loopback (private run folders and ports), bounded in count and time.
# Figures and how to read them: docs/benchmarks.md. Run on a quiet machine: the figures are
# CPU-bound on 2 cores and anything else running skews them.
#   bench/run.sh [emulator|intake|consumer ...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(emulator intake consumer)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "${which[@]}"; do
    echo "=== bench: $b"
    case "$b" in
        emulator) bench/emulator/run.sh ;;
        intake) bench/intake/run.sh ;;
        consumer) python3 bench/consumer/bench.py ;;
        *) echo "unknown benchmark: $b" >&2; exit 2 ;;
    esac
done
