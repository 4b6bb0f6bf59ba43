#!/usr/bin/env python3
"""Runs every tests/e2e/test_*.py against the stack described by $QUARRY_RUN_DIR/env and
ends with the line "N passed, N failed, N skipped" (read by tests/run.sh)."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    sys.path.insert(0, HERE)
    os.environ.setdefault(
        "QUARRY_EMULATOR_BIN",
        os.path.join(os.environ.get("QUARRY_BIN_DIR", "build/san"), "quarry-emulator"))
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"{passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
